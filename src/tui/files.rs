//! The profile's file as the TUI sees it: saved through the edit engine's text,
//! and watched for changes made outside eperm.

use super::Incoming;
use crate::app::Msg;
use crate::profile::save::{self, SaveError};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Saves through the edit engine's text; `expected_old: None` creates a new file.
pub(super) fn save(path: &Path, text: &str, expected_old: Option<&str>) -> Result<(), SaveError> {
    match expected_old {
        Some(old) => save::save(path, text, old).map(|_| ()),
        None => save::create(path, text),
    }
}

/// Watches the profile's directory; a change to the file sends its new text.
pub(super) fn watch(
    path: &Path,
    tx: &mpsc::Sender<Incoming>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let name = path.file_name()?.to_os_string();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = path.to_path_buf();
    let tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if event.kind.is_access() || !event.paths.iter().any(|p| p.file_name() == Some(&name)) {
            return;
        }
        // Editors write in steps: let a burst settle before reading.
        std::thread::sleep(Duration::from_millis(30));
        if let Ok(text) = std::fs::read_to_string(&file) {
            let _ = tx.send(Incoming::Msg(Msg::FileChanged(text)));
        }
    })
    .ok()?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .ok()?;
    Some(watcher)
}

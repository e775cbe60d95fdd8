//! The profile's file as the TUI sees it: saved through the edit engine's text,
//! and watched for changes made outside eperm.

use super::Incoming;
use crate::app::Msg;
use crate::error::{FileError, FileOp};
use crate::files::{self, Drift, Pin};
use crate::profile::save::{self, SaveError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Saves through the edit engine's text into the pinned file; `expected_old:
/// None` creates a new file, which is pinned from then on.
pub(super) fn save(
    path: &Path,
    pin: &mut Option<Pin>,
    text: &str,
    expected_old: Option<&str>,
) -> Result<(), SaveError> {
    match (expected_old, pin.as_mut()) {
        (Some(old), Some(pin)) => save::save(path, pin, text, old).map(|_| ()),
        // The file could not be pinned when the session started.
        (Some(_), None) => Err(
            FileError::on(FileOp::SaveProfile, path)(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "it could not be found when the session started",
            ))
            .into(),
        ),
        (None, _) => {
            *pin = Some(save::create(path, text)?);
            Ok(())
        }
    }
}

/// The profile's text as the file holds it now, read as every profile is
/// (regular files only, never blocking, capped) — or, when it cannot be
/// read or `path` no longer leads to the pinned file, what to tell the user.
pub(super) fn reread(path: &Path, pin: Option<&mut Pin>) -> Msg {
    if let Some(pin) = pin {
        if let Err(Drift::Moved { now }) = pin.check(path) {
            let now = now.map_or("nothing".into(), |p| p.display().to_string());
            return Msg::FileNotReloaded(format!(
                "{} now leads to {now}, not to {}: eperm will not save there",
                path.display(),
                pin.resolved().display()
            ));
        }
        pin.reload(path);
    }
    match files::read(path, files::PROFILE) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Msg::FileChanged(text),
            Err(_) => Msg::FileNotReloaded(format!("{}: not UTF-8 text", path.display())),
        },
        Err(e) => Msg::FileNotReloaded(format!("{}: {e}", path.display())),
    }
}

/// Watches the profile's directory; a change to the file sends its new text.
pub(super) fn watch(path: &Path, tx: &super::queue::Sender) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let name = path.file_name()?.to_os_string();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if event.kind.is_access() || !event.paths.iter().any(|p| p.file_name() == Some(&name)) {
            return;
        }
        // Editors write in steps: let a burst settle before reading.
        std::thread::sleep(Duration::from_millis(30));
        // Read again by the loop (`reread`), which knows the pinned file: a
        // path swapped for a FIFO or a device never blocks this thread.
        let _ = tx.send(Incoming::Msg(Msg::FileChanged(String::new())));
    })
    .ok()?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .ok()?;
    Some(watcher)
}

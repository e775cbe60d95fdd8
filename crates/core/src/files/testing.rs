//! What the tests of writing files share: a file to write over, and what a write
//! left behind.

use super::TEMP_SUFFIX;
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// A new temporary directory holding the file `name` with `text`: the directory
/// (removed when dropped) and the file's path.
pub(crate) fn temp_file(name: &str, text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    fs::write(&path, text).unwrap();
    (dir, path)
}

/// The temporary files a write left in `dir`.
pub(crate) fn leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(TEMP_SUFFIX))
        .collect()
}

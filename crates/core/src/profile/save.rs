//! Saving an edited profile without ever leaving a half-written file behind,
//! and without overwriting a change someone made while eperm held the file.
//!
//! The new text goes to a temporary file beside the profile, is flushed to the
//! disk, and is renamed over it; then the directory itself is flushed, so the
//! rename survives a crash. Readers see the old file or the new one, never a mix.
//! (A rename gives the file a new inode: hard links to the old one keep the old text.)

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Temporary files end with this; `.gitignore` ignores them.
const TEMP_SUFFIX: &str = ".eperm-tmp";

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{file}: cannot {op}: {source}")]
    Io {
        file: String,
        op: &'static str,
        source: io::Error,
    },
    #[error(
        "{file} changed on disk after eperm read it; not overwriting it, nothing was saved\n  \
         hint: look at the change, then run the edit again"
    )]
    ChangedOnDisk { file: String },
    #[error("{file} exists: not overwriting it (run with -p {file} to edit it)")]
    Exists { file: String },
}

/// Writes `text` to a new file at `path`, never over an existing one (the
/// embedded profile's first save).
pub fn create(path: &Path, text: &str) -> Result<(), SaveError> {
    let file = path.display().to_string();
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => SaveError::Exists { file: file.clone() },
            _ => SaveError::Io {
                file: file.clone(),
                op: "create it",
                source,
            },
        })?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|source| SaveError::Io {
            file,
            op: "write it",
            source,
        })
}

/// Writes `new_text` to `path` if the file still holds `expected_old`, the text
/// it was loaded from. A symlink is followed: its target is updated and the
/// link stays. The file keeps its mode (and, where allowed, its owner).
///
/// Returns whether the file was written: when `new_text` is `expected_old`
/// nothing is. The check and the rename are two steps, not one: a write
/// landing in the microseconds between them would still be lost (editors
/// share this limit; only a lock every writer honours would close it).
pub fn save(path: &Path, new_text: &str, expected_old: &str) -> Result<bool, SaveError> {
    let file = path.display().to_string();
    let io_err = |op| {
        let file = file.clone();
        move |source| SaveError::Io { file, op, source }
    };
    let target = fs::canonicalize(path).map_err(io_err("resolve the path"))?;
    let on_disk = fs::read(&target).map_err(io_err("read it"))?;
    if on_disk != expected_old.as_bytes() {
        return Err(SaveError::ChangedOnDisk { file });
    }
    if new_text == expected_old {
        return Ok(false);
    }
    let meta = fs::metadata(&target).map_err(io_err("read its metadata"))?;
    let dir = target.parent().unwrap_or(Path::new("/"));
    let name = target.file_name().unwrap_or_default().to_string_lossy();

    let (tmp_path, mut tmp) =
        create_temp(dir, &name).map_err(io_err("create a temporary file in its directory"))?;
    let guard = RemoveOnDrop(Some(tmp_path.clone()));
    tmp.write_all(new_text.as_bytes())
        .map_err(io_err("write the temporary file"))?;
    tmp.set_permissions(meta.permissions())
        .map_err(io_err("set the temporary file's mode"))?;
    keep_owner(&tmp, &meta);
    tmp.sync_all()
        .map_err(io_err("flush the temporary file to disk"))?;
    drop(tmp);
    fs::rename(&tmp_path, &target).map_err(io_err("rename the temporary file over it"))?;
    guard.disarm();
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("flush its directory to disk"))?;
    Ok(true)
}

/// `.NAME.PID-N.eperm-tmp` in `dir`, created afresh, readable by its owner only
/// until the real mode is set.
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let path = dir.join(format!(".{name}.{pid}-{attempt}{TEMP_SUFFIX}"));
        let opened = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path);
        match opened {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Gives the new file the old one's owner and group when they differ (only
/// root may, or a member of the group): best effort, like editors do.
fn keep_owner(tmp: &File, old: &fs::Metadata) {
    let Ok(new) = tmp.metadata() else { return };
    if (new.uid(), new.gid()) != (old.uid(), old.gid()) {
        let _ = std::os::unix::fs::fchown(tmp, Some(old.uid()), Some(old.gid()));
    }
}

/// Removes the temporary file if the save fails before the rename.
struct RemoveOnDrop(Option<PathBuf>);

impl RemoveOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(TEMP_SUFFIX))
            .collect()
    }

    #[test]
    fn writes_and_keeps_the_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let inode = fs::metadata(&path).unwrap().ino();

        assert!(save(&path, "new", "old").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let meta = fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
        assert_ne!(
            meta.ino(),
            inode,
            "replaced by rename, not rewritten in place"
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn follows_a_symlink_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        let real = dir.path().join("real/p.json");
        fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real/p.json", &link).unwrap();

        assert!(save(&link, "new", "old").unwrap());
        assert!(fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("real/p.json"));
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
        assert!(leftovers(&dir.path().join("real")).is_empty());
    }

    #[test]
    fn refuses_to_clobber_an_outside_edit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "theirs").unwrap();
        let err = save(&path, "new", "old").unwrap_err();
        assert!(matches!(err, SaveError::ChangedOnDisk { .. }), "{err}");
        assert!(err.to_string().contains("changed on disk"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "theirs");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn unchanged_text_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "same").unwrap();
        let inode = fs::metadata(&path).unwrap().ino();
        assert!(!save(&path, "same", "same").unwrap());
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.json");
        let err = save(&path, "new", "old").unwrap_err();
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn create_writes_a_new_file_and_never_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.json");
        create(&path, "first").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
        let err = create(&path, "second").unwrap_err();
        assert!(matches!(err, SaveError::Exists { .. }), "{err}");
        assert!(err.to_string().contains("run with -p"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
    }
}

//! Saving an edited profile without ever leaving a half-written file behind,
//! without overwriting a change someone made while eperm held the file, and
//! only into the file the session started with.
//!
//! The write itself is [`crate::files`]'s: a temporary file beside the profile,
//! flushed and renamed over it. Readers see the old file or the new one, never
//! a mix. (A rename gives the file a new inode: hard links to the old one keep
//! the old text.) A symlinked profile is saved into the file the link led to
//! when the session started ([`Pin`]); if the link now leads elsewhere, the
//! save is refused and says where.

use crate::error::{FileError, FileOp};
use crate::files::{self, Drift, Pin};
use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(
        "{file} changed on disk after eperm read it; not overwriting it, nothing was saved\n  \
         hint: look at the change, then run the edit again"
    )]
    ChangedOnDisk { file: String },
    #[error(
        "{file} now leads to {}, not to {} where the session started; not saving there\n  \
         hint: someone swapped the file or a link on its path: look at it, then start again",
        now.as_deref().map_or("nothing".into(), |p| p.display().to_string()),
        pinned.display()
    )]
    Moved {
        file: String,
        pinned: PathBuf,
        now: Option<PathBuf>,
    },
    #[error("{file} exists: not overwriting it (run with -p {file} to edit it)")]
    Exists { file: String },
}

/// Writes `text` to a new file at `path`, never over an existing one (the
/// embedded profile's first save), and pins it.
pub fn create(path: &Path, text: &str) -> Result<Pin, SaveError> {
    let file = path.display().to_string();
    let mut out = files::Output::create(path, FileOp::SaveProfile)?;
    io::Write::write_all(&mut out, text.as_bytes())
        .map_err(FileError::on(FileOp::SaveProfile, path))?;
    match out.commit_new() {
        Err(e) if e.source.kind() == io::ErrorKind::AlreadyExists => {
            return Err(SaveError::Exists { file })
        }
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    Pin::take(path).map_err(|e| FileError::on(FileOp::SaveProfile, path)(e).into())
}

/// Writes `new_text` to the file `pin` holds (which `path` must still lead
/// to) if it still holds `expected_old`, the text it was loaded from. The
/// file keeps its owner, mode and extended attributes; the pin moves to the
/// new file.
///
/// Returns whether the file was written: when `new_text` is `expected_old`
/// nothing is. The check and the rename are two steps, not one: a write
/// landing in the microseconds between them would still be lost (editors
/// share this limit; only a lock every writer honours would close it).
pub fn save(
    path: &Path,
    pin: &mut Pin,
    new_text: &str,
    expected_old: &str,
) -> Result<bool, SaveError> {
    let file = path.display().to_string();
    match pin.check(path) {
        Ok(()) | Err(Drift::Replaced) => {}
        Err(Drift::Moved { now }) => {
            return Err(SaveError::Moved {
                file,
                pinned: pin.resolved().to_path_buf(),
                now,
            })
        }
    }
    let target = pin.resolved().to_path_buf();
    let on_disk = files::read(&target, files::PROFILE)
        .map_err(|e| SaveError::from(FileError::on(FileOp::SaveProfile, &target)(e)))?;
    if on_disk != expected_old.as_bytes() {
        return Err(SaveError::ChangedOnDisk { file });
    }
    if new_text == expected_old {
        return Ok(false);
    }
    pin.write(new_text.as_bytes(), FileOp::SaveProfile)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::TEMP_SUFFIX;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn pinned(path: &Path) -> Pin {
        Pin::take(path).unwrap()
    }

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

        assert!(save(&path, &mut pinned(&path), "new", "old").unwrap());
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

        assert!(save(&link, &mut pinned(&link), "new", "old").unwrap());
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
        let err = save(&path, &mut pinned(&path), "new", "old").unwrap_err();
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
        assert!(!save(&path, &mut pinned(&path), "same", "same").unwrap());
        assert_eq!(fs::metadata(&path).unwrap().ino(), inode);
    }

    #[test]
    fn a_file_removed_since_it_was_pinned_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gone.json");
        fs::write(&path, "old").unwrap();
        let mut pin = pinned(&path);
        fs::remove_file(&path).unwrap();
        let err = save(&path, &mut pin, "new", "old").unwrap_err();
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
        assert!(!path.exists());
    }

    #[test]
    fn refuses_a_profile_swapped_for_a_link_and_says_where_it_leads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("u.json");
        fs::write(&path, "old").unwrap();
        let mut pin = pinned(&path);
        let elsewhere = dir.path().join("root.json");
        fs::write(&elsewhere, "old").unwrap();
        fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let err = save(&path, &mut pin, "new", "old").unwrap_err();
        assert!(matches!(err, SaveError::Moved { .. }), "{err}");
        let now = fs::canonicalize(&elsewhere).unwrap();
        assert!(
            err.to_string().contains(&now.display().to_string()),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&elsewhere).unwrap(), "old");
    }

    #[test]
    fn follows_its_own_saves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.json");
        fs::write(&path, "one").unwrap();
        let mut pin = pinned(&path);
        assert!(save(&path, &mut pin, "two", "one").unwrap());
        assert!(save(&path, &mut pin, "three", "two").unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), "three");
    }

    #[test]
    fn create_writes_a_new_file_and_never_an_existing_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.json");
        let pin = create(&path, "first").unwrap();
        pin.check(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
        let err = create(&path, "second").unwrap_err();
        assert!(matches!(err, SaveError::Exists { .. }), "{err}");
        assert!(err.to_string().contains("run with -p"), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "first");
    }
}

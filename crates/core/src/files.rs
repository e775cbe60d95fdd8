//! Every file eperm writes, and every file it reads that a user named or that
//! sits beside a profile, goes through here.
//!
//! eperm often runs as root, and writes next to profiles kept in shared or
//! other users' directories. So a write never follows a link or opens what is
//! there: [`Output`] opens the target's directory, creates a temporary file in
//! it (`O_CREAT|O_EXCL|O_NOFOLLOW`, an unpredictable name), gives it the old
//! file's owner, extended attributes (ACLs among them) and mode, flushes it,
//! renames it over the target and flushes the directory. The target must be
//! absent or a regular file: a link, a FIFO, a device or a directory there is
//! refused by name. A full disk fails before the rename, leaving the old file
//! whole.
//!
//! A read ([`read`], [`open`]) looks before it opens: regular files only,
//! opened non-blocking (a FIFO swapped in meanwhile cannot hang eperm), and
//! [`read`] stops at a size cap, so `/dev/zero` or a huge file cannot grow it.
//!
//! Paths eperm picks itself (the coverage file beside a profile, the TUI's
//! report) are also checked for who could have planted them ([`check_picked`]),
//! and a profile being edited is pinned to the file it was read from ([`Pin`]).

use crate::error::{FileError, FileOp};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, XattrFlags, CWD};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Temporary files end with this; `.gitignore` ignores them.
pub const TEMP_SUFFIX: &str = ".eperm-tmp";

/// How much of a file [`read`] takes, and what kind of file it is, for the message.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub bytes: u64,
    pub what: &'static str,
}

/// Profiles: real ones are tens of KiB, but generated ones run to 200,000
/// rules (46 MB indented), and eperm checks those in seconds.
pub const PROFILE: Limit = Limit {
    bytes: 64 << 20,
    what: "a profile",
};

/// Coverage files: a tally per syscall, and a few values per argument.
pub const COVERAGE: Limit = Limit {
    bytes: 16 << 20,
    what: "a coverage file",
};

/// Why eperm will not touch a file, as the cause of a [`FileError`]: the
/// command's input was wrong (exit 2), not the machine.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refused(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, Refused(why.into()))
}

/// Whether `e` is eperm refusing a file (see [`Refused`]).
pub fn is_refusal(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Refused>())
}

/// What a file is, in words: "a symbolic link", "a FIFO", ….
fn what(kind: FileType) -> &'static str {
    match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO (named pipe)",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "not a regular file",
    }
}

fn kind(st: &rfs::Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// (device, inode): which file a [`rfs::Stat`] is of.
#[allow(clippy::unnecessary_cast)] // the fields' types differ between arches
fn identity(st: &rfs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// Writes `bytes` to `path` through an [`Output`]: all of it or, on any
/// failure, nothing (the old file, if any, stays as it was).
pub fn write(path: &Path, bytes: &[u8], op: FileOp) -> Result<(), FileError> {
    let mut out = Output::create(path, op)?;
    out.write_all(bytes).map_err(FileError::on(op, path))?;
    out.commit()
}

/// A file being written: a temporary file in the target's directory until
/// [`Output::commit`] (or [`Output::publish`]) renames it over the target.
/// Dropped before that, it removes the temporary file.
pub struct Output {
    dir: OwnedFd,
    name: OsString,
    /// The temporary file's name in `dir`, until it is renamed.
    temp: Option<OsString>,
    file: File,
    path: PathBuf,
    op: FileOp,
}

impl Output {
    /// Starts writing `path` (see the module's documentation); `op` names
    /// what is being done in errors.
    pub fn create(path: &Path, op: FileOp) -> Result<Output, FileError> {
        let err = FileError::on(op, path);
        let (dir, name) = match open_parent(path) {
            Ok(found) => found,
            Err(e) => return Err(err(e)),
        };
        let old = match existing(&dir, &name) {
            Ok(old) => old,
            Err(e) => return Err(err(e)),
        };
        let (temp, file) = match create_temp(&dir, &name, old.is_some()) {
            Ok(made) => made,
            Err(e) => return Err(err(e)),
        };
        let out = Output {
            dir,
            name,
            temp: Some(temp),
            file,
            path: path.to_path_buf(),
            op,
        };
        if let Some(old) = old {
            // On failure `out` is dropped here, and the temporary file with it.
            keep_attributes(&old, &out.file).map_err(err)?;
        }
        Ok(out)
    }

    /// The temporary file's name (for tests and messages).
    pub fn temp_name(&self) -> Option<&OsStr> {
        self.temp.as_deref()
    }

    /// Flushes what was written to the disk and puts it in place of the target.
    pub fn commit(mut self) -> Result<(), FileError> {
        rfs::fsync(&self.file)
            .map_err(io::Error::from)
            .and_then(|()| self.rename())
            .map_err(FileError::on(self.op, &self.path))
    }

    /// As [`Output::commit`], but never over an existing file: one there
    /// fails the commit with [`io::ErrorKind::AlreadyExists`].
    pub fn commit_new(mut self) -> Result<(), FileError> {
        let err = FileError::on(self.op, &self.path);
        let renamed = rfs::fsync(&self.file).and_then(|()| {
            let temp = self.temp.as_deref().unwrap_or_default();
            rfs::renameat_with(
                &self.dir,
                temp,
                &self.dir,
                &self.name,
                rfs::RenameFlags::NOREPLACE,
            )
        });
        match renamed {
            Ok(()) => {
                self.temp = None;
                rfs::fsync(&self.dir).map_err(|e| err(e.into()))
            }
            Err(e) => Err(err(e.into())),
        }
    }

    /// Puts the (so far empty, or partly written) file in place of the target
    /// now, and hands it back for writing as a log that grows (`--events`).
    pub fn publish(mut self) -> Result<File, FileError> {
        let op = self.op;
        let path = self.path.clone();
        let file = self.file.try_clone().map_err(FileError::on(op, &path))?;
        self.rename().map_err(FileError::on(op, &path))?;
        Ok(file)
    }

    fn rename(&mut self) -> io::Result<()> {
        let Some(temp) = self.temp.as_deref() else {
            return Ok(());
        };
        rfs::renameat(&self.dir, temp, &self.dir, &self.name)?;
        self.temp = None;
        rfs::fsync(&self.dir)?;
        Ok(())
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = rfs::unlinkat(&self.dir, &temp, AtFlags::empty());
        }
    }
}

/// The directory `path` is in, opened (a link among the directories the user
/// named is followed, as everywhere), and the file's name in it.
fn open_parent(path: &Path) -> io::Result<(OwnedFd, OsString)> {
    let name = path
        .file_name()
        .ok_or_else(|| refused("it names a directory, not a file"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = rfs::openat(
        CWD,
        parent,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok((dir, name.to_os_string()))
}

/// The file a write replaces.
struct Old {
    stat: rfs::Stat,
    /// Opened for its extended attributes; `None` when it cannot be read.
    file: Option<OwnedFd>,
}

/// What is at `name` in `dir` now: nothing, or a regular file. Anything else
/// is refused, named.
fn existing(dir: &OwnedFd, name: &OsStr) -> io::Result<Option<Old>> {
    let stat = match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if kind(&stat) != FileType::RegularFile {
        return Err(refused(format!(
            "it is {}, and eperm writes only regular files\n  \
             hint: remove it, or name another path",
            what(kind(&stat))
        )));
    }
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let file = match rfs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => Some(fd),
        // Not readable by us (eperm not run as root): its mode and owner still are kept.
        Err(Errno::ACCESS | Errno::PERM) => None,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err(refused("it is a symbolic link, and eperm writes only regular files\n  hint: remove it, or name another path")),
        Err(e) => return Err(e.into()),
    };
    if let Some(fd) = &file {
        if identity(&rfs::fstat(fd)?) != identity(&stat) {
            return Err(refused(
                "it was replaced while eperm was writing it\n  hint: try again",
            ));
        }
    }
    Ok(Some(Old { stat, file }))
}

/// A new file in `dir` named `.NAME.RANDOM.eperm-tmp`, never one that was
/// there. `private`: readable by its owner only until the old file's mode is
/// set; otherwise created with the usual mode (what the umask leaves of 0666).
fn create_temp(dir: &OwnedFd, name: &OsStr, private: bool) -> io::Result<(OsString, File)> {
    let mode = Mode::from_raw_mode(if private { 0o600 } else { 0o666 });
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    for _ in 0..16 {
        let temp = temp_name(name)?;
        match rfs::openat(dir, &temp, flags, mode) {
            Ok(fd) => return Ok((temp, File::from(fd))),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free name for a temporary file in its directory",
    ))
}

/// `.NAME.` + 24 random hex digits + [`TEMP_SUFFIX`]; NAME cut so the whole
/// stays within the 255 bytes of a file name.
fn temp_name(name: &OsStr) -> io::Result<OsString> {
    let mut random = [0u8; 12];
    let mut filled = 0;
    while filled < random.len() {
        filled +=
            rustix::rand::getrandom(&mut random[filled..], rustix::rand::GetRandomFlags::empty())?;
    }
    let bytes = name.as_bytes();
    let mut temp = b".".to_vec();
    temp.extend_from_slice(&bytes[..bytes.len().min(200)]);
    temp.push(b'.');
    for b in random {
        temp.extend_from_slice(format!("{b:02x}").as_bytes());
    }
    temp.extend_from_slice(TEMP_SUFFIX.as_bytes());
    Ok(OsStr::from_bytes(&temp).to_os_string())
}

/// Gives `new` the old file's owner and group (where allowed: root may, or a
/// member of the group), its extended attributes, then its mode (a change of
/// owner clears set-id bits, so the mode comes last).
fn keep_attributes(old: &Old, new: &File) -> io::Result<()> {
    let now = rfs::fstat(new)?;
    if (now.st_uid, now.st_gid) != (old.stat.st_uid, old.stat.st_gid) {
        let _ = rfs::fchown(
            new,
            Some(rfs::Uid::from_raw(old.stat.st_uid)),
            Some(rfs::Gid::from_raw(old.stat.st_gid)),
        );
    }
    if let Some(src) = &old.file {
        copy_xattrs(src, new)?;
    }
    rfs::fchmod(new, Mode::from_raw_mode(old.stat.st_mode & 0o7777))?;
    Ok(())
}

/// Copies every extended attribute of `src` to `dst` (`system.posix_acl_access`
/// is how an ACL is stored). One the target cannot hold or we may not set is
/// left out, as `cp -a` does.
fn copy_xattrs(src: &OwnedFd, dst: &File) -> io::Result<()> {
    let listed = with_buffer(
        || rfs::flistxattr_query(src),
        |buf| rfs::flistxattr(src, buf),
    );
    let names = match listed {
        Ok(names) => names,
        Err(Errno::NOTSUP) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = OsStr::from_bytes(name);
        let value = with_buffer(
            || rfs::fgetxattr_query(src, name),
            |buf| rfs::fgetxattr(src, name, buf),
        );
        let value = match value {
            Ok(value) => value,
            Err(Errno::NODATA) => continue, // removed meanwhile
            Err(e) => return Err(e.into()),
        };
        match rfs::fsetxattr(dst, name, &value, XattrFlags::empty()) {
            Ok(()) | Err(Errno::NOTSUP | Errno::PERM | Errno::ACCESS) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// What `get` returns, in a buffer of the size `size` says (asked again when
/// it grew meanwhile).
fn with_buffer(
    size: impl Fn() -> Result<usize, Errno>,
    get: impl Fn(&mut [u8]) -> Result<usize, Errno>,
) -> Result<Vec<u8>, Errno> {
    for _ in 0..8 {
        let mut buf = vec![0u8; size()?];
        if buf.is_empty() {
            return Ok(buf);
        }
        match get(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

/// Opens `path` to read it: a regular file only (a link to one is followed),
/// looked at before it is opened (a device is never opened) and opened
/// non-blocking (a FIFO swapped in meanwhile cannot hang eperm). Returns the
/// file and its size.
pub fn open(path: &Path) -> io::Result<(File, u64)> {
    let before = rfs::statat(CWD, path, AtFlags::empty())?;
    if kind(&before) != FileType::RegularFile {
        return Err(not_regular(&before));
    }
    let fd = rfs::openat(
        CWD,
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let st = rfs::fstat(&fd)?;
    if kind(&st) != FileType::RegularFile {
        return Err(not_regular(&st));
    }
    Ok((File::from(fd), u64::try_from(st.st_size).unwrap_or(0)))
}

fn not_regular(st: &rfs::Stat) -> io::Error {
    refused(format!(
        "it is {}, and eperm reads only regular files\n  \
         hint: name the file itself (or `-` for standard input, where it is taken)",
        what(kind(st))
    ))
}

/// Reads all of `path` (see [`open`]), refusing a file larger than `limit`.
pub fn read(path: &Path, limit: Limit) -> io::Result<Vec<u8>> {
    let (file, size) = open(path)?;
    read_capped(file, size, limit)
}

/// Reads all of `path`, a file another user or a runtime wrote that eperm did
/// not ask for (a container's config.json): no link is followed anywhere in
/// the path (`RESOLVE_NO_SYMLINKS`), it must be a regular file, opened
/// non-blocking, and no more than `limit` is read.
pub fn read_untrusted(path: &Path, limit: Limit) -> io::Result<Vec<u8>> {
    let fd = rfs::openat2(
        CWD,
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
        rfs::ResolveFlags::NO_SYMLINKS | rfs::ResolveFlags::NO_MAGICLINKS,
    )?;
    let st = rfs::fstat(&fd)?;
    if kind(&st) != FileType::RegularFile {
        return Err(not_regular(&st));
    }
    read_capped(
        File::from(fd),
        u64::try_from(st.st_size).unwrap_or(0),
        limit,
    )
}

/// Reads all of `from` (of `size` bytes, as far as known) up to `limit`.
pub fn read_capped(from: impl Read, size: u64, limit: Limit) -> io::Result<Vec<u8>> {
    if size > limit.bytes {
        return Err(too_large(Some(size), limit));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    from.take(limit.bytes + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit.bytes {
        // Grown past its size (or a stream): how far it goes is not known.
        return Err(too_large(None, limit));
    }
    Ok(bytes)
}

/// The refusal of a file of `size` bytes (`None`: more than the cap, as far
/// as was read).
fn too_large(size: Option<u64>, limit: Limit) -> io::Error {
    let holds = match size {
        Some(n) => format!("{n} bytes"),
        None => format!("over {} bytes", limit.bytes),
    };
    let cap = if limit.bytes >= 1 << 20 {
        format!("{} MiB", limit.bytes >> 20)
    } else {
        format!("{} bytes", limit.bytes)
    };
    refused(format!(
        "it holds {holds}, more than eperm reads from {} ({cap})\n  \
         hint: is it the right file? a real one is far smaller",
        limit.what,
    ))
}

/// Checks a path eperm picked itself before writing there: refused when
/// another user could have planted something at it — its directory writable
/// by every user without the sticky bit, or the directory or the file
/// owned by a user other than root, eperm's own and the operator's (`SUDO_UID`).
/// `hint` says how to name a path instead.
pub fn check_picked(path: &Path, op: FileOp, hint: &str) -> Result<(), FileError> {
    let err = FileError::on(op, path);
    let (dir, name) = open_parent(path).map_err(err)?;
    let err = FileError::on(op, path);
    let dir_stat = rfs::fstat(&dir).map_err(|e| err(e.into()))?;
    let planted = |why: String| {
        FileError::on(op, path)(refused(format!(
            "{why}, so another user could have planted it; eperm picked this path itself, and will not use it\n  hint: {hint}"
        )))
    };
    if dir_stat.st_mode & 0o002 != 0 && dir_stat.st_mode & 0o1000 == 0 {
        return Err(planted(
            "its directory is writable by every user and has no sticky bit".into(),
        ));
    }
    if !trusted(dir_stat.st_uid) {
        return Err(planted(format!(
            "its directory belongs to user {}",
            dir_stat.st_uid
        )));
    }
    match rfs::statat(&dir, &name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) if !trusted(st.st_uid) => Err(planted(format!("it belongs to user {}", st.st_uid))),
        _ => Ok(()),
    }
}

/// Root, eperm's own user, and the operator who ran it with sudo.
fn trusted(uid: u32) -> bool {
    let sudo = std::env::var("SUDO_UID")
        .ok()
        .and_then(|u| u.parse::<u32>().ok());
    uid == 0 || uid == rustix::process::geteuid().as_raw() || sudo == Some(uid)
}

/// Whether `a` and `b` are the same existing file (links followed).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (
        rfs::statat(CWD, a, AtFlags::empty()),
        rfs::statat(CWD, b, AtFlags::empty()),
    ) {
        (Ok(x), Ok(y)) => identity(&x) == identity(&y),
        _ => false,
    }
}

/// The file a profile being edited was read from: its path resolved (links
/// followed) and its (device, inode). A save checks the path still leads
/// there; eperm's own save moves the pin to the file it made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    resolved: PathBuf,
    id: (u64, u64),
}

/// Where a pinned path leads now, when that is not the pinned file.
#[derive(Debug, PartialEq, Eq)]
pub enum Drift {
    /// The path leads to another place (a link was swapped in or changed).
    Moved { now: Option<PathBuf> },
    /// The same place holds another file (replaced by an outside write).
    Replaced,
}

impl Pin {
    /// Pins the file `path` leads to now.
    pub fn take(path: &Path) -> io::Result<Pin> {
        let resolved = std::fs::canonicalize(path)?;
        let st = rfs::statat(CWD, &resolved, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(Pin {
            resolved,
            id: identity(&st),
        })
    }

    /// The file's path with every link resolved.
    pub fn resolved(&self) -> &Path {
        &self.resolved
    }

    /// Whether `path` still leads to the pinned file.
    pub fn check(&self, path: &Path) -> Result<(), Drift> {
        let now = std::fs::canonicalize(path).ok();
        if now.as_deref() != Some(self.resolved.as_path()) {
            return Err(Drift::Moved { now });
        }
        match rfs::statat(CWD, &self.resolved, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if identity(&st) == self.id => Ok(()),
            _ => Err(Drift::Replaced),
        }
    }

    /// After an outside change was read back: pins the file now at the
    /// pinned place, if `path` still leads there. Returns whether it does.
    pub fn reload(&mut self, path: &Path) -> bool {
        match Pin::take(path) {
            Ok(pin) if pin.resolved == self.resolved => {
                *self = pin;
                true
            }
            _ => false,
        }
    }

    /// Writes `bytes` over the pinned file (see [`Output`]) and pins the new one.
    pub fn write(&mut self, bytes: &[u8], op: FileOp) -> Result<(), FileError> {
        let resolved = self.resolved.clone();
        let mut out = Output::create(&resolved, op)?;
        out.write_all(bytes).map_err(FileError::on(op, &resolved))?;
        let made = rfs::fstat(&out.file).map_err(|e| FileError::on(op, &resolved)(e.into()))?;
        out.commit()?;
        self.id = identity(&made);
        Ok(())
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) mod testing;

//! eperm's state directory (`/run/eperm`: root's, mode 0700) and the sessions
//! eperm leaves there for its runc wrapper.
//!
//! The wrapper runs as root under dockerd, on a bundle whose `process.env` the
//! image can fill. So it never takes a path or an identity from there: all it
//! takes is a session id, 128 random bits eperm makes for each container and
//! hands to `docker run` in the environment. The id names a directory of
//! eperm's, `/run/eperm/sessions/ID`, which holds what eperm asks of the wrapper
//! (the agent's socket, the loginuid of the audit session to open) and where the
//! wrapper leaves the audit session's id. An image cannot guess a live id, and
//! a value that names no such directory, or one not owned by root with mode
//! 0700 (every level opened without following links), is ignored. A session is
//! claimed once: the wrapper removes its request as it reads it.

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag, AT_FDCWD};
use nix::sys::stat::{fstat, mkdirat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};
use serde::{Deserialize, Serialize};
use std::io::{Error, ErrorKind, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Where eperm keeps what it hands its runc wrapper.
pub const STATE_DIR: &str = "/run/eperm";
const SESSIONS: &str = "sessions";
/// The runs' work directories, `eperm-PID` each (see [`work_parent`]).
const WORK: &str = "work";
/// What eperm asks of the wrapper (a [`Request`] as JSON).
const REQUEST: &str = "request.json";
/// The audit session's id, written by the wrapper.
const AUDIT: &str = "audit-session";
/// The eperm that made the session: `PID START` (its start time in `/proc`).
const OWNER: &str = "owner";
/// A request is a few dozen bytes; anything longer is not eperm's.
const REQUEST_MAX: u64 = 4096;
/// Hex digits in a session id (128 bits).
const ID_LEN: usize = 32;

/// What eperm asks of its wrapper for one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The seccomp agent's socket: the bundle's `linux.seccomp.listenerPath`.
    pub agent: Option<PathBuf>,
    /// Open an audit session as this loginuid (inherited by runc and the container).
    pub loginuid: Option<u32>,
}

/// A directory eperm trusts: reached without following a link, owned by this
/// process's user (root, for the wrapper), mode 0700.
#[derive(Debug)]
struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens `name` in `at` (an absolute `name`: `at` is ignored), refusing
    /// anything but a directory of ours, mode 0700.
    fn open(at: Option<&Dir>, name: &Path) -> std::io::Result<Dir> {
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let path = at.map_or_else(|| name.to_path_buf(), |at| at.path.join(name));
        let fd = match at {
            Some(at) => openat(at.fd.as_fd(), name, flags, Mode::empty()),
            None => openat(AT_FDCWD, name, flags, Mode::empty()),
        }
        .map_err(|e| match e {
            // O_NOFOLLOW on a link, O_DIRECTORY on anything else.
            Errno::ELOOP | Errno::ENOTDIR => refused(&path, "not a directory (a link?)"),
            e => Error::from(e),
        })?;
        let st = fstat(&fd)?;
        if st.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(refused(&path, &format!("owned by uid {}", st.st_uid)));
        }
        if st.st_mode & 0o7777 != 0o700 {
            return Err(refused(
                &path,
                &format!("mode {:o}, not 700", st.st_mode & 0o7777),
            ));
        }
        Ok(Dir { fd, path })
    }

    /// Makes `name` in `at` (mode 0700) unless it exists, then opens it as
    /// [`Dir::open`] does: one that exists and is not a directory of ours, mode
    /// 0700, is refused, never used or changed.
    fn create(at: Option<&Dir>, name: &Path) -> std::io::Result<Dir> {
        let made = match at {
            Some(at) => mkdirat(at.fd.as_fd(), name, Mode::S_IRWXU),
            None => mkdirat(AT_FDCWD, name, Mode::S_IRWXU),
        };
        match made {
            Ok(()) | Err(Errno::EEXIST) => Dir::open(at, name),
            Err(e) => Err(Error::from(e)),
        }
    }
}

fn refused(path: &Path, why: &str) -> Error {
    Error::new(
        ErrorKind::PermissionDenied,
        format!(
            "{}: {why}: eperm's state directory must be root's, mode 700",
            path.display()
        ),
    )
}

/// The runs' work directories' parent: `/run/eperm/work` as root (root's, mode
/// 0700 at each level, made if absent); as another user, the same below
/// `$XDG_RUNTIME_DIR`. `None` for a user without one.
pub fn work_parent() -> Option<std::io::Result<PathBuf>> {
    let base = if nix::unistd::geteuid().is_root() {
        PathBuf::from(STATE_DIR)
    } else {
        PathBuf::from(std::env::var_os("XDG_RUNTIME_DIR")?).join("eperm")
    };
    Some(
        Dir::create(None, &base)
            .and_then(|state| Dir::create(Some(&state), Path::new(WORK)))
            .map(|work| work.path),
    )
}

/// eperm's side of one session: made before the container is started, removed
/// when dropped.
#[derive(Debug)]
pub struct Session {
    id: String,
    dir: PathBuf,
}

impl Session {
    /// Leaves `request` in a new session below `state` (made if absent).
    pub fn create(state: &Path, request: &Request) -> std::io::Result<Session> {
        let state = Dir::create(None, state)?;
        let sessions = Dir::create(Some(&state), Path::new(SESSIONS))?;
        sweep(&sessions);
        let id = new_id()?;
        mkdirat(sessions.fd.as_fd(), id.as_str(), Mode::S_IRWXU)?;
        let session = Session {
            dir: sessions.path.join(&id),
            id,
        };
        let dir = Dir::open(Some(&sessions), Path::new(&session.id))?;
        let me = std::process::id();
        if let Some(start) = start_time(me) {
            write_new(&dir, OWNER, format!("{me} {start}").as_bytes())?;
        }
        let text = serde_json::to_vec(request).map_err(Error::other)?;
        write_new(&dir, REQUEST, &text)?;
        Ok(session)
    }

    /// The secret the wrapper is given (in the container's environment).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the wrapper writes the audit session's id.
    pub fn audit_file(&self) -> PathBuf {
        self.dir.join(AUDIT)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The wrapper's side of a session it claimed.
#[derive(Debug)]
pub struct Claimed {
    dir: Dir,
    pub request: Request,
}

/// Claims the live session `id` below `state`: `Ok(None)` when `id` is not
/// the form of one or names none (an image's guess); an error when the state
/// directory or the session is not eperm's (then nothing in it is used).
pub fn claim(state: &Path, id: &str) -> std::io::Result<Option<Claimed>> {
    if id.len() != ID_LEN || !id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Ok(None);
    }
    let absent = |e: &Error| e.kind() == ErrorKind::NotFound;
    let dir = match Dir::open(None, state)
        .and_then(|state| Dir::open(Some(&state), Path::new(SESSIONS)))
        .and_then(|sessions| Dir::open(Some(&sessions), Path::new(id)))
    {
        Ok(dir) => dir,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    let text = match read_request(&dir) {
        Ok(text) => text,
        Err(e) if absent(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    // Once only: of two wrappers given the same id, one removes the request.
    match unlinkat(dir.fd.as_fd(), REQUEST, UnlinkatFlags::NoRemoveDir) {
        Ok(()) => {}
        Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let request: Request = serde_json::from_slice(&text).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!("{}: {e}", dir.path.display()),
        )
    })?;
    if request.agent.as_deref().is_some_and(|p| !p.is_absolute()) {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("{}: the agent's path is not absolute", dir.path.display()),
        ));
    }
    Ok(Some(Claimed { dir, request }))
}

impl Claimed {
    /// Leaves the audit session's id where eperm waits for it.
    pub fn write_audit_session(&self, id: &str) -> std::io::Result<()> {
        let tmp = format!("{AUDIT}.tmp");
        write_new(&self.dir, &tmp, id.as_bytes())?;
        renameat(
            self.dir.fd.as_fd(),
            tmp.as_str(),
            self.dir.fd.as_fd(),
            AUDIT,
        )?;
        Ok(())
    }
}

/// The request: a regular file of ours, mode 0600 or tighter, a few bytes.
fn read_request(dir: &Dir) -> std::io::Result<Vec<u8>> {
    let path = dir.path.join(REQUEST);
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = openat(dir.fd.as_fd(), REQUEST, flags, Mode::empty()).map_err(|e| match e {
        Errno::ELOOP => Error::new(
            ErrorKind::PermissionDenied,
            format!("{}: a link", path.display()),
        ),
        e => Error::from(e),
    })?;
    let st = fstat(&fd)?;
    let bad = |why: String| {
        Err(Error::new(
            ErrorKind::PermissionDenied,
            format!("{}: {why}", path.display()),
        ))
    };
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFREG {
        return bad("not a regular file".into());
    }
    if st.st_uid != nix::unistd::geteuid().as_raw() || st.st_mode & 0o077 != 0 {
        return bad(format!(
            "owned by uid {}, mode {:o}",
            st.st_uid,
            st.st_mode & 0o7777
        ));
    }
    let mut text = Vec::new();
    std::fs::File::from(fd)
        .take(REQUEST_MAX + 1)
        .read_to_end(&mut text)?;
    if text.len() as u64 > REQUEST_MAX {
        return bad("too long".into());
    }
    Ok(text)
}

/// Creates `name` in `dir` (never through a link, never an existing file),
/// mode 0600, holding `bytes`.
fn write_new(dir: &Dir, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let flags =
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(dir.fd.as_fd(), name, flags, Mode::S_IRUSR | Mode::S_IWUSR)?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)?;
    file.sync_all()
}

/// Removes the sessions of eperms that are gone (killed before they could
/// remove their own).
fn sweep(sessions: &Dir) {
    let Ok(entries) = std::fs::read_dir(&sessions.path) else {
        return;
    };
    for entry in entries.flatten() {
        let owner = std::fs::read_to_string(entry.path().join(OWNER)).unwrap_or_default();
        // A process of that pid that started then: the eperm, still running.
        let gone = match owner.split_once(' ') {
            Some((pid, start)) => pid.parse().is_ok_and(|pid| {
                start_time(pid).map(|t| t.to_string()).as_deref() != Some(start.trim())
            }),
            None => false,
        };
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// When process `pid` started (clock ticks after boot: `/proc/PID/stat`'s 22nd field).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's `(…)`, which may hold spaces: state is the 3rd field.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19)?.parse().ok()
}

/// 128 bits from the kernel's random source, in hex.
fn new_id() -> std::io::Result<String> {
    let mut bytes = [0u8; ID_LEN / 2];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

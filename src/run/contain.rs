//! The workload never outlives eperm, even when eperm is SIGKILLed.
//!
//! A watchdog process, forked before anything else, holds the read end of a pipe
//! whose write end only eperm has. When eperm ends — by returning, panicking or
//! being killed — the pipe reaches EOF and the watchdog kills what is left: the
//! workload's cgroup (`cgroup.kill`, which catches daemons that left the process
//! group) when eperm could make one, and the workload's process group always.
//! A container lives outside both (the runtime's daemon made it): for that the
//! watchdog last runs a cleanup command (e.g. `docker rm -f NAME`).

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

pub struct Containment {
    /// eperm's end of the pipe; dropping it is the watchdog's signal.
    signal: Option<OwnedFd>,
    watchdog: libc::pid_t,
    cgroup: Option<PathBuf>,
}

impl Containment {
    /// Forks the watchdog. Call before starting threads or opening other fds, so the
    /// watchdog holds nothing of eperm's (a held seccomp listener would keep calls waiting).
    pub fn start() -> std::io::Result<Containment> {
        Containment::start_with_cleanup(&[])
    }

    /// Like [`Containment::start`]; after killing, the watchdog also runs `cleanup`
    /// (when not empty), with its output discarded, and waits for it.
    pub fn start_with_cleanup(cleanup: &[std::ffi::OsString]) -> std::io::Result<Containment> {
        use std::os::unix::ffi::OsStrExt;
        let cleanup: Vec<CString> = cleanup
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut cleanup_argv: Vec<*const libc::c_char> =
            cleanup.iter().map(|a| a.as_ptr()).collect();
        cleanup_argv.push(std::ptr::null());
        // The watchdog first, the cgroup after: an eperm killed in between
        // leaves no cgroup for the watchdog not to know of (it removes the
        // path whether or not it came to exist).
        let planned = cgroup_path();
        let kill_file = planned.as_ref().map(|c| cstring(&c.join("cgroup.kill")));
        let dir = planned.as_ref().map(|c| cstring(c));
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills the array with two new fds.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: the fds are new and owned here.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: the child only makes async-signal-safe calls on data prepared above.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if pid == 0 {
            drop(write);
            // SAFETY: see above.
            unsafe {
                watchdog(
                    read.as_raw_fd(),
                    kill_file.as_deref(),
                    dir.as_deref(),
                    &cleanup_argv,
                )
            }
        }
        drop(read);
        let cgroup = planned.filter(|dir| std::fs::create_dir(dir).is_ok());
        Ok(Containment {
            signal: Some(write),
            watchdog: pid,
            cgroup,
        })
    }

    /// The workload's process group: the watchdog kills it when eperm ends.
    pub fn watch_group(&self, pgid: libc::pid_t) -> std::io::Result<()> {
        let fd = self
            .signal
            .as_ref()
            .expect("watchdog is running")
            .as_raw_fd();
        let bytes = pgid.to_ne_bytes();
        // SAFETY: writing four bytes from a local array.
        if unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) } != bytes.len() as isize {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// The workload's cgroup v2 directory, when eperm could make one.
    pub fn cgroup(&self) -> Option<&Path> {
        self.cgroup.as_deref()
    }

    /// `cgroup.procs` of the workload's cgroup, opened for the child to join.
    pub fn cgroup_procs(&self) -> Option<OwnedFd> {
        let path = self.cgroup.as_ref()?.join("cgroup.procs");
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .ok()
            .map(OwnedFd::from)
    }

    /// The workload's cgroup directory, open for `clone3(CLONE_INTO_CGROUP)`.
    pub fn cgroup_dir(&self) -> Option<OwnedFd> {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(self.cgroup.as_ref()?)
            .ok()
            .map(OwnedFd::from)
    }

    /// Does any process of the workload live (`cgroup.events`' `populated`)? `None`
    /// without a cgroup of its own. Exited processes count as gone even before
    /// they are reaped.
    pub fn populated(&self) -> Option<bool> {
        let events = std::fs::read_to_string(self.cgroup.as_ref()?.join("cgroup.events")).ok()?;
        events
            .lines()
            .find_map(|l| l.strip_prefix("populated "))
            .map(|v| v.trim() != "0")
    }

    /// Kills everything left of the workload and waits for the watchdog.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.signal.take().is_some() {
            let mut status = 0;
            // SAFETY: waiting for our own child.
            unsafe { libc::waitpid(self.watchdog, &mut status, 0) };
        }
    }
}

impl Drop for Containment {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The watchdog: wait for EOF, then kill the cgroup and the process group.
///
/// # Safety
///
/// Call only in the child of a fork of a process that may have other threads:
/// it makes only async-signal-safe calls and never returns. `pipe` must be the
/// read end of the watchdog's pipe, and `cleanup` a null-terminated array of
/// C strings (or empty) that stays valid, as `kill_file` and `dir` do.
unsafe fn watchdog(
    pipe: i32,
    kill_file: Option<&std::ffi::CStr>,
    dir: Option<&std::ffi::CStr>,
    cleanup: &[*const libc::c_char],
) -> ! {
    // Its own group, so that ^C at the terminal does not take it down before eperm.
    // SAFETY: no pointers.
    unsafe { libc::setpgid(0, 0) };
    let mut pgid: libc::pid_t = 0;
    let mut buf = [0u8; 4];
    loop {
        // SAFETY: reads at most `buf.len()` bytes into `buf`; `pipe` is ours (the contract).
        let n = unsafe { libc::read(pipe, buf.as_mut_ptr().cast(), buf.len()) };
        // SAFETY: errno's location is the calling thread's, always valid.
        let errno = unsafe { *libc::__errno_location() };
        if n == 4 {
            pgid = libc::pid_t::from_ne_bytes(buf);
        } else if n == 0 || (n < 0 && errno != libc::EINTR) {
            break;
        }
    }
    if let Some(kill_file) = kill_file {
        // SAFETY: `kill_file` is a live NUL-terminated path.
        let fd = unsafe { libc::open(kill_file.as_ptr(), libc::O_WRONLY) };
        if fd >= 0 {
            // SAFETY: one byte of a static string, to the fd just opened.
            unsafe { libc::write(fd, b"1".as_ptr().cast(), 1) };
            // SAFETY: `fd` was opened just above and is used no more.
            unsafe { libc::close(fd) };
        }
    }
    if pgid > 0 {
        // SAFETY: no pointers; the workload's process group.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    if cleanup.len() > 1 {
        // SAFETY: still in the forked child; `cleanup` is null-terminated (the contract).
        unsafe { run_quietly(cleanup) };
    }
    if let Some(dir) = dir {
        // The cgroup can go once its last process is gone: retry for up to a second.
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 10_000_000,
        };
        for _ in 0..100 {
            // SAFETY: `dir` is a live NUL-terminated path; errno's location is
            // the calling thread's.
            if unsafe {
                libc::rmdir(dir.as_ptr()) == 0 || *libc::__errno_location() == libc::ENOENT
            } {
                break;
            }
            // SAFETY: `pause` is a live timespec; the remainder is not asked for.
            unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        }
    }
    // SAFETY: ends the watchdog without running the parent's exit handlers.
    unsafe { libc::_exit(0) }
}

/// Runs `argv` (NULL-terminated) with stdio on /dev/null and waits for it.
///
/// # Safety
///
/// `argv` must hold at least one C string and end with a null pointer, all
/// valid for the call. It forks and the child makes only async-signal-safe
/// calls, so it may be called in a forked child of a threaded process.
unsafe fn run_quietly(argv: &[*const libc::c_char]) {
    // SAFETY: the child below only makes async-signal-safe calls and ends in
    // execvp or _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: a static NUL-terminated path.
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        for fd in 0..3 {
            // SAFETY: no pointers; the child's own stdio.
            unsafe { libc::dup2(null, fd) };
        }
        // SAFETY: `argv` is a null-terminated array of live C strings (the contract).
        unsafe { libc::execvp(argv[0], argv.as_ptr()) };
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(127) };
    }
    if pid > 0 {
        let mut status = 0;
        // SAFETY: `status` is a live int; `pid` is our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
}

/// The entries of `parent` named `eperm-PID` whose eperm is gone (no process
/// `PID`): what a SIGKILLed eperm left, for the next one to remove. A live
/// process of that pid (an eperm, or a pid reused) keeps its entry.
pub fn left_by_dead_eperms(parent: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let pid = name.to_str()?.strip_prefix("eperm-")?;
            let pid: u32 = pid.parse().ok()?;
            let alive = Path::new(&format!("/proc/{pid}")).exists();
            (!alive).then(|| e.path())
        })
        .collect()
}

/// Where this eperm's cgroup v2 directory for the workload goes (`eperm-PID`
/// below its own), with the empty ones of dead eperms removed; `None` without
/// a cgroup2 mount. Made after the watchdog is forked; not made when we may not
/// write there (not root, delegated elsewhere).
fn cgroup_path() -> Option<PathBuf> {
    let mount = cgroup2_mount()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))?
        .trim_start_matches('/');
    let parent = mount.join(own);
    // Empty cgroups of eperms killed before they could remove theirs (rmdir
    // takes only empty ones: a workload still inside keeps its cgroup).
    for stale in left_by_dead_eperms(&parent) {
        let _ = std::fs::remove_dir(stale);
    }
    Some(parent.join(format!("eperm-{}", std::process::id())))
}

/// Where cgroup v2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid host).
pub fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mount_point = left.split_whitespace().nth(4)?;
        (right.split_whitespace().next() == Some("cgroup2")).then(|| PathBuf::from(mount_point))
    })
}

fn cstring(p: &Path) -> CString {
    use std::os::unix::ffi::OsStrExt;
    CString::new(p.as_os_str().as_bytes()).expect("paths from /proc have no NUL")
}

#[cfg(test)]
mod stale_tests {
    use super::left_by_dead_eperms;

    /// Issue 33: what a SIGKILLed eperm left (`eperm-PID`, no process PID) is
    /// found for removal; a live eperm's entry and other names are not.
    #[test]
    fn only_the_entries_of_dead_eperms_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        let dead = dir.path().join("eperm-999999999");
        let live = dir.path().join(format!("eperm-{}", std::process::id()));
        for name in [
            "eperm-999999999",
            "eperm-podman-1-root",
            "eperm-dockerd.x1",
            "other",
        ] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
        }
        std::fs::create_dir(&live).unwrap();
        assert_eq!(left_by_dead_eperms(dir.path()), vec![dead]);
    }
}

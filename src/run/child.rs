//! Starting the workload: everything the child needs is built before `fork`, so
//! that between `fork` and `execve` the child makes only raw system calls.
//!
//! The child, in order: its own process group; die with eperm (PDEATHSIG); join
//! eperm's cgroup when there is one and it was not born in it (`clone3` with
//! `CLONE_INTO_CGROUP`); default signal handling; drop to `--user`;
//! in trace mode stop for the tracer; in notify mode tell the parent which fd the
//! listener will get; no_new_privs when it lacks CAP_SYS_ADMIN; install the
//! filter; exec. A failure before exec is reported through a close-on-exec pipe;
//! a successful exec closes it, which the parent reads as "started".

use crate::compile::SockFilter;
use std::ffi::{CString, OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
pub const SECCOMP_FILTER_FLAG_LOG: u32 = 1 << 1;
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;

/// Why the workload could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Exit status 127, as a shell would give.
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{program}: {stage} failed: {source}")]
    Child {
        program: String,
        stage: &'static str,
        source: std::io::Error,
    },
    #[error("cannot start the workload: {0}")]
    Os(#[from] std::io::Error),
}

/// Messages on the report pipe: one tag byte, a stage byte, an i32.
const MSG_FAILED: u8 = b'F';
const MSG_LISTENER: u8 = b'L';

/// Steps of the child, named in error messages.
const STAGES: &[&str] = &[
    "setpgid",
    "prctl(PR_SET_PDEATHSIG)",
    "joining the cgroup",
    "setgroups",
    "setgid",
    "setuid",
    "ptrace(PTRACE_TRACEME)",
    "reporting the listener fd",
    "prctl(PR_SET_NO_NEW_PRIVS)",
    "seccomp(SECCOMP_SET_MODE_FILTER)",
    "execve",
    "waiting for the supervisor",
    "redirecting stdin/stdout/stderr",
];

/// The user the workload runs as (`--user`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

/// How the child sets itself up; everything is owned and ready before fork.
pub struct Prepared {
    program: String,
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
    filter: Vec<SockFilter>,
    filter_flags: u32,
    no_new_privs: bool,
    traceme: bool,
    user: Option<Credentials>,
    cgroup_procs: Option<OwnedFd>,
    /// The same cgroup's directory: the child is cloned straight into it.
    cgroup_dir: Option<OwnedFd>,
    /// Written to /proc/self/loginuid before exec: a fresh audit session (`ses`).
    loginuid: Option<Vec<u8>>,
    /// fds the child makes its stdin, stdout and stderr (dup2) before anything else.
    stdio: Option<[RawFd; 3]>,
    /// Where the parent notes the child's pid as soon as it is forked.
    pid_slot: Option<std::sync::Arc<std::sync::atomic::AtomicI32>>,
}

/// What the parent holds after fork.
pub struct Spawned {
    pub pid: i32,
    report: std::fs::File,
    /// Notify mode: closed once the supervisor holds the listener, releasing the child.
    ack: Option<OwnedFd>,
    /// The listener's fd number in the child (notify mode), once reported.
    pub listener_fd: Option<RawFd>,
}

impl Prepared {
    /// `argv[0]` is looked up in PATH now, so "not found" is known before anything runs.
    pub fn new(argv: &[OsString], filter: Vec<SockFilter>) -> Result<Prepared, SpawnError> {
        let program = argv
            .first()
            .map(|a| a.to_string_lossy().into_owned())
            .unwrap_or_default();
        let path = find_program(argv.first().map(OsString::as_os_str).unwrap_or_default())
            .ok_or_else(|| SpawnError::NotFound(program.clone()))?;
        let cstring = |s: &OsStr| {
            CString::new(s.as_bytes()).map_err(|_| SpawnError::NotFound(program.clone()))
        };
        let argv = argv.iter().map(|a| cstring(a)).collect::<Result<_, _>>()?;
        let envp = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = std::os::unix::ffi::OsStringExt::into_vec(k);
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        let path = cstring(path.as_os_str())?;
        Ok(Prepared {
            program,
            path,
            argv,
            envp,
            filter,
            filter_flags: 0,
            no_new_privs: !crate::caps::CapSet::current().has("CAP_SYS_ADMIN"),
            traceme: false,
            user: None,
            cgroup_procs: None,
            cgroup_dir: None,
            loginuid: None,
            stdio: None,
            pid_slot: None,
        })
    }

    /// The command as the user wrote it, for messages.
    pub fn program(&self) -> &str {
        &self.program
    }

    /// `SECCOMP_FILTER_FLAG_*` for the filter (NEW_LISTENER for notify mode, LOG …).
    pub fn filter_flags(mut self, flags: u32) -> Self {
        self.filter_flags = flags;
        self
    }

    /// Stop with SIGSTOP after PTRACE_TRACEME, before the filter (trace mode).
    pub fn traceme(mut self, yes: bool) -> Self {
        self.traceme = yes;
        self
    }

    pub fn user(mut self, user: Option<Credentials>) -> Self {
        // Changing user needs no_new_privs unless we keep CAP_SYS_ADMIN, which we don't.
        if user.is_some() {
            self.no_new_privs = true;
        }
        self.user = user;
        self
    }

    /// An open `cgroup.procs` the child writes itself into.
    pub fn cgroup(mut self, procs: Option<OwnedFd>) -> Self {
        self.cgroup_procs = procs;
        self
    }

    /// The directory of the cgroup the child joins (see [`Prepared::cgroup`]), open:
    /// the child is then created inside it with `clone3(CLONE_INTO_CGROUP)`. Moving a
    /// running process by writing `cgroup.procs` makes the kernel wait for an RCU
    /// grace period, 5–15 ms per run on this kind of machine; being born there costs
    /// nothing. Where the kernel refuses, the child joins through `cgroup.procs`.
    pub fn cgroup_dir(mut self, dir: Option<OwnedFd>) -> Self {
        self.cgroup_dir = dir;
        self
    }

    /// Gives the workload an audit session of its own, so that kernel log records
    /// can be told apart by `ses` even after the process exited. Writing loginuid
    /// needs CAP_AUDIT_CONTROL; without it the child goes on in eperm's session.
    pub fn new_audit_session(mut self, loginuid: Option<u32>) -> Self {
        self.loginuid = loginuid.map(|uid| uid.to_string().into_bytes());
        self
    }

    /// Gives the child these fds as its stdin, stdout and stderr (the TUI captures
    /// the workload's output this way). The caller keeps them open until `spawn`.
    pub fn stdio(mut self, fds: Option<[RawFd; 3]>) -> Self {
        self.stdio = fds;
        self
    }

    /// Stores the child's pid here right after fork, for whoever must show or kill it.
    pub fn pid_slot(mut self, slot: Option<std::sync::Arc<std::sync::atomic::AtomicI32>>) -> Self {
        self.pid_slot = slot;
        self
    }

    /// Forks the child. It runs [`Prepared::child`] and never returns here.
    pub fn spawn(&self) -> Result<Spawned, SpawnError> {
        let (read, write) = pipe_cloexec()?;
        // The listener is close-on-exec: the child must wait after seccomp() until the
        // parent has copied it (pidfd_getfd), or an allowed execve would close it first.
        let notify = self.filter_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0;
        let ack = if notify { Some(pipe_cloexec()?) } else { None };
        let parent = std::process::id() as libc::pid_t;
        let argv = null_terminated(&self.argv);
        let envp = null_terminated(&self.envp);
        let prog = SockFprog {
            len: self.filter.len() as u16,
            filter: self.filter.as_ptr(),
        };
        // SAFETY: after fork the child only calls async-signal-safe functions on data
        // prepared above, and ends in execve or _exit.
        let (pid, in_cgroup) = unsafe { self.fork() };
        if pid < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        if pid == 0 {
            drop(read);
            let ack_read = ack.map(|(r, w)| {
                drop(w);
                std::os::fd::IntoRawFd::into_raw_fd(r)
            });
            // SAFETY: see above.
            unsafe {
                self.child(
                    parent,
                    in_cgroup,
                    write.as_raw_fd(),
                    ack_read,
                    &prog,
                    &argv,
                    &envp,
                )
            }
        }
        drop(write);
        if let Some(slot) = &self.pid_slot {
            slot.store(pid, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(Spawned {
            pid,
            report: std::fs::File::from(read),
            ack: ack.map(|(_, w)| w),
            listener_fd: None,
        })
    }

    /// Forks the child, inside the cgroup when there is one and the kernel can
    /// (`clone3` with `CLONE_INTO_CGROUP`, Linux 5.7). Returns the pid (0 in the
    /// child) and whether the child was born in the cgroup.
    ///
    /// After a raw `clone3` the C library has not done its fork bookkeeping in the
    /// child: the child only makes raw system calls, which [`Prepared::child`] does
    /// anyway (no allocation, no locks, no thread-aware wrappers such as `setuid`).
    ///
    /// # Safety
    ///
    /// In the child (pid 0) the caller may only make async-signal-safe calls
    /// (raw system calls on data prepared before the fork) and must end in
    /// `execve` or `_exit`: another thread of the parent may have held a lock
    /// or been allocating at the moment of the fork.
    unsafe fn fork(&self) -> (libc::pid_t, bool) {
        if let Some(dir) = &self.cgroup_dir {
            let mut args = CloneArgs {
                exit_signal: libc::SIGCHLD as u64,
                flags: CLONE_INTO_CGROUP,
                cgroup: dir.as_raw_fd() as u64,
                ..CloneArgs::default()
            };
            // SAFETY: `args` is a live `struct clone_args` of the size passed; no
            // stack is given, so the child runs on a copy of ours, as after fork.
            // What the child may do then is this function's contract.
            let pid = unsafe {
                libc::syscall(
                    libc::SYS_clone3,
                    &mut args as *mut CloneArgs,
                    std::mem::size_of::<CloneArgs>(),
                )
            };
            if pid >= 0 {
                return (pid as libc::pid_t, true);
            }
            // ENOSYS, E2BIG (old kernel), EOPNOTSUPP (a threaded cgroup) …: fork.
        }
        // SAFETY: what the child may do after it is this function's contract.
        (unsafe { libc::fork() }, false)
    }

    /// The child's side. Only raw syscalls from here to execve.
    ///
    /// # Safety
    ///
    /// Call only in the child of [`Prepared::fork`], once: every pointer in
    /// `prog`, `argv` and `envp` must stay valid (they were made before the
    /// fork), `argv` and `envp` must end with a null pointer, and `report` and
    /// `ack` must be the child's ends of the pipes made for it.
    #[allow(clippy::too_many_arguments)]
    unsafe fn child(
        &self,
        parent: libc::pid_t,
        in_cgroup: bool,
        report: RawFd,
        ack: Option<RawFd>,
        prog: &SockFprog,
        argv: &[*const libc::c_char],
        envp: &[*const libc::c_char],
    ) -> ! {
        let fail = |stage: usize| -> ! {
            // SAFETY: errno's location is the calling thread's, always valid.
            let errno = unsafe { *libc::__errno_location() };
            // SAFETY: `report` is the child's end of the report pipe (the contract).
            unsafe { send(report, MSG_FAILED, stage as u8, errno) };
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(126) }
        };
        // SAFETY: this is the child, with the pipes and fds made for it (the contract).
        if let Err(stage) = unsafe { self.settle_in(parent, in_cgroup) } {
            fail(stage);
        }
        // SAFETY: this is the child, single-threaded until execve.
        unsafe { default_signals() };
        // SAFETY: the groups were prepared before the fork and live on.
        if let Err(stage) = unsafe { self.become_user() } {
            fail(stage);
        }
        // SAFETY: `report` and `prog` are as the contract says.
        if let Err(stage) = unsafe { self.arm(report, prog) } {
            fail(stage);
        }
        if let Some(ack) = ack {
            // EOF once the parent holds the listener; this read may itself be notified.
            let mut byte = 0u8;
            // SAFETY: reads at most one byte into `byte`; `ack` is the child's end
            // of the ack pipe (the contract).
            while unsafe { libc::read(ack, (&mut byte as *mut u8).cast(), 1) } < 0 {
                // SAFETY: errno's location is the calling thread's, always valid.
                if unsafe { *libc::__errno_location() } != libc::EINTR {
                    fail(11);
                }
            }
        }
        // SAFETY: `path` is NUL-terminated; `argv` and `envp` are null-terminated
        // arrays of live C strings (the contract).
        unsafe { libc::execve(self.path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        // The profile may deny even this write; the exit status still tells.
        fail(10)
    }

    /// The child's first steps: a process group of its own, its stdio, death
    /// with eperm, eperm's cgroup and the session's login uid. `Err` names the
    /// failed stage.
    ///
    /// # Safety
    ///
    /// Only in the child of [`Prepared::fork`], before execve.
    unsafe fn settle_in(&self, parent: libc::pid_t, in_cgroup: bool) -> Result<(), usize> {
        // SAFETY: no pointers; moves the child into a process group of its own.
        if unsafe { libc::setpgid(0, 0) } != 0 {
            return Err(0);
        }
        if let Some(fds) = &self.stdio {
            for (target, &fd) in fds.iter().enumerate() {
                // SAFETY: no pointers; the stdio fds were opened for the child.
                if fd != target as RawFd && unsafe { libc::dup2(fd, target as RawFd) } < 0 {
                    return Err(12);
                }
            }
        }
        // SAFETY: no pointers; only sets the signal the child gets when eperm dies.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 {
            return Err(1);
        }
        // SAFETY: no arguments.
        if unsafe { libc::getppid() } != parent {
            // SAFETY: see `fail`. eperm died before we could ask to die with it.
            unsafe { libc::_exit(126) };
        }
        if let Some(procs) = self.cgroup_procs.as_ref().filter(|_| !in_cgroup) {
            // SAFETY: writes one byte of a static string to an fd we own.
            if unsafe { libc::write(procs.as_raw_fd(), b"0".as_ptr().cast(), 1) } != 1 {
                return Err(2);
            }
        }
        if let Some(uid) = &self.loginuid {
            // Best effort: the parent compares sessions and falls back otherwise.
            // SAFETY: a static NUL-terminated path.
            let fd = unsafe { libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY) };
            if fd >= 0 {
                // SAFETY: `uid` is a live buffer of this length; `fd` is ours.
                unsafe { libc::write(fd, uid.as_ptr().cast(), uid.len()) };
                // SAFETY: `fd` was opened just above and is used no more.
                unsafe { libc::close(fd) };
            }
        }
        Ok(())
    }

    /// Drops to `--user`'s groups, gid and uid. `Err` names the failed stage.
    ///
    /// # Safety
    ///
    /// Only in the child of [`Prepared::fork`], before execve.
    unsafe fn become_user(&self) -> Result<(), usize> {
        if let Some(user) = &self.user {
            // Raw syscalls, not the C library's wrappers: those would try to change
            // the ids of every thread of the process they believe this still is.
            let groups = user.groups.as_ptr();
            // SAFETY: `groups` points to `user.groups.len()` gids, prepared before the fork.
            if unsafe { libc::syscall(libc::SYS_setgroups, user.groups.len(), groups) } != 0 {
                return Err(3);
            }
            // SAFETY: no pointers.
            if unsafe { libc::syscall(libc::SYS_setgid, user.gid) } != 0 {
                return Err(4);
            }
            // SAFETY: no pointers.
            if unsafe { libc::syscall(libc::SYS_setuid, user.uid) } != 0 {
                return Err(5);
            }
        }
        Ok(())
    }

    /// Stops for the tracer, tells the parent the listener's fd, and installs
    /// the filter. `Err` names the failed stage.
    ///
    /// # Safety
    ///
    /// Only in the child of [`Prepared::fork`], before execve; `report` is the
    /// child's end of the report pipe and `prog` points to live instructions.
    unsafe fn arm(&self, report: RawFd, prog: &SockFprog) -> Result<(), usize> {
        if self.traceme {
            // SAFETY: PTRACE_TRACEME reads no addresses.
            if unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) } != 0 {
                return Err(6);
            }
            // SAFETY: no pointers; stops the child until its tracer lets it go.
            unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) };
        }
        if self.filter_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
            // The listener gets the lowest free fd: find it, free it, tell the parent.
            // SAFETY: no pointers; duplicates the report pipe's fd.
            let next = unsafe { libc::fcntl(report, libc::F_DUPFD, 0) };
            if next < 0 {
                return Err(7);
            }
            // SAFETY: `next` is the duplicate just made, used no more.
            if unsafe { libc::close(next) } != 0 {
                return Err(7);
            }
            // SAFETY: `report` is the child's end of the report pipe (the contract).
            if !unsafe { send(report, MSG_LISTENER, 0, next) } {
                return Err(7);
            }
        }
        // SAFETY: no pointers.
        if self.no_new_privs && unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(8);
        }
        let flags = self.filter_flags as libc::c_long;
        // SAFETY: `prog` points to `prog.len` instructions that live until execve
        // (the contract); the kernel copies them.
        if unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                SECCOMP_SET_MODE_FILTER,
                flags,
                prog as *const SockFprog,
            )
        } < 0
        {
            return Err(9);
        }
        Ok(())
    }
}

/// The workload starts with every signal unblocked and at its default: Rust
/// ignores SIGPIPE, and eperm may block or catch others.
///
/// # Safety
///
/// Only in a forked child before execve (it changes the process's signals).
unsafe fn default_signals() {
    // SAFETY: a sigset_t is plain data; all zeros is a valid (empty) value.
    let mut empty: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `empty` is a live sigset_t.
    unsafe { libc::sigemptyset(&mut empty) };
    // SAFETY: `empty` is a live sigset_t; the old mask is not asked for.
    unsafe { libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) };
    for sig in [
        libc::SIGPIPE,
        libc::SIGINT,
        libc::SIGQUIT,
        libc::SIGTERM,
        libc::SIGTSTP,
        libc::SIGTTOU,
        libc::SIGTTIN,
        libc::SIGCHLD,
    ] {
        // SAFETY: the default disposition runs no code of ours.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

impl Spawned {
    /// Reads the child's reports until it has exec'd (`Ok`) or failed.
    ///
    /// `on_listener` is called as soon as the child says where the listener will be,
    /// before it installs the filter, so that a supervisor can answer even `execve`.
    /// In notify mode the child waits after installing the filter until `on_listener`
    /// returns: copy the listener (pidfd_getfd) and start answering inside it.
    pub fn wait_started(
        &mut self,
        program: &str,
        mut on_listener: impl FnMut(RawFd),
    ) -> Result<(), SpawnError> {
        let mut msg = [0u8; 6];
        loop {
            match read_full(&mut self.report, &mut msg)? {
                false => return Ok(()), // EOF: execve closed the pipe
                true if msg[0] == MSG_LISTENER => {
                    let fd = i32::from_ne_bytes(msg[2..6].try_into().expect("4 bytes"));
                    self.listener_fd = Some(fd);
                    on_listener(fd);
                    // The supervisor has the listener: let the child go on to exec.
                    self.ack = None;
                }
                true => {
                    let errno = i32::from_ne_bytes(msg[2..6].try_into().expect("4 bytes"));
                    let stage = STAGES.get(msg[1] as usize).copied().unwrap_or("setup");
                    let source = std::io::Error::from_raw_os_error(errno);
                    return Err(SpawnError::Child {
                        program: program.to_string(),
                        stage,
                        source,
                    });
                }
            }
        }
    }
}

/// `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const SockFilter,
}

/// Writes one report message (tag, stage, an i32) to the parent; whether it all went.
///
/// # Safety
///
/// `fd` must be an open fd the caller may write to (the report pipe): a raw fd
/// is not checked for being anyone else's.
unsafe fn send(fd: RawFd, tag: u8, stage: u8, value: i32) -> bool {
    let v = value.to_ne_bytes();
    let msg = [tag, stage, v[0], v[1], v[2], v[3]];
    // SAFETY: `msg` is a live buffer of this length; `fd` is the caller's to write.
    unsafe { libc::write(fd, msg.as_ptr().cast(), msg.len()) == msg.len() as isize }
}

/// `Ok(false)` on a clean EOF before any byte.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn pipe_cloexec() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds are fresh and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Looks `name` up the way execvp does: as given when it has a slash, else in PATH.
pub fn find_program(name: &OsStr) -> Option<PathBuf> {
    let is_exec = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if name.is_empty() {
        return None;
    }
    if name.as_bytes().contains(&b'/') {
        let p = PathBuf::from(name);
        return is_exec(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| is_exec(p))
}

/// The pointers execve wants for `strings`: one each, then a null. They point into
/// `strings`, which must outlive them.
fn null_terminated(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain([std::ptr::null()])
        .collect()
}

//! One run of a workload, start to end: containment, the child, the supervisor,
//! the terminal, and the workload's exit status.

use super::child::{Credentials, Prepared, SECCOMP_FILTER_FLAG_NEW_LISTENER};
use super::contain::Containment;
use super::notify::{self, Supervisor};
use super::{RunError, Supervision, WorkloadExit};
use crate::compile::Mode;
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

/// How would-be-denied calls are intercepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interception {
    /// SCMP_ACT_TRACE and a ptrace tracer.
    Trace,
    /// SCMP_ACT_NOTIFY and a user-notification supervisor.
    Notify,
    /// SCMP_ACT_LOG; events come from the kernel log sources.
    Log,
}

impl Interception {
    pub fn parse(s: &str) -> Option<Interception> {
        match s {
            "trace" => Some(Interception::Trace),
            "notify" => Some(Interception::Notify),
            "log" => Some(Interception::Log),
            _ => None,
        }
    }

    /// Notify where the kernel has it (it is the fastest), else trace.
    pub fn best_available() -> Interception {
        if notify::available() {
            Interception::Notify
        } else {
            Interception::Trace
        }
    }

    /// The compile mode that goes with it.
    pub fn compile_mode(self) -> Mode {
        match self {
            Interception::Trace => Mode::Trace,
            Interception::Notify => Mode::Notify,
            Interception::Log => Mode::Log,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Interception::Trace => "trace",
            Interception::Notify => "notify",
            Interception::Log => "log",
        }
    }
}

/// What to run, and how.
pub struct RunSpec {
    pub argv: Vec<OsString>,
    /// Must match the mode `Supervision::judge` was compiled for.
    pub mode: Interception,
    pub user: Option<Credentials>,
}

/// `--user NAME|UID[:GID]`: a name is looked up with getpwnam (with its groups).
pub fn credentials(spec: &str) -> Result<Credentials, RunError> {
    use nix::unistd::{getgrouplist, Gid, Uid, User};
    let bad = |why: String| RunError::BadInput(format!("--user {spec:?}: {why}"));
    let (who, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let user = match who.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)).ok().flatten(),
        Err(_) => Some(
            User::from_name(who)
                .map_err(|e| bad(e.to_string()))?
                .ok_or_else(|| bad("no such user".into()))?,
        ),
    };
    let uid = match &user {
        Some(u) => u.uid.as_raw(),
        None => who.parse().expect("numeric when not found by name"),
    };
    let gid = match group {
        Some(g) => g
            .parse::<u32>()
            .map_err(|_| bad(format!("the group must be a number, not {g:?}")))?,
        None => user.as_ref().map_or(uid, |u| u.gid.as_raw()),
    };
    let groups = match (&user, group) {
        (Some(u), None) => {
            let name = std::ffi::CString::new(u.name.clone()).map_err(|e| bad(e.to_string()))?;
            getgrouplist(&name, Gid::from_raw(gid))
                .map(|gs| gs.into_iter().map(Gid::as_raw).collect())
                .unwrap_or_else(|_| vec![gid])
        }
        _ => vec![gid],
    };
    Ok(Credentials { uid, gid, groups })
}

/// How the workload is attached to eperm's terminal.
#[derive(Default)]
pub struct Attach {
    /// stdin, stdout and stderr for the workload; `None`: eperm's own.
    pub stdio: Option<[OwnedFd; 3]>,
    /// eperm keeps the terminal (the TUI draws on it; the workload must not read it).
    pub keep_terminal: bool,
    /// Gets the workload's pid as soon as it is forked.
    pub pid: Option<std::sync::Arc<std::sync::atomic::AtomicI32>>,
}

/// Runs the workload to its end under `sup`, returning how it ended.
pub fn run(spec: RunSpec, sup: Supervision) -> Result<WorkloadExit, RunError> {
    run_attached(spec, sup, Attach::default())
}

/// Like [`run`], with the workload's stdio and terminal as `attach` says.
pub fn run_attached(
    spec: RunSpec,
    sup: Supervision,
    attach: Attach,
) -> Result<WorkloadExit, RunError> {
    use std::os::fd::AsRawFd;
    // First, before any thread or listener exists: the watchdog must hold nothing of ours.
    let containment = Containment::start()?;
    let flags = match spec.mode {
        Interception::Notify => SECCOMP_FILTER_FLAG_NEW_LISTENER,
        Interception::Trace | Interception::Log => 0,
    };
    let prepared = Prepared::new(&spec.argv, sup.judge.compiled.program.clone())?
        .filter_flags(flags)
        .traceme(spec.mode == Interception::Trace)
        .user(spec.user)
        .cgroup(containment.cgroup_procs())
        .stdio(
            attach
                .stdio
                .as_ref()
                .map(|fds| fds.each_ref().map(|f| f.as_raw_fd())),
        )
        .pid_slot(attach.pid.clone());
    let terminal = if attach.keep_terminal {
        Terminal::keep()
    } else {
        Terminal::enter()
    };
    let result = match spec.mode {
        Interception::Trace => super::trace::run_traced(&prepared, &sup, &containment),
        Interception::Notify | Interception::Log => {
            run_child(&prepared, &sup, &containment, &terminal)
        }
    };
    drop(terminal);
    containment.finish();
    drop(attach);
    result
}

fn run_child(
    prepared: &Prepared,
    sup: &Supervision,
    containment: &Containment,
    terminal: &Terminal,
) -> Result<WorkloadExit, RunError> {
    let mut spawned = prepared.spawn()?;
    let pid = spawned.pid;
    // Also here, not only in the child, so the group exists whoever runs first.
    // SAFETY: plain syscall on our own child.
    unsafe { libc::setpgid(pid, pid) };
    if let Err(e) = containment.watch_group(pid) {
        kill_and_reap(pid);
        return Err(e.into());
    }
    terminal.give_to(pid);
    let (stop_read, stop_write) = pipe()?;
    std::thread::scope(|scope| {
        let mut supervisor = None;
        let mut taken = Ok(());
        let started = spawned.wait_started(prepared.program(), |fd| {
            match notify::take_listener(pid, fd, Duration::from_secs(5)) {
                Ok(listener) => {
                    let stop = stop_read.as_fd();
                    supervisor =
                        Some(scope.spawn(move || Supervisor::new(listener, sup).run(stop)));
                }
                Err(e) => taken = Err(e),
            }
        });
        let outcome = match (started, taken) {
            (Err(e), _) => Err(RunError::from(e)),
            (Ok(()), Err(e)) => Err(RunError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot reach the workload's seccomp listener: {e}"),
            ))),
            (Ok(()), Ok(())) => Ok(()),
        };
        let result = match outcome {
            Ok(()) => wait(pid).map_err(RunError::from),
            Err(e) => {
                kill_and_reap(pid);
                Err(e)
            }
        };
        // The initial process is gone: stop answering (leftovers are killed next).
        drop(stop_write);
        if let Some(handle) = supervisor {
            match handle.join() {
                Ok(Ok(_stats)) => {}
                Ok(Err(e)) => eprintln!("eperm: the notify supervisor failed: {e}"),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        result
    })
}

fn wait(pid: i32) -> std::io::Result<WorkloadExit> {
    loop {
        let mut status = 0;
        // SAFETY: waiting for our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok(WorkloadExit::from_status(status));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

fn kill_and_reap(pid: i32) {
    // SAFETY: plain syscalls on our own child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = wait(pid);
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
    Ok((r, w))
}

/// While the workload runs: ^C and ^\ are for it, not for eperm, and it owns the
/// terminal when eperm did.
struct Terminal {
    old_int: libc::sighandler_t,
    old_quit: libc::sighandler_t,
    /// The foreground group to give back, when eperm had the terminal.
    foreground: Option<libc::pid_t>,
}

impl Terminal {
    fn enter() -> Terminal {
        // SAFETY: installing SIG_IGN and reading terminal state are plain calls.
        unsafe {
            let old_int = libc::signal(libc::SIGINT, libc::SIG_IGN);
            let old_quit = libc::signal(libc::SIGQUIT, libc::SIG_IGN);
            let tty = libc::isatty(0) == 1;
            let group = libc::getpgrp();
            let foreground = (tty && libc::tcgetpgrp(0) == group).then_some(group);
            Terminal {
                old_int,
                old_quit,
                foreground,
            }
        }
    }

    /// eperm keeps the terminal and its signals: the TUI reads ^C as a key.
    fn keep() -> Terminal {
        // SAFETY: reading the current dispositions back by setting them to themselves.
        unsafe {
            let old_int = libc::signal(libc::SIGINT, libc::SIG_IGN);
            libc::signal(libc::SIGINT, old_int);
            let old_quit = libc::signal(libc::SIGQUIT, libc::SIG_IGN);
            libc::signal(libc::SIGQUIT, old_quit);
            Terminal {
                old_int,
                old_quit,
                foreground: None,
            }
        }
    }

    fn give_to(&self, pgid: libc::pid_t) {
        if self.foreground.is_some() {
            // SAFETY: plain call; failure leaves the terminal with eperm.
            unsafe { libc::tcsetpgrp(0, pgid) };
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // SAFETY: restoring what `enter` saved. From the background, tcsetpgrp raises
        // SIGTTOU: ignore it meanwhile.
        unsafe {
            if let Some(group) = self.foreground {
                let old_ttou = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
                libc::tcsetpgrp(0, group);
                libc::signal(libc::SIGTTOU, old_ttou);
            }
            libc::signal(libc::SIGINT, self.old_int);
            libc::signal(libc::SIGQUIT, self.old_quit);
        }
    }
}

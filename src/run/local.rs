//! One run of a local workload, start to end: containment, the child, the
//! supervisor (tracer, listener or log sources), the terminal, and the
//! workload's exit status. The session layer decides what to run; this runs it.

use super::child::{Credentials, Prepared, Spawned, SECCOMP_FILTER_FLAG_NEW_LISTENER};
use super::contain::Containment;
use super::coverage::{self, Counting, Coverage};
use super::notify::{self, Supervisor};
use super::{Interception, RunError, Supervision, WorkloadExit};
use crate::compile::Mode;
use crate::sources::health::{Health, Shared};
use crate::sources::logs::{self, Dedupe, Filter, Incoming, LogSources, Wanted};
use std::ffi::OsString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Log mode's extras: which kernel log sources to read, and where their final
/// health is left for the caller's summary.
#[derive(Clone)]
pub struct LogOptions {
    pub wanted: Wanted,
    pub health: Arc<Mutex<Vec<Health>>>,
    /// Every half second while the workload runs, and once at the end: each
    /// source's health (for a UI's status line).
    pub updates: Option<mpsc::Sender<Vec<Health>>>,
}

impl LogOptions {
    /// The sources' final health: sent as the last update, and left for the caller.
    pub(crate) fn finish(&self, health: Vec<Health>) {
        if let Some(updates) = &self.updates {
            let _ = updates.send(health.clone());
        }
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = health;
    }

    /// The final health the run left (empty before it ends).
    pub fn take_health(&self) -> Vec<Health> {
        std::mem::take(&mut *self.health.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            wanted: Wanted::BOTH,
            health: Arc::default(),
            updates: None,
        }
    }
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

/// Runs the workload to its end under the profile as written, counting every
/// call it makes (see [`super::coverage`]); returns how it ended, what it used
/// and how it was counted. `sup.judge` may be compiled in any mode: only its
/// verdicts are used. `attach` as for [`run`] (the TUI keeps the terminal and
/// captures the output). Counting in the kernel, `progress` gets what this run
/// counted so far every half second.
pub fn cover(
    argv: &[OsString],
    user: Option<Credentials>,
    sup: Supervision,
    attach: Attach,
    progress: Option<&(dyn Fn(Coverage) + Sync)>,
) -> Result<(WorkloadExit, Coverage, Counting), RunError> {
    if !notify::available() {
        return Err(RunError::Unsupported(
            "coverage needs seccomp user notification (Linux 5.6 or later)".into(),
        ));
    }
    let containment = Containment::start().map_err(RunError::os("start the watchdog"))?;
    // After the watchdog: it must not hold the counter's fds.
    let kernel = coverage::kernel_counter(
        &sup.judge.compiled,
        containment.cgroup(),
        coverage::own_comm().as_deref(),
    );
    let (program, counting) = match &kernel {
        // Allowed calls run free (counted in the kernel); only would-be denials
        // are notified, enforced and tallied.
        Ok(_) => (
            match sup.judge.compiled.mode {
                Mode::Notify => sup.judge.compiled.program.clone(),
                _ => crate::compile::compile(&sup.judge.resolved, Mode::Notify)?.program,
            },
            Counting::Kernel,
        ),
        Err(reason) => (
            coverage::program(&sup.judge.compiled),
            Counting::Notify {
                reason: reason.clone(),
            },
        ),
    };
    let prepared = contained(Prepared::new(argv, program)?, &containment, &attach)
        .filter_flags(SECCOMP_FILTER_FLAG_NEW_LISTENER)
        .user(user);
    let terminal = Terminal::for_attach(&attach);
    // Coverage follows the whole workload: calls of children that outlive the
    // initial process count too (see `Follow::Workload`).
    let result = std::thread::scope(|scope| {
        let (stop_progress, stopped) = mpsc::channel::<()>();
        if let (Ok(counter), Some(progress)) = (&kernel, progress) {
            let judge = &sup.judge;
            scope.spawn(move || {
                while stopped.recv_timeout(Duration::from_millis(500))
                    == Err(mpsc::RecvTimeoutError::Timeout)
                {
                    if let Ok(counts) = counter.read() {
                        let mut so_far = Coverage::default();
                        so_far.add_counts(&counts, judge);
                        progress(so_far);
                    }
                }
            });
        }
        let result = run_child_with(
            &prepared,
            &containment,
            &terminal,
            Follow::Workload,
            |listener, stop| {
                coverage::Supervisor::new(listener, &sup)
                    .kernel_counted(kernel.is_ok())
                    .run(stop)
            },
        );
        drop(stop_progress);
        result
    });
    drop(terminal);
    // Read before the cgroup goes: nothing of the workload runs any more.
    let counts = kernel.as_ref().ok().map(|c| c.read());
    containment.finish();
    drop(attach);
    let (exit, coverage) = result?;
    let mut coverage = coverage.unwrap_or_default();
    if let Some(counts) = counts {
        let counts = counts.map_err(RunError::os("read the eBPF counts"))?;
        coverage.add_counts(&counts, &sup.judge);
    }
    Ok((exit, coverage, counting))
}

/// The child in the containment's cgroup, with the stdio and pid slot `attach` gives.
fn contained(prepared: Prepared, containment: &Containment, attach: &Attach) -> Prepared {
    use std::os::fd::AsRawFd;
    prepared
        .cgroup(containment.cgroup_procs())
        .cgroup_dir(containment.cgroup_dir())
        .stdio(
            attach
                .stdio
                .as_ref()
                .map(|fds| fds.each_ref().map(|f| f.as_raw_fd())),
        )
        .pid_slot(attach.pid.clone())
}

/// Runs the workload to its end under `sup`, returning how it ended: its stdio
/// and terminal as `attach` says, and with `--mode log` the kernel log sources
/// `logs` chooses.
pub fn run(
    spec: RunSpec,
    sup: Supervision,
    attach: Attach,
    logs: &LogOptions,
) -> Result<WorkloadExit, RunError> {
    // First, before any thread or listener exists: the watchdog must hold nothing of ours.
    let containment = Containment::start().map_err(RunError::os("start the watchdog"))?;
    let flags = match spec.mode {
        Interception::Notify => SECCOMP_FILTER_FLAG_NEW_LISTENER,
        Interception::Trace | Interception::Log => 0,
    };
    let log_session =
        (spec.mode == Interception::Log).then(|| login_uid(spec.user.as_ref().map(|u| u.uid)));
    // Notify mode: every exec notified too, so that the supervisor knows when cached
    // comm and exe go stale (see `notify::notify_execs`).
    let execs = match spec.mode {
        Interception::Notify => notify::notify_execs(&sup.judge.compiled),
        Interception::Trace | Interception::Log => None,
    };
    let execs_notified = execs.is_some();
    let program = execs.unwrap_or_else(|| sup.judge.compiled.program.clone());
    let prepared = contained(Prepared::new(&spec.argv, program)?, &containment, &attach)
        .filter_flags(flags)
        .traceme(spec.mode == Interception::Trace)
        .user(spec.user)
        .new_audit_session(log_session);
    let terminal = Terminal::for_attach(&attach);
    let result = match spec.mode {
        Interception::Trace => super::trace::run_traced(&prepared, &sup, &containment),
        Interception::Log => run_logged(&prepared, &sup, &containment, &terminal, logs),
        Interception::Notify => run_child(&prepared, &sup, execs_notified, &containment, &terminal),
    };
    drop(terminal);
    containment.finish();
    drop(attach);
    result
}

fn run_child(
    prepared: &Prepared,
    sup: &Supervision,
    execs_notified: bool,
    containment: &Containment,
    terminal: &Terminal,
) -> Result<WorkloadExit, RunError> {
    run_child_with(
        prepared,
        containment,
        terminal,
        Follow::Initial,
        |listener, stop| {
            Supervisor::new(listener, sup)
                .execs_notified(execs_notified)
                .run(stop)
        },
    )
    .map(|(exit, _stats)| exit)
}

/// How long the listener is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Follow {
    /// Until the initial process is gone; what is left is then killed, as a
    /// container's processes die with its init. `eperm run` reports denials of the
    /// workload as a container would run it.
    Initial,
    /// Until no process uses the filter any more (the listener hangs up) or the
    /// workload's cgroup is empty: coverage must count every call the workload
    /// makes, also those of children that outlive the initial process (`sh -c 'x &'`).
    /// A daemon that never exits keeps the run going until eperm is stopped.
    Workload,
}

/// Spawns the child and serves its listener with `serve` on a thread of its own
/// until the initial process is gone (or, with [`Follow::Workload`], every process
/// of the workload); returns what `serve` returned, if it ran.
fn run_child_with<T: Send>(
    prepared: &Prepared,
    containment: &Containment,
    terminal: &Terminal,
    follow: Follow,
    serve: impl FnOnce(OwnedFd, std::os::fd::BorrowedFd<'_>) -> std::io::Result<T> + Send,
) -> Result<(WorkloadExit, Option<T>), RunError> {
    let mut spawned = spawn(prepared, containment, terminal)?;
    let pid = spawned.pid;
    let (stop_read, stop_write) = pipe().map_err(RunError::os("make a pipe"))?;
    let mut serve = Some(serve);
    std::thread::scope(|scope| {
        let mut supervisor = None;
        let mut taken = Ok(());
        let started = spawned.wait_started(prepared.program(), |fd| {
            match notify::take_listener(pid, fd, Duration::from_secs(5)) {
                Ok(listener) => {
                    let stop = stop_read.as_fd();
                    if let Some(serve) = serve.take() {
                        supervisor = Some(scope.spawn(move || serve(listener, stop)));
                    }
                }
                Err(e) => taken = Err(e),
            }
        });
        let outcome = match (started, taken) {
            (Err(e), _) => Err(RunError::from(e)),
            (Ok(()), Err(e)) => Err(RunError::os("reach the workload's seccomp listener")(e)),
            (Ok(()), Ok(())) => Ok(()),
        };
        let result = match outcome {
            Ok(()) => wait(pid).map_err(RunError::os("wait for the workload")),
            Err(e) => {
                kill_and_reap(pid);
                Err(e)
            }
        };
        if follow == Follow::Workload && result.is_ok() {
            if let Some(handle) = &supervisor {
                // The serving thread ends by itself when the listener hangs up.
                while !handle.is_finished() && containment.populated() != Some(false) {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        // The initial process (or the whole workload) is gone: stop answering
        // (leftovers are killed next).
        drop(stop_write);
        let mut served = None;
        if let Some(handle) = supervisor {
            match handle.join() {
                Ok(Ok(value)) => served = Some(value),
                Ok(Err(e)) => eprintln!("eperm: the notify supervisor failed: {e}"),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        result.map(|exit| (exit, served))
    })
}

/// Spawns the child in a process group of its own (made here too, not only in
/// the child, so that it exists whoever runs first), watched by the containment,
/// with the terminal given to it when eperm had it.
fn spawn(
    prepared: &Prepared,
    containment: &Containment,
    terminal: &Terminal,
) -> Result<Spawned, RunError> {
    let spawned = prepared.spawn()?;
    let pid = spawned.pid;
    // SAFETY: plain syscall on our own child.
    unsafe { libc::setpgid(pid, pid) };
    if let Err(e) = containment.watch_group(pid) {
        kill_and_reap(pid);
        return Err(RunError::os("watch the workload's process group")(e));
    }
    terminal.give_to(pid);
    Ok(spawned)
}

/// Sends the log sources' health to `updates` every half second while
/// `reporting` holds (a UI's status bar).
pub(crate) fn report_health(
    sources: &[Shared],
    reporting: &AtomicBool,
    updates: &mpsc::Sender<Vec<Health>>,
) {
    while reporting.load(Ordering::Relaxed) {
        let health = sources.iter().map(|h| h.get()).collect();
        if updates.send(health).is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The loginuid the workload's new audit session is opened with: `--user`'s uid,
/// else eperm's own login uid, else its uid.
pub(crate) fn login_uid(user: Option<u32>) -> u32 {
    user.or_else(|| read_id("/proc/self/loginuid"))
        .unwrap_or_else(|| nix::unistd::getuid().as_raw())
}

/// A `/proc` id file; 4294967295 (unset) is `None`.
fn read_id(path: &str) -> Option<u32> {
    let n: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (n != u32::MAX).then_some(n)
}

/// `--mode log`: the kernel logs each would-be-denied call; the log sources read the
/// records, and those of the workload's audit session (or, failing that, its process
/// tree) become events.
fn run_logged(
    prepared: &Prepared,
    sup: &Supervision,
    containment: &Containment,
    terminal: &Terminal,
    logs: &LogOptions,
) -> Result<WorkloadExit, RunError> {
    // Before the workload starts, so that none of its records is missed.
    let (tx, rx) = crate::sources::logs::channel();
    let sources =
        LogSources::start(logs.wanted, tx).map_err(RunError::os("start the kernel log sources"))?;
    let mut spawned = spawn(prepared, containment, terminal)?;
    let pid = spawned.pid;
    let (filter_tx, filter_rx) = mpsc::channel::<Filter>();
    let reporting = AtomicBool::new(true);
    let result = std::thread::scope(|scope| {
        let consumer = scope.spawn(move || consume(rx, filter_rx, sup));
        let reporter = logs.updates.as_ref().map(|updates| {
            let (handles, reporting) = (sources.handles(), &reporting);
            scope.spawn(move || report_health(&handles, reporting, updates))
        });
        let started = spawned.wait_started(prepared.program(), |_| {});
        let ours = read_id("/proc/self/sessionid");
        let theirs = read_id(&format!("/proc/{pid}/sessionid"));
        let mut fallback = None;
        let filter = match theirs {
            Some(ses) if Some(ses) != ours => Filter::session(ses),
            _ => {
                fallback = Some(
                    "the workload could not get an audit session of its own (writing /proc/self/loginuid needs CAP_AUDIT_CONTROL); \
                     records are matched by process tree, so children that exit before their records arrive are missed",
                );
                Filter::tree(pid as u32)
            }
        };
        let _ = filter_tx.send(filter);
        let result = match started {
            Ok(()) => wait(pid).map_err(RunError::os("wait for the workload")),
            Err(e) => {
                kill_and_reap(pid);
                Err(RunError::from(e))
            }
        };
        settle(&sources);
        reporting.store(false, Ordering::Relaxed);
        if let Some(reporter) = reporter {
            let _ = reporter.join();
        }
        let mut health = sources.stop();
        if let Some(why) = fallback {
            for h in &mut health {
                h.warnings.push(why.to_string());
            }
        }
        if let Err(panic) = consumer.join() {
            std::panic::resume_unwind(panic);
        }
        logs.finish(health);
        result
    });
    result
}

/// After the workload ended: waits until the sources have been quiet for a while
/// (the kernel delivers records asynchronously), at most 30 s.
pub(crate) fn settle(sources: &LogSources) {
    let started = Instant::now();
    let count = || {
        sources
            .health()
            .iter()
            .map(|h| h.received + h.lost + h.suppressed)
            .sum::<u64>()
    };
    let mut last = count();
    let mut quiet = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
        let now = count();
        if now != last {
            last = now;
            quiet = Instant::now();
        } else if quiet.elapsed() >= Duration::from_millis(400) {
            break;
        }
    }
}

/// Turns the workload's records into events, each record once.
pub(crate) fn consume(
    rx: mpsc::Receiver<Incoming>,
    filter: mpsc::Receiver<Filter>,
    sup: &Supervision,
) {
    // Records wait in the channel until the workload's session is known.
    let Ok(mut filter) = filter.recv() else {
        return;
    };
    let own_exe = sup.own_exe.as_ref().map(|p| p.display().to_string());
    let mut dedupe = Dedupe::default();
    for incoming in rx {
        if !filter.matches(&incoming.record) || !dedupe.first(&incoming.record) {
            continue;
        }
        let r = &incoming.record;
        let judged = r.arch.map(|arch| {
            // Audit records carry no arguments: the rule is judged on (arch, nr).
            let j = sup.judge.judge(arch, r.nr, [0; 6]);
            (j.verdict, j.decider)
        });
        let event = logs::event(
            &incoming,
            judged,
            sup.started.elapsed().as_millis() as u64,
            own_exe.as_deref(),
        );
        if sup.events.send(event).is_err() {
            break;
        }
    }
}

pub(crate) fn wait(pid: i32) -> std::io::Result<WorkloadExit> {
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
pub(crate) struct Terminal {
    old_int: libc::sighandler_t,
    old_quit: libc::sighandler_t,
    /// The foreground group to give back, when eperm had the terminal.
    foreground: Option<libc::pid_t>,
}

impl Terminal {
    pub(crate) fn enter() -> Terminal {
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

    /// As `attach` asks: kept by eperm (the TUI) or given to the workload.
    pub(crate) fn for_attach(attach: &Attach) -> Terminal {
        if attach.keep_terminal {
            Terminal::keep()
        } else {
            Terminal::enter()
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

    pub(crate) fn give_to(&self, pgid: libc::pid_t) {
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

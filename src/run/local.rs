//! One run of a local workload, start to end: the child with its filter, and
//! what serves it (tracer, listener or log sources). The session layer decides
//! what to run; this runs it, through the serve loop ([`super::serve`]) but for
//! the tracer, which must be the thread that started the child.

use super::child::{Credentials, Prepared, Spawned, SECCOMP_FILTER_FLAG_NEW_LISTENER};
use super::contain::Containment;
use super::coverage::{self, Counting};
use super::notify::{self, Supervisor};
use super::serve::{
    login_uid, serve, Attach, LogFeed, LogOptions, Serve, Served, Server, Terminal,
};
use super::{Interception, RunError, Supervision, WorkloadExit};
use crate::compile::Mode;
use crate::coverage::Coverage;
use crate::sources::logs::Filter;
use std::ffi::OsString;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::mpsc;
use std::time::Duration;

/// What to run, and how.
pub struct RunSpec {
    pub argv: Vec<OsString>,
    /// Must match the mode `Supervision::judge` was compiled for.
    pub mode: Interception,
    pub user: Option<Credentials>,
}

/// `--user NAME|UID[:GID]`: a name is looked up with getpwnam (with its groups).
pub fn credentials(spec: &str) -> Result<Credentials, RunError> {
    use crate::error::BadInput;
    use nix::unistd::{getgrouplist, Gid, Uid, User};
    let bad = |why: String| RunError::BadInput(BadInput(format!("--user {spec:?}: {why}")));
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
                reason: reason.0.clone(),
            },
        ),
    };
    let prepared = contained(Prepared::new(argv, program)?, &containment, &attach)
        .filter_flags(SECCOMP_FILTER_FLAG_NEW_LISTENER)
        .user(user);
    // Coverage follows the whole workload: calls of children that outlive the
    // initial process count too (see `Follow::Workload`).
    let child = Child::new(&prepared, Follow::Workload);
    let kernel_counted = kernel.is_ok();
    let served = serve(
        &child,
        Serve {
            sup: &sup,
            containment,
            attach,
            logs: None,
            counter: kernel.as_ref().ok(),
            progress,
            server: Some(listener_server(|listener, stop| {
                coverage::CoverageSupervisor::new(listener, &sup)
                    .kernel_counted(kernel_counted)
                    .run(stop)
            })),
        },
    );
    let exit = served.exit?;
    let mut coverage = served.served.unwrap_or_default();
    if let Some(counts) = served.counts {
        let counts = counts.map_err(RunError::os("read the eBPF counts"))?;
        coverage.add_counts(&counts, &sup.judge);
    }
    Ok((exit, coverage, counting))
}

/// What a recording run counted in the kernel.
pub struct KernelRecord {
    pub exit: WorkloadExit,
    /// The calls `sup.judge`'s profile would deny (see [`coverage::denied_calls`]).
    pub denied: coverage::Denied,
}

/// Runs the workload to its end with every call of the profile's arches
/// allowed (see [`coverage::allow_program`]), counting them in the kernel
/// (stdio and pid slot as `attach` says);
/// `Ok(Err(why))` before anything ran when the counter cannot be had here.
pub fn record(
    argv: &[OsString],
    sup: Supervision,
    attach: Attach,
) -> Result<Result<KernelRecord, crate::error::Unavailable>, RunError> {
    let containment = Containment::start().map_err(RunError::os("start the watchdog"))?;
    // After the watchdog: it must not hold the counter's fds.
    let counter = match coverage::record_counter(
        &sup.judge.compiled,
        containment.cgroup(),
        coverage::own_comm().as_deref(),
    ) {
        Ok(counter) => counter,
        Err(why) => return Ok(Err(why)),
    };
    let program = coverage::allow_program(&sup.judge.compiled);
    let prepared = contained(Prepared::new(argv, program)?, &containment, &attach);
    // As when recorded by trapping (`run`): the initial process's life.
    let child = Child::new(&prepared, Follow::Initial);
    let served = serve(
        &child,
        Serve::<()> {
            sup: &sup,
            containment,
            attach,
            logs: None,
            counter: Some(&counter),
            progress: None,
            server: None,
        },
    );
    let exit = served.exit?;
    let counts = served
        .counts
        .expect("a counter was given")
        .map_err(RunError::os("read the eBPF counts"))?;
    Ok(Ok(KernelRecord {
        exit,
        denied: coverage::denied_calls(&counts, &sup.judge),
    }))
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
    // After the watchdog (it must not hold the watcher's fds), before the child.
    let layers = super::layers::LayerWatch::start(&sup, super::layers::local(containment.cgroup()));
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
    // The calls eperm's own interception breaks, handed to the supervisor to tell.
    let program = super::interference::prologue(&sup.judge.compiled, spec.mode, program);
    let prepared = contained(Prepared::new(&spec.argv, program)?, &containment, &attach)
        .filter_flags(flags)
        .traceme(spec.mode == Interception::Trace)
        .user(spec.user)
        .new_audit_session(log_session);
    let child = Child::new(&prepared, Follow::Initial);
    let mut run = Serve {
        sup: &sup,
        containment,
        attach,
        logs: None,
        counter: None,
        progress: None,
        server: None,
    };
    let exit = match spec.mode {
        Interception::Trace => traced(&prepared, &sup, run),
        // Before the workload starts, so that none of its records is missed.
        Interception::Log => match LogFeed::start(logs) {
            Ok(feed) => {
                run.logs = Some(feed);
                serve(&child, run).exit
            }
            Err(e) => Err(RunError::os("start the kernel log sources")(e)),
        },
        Interception::Notify => {
            run.server = Some(listener_server(|listener, stop| {
                Supervisor::new(listener, &sup)
                    .execs_notified(execs_notified)
                    .run(stop)
            }));
            serve(&child, run).exit
        }
    };
    // The last calls drained, then the watcher's channel closes.
    drop(layers);
    exit
}

/// `--mode trace`: the tracer is the thread that started the child (ptrace
/// requests must come from it), so it is served here, not by the serve loop.
fn traced<T>(
    prepared: &Prepared,
    sup: &Supervision,
    run: Serve<'_, T>,
) -> Result<WorkloadExit, RunError> {
    let terminal = Terminal::for_attach(&run.attach);
    let result = super::trace::run_traced(prepared, sup, &run.containment);
    drop(terminal);
    run.containment.finish();
    drop(run.attach);
    result
}

/// The server of a listener the child hands over: `serve` answers it until `stop`.
fn listener_server<'a, T>(
    serve: impl FnOnce(OwnedFd, BorrowedFd<'_>) -> std::io::Result<T> + Send + 'a,
) -> Server<'a, T> {
    Box::new(move |listeners, stop| {
        // None comes when the child never got as far as its filter.
        let listener = listeners.recv().ok()?;
        match serve(listener, stop) {
            Ok(served) => Some(served),
            Err(e) => {
                eprintln!("eperm: the notify supervisor failed: {e}");
                None
            }
        }
    })
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

/// A local workload: eperm's child, its filter installed before its exec.
struct Child<'a> {
    prepared: &'a Prepared,
    follow: Follow,
}

impl<'a> Child<'a> {
    fn new(prepared: &'a Prepared, follow: Follow) -> Child<'a> {
        Child { prepared, follow }
    }
}

impl Served for Child<'_> {
    type Process = Spawned;

    fn name(&self) -> &'static str {
        "the workload"
    }

    /// In a process group of its own, made here too, not only in the child, so
    /// that it exists whoever runs first.
    fn start(&self, _attach: &mut Attach) -> Result<Spawned, RunError> {
        let spawned = self.prepared.spawn()?;
        // SAFETY: plain syscall on our own child.
        unsafe { libc::setpgid(spawned.pid, spawned.pid) };
        Ok(spawned)
    }

    fn pid(&self, spawned: &Spawned) -> i32 {
        spawned.pid
    }

    /// In notify mode the child waits after installing its filter until its
    /// listener is copied (pidfd_getfd), so that even its `execve` is answered.
    fn ready(
        &self,
        spawned: &mut Spawned,
        listeners: &mpsc::Sender<OwnedFd>,
    ) -> Result<(), RunError> {
        let pid = spawned.pid;
        let mut taken = Ok(());
        let started =
            spawned.wait_started(self.prepared.program(), |fd| {
                match notify::take_listener(pid, fd, Duration::from_secs(5)) {
                    Ok(listener) => {
                        let _ = listeners.send(listener);
                    }
                    Err(e) => taken = Err(e),
                }
            });
        match (started, taken) {
            (Err(e), _) => Err(RunError::from(e)),
            (Ok(()), Err(e)) => Err(RunError::os("reach the workload's seccomp listener")(e)),
            (Ok(()), Ok(())) => Ok(()),
        }
    }

    /// `--mode log`: the records of the workload's audit session, or failing
    /// that, of its process tree.
    fn attribute(&self, pid: i32) -> (Option<Filter>, Option<&'static str>) {
        let session = crate::sources::procinfo::session;
        match session(pid as u32) {
            Some(ses) if Some(ses) != session(std::process::id()) => {
                (Some(Filter::session(ses)), None)
            }
            _ => (
                Some(Filter::tree(pid as u32)),
                Some(
                    "the workload could not get an audit session of its own (writing /proc/self/loginuid needs CAP_AUDIT_CONTROL); \
                     records are matched by process tree, so children that exit before their records arrive are missed",
                ),
            ),
        }
    }

    fn linger(&self, containment: &Containment, ended: bool, served: &dyn Fn() -> bool) {
        if self.follow == Follow::Workload && ended {
            // The serving thread ends by itself when the listener hangs up.
            while !served() && containment.populated() != Some(false) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
}

//! One container run, start to end: the runtime's client (`docker run …`,
//! `podman run …`, `runc run …`) is eperm's child; the container itself belongs to the runtime,
//! so it is reached through the agent socket (NOTIFY) or the kernel log sources
//! (LOG), and removed by a cleanup command when eperm ends, however it ends.

use super::agent::Agent;
use super::cgroup::Parent;
use super::marker::{drain, sift_marker};
use crate::progress::Progress;
use crate::run::contain::Containment;
use crate::run::coverage::{self, Coverage};
use crate::run::local::{consume, report_health, Attach, LogOptions, Terminal};
use crate::run::notify::Supervisor;
use crate::run::Interception;
use crate::run::{RunError, Supervision, WorkloadExit};
use crate::sources::forks::Forks;
use crate::sources::logs::{Filter, LogSources};
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// What to start and how to follow it.
pub struct Launch {
    /// The runtime's client: `docker run …`, `podman run …` or `runc run …`.
    pub argv: Vec<OsString>,
    /// Run when eperm ends, so that no container outlives it (`docker rm -f NAME`).
    pub cleanup: Vec<OsString>,
    /// Notify (with `agent`) or Log.
    pub mode: Interception,
    /// NOTIFY: the copy leaves some calls LOG (runc's handoff, see
    /// `oci_runtime::RUNC_HANDOFF`), so the kernel log sources are read too.
    pub notify_logs: bool,
    /// The socket the instrumented profile's `listenerPath` names.
    pub agent: Option<Agent>,
    /// How kernel log records are matched to this container.
    pub attribution: Attribution,
    /// NOTIFY: how long after the container exists the runtime may take to hand
    /// the listener over before the run is given up (see `watch_handoff`).
    pub handoff_timeout: Duration,
    /// A coverage run: the container runs below this cgroup, counted there.
    pub coverage: Option<Covering>,
}

/// Where a coverage run's container runs and what its runtime's init is called.
pub struct Covering {
    pub parent: Parent,
    /// The init's `comm` until the workload's exec: its calls are bootstrap.
    pub init_comm: &'static str,
}

/// How log records are told apart from other containers'. An audit session of
/// the container's own is exact, even for processes gone before their record is
/// read; matching by the container's id follows each process's ancestry (through
/// fork events once it is gone) and misses only what the kernel's event queues lost.
pub enum Attribution {
    /// The client gets a fresh audit session, inherited by the container (runc
    /// run's container is its descendant, podman's through conmon); `loginuid`
    /// opens it; the container exists once `id` is known.
    OwnSession {
        loginuid: u32,
        id: ContainerId,
    },
    /// eperm's runc wrapper opens the session and writes its id to this file;
    /// until then, and without it, by the container id in `id`.
    SessionFile {
        file: PathBuf,
        id: ContainerId,
    },
    Container(ContainerId),
}

impl Attribution {
    /// How the container's id is learned.
    fn id(&self) -> &ContainerId {
        match self {
            Attribution::OwnSession { id, .. }
            | Attribution::SessionFile { id, .. }
            | Attribution::Container(id) => id,
        }
    }
}

pub enum ContainerId {
    /// Chosen by eperm (runc).
    Known(String),
    /// Written by `docker run --cidfile` / `podman run --cidfile` once the
    /// container exists.
    File(PathBuf),
}

/// Runs the client to its end; the container's would-be denials go to `sup.events`.
/// `attach` says where the client's stdio goes (the TUI captures it).
pub fn run(
    launch: Launch,
    sup: Supervision,
    logs: &LogOptions,
    attach: Attach,
) -> Result<WorkloadExit, RunError> {
    follow(launch, sup, logs, attach, None).map(|(exit, _)| exit)
}

/// Runs a coverage launch (see [`Plan::launch`](super::plan::Plan::launch)) to its
/// end: the container's allowed calls counted in the kernel below its parent
/// cgroup, its runtime's calls before the workload's exec kept apart. There is
/// no notify fallback for containers (the runtime, not eperm, installs the
/// filter): without eBPF the run is refused, with the reason. `progress` gets
/// what was counted so far every half second.
pub fn cover(
    launch: Launch,
    sup: Supervision,
    logs: &LogOptions,
    attach: Attach,
    progress: Option<&(dyn Fn(Coverage) + Sync)>,
) -> Result<(WorkloadExit, Coverage), RunError> {
    if launch.coverage.is_none() {
        return Err(RunError::Unsupported(
            "this container launch was not prepared for coverage".into(),
        ));
    }
    let (exit, coverage) = follow(launch, sup, logs, attach, progress)?;
    Ok((exit, coverage.unwrap_or_default()))
}

fn follow(
    launch: Launch,
    sup: Supervision,
    logs: &LogOptions,
    attach: Attach,
    progress: Option<&(dyn Fn(Coverage) + Sync)>,
) -> Result<(WorkloadExit, Option<Coverage>), RunError> {
    // First, before any thread or fd of ours exists (see `Containment::start`).
    let containment = Containment::start_with_cleanup(&launch.cleanup)
        .map_err(RunError::os("start the watchdog"))?;
    // After the watchdog: it must not hold the counter's fds.
    let counter = match &launch.coverage {
        Some(c) => Some(
            coverage::container_counter(
                &sup.judge.compiled,
                c.parent.dir(),
                c.parent.level(),
                c.init_comm,
            )
            .map_err(no_kernel_counter)?,
        ),
        None => None,
    };
    let (stop_read, stop_write) = pipe().map_err(RunError::os("make a pipe"))?;
    // LOG mode reads the kernel log sources; NOTIFY mode too, for the calls the
    // copy had to leave LOG (see `oci_runtime::RUNC_HANDOFF`), when it can.
    let (tx, raw) = crate::sources::logs::channel();
    let wanted = launch.mode == Interception::Log || launch.notify_logs;
    let started = wanted.then(|| LogSources::start(logs.wanted, tx));
    let sources = match (launch.mode, started) {
        (_, None) => None,
        (_, Some(Ok(sources))) => Some((sources, raw)),
        (Interception::Log, Some(Err(e))) => {
            return Err(RunError::os("start the kernel log sources")(e))
        }
        (_, Some(Err(e))) => {
            eprintln!("eperm: no kernel log source ({e}): calls runc needs unanswered (execve, read, write …) go unreported");
            None
        }
    };
    // Matching by container id needs the parents of processes gone before their
    // records are read: subscribe to fork events before anything is started.
    let forks = match launch.attribution {
        Attribution::Container(_) => Forks::open().ok().map(|f| Arc::new(Mutex::new(f))),
        _ => None,
    };
    let terminal = Terminal::for_attach(&attach);
    let reporting = AtomicBool::new(true);
    let serving = AtomicUsize::new(0);
    let (handed_over, stalled) = (AtomicBool::new(false), AtomicBool::new(false));
    let result = std::thread::scope(|scope| {
        let (stop_progress, stopped) = mpsc::channel::<()>();
        if let (Some(counter), Some(progress)) = (&counter, progress) {
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
        let (filter_tx, filter_rx) = mpsc::channel::<Filter>();
        let (marker_tx, marker_rx) = mpsc::channel::<()>();
        let (sources, consumer) = match sources {
            Some((sources, raw)) => {
                let sup = &sup;
                let (tx, rx) = crate::sources::logs::channel();
                scope.spawn(move || sift_marker(raw, tx, marker_tx));
                (
                    Some(sources),
                    Some(scope.spawn(move || consume(rx, filter_rx, sup))),
                )
            }
            None => (None, None),
        };
        // The sources' health, every half second while the container runs (a UI's status bar).
        if let (Some(sources), Some(updates)) = (&sources, &logs.updates) {
            let (handles, reporting) = (sources.handles(), &reporting);
            scope.spawn(move || report_health(&handles, reporting, updates));
        }
        let agent = launch.agent.as_ref().map(|agent| {
            let (sup, stop, serving, handed_over) =
                (&sup, stop_read.as_fd(), &serving, &handed_over);
            scope.spawn(move || serve_agent(agent, sup, stop, serving, handed_over))
        });
        let loginuid = match launch.attribution {
            Attribution::OwnSession { loginuid, .. } => Some(loginuid),
            _ => None,
        };
        // The client's output on eperm's own terminal: eperm may talk there too.
        let shared_terminal = attach.stdio.is_none() && !attach.keep_terminal;
        let client = spawn_client(&launch.argv, &containment, loginuid, attach.stdio);
        let exit = match client {
            Ok(pid) => {
                if let Some(slot) = &attach.pid {
                    slot.store(pid, std::sync::atomic::Ordering::SeqCst);
                }
                terminal.give_to(pid);
                if shared_terminal {
                    let (id, handed_over) = (launch.attribution.id(), &handed_over);
                    let agent = launch.agent.is_some();
                    scope.spawn(move || say_when_slow(id, pid, agent.then_some(handed_over)));
                }
                if launch.agent.is_some() {
                    let (attribution, timeout) = (&launch.attribution, launch.handoff_timeout);
                    let (handed_over, stalled) = (&handed_over, &stalled);
                    scope.spawn(move || {
                        watch_handoff(attribution, pid, timeout, handed_over, stalled)
                    });
                }
                if consumer.is_some() {
                    if let Some(filter) = filter_for(&launch.attribution, pid, forks.clone()) {
                        let _ = filter_tx.send(filter);
                    }
                }
                match wait(pid) {
                    Ok(_) if stalled.load(Ordering::Acquire) => {
                        Err(stalled_handoff(launch.handoff_timeout))
                    }
                    other => other,
                }
            }
            Err(e) => Err(e),
        };
        drop(filter_tx);
        reporting.store(false, Ordering::Relaxed);
        if let Some(sources) = sources {
            drain(&sources, &marker_rx);
            logs.finish(sources.stop());
        }
        if let Some(consumer) = consumer {
            join(consumer);
        }
        // The client is gone, and with it (docker run, runc run) the container:
        // give the supervisors a moment (100 ms at most) to see their listeners
        // hang up; usually they already have.
        if let Some(agent) = agent {
            let deadline = Instant::now() + Duration::from_millis(100);
            while serving.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            drop(stop_write);
            if let Err(e) = join(agent) {
                eprintln!("eperm: the seccomp agent failed: {e}");
            }
        }
        drop(stop_progress);
        exit
    });
    drop(terminal);
    // The client is gone, and with it the container's processes: all counted.
    let counts = counter.as_ref().map(|c| c.read());
    containment.finish();
    let exit = result?;
    let Some(counts) = counts else {
        return Ok((exit, None));
    };
    let counts = counts.map_err(RunError::os("read the eBPF counts"))?;
    let mut coverage = Coverage {
        runs: 1,
        ..Coverage::default()
    };
    coverage.add_counts(&counts, &sup.judge);
    Ok((exit, Some(coverage)))
}

/// Why a container cannot be covered: no notify fallback, unlike a local run.
fn no_kernel_counter(why: crate::error::Unavailable) -> RunError {
    RunError::Unsupported(format!(
        "coverage of a container counts in the kernel (eBPF), which is not available here: {why}\n  \
         hint: containers have no notify fallback for coverage (their runtime, not eperm, \
         installs the filter); run eperm as root on a kernel with BPF and BTF"
    ))
}

/// The run's end when runc never handed the listener over (see `watch_handoff`).
fn stalled_handoff(timeout: Duration) -> RunError {
    RunError::Unsupported(format!(
        "the runtime did not hand eperm the seccomp listener within {} s of creating the container: \
         its init must have made a call that the NOTIFY copy holds for eperm before the handoff \
         (this runtime differs from the one measured)\n  hint: --mode log",
        timeout.as_secs()
    ))
}

/// Accepts the runtime's handoffs (one per process it starts with the profile)
/// and serves each listener until its container is gone or eperm stops;
/// `serving` counts the listeners being served.
fn serve_agent(
    agent: &Agent,
    sup: &Supervision,
    stop: std::os::fd::BorrowedFd<'_>,
    serving: &AtomicUsize,
    handed_over: &AtomicBool,
) -> std::io::Result<()> {
    std::thread::scope(|scope| {
        while let Some(handoff) = agent.accept(stop)? {
            handed_over.store(true, Ordering::Release);
            serving.fetch_add(1, Ordering::AcqRel);
            scope.spawn(move || {
                if let Err(e) = Supervisor::new(handoff.listener, sup).run(stop) {
                    eprintln!("eperm: container {}: {e}", handoff.id);
                }
                serving.fetch_sub(1, Ordering::AcqRel);
            });
        }
        Ok(())
    })
}

/// runc's init waits for the agent from the moment it loads the filter: a call
/// of its own that the copy notifies before the listener reaches eperm would
/// wait for ever (see `oci_runtime::RUNC_HANDOFF`). Once the container exists,
/// the runtime gets `timeout` to hand over; then the client is killed and `stalled` set,
/// so that the run ends with an error instead of hanging.
fn watch_handoff(
    attribution: &Attribution,
    client: i32,
    timeout: Duration,
    handed_over: &AtomicBool,
    stalled: &AtomicBool,
) {
    let exists = learn_id(attribution.id(), client).is_some();
    let deadline = Instant::now() + timeout;
    while exists && Instant::now() < deadline {
        if handed_over.load(Ordering::Acquire) || exited(client) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    if exists && !handed_over.load(Ordering::Acquire) && !exited(client) {
        stalled.store(true, Ordering::Release);
        // The client's own process group.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(-client),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// How long a container may take to start before eperm says what it waits for.
const SLOW_START: Duration = Duration::from_secs(2);

/// On a terminal, when the container is slow to start (an image pulled, a big
/// one created): a line saying what eperm waits for, and one when it started.
/// Whole lines, not a line redrawn in place: the client may be drawing its own
/// progress on the same terminal. Only for ids from a cidfile: a runc container
/// eperm names itself starts at once.
fn say_when_slow(id: &ContainerId, client: i32, handed_over: Option<&AtomicBool>) {
    let ContainerId::File(cidfile) = id else {
        return;
    };
    let mut progress = Progress::new();
    if !progress.on_terminal() {
        return;
    }
    let start = Instant::now();
    let mut said = None;
    loop {
        let created = std::fs::metadata(cidfile).is_ok_and(|m| m.len() > 0);
        let ready = created && handed_over.is_none_or(|h| h.load(Ordering::Acquire));
        if exited(client) {
            return;
        }
        if ready {
            if said.is_some() {
                let secs = start.elapsed().as_secs_f64();
                progress.step(&format!("the container started after {secs:.1} s"));
            }
            return;
        }
        let waiting = if created {
            "for the runtime to hand eperm the seccomp listener"
        } else {
            "for the container to be created (is the image being pulled?)"
        };
        if start.elapsed() >= SLOW_START && said != Some(waiting) {
            progress.step(&format!("waiting {waiting}…"));
            said = Some(waiting);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Has the client ended (without reaping it)?
fn exited(client: i32) -> bool {
    // SAFETY: probing our own child without reaping it.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            client as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        ) == 0
            && info.si_pid() != 0
    }
}

/// The filter for the container's records; `None` when the client ended before
/// the container existed.
fn filter_for(
    attribution: &Attribution,
    client: i32,
    forks: Option<Arc<Mutex<Forks>>>,
) -> Option<Filter> {
    let ses = |pid: u32| crate::sources::procinfo::session(pid);
    match attribution {
        Attribution::OwnSession { .. } => match ses(client as u32) {
            Some(s) if Some(s) != ses(std::process::id()) => Some(Filter::session(s)),
            _ => {
                eprintln!("eperm: the runtime could not get an audit session of its own (needs CAP_AUDIT_CONTROL): records are matched by process, and processes that end before their records arrive are missed");
                None
            }
        },
        Attribution::SessionFile { file, id } => {
            let id = learn_id(id, client)?;
            match wait_for(file, client).and_then(|t| t.parse().ok()) {
                Some(s) => Some(Filter::session(s)),
                None => Some(Filter::container(&id)),
            }
        }
        Attribution::Container(id) => learn_id(id, client).map(|id| match forks {
            Some(forks) => Filter::container_with_forks(&id, forks),
            None => Filter::container(&id),
        }),
    }
}

/// The client in a process group of its own, in the watchdog's cgroup, killed
/// with eperm (a parent-death signal besides the watchdog); with `loginuid`, in
/// a fresh audit session.
fn spawn_client(
    argv: &[OsString],
    containment: &Containment,
    loginuid: Option<u32>,
    stdio: Option<[OwnedFd; 3]>,
) -> Result<i32, RunError> {
    let cgroup = containment.cgroup_procs();
    let cgroup_fd = cgroup.as_ref().map(|fd| fd.as_raw_fd());
    let loginuid = loginuid.map(|uid| uid.to_string().into_bytes());
    let mut command = std::process::Command::new(&argv[0]);
    command.args(&argv[1..]);
    if let Some([stdin, stdout, stderr]) = stdio {
        command.stdin(stdin).stdout(stdout).stderr(stderr);
    }
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            libc::setpgid(0, 0);
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            if let Some(fd) = cgroup_fd {
                libc::write(fd, b"0".as_ptr().cast(), 1);
            }
            if let Some(uid) = &loginuid {
                let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY);
                if fd >= 0 {
                    libc::write(fd, uid.as_ptr().cast(), uid.len());
                    libc::close(fd);
                }
            }
            Ok(())
        });
    }
    let child = command.spawn().map_err(|e| {
        let name = argv[0].to_string_lossy().into_owned();
        if e.kind() == std::io::ErrorKind::NotFound {
            RunError::Spawn(crate::run::child::SpawnError::NotFound(name))
        } else {
            RunError::os(format!("start {name}"))(e)
        }
    })?;
    let pid = child.id() as i32;
    // std's Child would reap it on wait; we wait by pid ourselves (raw status).
    std::mem::forget(child);
    if let Err(e) = containment.watch_group(pid) {
        // Our own child, not reaped yet.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = wait(pid);
        return Err(RunError::os("watch the runtime client's process group")(e));
    }
    Ok(pid)
}

/// The container's id: known, or read from docker's cidfile once it is written
/// (`None` when the client ends before creating a container).
fn learn_id(id: &ContainerId, client: i32) -> Option<String> {
    match id {
        ContainerId::Known(id) => Some(id.clone()),
        ContainerId::File(path) => wait_for(path, client),
    }
}

/// The trimmed contents of `path` once something wrote them; `None` when the
/// client ended first.
fn wait_for(path: &std::path::Path, client: i32) -> Option<String> {
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.trim().is_empty() {
                return Some(text.trim().to_string());
            }
        }
        if exited(client) {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn wait(pid: i32) -> Result<WorkloadExit, RunError> {
    crate::run::local::wait(pid).map_err(RunError::os("wait for the runtime client"))
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?)
}

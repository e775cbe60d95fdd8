//! One container run, start to end: the runtime's client (`docker run …`,
//! `podman run …`, `runc run …`) is eperm's child; the container itself belongs to the runtime,
//! so it is reached through the agent socket (NOTIFY) or the kernel log sources
//! (LOG), and removed by a cleanup command when eperm ends, however it ends.

use super::agent::Agent;
use super::cgroup::Parent;
use super::marker::{drain, sift_marker};
use crate::bpf::Counts;
use crate::coverage::Coverage;
use crate::error::Unavailable;
use crate::progress::Progress;
use crate::run::contain::Containment;
use crate::run::coverage;
use crate::run::layers::{LayerWatch, Scoped};
use crate::run::notify::Supervisor;
use crate::run::serve::{serve, Attach, LogFeed, LogOptions, Serve, Served, Server};
use crate::run::Interception;
use crate::run::{RunError, Supervision, WorkloadExit};
use crate::sources::forks::Forks;
use crate::sources::logs::{Filter, Incoming, LogSources};
use std::ffi::OsString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::Scope;
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
    /// `OciRuntime::handoff`), so the kernel log sources are read too.
    pub notify_logs: bool,
    /// The socket the instrumented profile's `listenerPath` names.
    pub agent: Option<Agent>,
    /// How kernel log records are matched to this container.
    pub attribution: Attribution,
    /// NOTIFY: how long after the container exists the runtime may take to hand
    /// the listener over before the run is given up (see `watch_handoff`).
    pub handoff_timeout: Duration,
    /// The cgroup of eperm's the container runs below, watched there for the
    /// other layers' refusals (and counted, under coverage); or why it has none.
    pub below: Result<Covering, String>,
    /// A coverage run: the container's calls are counted below `below`.
    pub counted: bool,
}

/// Where a container runs and what its runtime's init is called.
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
    /// eperm's runc wrapper opens the session and leaves its id in `session`,
    /// whose id the client passes on to the wrapper; until then, and without
    /// it, by the container id in `id`.
    Wrapper {
        session: super::state::Session,
        id: ContainerId,
    },
    Container(ContainerId),
}

impl Attribution {
    /// How the container's id is learned.
    fn id(&self) -> &ContainerId {
        match self {
            Attribution::OwnSession { id, .. }
            | Attribution::Wrapper { id, .. }
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
    if !launch.counted || launch.below.is_err() {
        return Err(RunError::Unsupported(
            "this container launch was not prepared for coverage".into(),
        ));
    }
    let (exit, coverage) = follow(launch, sup, logs, attach, progress)?;
    Ok((exit, coverage.unwrap_or_default()))
}

/// Runs a recording launch (see [`Plan::launch_record`](super::plan::Plan::launch_record))
/// to its end: every call made under the container's filter counted in the
/// kernel below its parent cgroup, the runtime's init's apart (as `before`);
/// `Ok(Err(why))` before the container is started when the counter cannot be
/// had here (then the container is recorded by trapping).
pub fn record(
    launch: Launch,
    sup: &Supervision,
    attach: Attach,
) -> Result<Result<(WorkloadExit, Counts), Unavailable>, RunError> {
    if !launch.counted || launch.below.is_err() {
        return Err(RunError::Unsupported(
            "this container launch was not prepared for recording".into(),
        ));
    }
    let logs = LogOptions::default();
    Ok(match follow_counted(launch, sup, &logs, attach, None)? {
        Ok((exit, counts)) => Ok((exit, counts.expect("a counter was given"))),
        Err(why) => Err(why),
    })
}

/// Runs the launch through the serve loop ([`crate::run::serve`]): what is
/// container-specific is the [`Client`], the agent that serves the runtime's
/// handoffs, and the counter below the container's parent cgroup.
fn follow(
    launch: Launch,
    sup: Supervision,
    logs: &LogOptions,
    attach: Attach,
    progress: Option<&(dyn Fn(Coverage) + Sync)>,
) -> Result<(WorkloadExit, Option<Coverage>), RunError> {
    let (exit, counts) =
        follow_counted(launch, &sup, logs, attach, progress)?.map_err(no_kernel_counter)?;
    let Some(counts) = counts else {
        return Ok((exit, None));
    };
    let mut coverage = Coverage {
        runs: 1,
        ..Coverage::default()
    };
    coverage.add_counts(&counts, &sup.judge);
    Ok((exit, Some(coverage)))
}

/// [`follow`]'s run, with the kernel's counts as read (when the launch counts);
/// `Ok(Err(why))` before the client starts when the counter cannot be had.
fn follow_counted(
    launch: Launch,
    sup: &Supervision,
    logs: &LogOptions,
    attach: Attach,
    progress: Option<&(dyn Fn(Coverage) + Sync)>,
) -> Result<Result<(WorkloadExit, Option<Counts>), Unavailable>, RunError> {
    // First, before any thread or fd of ours exists (see `Containment::start`).
    let containment = Containment::start_with_cleanup(&launch.cleanup)
        .map_err(RunError::os("start the watchdog"))?;
    // After the watchdog: it must not hold the counter's fds.
    let counter = match &launch.below {
        Ok(c) if launch.counted => match coverage::container_counter(
            &sup.judge.compiled,
            c.parent.dir(),
            c.parent.level(),
            c.init_comm,
        ) {
            Ok(counter) => Some(counter),
            Err(why) => return Ok(Err(why)),
        },
        _ => None,
    };
    // After the watchdog too; before the client, so that no call is missed.
    let layers = LayerWatch::start(sup, container_scope(&launch.below));
    let feed = log_feed(&launch, logs)?;
    let client = Client::new(&launch, &containment, &attach);
    let server = launch
        .agent
        .as_ref()
        .map(|agent| agent_server(agent, sup, &client));
    let served = serve(
        &client,
        Serve {
            sup,
            containment,
            attach,
            logs: feed,
            counter: counter.as_ref(),
            progress,
            server,
        },
    );
    // The client is gone, and with it the container's processes: all counted,
    // every refusal drained.
    drop(layers);
    let exit = served.exit?;
    let counts = served
        .counts
        .transpose()
        .map_err(RunError::os("read the eBPF counts"))?;
    Ok(Ok((exit, counts)))
}

/// The tasks below the container's parent cgroup, but for the runtime's init
/// before the workload's exec; the runtime loads the profile as one filter.
fn container_scope(below: &Result<Covering, String>) -> Result<Scoped, String> {
    let c = below.as_ref().map_err(Clone::clone)?;
    let id = crate::bpf::counter::cgroup_id(c.parent.dir())
        .map_err(|e| format!("{}: {e}", c.parent.dir().display()))?;
    Ok(Scoped {
        scope: crate::bpf::Scope::Below {
            id,
            level: c.parent.level(),
        },
        devices: Some((c.parent.dir().to_path_buf(), c.parent.v1_devices())),
        skip_comm: Some(c.init_comm),
        own_filters: 1,
        container: true,
    })
}

/// LOG mode reads the kernel log sources; NOTIFY mode too, for the calls the
/// copy had to leave LOG (see `OciRuntime::handoff`), when it can.
fn log_feed<'a>(launch: &Launch, logs: &'a LogOptions) -> Result<Option<LogFeed<'a>>, RunError> {
    if launch.mode != Interception::Log && !launch.notify_logs {
        return Ok(None);
    }
    match (launch.mode, LogFeed::start(logs)) {
        (_, Ok(feed)) => Ok(Some(feed)),
        (Interception::Log, Err(e)) => Err(RunError::os("start the kernel log sources")(e)),
        (_, Err(e)) => {
            eprintln!("eperm: no kernel log source ({e}): calls runc needs unanswered (execve, read, write …) go unreported");
            Ok(None)
        }
    }
}

/// The agent as the loop's server: it accepts the runtime's handoffs and serves
/// each listener (the child hands none over: the runtime does).
fn agent_server<'a>(
    agent: &'a Agent,
    sup: &'a Supervision,
    client: &'a Client<'_>,
) -> Server<'a, ()> {
    Box::new(move |_, stop| {
        if let Err(e) = serve_agent(agent, sup, stop, &client.serving, &client.handed_over) {
            eprintln!("eperm: the seccomp agent failed: {e}");
        }
        Some(())
    })
}

/// What a container run does differently in the serve loop: the runtime's
/// client is the process started and waited for; the container is reached
/// through the agent and the log sources, and its start is watched.
struct Client<'a> {
    launch: &'a Launch,
    /// The watchdog's cgroup, which the client joins before its exec.
    cgroup: Option<OwnedFd>,
    /// The client's output on eperm's own terminal: eperm may talk there too.
    shared_terminal: bool,
    /// Matching by container id needs the parents of processes gone before their
    /// records are read: fork events, subscribed to before anything is started.
    forks: Option<Arc<Mutex<Forks>>>,
    /// How many listeners the agent serves.
    serving: AtomicUsize,
    handed_over: AtomicBool,
    /// The runtime never handed the listener over (see `watch_handoff`).
    stalled: AtomicBool,
    /// The end of the container's records (see `marker`).
    marker: (mpsc::Sender<()>, Mutex<mpsc::Receiver<()>>),
}

impl<'a> Client<'a> {
    fn new(launch: &'a Launch, containment: &Containment, attach: &Attach) -> Client<'a> {
        let (marker, marked) = mpsc::channel();
        Client {
            launch,
            cgroup: containment.cgroup_procs(),
            shared_terminal: attach.stdio.is_none() && !attach.keep_terminal,
            forks: match launch.attribution {
                Attribution::Container(_) => Forks::open().ok().map(|f| Arc::new(Mutex::new(f))),
                _ => None,
            },
            serving: AtomicUsize::new(0),
            handed_over: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
            marker: (marker, Mutex::new(marked)),
        }
    }
}

impl Served for Client<'_> {
    type Process = i32;

    fn name(&self) -> &'static str {
        "the runtime client"
    }

    fn start(&self, attach: &mut Attach) -> Result<i32, RunError> {
        let (loginuid, session) = match &self.launch.attribution {
            Attribution::OwnSession { loginuid, .. } => (Some(*loginuid), None),
            Attribution::Wrapper { session, .. } => (None, Some(session.id())),
            Attribution::Container(_) => (None, None),
        };
        let pid = spawn_client(
            &self.launch.argv,
            self.cgroup.as_ref(),
            Audit { loginuid, session },
            attach.stdio.take(),
        )?;
        if let Some(slot) = &attach.pid {
            slot.store(pid, Ordering::SeqCst);
        }
        Ok(pid)
    }

    fn pid(&self, pid: &i32) -> i32 {
        *pid
    }

    fn watch<'scope, 'env>(&'env self, scope: &'scope Scope<'scope, 'env>, pid: i32) {
        let launch = self.launch;
        if self.shared_terminal {
            let (id, handed_over) = (launch.attribution.id(), &self.handed_over);
            let agent = launch.agent.is_some();
            scope.spawn(move || say_when_slow(id, pid, agent.then_some(handed_over)));
        }
        if launch.agent.is_some() {
            let (attribution, timeout) = (&launch.attribution, launch.handoff_timeout);
            let (handed_over, stalled) = (&self.handed_over, &self.stalled);
            scope.spawn(move || watch_handoff(attribution, pid, timeout, handed_over, stalled));
        }
    }

    fn attribute(&self, pid: i32) -> (Option<Filter>, Option<&'static str>) {
        (
            filter_for(&self.launch.attribution, pid, self.forks.clone()),
            None,
        )
    }

    fn sift<'scope, 'env>(
        &'env self,
        scope: &'scope Scope<'scope, 'env>,
        raw: mpsc::Receiver<Incoming>,
    ) -> mpsc::Receiver<Incoming> {
        let (tx, rx) = crate::sources::logs::channel();
        let marker = self.marker.0.clone();
        scope.spawn(move || sift_marker(raw, tx, marker));
        rx
    }

    fn settle(&self, sources: &LogSources) {
        drain(
            sources,
            &self.marker.1.lock().unwrap_or_else(|p| p.into_inner()),
        );
    }

    fn ended(&self, exit: Result<WorkloadExit, RunError>) -> Result<WorkloadExit, RunError> {
        match exit {
            Ok(_) if self.stalled.load(Ordering::Acquire) => {
                Err(stalled_handoff(self.launch.handoff_timeout))
            }
            other => other,
        }
    }

    /// The client is gone, and with it (docker run, runc run) the container:
    /// the supervisors get a moment (100 ms at most) to see their listeners
    /// hang up; usually they already have.
    fn linger(&self, _: &Containment, _: bool, _: &dyn Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_millis(100);
        while self.serving.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Why a container cannot be covered: no notify fallback, unlike a local run.
fn no_kernel_counter(why: Unavailable) -> RunError {
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
                if let Err(e) = Supervisor::new(handoff.listener, sup)
                    .in_container()
                    .run(stop)
                {
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
/// wait for ever (see `OciRuntime::handoff`). Once the container exists,
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
        Attribution::Wrapper { session, id } => {
            let id = learn_id(id, client)?;
            match wait_for(&session.audit_file(), client).and_then(|t| t.parse().ok()) {
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

/// How the container gets an audit session of its own.
struct Audit<'a> {
    /// The client opens it, as this loginuid.
    loginuid: Option<u32>,
    /// eperm's wrapper opens it: the client passes this session's id on.
    session: Option<&'a str>,
}

/// The client in a process group of its own, in the watchdog's cgroup (its
/// `cgroup.procs`), killed with eperm (a parent-death signal besides the
/// watchdog); in a fresh audit session, or with the wrapper's session id in
/// its environment (never on its command line, which every user can read).
fn spawn_client(
    argv: &[OsString],
    cgroup: Option<&OwnedFd>,
    audit: Audit,
    stdio: Option<[OwnedFd; 3]>,
) -> Result<i32, RunError> {
    let cgroup_fd = cgroup.map(|fd| fd.as_raw_fd());
    let loginuid = audit.loginuid.map(|uid| uid.to_string().into_bytes());
    let mut command = std::process::Command::new(&argv[0]);
    command.args(&argv[1..]);
    if let Some(id) = audit.session {
        command.env(super::wrapper::SESSION_ENV, id);
    }
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

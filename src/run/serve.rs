//! The one serve loop of a run, local or container: the workload is started in
//! the watchdog's keeping and waited for, while its seccomp listeners are served,
//! its kernel log records turned into events and its calls counted, and
//! everything is stopped in order once it has ended.
//!
//! What differs between a local workload and a container is what is served, a
//! [`Served`]:
//! how it starts (the child with its filter, or the runtime's client), which log
//! records are its, how long its listeners are served once its first process is
//! gone. `run::local` and `container::launch` each supply one; the interception
//! itself (a listener's [`super::notify::Supervisor`], the runtime's agent) is
//! the [`Serve::server`] they hand the loop.

use super::contain::Containment;
use super::{RunError, Supervision, WorkloadExit};
use crate::bpf::{Counter, Counts};
use crate::coverage::Coverage;
use crate::sources::health::{Health, Shared};
use crate::sources::logs::{self, Dedupe, Filter, Incoming, LogSources, Wanted};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// What differs between the runs the loop serves.
pub(crate) trait Served: Sync {
    /// What [`Served::start`] started: the child, or the runtime's client.
    type Process;

    /// Says what is started, in error messages: "the workload", "the runtime client".
    fn name(&self) -> &'static str;

    /// Starts it in a process group of its own (the loop has the watchdog watch
    /// that group); `attach` as the caller gave it (its stdio may be taken).
    fn start(&self, attach: &mut Attach) -> Result<Self::Process, RunError>;

    /// The started process's pid.
    fn pid(&self, process: &Self::Process) -> i32;

    /// Waits until it runs its own code; the seccomp listener the child hands
    /// over (if any) goes to `listeners`, for [`Serve::server`].
    fn ready(
        &self,
        _process: &mut Self::Process,
        _listeners: &mpsc::Sender<OwnedFd>,
    ) -> Result<(), RunError> {
        Ok(())
    }

    /// Threads of its own that follow the started workload until it ends.
    fn watch<'scope, 'env>(&'env self, _scope: &'scope Scope<'scope, 'env>, _pid: i32) {}

    /// Which log records are its (`None`: none can be told apart), and a
    /// warning for the sources' health when the match is not exact.
    fn attribute(&self, pid: i32) -> (Option<Filter>, Option<&'static str>);

    /// Its records as they come from the sources, passed on to the consumer; the
    /// default passes them all.
    fn sift<'scope, 'env>(
        &'env self,
        _scope: &'scope Scope<'scope, 'env>,
        raw: mpsc::Receiver<Incoming>,
    ) -> mpsc::Receiver<Incoming> {
        raw
    }

    /// After it ended: until the sources have delivered every record it made.
    fn settle(&self, sources: &LogSources) {
        settle(sources);
    }

    /// How it ended, from `waitpid` (a workload may have ended in a way of its own).
    fn ended(&self, exit: Result<WorkloadExit, RunError>) -> Result<WorkloadExit, RunError> {
        exit
    }

    /// Once the process waited for is gone (`ended`: on its own, not killed):
    /// keeps the listeners served a while longer, as long as it says. `served`
    /// tells whether the server has ended.
    fn linger(&self, _containment: &Containment, _ended: bool, _served: &dyn Fn() -> bool) {}
}

/// Serves the workload's seccomp listeners until `stop` is readable (or they
/// hang up): those the child hands over arrive on the receiver. `None` when
/// nothing was served (it says why itself).
pub(crate) type Server<'a, T> =
    Box<dyn FnOnce(mpsc::Receiver<OwnedFd>, BorrowedFd<'_>) -> Option<T> + Send + 'a>;

/// Everything one run serves, handed to [`serve`].
pub(crate) struct Serve<'a, T> {
    pub sup: &'a Supervision,
    /// Started before any thread or fd of the run (see `Containment::start`).
    pub containment: Containment,
    pub attach: Attach,
    /// The kernel log sources, started before the workload.
    pub logs: Option<LogFeed<'a>>,
    /// Counting in the kernel: read once the run has ended, and every half
    /// second meanwhile for `progress`.
    pub counter: Option<&'a Counter>,
    pub progress: Option<&'a (dyn Fn(Coverage) + Sync)>,
    pub server: Option<Server<'a, T>>,
}

/// The kernel log sources of a run, their records, and where their health goes.
pub(crate) struct LogFeed<'a> {
    pub sources: LogSources,
    pub records: mpsc::Receiver<Incoming>,
    pub options: &'a LogOptions,
}

impl<'a> LogFeed<'a> {
    /// Starts the sources `options` asks for.
    pub(crate) fn start(options: &'a LogOptions) -> std::io::Result<LogFeed<'a>> {
        let (tx, records) = logs::channel();
        let sources = LogSources::start(options.wanted, tx)?;
        Ok(LogFeed {
            sources,
            records,
            options,
        })
    }
}

/// How a served run ended.
pub(crate) struct Ended<T> {
    pub exit: Result<WorkloadExit, RunError>,
    /// What the server returned, if it served.
    pub served: Option<T>,
    /// The counter's counts, read once nothing of the workload ran any more.
    pub counts: Option<std::io::Result<Counts>>,
}

/// Runs `workload` to its end, serving it as `run` says; the watchdog finishes
/// what is left of it.
pub(crate) fn serve<W: Served, T: Send>(workload: &W, run: Serve<'_, T>) -> Ended<T> {
    let Serve {
        sup,
        containment,
        mut attach,
        logs,
        counter,
        progress,
        server,
    } = run;
    let terminal = Terminal::for_attach(&attach);
    let (exit, served) = match pipe() {
        Err(e) => (Err(RunError::os("make a pipe")(e)), None),
        Ok((stop_read, stop_write)) => std::thread::scope(|scope| {
            let (stop_progress, stopped) = mpsc::channel::<()>();
            if let (Some(counter), Some(progress)) = (counter, progress) {
                scope.spawn(move || report_progress(counter, sup, progress, stopped));
            }
            let mut feed = logs.map(|logs| Feed::start(scope, workload, sup, logs));
            let (listeners, handed) = mpsc::channel();
            let server = server.map(|serve| {
                let stop = stop_read.as_fd();
                scope.spawn(move || serve(handed, stop))
            });
            let run = Started::run(
                workload,
                scope,
                &containment,
                &terminal,
                &mut attach,
                listeners,
                feed.as_mut(),
            );
            if let Some(feed) = feed {
                feed.finish(workload, run.started, run.warning);
            }
            let served = server.and_then(|server| {
                workload.linger(&containment, run.exit.is_ok(), &|| server.is_finished());
                // The workload is gone: stop answering (leftovers are killed next).
                drop(stop_write);
                join(server)
            });
            drop(stop_progress);
            (run.exit, served)
        }),
    };
    drop(terminal);
    // Read before the cgroup goes: nothing of the workload runs any more.
    let counts = counter.map(|c| c.read());
    containment.finish();
    drop(attach);
    Ended {
        exit,
        served,
        counts,
    }
}

/// The workload's life, from its start to its end.
struct Started {
    exit: Result<WorkloadExit, RunError>,
    /// It was started (its records may then still be on their way).
    started: bool,
    /// How its records were matched, when not exactly.
    warning: Option<&'static str>,
}

impl Started {
    /// Starts the workload, gives it the terminal, tells the log feed which
    /// records are its, and waits for it (killed when it never got to run).
    fn run<'scope, 'env, W: Served>(
        workload: &'env W,
        scope: &'scope Scope<'scope, 'env>,
        containment: &Containment,
        terminal: &Terminal,
        attach: &mut Attach,
        listeners: mpsc::Sender<OwnedFd>,
        feed: Option<&mut Feed<'scope>>,
    ) -> Started {
        let not_started = |exit| Started {
            exit: Err(exit),
            started: false,
            warning: None,
        };
        let mut process = match workload.start(attach) {
            Ok(process) => process,
            Err(e) => return not_started(e),
        };
        let pid = workload.pid(&process);
        if let Err(e) = containment.watch_group(pid) {
            kill_and_reap(pid);
            let op = format!("watch {}'s process group", workload.name());
            return not_started(RunError::os(op)(e));
        }
        terminal.give_to(pid);
        let ready = workload.ready(&mut process, &listeners);
        // Nothing more is handed over: a server still waiting gives up.
        drop(listeners);
        workload.watch(scope, pid);
        let mut warning = None;
        if let Some(feed) = feed {
            let (filter, why) = workload.attribute(pid);
            feed.attribute(filter);
            warning = why;
        }
        let exit = match ready {
            Ok(()) => {
                let waited =
                    wait(pid).map_err(RunError::os(format!("wait for {}", workload.name())));
                workload.ended(waited)
            }
            Err(e) => {
                kill_and_reap(pid);
                Err(e)
            }
        };
        Started {
            exit,
            started: true,
            warning,
        }
    }
}

/// The kernel log sources of one run, their records turned into the workload's
/// events by a consumer thread, their health reported while it runs.
struct Feed<'scope> {
    sources: LogSources,
    options: &'scope LogOptions,
    /// Which records are the workload's: they wait in the channel until it is known.
    filter: Option<mpsc::Sender<Filter>>,
    consumer: ScopedJoinHandle<'scope, ()>,
    /// Stops the health reports (when dropped).
    reporting: Option<(mpsc::Sender<()>, ScopedJoinHandle<'scope, ()>)>,
}

impl<'scope> Feed<'scope> {
    fn start<'env, W: Served>(
        scope: &'scope Scope<'scope, 'env>,
        workload: &'env W,
        sup: &'env Supervision,
        logs: LogFeed<'env>,
    ) -> Feed<'scope> {
        let LogFeed {
            sources,
            records,
            options,
        } = logs;
        let records = workload.sift(scope, records);
        let (filter, filter_rx) = mpsc::channel::<Filter>();
        let consumer = scope.spawn(move || consume(records, filter_rx, sup));
        let reporting = options.updates.as_ref().map(|updates| {
            let (stop, stopped) = mpsc::channel::<()>();
            let handles = sources.handles();
            let reporter = scope.spawn(move || report_health(&handles, &stopped, updates));
            (stop, reporter)
        });
        Feed {
            sources,
            options,
            filter: Some(filter),
            consumer,
            reporting,
        }
    }

    /// The workload's records are those `filter` matches (`None`: none are).
    fn attribute(&mut self, filter: Option<Filter>) {
        if let (Some(sender), Some(filter)) = (self.filter.take(), filter) {
            let _ = sender.send(filter);
        }
    }

    /// Once the workload ended: waits for its last records (when it started),
    /// stops the sources and leaves their final health in `logs`.
    fn finish<W: Served>(self, workload: &W, started: bool, warning: Option<&str>) {
        // Not attributed (it never started): the consumer has nothing to wait for.
        drop(self.filter);
        if started {
            workload.settle(&self.sources);
        }
        if let Some((stop, reporter)) = self.reporting {
            drop(stop);
            join(reporter);
        }
        let mut health = self.sources.stop();
        if let Some(why) = warning {
            for h in &mut health {
                h.warnings.push(why.to_string());
            }
        }
        join(self.consumer);
        self.options.finish(health);
    }
}

/// Sends what the counter counted so far to `progress` every half second until
/// `stopped` says the run has ended.
fn report_progress(
    counter: &Counter,
    sup: &Supervision,
    progress: &(dyn Fn(Coverage) + Sync),
    stopped: mpsc::Receiver<()>,
) {
    while stopped.recv_timeout(Duration::from_millis(500)) == Err(mpsc::RecvTimeoutError::Timeout) {
        if let Ok(counts) = counter.read() {
            let mut so_far = Coverage::default();
            so_far.add_counts(&counts, &sup.judge);
            progress(so_far);
        }
    }
}

/// Sends the log sources' health to `updates` every half second until `stopped`
/// says the run has ended (a UI's status bar).
fn report_health(
    sources: &[Shared],
    stopped: &mpsc::Receiver<()>,
    updates: &mpsc::Sender<Vec<Health>>,
) {
    loop {
        let health = sources.iter().map(|h| h.get()).collect();
        if updates.send(health).is_err() {
            break;
        }
        if stopped.recv_timeout(Duration::from_millis(500)) != Err(mpsc::RecvTimeoutError::Timeout)
        {
            break;
        }
    }
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
fn consume(rx: mpsc::Receiver<Incoming>, filter: mpsc::Receiver<Filter>, sup: &Supervision) {
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

/// The loginuid the workload's new audit session is opened with: `--user`'s uid,
/// else eperm's own login uid, else its uid.
pub fn login_uid(user: Option<u32>) -> u32 {
    user.or_else(|| read_id("/proc/self/loginuid"))
        .unwrap_or_else(|| nix::unistd::getuid().as_raw())
}

/// A `/proc` id file; 4294967295 (unset) is `None`.
fn read_id(path: &str) -> Option<u32> {
    let n: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
    (n != u32::MAX).then_some(n)
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
    // Our own child, not reaped yet (it may have exited).
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
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

fn join<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

//! Live runs for the TUI: each run of the session on threads of its own, under
//! the profile text as it is now, reporting as it goes — events, held calls, the
//! workload's output, the log sources' health, its end — to a [`Sink`], every
//! report tagged with the run's number so that a restart never mixes two runs.

use super::{Session, Start, Workload};
use crate::coverage::Coverage;
use crate::profile::load_str;
use crate::run::coverage::Counting;
use crate::run::local;
use crate::run::serve::{Attach, LogOptions};
use crate::run::{
    EventSender, HoldAnswer, HoldRequest, Interception, Policy, Supervision, WorkloadExit,
};
use crate::sources::event::Event;
use crate::sources::health::Health;
use crate::untrusted::Untrusted;
use std::io::{BufRead, Write};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a live run tells the UI; `.0` is the run's number.
pub enum LiveReport {
    Event(usize, Event),
    Hold(usize, HoldRequest),
    /// What the layer watcher saw (local runs): refusals come classified.
    Layer(usize, crate::sources::refusal::Watch),
    /// A line of the workload's output (`true`: from stderr).
    Output(usize, Untrusted, bool),
    Exited(usize, Result<WorkloadExit, String>),
    /// Events the run's queue dropped so far (it was full), when that grows.
    Dropped(usize, u64),
    /// The kernel log sources' health (`--mode log`), every half second.
    Health(usize, Vec<Health>),
    /// What a coverage run counted so far (in the kernel, every half second).
    CoverageLive(usize, Coverage),
    /// A coverage run ended: what it used, and what the coverage file holds now
    /// (`None`: no file). Not tagged: a run killed by a restart used what it used.
    Coverage {
        run: Coverage,
        stored: Option<Result<Coverage, String>>,
        /// In the kernel, or by notification (and why).
        counting: Counting,
    },
}

/// Where reports go; false once nobody listens any more.
pub type Sink = Arc<dyn Fn(LiveReport) -> bool + Send + Sync>;

/// Whether a run counts what the workload uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoverageRun {
    Off,
    /// Merging what it used into `file` when it ends (`None`: not kept).
    On {
        file: Option<PathBuf>,
    },
}

/// How the TUI runs the session, from the command line.
pub struct LiveOptions {
    /// `--hold`: each would-be-denied call waits for the user.
    pub hold: bool,
    /// `--hold-timeout`: then the profile's verdict applies.
    pub hold_timeout: Duration,
    pub autosave: bool,
    pub rerun_on_save: bool,
    /// `--coverage`: the first run counts what each allowance is used for.
    pub coverage: bool,
    /// `--events FILE`: every event of every run, as JSON lines.
    pub events: Option<std::fs::File>,
    /// `--report FILE`: where the triage report goes (`R`).
    pub report: Option<std::path::PathBuf>,
}

impl LiveOptions {
    /// Whether the first run holds calls for the user: not under coverage (which
    /// runs as under the profile), nor in a container's log mode, where the kernel
    /// lets every call run.
    pub fn holds(&self, session: &Session) -> bool {
        let can = match session.workload {
            Workload::Local { .. } => true,
            Workload::Container(_) => session.mode == crate::run::Interception::Notify,
        };
        self.hold && !self.coverage && can
    }

    /// The mode the first run is shown in: coverage counts in the kernel
    /// (`ebpf`) or through notify, with the reason.
    pub fn mode_name(&self, session: &Session) -> String {
        use crate::run::coverage::{probe, Counting};
        if self.coverage {
            match (probe(), &session.workload) {
                // Containers have no notify fallback: their runs will be refused.
                (Counting::Notify { reason }, Workload::Container(_)) => {
                    format!("no coverage (no eBPF: {reason})")
                }
                (counting, _) => counting.short(),
            }
        } else {
            session.mode.name().to_string()
        }
    }
}

/// One run of the workload, on its own threads.
pub struct Live {
    number: usize,
    pid: Arc<AtomicI32>,
    thread: Option<JoinHandle<()>>,
}

impl Live {
    /// A run that never started: `eperm watch` and `eperm replay` have no workload.
    pub fn none(number: usize) -> Live {
        Live::on(number, None)
    }

    /// A run on a thread of the caller's (tests stand in for a workload).
    pub fn on_thread(number: usize, thread: JoinHandle<()>) -> Live {
        Live::on(number, Some(thread))
    }

    fn on(number: usize, thread: Option<JoinHandle<()>>) -> Live {
        Live {
            number,
            pid: Arc::new(AtomicI32::new(0)),
            thread,
        }
    }

    pub fn number(&self) -> usize {
        self.number
    }

    /// The workload's pid, once it is forked.
    pub fn pid(&self) -> Option<u32> {
        let p = self.pid.load(Ordering::SeqCst);
        (p > 0).then_some(p as u32)
    }

    /// Kills the workload's process group and waits (at most 3 s) for the run to
    /// end; true when it did. A supervisor waiting for the answer to a held call
    /// cannot end, so `wait` is called meanwhile (every 10 ms or so) to answer
    /// held calls still on their way.
    pub fn stop(&mut self, mut wait: impl FnMut(Duration)) -> bool {
        if let Some(pid) = self.pid() {
            // The workload's own process group; it may be gone already.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(-(pid as i32)),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        while !thread.is_finished() && Instant::now() < deadline {
            wait(Duration::from_millis(10));
        }
        let ended = thread.is_finished();
        if ended {
            let _ = thread.join();
        }
        ended
    }
}

/// What starts a session's live runs: the session, `--events FILE` (every event
/// of every run, as JSON lines), and where the runs report.
pub struct Runner {
    session: Arc<Session>,
    events: Option<std::fs::File>,
    sink: Sink,
}

impl Runner {
    pub fn new(session: Session, events: Option<std::fs::File>, sink: Sink) -> Runner {
        Runner {
            session: Arc::new(session),
            events,
            sink,
        }
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Starts run `number` under `text`; a failure to start is reported as the
    /// run's end.
    pub fn start(&self, number: usize, text: &str, coverage: CoverageRun) -> Live {
        let pid = Arc::new(AtomicI32::new(0));
        let thread = match self.spawn(number, text, coverage, &pid) {
            Ok(thread) => Some(thread),
            Err(why) => {
                let _ = (self.sink)(LiveReport::Exited(number, Err(why)));
                None
            }
        };
        Live {
            number,
            pid,
            thread,
        }
    }

    /// The run's threads: the workload's, and those forwarding its events, held
    /// calls, output and health to the sink.
    fn spawn(
        &self,
        number: usize,
        text: &str,
        coverage: CoverageRun,
        pid: &Arc<AtomicI32>,
    ) -> Result<JoinHandle<()>, String> {
        let (session, sink) = (&self.session, &self.sink);
        let profile =
            load_str(&session.profile.file, text.to_string()).map_err(|e| e.to_string())?;
        let start = session
            .prepare_run(&profile, number, coverage != CoverageRun::Off)
            .map_err(|e| e.to_string())?;
        // Coverage runs the workload as under the profile: the verdicts are
        // enforced (below); compiled for notify, the filter an in-kernel count uses.
        // A container's filter is the runtime's copy (see `container::instrument`).
        let local = matches!(session.workload, Workload::Local { .. });
        let compile_mode = match coverage {
            CoverageRun::On { .. } if local => crate::compile::Mode::Notify,
            _ => session.mode.compile_mode(),
        };
        let judge = session
            .judge(profile, compile_mode)
            .map_err(|e| e.to_string())?;
        let stdio =
            capture(number, sink).map_err(|e| format!("cannot make pipes for the output: {e}"))?;
        let log = self.events.as_ref().and_then(|f| f.try_clone().ok());
        let events = forward_events(number, log, sink.clone());
        // (A container in log mode cannot be enforced: its runtime applies LOG.)
        let covering =
            coverage != CoverageRun::Off && (local || session.mode == Interception::Notify);
        let policy = if session.enforce || covering {
            Policy::Enforce
        } else {
            // Held or not is the App's call: it answers at once when hold is off.
            Policy::Hold(forward_holds(number, sink.clone()))
        };
        let mut sup = session.supervise(judge, policy, events);
        sup.layers = session.layers_to(forward_layers(number, sink.clone()));
        let attach = Attach {
            stdio: Some(stdio),
            keep_terminal: true,
            pid: Some(pid.clone()),
        };
        Ok(run_thread(
            number,
            coverage,
            start,
            session.clone(),
            sink.clone(),
            sup,
            attach,
        ))
    }
}

/// The thread that runs the workload, under coverage or not, and reports how
/// it ended (and what it used) to `sink`.
fn run_thread(
    number: usize,
    coverage: CoverageRun,
    start: Start,
    session: Arc<Session>,
    sink: Sink,
    sup: Supervision,
    attach: Attach,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let logs = || LogOptions {
            wanted: session.sources,
            updates: Some(forward_health(number, sink.clone())),
            ..LogOptions::default()
        };
        let progress = |so_far| {
            let _ = sink(LiveReport::CoverageLive(number, so_far));
        };
        let result = match (coverage, start) {
            (CoverageRun::On { file }, Start::Local(spec)) => {
                local::cover(&spec.argv, spec.user, sup, attach, Some(&progress)).map(
                    |(exit, run, counting)| {
                        // Even a run killed by a restart used what it used: keep it.
                        report_coverage(&sink, file, run, counting);
                        exit
                    },
                )
            }
            (CoverageRun::On { file }, Start::Container(launch)) => {
                crate::container::launch::cover(launch, sup, &logs(), attach, Some(&progress)).map(
                    |(exit, run)| {
                        report_coverage(&sink, file, run, Counting::Kernel);
                        exit
                    },
                )
            }
            (CoverageRun::Off, start) => session.start(start, sup, attach, &logs()),
        };
        let _ = sink(LiveReport::Exited(
            number,
            result.map_err(|e| e.to_string()),
        ));
    })
}

/// What a coverage run used, stored in `file` (when there is one) and told.
fn report_coverage(sink: &Sink, file: Option<PathBuf>, run: Coverage, counting: Counting) {
    let stored = file.map(|path| Coverage::merge_into(&path, &run).map_err(|e| e.to_string()));
    let _ = sink(LiveReport::Coverage {
        run,
        stored,
        counting,
    });
}

/// The run's events to `sink`, and to `log` (`--events FILE`) as JSON lines.
/// The layer watcher's reports, each refusal classified (reading the sysctls
/// here, not in the App) after a grace period that lets the profile's event of
/// the same call reach the App first (a supervisor sends it after answering).
fn forward_layers(number: usize, sink: Sink) -> mpsc::Sender<crate::sources::refusal::Watch> {
    use crate::sources::refusal::Watch;
    const GRACE: Duration = Duration::from_secs(2);
    let (tx, rx) = mpsc::channel::<Watch>();
    std::thread::spawn(move || {
        let mut held: std::collections::VecDeque<(std::time::Instant, Watch)> =
            std::collections::VecDeque::new();
        loop {
            let ended = match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(w) => {
                    held.push_back((std::time::Instant::now(), w));
                    false
                }
                Err(mpsc::RecvTimeoutError::Timeout) => false,
                Err(mpsc::RecvTimeoutError::Disconnected) => true,
            };
            while held
                .front()
                .is_some_and(|(at, _)| ended || at.elapsed() >= GRACE)
            {
                let (_, mut w) = held.pop_front().expect("a front");
                if let Watch::Refused(r) = &mut w {
                    r.classify(crate::layer::Profile::Allows);
                }
                if !sink(LiveReport::Layer(number, w)) {
                    return;
                }
            }
            if ended {
                return;
            }
        }
    });
    tx
}

fn forward_events(number: usize, log: Option<std::fs::File>, sink: Sink) -> EventSender {
    let (tx, rx) = crate::run::event_channel();
    let dropped = tx.drop_counter();
    let mut told = 0;
    let mut log = log.map(std::io::BufWriter::new);
    std::thread::spawn(move || {
        // Polled, not blocked on: a receiver woken for every event costs the
        // supervisor a context switch per call (trace mode: 0.70× strace instead
        // of 0.51×); a screen drawn at 60 Hz loses nothing by 5 ms batches.
        loop {
            let e = match rx.try_recv() {
                Ok(e) => e,
                Err(mpsc::TryRecvError::Empty) => {
                    let now = dropped.load(std::sync::atomic::Ordering::Relaxed);
                    if now > told {
                        told = now;
                        if !sink(LiveReport::Dropped(number, now)) {
                            break;
                        }
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            };
            if let Some(out) = log.as_mut() {
                let _ = serde_json::to_writer(&mut *out, &e);
                let _ = out.write_all(b"\n");
            }
            if !sink(LiveReport::Event(number, e)) {
                break;
            }
        }
        let now = dropped.load(std::sync::atomic::Ordering::Relaxed);
        if now > told {
            let _ = sink(LiveReport::Dropped(number, now));
        }
        if let Some(mut out) = log {
            let _ = out.flush();
        }
    });
    tx
}

/// Held calls to `sink`; when nobody listens any more, they are let run.
fn forward_holds(number: usize, sink: Sink) -> mpsc::Sender<HoldRequest> {
    let (tx, rx) = mpsc::channel::<HoldRequest>();
    std::thread::spawn(move || {
        for req in rx {
            let reply = req.reply.clone();
            if !sink(LiveReport::Hold(number, req)) {
                let _ = reply.send(HoldAnswer::AllowOnce);
                break;
            }
        }
    });
    tx
}

/// The log sources' health updates to `sink`.
fn forward_health(number: usize, sink: Sink) -> mpsc::Sender<Vec<Health>> {
    let (tx, rx) = mpsc::channel::<Vec<Health>>();
    std::thread::spawn(move || {
        for health in rx {
            if !sink(LiveReport::Health(number, health)) {
                break;
            }
        }
    });
    tx
}

/// A line of output as the Output pane shows it: no line end, tabs as four
/// spaces; the rest (colour codes too) is the workload's, shown escaped.
fn output_line(raw: &[u8]) -> Untrusted {
    let mut line = Vec::with_capacity(raw.len());
    for &b in raw.strip_suffix(b"\n").unwrap_or(raw) {
        match b {
            b'\t' => line.extend_from_slice(b"    "),
            _ => line.push(b),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Untrusted::new(line)
}

/// stdin from /dev/null; stdout and stderr into pipes read line by line.
fn capture(number: usize, sink: &Sink) -> std::io::Result<[OwnedFd; 3]> {
    let null = OwnedFd::from(std::fs::File::open("/dev/null")?);
    let mut ends = Vec::new();
    for err in [false, true] {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        let sink = sink.clone();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(std::fs::File::from(read));
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = output_line(&buf);
                        if !sink(LiveReport::Output(number, line, err)) {
                            break;
                        }
                    }
                }
            }
        });
        ends.push(write);
    }
    let err = ends.pop().expect("two pipes");
    let out = ends.pop().expect("two pipes");
    Ok([null, out, err])
}

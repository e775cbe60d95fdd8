//! The terminal: setup and restore (also on panic), and the event loop that feeds
//! the App and carries out its effects — saving, restarting the workload,
//! answering held calls, quitting.
//!
//! Threads feed one channel: terminal input, the run's events and held calls, the
//! workload's stdout/stderr, its exit, and the profile directory's watcher. The
//! loop drains the channel in batches and draws at most every 16 ms.

use crate::app::{self, App, Effect, Key, Mods, Msg};
use crate::profile::{load_str, Target};
use crate::run::child::Credentials;
use crate::run::coverage::Coverage;
use crate::run::session::{self, Attach, Interception, LogOptions, RunSpec};
use crate::run::{HoldAnswer, HoldRequest, Judge, Policy, Supervision, WorkloadExit};
use crate::sources::event::Event;
use crate::sources::health::Health;
use crate::sources::logs::Wanted;
use crate::ui::{self, Theme};
use crossterm::event::{
    self as term, DisableMouseCapture, EnableMouseCapture, KeyCode, KeyEventKind, KeyModifiers,
    MouseButton, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

/// Everything the TUI needs to run the workload again and again.
pub struct Setup {
    pub profile: crate::profile::Profile,
    pub config: app::Config,
    pub mode: Interception,
    pub user: Option<Credentials>,
    pub target: Target,
    pub argv: Vec<OsString>,
    /// `--events FILE`: every event of every run, as JSON lines.
    pub events: Option<std::fs::File>,
    /// `--mode log`: which kernel log sources to read.
    pub sources: Wanted,
    /// A container run (`eperm docker`, `eperm oci`) instead of `argv`.
    pub container: Option<crate::container::plan::Plan>,
}

/// What reaches the loop.
enum Incoming {
    Msg(Msg),
    /// From run number `.0`: stale runs are ignored.
    Event(usize, Event),
    Hold(usize, HoldRequest),
    Output(usize, String, bool),
    Exited(usize, Result<WorkloadExit, String>),
    /// The kernel log sources' health during run `.0`.
    Health(usize, Vec<Health>),
}

/// The terminal is in the TUI's state (raw, alternate screen, mouse on).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Some thread of eperm panicked: the terminal is restored, the UI must end.
static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Restores the terminal when dropped, whatever way the TUI ends.
struct Screen;

impl Screen {
    fn enter() -> std::io::Result<Screen> {
        HOOK.call_once(|| {
            // Restore first, then the usual report: on a restored screen it is readable.
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if ACTIVE.swap(false, Ordering::SeqCst) {
                    restore();
                }
                PANICKED.store(true, Ordering::SeqCst);
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // Made before the next step, so that raw mode is undone if it fails.
        let screen = Screen;
        execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            restore();
        }
    }
}

/// Debug builds only: `EPERM_DEBUG_PANIC=main|thread` panics once the UI is up, on
/// the UI loop or on a helper thread, so that the end-to-end test sees the terminal
/// restored through the real code path. Release builds have no such switch.
#[cfg(debug_assertions)]
fn debug_panic() {
    match std::env::var("EPERM_DEBUG_PANIC").as_deref() {
        Ok("main") => panic!("EPERM_DEBUG_PANIC: a panic in the UI loop"),
        Ok("thread") => {
            let _ = std::thread::spawn(|| panic!("EPERM_DEBUG_PANIC: a panic on a helper thread"))
                .join();
        }
        _ => {}
    }
}

#[cfg(not(debug_assertions))]
fn debug_panic() {}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        DisableMouseCapture,
        crossterm::cursor::Show
    );
}

/// One run of the workload, on its own threads.
struct Runner {
    number: usize,
    pid: Arc<AtomicI32>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Runner {
    /// Starts run `number` under `text`; a coverage run merges what it used into
    /// `coverage_file` when it ends.
    fn start(
        setup: &Setup,
        number: usize,
        text: &str,
        coverage: Option<Option<PathBuf>>,
        tx: &mpsc::Sender<Incoming>,
    ) -> Runner {
        let pid = Arc::new(AtomicI32::new(0));
        let tx = tx.clone();
        let fail = |tx: &mpsc::Sender<Incoming>, why: String| {
            let _ = tx.send(Incoming::Exited(number, Err(why)));
        };
        let profile = match load_str(&setup.profile.file, text.to_string()) {
            Ok(p) => p,
            Err(e) => {
                fail(&tx, e.to_string());
                return Runner {
                    number,
                    pid,
                    thread: None,
                };
            }
        };
        let (coverage, coverage_file) = match coverage {
            Some(file) => (true, file),
            None => (false, None),
        };
        // Coverage runs the workload as under the profile: the verdicts are enforced.
        let compile_mode = if coverage {
            crate::compile::Mode::Enforce
        } else {
            setup.mode.compile_mode()
        };
        // A container gets its own instrumented copy of the profile as it is now.
        let launch = match &setup.container {
            Some(plan) if coverage => Some(Err(
                "coverage is not available for containers yet".to_string()
            )),
            Some(plan) => Some(plan.launch(&profile, number).map_err(|e| e.to_string())),
            None => None,
        };
        let launch = match launch.transpose() {
            Ok(launch) => launch,
            Err(why) => {
                fail(&tx, why);
                return Runner {
                    number,
                    pid,
                    thread: None,
                };
            }
        };
        let judge = match Judge::new(profile, &setup.target, compile_mode) {
            Ok(j) => j,
            Err(e) => {
                fail(&tx, e.to_string());
                return Runner {
                    number,
                    pid,
                    thread: None,
                };
            }
        };
        let stdio = match capture(number, &tx) {
            Ok(s) => s,
            Err(e) => {
                fail(&tx, format!("cannot make pipes for the output: {e}"));
                return Runner {
                    number,
                    pid,
                    thread: None,
                };
            }
        };
        let (events_tx, events_rx) = mpsc::channel::<Event>();
        let forward = tx.clone();
        let mut log = setup
            .events
            .as_ref()
            .and_then(|f| f.try_clone().ok())
            .map(std::io::BufWriter::new);
        std::thread::spawn(move || {
            // Polled, not blocked on: a receiver woken for every event costs the
            // supervisor a context switch per call (trace mode: 0.70× strace instead
            // of 0.51×); a screen drawn at 60 Hz loses nothing by 5 ms batches.
            loop {
                let e = match events_rx.try_recv() {
                    Ok(e) => e,
                    Err(mpsc::TryRecvError::Empty) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    Err(mpsc::TryRecvError::Disconnected) => break,
                };
                if let Some(out) = log.as_mut() {
                    let _ = serde_json::to_writer(&mut *out, &e);
                    let _ = out.write_all(b"\n");
                }
                if forward.send(Incoming::Event(number, e)).is_err() {
                    break;
                }
            }
            if let Some(mut out) = log {
                let _ = out.flush();
            }
        });
        let policy = if setup.config.enforce || coverage {
            Policy::Enforce
        } else {
            // Held or not is the App's call: it answers at once when hold is off.
            let (hold_tx, hold_rx) = mpsc::channel::<HoldRequest>();
            let forward = tx.clone();
            std::thread::spawn(move || {
                for req in hold_rx {
                    if let Err(mpsc::SendError(Incoming::Hold(_, req))) =
                        forward.send(Incoming::Hold(number, req))
                    {
                        let _ = req.reply.send(HoldAnswer::AllowOnce);
                        break;
                    }
                }
            });
            Policy::Hold(hold_tx)
        };
        let sup = Supervision {
            judge,
            policy,
            events: events_tx,
            started: Instant::now(),
            own_exe: std::env::current_exe().ok(),
        };
        let spec = RunSpec {
            argv: setup.argv.clone(),
            mode: setup.mode,
            user: setup.user.clone(),
        };
        let attach = Attach {
            stdio: Some(stdio),
            keep_terminal: true,
            pid: Some(pid.clone()),
        };
        let thread = if coverage {
            std::thread::spawn(move || {
                let result = session::run_coverage_attached(&spec.argv, spec.user, sup, attach);
                let result = result.map(|(exit, run)| {
                    // Even a run killed by a restart used what it used: keep it.
                    let stored = coverage_file
                        .map(|path| Coverage::merge_into(&path, &run).map_err(|e| e.to_string()));
                    let _ = tx.send(Incoming::Msg(Msg::CoverageRun { run, stored }));
                    exit
                });
                let _ = tx.send(Incoming::Exited(number, result.map_err(|e| e.to_string())));
            })
        } else {
            let (health_tx, health_rx) = mpsc::channel::<Vec<Health>>();
            let forward = tx.clone();
            std::thread::spawn(move || {
                for health in health_rx {
                    if forward.send(Incoming::Health(number, health)).is_err() {
                        break;
                    }
                }
            });
            let logs = LogOptions {
                wanted: setup.sources,
                updates: Some(health_tx),
                ..LogOptions::default()
            };
            std::thread::spawn(move || {
                let result = match launch {
                    Some(launch) => crate::container::session::run(launch, sup, &logs, attach),
                    None => session::run_attached_with_logs(spec, sup, attach, &logs),
                };
                let _ = tx.send(Incoming::Exited(number, result.map_err(|e| e.to_string())));
            })
        };
        Runner {
            number,
            pid,
            thread: Some(thread),
        }
    }

    fn pid(&self) -> Option<u32> {
        let p = self.pid.load(Ordering::SeqCst);
        (p > 0).then_some(p as u32)
    }

    /// Kills the workload's process group and waits (at most 3 s) for the run to
    /// end; true when it did.
    ///
    /// A supervisor waiting for the answer to a held call cannot end, so while
    /// waiting, held calls still on their way in `rx` are answered (kill: the
    /// workload is being killed anyway); what else arrives goes to `kept`, in order.
    /// Without `rx` (quitting: the receiver is gone) nobody waits for answers.
    fn stop(
        &mut self,
        rx: Option<&mpsc::Receiver<Incoming>>,
        kept: &mut VecDeque<Incoming>,
    ) -> bool {
        if let Some(pid) = self.pid() {
            // SAFETY: plain syscall on the workload's own process group.
            unsafe { libc::kill(-(pid as i32), libc::SIGKILL) };
        }
        let Some(thread) = self.thread.take() else {
            return true;
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        while !thread.is_finished() && Instant::now() < deadline {
            match rx.map(|rx| rx.recv_timeout(Duration::from_millis(10))) {
                Some(Ok(Incoming::Hold(_, req))) => {
                    let _ = req.reply.send(HoldAnswer::Kill);
                }
                Some(Ok(other)) => kept.push_back(other),
                Some(Err(mpsc::RecvTimeoutError::Timeout)) => {}
                None | Some(Err(mpsc::RecvTimeoutError::Disconnected)) => {
                    std::thread::sleep(Duration::from_millis(10))
                }
            }
        }
        let ended = thread.is_finished();
        if ended {
            let _ = thread.join();
        }
        ended
    }
}

/// Messages that belong to one run of the workload.
fn of_the_run(m: &Msg) -> bool {
    matches!(
        m,
        Msg::Event(_)
            | Msg::Hold { .. }
            | Msg::Output { .. }
            | Msg::Started { .. }
            | Msg::Exited(_)
            | Msg::RunFailed(_)
            | Msg::Health(_)
    )
}

/// stdin from /dev/null; stdout and stderr into pipes read line by line.
fn capture(number: usize, tx: &mpsc::Sender<Incoming>) -> std::io::Result<[OwnedFd; 3]> {
    let null = OwnedFd::from(std::fs::File::open("/dev/null")?);
    let mut ends = Vec::new();
    for err in [false, true] {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(std::io::Error::from)?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut reader = std::io::BufReader::new(std::fs::File::from(read));
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf)
                            .trim_end_matches(['\n', '\r'])
                            .replace('\t', "    ");
                        if tx.send(Incoming::Output(number, line, err)).is_err() {
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

/// Saves through the edit engine's text; `expected_old: None` creates a new file.
fn save(path: &Path, text: &str, expected_old: Option<&str>) -> Result<(), String> {
    match expected_old {
        Some(old) => crate::profile::save::save(path, text, old)
            .map(|_| ())
            .map_err(|e| e.to_string().lines().next().unwrap_or("").to_string()),
        None => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| {
                    format!(
                        "{}: {e} (not overwriting it; run with -p {0} to edit it)",
                        path.display()
                    )
                })?;
            f.write_all(text.as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(|e| format!("{}: {e}", path.display()))
        }
    }
}

/// Watches the profile's directory; a change to the file sends its new text.
fn watch(path: &Path, tx: &mpsc::Sender<Incoming>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let name = path.file_name()?.to_os_string();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = path.to_path_buf();
    let tx = tx.clone();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let Ok(event) = res else { return };
        if event.kind.is_access() || !event.paths.iter().any(|p| p.file_name() == Some(&name)) {
            return;
        }
        // Editors write in steps: let a burst settle before reading.
        std::thread::sleep(Duration::from_millis(30));
        if let Ok(text) = std::fs::read_to_string(&file) {
            let _ = tx.send(Incoming::Msg(Msg::FileChanged(text)));
        }
    })
    .ok()?;
    watcher
        .watch(&dir, notify::RecursiveMode::NonRecursive)
        .ok()?;
    Some(watcher)
}

fn key_msg(k: crossterm::event::KeyEvent) -> Option<Msg> {
    if k.kind != KeyEventKind::Press {
        return None;
    }
    let mods = if k.modifiers.contains(KeyModifiers::CONTROL) {
        Mods::CTRL
    } else {
        Mods::NONE
    };
    let key = match k.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Tab | KeyCode::BackTab => Key::Tab,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    };
    Some(Msg::Key(key, mods))
}

/// Reads the terminal until told to stop.
fn input(tx: mpsc::Sender<Incoming>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        if !term::poll(Duration::from_millis(100)).unwrap_or(false) {
            continue;
        }
        let msg = match term::read() {
            Ok(term::Event::Key(k)) => key_msg(k),
            Ok(term::Event::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollDown => Some(Msg::Scroll(1)),
                MouseEventKind::ScrollUp => Some(Msg::Scroll(-1)),
                MouseEventKind::Down(MouseButton::Left) => Some(Msg::Click {
                    column: m.column,
                    row: m.row,
                }),
                _ => None,
            },
            Ok(term::Event::Resize(width, height)) => Some(Msg::Resize { width, height }),
            Ok(_) => None,
            Err(_) => break,
        };
        if let Some(msg) = msg {
            if tx.send(Incoming::Msg(msg)).is_err() {
                break;
            }
        }
    }
}

/// Runs the TUI until the user quits; returns the last run's exit status.
pub fn run(setup: Setup) -> std::io::Result<u8> {
    let (tx, rx) = mpsc::channel::<Incoming>();
    let app = App::new(setup.profile.clone(), setup.config.clone());
    let coverage = setup
        .config
        .coverage
        .then(|| setup.config.path.as_deref().map(Coverage::path_for));
    let runner = Runner::start(&setup, 1, &setup.profile.text, coverage, &tx);
    drive(Some(&setup), app, tx, rx, runner)
}

/// The same UI without a workload (`eperm watch`, `eperm replay`): events come
/// from `events` until it closes, the log sources' health from `health`; `r` has
/// nothing to restart.
pub fn view(
    profile: crate::profile::Profile,
    config: app::Config,
    events: mpsc::Receiver<Event>,
    health: Option<mpsc::Receiver<Vec<Health>>>,
) -> std::io::Result<()> {
    let (tx, rx) = mpsc::channel::<Incoming>();
    let app = App::new(profile, config);
    let forward = tx.clone();
    std::thread::spawn(move || {
        for e in events {
            if forward.send(Incoming::Event(1, e)).is_err() {
                break;
            }
        }
    });
    if let Some(health) = health {
        let forward = tx.clone();
        std::thread::spawn(move || {
            for h in health {
                if forward.send(Incoming::Health(1, h)).is_err() {
                    break;
                }
            }
        });
    }
    let runner = Runner {
        number: 1,
        pid: Arc::new(AtomicI32::new(0)),
        thread: None,
    };
    drive(None, app, tx, rx, runner).map(|_| ())
}

/// The loop: input, messages and effects until the user quits.
fn drive(
    setup: Option<&Setup>,
    mut app: App,
    tx: mpsc::Sender<Incoming>,
    rx: mpsc::Receiver<Incoming>,
    mut runner: Runner,
) -> std::io::Result<u8> {
    let theme = Theme::from_env();
    let mut watcher = app.path.as_deref().and_then(|p| watch(p, &tx));
    let screen = Screen::enter()?;
    let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
    terminal.clear()?;
    let size = terminal.size()?;
    app.update(Msg::Resize {
        width: size.width,
        height: size.height,
    });
    // What earlier coverage runs left next to the profile: the Coverage view goes on from there.
    if let Some(path) = app.path.as_deref().filter(|_| !app.path_pending) {
        match Coverage::load(&Coverage::path_for(path)) {
            Ok(stored) => {
                app.update(Msg::CoverageLoaded(stored));
            }
            Err(e) => _ = app.update(Msg::CoverageUnreadable(e.to_string())),
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let input_thread = {
        let tx = tx.clone();
        let stop = stop.clone();
        std::thread::spawn(move || input(tx, stop))
    };
    let mut replies: HashMap<u64, mpsc::Sender<HoldAnswer>> = HashMap::new();
    let mut next_hold = 0u64;
    let started = Instant::now();
    let mut last_tick = Instant::now();
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let mut last_exit: Option<WorkloadExit> = None;
    // Read while a run was being stopped, to be handled first.
    let mut kept: VecDeque<Incoming> = VecDeque::new();
    'outer: loop {
        if PANICKED.load(Ordering::SeqCst) {
            break;
        }
        let mut msgs: Vec<Msg> = Vec::new();
        let first = match kept.pop_front() {
            Some(incoming) => Some(incoming),
            None => rx.recv_timeout(Duration::from_millis(16)).ok(),
        };
        let mut batch = 0;
        let mut next = first;
        while let Some(incoming) = next {
            match incoming {
                Incoming::Msg(Msg::FileChanged(text)) => {
                    // Read again now: a late notice of our own earlier write must
                    // not bring back what the file held then.
                    let fresh = app
                        .path
                        .as_ref()
                        .and_then(|p| std::fs::read_to_string(p).ok());
                    msgs.push(Msg::FileChanged(fresh.unwrap_or(text)));
                }
                Incoming::Msg(m) => msgs.push(m),
                Incoming::Event(n, e) if n == runner.number => msgs.push(Msg::Event(e)),
                Incoming::Output(n, line, err) if n == runner.number => {
                    msgs.push(Msg::Output { line, err })
                }
                Incoming::Exited(n, result) if n == runner.number => {
                    if let Some(pid) = runner.pid() {
                        msgs.push(Msg::Started { pid });
                    }
                    msgs.push(match result {
                        Ok(exit) => {
                            last_exit = Some(exit);
                            Msg::Exited(exit)
                        }
                        Err(why) => Msg::RunFailed(why),
                    })
                }
                Incoming::Hold(n, req) if n == runner.number => {
                    next_hold += 1;
                    replies.insert(next_hold, req.reply);
                    msgs.push(Msg::Hold {
                        id: next_hold,
                        event: req.event,
                    });
                }
                Incoming::Hold(_, req) => {
                    let _ = req.reply.send(HoldAnswer::Kill);
                }
                Incoming::Health(n, health) if n == runner.number => msgs.push(Msg::Health(health)),
                _ => {}
            }
            batch += 1;
            // Keep drawing under a flood: at most ~10 000 messages between frames.
            next = if batch >= 10_000 {
                None
            } else if let Some(incoming) = kept.pop_front() {
                Some(incoming)
            } else {
                rx.try_recv().ok()
            };
        }
        if app.run.pid.is_none() {
            if let Some(pid) = runner.pid() {
                msgs.insert(0, Msg::Started { pid });
            }
        }
        if last_tick.elapsed() >= Duration::from_millis(100) {
            last_tick = Instant::now();
            msgs.push(Msg::Tick {
                now_ms: started.elapsed().as_millis() as u64,
            });
            dirty = true; // countdowns and times move
        }
        let mut work: std::collections::VecDeque<Msg> = msgs.into();
        while let Some(msg) = work.pop_front() {
            dirty = true;
            for effect in app.update(msg) {
                match effect {
                    Effect::Save {
                        path,
                        text,
                        expected_old,
                    } => {
                        let first = watcher.is_none();
                        match save(&path, &text, expected_old.as_deref()) {
                            Ok(()) => {
                                if first {
                                    watcher = watch(&path, &tx);
                                }
                                work.push_back(Msg::Saved { path, text });
                            }
                            Err(why) => work.push_back(Msg::SaveFailed(why)),
                        }
                    }
                    Effect::Restart {
                        profile_text,
                        coverage,
                    } => {
                        // Calls still waiting for an answer get one, so their supervisor can end.
                        for (_, reply) in replies.drain() {
                            let _ = reply.send(HoldAnswer::Kill);
                        }
                        runner.stop(Some(&rx), &mut kept);
                        // What the old run sent in this batch is not the new run's.
                        work.retain(|m| !of_the_run(m));
                        // Without a workload (watching) the App asks for no restart.
                        if let Some(setup) = setup {
                            let file = app
                                .path
                                .as_deref()
                                .filter(|_| !app.path_pending)
                                .map(Coverage::path_for);
                            let coverage = coverage.then_some(file);
                            runner = Runner::start(
                                setup,
                                runner.number + 1,
                                &profile_text,
                                coverage,
                                &tx,
                            );
                        }
                    }
                    Effect::AnswerHold { id, answer } => {
                        if let Some(reply) = replies.remove(&id) {
                            let _ = reply.send(answer);
                        }
                    }
                    Effect::StoreCoverage { path, coverage } => {
                        if let Err(e) = Coverage::merge_into(&path, &coverage) {
                            work.push_back(Msg::SaveFailed(e.to_string()));
                        }
                    }
                    Effect::Quit => break 'outer,
                }
            }
        }
        let due = last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(16));
        // After a panic the terminal is restored: drawing would scribble on it.
        if dirty && due && !PANICKED.load(Ordering::SeqCst) {
            terminal.draw(|f| ui::draw(f, &app, &theme))?;
            if last_draw.is_none() {
                debug_panic();
            }
            last_draw = Some(Instant::now());
            dirty = false;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for (_, reply) in replies.drain() {
        let _ = reply.send(HoldAnswer::Kill);
    }
    // Held calls still on their way find nobody and are let go, so the supervisor
    // never waits for an answer while the workload is being killed.
    drop(rx);
    runner.stop(None, &mut kept);
    drop(terminal);
    drop(screen);
    let _ = input_thread.join();
    if PANICKED.load(Ordering::SeqCst) {
        return Err(std::io::Error::other(
            "a thread of eperm panicked (above); the workload was killed",
        ));
    }
    Ok(last_exit.map_or(0, |e| e.code()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::event;

    /// A stand-in for a run whose supervisor holds a call: it sends the request,
    /// then cannot end before someone answers it (or drops the reply).
    fn holding_run(tx: &mpsc::Sender<Incoming>) -> (Runner, mpsc::Receiver<Option<HoldAnswer>>) {
        let (answered_tx, answered) = mpsc::channel();
        let tx = tx.clone();
        let thread = std::thread::spawn(move || {
            let (reply, answer) = mpsc::channel();
            let req = HoldRequest {
                event: event("mkdir", 1, 0),
                reply,
            };
            tx.send(Incoming::Output(1, "before".into(), false))
                .unwrap();
            tx.send(Incoming::Hold(1, req)).unwrap();
            tx.send(Incoming::Output(1, "after".into(), false)).unwrap();
            let _ = answered_tx.send(answer.recv().ok());
        });
        let runner = Runner {
            number: 1,
            pid: Arc::new(AtomicI32::new(0)),
            thread: Some(thread),
        };
        (runner, answered)
    }

    #[test]
    fn stopping_a_run_answers_the_held_call_it_waits_for() {
        let (tx, rx) = mpsc::channel();
        let (mut runner, answered) = holding_run(&tx);
        let mut kept = VecDeque::new();
        assert!(runner.stop(Some(&rx), &mut kept), "the run did not end");
        assert_eq!(answered.recv().unwrap(), Some(HoldAnswer::Kill));
        // Everything else read meanwhile is kept, in order, for the loop; what the
        // wait did not read is still in the channel, after it.
        let lines: Vec<String> = kept
            .into_iter()
            .chain(rx.try_iter())
            .map(|i| match i {
                Incoming::Output(_, line, _) => line,
                _ => panic!("only output was sent"),
            })
            .collect();
        assert_eq!(lines, ["before", "after"]);
    }

    #[test]
    fn only_messages_of_a_run_are_dropped_at_a_restart() {
        assert!(of_the_run(&Msg::Event(event("mkdir", 1, 0))));
        assert!(of_the_run(&Msg::Hold {
            id: 1,
            event: event("mkdir", 1, 0)
        }));
        assert!(!of_the_run(&Msg::Key(Key::Char('q'), Mods::NONE)));
        assert!(!of_the_run(&Msg::FileChanged(String::new())));
        assert!(!of_the_run(&Msg::CoverageRun {
            run: Coverage::default(),
            stored: None
        }));
    }
}

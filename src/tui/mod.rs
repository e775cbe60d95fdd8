//! The TUI: the event loop that feeds the App and carries out its effects —
//! saving, asking the session layer for runs, answering held calls, quitting.
//!
//! Threads feed one bounded queue (`queue.rs`): terminal input (`terminal.rs`),
//! the runs' reports ([`crate::session::live`]) and the profile's watcher
//! (`files.rs`). The loop drains it in batches and draws at most every 16 ms.

mod files;
mod queue;
mod terminal;

use crate::app::{self, App, Effect, Msg};
use crate::coverage::Coverage;
use crate::error::FileOp;
use crate::files::Pin;
use crate::run::HoldAnswer;
use crate::session::live::{CoverageRun, Live, LiveOptions, LiveReport, Runner, Sink};
use crate::session::Session;
use crate::sources::event::Event;
use crate::sources::health::Health;
use crate::ui::{self, Theme};
use files::{reread, save, watch};
use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::Terminal;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use terminal::{Screen, PANICKED};

/// What reaches the loop.
enum Incoming {
    Msg(Msg),
    Run(LiveReport),
}

/// The runs' reports into the loop's channel.
fn sink(tx: &queue::Sender) -> Sink {
    let tx = tx.clone();
    Arc::new(move |report| tx.send(Incoming::Run(report)).is_ok())
}

/// Messages that belong to one run of the workload.
fn of_the_run(m: &Msg) -> bool {
    matches!(
        m,
        Msg::Event(_)
            | Msg::Layer(_)
            | Msg::Hold { .. }
            | Msg::HoldWithdrawn { .. }
            | Msg::Output { .. }
            | Msg::Started { .. }
            | Msg::Exited(_)
            | Msg::RunFailed(_)
            | Msg::Health(_)
    )
}

/// Runs the TUI on `session` until the user quits; returns the last run's exit status.
pub fn run(session: Session, options: LiveOptions) -> std::io::Result<u8> {
    let config = app::Config {
        command: session.command(),
        mode: options.mode_name(&session),
        enforce: session.enforce,
        hold: options.holds(&session),
        hold_timeout_ms: options.hold_timeout.as_millis() as u64,
        autosave: options.autosave,
        rerun_on_save: options.rerun_on_save,
        coverage: options.coverage,
        path: session.profile.file_path(),
        watching: false,
        runtime: session.target.runtime.clone(),
        target: Some(session.target.clone()),
        report: options.report.clone(),
    };
    let (tx, rx) = queue::queue(queue::TUI_QUEUE);
    let app = App::new(session.profile.clone(), config);
    let coverage = match options.coverage {
        true => CoverageRun::On {
            file: app.path.as_deref().map(Coverage::path_for),
        },
        false => CoverageRun::Off,
    };
    let runs = Runner::new(session, options.events, sink(&tx));
    let first = runs.start(1, &runs.session().profile.text, coverage);
    Loop::new(Some(runs), app, tx, rx, first).drive()
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
    let (tx, rx) = queue::queue(queue::TUI_QUEUE);
    let app = App::new(profile, config);
    let forward = sink(&tx);
    std::thread::spawn(move || {
        for e in events {
            if !forward(LiveReport::Event(1, e)) {
                break;
            }
        }
    });
    if let Some(health) = health {
        let forward = sink(&tx);
        std::thread::spawn(move || {
            for h in health {
                if !forward(LiveReport::Health(1, h)) {
                    break;
                }
            }
        });
    }
    Loop::new(None, app, tx, rx, Live::none(1))
        .drive()
        .map(|_| ())
}

/// The loop's state between messages.
/// How the loop ended: the last run's exit status, and the session's diff.
struct Ended {
    code: u8,
    diff: String,
}

struct Loop {
    /// `None` when watching: there is no workload to run again.
    runs: Option<Runner>,
    app: App,
    tx: queue::Sender,
    rx: queue::Receiver,
    /// Events the queue dropped that the App was told of.
    dropped_told: u64,
    /// The current run; reports of earlier ones are dropped.
    live: Live,
    /// Held calls waiting for the user, by the id the App knows them by.
    replies: HashMap<u64, (mpsc::Sender<HoldAnswer>, Arc<AtomicBool>)>,
    next_hold: u64,
    /// Read while a run was being stopped, to be handled first.
    kept: VecDeque<Incoming>,
    watcher: Option<notify::RecommendedWatcher>,
    last_exit: Option<crate::run::WorkloadExit>,
    /// The save the App asked for last, not written yet (see [`Loop::update`]).
    pending: Option<(std::path::PathBuf, String, Option<String>)>,
    /// Saves written, for the tests.
    writes: u64,
    /// The profile's file as the session found it: saves go there, or nowhere.
    pin: Option<Pin>,
}

impl Loop {
    fn new(
        runs: Option<Runner>,
        app: App,
        tx: queue::Sender,
        rx: queue::Receiver,
        live: Live,
    ) -> Loop {
        let pin = match app.path_pending {
            false => app.path.as_deref().and_then(|p| Pin::take(p).ok()),
            true => None,
        };
        Loop {
            runs,
            app,
            tx,
            rx,
            dropped_told: 0,
            live,
            replies: HashMap::new(),
            next_hold: 0,
            kept: VecDeque::new(),
            watcher: None,
            last_exit: None,
            pending: None,
            writes: 0,
            pin,
        }
    }

    /// On the real terminal, with the input thread reading keys and the mouse.
    fn drive(self) -> std::io::Result<u8> {
        // SIGTERM, SIGINT, SIGHUP end the loop as `q` does: the terminal is
        // restored (below) instead of left raw in the alternate screen.
        crate::signals::catch_interrupts().map_err(std::io::Error::from)?;
        let screen = Screen::enter()?;
        let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        terminal.clear()?;
        let stop = Arc::new(AtomicBool::new(false));
        let input_thread = {
            let (tx, stop) = (self.tx.clone(), stop.clone());
            std::thread::spawn(move || terminal::input(tx, stop))
        };
        let result = self.drive_on(&mut terminal);
        stop.store(true, Ordering::Relaxed);
        drop(terminal);
        drop(screen);
        // The reader may be inside crossterm's read, which can block past `stop`
        // (a key that made no event) and spin once the terminal is gone (its
        // window closed): waited for briefly, then left to end with the process,
        // which a caught SIGHUP no longer ends for it.
        let waited = Instant::now();
        while !input_thread.is_finished() && waited.elapsed() < Duration::from_millis(300) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if input_thread.is_finished() {
            let _ = input_thread.join();
        }
        let ended = result?;
        // What the session changed, once the screen is back: for the terminal's scrollback.
        if !ended.diff.is_empty() {
            eprint!(
                "eperm: the profile's changes in this session:\n{}",
                ended.diff
            );
        }
        Ok(ended.code)
    }

    /// Messages, effects and frames on `terminal` until the user quits; input
    /// comes in on the loop's channel like everything else.
    fn drive_on<B: Backend>(mut self, terminal: &mut Terminal<B>) -> std::io::Result<Ended> {
        let theme = Theme::from_env();
        self.watcher = self.app.path.as_deref().and_then(|p| watch(p, &self.tx));
        let size = terminal.size()?;
        self.app.update(Msg::Resize {
            width: size.width,
            height: size.height,
        });
        self.load_coverage();
        let started = Instant::now();
        let mut last_tick = Instant::now();
        let mut last_draw: Option<Instant> = None;
        let mut dirty = true;
        while !PANICKED.load(Ordering::SeqCst) {
            let mut msgs = self.gather();
            if last_tick.elapsed() >= Duration::from_millis(100) {
                last_tick = Instant::now();
                msgs.push_back(Msg::Tick {
                    now_ms: started.elapsed().as_millis() as u64,
                });
                dirty = true; // countdowns and times move
            }
            dirty |= !msgs.is_empty();
            if self.update(msgs) == Flow::Quit {
                break;
            }
            if crate::signals::interrupted() {
                // No one to ask: the saves waiting are written, unsaved edits stay so.
                self.write_pending();
                break;
            }
            let due = last_draw.is_none_or(|t| t.elapsed() >= Duration::from_millis(16));
            // After a panic the terminal is restored: drawing would scribble on it.
            if dirty && due && !PANICKED.load(Ordering::SeqCst) {
                terminal.draw(|f| ui::draw(f, &self.app, &theme))?;
                if last_draw.is_none() {
                    terminal::debug_panic();
                }
                last_draw = Some(Instant::now());
                dirty = false;
            }
        }
        self.answer_all(HoldAnswer::Kill);
        // Held calls still on their way find nobody and are let go, so the supervisor
        // never waits for an answer while the workload is being killed.
        drop(self.rx);
        self.live.stop(std::thread::sleep);
        if PANICKED.load(Ordering::SeqCst) {
            return Err(std::io::Error::other(
                "a thread of eperm panicked (above); the workload was killed",
            ));
        }
        Ok(Ended {
            code: self.last_exit.map_or(0, |e| e.code()),
            diff: self.app.session_diff(false),
        })
    }

    /// What earlier coverage runs left next to the profile: the Coverage view goes on from there.
    fn load_coverage(&mut self) {
        let app = &mut self.app;
        if let Some(path) = app.path.as_deref().filter(|_| !app.path_pending) {
            match Coverage::load(&Coverage::path_for(path)) {
                Ok(stored) => {
                    app.update(Msg::CoverageLoaded(stored));
                }
                Err(e) => _ = app.update(Msg::CoverageUnreadable(e.to_string())),
            }
        }
    }

    /// The messages of one batch: what waits (at most 16 ms for the first), at
    /// most ~10 000 so that a flood still lets the screen be drawn.
    fn gather(&mut self) -> VecDeque<Msg> {
        let mut msgs = VecDeque::new();
        let mut next = match self.kept.pop_front() {
            Some(incoming) => Some(incoming),
            None => self.rx.recv_timeout(Duration::from_millis(16)).ok(),
        };
        let mut batch = 0;
        while let Some(incoming) = next {
            msgs.extend(self.message(incoming));
            batch += 1;
            next = if batch >= 10_000 {
                None
            } else if let Some(incoming) = self.kept.pop_front() {
                Some(incoming)
            } else {
                self.rx.try_recv().ok()
            };
        }
        let dropped = self.tx.dropped();
        if dropped > self.dropped_told {
            self.dropped_told = dropped;
            msgs.push_back(Msg::ShownDropped(dropped));
        }
        // Held calls whose caller is gone: withdrawn, not asked until they time out.
        let gone: Vec<u64> = self
            .replies
            .iter()
            .filter(|(_, (_, gone))| gone.load(Ordering::SeqCst))
            .map(|(&id, _)| id)
            .collect();
        for id in gone {
            self.replies.remove(&id);
            msgs.push_back(Msg::HoldWithdrawn { id });
        }
        if self.app.run.pid.is_none() {
            if let Some(pid) = self.live.pid() {
                msgs.push_front(Msg::Started { pid });
            }
        }
        msgs
    }

    /// What one incoming thing means to the App; reports of earlier runs mean nothing.
    fn message(&mut self, incoming: Incoming) -> Vec<Msg> {
        let current = self.live.number();
        let report = match incoming {
            Incoming::Msg(Msg::FileChanged(text)) => {
                // Read again now: a late notice of our own earlier write must
                // not bring back what the file held then.
                return match self.app.path.clone() {
                    Some(path) => vec![reread(&path, self.pin.as_mut())],
                    None => vec![Msg::FileChanged(text)],
                };
            }
            Incoming::Msg(m) => return vec![m],
            Incoming::Run(report) => report,
        };
        match report {
            LiveReport::Event(n, e) if n == current => vec![Msg::Event(e)],
            LiveReport::Layer(n, w) if n == current => vec![Msg::Layer(w)],
            LiveReport::Output(n, line, err) if n == current => vec![Msg::Output { line, err }],
            LiveReport::Exited(n, result) if n == current => {
                let mut msgs: Vec<Msg> = self
                    .live
                    .pid()
                    .map(|pid| Msg::Started { pid })
                    .into_iter()
                    .collect();
                msgs.push(match result {
                    Ok(exit) => {
                        self.last_exit = Some(exit);
                        Msg::Exited(exit)
                    }
                    Err(why) => Msg::RunFailed(why),
                });
                msgs
            }
            LiveReport::Hold(n, req) if n == current => {
                self.next_hold += 1;
                self.replies.insert(self.next_hold, (req.reply, req.gone));
                vec![Msg::Hold {
                    id: self.next_hold,
                    event: req.event,
                    was: req.was,
                }]
            }
            LiveReport::Hold(_, req) => {
                let _ = req.reply.send(HoldAnswer::Kill);
                vec![]
            }
            LiveReport::Health(n, health) if n == current => vec![Msg::Health(health)],
            LiveReport::Dropped(n, dropped) if n == current => vec![Msg::EventsDropped(dropped)],
            LiveReport::CoverageLive(n, so_far) if n == current => vec![Msg::CoverageLive(so_far)],
            LiveReport::Coverage {
                run,
                stored,
                counting,
            } => vec![
                Msg::CoverageCounting(counting.short()),
                Msg::CoverageRun { run, stored },
            ],
            _ => vec![],
        }
    }

    /// Feeds `work` to the App and carries out its effects (whose results are
    /// more work).
    ///
    /// Saves are coalesced: a save waits while keys and events follow it in the
    /// batch, and a later save replaces it (both expect the same old text, as
    /// nothing was written in between). It is written before any other message
    /// reaches the App (a file change, a tick, a save's own result), before a
    /// restart or quitting, and at the latest when the batch ends, so every
    /// decision is on disk before the frame that shows it is drawn.
    fn update(&mut self, mut work: VecDeque<Msg>) -> Flow {
        loop {
            let Some(msg) = work.pop_front() else {
                match self.write_pending() {
                    Some(result) => {
                        work.push_back(result);
                        continue;
                    }
                    None => break,
                }
            };
            if self.pending.is_some() && !matches!(msg, Msg::Key(..) | Msg::Event(_)) {
                // What comes may depend on the file (or be the result of a
                // save): the file first.
                work.push_front(msg);
                if let Some(result) = self.write_pending() {
                    work.push_front(result);
                }
                continue;
            }
            for effect in self.app.update(msg) {
                match effect {
                    Effect::Save {
                        path,
                        text,
                        expected_old,
                    } => self.pending = Some((path, text, expected_old)),
                    Effect::Restart {
                        profile_text,
                        coverage,
                    } => {
                        if let Some(result) = self.write_pending() {
                            work.push_front(result);
                        }
                        self.restart(&profile_text, coverage);
                        // What the old run sent in this batch is not the new run's.
                        work.retain(|m| !of_the_run(m));
                    }
                    Effect::AnswerHold { id, answer } => {
                        if let Some((reply, _)) = self.replies.remove(&id) {
                            let _ = reply.send(answer);
                        }
                    }
                    Effect::StoreCoverage { path, coverage } => {
                        if let Err(e) = Coverage::merge_into(&path, &coverage) {
                            work.push_back(Msg::SaveFailed(e.to_string()));
                        }
                    }
                    Effect::Report {
                        path,
                        triage,
                        picked,
                    } => {
                        // The report speaks of the profile on disk: the file first.
                        if let Some(result) = self.write_pending() {
                            work.push_front(result);
                        }
                        work.push_back(Msg::ReportWritten(self.report(path, *triage, picked)));
                    }
                    Effect::Quit => {
                        self.write_pending();
                        return Flow::Quit;
                    }
                }
            }
        }
        Flow::Go
    }

    /// Writes the save that waits, if any: its result, for the App.
    fn write_pending(&mut self) -> Option<Msg> {
        let (path, text, expected_old) = self.pending.take()?;
        self.writes += 1;
        Some(self.save(path, text, expected_old))
    }

    /// Writes the triage report, with the rerun line only the session knows.
    fn report(
        &self,
        path: std::path::PathBuf,
        mut triage: crate::report::Triage,
        picked: bool,
    ) -> Result<std::path::PathBuf, String> {
        if let Some(runs) = &self.runs {
            let session = runs.session();
            let profile = triage.profile.as_deref().unwrap_or("profile.json");
            triage.rerun = Some(session.rerun(profile));
            triage.runtime = session.runtime_name();
        }
        // A path eperm picked (beside the profile) is first checked for
        // who could have planted something there; one the user named is not.
        if picked {
            crate::files::check_picked(&path, FileOp::WriteReport, "name the file: --report FILE")
                .map_err(|e| e.to_string())?;
        }
        crate::files::write(&path, triage.render().as_bytes(), FileOp::WriteReport)
            .map(|()| path.clone())
            .map_err(|e| e.to_string())
    }

    fn save(
        &mut self,
        path: std::path::PathBuf,
        text: String,
        expected_old: Option<String>,
    ) -> Msg {
        let first = self.watcher.is_none();
        match save(&path, &mut self.pin, &text, expected_old.as_deref()) {
            Ok(()) => {
                if first {
                    self.watcher = watch(&path, &self.tx);
                }
                Msg::Saved { path, text }
            }
            Err(e) => Msg::SaveFailed(e.to_string()),
        }
    }

    /// Stops the current run and (with a workload) starts the next under `text`.
    fn restart(&mut self, text: &str, coverage: bool) {
        // Calls still waiting for an answer get one, so their supervisor can end.
        self.answer_all(HoldAnswer::Kill);
        let (rx, kept) = (&self.rx, &mut self.kept);
        self.live
            .stop(|timeout| stash_while_stopping(rx, kept, timeout));
        // Without a workload (watching) the App asks for no restart.
        let Some(runs) = &self.runs else { return };
        let coverage = match coverage {
            true => CoverageRun::On {
                file: self
                    .app
                    .path
                    .as_deref()
                    .filter(|_| !self.app.path_pending)
                    .map(Coverage::path_for),
            },
            false => CoverageRun::Off,
        };
        self.live = runs.start(self.live.number() + 1, text, coverage);
    }

    fn answer_all(&mut self, answer: HoldAnswer) {
        for (_, (reply, _)) in self.replies.drain() {
            let _ = reply.send(answer);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Quit,
}

/// While a run is being stopped: held calls on their way are answered (kill: the
/// workload is being killed anyway), so that their supervisor can end; what else
/// arrives goes to `kept`, in order, for the loop.
fn stash_while_stopping(rx: &queue::Receiver, kept: &mut VecDeque<Incoming>, timeout: Duration) {
    match rx.recv_timeout(timeout) {
        Ok(Incoming::Run(LiveReport::Hold(_, req))) => {
            let _ = req.reply.send(HoldAnswer::Kill);
        }
        Ok(other) => kept.push_back(other),
        Err(mpsc::RecvTimeoutError::Timeout) => {}
        Err(mpsc::RecvTimeoutError::Disconnected) => std::thread::sleep(timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::{self, event};
    use crate::app::{Key, Mods};
    use crate::run::HoldRequest;
    use ratatui::backend::TestBackend;

    /// A stand-in for a run whose supervisor holds a call: it sends the request,
    /// then cannot end before someone answers it (or drops the reply).
    fn holding_run(tx: &queue::Sender) -> (Live, mpsc::Receiver<Option<HoldAnswer>>) {
        let (answered_tx, answered) = mpsc::channel();
        let tx = tx.clone();
        let thread = std::thread::spawn(move || {
            let (reply, answer) = mpsc::channel();
            let req = HoldRequest {
                event: event("mkdir", 1, 0),
                was: None,
                reply,
                gone: Default::default(),
            };
            let send = |r| tx.send(Incoming::Run(r)).unwrap();
            send(LiveReport::Output(1, "before".into(), false));
            send(LiveReport::Hold(1, req));
            send(LiveReport::Output(1, "after".into(), false));
            let _ = answered_tx.send(answer.recv().ok());
        });
        (Live::on_thread(1, thread), answered)
    }

    #[test]
    fn stopping_a_run_answers_the_held_call_it_waits_for() {
        let (tx, rx) = queue::queue(queue::TUI_QUEUE);
        let (mut live, answered) = holding_run(&tx);
        let mut kept = VecDeque::new();
        assert!(
            live.stop(|timeout| stash_while_stopping(&rx, &mut kept, timeout)),
            "the run did not end"
        );
        assert_eq!(answered.recv().unwrap(), Some(HoldAnswer::Kill));
        // Everything else read meanwhile is kept, in order, for the loop; what the
        // wait did not read is still in the channel, after it.
        let lines: Vec<String> = kept
            .into_iter()
            .chain(rx.try_iter())
            .map(|i| match i {
                Incoming::Run(LiveReport::Output(_, line, _)) => line.to_string(),
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
            event: event("mkdir", 1, 0),
            was: None,
        }));
        assert!(!of_the_run(&Msg::Key(Key::Char('q'), Mods::NONE)));
        assert!(!of_the_run(&Msg::FileChanged(String::new())));
        assert!(!of_the_run(&Msg::CoverageRun {
            run: Coverage::default(),
            stored: None
        }));
    }

    /// A fresh directory holding the test profile as `name`, and its path.
    fn profile_file(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, testing::PROFILE).unwrap();
        (dir, path)
    }

    /// The loop on the profile at `path`, with no run and no terminal.
    fn loop_on(path: &std::path::Path) -> Loop {
        let profile = crate::profile::load_file(path).unwrap();
        let app = App::new(profile, testing::config(Some(path.to_str().unwrap())));
        let (tx, rx) = queue::queue(queue::TUI_QUEUE);
        Loop::new(None, app, tx, rx, Live::none(1))
    }

    fn press(c: char) -> Msg {
        Msg::Key(Key::Char(c), Mods::NONE)
    }

    /// Drives the loop on `incoming` (all queued before it starts, so that one
    /// batch holds them) plus a `q` sent once `done(file)` holds or after 10 s;
    /// returns the screen of the last frame and the exit code.
    fn drive_until(
        path: &std::path::Path,
        incoming: Vec<Incoming>,
        done: impl Fn(&str) -> bool + Send + 'static,
    ) -> (String, u8) {
        let profile = crate::profile::load_file(path).unwrap();
        let config = testing::config(Some(path.to_str().unwrap()));
        let (tx, rx) = queue::queue(queue::TUI_QUEUE);
        for i in incoming {
            tx.send(i).unwrap();
        }
        let quitter = {
            let (tx, path) = (tx.clone(), path.to_path_buf());
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(10);
                while Instant::now() < deadline {
                    if done(&std::fs::read_to_string(&path).unwrap_or_default()) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                // Sent whether or not the save came: the loop must end either way
                // (a second `q` answers the prompt that unsaved edits bring up).
                for _ in 0..2 {
                    let _ = tx.send(Incoming::Msg(Msg::Key(Key::Char('q'), Mods::NONE)));
                }
            })
        };
        let app = App::new(profile, config);
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let code = Loop::new(None, app, tx, rx, Live::none(1))
            .drive_on(&mut terminal)
            .unwrap()
            .code;
        quitter.join().unwrap();
        let screen = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        (screen, code)
    }

    fn allowed(path: &std::path::Path, name: &str) -> bool {
        let saved = crate::profile::load_file(path).unwrap();
        saved.rules.iter().any(|r| {
            r.action == crate::profile::Action::Allow && r.names.iter().any(|n| n.name == name)
        })
    }

    /// Three rows and `a j a j a` in one batch, as a fast typist sends them: each
    /// save's result reaches the App before the next key, so no save is refused
    /// as an outside change and the file ends with all three allowances.
    #[test]
    fn a_burst_of_decisions_in_one_batch_saves_every_one() {
        let (_dir, path) = profile_file("p.json");
        let mut incoming: Vec<Incoming> = ["mkdir", "rmdir", "chmod"]
            .into_iter()
            .map(|name| Incoming::Run(LiveReport::Event(1, event(name, 1, 0))))
            .collect();
        incoming.extend("ajaja".chars().map(|c| Incoming::Msg(press(c))));
        let (screen, _) = drive_until(&path, incoming, |text| {
            ["mkdir", "rmdir", "chmod"].iter().all(|n| text.contains(n))
        });
        for name in ["mkdir", "rmdir", "chmod"] {
            assert!(
                allowed(&path, name),
                "{name} not saved:\n{}\n{screen}",
                std::fs::read_to_string(&path).unwrap()
            );
        }
        assert!(screen.contains("profile [saved]"), "{screen}");
        assert!(!screen.contains("not saved"), "{screen}");
    }

    /// Issue 33: a run's events beyond the loop's queue are dropped, counted,
    /// and said on the message line; the rows count the ones that came.
    #[test]
    fn events_the_loop_s_queue_drops_are_said_on_the_message_line() {
        let (_dir, path) = profile_file("p.json");
        let profile = crate::profile::load_file(&path).unwrap();
        let app = App::new(profile, testing::config(Some(path.to_str().unwrap())));
        let (tx, rx) = queue::queue(4);
        let runs = sink(&tx);
        for pid in 1..=7 {
            assert!(runs(LiveReport::Event(1, event("mkdir", pid, 0))));
        }
        let mut l = Loop::new(None, app, tx, rx, Live::none(1));
        let batch = l.gather();
        assert!(
            batch.iter().any(|m| matches!(m, Msg::ShownDropped(3))),
            "{batch:?}"
        );
        l.update(batch);
        assert_eq!(l.app.hits(), 4);
        assert!(
            l.app
                .message
                .starts_with("3 events dropped: the screen fell behind"),
            "{}",
            l.app.message
        );
        // Said once: a later batch without new drops says nothing of them.
        assert!(!l.gather().iter().any(|m| matches!(m, Msg::ShownDropped(_))));
    }

    /// One batch of events and `a j a j a` through the loop's update: one write
    /// holds all three decisions, done before the batch ends (before its frame).
    #[test]
    fn a_burst_in_one_batch_is_coalesced_into_one_write() {
        let (_dir, path) = profile_file("p.json");
        let mut l = loop_on(&path);
        let mut batch: VecDeque<Msg> = ["mkdir", "rmdir", "chmod"]
            .into_iter()
            .map(|name| Msg::Event(event(name, 1, 0)))
            .collect();
        batch.extend("ajaja".chars().map(press));
        assert_eq!(l.update(batch), Flow::Go);
        assert_eq!(l.writes, 1);
        for name in ["mkdir", "rmdir", "chmod"] {
            assert!(allowed(&path, name), "{name} not saved");
        }
        assert_eq!(l.app.file_state, app::FileState::Saved);
        // Allowed and undone within a batch: the write puts the file back as it was.
        let batch: VecDeque<Msg> = "juau".chars().map(press).collect();
        l.update(batch);
        assert!(
            !allowed(&path, "chmod"),
            "{}",
            std::fs::read_to_string(&path).unwrap()
        );
        assert_eq!(l.app.file_state, app::FileState::Saved);
        assert_eq!(
            l.app.disk_text.as_deref(),
            Some(l.app.profile.text.as_str())
        );
        // A file change behind a decision: the decision is written first, so the
        // change is seen as what it is (here, our own text: nothing to do).
        let text = std::fs::read_to_string(&path).unwrap();
        let batch = VecDeque::from([press('a'), Msg::FileChanged(text)]);
        l.update(batch);
        assert!(allowed(&path, "chmod"));
        assert!(l.app.prompt.is_none(), "{:?}", l.app.prompt);
        assert_eq!(l.app.file_state, app::FileState::Saved);
    }

    /// Issue 26: the profile swapped for a link to another file mid-session
    /// (by whoever can write its directory): `a` saves nothing there, and the
    /// status says where the path leads now; a reload does not re-pin there.
    #[test]
    fn a_profile_swapped_for_a_link_is_not_saved_through() {
        let (dir, path) = profile_file("u.json");
        let mut l = loop_on(&path);
        let elsewhere = dir.path().join("root-owned.json");
        std::fs::write(&elsewhere, testing::PROFILE).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        let resolved = std::fs::canonicalize(&elsewhere).unwrap();
        // The watcher's notice: not reloaded, and why.
        let msgs = l.message(Incoming::Msg(Msg::FileChanged(String::new())));
        l.update(msgs.into());
        assert!(
            l.app.message.contains(&resolved.display().to_string()),
            "{}",
            l.app.message
        );
        let batch = VecDeque::from([Msg::Event(event("mkdir", 1, 0)), press('a')]);
        l.update(batch);
        assert!(!allowed(&elsewhere, "mkdir"), "saved through the link");
        assert!(l.app.message.starts_with("not saved"), "{}", l.app.message);
        assert!(
            l.app.message.contains(&resolved.display().to_string()),
            "{}",
            l.app.message
        );
        assert!(std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink());
    }

    /// The whole loop in-process: a run's event and the user's `a` come in on the
    /// channel, the App's save effect writes the file, `Saved` comes back, and the
    /// first frame shows it; `q` (sent once the file holds the allowance) ends it.
    #[test]
    fn a_decision_goes_through_the_loop_to_the_file_and_the_screen() {
        let (_dir, path) = profile_file("p.json");
        let incoming = vec![
            Incoming::Run(LiveReport::Event(1, event("mkdir", 1, 0))),
            Incoming::Msg(press('a')),
        ];
        let (screen, code) = drive_until(&path, incoming, |text| text.contains("mkdir"));
        assert_eq!(code, 0, "no run ended: no exit status");
        assert!(
            allowed(&path, "mkdir"),
            "{}",
            std::fs::read_to_string(&path).unwrap()
        );
        assert!(screen.contains("mkdir"), "{screen}");
        assert!(screen.contains("profile [saved]"), "{screen}");
    }
}

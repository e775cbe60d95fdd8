//! The headless App: everything the TUI shows, updated by messages, answering with
//! effects. It never touches the terminal, the disk or the workload: `tui` turns
//! the effects into actions and feeds the results back as messages.
//!
//! This file holds the types and the dispatch of messages; each concern's
//! `impl App` lives in its own file: `table.rs` (the Syscalls table),
//! `decisions.rs` (edits, undo, saving, restarts, the file changing on disk),
//! `hold.rs` (held calls), `prompts.rs`, `keys.rs` (the bindings and the key
//! dispatch) and `coverage_view.rs`.

pub mod coverage;
#[cfg(test)]
pub(crate) mod coverage_tests;
mod coverage_view;
mod decisions;
pub mod describe;
pub mod hints;
#[cfg(test)]
mod hints_tests;
mod hold;
#[cfg(test)]
mod hold_tests;
pub mod keys;
#[cfg(test)]
mod keys_tests;
pub mod layers;
#[cfg(test)]
mod layers_tests;
#[cfg(test)]
pub(crate) use layers_tests::refused as layers_refused_for_tests;
#[cfg(test)]
pub(crate) use layers_tests::shadow_refusal as layers_shadow_refusal_for_tests;
pub mod layout;
pub mod narrowing;
mod prompts;
pub mod report;
mod runtime_note;
pub mod session_diff;
mod table;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod triage_tests;

use crate::coverage::Coverage;
use crate::profile::Profile;
use crate::run::{HoldAnswer, WorkloadExit};
use crate::sources::event::Event;
use crate::sources::health::Health;
use crate::tighten::narrow::Proposal;
use crate::untrusted::Untrusted;
use coverage::Allowance;
use decisions::Step;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

pub use hold::Held;
pub use keys::{Key, Mods};
pub use prompts::Prompt;
pub use session_diff::DiffView;
pub use table::{BootstrapGroup, EventLine, Row, UserDecision};

/// How many recent events are kept for the Events pane; older ones only count.
pub const RING_CAPACITY: usize = 2000;
/// How many lines of the workload's output are kept.
pub const OUTPUT_CAPACITY: usize = 1000;
/// Where the embedded default profile goes on the first edit.
pub const DEFAULT_SAVE_PATH: &str = "eperm-profile.json";

/// Something that happened.
#[derive(Debug)]
pub enum Msg {
    Event(Event),
    /// What the layer watcher reported of the run.
    Layer(crate::sources::refusal::Watch),
    Key(Key, Mods),
    /// Scroll (+1 down, -1 up) or click at a terminal cell.
    Scroll(i32),
    Click {
        column: u16,
        row: u16,
    },
    Resize {
        width: u16,
        height: u16,
    },
    /// Time since the TUI started.
    Tick {
        now_ms: u64,
    },
    Started {
        pid: u32,
    },
    Exited(WorkloadExit),
    /// The run could not start or failed.
    RunFailed(String),
    /// A line the workload wrote (`err`: on stderr).
    Output {
        line: Untrusted,
        err: bool,
    },
    /// The profile's file now holds this text (from the watcher).
    FileChanged(String),
    /// The run's events dropped so far: eperm fell behind the workload.
    EventsDropped(u64),
    /// Events dropped so far on their way to the screen: the TUI fell behind.
    ShownDropped(u64),
    /// The profile's file changed but was not read back: why (it is no longer
    /// a regular file, it is too large, or its path leads elsewhere now).
    FileNotReloaded(String),
    /// A save finished: the file now holds `text`, at `path`.
    Saved {
        path: PathBuf,
        text: String,
    },
    SaveFailed(String),
    /// The report was written (`Ok`: where), or why not.
    ReportWritten(Result<PathBuf, String>),
    /// A held call waits for an answer.
    Hold {
        id: u64,
        event: Event,
        /// Asked again: the call as the user saw it when allowing it, before its
        /// pointer arguments were rewritten (`event` has it as it reads now).
        was: Option<String>,
    },
    /// A held call's caller is gone: nothing waits for the answer any more.
    HoldWithdrawn {
        id: u64,
    },
    /// The kernel log sources' health (`--mode log`), every half second.
    Health(Vec<Health>),
    /// Coverage stored next to the profile, read at start.
    CoverageLoaded(Coverage),
    /// The coverage stored next to the profile could not be read (why).
    CoverageUnreadable(String),
    /// A coverage run ended: its own tallies, and what the coverage file holds
    /// after they were merged in (`None`: no file to keep them in).
    CoverageRun {
        run: Coverage,
        stored: Option<Result<Coverage, String>>,
    },
    /// How the coverage run counted (`ebpf`, or `notify (no eBPF: why)`), shown
    /// as the run's mode in the status bar.
    CoverageCounting(String),
    /// What the coverage run under way has counted so far (every half second).
    CoverageLive(Coverage),
}

/// What the App does once the save it asked for is confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AfterSave {
    Rerun,
    Quit,
}

/// Something the TUI loop (`tui`) must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Write `text` to `path`; `expected_old` is what the file should hold now
    /// (`None`: it should not exist yet).
    Save {
        path: PathBuf,
        text: String,
        expected_old: Option<String>,
    },
    /// Kill the workload if it runs and start it again under `profile_text`
    /// (answering its held calls first, so that it dies at once), collecting
    /// coverage or not.
    Restart {
        profile_text: String,
        coverage: bool,
    },
    AnswerHold {
        id: u64,
        answer: HoldAnswer,
    },
    /// Merge `coverage` (runs no file holds yet) into the coverage file at `path`.
    StoreCoverage {
        path: PathBuf,
        coverage: Coverage,
    },
    /// Write the triage report to `path` (with the line that reruns the workload).
    Report {
        path: PathBuf,
        triage: Box<crate::report::Triage>,
        /// eperm chose `path` (no `--report`): check who could have planted it.
        picked: bool,
    },
    /// Kill the workload and leave.
    Quit,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunState {
    /// No workload: events come from logs (`watch`, `replay`).
    Watching,
    Starting,
    Running,
    Exited(WorkloadExit),
    Failed(String),
}

/// The run in progress (or the last one).
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub command: String,
    pub pid: Option<u32>,
    pub state: RunState,
    /// trace, notify or log.
    pub mode: String,
    pub enforce: bool,
    pub hold: bool,
    /// 1 for the first run, 2 after the first restart …
    pub number: usize,
    /// The run collects coverage (`--coverage`): it runs as under the profile.
    pub coverage: bool,
    /// Would-be denials seen in this run.
    pub denials: u64,
    /// Calls of this run that failed because of eperm itself, not the profile:
    /// one line per kind (see `run::interference`).
    pub interference: Vec<(crate::sources::event::Interference, String)>,
    /// Whether the other layers are watched (see [`layers`]).
    pub layers: layers::Layers,
    /// Calls other layers refused, one per syscall and finding, with their hits.
    pub refused: Vec<(crate::sources::refusal::Refusal, u64)>,
    /// Why the container did not start (`--enforce`, its runtime's start-up
    /// calls refused): then the run is not clean, though it made no event.
    pub not_started: Option<String>,
}

/// An earlier run, kept when the workload is restarted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastRun {
    pub number: usize,
    pub state: RunState,
    pub denials: u64,
    pub syscalls: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Syscalls,
    Events,
    Output,
}

/// What the top half of the screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// Would-be denials and their detail.
    Syscalls,
    /// The profile's allowances and their use.
    Coverage,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    FirstSeen,
    Hits,
}

/// The profile file's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    Saved,
    Unsaved,
    /// Someone else changed the file while we had unsaved edits.
    ChangedOnDisk,
}

/// How the App starts. `Default` is what the command line gives without flags
/// (and no command); the fields say which flag sets them.
#[derive(Clone, Debug)]
pub struct Config {
    /// The workload's command line, as the status bar shows it (for `watch` and
    /// `replay`: what is watched).
    pub command: String,
    /// How calls are seen: trace, notify or log.
    pub mode: String,
    /// `--enforce`: the profile's verdicts apply; nothing can be held.
    pub enforce: bool,
    /// `--hold`: would-be denials wait for the user's answer.
    pub hold: bool,
    /// `--hold-timeout`, in ms: after that, a held call gets the profile's verdict.
    pub hold_timeout_ms: u64,
    /// Every edit is saved at once (off: `--no-autosave`, `w` saves).
    pub autosave: bool,
    /// `--rerun-on-save`: each save restarts the workload under the saved profile.
    pub rerun_on_save: bool,
    /// The profile's file; `None` for the embedded default.
    pub path: Option<PathBuf>,
    /// The workload runs under coverage (`--coverage`).
    pub coverage: bool,
    /// No workload: the events come from logs (`watch`, `replay`), so there is
    /// nothing to start or restart.
    pub watching: bool,
    /// The runtime that loads the profile (a container's); `None`: eperm itself.
    pub runtime: Option<crate::target::Runtime>,
    /// What the profile's verdicts are for, to judge an outside edit's rows by;
    /// `None`: this machine with `runtime`.
    pub target: Option<crate::profile::Target>,
    /// `--report FILE`: where `R` writes the triage report.
    pub report: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            command: String::new(),
            mode: "notify".into(),
            enforce: false,
            hold: false,
            hold_timeout_ms: 30_000,
            autosave: true,
            rerun_on_save: false,
            path: None,
            coverage: false,
            watching: false,
            runtime: None,
            target: None,
            report: None,
        }
    }
}

pub struct App {
    pub run: RunInfo,
    pub past_runs: Vec<PastRun>,
    pub rows: Vec<Row>,
    /// The rows of earlier runs (this session's), oldest first.
    pub earlier_rows: Vec<Row>,
    index: HashMap<(String, crate::sources::event::CallArch), usize>,
    pub ring: VecDeque<EventLine>,
    /// Every event received, ever (all runs).
    pub total_events: u64,
    pub output: VecDeque<(Untrusted, bool)>,
    pub filter: String,
    pub filtering: bool,
    /// Index into [`App::visible`].
    pub selected: usize,
    pub focus: Pane,
    pub sort: Sort,
    /// The Detail pane shows every frame of a stack, not only the program's own.
    pub all_frames: bool,
    pub paused: bool,
    /// Events pane: lines scrolled back from the tail (0: following).
    pub events_back: usize,
    pub output_back: usize,
    pub help: bool,
    pub prompt: Option<Prompt>,
    pub held: VecDeque<Held>,
    pub profile: Profile,
    /// The file, or where the default profile will be written.
    pub path: Option<PathBuf>,
    /// True while `path` is only where the embedded default *will* go.
    pub path_pending: bool,
    /// What the file holds as far as we know (what we loaded or last wrote).
    pub disk_text: Option<String>,
    pub file_state: FileState,
    /// What waits for the save in flight: a run (`r` with edits not on disk) or
    /// quitting (the quit prompt's "save"); a failed save cancels it.
    after_save: Option<AfterSave>,
    /// A save was asked for and neither `Saved` nor `SaveFailed` has come back.
    saving: bool,
    undo: Vec<Step>,
    redo: Vec<Step>,
    /// The user's decision per syscall name, for rows that do not exist yet.
    decided: HashMap<String, UserDecision>,
    /// One line for the user at the bottom, e.g. what the last key did.
    pub message: String,
    pub now_ms: u64,
    pub size: (u16, u16),
    config: Config,
    pub quitting: bool,
    /// Each kernel log source's last known health (empty: no log sources).
    pub sources: Vec<Health>,
    pub view: View,
    /// Every coverage run known: the stored file and this session's runs.
    pub coverage: Coverage,
    /// Runs no coverage file holds (the embedded profile has none until saved).
    unstored: Coverage,
    /// What the coverage run under way has counted so far (in the kernel); shown
    /// and pruned by with the rest until the run's end replaces it.
    live: Coverage,
    /// The profile's allowances with their use, for the Coverage view.
    pub allowances: Vec<Allowance>,
    /// The narrowings eperm proposes, one per syscall at most.
    pub proposals: Vec<Proposal>,
    /// Index into [`App::coverage_visible`].
    pub cov_selected: usize,
    /// The next runs collect coverage (`m` in the Coverage view turns it on/off).
    pub collect: bool,
    /// The profile's text when the session began: the session diff's left side.
    pub start_text: String,
    /// The session diff on screen (`D`).
    pub diff_view: Option<DiffView>,
    /// The runtime's start-up rows are listed (`b`), after the workload's.
    pub show_bootstrap: bool,
}

impl App {
    pub fn new(profile: Profile, config: Config) -> App {
        let disk_text = config.path.as_ref().map(|_| profile.text.clone());
        let start_text = profile.text.clone();
        let mut app = App {
            run: RunInfo {
                command: config.command.clone(),
                pid: None,
                state: if config.watching {
                    RunState::Watching
                } else {
                    RunState::Starting
                },
                mode: config.mode.clone(),
                enforce: config.enforce,
                hold: config.hold,
                number: 1,
                coverage: config.coverage,
                denials: 0,
                interference: Vec::new(),
                layers: layers::Layers::Unknown,
                refused: Vec::new(),
                not_started: None,
            },
            past_runs: Vec::new(),
            rows: Vec::new(),
            earlier_rows: Vec::new(),
            index: HashMap::new(),
            ring: VecDeque::with_capacity(RING_CAPACITY),
            total_events: 0,
            output: VecDeque::new(),
            filter: String::new(),
            filtering: false,
            selected: 0,
            focus: Pane::Syscalls,
            sort: Sort::FirstSeen,
            all_frames: false,
            paused: false,
            events_back: 0,
            output_back: 0,
            help: false,
            prompt: None,
            held: VecDeque::new(),
            path_pending: config.path.is_none(),
            path: config.path.clone(),
            disk_text,
            file_state: FileState::Saved,
            after_save: None,
            saving: false,
            profile,
            undo: Vec::new(),
            redo: Vec::new(),
            decided: HashMap::new(),
            // The hint bar below says where help is.
            message: String::new(),
            now_ms: 0,
            size: (80, 24),
            collect: config.coverage,
            config,
            quitting: false,
            sources: Vec::new(),
            view: View::Syscalls,
            coverage: Coverage::default(),
            unstored: Coverage::default(),
            live: Coverage::default(),
            allowances: Vec::new(),
            proposals: Vec::new(),
            cov_selected: 0,
            start_text,
            diff_view: None,
            show_bootstrap: false,
        };
        app.refresh_coverage();
        app
    }

    /// Edits not (yet) on disk, or a conflict with the file.
    pub fn unsaved(&self) -> bool {
        self.file_state != FileState::Saved
    }

    pub fn autosave(&self) -> bool {
        self.config.autosave
    }

    fn exited(&mut self, exit: WorkloadExit) -> Vec<Effect> {
        self.run.not_started = self.not_started(exit);
        self.run.state = RunState::Exited(exit);
        // Nobody answers for a dead workload any more.
        self.held.clear();
        vec![]
    }

    /// Events lost because `who` fell behind; the rows still count them.
    fn dropped(&mut self, n: u64, who: &str) -> Vec<Effect> {
        self.message = format!(
            "{} dropped: {who} fell behind the workload (the rows count what came)",
            crate::profile::lint::plural(n as usize, "event", "events")
        );
        vec![]
    }

    /// Every state change: one message in, what the TUI loop must do out.
    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Event(e) => {
                self.ingest(e);
                vec![]
            }
            Msg::Layer(w) => {
                self.layer(w);
                vec![]
            }
            Msg::Key(k, m) => self.key(k, m),
            Msg::Scroll(d) => {
                self.scroll(d);
                vec![]
            }
            Msg::Click { column, row } => {
                self.click(column, row);
                vec![]
            }
            Msg::Resize { width, height } => {
                self.size = (width, height);
                vec![]
            }
            Msg::Tick { now_ms } => self.tick(now_ms),
            Msg::Started { pid } => {
                self.run.pid = Some(pid);
                self.run.state = RunState::Running;
                vec![]
            }
            Msg::Exited(exit) => self.exited(exit),
            Msg::RunFailed(why) => {
                self.message = format!("the run failed: {why}");
                self.run.state = RunState::Failed(why);
                self.held.clear();
                vec![]
            }
            Msg::Output { line, err } => {
                if self.output.len() == OUTPUT_CAPACITY {
                    self.output.pop_front();
                }
                self.output.push_back((line, err));
                vec![]
            }
            Msg::FileChanged(text) => self.file_changed(text),
            Msg::EventsDropped(n) => self.dropped(n, "eperm"),
            Msg::ShownDropped(n) => self.dropped(n, "the screen"),
            Msg::FileNotReloaded(why) => {
                let first = why.lines().next().unwrap_or_default();
                self.message = format!("not reloaded: {first}");
                vec![]
            }
            Msg::Saved { path, text } => self.saved(path, text),
            Msg::SaveFailed(why) => self.save_failed(&why),
            Msg::ReportWritten(result) => {
                self.message = match result {
                    Ok(path) => format!("report written: {}", path.display()),
                    Err(why) => format!("report not written: {why}"),
                };
                vec![]
            }
            Msg::Hold { id, event, was } => self.hold_request(id, event, was),
            Msg::HoldWithdrawn { id } => {
                self.withdraw_held(id);
                vec![]
            }
            Msg::Health(health) => {
                self.sources = health;
                vec![]
            }
            Msg::CoverageLoaded(stored) => {
                self.coverage = stored;
                self.refresh_coverage();
                vec![]
            }
            Msg::CoverageUnreadable(why) => {
                self.message = format!("coverage not read: {why}");
                vec![]
            }
            Msg::CoverageRun { run, stored } => self.coverage_run(run, stored),
            Msg::CoverageCounting(how) => {
                self.run.mode = how;
                vec![]
            }
            Msg::CoverageLive(so_far) => {
                self.live = so_far;
                self.refresh_coverage();
                vec![]
            }
        }
    }
}

//! The headless App: everything the TUI shows, updated by messages, answering with
//! effects. It never touches the terminal, the disk or the workload: `tui.rs` turns
//! the effects into actions and feeds the results back as messages.

pub mod coverage;
#[cfg(test)]
pub(crate) mod coverage_tests;
mod coverage_view;
pub mod describe;
pub mod keys;
#[cfg(test)]
pub(crate) mod tests;

use crate::profile::edit::{self, Edit};
use crate::profile::Profile;
use crate::run::coverage::Coverage;
use crate::run::{HoldAnswer, WorkloadExit};
use crate::sources::event::{Event, Source};
use crate::sources::health::Health;
use crate::tighten::narrow::Proposal;
use coverage::Allowance;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

pub use keys::{Key, Mods};

/// How many recent events are kept for the Events pane; older ones only count.
pub const RING_CAPACITY: usize = 2000;
/// How many lines of the workload's output are kept.
pub const OUTPUT_CAPACITY: usize = 1000;
/// How many distinct pids a row remembers.
const PIDS_PER_ROW: usize = 8;
/// Where the embedded default profile goes on the first edit.
pub const DEFAULT_SAVE_PATH: &str = "eperm-profile.json";

/// Something that happened.
#[derive(Debug)]
pub enum Msg {
    Event(Event),
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
        line: String,
        err: bool,
    },
    /// The profile's file now holds this text (from the watcher).
    FileChanged(String),
    /// A save finished: the file now holds `text`, at `path`.
    Saved {
        path: PathBuf,
        text: String,
    },
    SaveFailed(String),
    /// A held call waits for an answer.
    Hold {
        id: u64,
        event: Event,
    },
    /// The kernel log sources' health (`--mode log`), every half second.
    Health(Vec<Health>),
    /// Coverage stored next to the profile, read at start.
    CoverageLoaded(Coverage),
    /// A coverage run ended: its own tallies, and what the coverage file holds
    /// after they were merged in (`None`: no file to keep them in).
    CoverageRun {
        run: Coverage,
        stored: Option<Result<Coverage, String>>,
    },
}

/// Something `tui.rs` must do.
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
}

/// An earlier run, kept when the workload is restarted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PastRun {
    pub number: usize,
    pub state: RunState,
    pub denials: u64,
    pub syscalls: usize,
}

/// What the user decided for a syscall, in the profile being edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserDecision {
    /// Nothing yet: the profile's verdict stands.
    StillDenied,
    AllowedNow,
    /// Denied with another errno.
    Errno(u32),
}

impl UserDecision {
    /// A short label for narrow screens.
    pub fn short(&self) -> String {
        match self {
            UserDecision::StillDenied => "denied".into(),
            UserDecision::AllowedNow => "allowed".into(),
            UserDecision::Errno(e) => format!("→{}", crate::errno::name(*e).unwrap_or("errno")),
        }
    }

    pub fn label(&self) -> String {
        match self {
            UserDecision::StillDenied => "still denied".into(),
            UserDecision::AllowedNow => "allowed now".into(),
            UserDecision::Errno(e) => {
                format!("→ {}", crate::errno::name(*e).unwrap_or("errno"))
            }
        }
    }
}

/// One would-be-denied syscall on one arch, aggregated.
#[derive(Clone, Debug)]
pub struct Row {
    pub syscall: String,
    pub arch: String,
    pub nr: u32,
    pub hits: u64,
    /// What the profile would do: `EPERM`, `ENOSYS`, `KILL_PROCESS`, `TRAP` …
    pub verdict: String,
    pub action: String,
    pub errno: Option<String>,
    /// JSON path of the deciding rule, or `defaultAction`.
    pub rule: String,
    pub decision: UserDecision,
    pub pids: Vec<(u32, String)>,
    pub first_ms: u64,
    pub last_ms: u64,
    /// The first call seen, decoded.
    pub example: String,
    pub example_args: Option<[u64; 6]>,
    /// Per argument: the value every call so far had, if they all agreed.
    pub common_args: [Option<u64>; 6],
    pub bootstrap: bool,
}

/// One line of the Events pane (the event, trimmed to what it shows).
#[derive(Clone, Debug)]
pub struct EventLine {
    pub time_ms: u64,
    pub pid: u32,
    pub comm: String,
    pub call: String,
    pub source: Source,
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

/// A question on screen, taking the keys until answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Which errno the selected syscall gets; `typing` holds "other" input.
    Errno {
        syscall: String,
        typing: Option<String>,
    },
    /// Quit with unsaved edits?
    Quit,
    /// The file changed on disk while edits were unsaved.
    Conflict { theirs: String, show_diff: bool },
    /// Prune unused allowances? Shows the whole diff first; `scroll` is its first line shown.
    Prune {
        /// The profile's text the diff was made from.
        before: String,
        after: String,
        names: Vec<String>,
        diff: String,
        scroll: usize,
    },
}

/// One step of the undo history.
#[derive(Clone, Debug)]
struct Step {
    before: Profile,
    after: Profile,
    /// What the step did, for "undone: …".
    label: String,
    /// The syscall whose rows change decision, with the old and new decision.
    rows: Option<(String, UserDecision, UserDecision)>,
}

/// A call held for the user's answer.
#[derive(Clone, Debug)]
pub struct Held {
    pub id: u64,
    pub event: Event,
    pub deadline_ms: u64,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub command: String,
    pub mode: String,
    pub enforce: bool,
    pub hold: bool,
    pub hold_timeout_ms: u64,
    pub autosave: bool,
    pub rerun_on_save: bool,
    /// The profile's file; `None` for the embedded default.
    pub path: Option<PathBuf>,
    /// The workload runs under coverage (`--coverage`).
    pub coverage: bool,
}

pub struct App {
    pub run: RunInfo,
    pub past_runs: Vec<PastRun>,
    pub rows: Vec<Row>,
    index: HashMap<(String, String), usize>,
    pub ring: VecDeque<EventLine>,
    /// Every event received, ever (all runs).
    pub total_events: u64,
    pub output: VecDeque<(String, bool)>,
    pub filter: String,
    pub filtering: bool,
    /// Index into [`App::visible`].
    pub selected: usize,
    pub focus: Pane,
    pub sort: Sort,
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
    /// The profile's allowances with their use, for the Coverage view.
    pub allowances: Vec<Allowance>,
    /// The narrowings eperm proposes, one per syscall at most.
    pub proposals: Vec<Proposal>,
    /// Index into [`App::coverage_visible`].
    pub cov_selected: usize,
    /// The next runs collect coverage (`m` in the Coverage view turns it on/off).
    pub collect: bool,
}

impl App {
    pub fn new(profile: Profile, config: Config) -> App {
        let disk_text = config.path.as_ref().map(|_| profile.text.clone());
        let mut app = App {
            run: RunInfo {
                command: config.command.clone(),
                pid: None,
                state: RunState::Starting,
                mode: config.mode.clone(),
                enforce: config.enforce,
                hold: config.hold,
                number: 1,
                coverage: config.coverage,
                denials: 0,
            },
            past_runs: Vec::new(),
            rows: Vec::new(),
            index: HashMap::new(),
            ring: VecDeque::with_capacity(RING_CAPACITY),
            total_events: 0,
            output: VecDeque::new(),
            filter: String::new(),
            filtering: false,
            selected: 0,
            focus: Pane::Syscalls,
            sort: Sort::FirstSeen,
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
            profile,
            undo: Vec::new(),
            redo: Vec::new(),
            decided: HashMap::new(),
            message: "? for help".into(),
            now_ms: 0,
            size: (80, 24),
            collect: config.coverage,
            config,
            quitting: false,
            sources: Vec::new(),
            view: View::Syscalls,
            coverage: Coverage::default(),
            unstored: Coverage::default(),
            allowances: Vec::new(),
            proposals: Vec::new(),
            cov_selected: 0,
        };
        app.refresh_coverage();
        app
    }

    /// Rows shown in the Syscalls table: filtered, sorted. Indices into `rows`.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let mut v: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                needle.is_empty() || {
                    let r = &self.rows[i];
                    r.syscall.contains(&needle)
                        || r.arch.contains(&needle)
                        || r.verdict.to_lowercase().contains(&needle)
                        || r.pids
                            .iter()
                            .any(|(_, c)| c.to_lowercase().contains(&needle))
                }
            })
            .collect();
        if self.sort == Sort::Hits {
            v.sort_by(|&a, &b| self.rows[b].hits.cmp(&self.rows[a].hits).then(a.cmp(&b)));
        }
        v
    }

    /// The selected row, if any.
    pub fn selected_row(&self) -> Option<&Row> {
        self.visible().get(self.selected).map(|&i| &self.rows[i])
    }

    pub fn unsaved(&self) -> bool {
        self.file_state != FileState::Saved
    }

    pub fn autosave(&self) -> bool {
        self.config.autosave
    }

    /// Total hits over the rows: equals the events received in this run.
    pub fn hits(&self) -> u64 {
        self.rows.iter().map(|r| r.hits).sum()
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Event(e) => {
                self.ingest(e);
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
            Msg::Exited(exit) => {
                self.run.state = RunState::Exited(exit);
                // Nobody answers for a dead workload any more.
                self.held.clear();
                vec![]
            }
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
            Msg::Saved { path, text } => {
                let first = self.path_pending;
                self.path = Some(path.clone());
                self.path_pending = false;
                self.disk_text = Some(text.clone());
                if text == self.profile.text {
                    self.file_state = FileState::Saved;
                }
                // Later messages refer to the file, not the embedded profile.
                self.profile.file = path.display().to_string();
                self.message = if first {
                    format!(
                        "the embedded default profile has no file: your edits are in {}",
                        path.display()
                    )
                } else {
                    format!("saved {}", path.display())
                };
                if self.config.rerun_on_save && self.run.state != RunState::Watching {
                    return self.restart();
                }
                vec![]
            }
            Msg::SaveFailed(why) => {
                self.message = format!("not saved: {why}");
                vec![]
            }
            Msg::Hold { id, event } => self.hold_request(id, event),
            Msg::Health(health) => {
                self.sources = health;
                vec![]
            }
            Msg::CoverageLoaded(stored) => {
                self.coverage = stored;
                self.refresh_coverage();
                vec![]
            }
            Msg::CoverageRun { run, stored } => self.coverage_run(run, stored),
        }
    }

    fn ingest(&mut self, e: Event) {
        self.total_events += 1;
        self.run.denials += 1;
        let key = (e.syscall.clone(), e.arch.clone());
        let args = e.args;
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let verdict = match &e.errno {
                    Some(errno) => errno.split_whitespace().next().unwrap_or(errno).to_string(),
                    None => e.action.trim_start_matches("SCMP_ACT_").to_string(),
                };
                let example = e.call.clone().unwrap_or_else(|| raw_call(&e.syscall, args));
                self.rows.push(Row {
                    syscall: e.syscall.clone(),
                    arch: e.arch.clone(),
                    nr: e.nr,
                    hits: 0,
                    verdict,
                    action: e.action.clone(),
                    errno: e.errno.clone(),
                    rule: e.rule.clone(),
                    decision: self
                        .decided
                        .get(&e.syscall)
                        .cloned()
                        .unwrap_or(UserDecision::StillDenied),
                    pids: Vec::new(),
                    first_ms: e.time_ms,
                    last_ms: e.time_ms,
                    example,
                    example_args: args,
                    common_args: args.map_or([None; 6], |a| a.map(Some)),
                    bootstrap: e.bootstrap,
                });
                self.index.insert(key, self.rows.len() - 1);
                self.rows.len() - 1
            }
        };
        let row = &mut self.rows[i];
        row.hits += 1;
        row.last_ms = e.time_ms;
        row.bootstrap &= e.bootstrap;
        match args {
            Some(a) => {
                for (slot, v) in row.common_args.iter_mut().zip(a) {
                    if *slot != Some(v) {
                        *slot = None;
                    }
                }
            }
            None => row.common_args = [None; 6],
        }
        if row.pids.len() < PIDS_PER_ROW && !row.pids.iter().any(|(p, _)| *p == e.pid) {
            row.pids.push((e.pid, e.comm.clone()));
        }
        if !self.paused {
            if self.ring.len() == RING_CAPACITY {
                self.ring.pop_front();
            }
            let call = e.call.unwrap_or_else(|| raw_call(&e.syscall, args));
            self.ring.push_back(EventLine {
                time_ms: e.time_ms,
                pid: e.pid,
                comm: e.comm,
                call,
                source: e.source,
            });
        }
    }

    fn tick(&mut self, now_ms: u64) -> Vec<Effect> {
        self.now_ms = now_ms;
        let mut effects = Vec::new();
        while let Some(h) = self.held.front() {
            if h.deadline_ms > now_ms {
                break;
            }
            let h = self.held.pop_front().expect("checked");
            let answer = verdict_answer(&h.event);
            self.message = format!(
                "held {} timed out: the profile's verdict applies",
                h.event.syscall
            );
            effects.push(Effect::AnswerHold { id: h.id, answer });
        }
        effects
    }

    fn hold_request(&mut self, id: u64, event: Event) -> Vec<Effect> {
        let allowed = self.decided.get(&event.syscall) == Some(&UserDecision::AllowedNow);
        if !self.run.hold || allowed {
            // Not holding: the call runs, as in permissive mode.
            return vec![Effect::AnswerHold {
                id,
                answer: HoldAnswer::AllowOnce,
            }];
        }
        self.held.push_back(Held {
            id,
            event,
            deadline_ms: self.now_ms + self.config.hold_timeout_ms,
        });
        vec![]
    }

    fn key(&mut self, key: Key, mods: Mods) -> Vec<Effect> {
        if let Some(prompt) = self.prompt.clone() {
            return self.prompt_key(prompt, key);
        }
        if let Some(h) = self.held.front().cloned() {
            let answer = match key {
                Key::Char('o') => Some(HoldAnswer::AllowOnce),
                Key::Char('a') => Some(HoldAnswer::AllowAlways),
                Key::Char('d') => Some(HoldAnswer::Deny),
                Key::Char('k') => Some(HoldAnswer::Kill),
                _ => None,
            };
            if let Some(answer) = answer {
                self.held.pop_front();
                let mut effects = vec![Effect::AnswerHold { id: h.id, answer }];
                if answer == HoldAnswer::AllowAlways {
                    // By name: the call's row may not have arrived yet.
                    let name = h.event.syscall.clone();
                    self.select_syscall(&name, &h.event.arch);
                    // Others waiting in the same syscall are allowed now too.
                    let (same, rest): (VecDeque<Held>, VecDeque<Held>) =
                        self.held.drain(..).partition(|o| o.event.syscall == name);
                    self.held = rest;
                    effects.extend(same.into_iter().map(|o| Effect::AnswerHold {
                        id: o.id,
                        answer: HoldAnswer::AllowOnce,
                    }));
                    effects.extend(self.decide(Edit::Allow(name), UserDecision::AllowedNow));
                }
                return effects;
            }
            if !matches!(key, Key::Char('q' | '?' | 'r') | Key::Esc) {
                return vec![];
            }
        }
        if self.help {
            self.help = false;
            return vec![];
        }
        if self.filtering {
            match key {
                Key::Esc => {
                    self.filtering = false;
                    self.filter.clear();
                }
                Key::Enter => self.filtering = false,
                Key::Backspace => {
                    self.filter.pop();
                }
                Key::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.selected = 0;
            self.cov_selected = 0;
            return vec![];
        }
        if self.view == View::Coverage {
            if let Some(effects) = self.coverage_key(key, mods) {
                return effects;
            }
        }
        match key {
            Key::Char('r') if mods.ctrl => return self.redo(),
            Key::Char('c') if mods.ctrl => return self.quit(),
            Key::Up | Key::Char('k') => self.scroll(-1),
            Key::Down | Key::Char('j') => self.scroll(1),
            Key::PageUp => self.scroll(-10),
            Key::PageDown => self.scroll(10),
            Key::Home => self.selected = 0,
            Key::End => self.selected = self.visible().len().saturating_sub(1),
            Key::Tab => {
                self.focus = match self.focus {
                    Pane::Syscalls => Pane::Events,
                    Pane::Events => Pane::Output,
                    Pane::Output => Pane::Syscalls,
                }
            }
            Key::Char('/') => {
                self.filtering = true;
                self.filter.clear();
            }
            Key::Esc => self.filter.clear(),
            Key::Char('a') => return self.allow_selected(),
            Key::Char('d') => return self.deny_selected(),
            Key::Char('e') => {
                if let Some(row) = self.selected_row() {
                    self.prompt = Some(Prompt::Errno {
                        syscall: row.syscall.clone(),
                        typing: None,
                    });
                }
            }
            Key::Char('u') => return self.undo(),
            Key::Char('w') => return self.save_now(),
            Key::Char('r') if self.run.state == RunState::Watching => {
                self.message = "no workload to restart: watching logs".into();
            }
            Key::Char('r') => return self.restart(),
            Key::Char('c') => self.open_coverage(),
            Key::Char('h') if self.run.enforce || self.run.coverage => {
                self.message =
                    "hold mode needs a permissive run (not --enforce, not --coverage)".into();
            }
            Key::Char('h') => {
                self.run.hold = !self.run.hold;
                self.message = format!("hold mode {}", if self.run.hold { "on" } else { "off" });
                if !self.run.hold {
                    // Whatever waits runs now, as it would have without hold.
                    return self
                        .held
                        .drain(..)
                        .map(|h| Effect::AnswerHold {
                            id: h.id,
                            answer: HoldAnswer::AllowOnce,
                        })
                        .collect();
                }
            }
            Key::Char(' ') => {
                self.paused = !self.paused;
                self.message = if self.paused {
                    "event stream paused (counts go on)".into()
                } else {
                    "event stream follows".into()
                };
            }
            Key::Char('s') => {
                self.sort = match self.sort {
                    Sort::FirstSeen => Sort::Hits,
                    Sort::Hits => Sort::FirstSeen,
                }
            }
            Key::Char('?') => self.help = true,
            Key::Char('q') => return self.quit(),
            _ => {}
        }
        vec![]
    }

    fn quit(&mut self) -> Vec<Effect> {
        if self.unsaved() {
            self.prompt = Some(Prompt::Quit);
            return vec![];
        }
        self.quit_now()
    }

    fn quit_now(&mut self) -> Vec<Effect> {
        self.quitting = true;
        let mut effects: Vec<Effect> = self
            .held
            .drain(..)
            .map(|h| Effect::AnswerHold {
                id: h.id,
                answer: HoldAnswer::Kill,
            })
            .collect();
        effects.push(Effect::Quit);
        effects
    }

    fn prompt_key(&mut self, prompt: Prompt, key: Key) -> Vec<Effect> {
        match prompt {
            Prompt::Quit => match key {
                Key::Char('w') => {
                    self.prompt = None;
                    let mut effects = self.save_now();
                    effects.extend(self.quit_now());
                    effects
                }
                Key::Char('q' | 'y') => {
                    self.prompt = None;
                    self.quit_now()
                }
                Key::Esc | Key::Char('n') => {
                    self.prompt = None;
                    vec![]
                }
                _ => vec![],
            },
            Prompt::Errno { syscall, typing } => match (typing, key) {
                (None, Key::Char(c @ ('1' | '2' | '3' | 'p' | 'n' | 'a'))) => {
                    let errno = match c {
                        '1' | 'p' => 1,
                        '2' | 'n' => 38,
                        _ => 13,
                    };
                    self.prompt = None;
                    self.set_errno(errno)
                }
                (None, Key::Char('4' | 'o')) => {
                    self.prompt = Some(Prompt::Errno {
                        syscall,
                        typing: Some(String::new()),
                    });
                    vec![]
                }
                (_, Key::Esc) => {
                    self.prompt = None;
                    vec![]
                }
                (Some(mut t), Key::Char(c)) => {
                    t.push(c);
                    self.prompt = Some(Prompt::Errno {
                        syscall,
                        typing: Some(t),
                    });
                    vec![]
                }
                (Some(mut t), Key::Backspace) => {
                    t.pop();
                    self.prompt = Some(Prompt::Errno {
                        syscall,
                        typing: Some(t),
                    });
                    vec![]
                }
                (Some(t), Key::Enter) => match crate::errno::parse(t.trim()) {
                    Some(errno) => {
                        self.prompt = None;
                        self.set_errno(errno)
                    }
                    None => {
                        self.message = format!("{t:?} is not an errno (EPERM, ENOSYS, 13 …)");
                        self.prompt = Some(Prompt::Errno {
                            syscall,
                            typing: Some(t),
                        });
                        vec![]
                    }
                },
                (typing, _) => {
                    self.prompt = Some(Prompt::Errno { syscall, typing });
                    vec![]
                }
            },
            prune @ Prompt::Prune { .. } => self.prune_key(prune, key),
            Prompt::Conflict { theirs, show_diff } => match key {
                Key::Char('k') => {
                    // Keep mine: ours overwrites theirs, knowingly.
                    self.prompt = None;
                    self.disk_text = Some(theirs);
                    self.file_state = FileState::Unsaved;
                    self.save_now()
                }
                Key::Char('t') => {
                    self.prompt = None;
                    self.take_theirs(theirs);
                    vec![]
                }
                Key::Char('s') | Key::Char('v') => {
                    self.prompt = Some(Prompt::Conflict {
                        theirs,
                        show_diff: !show_diff,
                    });
                    vec![]
                }
                _ => {
                    self.prompt = Some(Prompt::Conflict { theirs, show_diff });
                    vec![]
                }
            },
        }
    }

    fn scroll(&mut self, d: i32) {
        match self.focus {
            Pane::Syscalls if self.view == View::Coverage => {
                let n = self.coverage_visible().len();
                let s = self.cov_selected as i64 + d as i64;
                self.cov_selected = s.clamp(0, n.saturating_sub(1) as i64) as usize;
            }
            Pane::Syscalls => {
                let n = self.visible().len();
                let s = self.selected as i64 + d as i64;
                self.selected = s.clamp(0, n.saturating_sub(1) as i64) as usize;
            }
            Pane::Events => {
                let b = self.events_back as i64 - d as i64;
                self.events_back = b.clamp(0, self.ring.len() as i64) as usize;
            }
            Pane::Output => {
                let b = self.output_back as i64 - d as i64;
                self.output_back = b.clamp(0, self.output.len() as i64) as usize;
            }
        }
    }

    fn click(&mut self, column: u16, row: u16) {
        let areas = layout::areas(self.size.0, self.size.1);
        let inside = |r: layout::Rect| {
            column >= r.x && column < r.x + r.width && row >= r.y && row < r.y + r.height
        };
        if inside(areas.syscalls) {
            self.focus = Pane::Syscalls;
            // Border and header take two lines.
            let line = row.saturating_sub(areas.syscalls.y + 2) as usize;
            let body = areas.syscalls.height.saturating_sub(3) as usize;
            let coverage = self.view == View::Coverage;
            let (selected, n) = if coverage {
                (self.cov_selected, self.coverage_visible().len())
            } else {
                (self.selected, self.visible().len())
            };
            let offset = layout::offset(selected, body);
            if row >= areas.syscalls.y + 2 && offset + line < n {
                if coverage {
                    self.cov_selected = offset + line;
                } else {
                    self.selected = offset + line;
                }
            }
        } else if inside(areas.events) {
            self.focus = Pane::Events;
        } else if inside(areas.output) {
            self.focus = Pane::Output;
        }
    }

    fn select_syscall(&mut self, syscall: &str, arch: &str) {
        self.filter.clear();
        if let Some(pos) = self
            .visible()
            .iter()
            .position(|&i| self.rows[i].syscall == syscall && self.rows[i].arch == arch)
        {
            self.selected = pos;
        }
    }

    fn allow_selected(&mut self) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            return vec![];
        };
        let name = row.syscall.clone();
        self.decide(Edit::Allow(name), UserDecision::AllowedNow)
    }

    /// Back to the profile's verdict: the errno it gave, or the default action.
    fn deny_selected(&mut self) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            return vec![];
        };
        let name = row.syscall.clone();
        let edit = if row.rule.ends_with("defaultAction") {
            Edit::Remove(name)
        } else {
            let errno = row
                .errno
                .as_deref()
                .and_then(|e| e.split_whitespace().next())
                .and_then(crate::errno::parse);
            Edit::Deny { name, errno }
        };
        self.decide(edit, UserDecision::StillDenied)
    }

    fn set_errno(&mut self, errno: u32) -> Vec<Effect> {
        let Some(row) = self.selected_row() else {
            return vec![];
        };
        let name = row.syscall.clone();
        self.decide(
            Edit::Deny {
                name,
                errno: Some(errno),
            },
            UserDecision::Errno(errno),
        )
    }

    /// Edits the profile for one syscall (by name, every arch) and records the
    /// decision its rows show.
    fn decide(&mut self, edit: Edit, decision: UserDecision) -> Vec<Effect> {
        let name = edit.name().to_string();
        let old = self
            .decided
            .get(&name)
            .cloned()
            .unwrap_or(UserDecision::StillDenied);
        let Some(after) = self.edited(&edit) else {
            return vec![];
        };
        self.commit(after, name.clone(), Some((name, old, decision)))
    }

    /// The profile with `edit` applied (the message says what it did), or `None`
    /// with the message saying why not.
    fn edited(&mut self, edit: &Edit) -> Option<Profile> {
        match edit::apply(&self.profile, std::slice::from_ref(edit)) {
            Ok(applied) => {
                self.message = applied
                    .reports
                    .first()
                    .map_or_else(String::new, |r| r.to_string());
                Some(applied.profile)
            }
            Err(e) => {
                self.message = format!("cannot edit: {e}");
                None
            }
        }
    }

    /// Makes `after` the profile as one undoable step, and saves it when autosaving.
    fn commit(
        &mut self,
        after: Profile,
        label: String,
        rows: Option<(String, UserDecision, UserDecision)>,
    ) -> Vec<Effect> {
        let step = Step {
            before: self.profile.clone(),
            after,
            label,
            rows,
        };
        self.redo.clear();
        self.apply_step(&step, true);
        self.undo.push(step);
        self.after_edit()
    }

    fn apply_step(&mut self, step: &Step, forward: bool) {
        let profile = if forward { &step.after } else { &step.before };
        // Keep the name the file goes by (it changes when the default is first saved).
        let file = self.profile.file.clone();
        self.profile = profile.clone();
        self.profile.file = file;
        // Every row of that syscall (all arches) follows the profile.
        if let Some((name, old, new)) = &step.rows {
            let decision = if forward { new } else { old };
            self.decided.insert(name.clone(), decision.clone());
            for row in self.rows.iter_mut().filter(|r| &r.syscall == name) {
                row.decision = decision.clone();
            }
        }
        self.refresh_coverage();
    }

    fn undo(&mut self) -> Vec<Effect> {
        let Some(step) = self.undo.pop() else {
            self.message = "nothing to undo".into();
            return vec![];
        };
        self.apply_step(&step, false);
        self.message = format!("undone: {}", step.label);
        self.redo.push(step);
        self.after_edit()
    }

    fn redo(&mut self) -> Vec<Effect> {
        let Some(step) = self.redo.pop() else {
            self.message = "nothing to redo".into();
            return vec![];
        };
        self.apply_step(&step, true);
        self.message = format!("redone: {}", step.label);
        self.undo.push(step);
        self.after_edit()
    }

    fn after_edit(&mut self) -> Vec<Effect> {
        let on_disk = self.disk_text.as_deref() == Some(self.profile.text.as_str());
        self.file_state = if on_disk && !self.path_pending {
            FileState::Saved
        } else {
            FileState::Unsaved
        };
        if self.config.autosave && self.file_state == FileState::Unsaved {
            return self.save_now();
        }
        vec![]
    }

    fn save_now(&mut self) -> Vec<Effect> {
        if self.file_state == FileState::ChangedOnDisk {
            self.message = "the file changed on disk: answer the prompt first".into();
            return vec![];
        }
        let path = self
            .path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_SAVE_PATH));
        if self.path.is_none() {
            self.path = Some(path.clone());
        }
        if !self.path_pending && self.disk_text.as_deref() == Some(self.profile.text.as_str()) {
            self.message = "nothing to save".into();
            return vec![];
        }
        vec![Effect::Save {
            path,
            text: self.profile.text.clone(),
            expected_old: if self.path_pending {
                None
            } else {
                self.disk_text.clone()
            },
        }]
    }

    /// Held calls are answered (killed) first: the workload is killed anyway, and a
    /// call left waiting would keep its supervisor from ending.
    fn restart(&mut self) -> Vec<Effect> {
        self.past_runs.push(PastRun {
            number: self.run.number,
            state: self.run.state.clone(),
            denials: self.run.denials,
            syscalls: self.rows.len(),
        });
        self.run.number += 1;
        self.run.denials = 0;
        self.run.pid = None;
        self.run.state = RunState::Starting;
        self.rows.clear();
        self.index.clear();
        self.ring.clear();
        let mut effects: Vec<Effect> = self
            .held
            .drain(..)
            .map(|h| Effect::AnswerHold {
                id: h.id,
                answer: HoldAnswer::Kill,
            })
            .collect();
        self.selected = 0;
        self.events_back = 0;
        self.message = format!("run {} under the current profile", self.run.number);
        if self.output.len() == OUTPUT_CAPACITY {
            self.output.pop_front();
        }
        self.output
            .push_back((format!("── run {} ──", self.run.number), false));
        self.run.coverage = self.collect;
        effects.push(Effect::Restart {
            profile_text: self.profile.text.clone(),
            coverage: self.collect,
        });
        effects
    }

    fn file_changed(&mut self, text: String) -> Vec<Effect> {
        if self.disk_text.as_deref() == Some(text.as_str()) || self.path_pending {
            return vec![]; // our own write, or nothing new
        }
        if text == self.profile.text {
            self.disk_text = Some(text);
            self.file_state = FileState::Saved;
            return vec![];
        }
        if self.unsaved() {
            self.file_state = FileState::ChangedOnDisk;
            self.prompt = Some(Prompt::Conflict {
                theirs: text,
                show_diff: false,
            });
            return vec![];
        }
        self.take_theirs(text);
        vec![]
    }

    /// Loads the file's new text; our version stays reachable with `u`.
    fn take_theirs(&mut self, text: String) {
        let file = self.profile.file.clone();
        match crate::profile::load_str(&file, text.clone()) {
            Ok(theirs) => {
                let step = Step {
                    before: self.profile.clone(),
                    after: theirs,
                    label: "reload of the file changed on disk".into(),
                    rows: None,
                };
                self.apply_step(&step, true);
                self.undo.push(step);
                self.redo.clear();
                self.disk_text = Some(text);
                // `u` brings ours back as an unsaved edit: nothing is lost.
                self.file_state = FileState::Saved;
                self.message = "reloaded the profile changed on disk (u brings yours back)".into();
            }
            Err(e) => {
                // Perhaps half-written: wait for the next change. Ours stays in
                // memory; a save now would be refused, as the file is not what we wrote.
                self.disk_text = Some(text);
                self.message = format!(
                    "the file on disk does not load ({}); keeping yours",
                    e.to_string().lines().next().unwrap_or("")
                );
            }
        }
    }
}

/// What the profile would do with a held call, as an answer.
fn verdict_answer(e: &Event) -> HoldAnswer {
    if e.action.contains("KILL") || e.action.contains("TRAP") {
        HoldAnswer::Kill
    } else {
        HoldAnswer::Deny
    }
}

fn raw_call(syscall: &str, args: Option<[u64; 6]>) -> String {
    let args = args.unwrap_or_default();
    let used = args.iter().rposition(|&a| a != 0).map_or(0, |i| i + 1);
    let shown: Vec<String> = args[..used].iter().map(|a| format!("{a:#x}")).collect();
    format!("{syscall}({})", shown.join(", "))
}

/// Where the panes go: shared by the drawing and by mouse clicks.
pub mod layout {
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Rect {
        pub x: u16,
        pub y: u16,
        pub width: u16,
        pub height: u16,
    }

    pub struct Areas {
        pub status: Rect,
        pub syscalls: Rect,
        pub detail: Rect,
        pub events: Rect,
        pub output: Rect,
        pub message: Rect,
    }

    /// Status (2 lines) on top, a message line at the bottom; between them the
    /// syscalls table and the detail side by side, then events and output.
    pub fn areas(width: u16, height: u16) -> Areas {
        let status = Rect {
            x: 0,
            y: 0,
            width,
            height: 2.min(height),
        };
        let body_y = status.height;
        let body_h = height.saturating_sub(body_y + 1);
        let top_h = body_h * 55 / 100;
        let bottom_h = body_h - top_h;
        let left_w = if width >= 100 {
            width * 55 / 100
        } else {
            width / 2
        };
        let syscalls = Rect {
            x: 0,
            y: body_y,
            width: left_w,
            height: top_h,
        };
        let detail = Rect {
            x: left_w,
            y: body_y,
            width: width - left_w,
            height: top_h,
        };
        let events = Rect {
            x: 0,
            y: body_y + top_h,
            width: left_w,
            height: bottom_h,
        };
        let output = Rect {
            x: left_w,
            y: body_y + top_h,
            width: width - left_w,
            height: bottom_h,
        };
        let message = Rect {
            x: 0,
            y: height.saturating_sub(1),
            width,
            height: 1.min(height),
        };
        Areas {
            status,
            syscalls,
            detail,
            events,
            output,
            message,
        }
    }

    /// The first row shown when `selected` must be visible in `body` rows.
    pub fn offset(selected: usize, body: usize) -> usize {
        if body == 0 {
            return selected;
        }
        selected.saturating_sub(body - 1)
    }
}

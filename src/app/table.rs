//! The Syscalls table's state: one row per would-be-denied syscall and arch,
//! built from the events as they come; what the filter and the sort leave
//! visible; and moving the selection by keys, wheel and clicks (for the
//! Coverage view's rows too, which share the top pane).

use super::layers::TableLine;
use super::{layout, App, Pane, Sort, View, RING_CAPACITY};
use crate::sources::aggregate::{raw_call, DeniedSyscall};
use crate::sources::event::{CallArch, Event, Source};
use crate::untrusted::Untrusted;

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

/// One row of the Syscalls table: one would-be-denied syscall on one arch, as
/// the headless summary aggregates it too, with what the user decided for it.
#[derive(Clone, Debug)]
pub struct Row {
    pub calls: DeniedSyscall,
    pub decision: UserDecision,
}

/// A row reads as its calls: `row.syscall`, `row.hits`, `row.verdict()`.
impl std::ops::Deref for Row {
    type Target = DeniedSyscall;

    fn deref(&self) -> &DeniedSyscall {
        &self.calls
    }
}

/// The runtime's start-up rows, counted for their folded line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootstrapGroup {
    /// Rows (syscall and arch) of the group.
    pub syscalls: usize,
    /// Calls made, over those rows.
    pub calls: u64,
    /// Rows the user allowed in this session.
    pub allowed: usize,
}

/// One line of the Events pane (the event, trimmed to what it shows).
#[derive(Clone, Debug)]
pub struct EventLine {
    pub time_ms: u64,
    pub pid: u32,
    pub comm: Untrusted,
    pub call: String,
    pub source: Source,
}

impl App {
    /// Rows shown in the Syscalls table: filtered, sorted. Indices into `rows`.
    pub fn visible(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let mut v: Vec<usize> = (0..self.rows.len())
            .filter(|&i| {
                needle.is_empty() || {
                    let r = &self.rows[i];
                    r.syscall.contains(&needle)
                        || r.arch.to_string().contains(&needle)
                        || r.verdict().to_lowercase().contains(&needle)
                        || r.pids
                            .iter()
                            .any(|(_, c)| c.to_string().to_lowercase().contains(&needle))
                        || r.pods
                            .iter()
                            .any(|p| p.label().to_lowercase().contains(&needle))
                }
            })
            .collect();
        if self.sort == Sort::Hits {
            v.sort_by(|&a, &b| self.rows[b].hits.cmp(&self.rows[a].hits).then(a.cmp(&b)));
        }
        // The workload's rows first; the runtime's start-up after them, when shown.
        let (workload, bootstrap): (Vec<usize>, Vec<usize>) =
            v.into_iter().partition(|&i| !self.rows[i].bootstrap);
        let mut v = workload;
        if self.show_bootstrap {
            v.extend(bootstrap);
        }
        v
    }

    /// The lines of the Syscalls table, top to bottom: the workload's rows, the
    /// calls only other layers refused, then the runtime's start-up when shown.
    pub fn table_lines(&self) -> Vec<TableLine> {
        let visible = self.visible();
        let workload = visible
            .iter()
            .take_while(|&&i| !self.rows[i].bootstrap)
            .count();
        let profile = |&i: &usize| TableLine::Profile(i);
        let mut lines: Vec<TableLine> = visible[..workload].iter().map(profile).collect();
        lines.extend(self.layer_rows().into_iter().map(TableLine::Layer));
        lines.extend(visible[workload..].iter().map(profile));
        lines
    }

    /// The runtime's start-up rows (every call made before the workload's exec),
    /// as the collapsed group tells them; `None`: there are none.
    pub fn bootstrap_group(&self) -> Option<BootstrapGroup> {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| r.bootstrap).collect();
        if rows.is_empty() {
            return None;
        }
        Some(BootstrapGroup {
            syscalls: rows.len(),
            calls: rows.iter().map(|r| r.hits).sum(),
            allowed: rows
                .iter()
                .filter(|r| r.decision == UserDecision::AllowedNow)
                .count(),
        })
    }

    /// `b`: the runtime's start-up rows shown after the workload's, or folded.
    pub(super) fn toggle_bootstrap(&mut self) {
        let Some(group) = self.bootstrap_group() else {
            self.message = "no runtime start-up calls: every row is the workload's".into();
            return;
        };
        self.show_bootstrap = !self.show_bootstrap;
        self.selected = self
            .selected
            .min(self.table_lines().len().saturating_sub(1));
        self.message = if self.show_bootstrap {
            format!(
                "the runtime's start-up: {} after the workload's",
                crate::profile::lint::plural(group.syscalls, "row", "rows")
            )
        } else {
            "the runtime's start-up folded: b shows it".into()
        };
    }

    /// The selected row of the profile, if any (not a row only another layer
    /// refused: `selected_refusal`).
    pub fn selected_row(&self) -> Option<&Row> {
        match self.table_lines().get(self.selected)? {
            TableLine::Profile(i) => self.rows.get(*i),
            TableLine::Layer(_) => None,
        }
    }

    /// Total hits over the rows: equals the events received in this run.
    pub fn hits(&self) -> u64 {
        self.rows.iter().map(|r| r.hits).sum()
    }

    pub(super) fn ingest(&mut self, e: Event) {
        if let Some(why) = e.interference {
            // Not the profile's doing: no row, but said where a clean run is.
            if !self.run.interference.iter().any(|(w, _)| *w == why) {
                let call = e.call.unwrap_or(e.syscall);
                let line = format!(
                    "eperm's doing: {call} by pid {} {}; to avoid it, {}",
                    e.pid,
                    why.why(),
                    why.avoid()
                );
                self.message = line.clone();
                self.run.interference.push((why, line));
            }
            return;
        }
        self.total_events += 1;
        self.run.denials += 1;
        let key = (e.syscall.clone(), e.arch);
        match self.index.get(&key) {
            Some(&i) => self.rows[i].calls.add(&e),
            None => {
                self.rows.push(Row {
                    calls: DeniedSyscall::new(&e),
                    decision: self
                        .decided
                        .get(&e.syscall)
                        .cloned()
                        .unwrap_or(UserDecision::StillDenied),
                });
                self.index.insert(key, self.rows.len() - 1);
            }
        }
        if !self.paused {
            if self.ring.len() == RING_CAPACITY {
                self.ring.pop_front();
            }
            let call = e.call.unwrap_or_else(|| raw_call(&e.syscall, e.args));
            self.ring.push_back(EventLine {
                time_ms: e.time_ms,
                pid: e.pid,
                comm: e.comm,
                call,
                source: e.source,
            });
        }
    }

    pub(super) fn scroll(&mut self, d: i32) {
        match self.focus {
            Pane::Syscalls if self.view == View::Coverage => {
                let n = self.coverage_visible().len();
                let s = self.cov_selected as i64 + d as i64;
                self.cov_selected = s.clamp(0, n.saturating_sub(1) as i64) as usize;
            }
            Pane::Syscalls => {
                let n = self.table_lines().len();
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

    pub(super) fn click(&mut self, column: u16, row: u16) {
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
                (self.selected, self.table_lines().len())
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

    pub(super) fn select_syscall(&mut self, syscall: &str, arch: CallArch) {
        self.filter.clear();
        if let Some(pos) = self.table_lines().iter().position(|line| {
            matches!(line, TableLine::Profile(i)
                if self.rows[*i].syscall == syscall && self.rows[*i].arch == arch)
        }) {
            self.selected = pos;
        }
    }

    /// `Tab`: the next pane takes the keys.
    pub(super) fn next_pane(&mut self) {
        self.focus = match self.focus {
            Pane::Syscalls => Pane::Events,
            Pane::Events => Pane::Output,
            Pane::Output => Pane::Syscalls,
        }
    }

    /// `space`: the Events pane stops following; the counts go on.
    pub(super) fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        self.message = if self.paused {
            "event stream paused (counts go on)".into()
        } else {
            "event stream follows".into()
        };
    }

    /// `s`: by first seen, or by hits.
    pub(super) fn toggle_sort(&mut self) {
        self.sort = match self.sort {
            Sort::FirstSeen => Sort::Hits,
            Sort::Hits => Sort::FirstSeen,
        }
    }
}

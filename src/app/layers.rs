//! The other layers in the TUI: what the layer watcher reported of this run
//! (calls that failed with EPERM/EACCES, each classified by the run's thread
//! in `session::live`), joined with the Syscalls table's rows, so that a row the
//! profile denies and another layer refuses too says so, and `a` on it says
//! that allowing it in the profile is not enough.

use super::App;
use crate::layer::Layer;
use crate::sources::refusal::{Refusal, Watch};

/// Whether this run's other layers are watched.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Layers {
    /// Nothing heard yet (or a run that does not watch: replays, containers).
    #[default]
    Unknown,
    Watching,
    NotWatched(String),
}

impl App {
    /// A report of the layer watcher (`Msg::Layer`).
    pub(super) fn layer(&mut self, w: Watch) {
        match w {
            Watch::Watching => self.run.layers = Layers::Watching,
            Watch::NotWatched(why) => self.run.layers = Layers::NotWatched(why),
            Watch::Refused(r) => self.refused(*r),
            // The status bar's count is of what arrived; the summary says the rest.
            Watch::Lost(_) => {}
        }
    }

    fn refused(&mut self, mut r: Refusal) {
        let Some(finding) = r.finding.as_mut() else {
            return;
        };
        let row = self
            .rows
            .iter()
            .any(|row| row.syscall == r.syscall && row.arch == r.arch && !row.bootstrap);
        if row && self.run.enforce {
            // The profile's enforced denial: the call never reached another layer.
            return;
        }
        finding.also_seccomp = row;
        let known = self.run.refused.iter_mut().find(|(k, _)| {
            k.syscall == r.syscall
                && k.finding.as_ref().map(ToString::to_string)
                    == r.finding.as_ref().map(ToString::to_string)
        });
        match known {
            Some((known, hits)) => {
                *hits += 1;
                // The row's `last` column.
                known.time_ms = known.time_ms.max(r.time_ms);
            }
            None => self.run.refused.push((r, 1)),
        }
    }

    /// Another layer's refusal of the row's syscall, when one was seen.
    pub fn also_refused(&self, syscall: &str) -> Option<&Refusal> {
        self.run.refused.iter().map(|(r, _)| r).find(|r| {
            r.syscall == syscall
                && r.finding
                    .as_ref()
                    .is_some_and(|f| f.layer != Layer::Seccomp)
        })
    }

    /// The Syscalls table's layer column for a row of `syscall`: the other
    /// layers that refused the same call (`cap:SYS_ADMIN`), besides the
    /// profile, whose row it is. `None` while no other layer refused anything:
    /// every row is the profile's alone, and the column is not shown.
    pub fn row_layers(&self, syscall: &str) -> Option<Vec<String>> {
        let others = |r: &&Refusal| {
            r.finding
                .as_ref()
                .is_some_and(|f| f.layer != Layer::Seccomp)
        };
        if !self.run.refused.iter().map(|(r, _)| r).any(|r| others(&r)) {
            return None;
        }
        let mut names: Vec<String> = Vec::new();
        for r in self.run.refused.iter().map(|(r, _)| r).filter(others) {
            let short = short(r.finding.as_ref().expect("filtered"));
            if r.syscall == syscall && !names.contains(&short) {
                names.push(short);
            }
        }
        Some(names)
    }

    /// For the message line after `a`: why the allowance will not be enough.
    pub(super) fn allowance_note(&self, syscall: &str) -> Option<String> {
        let f = self.also_refused(syscall)?.finding.as_ref()?;
        Some(format!(
            "; a seccomp allowance will not be enough: {f} refuses it too (fix: {})",
            f.fix
        ))
    }
}

/// A layer in a few characters, for the table: `cap:SYS_ADMIN`, `perms`, `lsm`.
pub fn short(f: &crate::layer::Finding) -> String {
    match f.layer {
        Layer::Capability if !f.capabilities.is_empty() => {
            let bare: Vec<&str> = f
                .capabilities
                .iter()
                .map(|c| c.trim_start_matches("CAP_"))
                .collect();
            format!("cap:{}", bare.join(","))
        }
        Layer::Permissions => "perms".into(),
        layer => layer.word().into(),
    }
}

/// A line of the Syscalls table: a row of the profile (an index into
/// `App::rows`), or a call only another layer refused (an index into
/// `run.refused`), which has a row of its own but no decision to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableLine {
    Profile(usize),
    Layer(usize),
}

impl App {
    /// The refusals that get a row of their own: another layer than the profile
    /// refused the call, and the profile has no row of that syscall (its row
    /// names the layer in its layer column then). Filtered as the rows are.
    pub fn layer_rows(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let profiles: std::collections::HashSet<&str> =
            self.rows.iter().map(|r| r.syscall.as_str()).collect();
        let mut v: Vec<usize> = (0..self.run.refused.len())
            .filter(|&i| {
                let r = &self.run.refused[i].0;
                let Some(f) = r.finding.as_ref().filter(|f| f.layer != Layer::Seccomp) else {
                    return false;
                };
                !profiles.contains(r.syscall.as_str())
                    && (needle.is_empty()
                        || r.syscall.contains(&needle)
                        || r.arch.to_string().contains(&needle)
                        || short(f).to_lowercase().contains(&needle)
                        || f.layer.word().contains(&needle)
                        || r.comm.to_string().to_lowercase().contains(&needle))
            })
            .collect();
        if self.sort == super::Sort::Hits {
            let hits = |i: usize| self.run.refused[i].1;
            v.sort_by(|&a, &b| hits(b).cmp(&hits(a)).then(a.cmp(&b)));
        }
        v
    }

    /// The selected line's refusal, when it is a row only another layer refused.
    pub fn selected_refusal(&self) -> Option<(&Refusal, u64)> {
        match self.table_lines().get(self.selected)? {
            TableLine::Layer(i) => self.run.refused.get(*i).map(|(r, hits)| (r, *hits)),
            TableLine::Profile(_) => None,
        }
    }

    /// `a`, `d` or `e` on a row only another layer refused: the profile is not
    /// edited, and the message says why and what would help. False on any
    /// other row.
    pub(super) fn not_the_profiles(&mut self) -> bool {
        let Some((r, _)) = self.selected_refusal() else {
            return false;
        };
        let Some(f) = r.finding.as_ref() else {
            return false;
        };
        self.message = format!(
            "{}: {f} refused it, not the profile's: a seccomp allowance will not help; fix: {}",
            r.syscall, f.fix
        );
        true
    }
}

//! The Coverage view's side of the App: its rows, its keys (deny, prune behind
//! its diff, narrow), and coverage runs arriving.

use super::coverage::{self, Allowance};
use super::keys::{self, KeyAction, KeyMode};
use super::{App, Effect, Key, Mods, Prompt, RunState, Sort, UserDecision, View};
use crate::coverage::Coverage;
use crate::profile::edit::{self, Edit};
use crate::profile::lint::plural;
use crate::tighten::narrow::{self, Proposal};

/// The comment of the rules a narrowing writes.
const NARROW_COMMENT: &str = "narrowed by eperm";

impl App {
    /// Rows of the Coverage view: filtered by name; in the profile's order, or by
    /// uses (`s`). Indices into `allowances`.
    pub fn coverage_visible(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let mut v: Vec<usize> = (0..self.allowances.len())
            .filter(|&i| needle.is_empty() || self.allowances[i].name.contains(&needle))
            .collect();
        if self.sort == Sort::Hits {
            v.sort_by_key(|&i| std::cmp::Reverse(self.allowances[i].count));
        }
        v
    }

    /// The allowance selected in the Coverage view.
    pub fn selected_allowance(&self) -> Option<&Allowance> {
        self.coverage_visible()
            .get(self.cov_selected)
            .map(|&i| &self.allowances[i])
    }

    /// The narrowing proposed for `name`, if any.
    pub fn proposal(&self, name: &str) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.syscall == name)
    }

    /// Recomputes the Coverage view after the profile or the coverage changed.
    pub(super) fn refresh_coverage(&mut self) {
        let known = self.known_coverage();
        self.allowances = coverage::allowances(&self.profile, &known);
        self.proposals = narrow::proposals(&self.profile, &known);
        let n = self.coverage_visible().len();
        self.cov_selected = self.cov_selected.min(n.saturating_sub(1));
    }

    /// Every run's coverage and what the run under way counted so far.
    fn known_coverage(&self) -> Coverage {
        let mut known = self.coverage.clone();
        if !self.live.tallies.is_empty() {
            known.merge(&self.live);
        }
        known
    }

    pub(super) fn coverage_run(
        &mut self,
        run: Coverage,
        stored: Option<Result<Coverage, String>>,
    ) -> Vec<Effect> {
        // The run's own tallies replace what it reported on the way.
        self.live = Coverage::default();
        let calls: u64 = run.tallies.iter().map(|t| t.count).sum();
        let mut effects = Vec::new();
        match stored {
            Some(Ok(merged)) => {
                self.coverage = merged;
                // Runs from before the file existed (or could be written) go in now:
                // nothing any run used may be forgotten, or prune would take it.
                if self.unstored.runs > 0 {
                    let unstored = std::mem::take(&mut self.unstored);
                    self.coverage.merge(&unstored);
                    if let Some(path) = self.path.as_deref().filter(|_| !self.path_pending) {
                        effects.push(Effect::StoreCoverage {
                            path: Coverage::path_for(path),
                            coverage: unstored,
                        });
                    }
                }
                // The file is one eperm picked: say which.
                let kept = match self.path.as_deref().filter(|_| !self.path_pending) {
                    Some(path) => format!(" in {}", Coverage::path_for(path).display()),
                    None => String::new(),
                };
                self.message = format!(
                    "coverage: {} of this run counted; {} in all{kept}",
                    plural(calls as usize, "call", "calls"),
                    plural(self.coverage.runs as usize, "run", "runs"),
                );
            }
            Some(Err(why)) => {
                self.coverage.merge(&run);
                self.unstored.merge(&run);
                self.message = format!("coverage not saved: {why}");
            }
            None => {
                self.coverage.merge(&run);
                self.unstored.merge(&run);
                self.message = format!(
                    "coverage: {} counted (the embedded profile has no file to keep them next to)",
                    plural(calls as usize, "call", "calls")
                );
            }
        }
        self.refresh_coverage();
        effects
    }

    pub(super) fn open_coverage(&mut self) {
        self.view = View::Coverage;
        self.message = if self.coverage.runs > 0 {
            "Coverage: d deny · p prune unused · n narrow · m collect on/off · c back".into()
        } else if self.run.coverage {
            "collecting coverage: the counts come when the run ends (c back)".into()
        } else {
            "no coverage yet: m then r runs the workload collecting it (c back)".into()
        };
    }

    /// Keys of the Coverage view; `None`: not one of them (or not in the view),
    /// for the main view's to take.
    pub(super) fn coverage_key(&mut self, key: Key, mods: Mods) -> Option<Vec<Effect>> {
        if self.view != View::Coverage || mods.ctrl {
            return None;
        }
        match keys::action(KeyMode::Coverage, key, Mods::NONE)? {
            KeyAction::ToggleView => {
                self.view = View::Syscalls;
                self.message = "would-be denials".into();
            }
            KeyAction::Back if self.filter.is_empty() => self.view = View::Syscalls,
            KeyAction::Home => self.cov_selected = 0,
            KeyAction::End => self.cov_selected = self.coverage_visible().len().saturating_sub(1),
            KeyAction::Deny => return Some(self.deny_allowance()),
            KeyAction::Prune => self.prune_prompt(),
            KeyAction::Narrow => return Some(self.narrow_selected()),
            KeyAction::Collect => self.toggle_collect(),
            KeyAction::Allow | KeyAction::Errno => {
                self.message = "a and e decide would-be denials: c goes back to them".into();
            }
            _ => return None,
        }
        Some(vec![])
    }

    /// `m`: whether the next runs collect coverage. A coverage run is the workload
    /// as under the profile (verdicts enforced, nothing held) with every call counted.
    fn toggle_collect(&mut self) {
        if self.run.state == RunState::Watching {
            self.message = "no workload to collect coverage of: watching logs".into();
            return;
        }
        self.collect = !self.collect;
        self.message = if self.collect {
            "the next runs collect coverage (verdicts enforced, nothing held): r restarts now"
        } else {
            "the next runs collect no coverage: r restarts now"
        }
        .into();
    }

    /// `d` in the Coverage view: the allowance goes, and the profile's denial applies.
    fn deny_allowance(&mut self) -> Vec<Effect> {
        let Some(name) = self.selected_allowance().map(|a| a.name.clone()) else {
            return vec![];
        };
        let edit = Edit::Deny {
            name: name.clone(),
            errno: None,
        };
        let Some(after) = self.edited(&edit) else {
            return vec![];
        };
        let old = self
            .decided
            .get(&name)
            .cloned()
            .unwrap_or(UserDecision::StillDenied);
        let rows = Some((name.clone(), old, UserDecision::StillDenied));
        self.commit(after, format!("deny {name}"), rows)
    }

    /// `p`: the diff of pruning every unused allowance, for the user to confirm.
    fn prune_prompt(&mut self) {
        if self.coverage.runs == 0 {
            self.message =
                "nothing to prune by: no coverage yet (eperm run --coverage collects it)".into();
            return;
        }
        let edits = crate::tighten::prune::prune_edits(&self.profile, &self.known_coverage());
        if edits.is_empty() {
            self.message = "nothing to prune: every allowance was used or is needed".into();
            return;
        }
        let applied = match edit::apply(&self.profile, &edits) {
            Ok(a) => a,
            Err(e) => {
                self.message = format!("cannot prune: {e}");
                return;
            }
        };
        let file = self
            .path
            .as_ref()
            .map_or_else(|| self.profile.file.clone(), |p| p.display().to_string());
        let diff = similar::TextDiff::from_lines(&self.profile.text, &applied.profile.text)
            .unified_diff()
            .context_radius(2)
            .header(&file, &format!("{file} (pruned)"))
            .to_string();
        self.prompt = Some(Prompt::Prune {
            before: self.profile.text.clone(),
            after: applied.profile.text,
            names: edits.iter().map(|e| e.name().to_string()).collect(),
            diff,
            scroll: 0,
        });
    }

    pub(super) fn prune_key(&mut self, prompt: Prompt, key: Key) -> Vec<Effect> {
        let Prompt::Prune {
            before,
            after,
            names,
            diff,
            scroll,
        } = prompt
        else {
            return vec![];
        };
        let lines = diff.lines().count();
        let moved = |d: i64| (scroll as i64 + d).clamp(0, lines.saturating_sub(1) as i64) as usize;
        let scroll = match keys::action(KeyMode::PrunePrompt, key, Mods::NONE) {
            Some(KeyAction::Confirm) => return self.prune(before, after, names),
            Some(KeyAction::Cancel) => {
                self.prompt = None;
                self.message = "nothing pruned".into();
                return vec![];
            }
            Some(KeyAction::Down) => moved(1),
            Some(KeyAction::Up) => moved(-1),
            Some(KeyAction::PageDown) => moved(10),
            Some(KeyAction::PageUp) => moved(-10),
            Some(KeyAction::Home) => 0,
            Some(KeyAction::End) => moved(lines as i64),
            _ => scroll,
        };
        self.prompt = Some(Prompt::Prune {
            before,
            after,
            names,
            diff,
            scroll,
        });
        vec![]
    }

    fn prune(&mut self, before: String, after: String, names: Vec<String>) -> Vec<Effect> {
        self.prompt = None;
        if self.profile.text != before {
            self.message =
                "the profile changed since the diff was made: nothing pruned (p again)".into();
            return vec![];
        }
        let pruned = match crate::profile::load_str(&self.profile.file, after) {
            Ok(p) => p,
            Err(e) => {
                self.message = format!("cannot prune: {e}");
                return vec![];
            }
        };
        let label = format!(
            "prune {} unused allowance{}",
            names.len(),
            if names.len() == 1 { "" } else { "s" }
        );
        let effects = self.commit(pruned, label.clone(), None);
        self.message = format!("{label}: {} (u brings them back)", names.join(", "));
        effects
    }

    /// `n`: the narrower rule eperm proposes for the selected allowance.
    fn narrow_selected(&mut self) -> Vec<Effect> {
        let Some(name) = self.selected_allowance().map(|a| a.name.clone()) else {
            return vec![];
        };
        let Some(p) = self.proposal(&name).cloned() else {
            self.message = format!(
                "no narrower rule for {name}: the runs used too many values, or other rules name it"
            );
            return vec![];
        };
        let narrowed = match p.apply_commented(&self.profile, Some(NARROW_COMMENT)) {
            Ok(n) if n.text != self.profile.text => n,
            Ok(_) => {
                self.message = format!("{name}: the profile allows no more than that already");
                return vec![];
            }
            Err(e) => {
                self.message = format!("cannot narrow {name}: {e}");
                return vec![];
            }
        };
        let effects = self.commit(narrowed, format!("narrow {name}"), None);
        self.message = format!("narrowed {name}: {} (u undoes)", p.explanation);
        effects
    }
}

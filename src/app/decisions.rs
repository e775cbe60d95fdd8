//! What the user decides and what follows from it: allow, deny and errno edits
//! through the edit engine, each one undoable step; saving (autosave included)
//! and the save's confirmation; restarting the workload under the edited
//! profile; and the profile's file changing on disk, with or without a conflict.

use super::{AfterSave, App, Effect, FileState, PastRun, Prompt, RunState, UserDecision};
use super::{DEFAULT_SAVE_PATH, OUTPUT_CAPACITY};
use crate::profile::edit::{self, Edit};
use crate::profile::Action;
use crate::profile::Profile;
use crate::run::HoldAnswer;
use crate::sources::event::{CallArch, Rule};
use std::path::PathBuf;

/// One step of the undo history.
#[derive(Clone, Debug)]
pub(super) struct Step {
    before: Profile,
    after: Profile,
    /// What the step did, for "undone: …".
    label: String,
    /// The syscalls whose rows change decision, with the old and new decision.
    rows: Vec<(String, UserDecision, UserDecision)>,
}

impl Step {
    /// What the step decided, for the report.
    pub(super) fn told(&self) -> String {
        match &self.rows[..] {
            [(name, _, new)] => new.told(name),
            _ => self.label.clone(),
        }
    }
}

impl App {
    pub(super) fn allow_selected(&mut self) -> Vec<Effect> {
        if self.not_the_profiles() {
            return vec![];
        }
        let Some(row) = self.selected_row() else {
            return vec![];
        };
        let name = row.syscall.clone();
        let note = self.allowance_note(&name);
        let effects = self.decide(Edit::Allow(name), UserDecision::AllowedNow);
        if let Some(note) = note {
            self.message += &note;
        }
        effects
    }

    /// Back to the profile's verdict: the errno it gave, or the default action.
    pub(super) fn deny_selected(&mut self) -> Vec<Effect> {
        if self.not_the_profiles() {
            return vec![];
        }
        let Some(row) = self.selected_row() else {
            return vec![];
        };
        let name = row.syscall.clone();
        let edit = if matches!(
            row.rule.map(|r| r.rule),
            Some(Rule::Default | Rule::Stub | Rule::Kernel)
        ) {
            Edit::Remove(name)
        } else {
            // An errno without a name is not given back: the profile's usual one is.
            let errno = row
                .ruling
                .errno()
                .filter(|&e| crate::errno::name(e).is_some());
            Edit::Deny { name, errno }
        };
        self.decide(edit, UserDecision::StillDenied)
    }

    pub(super) fn set_errno(&mut self, errno: u32) -> Vec<Effect> {
        if self.not_the_profiles() {
            return vec![];
        }
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
    pub(super) fn decide(&mut self, edit: Edit, decision: UserDecision) -> Vec<Effect> {
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
    /// with the message saying why not. Placed as `eperm edit` places it: a name
    /// joins no rule whose comment gives another name's reason.
    pub(super) fn edited(&mut self, edit: &Edit) -> Option<Profile> {
        match edit::apply_uncommented(&self.profile, std::slice::from_ref(edit)) {
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
    pub(super) fn commit(
        &mut self,
        after: Profile,
        label: String,
        rows: Option<(String, UserDecision, UserDecision)>,
    ) -> Vec<Effect> {
        let step = Step {
            before: self.profile.clone(),
            after,
            label,
            rows: rows.into_iter().collect(),
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
        // Every row of those syscalls (all arches) follows the profile.
        for (name, old, new) in &step.rows {
            let decision = if forward { new } else { old };
            self.decided.insert(name.clone(), decision.clone());
            for row in self.rows.iter_mut().filter(|r| &r.syscall == name) {
                row.decision = decision.clone();
            }
        }
        self.refresh_coverage();
    }

    pub(super) fn undo(&mut self) -> Vec<Effect> {
        self.step(false)
    }

    pub(super) fn redo(&mut self) -> Vec<Effect> {
        self.step(true)
    }

    /// Takes the last step off one history (redo's when `forward`, undo's
    /// otherwise), applies it that way and puts it on the other.
    fn step(&mut self, forward: bool) -> Vec<Effect> {
        let (name, done) = if forward {
            ("redo", "redone")
        } else {
            ("undo", "undone")
        };
        let popped = if forward {
            self.redo.pop()
        } else {
            self.undo.pop()
        };
        let Some(step) = popped else {
            self.message = format!("nothing to {name}");
            return vec![];
        };
        self.apply_step(&step, forward);
        self.message = format!("{done}: {}", step.label);
        let onto = if forward {
            &mut self.undo
        } else {
            &mut self.redo
        };
        onto.push(step);
        self.after_edit()
    }

    fn after_edit(&mut self) -> Vec<Effect> {
        // The file holds a change not loaded: nothing is saved over it until
        // the user has chosen (the conflict prompt).
        if self.file_state == FileState::ChangedOnDisk {
            return vec![];
        }
        // With a save in flight the file may be about to hold other text: only a
        // confirmed save says what it holds.
        let on_disk = !self.saving && self.disk_text.as_deref() == Some(self.profile.text.as_str());
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

    pub(super) fn save_now(&mut self) -> Vec<Effect> {
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
        let on_disk = self.disk_text.as_deref() == Some(self.profile.text.as_str());
        if !self.path_pending && !self.saving && on_disk {
            self.message = "nothing to save".into();
            return vec![];
        }
        // A save asked for while another is in flight supersedes it: both expect
        // the same old text, as nothing is confirmed in between.
        self.saving = true;
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

    /// A save finished: the file holds `text` now.
    pub(super) fn saved(&mut self, path: PathBuf, text: String) -> Vec<Effect> {
        let first = self.path_pending;
        self.saving = false;
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
        match self.after_save.take() {
            Some(AfterSave::Quit) => return self.quit_now(),
            Some(AfterSave::Rerun) if self.run.state != RunState::Watching => {
                return self.restart_now()
            }
            _ if self.config.rerun_on_save && self.run.state != RunState::Watching => {
                return self.restart_now()
            }
            _ => {}
        }
        vec![]
    }

    /// Asks for a save and for `then` once it is confirmed; `false` when there was
    /// nothing to save (or it cannot be asked for now).
    pub(super) fn save_then(&mut self, then: AfterSave, effects: &mut Vec<Effect>) -> bool {
        let save = self.save_now();
        let asked = save.iter().any(|e| matches!(e, Effect::Save { .. }));
        if asked {
            self.after_save = Some(then);
        }
        effects.extend(save);
        asked
    }

    /// A save failed; what waited for it does not happen: a re-run would run a
    /// profile the file does not hold, quitting would lose the edits.
    pub(super) fn save_failed(&mut self, why: &str) -> Vec<Effect> {
        // The status line has room for the first line; the hint is for the CLI.
        let first = why.lines().next().unwrap_or_default();
        self.message = format!("not saved: {first}");
        self.saving = false;
        match self.after_save.take() {
            Some(AfterSave::Rerun) => self
                .message
                .push_str(" (not re-run: w saves, r runs again)"),
            Some(AfterSave::Quit) => self.message.push_str(" (still here: w saves, q quits)"),
            None => {}
        }
        vec![]
    }

    /// `r`: a re-run runs what is on disk. When autosaving, edits the file does not
    /// hold yet (a save refused or failed) are saved first, and the run starts
    /// once the save is confirmed; without autosave it runs the edits in memory,
    /// as the user chose not to write them.
    pub(super) fn restart(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        let unsaved = self.config.autosave && self.file_state == FileState::Unsaved;
        if unsaved && self.save_then(AfterSave::Rerun, &mut effects) {
            return effects;
        }
        effects.extend(self.restart_now());
        effects
    }

    /// Held calls are answered (killed) first: the workload is killed anyway, and a
    /// call left waiting would keep its supervisor from ending.
    fn restart_now(&mut self) -> Vec<Effect> {
        self.past_runs.push(PastRun {
            number: self.run.number,
            state: self.run.state.clone(),
            denials: self.run.denials,
            syscalls: self.rows.len(),
        });
        self.run.number += 1;
        self.run.denials = 0;
        self.run.interference.clear();
        self.run.refused.clear();
        self.run.not_started = None;
        self.run.pid = None;
        self.run.state = RunState::Starting;
        // Kept for the report: what earlier runs would have had denied.
        self.earlier_rows.append(&mut self.rows);
        self.index.clear();
        self.ring.clear();
        let mut effects = self.answer_every_held(HoldAnswer::Kill);
        self.selected = 0;
        self.events_back = 0;
        self.message = format!("run {} under the current profile", self.run.number);
        if self.output.len() == OUTPUT_CAPACITY {
            self.output.pop_front();
        }
        self.output
            .push_back((format!("── run {} ──", self.run.number).into(), false));
        self.run.coverage = self.collect;
        effects.push(Effect::Restart {
            profile_text: self.profile.text.clone(),
            coverage: self.collect,
        });
        effects
    }

    /// The file holds `text` now (read after a change notice).
    pub(super) fn file_changed(&mut self, text: String) -> Vec<Effect> {
        if self.path_pending {
            return vec![];
        }
        if self.disk_text.as_deref() == Some(text.as_str()) {
            // Our own write, nothing new, or the file back to what we know.
            self.end_conflict();
            return vec![];
        }
        if text == self.profile.text {
            self.disk_text = Some(text);
            self.end_conflict();
            return vec![];
        }
        let mine_unsaved = self.saving || self.disk_text.as_deref() != Some(&self.profile.text);
        match crate::profile::load_str(&self.profile.file, text.clone()) {
            Ok(theirs) if !mine_unsaved => self.reload(theirs, text),
            loaded => self.conflict(text, loaded.err().map(|e| first_line(&e))),
        }
        vec![]
    }

    /// The file holds a change eperm has not loaded: nothing is saved over it
    /// until the user chooses (keep mine, take theirs), whatever the file holds.
    fn conflict(&mut self, theirs: String, error: Option<String>) {
        self.file_state = FileState::ChangedOnDisk;
        let show_diff = matches!(
            self.prompt,
            Some(Prompt::Conflict {
                show_diff: true,
                ..
            })
        );
        self.message = match &error {
            Some(e) => format!("the file on disk does not load ({e}): not saved over it"),
            None => "the file changed on disk: not saved over it".into(),
        };
        self.prompt = Some(Prompt::Conflict {
            theirs,
            show_diff,
            error,
        });
    }

    /// The file is what eperm knows again: the conflict, if any, is over.
    fn end_conflict(&mut self) {
        if self.file_state != FileState::ChangedOnDisk {
            return;
        }
        if matches!(self.prompt, Some(Prompt::Conflict { .. })) {
            self.prompt = None;
        }
        self.file_state = if self.disk_text.as_deref() == Some(self.profile.text.as_str()) {
            FileState::Saved
        } else {
            FileState::Unsaved
        };
        self.message = "the file on disk is what eperm knows again".into();
    }

    /// Loads the file's new text; our version stays reachable with `u`. When it
    /// does not load, the conflict stays (what a save would overwrite is shown).
    pub(super) fn take_theirs(&mut self, text: String) {
        match crate::profile::load_str(&self.profile.file, text.clone()) {
            Ok(theirs) => self.reload(theirs, text),
            Err(e) => self.conflict(text, Some(first_line(&e))),
        }
    }

    /// Makes the file's `text` (loaded as `theirs`) the profile, as one undoable
    /// step; every row's decision follows what it now says.
    fn reload(&mut self, theirs: Profile, text: String) {
        let rows = self.decisions_under(&theirs);
        let step = Step {
            before: self.profile.clone(),
            after: theirs,
            label: "reload of the file changed on disk".into(),
            rows,
        };
        self.apply_step(&step, true);
        self.undo.push(step);
        self.redo.clear();
        self.disk_text = Some(text);
        if matches!(self.prompt, Some(Prompt::Conflict { .. })) {
            self.prompt = None;
        }
        // `u` brings ours back as an unsaved edit: nothing is lost.
        self.file_state = FileState::Saved;
        self.message = "reloaded the profile changed on disk (u brings yours back)".into();
    }

    /// What the profile's verdicts are for: the configured target, or this
    /// machine with the configured runtime.
    pub(super) fn target(&self) -> crate::profile::Target {
        self.config
            .target
            .clone()
            .unwrap_or_else(|| crate::profile::Target {
                runtime: self.config.runtime.clone(),
                ..crate::profile::Target::docker_on_host()
            })
    }

    /// For each syscall seen (or decided), its decision as `profile` now reads
    /// for the call seen, where that differs from the one shown.
    fn decisions_under(&self, profile: &Profile) -> Vec<(String, UserDecision, UserDecision)> {
        let mode = crate::compile::Mode::Enforce;
        let Ok(judge) = crate::run::Judge::new(profile.clone(), &self.target(), mode) else {
            return vec![];
        };
        let mut changes: Vec<(String, UserDecision, UserDecision)> = Vec::new();
        for row in self.rows.iter().chain(&self.earlier_rows) {
            let CallArch::Known(arch) = row.arch else {
                continue;
            };
            if changes.iter().any(|(n, ..)| *n == row.syscall) {
                continue;
            }
            let verdict = judge
                .judge(arch, row.nr, row.example_args.unwrap_or_default())
                .verdict;
            let new = match verdict.action {
                Action::Allow | Action::Log => UserDecision::AllowedNow,
                Action::Errno if row.ruling.errno() != Some(verdict.data) => {
                    UserDecision::Errno(verdict.data)
                }
                _ => UserDecision::StillDenied,
            };
            let old = self
                .decided
                .get(&row.syscall)
                .cloned()
                .unwrap_or(UserDecision::StillDenied);
            changes.push((row.syscall.clone(), old, new));
        }
        changes.retain(|(_, old, new)| old != new);
        changes
    }
}

/// The first line of an error, for the status and prompt lines.
fn first_line(e: &impl std::fmt::Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_string()
}

//! The prompts that take the keys until answered: quit with unsaved edits, the
//! errno a syscall gets (with free-text entry of any other), and the file
//! changed on disk while edits were unsaved. The prune prompt's keys are the
//! Coverage view's (`coverage_view.rs`).

use super::keys::{self, KeyAction, KeyMode};
use super::{AfterSave, App, Effect, FileState, Key, Mods};
use crate::run::HoldAnswer;

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
    /// The file holds a change not loaded: made while edits were unsaved, or
    /// one that does not load (`error`, its first line).
    Conflict {
        theirs: String,
        show_diff: bool,
        error: Option<String>,
    },
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

impl App {
    /// Every key while a prompt is up; `None`: no prompt.
    pub(super) fn prompt_key(&mut self, key: Key) -> Option<Vec<Effect>> {
        let prompt = self.prompt.clone()?;
        Some(match prompt {
            Prompt::Quit => self.quit_key(key),
            Prompt::Errno { syscall, typing } => self.errno_key(syscall, typing, key),
            prune @ Prompt::Prune { .. } => self.prune_key(prune, key),
            Prompt::Conflict {
                theirs,
                show_diff,
                error,
            } => self.conflict_key(theirs, show_diff, error, key),
        })
    }

    /// `q` (or Ctrl-c): asks first when edits are unsaved.
    pub(super) fn quit(&mut self) -> Vec<Effect> {
        if self.unsaved() {
            // A save asked for and not confirmed yet: quit once it is.
            let mut effects = Vec::new();
            if self.saving && self.save_then(AfterSave::Quit, &mut effects) {
                return effects;
            }
            self.prompt = Some(Prompt::Quit);
            return vec![];
        }
        self.quit_now()
    }

    pub(super) fn quit_now(&mut self) -> Vec<Effect> {
        self.quitting = true;
        let mut effects = self.answer_every_held(HoldAnswer::Kill);
        effects.push(Effect::Quit);
        effects
    }

    fn quit_key(&mut self, key: Key) -> Vec<Effect> {
        match keys::action(KeyMode::QuitPrompt, key, Mods::NONE) {
            Some(KeyAction::Save) => {
                // Quit once the file holds the edits: a failed save keeps eperm open.
                self.prompt = None;
                let mut effects = Vec::new();
                if !self.save_then(AfterSave::Quit, &mut effects) {
                    effects.extend(self.quit_now());
                }
                effects
            }
            Some(KeyAction::Quit) => {
                self.prompt = None;
                self.quit_now()
            }
            Some(KeyAction::Cancel) => {
                self.prompt = None;
                vec![]
            }
            _ => vec![],
        }
    }

    /// `e`: the errno prompt for the selected row.
    pub(super) fn errno_prompt(&mut self) {
        if self.not_the_profiles() {
            return;
        }
        if let Some(row) = self.selected_row() {
            self.prompt = Some(Prompt::Errno {
                syscall: row.syscall.clone(),
                typing: None,
            });
        }
    }

    /// One of the listed errnos, or "other" and then its name or number typed.
    fn errno_key(&mut self, syscall: String, typing: Option<String>, key: Key) -> Vec<Effect> {
        let Some(mut t) = typing else {
            let errno = match keys::action(KeyMode::ErrnoPrompt, key, Mods::NONE) {
                Some(KeyAction::Eperm) => 1,
                Some(KeyAction::Enosys) => 38,
                Some(KeyAction::Eacces) => 13,
                Some(KeyAction::OtherErrno) => {
                    self.prompt = Some(Prompt::Errno {
                        syscall,
                        typing: Some(String::new()),
                    });
                    return vec![];
                }
                Some(KeyAction::Cancel) => {
                    self.prompt = None;
                    return vec![];
                }
                _ => return vec![],
            };
            self.prompt = None;
            return self.set_errno(errno);
        };
        match key {
            Key::Esc => {
                self.prompt = None;
                return vec![];
            }
            Key::Char(c) => t.push(c),
            Key::Backspace => {
                t.pop();
            }
            Key::Enter => match crate::errno::parse(t.trim()) {
                Some(errno) => {
                    self.prompt = None;
                    return self.set_errno(errno);
                }
                None => self.message = format!("{t:?} is not an errno (EPERM, ENOSYS, 13 …)"),
            },
            _ => {}
        }
        self.prompt = Some(Prompt::Errno {
            syscall,
            typing: Some(t),
        });
        vec![]
    }

    fn conflict_key(
        &mut self,
        theirs: String,
        show_diff: bool,
        error: Option<String>,
        key: Key,
    ) -> Vec<Effect> {
        match keys::action(KeyMode::ConflictPrompt, key, Mods::NONE) {
            Some(KeyAction::KeepMine) => {
                // Keep mine: ours overwrites theirs, knowingly.
                self.prompt = None;
                self.disk_text = Some(theirs);
                self.file_state = FileState::Unsaved;
                self.save_now()
            }
            Some(KeyAction::TakeTheirs) => {
                // Theirs that does not load stays asked about (take_theirs says why).
                self.prompt = None;
                self.take_theirs(theirs);
                vec![]
            }
            Some(KeyAction::ShowDiff) => {
                self.prompt = Some(Prompt::Conflict {
                    theirs,
                    show_diff: !show_diff,
                    error,
                });
                vec![]
            }
            _ => vec![],
        }
    }
}

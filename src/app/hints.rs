//! The key-hint bar: the keys that act where the user is (the focused pane, the
//! view, a prompt, the filter being typed), read from the bindings table, so
//! that the bar, the dispatch and the help overlay never disagree.

use super::keys::{HelpText, Key, KeyAction, KeyMode, Mods, BINDINGS};
use super::{App, Pane, View};

/// One hint: the key as written on screen, and a word or two for what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    pub key: String,
    pub what: &'static str,
}

impl Hint {
    /// Columns taken on screen, without the separator.
    pub fn width(&self) -> usize {
        self.key.chars().count() + 1 + self.what.chars().count()
    }
}

/// The separator between hints on the bar.
pub const SEPARATOR: &str = " · ";

/// How a key is written on the bar.
pub fn key_name(key: Key, mods: Mods) -> String {
    let base = match key {
        Key::Char(' ') => "space".to_string(),
        Key::Char(c) => c.to_string(),
        Key::Up => "↑".into(),
        Key::Down => "↓".into(),
        Key::PageUp => "PgUp".into(),
        Key::PageDown => "PgDn".into(),
        Key::Home => "Home".into(),
        Key::End => "End".into(),
        Key::Tab => "Tab".into(),
        Key::Enter => "Enter".into(),
        Key::Esc => "Esc".into(),
        Key::Backspace => "Backspace".into(),
    };
    if mods.ctrl {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// A word or two for an action on the bar, in `mode`; `None`: not worth a hint
/// there (page keys, the second key of a pair).
fn what(mode: KeyMode, action: KeyAction) -> Option<&'static str> {
    use KeyAction::*;
    Some(match (mode, action) {
        (KeyMode::Coverage, Deny) => "take away",
        (KeyMode::Coverage, ToggleView) => "back",
        (KeyMode::Coverage, Allow | Errno | Back | Home | End) => return None,
        (KeyMode::Held, Deny) => "deny",
        (KeyMode::DiffView, Cancel) => "close",
        (KeyMode::DiffView, DiffBase) => "since start/save",
        (KeyMode::DiffView | KeyMode::PrunePrompt, Up) => "scroll",
        (_, Up) => "move",
        (_, Down | PageUp | PageDown | Home | End | Redo | Back) => return None,
        (_, NextPane) => "next pane",
        (_, Filter) => "filter",
        (_, ClearFilter) => "clear filter",
        (_, Allow) => "allow",
        (_, Deny) => "deny",
        (_, Errno) => "errno",
        (_, Undo) => "undo",
        (_, Save) => "save",
        (_, Restart) => "restart",
        (_, ToggleView) => "coverage",
        (_, Hold) => "hold",
        (_, Pause) => "pause",
        (_, Sort) => "sort",
        (_, Frames) => "frames",
        (_, Help) => "help",
        (_, Quit) => "quit",
        (_, Prune) => "prune unused",
        (_, Narrow) => "narrow",
        (_, Collect) => "collect",
        (_, AllowOnce) => "allow once",
        (_, AllowAlways) => "allow always",
        (_, Kill) => "kill the workload",
        (_, Bootstrap) => "start-up rows",
        (_, SessionDiff) => "diff",
        (_, Report) => "report",
        (_, Cancel | Eperm | Enosys | Eacces | OtherErrno | KeepMine | TakeTheirs)
        | (_, ShowDiff | Confirm | DiffBase) => return None,
    })
}

/// The hints of `mode`: each action once, with its first key, and (in a prompt)
/// the prompt's own words for it.
fn of_mode(mode: KeyMode, keep: impl Fn(KeyAction) -> bool) -> Vec<(KeyAction, Hint)> {
    let mut hints: Vec<(KeyAction, Hint)> = Vec::new();
    for b in BINDINGS.iter().filter(|b| b.mode == mode) {
        if !keep(b.action) || hints.iter().any(|(a, _)| *a == b.action) {
            continue;
        }
        let paired = matches!(
            b.action,
            KeyAction::Down
                | KeyAction::PageUp
                | KeyAction::PageDown
                | KeyAction::Home
                | KeyAction::End
        );
        let what = match b.help {
            _ if paired => None,
            HelpText::Prompt(words) => Some(words),
            _ => what(mode, b.action),
        };
        let Some(what) = what else { continue };
        let key = match b.action {
            KeyAction::Up => "↑↓".to_string(),
            _ => key_name(b.key, b.mods),
        };
        hints.push((b.action, Hint { key, what }));
    }
    hints
}

/// A prompt's keys as its own line says them (`1 EPERM · 2 ENOSYS · …`), from
/// the same table, so that the prompt and the bar agree.
pub fn prompt_line(mode: KeyMode) -> String {
    let mut hints = of_mode(mode, |_| true);
    if mode == KeyMode::Held {
        // What passes through a hold prompt (see `held_key`).
        hints.extend(of_mode(KeyMode::Syscalls, |a| a == KeyAction::Restart));
    }
    let words: Vec<String> = hints
        .iter()
        .map(|(_, h)| format!("{} {}", h.key, h.what))
        .collect();
    words.join(SEPARATOR)
}

/// Kept on the narrowest bar: the help, quitting, what decides a call, and the
/// keys that list the runtime's start-up rows (offered only when there are
/// some), move between panes and prune.
fn essential(action: KeyAction) -> bool {
    use KeyAction::*;
    matches!(
        action,
        Help | Quit
            | Allow
            | Deny
            | Errno
            | AllowOnce
            | AllowAlways
            | Kill
            | Cancel
            | Confirm
            | Bootstrap
            | NextPane
            | Prune
    )
}

impl App {
    /// Every key that acts where the user is now: `?` and the decisions first,
    /// then the rest shortest first, so that a narrow bar keeps the most of them.
    pub fn hints(&self) -> Vec<Hint> {
        let mut hints = self.live_hints();
        hints.sort_by_key(|(action, h)| (h.key != "?", !essential(*action), h.width()));
        hints.into_iter().map(|(_, h)| h).collect()
    }

    /// The hints that fit in `width` columns with their separators.
    pub fn hints_fitting(&self, width: usize) -> Vec<Hint> {
        let mut used = 0;
        let mut shown = Vec::new();
        for h in self.hints() {
            let w = h.width() + if shown.is_empty() { 0 } else { SEPARATOR.len() };
            if used + w > width {
                break;
            }
            used += w;
            shown.push(h);
        }
        shown
    }

    /// The layer that takes the keys decides the hints, in `App::key`'s order.
    fn live_hints(&self) -> Vec<(KeyAction, Hint)> {
        // Free text: its keys are the mode's own, not the table's.
        let typed = |pairs: &[(&str, &'static str)]| -> Vec<(KeyAction, Hint)> {
            pairs
                .iter()
                .map(|&(key, what)| {
                    let hint = Hint {
                        key: key.into(),
                        what,
                    };
                    (KeyAction::Cancel, hint)
                })
                .collect()
        };
        if let Some(prompt) = &self.prompt {
            return match prompt {
                super::Prompt::Quit => of_mode(KeyMode::QuitPrompt, |_| true),
                super::Prompt::Errno { typing: None, .. } => {
                    of_mode(KeyMode::ErrnoPrompt, |_| true)
                }
                super::Prompt::Errno {
                    typing: Some(_), ..
                } => typed(&[("Enter", "accept"), ("Esc", "cancel")]),
                super::Prompt::Conflict { .. } => of_mode(KeyMode::ConflictPrompt, |_| true),
                super::Prompt::Prune { .. } => of_mode(KeyMode::PrunePrompt, |_| true),
            };
        }
        if !self.held.is_empty() {
            let mut hints = of_mode(KeyMode::Held, |_| true);
            // What passes through a hold prompt (see `held_key`).
            hints.extend(of_mode(KeyMode::Syscalls, |a| {
                matches!(a, KeyAction::Quit | KeyAction::Help | KeyAction::Restart)
            }));
            return hints;
        }
        if self.diff_view.is_some() {
            return of_mode(KeyMode::DiffView, |_| true);
        }
        if self.help {
            return typed(&[("any key", "closes the help")]);
        }
        if self.filtering {
            return typed(&[("Enter", "keep the filter"), ("Esc", "clear it")]);
        }
        let filtered = !self.filter.is_empty();
        if self.view == View::Coverage && self.focus == Pane::Syscalls {
            let mut hints = of_mode(KeyMode::Coverage, |_| true);
            hints.extend(of_mode(KeyMode::Syscalls, |a| {
                matches!(
                    a,
                    KeyAction::Up
                        | KeyAction::NextPane
                        | KeyAction::Filter
                        | KeyAction::Undo
                        | KeyAction::Help
                        | KeyAction::Quit
                ) || (a == KeyAction::ClearFilter && filtered)
            }));
            return hints;
        }
        let on_rows = self.focus == Pane::Syscalls;
        let watching = self.run.state == super::RunState::Watching;
        let bootstrap = self.rows.iter().any(|r| r.bootstrap);
        of_mode(KeyMode::Syscalls, |a| match a {
            // They edit the profile for the selected row: not offered on a
            // row only another layer refused, which the profile cannot help.
            KeyAction::Allow | KeyAction::Deny | KeyAction::Errno => {
                on_rows && self.selected_refusal().is_none()
            }
            // They act on the rows: live where the rows are.
            KeyAction::Filter | KeyAction::Sort => on_rows,
            // Only where some row has a stack to unfold.
            KeyAction::Frames => self.rows.iter().any(|r| !r.sites.is_empty()),
            KeyAction::ClearFilter => filtered,
            KeyAction::Restart | KeyAction::Hold => !watching,
            KeyAction::Bootstrap => bootstrap,
            _ => true,
        })
    }
}

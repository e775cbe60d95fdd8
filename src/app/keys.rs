//! Keys as the App sees them, independent of the terminal library; every
//! binding in one table (`BINDINGS`), from which both the dispatch and the help
//! overlay read; and `App::key`, which hands a key to the modes in priority order.
//!
//! Free-text input (the filter, an errno typed by name or number) is read as
//! characters by its mode, not through the table.

use super::{App, Effect, RunState};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Tab,
    Enter,
    Esc,
    Backspace,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mods {
    pub ctrl: bool,
}

impl Mods {
    pub const NONE: Mods = Mods { ctrl: false };
    pub const CTRL: Mods = Mods { ctrl: true };
}

/// Declares `KeyAction` and `KeyAction::ALL` from one list, so that `ALL` misses none.
macro_rules! actions {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// What a key does, named once: the bindings map keys to these, the modes
        /// carry them out, and the help overlay says what they do. One action may
        /// mean a little more or less in another mode (`Deny` in the Coverage view
        /// takes an allowance away; in a hold prompt it answers the call).
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum KeyAction {
            $($(#[doc = $doc])* $name,)*
        }

        impl KeyAction {
            /// Every action, in the order declared.
            pub const ALL: &'static [KeyAction] = &[$(KeyAction::$name,)*];
        }
    };
}

actions! {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// The next pane takes the keys.
    NextPane,
    /// Start typing the filter.
    Filter,
    ClearFilter,
    /// Allow the selected syscall.
    Allow,
    /// Deny the selected syscall (again) or allowance.
    Deny,
    /// Ask which errno the selected syscall gets.
    Errno,
    Undo,
    Redo,
    Save,
    /// Restart the workload under the current profile.
    Restart,
    /// The Coverage view, or back from it.
    ToggleView,
    /// Hold mode on/off.
    Hold,
    /// Pause the event stream (the counts go on).
    Pause,
    /// First seen / hits.
    Sort,
    /// The Detail pane's stacks: every frame, or the program's own only.
    Frames,
    Help,
    Quit,
    /// Back from the Coverage view, when no filter is set.
    Back,
    /// Prune unused allowances, behind their diff.
    Prune,
    /// The narrower rule eperm proposes for the selected allowance.
    Narrow,
    /// Whether the next runs collect coverage.
    Collect,
    /// Hold prompt: the call runs, this once.
    AllowOnce,
    /// Hold prompt: the call runs, and the profile allows its syscall.
    AllowAlways,
    /// Hold prompt: kill the workload.
    Kill,
    /// Close a prompt, changing nothing.
    Cancel,
    Eperm,
    Enosys,
    Eacces,
    /// Any other errno, typed by name or number.
    OtherErrno,
    /// Conflict: our edits overwrite the file.
    KeepMine,
    /// Conflict: load the file's text (ours stays in the undo history).
    TakeTheirs,
    /// Conflict: show or hide the diff.
    ShowDiff,
    /// Prune prompt: write it.
    Confirm,
    /// Show or hide the runtime's start-up rows (made before the workload's exec).
    Bootstrap,
    /// The session's diff: the profile now against the session's start.
    SessionDiff,
    /// Diff view: against the session's start, or the last save.
    DiffBase,
    /// Write the triage report (Markdown).
    Report,
}

/// Which keys are live: each mode has its own bindings, and the App asks the
/// modes in turn (see `App::key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyMode {
    /// The main view: would-be denials.
    Syscalls,
    /// The Coverage view, before the main view's keys.
    Coverage,
    /// A held call waits for its answer.
    Held,
    QuitPrompt,
    ErrnoPrompt,
    ConflictPrompt,
    PrunePrompt,
    /// The session's diff is on screen.
    DiffView,
}

/// What the help says of a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HelpText {
    /// A line of the help overlay: the keys as written there, and what they do.
    Line(&'static str, &'static str),
    /// Told by the line of the binding before it, in the same mode.
    Above,
    /// A prompt's key, which the prompt shows on screen itself: what it does.
    Prompt(&'static str),
}

/// One key in one mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub mode: KeyMode,
    pub key: Key,
    pub mods: Mods,
    pub action: KeyAction,
    pub help: HelpText,
}

const fn on(mode: KeyMode, key: Key, action: KeyAction, help: HelpText) -> Binding {
    Binding {
        mode,
        key,
        mods: Mods::NONE,
        action,
        help,
    }
}

const fn ctrl(mode: KeyMode, c: char, action: KeyAction, help: HelpText) -> Binding {
    Binding {
        mode,
        key: Key::Char(c),
        mods: Mods::CTRL,
        action,
        help,
    }
}

/// Every binding, one a line (kept so: a table reads down). The help overlay
/// lists the `Line`s in this order.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = {
    use KeyAction::*;
    use HelpText::*;
    use Key::Char;
    use KeyMode::*;
    &[
        on(Syscalls, Key::Up, Up, Line("↑/↓ j/k", "move (in the focused pane)")),
        on(Syscalls, Key::Down, Down, Above),
        on(Syscalls, Char('k'), Up, Above),
        on(Syscalls, Char('j'), Down, Above),
        on(Syscalls, Key::PageUp, PageUp, Above),
        on(Syscalls, Key::PageDown, PageDown, Above),
        on(Syscalls, Key::Home, Home, Above),
        on(Syscalls, Key::End, End, Above),
        on(Syscalls, Key::Tab, NextPane, Line("Tab", "next pane (mouse: click selects, wheel scrolls)")),
        on(Syscalls, Char('/'), Filter, Line("/", "filter: syscall, arch, verdict, process or pod; Esc clears")),
        on(Syscalls, Key::Esc, ClearFilter, Above),
        on(Syscalls, Char('a'), Allow, Line("a", "allow the selected syscall")),
        on(Syscalls, Char('d'), Deny, Line("d", "deny it again (the profile's verdict)")),
        on(Syscalls, Char('e'), Errno, Line("e", "choose the errno it gets (EPERM, ENOSYS, EACCES, other)")),
        on(Syscalls, Char('u'), Undo, Line("u / Ctrl-r", "undo / redo")),
        ctrl(Syscalls, 'r', Redo, Above),
        on(Syscalls, Char('w'), Save, Line("w", "save now")),
        on(Syscalls, Char('r'), Restart, Line("r", "restart the workload under the current profile")),
        on(Syscalls, Char('h'), Hold, Line("h", "hold mode on/off")),
        on(Syscalls, Char(' '), Pause, Line("space", "pause the event stream")),
        on(Syscalls, Char('s'), Sort, Line("s / f", "sort by first seen / hits; all stack frames / own code")),
        on(Syscalls, Char('f'), Frames, Above),
        on(Syscalls, Char('c'), ToggleView, Line("c", "Coverage view: each allowance and its use (--coverage)")),
        on(Syscalls, Char('b'), Bootstrap, Line("b", "show/hide the runtime's start-up calls (before exec)")),
        on(Syscalls, Char('D'), SessionDiff, Line("D / R", "the session's diff / write the triage report (Markdown)")),
        on(Syscalls, Char('R'), Report, Above),
        on(Coverage, Char('d'), Deny, Line("in Coverage", "d deny · p prune unused · n narrow · m collect · c back")),
        on(Coverage, Char('p'), Prune, Above),
        on(Coverage, Char('n'), Narrow, Above),
        on(Coverage, Char('m'), Collect, Above),
        on(Coverage, Char('c'), ToggleView, Above),
        on(Coverage, Key::Esc, Back, Above),
        on(Coverage, Key::Home, Home, Above),
        on(Coverage, Key::End, End, Above),
        // Not the Coverage view's: they say so, rather than act on a hidden row.
        on(Coverage, Char('a'), Allow, Above),
        on(Coverage, Char('e'), Errno, Above),
        on(DiffView, Key::Down, Down, Prompt("scroll")),
        on(DiffView, Char('j'), Down, Above),
        on(DiffView, Key::Up, Up, Above),
        on(DiffView, Char('k'), Up, Above),
        on(DiffView, Key::PageDown, PageDown, Above),
        on(DiffView, Char(' '), PageDown, Above),
        on(DiffView, Key::PageUp, PageUp, Above),
        on(DiffView, Key::Home, Home, Above),
        on(DiffView, Key::End, End, Above),
        on(DiffView, Key::Tab, DiffBase, Prompt("since start/save")),
        on(DiffView, Key::Esc, Cancel, Prompt("close")),
        on(DiffView, Char('q'), Cancel, Above),
        on(DiffView, Char('D'), Cancel, Above),
        on(Syscalls, Char('?'), Help, Line("?", "this help")),
        on(Syscalls, Char('q'), Quit, Line("q", "quit (asks when edits are unsaved)")),
        ctrl(Syscalls, 'c', Quit, Above),
        on(Held, Char('o'), AllowOnce, Line("hold prompt", "o allow once · a allow always · d deny · k kill · r restart")),
        on(Held, Char('a'), AllowAlways, Above),
        on(Held, Char('d'), Deny, Above),
        on(Held, Char('k'), Kill, Above),
        on(QuitPrompt, Char('w'), Save, Prompt("save and quit")),
        on(QuitPrompt, Char('q'), Quit, Prompt("quit without saving")),
        on(QuitPrompt, Char('y'), Quit, Above),
        on(QuitPrompt, Key::Esc, Cancel, Prompt("stay")),
        on(QuitPrompt, Char('n'), Cancel, Above),
        on(ErrnoPrompt, Char('1'), Eperm, Prompt("EPERM")),
        on(ErrnoPrompt, Char('p'), Eperm, Above),
        on(ErrnoPrompt, Char('2'), Enosys, Prompt("ENOSYS")),
        on(ErrnoPrompt, Char('n'), Enosys, Above),
        on(ErrnoPrompt, Char('3'), Eacces, Prompt("EACCES")),
        on(ErrnoPrompt, Char('a'), Eacces, Above),
        on(ErrnoPrompt, Char('4'), OtherErrno, Prompt("other (name or number)")),
        on(ErrnoPrompt, Char('o'), OtherErrno, Above),
        on(ErrnoPrompt, Key::Esc, Cancel, Prompt("cancel")),
        on(ConflictPrompt, Char('k'), KeepMine, Prompt("keep mine (overwrite)")),
        on(ConflictPrompt, Char('t'), TakeTheirs, Prompt("take theirs (u brings mine back)")),
        on(ConflictPrompt, Char('s'), ShowDiff, Prompt("show diff")),
        on(ConflictPrompt, Char('v'), ShowDiff, Above),
        on(PrunePrompt, Char('y'), Confirm, Prompt("write it")),
        on(PrunePrompt, Key::Enter, Confirm, Above),
        on(PrunePrompt, Key::Esc, Cancel, Prompt("write nothing")),
        on(PrunePrompt, Char('n'), Cancel, Above),
        on(PrunePrompt, Char('q'), Cancel, Above),
        on(PrunePrompt, Key::Down, Down, Prompt("scroll the diff")),
        on(PrunePrompt, Char('j'), Down, Above),
        on(PrunePrompt, Key::Up, Up, Above),
        on(PrunePrompt, Char('k'), Up, Above),
        on(PrunePrompt, Key::PageDown, PageDown, Above),
        on(PrunePrompt, Char(' '), PageDown, Above),
        on(PrunePrompt, Key::PageUp, PageUp, Above),
        on(PrunePrompt, Key::Home, Home, Above),
        on(PrunePrompt, Key::End, End, Above),
    ]
};

/// What `key` with exactly `mods` does in `mode`, if anything.
pub fn action(mode: KeyMode, key: Key, mods: Mods) -> Option<KeyAction> {
    BINDINGS
        .iter()
        .find(|b| b.mode == mode && b.key == key && b.mods == mods)
        .map(|b| b.action)
}

/// The help overlay's lines, in the table's order: the keys, and what they do.
pub fn help_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    BINDINGS.iter().filter_map(|b| match b.help {
        HelpText::Line(keys, what) => Some((keys, what)),
        _ => None,
    })
}

impl App {
    /// A key goes to the first mode that takes it: a prompt, a held call, the
    /// session's diff, the help, the filter being typed, the Coverage view, the main view.
    pub(super) fn key(&mut self, key: Key, mods: Mods) -> Vec<Effect> {
        self.prompt_key(key)
            .or_else(|| self.held_key(key))
            .or_else(|| self.diff_key(key))
            .or_else(|| self.help_key())
            .or_else(|| self.filter_key(key))
            .or_else(|| self.coverage_key(key, mods))
            .or_else(|| self.syscalls_key(key, mods))
            .unwrap_or_default()
    }

    /// Any key closes the help.
    fn help_key(&mut self) -> Option<Vec<Effect>> {
        if !self.help {
            return None;
        }
        self.help = false;
        Some(vec![])
    }

    /// The filter being typed takes every key: Enter keeps it, Esc clears it.
    fn filter_key(&mut self, key: Key) -> Option<Vec<Effect>> {
        if !self.filtering {
            return None;
        }
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
        Some(vec![])
    }

    /// The main view's keys, and the Coverage view's fallback. A Ctrl chord with
    /// no binding of its own does what the plain key does.
    fn syscalls_key(&mut self, key: Key, mods: Mods) -> Option<Vec<Effect>> {
        let action = action(KeyMode::Syscalls, key, mods)
            .or_else(|| action(KeyMode::Syscalls, key, Mods::NONE))?;
        match action {
            KeyAction::Up => self.scroll(-1),
            KeyAction::Down => self.scroll(1),
            KeyAction::PageUp => self.scroll(-10),
            KeyAction::PageDown => self.scroll(10),
            KeyAction::Home => self.selected = 0,
            KeyAction::End => self.selected = self.table_lines().len().saturating_sub(1),
            KeyAction::NextPane => self.next_pane(),
            KeyAction::Filter => {
                self.filtering = true;
                self.filter.clear();
            }
            KeyAction::ClearFilter => self.filter.clear(),
            KeyAction::Allow => return Some(self.allow_selected()),
            KeyAction::Deny => return Some(self.deny_selected()),
            KeyAction::Errno => self.errno_prompt(),
            KeyAction::Undo => return Some(self.undo()),
            KeyAction::Redo => return Some(self.redo()),
            KeyAction::Save => return Some(self.save_now()),
            KeyAction::Restart if self.run.state == RunState::Watching => {
                self.message = "no workload to restart: watching logs".into();
            }
            KeyAction::Restart => return Some(self.restart()),
            KeyAction::ToggleView => self.open_coverage(),
            KeyAction::Hold => return Some(self.toggle_hold()),
            KeyAction::Pause => self.toggle_pause(),
            KeyAction::Sort => self.toggle_sort(),
            KeyAction::Frames => self.all_frames = !self.all_frames,
            KeyAction::Help => self.help = true,
            KeyAction::Quit => return Some(self.quit()),
            KeyAction::Bootstrap => self.toggle_bootstrap(),
            KeyAction::SessionDiff => self.open_diff(),
            KeyAction::Report => return Some(self.report()),
            _ => return None,
        }
        Some(vec![])
    }
}

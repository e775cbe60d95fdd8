//! Keys as the App sees them, independent of the terminal library.

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

/// Every key, as the help overlay lists it.
pub const HELP: &[(&str, &str)] = &[
    ("↑/↓ j/k", "move (in the focused pane)"),
    ("Tab", "next pane (mouse: click selects, wheel scrolls)"),
    ("/", "filter the syscalls; Esc clears"),
    ("a", "allow the selected syscall"),
    ("d", "deny it again (the profile's verdict)"),
    (
        "e",
        "choose the errno it gets (EPERM, ENOSYS, EACCES, other)",
    ),
    ("u / Ctrl-r", "undo / redo"),
    ("w", "save now"),
    ("r", "restart the workload under the current profile"),
    ("h", "hold mode on/off"),
    ("space", "pause the event stream"),
    ("s", "sort by first seen / hits"),
    (
        "c",
        "Coverage view: each allowance and its use (--coverage)",
    ),
    (
        "in Coverage",
        "d deny · p prune unused · n narrow · m collect · c back",
    ),
    ("?", "this help"),
    ("q", "quit (asks when edits are unsaved)"),
    (
        "hold prompt",
        "o allow once · a allow always · d deny · k kill · r restart",
    ),
];

//! The bindings table against itself: every action bound and told of, no key
//! bound twice in one mode, and the help overlay built from it.

use super::keys::{help_lines, HelpText, KeyAction, BINDINGS};

/// The help a binding has: its own, or (for `Above`) the nearest earlier one's,
/// which must be of the same mode.
fn help_of(i: usize) -> Option<HelpText> {
    let b = &BINDINGS[i];
    match b.help {
        HelpText::Above => {
            let before = BINDINGS[..i].last()?;
            if before.mode != b.mode {
                return None;
            }
            help_of(i - 1)
        }
        help => Some(help),
    }
}

#[test]
fn every_action_has_a_binding_and_a_help_line() {
    for &action in KeyAction::ALL {
        let told: Vec<HelpText> = (0..BINDINGS.len())
            .filter(|&i| BINDINGS[i].action == action)
            .filter_map(help_of)
            .collect();
        assert!(!told.is_empty(), "{action:?} has no binding with help");
    }
    for (i, b) in BINDINGS.iter().enumerate() {
        assert!(help_of(i).is_some(), "{b:?}: `Above` with no line above it");
    }
}

#[test]
fn no_two_bindings_of_one_mode_share_a_key() {
    for (i, a) in BINDINGS.iter().enumerate() {
        for b in &BINDINGS[i + 1..] {
            assert!(
                !(a.mode == b.mode && a.key == b.key && a.mods == b.mods),
                "{:?} {:?} {:?}: both {:?} and {:?}",
                a.mode,
                a.key,
                a.mods,
                a.action,
                b.action
            );
        }
    }
}

#[test]
fn the_help_lists_each_line_once_in_the_tables_order() {
    let lines: Vec<(&str, &str)> = help_lines().collect();
    assert_eq!(
        lines.first(),
        Some(&("↑/↓ j/k", "move (in the focused pane)"))
    );
    assert_eq!(lines.last().map(|l| l.0), Some("hold prompt"), "{lines:?}");
    for (i, l) in lines.iter().enumerate() {
        assert!(!lines[i + 1..].contains(l), "{l:?} twice");
    }
}

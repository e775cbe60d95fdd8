//! The hint bar against the bindings: each hint is a key that does something
//! there, the bar follows the mode, and a narrow bar keeps what decides a call.

use super::hints::SEPARATOR;
use super::keys::{action, KeyMode};
use super::testing::{config, container_session, event, PROFILE};
use super::{App, Key, Mods, Msg};

fn keys_of(app: &App) -> Vec<String> {
    app.hints().into_iter().map(|h| h.key).collect()
}

fn busy() -> App {
    let mut app = super::testing::app_with(PROFILE, config(Some("p.json")));
    app.update(Msg::Started { pid: 1 });
    app.update(Msg::Event(event("mkdir", 1, 0)));
    app
}

#[test]
fn every_hint_of_the_main_view_is_a_bound_key() {
    let app = busy();
    for h in app.hints() {
        if h.key == "↑↓" {
            continue;
        }
        let key = match h.key.as_str() {
            "Tab" => Key::Tab,
            "space" => Key::Char(' '),
            "Esc" => Key::Esc,
            k => Key::Char(k.chars().next().unwrap()),
        };
        assert!(
            action(KeyMode::Syscalls, key, Mods::NONE).is_some(),
            "{h:?} is not bound"
        );
    }
}

#[test]
fn the_bar_follows_the_focus_the_view_and_the_prompts() {
    let mut app = busy();
    let main = keys_of(&app);
    assert_eq!(main[0], "?", "{main:?}");
    assert!(
        main.contains(&"a".into()) && main.contains(&"D".into()),
        "{main:?}"
    );
    // No start-up rows: `b` would do nothing.
    assert!(!main.contains(&"b".into()), "{main:?}");
    app.update(Msg::Key(Key::Tab, Mods::NONE));
    let events = keys_of(&app);
    assert!(!events.contains(&"a".into()), "a acts on a row: {events:?}");
    assert!(events.contains(&"Tab".into()), "{events:?}");
    app.update(Msg::Key(Key::Tab, Mods::NONE));
    app.update(Msg::Key(Key::Tab, Mods::NONE));
    app.update(Msg::Key(Key::Char('e'), Mods::NONE));
    assert_eq!(keys_of(&app), ["Esc", "1", "2", "3", "4"]);
    app.update(Msg::Key(Key::Esc, Mods::NONE));
    app.update(Msg::Key(Key::Char('D'), Mods::NONE));
    assert_eq!(keys_of(&app), ["Esc", "↑↓", "Tab"]);
    app.update(Msg::Key(Key::Esc, Mods::NONE));
    app.update(Msg::Key(Key::Char('c'), Mods::NONE));
    let coverage = keys_of(&app);
    assert!(coverage.contains(&"p".into()), "{coverage:?}");
    assert!(!coverage.contains(&"a".into()), "{coverage:?}");
}

#[test]
fn start_up_rows_bring_their_key() {
    let app = container_session();
    assert!(keys_of(&app).contains(&"b".into()));
}

#[test]
fn a_narrow_bar_keeps_help_and_the_decisions_and_fits() {
    let app = busy();
    for width in [20, 40, 60, 80] {
        let shown = app.hints_fitting(width);
        let text: Vec<String> = shown
            .iter()
            .map(|h| format!("{} {}", h.key, h.what))
            .collect();
        let line = text.join(SEPARATOR);
        assert!(line.chars().count() <= width, "{width}: {line}");
        assert!(line.starts_with("? help"), "{width}: {line}");
        if width >= 60 {
            for key in ["a allow", "d deny", "e errno", "q quit"] {
                assert!(line.contains(key), "{width}: {line}");
            }
        }
    }
}

#[test]
fn prompts_say_their_keys_from_the_table() {
    use super::hints::prompt_line;
    assert_eq!(
        prompt_line(KeyMode::QuitPrompt),
        "w save and quit · q quit without saving · Esc stay"
    );
    assert_eq!(
        prompt_line(KeyMode::ErrnoPrompt),
        "1 EPERM · 2 ENOSYS · 3 EACCES · 4 other (name or number) · Esc cancel"
    );
    // A hold prompt lets r through to restart.
    assert!(prompt_line(KeyMode::Held).ends_with("k kill the workload · r restart"));
}

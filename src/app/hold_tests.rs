//! Held calls driven by synthetic messages: the prompt's answers, allow always
//! before the call's row arrives, timeouts, and restarts answering them first.

use super::testing::{app_with, config, event, press, saved_text, PROFILE};
use super::*;
use crate::profile::{load_str, Action, Verdict};
use crate::run::HoldAnswer;
use crate::sources::event::Ruling;

/// An App on [`PROFILE`] that holds would-be denials, timing them out after
/// `timeout_ms` (the default where `None`).
fn holding(timeout_ms: Option<u64>) -> App {
    let mut c = config(Some("p.json"));
    c.hold = true;
    if let Some(ms) = timeout_ms {
        c.hold_timeout_ms = ms;
    }
    app_with(PROFILE, c)
}

fn holding_app() -> App {
    holding(None)
}

/// `syscall` by `pid`, held as request `id`: the effects that follow.
fn hold(app: &mut App, id: u64, syscall: &str, pid: u32) -> Vec<Effect> {
    app.update(Msg::Hold {
        id,
        event: event(syscall, pid, 0),
        was: None,
    })
}

/// The held request `id` answered with `answer`.
fn answered(id: u64, answer: HoldAnswer) -> Effect {
    Effect::AnswerHold { id, answer }
}

#[test]
fn hold_prompts_answer_and_time_out() {
    let mut app = holding(Some(1000));
    assert_eq!(hold(&mut app, 1, "mkdir", 1), vec![]);
    assert_eq!(app.held.len(), 1);
    // Other keys do not answer.
    assert_eq!(press(&mut app, 'j'), vec![]);
    assert_eq!(
        press(&mut app, 'o'),
        vec![answered(1, HoldAnswer::AllowOnce)]
    );
    hold(&mut app, 2, "mkdir", 1);
    assert_eq!(app.update(Msg::Tick { now_ms: 999 }), vec![]);
    assert_eq!(
        app.update(Msg::Tick { now_ms: 1000 }),
        vec![answered(2, HoldAnswer::Deny)]
    );
    // `h` turns holding off: requests are answered at once.
    press(&mut app, 'h');
    assert_eq!(
        hold(&mut app, 3, "mkdir", 1),
        vec![answered(3, HoldAnswer::AllowOnce)]
    );
}

#[test]
fn hold_allow_always_edits_the_profile() {
    let mut app = holding_app();
    app.update(Msg::Event(event("mkdir", 1, 0)));
    hold(&mut app, 9, "mkdir", 1);
    let effects = press(&mut app, 'a');
    assert_eq!(effects[0], answered(9, HoldAnswer::AllowAlways));
    assert!(matches!(&effects[1], Effect::Save { text, .. } if text.contains("mkdir")));
}

/// A call asked again because its memory changed after "allow always" is held
/// again, not let through by that earlier answer: the user allowed what it was.
#[test]
fn a_changed_call_is_asked_again_even_when_its_syscall_is_allowed_now() {
    let mut app = holding_app();
    hold(&mut app, 1, "mkdir", 1);
    press(&mut app, 'a');
    let mut changed = event("mkdir", 1, 0);
    changed.call = Some("mkdir(\"/x/EVIL\", 0777)".into());
    let effects = app.update(Msg::Hold {
        id: 1,
        event: changed,
        was: Some("mkdir(\"/x/safe\", 0777)".into()),
    });
    assert_eq!(effects, vec![]);
    assert_eq!(app.held.len(), 1);
    assert!(app.message.contains("changed"), "{}", app.message);
    // A call of the same syscall that did not change is still let through.
    assert_eq!(
        hold(&mut app, 2, "mkdir", 1),
        vec![answered(2, HoldAnswer::AllowOnce)]
    );
}

#[test]
fn hold_cannot_be_turned_on_when_enforcing() {
    let mut c = config(Some("p.json"));
    c.enforce = true;
    let mut app = app_with(PROFILE, c);
    press(&mut app, 'h');
    assert!(!app.run.hold);
    assert!(app.message.contains("--enforce"), "{}", app.message);
}

#[test]
fn a_kill_verdict_times_out_to_kill() {
    let mut app = holding(Some(10));
    let mut e = event("reboot", 1, 0);
    e.ruling = Ruling::Profile(Verdict::of(Action::KillProcess, None));
    app.update(Msg::Hold {
        id: 4,
        event: e,
        was: None,
    });
    assert_eq!(
        app.update(Msg::Tick { now_ms: 10 }),
        vec![answered(4, HoldAnswer::Kill)]
    );
}

#[test]
fn allow_always_allows_the_held_syscall_even_before_its_row_arrives() {
    let mut app = holding_app();
    // chmod's row is selected; mkdir's event has not come in yet (it travels on
    // another channel than the hold request).
    app.update(Msg::Event(event("chmod", 1, 0)));
    hold(&mut app, 1, "mkdir", 2);
    hold(&mut app, 2, "mkdir", 3);
    hold(&mut app, 3, "chmod", 3);
    let effects = press(&mut app, 'a');
    assert_eq!(
        effects[..2],
        [
            answered(1, HoldAnswer::AllowAlways),
            // The other mkdir waiting is allowed now too; chmod still waits.
            answered(2, HoldAnswer::AllowOnce)
        ]
    );
    let text = saved_text(&effects[2..]);
    let p = load_str("p.json", text).unwrap();
    let allows = |n: &str| {
        p.rules.iter().any(|r| {
            r.action == crate::profile::Action::Allow && r.names.iter().any(|x| x.name == n)
        })
    };
    assert!(allows("mkdir") && !allows("chmod"));
    assert_eq!(app.held.len(), 1);
    assert_eq!(app.held[0].id, 3);
    // mkdir's row, arriving now, shows the decision.
    app.update(Msg::Event(event("mkdir", 2, 0)));
    let row = app.rows.iter().find(|r| r.syscall == "mkdir").unwrap();
    assert_eq!(row.decision, UserDecision::AllowedNow);
}

#[test]
fn a_restart_answers_every_held_call_before_restarting() {
    let mut app = holding_app();
    hold(&mut app, 7, "mkdir", 2);
    // In a hold prompt, r restarts too: the workload is killed either way.
    let effects = press(&mut app, 'r');
    assert_eq!(effects[0], answered(7, HoldAnswer::Kill));
    assert!(matches!(effects[1], Effect::Restart { .. }), "{effects:?}");
    assert!(app.held.is_empty());
}

/// Issue 33: a held call whose caller is gone leaves the queue at once, and
/// the next one is asked.
#[test]
fn a_withdrawn_call_leaves_the_queue_and_the_next_is_asked() {
    let mut c = config(Some("p.json"));
    c.hold = true;
    let mut app = app_with(PROFILE, c);
    app.update(Msg::Hold {
        id: 1,
        event: event("mkdir", 7, 0),
        was: None,
    });
    app.update(Msg::Hold {
        id: 2,
        event: event("chmod", 8, 0),
        was: None,
    });
    assert_eq!(app.update(Msg::HoldWithdrawn { id: 1 }), vec![]);
    assert_eq!(app.held.len(), 1);
    assert_eq!(app.held[0].id, 2);
    assert!(
        app.message
            .contains("held mkdir withdrawn: its caller (pid 7) is gone"),
        "{}",
        app.message
    );
    // A withdrawal that comes after the answer changes nothing.
    app.update(Msg::HoldWithdrawn { id: 1 });
    assert_eq!(app.held.len(), 1);
}

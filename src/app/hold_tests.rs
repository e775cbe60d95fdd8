//! Held calls driven by synthetic messages: the prompt's answers, allow always
//! before the call's row arrives, timeouts, and restarts answering them first.

use super::testing::{app_with, config, event, press, saved_text, PROFILE};
use super::*;
use crate::profile::{load_str, Action, Verdict};
use crate::run::HoldAnswer;
use crate::sources::event::Ruling;

#[test]
fn hold_prompts_answer_and_time_out() {
    let mut c = config(Some("p.json"));
    c.hold = true;
    c.hold_timeout_ms = 1000;
    let mut app = app_with(PROFILE, c);
    assert_eq!(
        app.update(Msg::Hold {
            id: 1,
            event: event("mkdir", 1, 0)
        }),
        vec![]
    );
    assert_eq!(app.held.len(), 1);
    // Other keys do not answer.
    assert_eq!(press(&mut app, 'j'), vec![]);
    assert_eq!(
        press(&mut app, 'o'),
        vec![Effect::AnswerHold {
            id: 1,
            answer: HoldAnswer::AllowOnce
        }]
    );
    app.update(Msg::Hold {
        id: 2,
        event: event("mkdir", 1, 0),
    });
    assert_eq!(app.update(Msg::Tick { now_ms: 999 }), vec![]);
    assert_eq!(
        app.update(Msg::Tick { now_ms: 1000 }),
        vec![Effect::AnswerHold {
            id: 2,
            answer: HoldAnswer::Deny
        }]
    );
    // `h` turns holding off: requests are answered at once.
    press(&mut app, 'h');
    assert_eq!(
        app.update(Msg::Hold {
            id: 3,
            event: event("mkdir", 1, 0)
        }),
        vec![Effect::AnswerHold {
            id: 3,
            answer: HoldAnswer::AllowOnce
        }]
    );
}

#[test]
fn hold_allow_always_edits_the_profile() {
    let mut c = config(Some("p.json"));
    c.hold = true;
    let mut app = app_with(PROFILE, c);
    app.update(Msg::Event(event("mkdir", 1, 0)));
    app.update(Msg::Hold {
        id: 9,
        event: event("mkdir", 1, 0),
    });
    let effects = press(&mut app, 'a');
    assert_eq!(
        effects[0],
        Effect::AnswerHold {
            id: 9,
            answer: HoldAnswer::AllowAlways
        }
    );
    assert!(matches!(&effects[1], Effect::Save { text, .. } if text.contains("mkdir")));
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
    let mut c = config(Some("p.json"));
    c.hold = true;
    c.hold_timeout_ms = 10;
    let mut app = app_with(PROFILE, c);
    let mut e = event("reboot", 1, 0);
    e.ruling = Ruling::Profile(Verdict::of(Action::KillProcess, None));
    app.update(Msg::Hold { id: 4, event: e });
    assert_eq!(
        app.update(Msg::Tick { now_ms: 10 }),
        vec![Effect::AnswerHold {
            id: 4,
            answer: HoldAnswer::Kill
        }]
    );
}

fn holding_app() -> App {
    let mut c = config(Some("p.json"));
    c.hold = true;
    app_with(PROFILE, c)
}

#[test]
fn allow_always_allows_the_held_syscall_even_before_its_row_arrives() {
    let mut app = holding_app();
    // chmod's row is selected; mkdir's event has not come in yet (it travels on
    // another channel than the hold request).
    app.update(Msg::Event(event("chmod", 1, 0)));
    app.update(Msg::Hold {
        id: 1,
        event: event("mkdir", 2, 0),
    });
    app.update(Msg::Hold {
        id: 2,
        event: event("mkdir", 3, 0),
    });
    app.update(Msg::Hold {
        id: 3,
        event: event("chmod", 3, 0),
    });
    let effects = press(&mut app, 'a');
    assert_eq!(
        effects[..2],
        [
            Effect::AnswerHold {
                id: 1,
                answer: HoldAnswer::AllowAlways
            },
            // The other mkdir waiting is allowed now too; chmod still waits.
            Effect::AnswerHold {
                id: 2,
                answer: HoldAnswer::AllowOnce
            }
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
    app.update(Msg::Hold {
        id: 7,
        event: event("mkdir", 2, 0),
    });
    // In a hold prompt, r restarts too: the workload is killed either way.
    let effects = press(&mut app, 'r');
    assert_eq!(
        effects[0],
        Effect::AnswerHold {
            id: 7,
            answer: HoldAnswer::Kill
        }
    );
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
    });
    app.update(Msg::Hold {
        id: 2,
        event: event("chmod", 8, 0),
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

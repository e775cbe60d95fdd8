use super::testing::{
    app_with, config, confirm, default_without, event, filtered, press, saved_text, PROFILE,
};
use super::*;
use crate::profile::{load_str, Action, Verdict};
use crate::sources::event::{Decider, Rule, Ruling};

fn app(path: Option<&str>) -> App {
    app_with(PROFILE, config(path))
}

/// An App on [`PROFILE`] at `p.json` that saves only when asked (`w`).
fn app_without_autosave() -> App {
    let mut c = config(Some("p.json"));
    c.autosave = false;
    app_with(PROFILE, c)
}

/// [`PROFILE`] as another program edited it: chmod allowed too.
fn theirs() -> String {
    PROFILE.replace("\"write\"", "\"write\", \"chmod\"")
}

/// A denied mkdir allowed with `a` and its save confirmed: the text saved.
fn allow_mkdir(app: &mut App) -> String {
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let text = saved_text(&press(app, 'a'));
    confirm(app, &text);
    text
}

#[test]
fn events_aggregate_per_syscall_and_arch() {
    let mut app = app(Some("p.json"));
    for i in 0..10 {
        app.update(Msg::Event(event("mkdir", 100 + i % 3, 7)));
    }
    app.update(Msg::Event(event("chmod", 100, 7)));
    assert_eq!(app.rows.len(), 2);
    assert_eq!(app.rows[0].hits, 10);
    assert_eq!(app.rows[0].pids.len(), 3);
    assert_eq!(app.rows[0].verdict(), "EPERM");
    assert_eq!(app.rows[0].decision, UserDecision::StillDenied);
    assert_eq!(app.hits(), 11);
    assert_eq!(app.ring.len(), 11);
}

#[test]
fn the_ring_is_capped_and_counts_are_not() {
    let mut app = app(Some("p.json"));
    let n = RING_CAPACITY as u64 + 500;
    for i in 0..n {
        app.update(Msg::Event(event("mkdir", 1, i)));
    }
    assert_eq!(app.ring.len(), RING_CAPACITY);
    assert_eq!(app.hits(), n);
    assert_eq!(app.total_events, n);
    // Arguments differ call to call: no common value for arg 0, arg 1 agrees.
    assert_eq!(app.rows[0].common_args[0], None);
    assert_eq!(app.rows[0].common_args[1], Some(0o777));
}

#[test]
fn allow_saves_at_once_through_the_edit_engine() {
    let mut app = app(Some("p.json"));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let effects = press(&mut app, 'a');
    let text = saved_text(&effects);
    let p = load_str("p.json", text.clone()).unwrap();
    assert!(p
        .rules
        .iter()
        .any(|r| r.action == crate::profile::Action::Allow
            && r.names.iter().any(|n| n.name == "mkdir")));
    assert!(matches!(&effects[0], Effect::Save { expected_old: Some(old), .. } if old == PROFILE));
    assert_eq!(app.rows[0].decision, UserDecision::AllowedNow);
    assert_eq!(app.file_state, FileState::Unsaved);
    confirm(&mut app, &text);
    assert_eq!(app.file_state, FileState::Saved);
}

#[test]
fn without_autosave_only_w_writes() {
    let mut app = app_without_autosave();
    app.update(Msg::Event(event("mkdir", 1, 0)));
    assert_eq!(press(&mut app, 'a'), vec![]);
    assert!(app.unsaved());
    assert!(saved_text(&press(&mut app, 'w')).contains("mkdir"));
}

#[test]
fn undo_and_redo_walk_the_edits() {
    let mut app = app(Some("p.json"));
    let allowed = allow_mkdir(&mut app);
    let effects = press(&mut app, 'u');
    assert!(!effects.is_empty(), "{}", app.message);
    let undone = saved_text(&effects);
    assert_eq!(undone, PROFILE);
    confirm(&mut app, &undone);
    assert_eq!(app.rows[0].decision, UserDecision::StillDenied);
    let redone = saved_text(&app.update(Msg::Key(Key::Char('r'), Mods::CTRL)));
    assert_eq!(redone, allowed);
    assert_eq!(app.rows[0].decision, UserDecision::AllowedNow);
}

#[test]
fn deny_goes_back_to_the_profiles_verdict() {
    let mut app = app(Some("p.json"));
    allow_mkdir(&mut app);
    let denied = saved_text(&press(&mut app, 'd'));
    assert!(!denied.contains("mkdir"), "{denied}");
}

#[test]
fn errno_prompt_sets_the_errno() {
    let mut app = app(Some("p.json"));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    assert_eq!(press(&mut app, 'e'), vec![]);
    assert!(matches!(app.prompt, Some(Prompt::Errno { .. })));
    let text = saved_text(&press(&mut app, '2'));
    let p = load_str("p.json", text).unwrap();
    assert!(p.rules.iter().any(|r| r.errno_ret == Some(38)));
    assert_eq!(app.rows[0].decision, UserDecision::Errno(38));
    // "other": typed by name.
    press(&mut app, 'e');
    press(&mut app, '4');
    for c in "EACCES".chars() {
        press(&mut app, c);
    }
    let text = saved_text(&app.update(Msg::Key(Key::Enter, Mods::NONE)));
    assert!(load_str("p.json", text)
        .unwrap()
        .rules
        .iter()
        .any(|r| r.errno_ret == Some(13)));
}

#[test]
fn filter_and_selection() {
    let mut app = app(Some("p.json"));
    for s in ["mkdir", "chmod", "mknod"] {
        app.update(Msg::Event(event(s, 1, 0)));
    }
    press(&mut app, 'j');
    assert_eq!(app.selected_row().unwrap().syscall, "chmod");
    press(&mut app, '/');
    press(&mut app, 'o');
    press(&mut app, 'd');
    assert_eq!(app.visible().len(), 2);
    app.update(Msg::Key(Key::Enter, Mods::NONE));
    press(&mut app, 'j');
    assert_eq!(app.selected_row().unwrap().syscall, "mknod");
    app.update(Msg::Key(Key::Esc, Mods::NONE));
    assert_eq!(app.visible().len(), 3);
}

/// `/` matches process names too (documented in the help and the README):
/// `worker` finds the calls the process named worker made, whatever the call.
#[test]
fn the_filter_matches_process_names() {
    let mut app = app(Some("p.json"));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let mut by_worker = event("chmod", 2, 0);
    by_worker.comm = "worker".into();
    app.update(Msg::Event(by_worker));
    assert_eq!(filtered(&mut app, "work"), ["chmod"]);
}

#[test]
fn quit_asks_when_unsaved() {
    let mut app = app_without_autosave();
    assert_eq!(press(&mut app, 'q'), vec![Effect::Quit]);
    app.update(Msg::Event(event("mkdir", 1, 0)));
    press(&mut app, 'a');
    assert_eq!(press(&mut app, 'q'), vec![]);
    assert_eq!(app.prompt, Some(Prompt::Quit));
    assert_eq!(app.update(Msg::Key(Key::Esc, Mods::NONE)), vec![]);
    press(&mut app, 'q');
    // `w` saves, and quits once the save is confirmed; a failed save keeps eperm open.
    let text = saved_text(&press(&mut app, 'w'));
    assert_eq!(
        app.update(Msg::SaveFailed("p.json: cannot write it".into())),
        vec![]
    );
    assert!(app.message.contains("still here"), "{}", app.message);
    press(&mut app, 'q');
    assert_eq!(saved_text(&press(&mut app, 'w')), text);
    assert_eq!(confirm(&mut app, &text), vec![Effect::Quit]);
}

#[test]
fn own_writes_do_not_reload_and_outside_edits_do() {
    let mut app = app(Some("p.json"));
    let text = allow_mkdir(&mut app);
    assert_eq!(app.update(Msg::FileChanged(text.clone())), vec![]);
    assert_eq!(app.profile.text, text);
    let theirs = theirs();
    app.update(Msg::FileChanged(theirs.clone()));
    assert_eq!(app.profile.text, theirs);
    assert_eq!(app.file_state, FileState::Saved);
    assert!(app.prompt.is_none());
}

/// An App whose unsaved allowance of mkdir (mine) meets an outside edit of the
/// file (theirs): the App, mine and theirs.
fn conflict() -> (App, String, String) {
    let mut app = app_without_autosave();
    app.update(Msg::Event(event("mkdir", 1, 0)));
    press(&mut app, 'a');
    let mine = app.profile.text.clone();
    let theirs = theirs();
    app.update(Msg::FileChanged(theirs.clone()));
    (app, mine, theirs)
}

#[test]
fn outside_edits_with_unsaved_work_ask() {
    let (mut app, mine, theirs) = conflict();
    assert!(matches!(app.prompt, Some(Prompt::Conflict { .. })));
    assert_eq!(app.file_state, FileState::ChangedOnDisk);
    // Keep mine: saved over theirs, knowingly.
    let effects = press(&mut app, 'k');
    assert_eq!(
        effects,
        vec![Effect::Save {
            path: "p.json".into(),
            text: mine,
            expected_old: Some(theirs)
        }]
    );
}

#[test]
fn take_theirs_keeps_mine_in_undo() {
    let (mut app, mine, theirs) = conflict();
    press(&mut app, 't');
    assert_eq!(app.profile.text, theirs);
    press(&mut app, 'u');
    assert_eq!(app.profile.text, mine);
}

#[test]
fn the_default_profile_is_written_to_a_new_file_on_first_edit() {
    let default = load_str("<default profile>", default_without(&["mkdir"])).unwrap();
    let mut app = App::new(default, config(None));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let effects = press(&mut app, 'a');
    match &effects[..] {
        [Effect::Save {
            path,
            expected_old: None,
            ..
        }] => {
            assert_eq!(path, &PathBuf::from(DEFAULT_SAVE_PATH))
        }
        other => panic!("{other:?}"),
    }
    let text = saved_text(&effects);
    app.update(Msg::Saved {
        path: DEFAULT_SAVE_PATH.into(),
        text,
    });
    assert!(app.message.contains(DEFAULT_SAVE_PATH), "{}", app.message);
    assert!(!app.path_pending);
}

#[test]
fn restart_keeps_history() {
    let mut c = config(Some("p.json"));
    c.rerun_on_save = true;
    let mut app = app_with(PROFILE, c);
    app.update(Msg::Started { pid: 42 });
    app.update(Msg::Event(event("mkdir", 1, 0)));
    app.update(Msg::Exited(WorkloadExit::Exited(1)));
    let text = saved_text(&press(&mut app, 'a'));
    assert_eq!(
        confirm(&mut app, &text),
        vec![Effect::Restart {
            profile_text: text,
            coverage: false
        }]
    );
    assert_eq!(app.run.number, 2);
    assert_eq!(app.past_runs.len(), 1);
    assert_eq!(app.past_runs[0].denials, 1);
    assert!(app.rows.is_empty());
    assert_eq!(app.run.state, RunState::Starting);
}

#[test]
fn pausing_stops_the_stream_not_the_counts() {
    let mut app = app(Some("p.json"));
    press(&mut app, ' ');
    app.update(Msg::Event(event("mkdir", 1, 0)));
    assert_eq!(app.ring.len(), 0);
    assert_eq!(app.hits(), 1);
}

/// A half-written file is a change not loaded: nothing is saved over it, and
/// the prompt goes once the file loads (nothing of ours was unsaved).
#[test]
fn a_half_written_file_is_asked_about_until_it_loads() {
    let mut app = app(Some("p.json"));
    app.update(Msg::FileChanged("{\"defaultAction\": ".into()));
    assert_eq!(app.profile.text, PROFILE);
    assert_eq!(app.file_state, FileState::ChangedOnDisk);
    assert!(matches!(
        app.prompt,
        Some(Prompt::Conflict { error: Some(_), .. })
    ));
    let theirs = theirs();
    app.update(Msg::FileChanged(theirs.clone()));
    assert_eq!(app.profile.text, theirs);
    assert_eq!(app.file_state, FileState::Saved);
    assert!(app.prompt.is_none());
}

/// Issue 33: an outside edit that does not load said "keeping yours" with the
/// status `[saved]`, and the next `a` wrote over it.
#[test]
fn an_outside_edit_that_does_not_load_is_never_saved_over_unasked() {
    let mut app = app(Some("p.json"));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let broken = PROFILE.replace("\"read\",", "\"read\" oops");
    app.update(Msg::FileChanged(broken.clone()));
    assert_eq!(app.file_state, FileState::ChangedOnDisk);
    assert!(app.message.contains("does not load"), "{}", app.message);
    // The prompt takes `a`; taking theirs cannot load it: still asked.
    assert_eq!(press(&mut app, 'a'), vec![]);
    assert_eq!(press(&mut app, 't'), vec![]);
    assert_eq!(app.file_state, FileState::ChangedOnDisk);
    assert!(matches!(app.prompt, Some(Prompt::Conflict { .. })));
    assert_eq!(app.profile.text, PROFILE);
    // Keep mine: saved over theirs, knowingly (the save expects their text).
    let effects = press(&mut app, 'k');
    assert_eq!(
        effects,
        vec![Effect::Save {
            path: "p.json".into(),
            text: PROFILE.into(),
            expected_old: Some(broken)
        }]
    );
}

/// Edits made while the conflict is open (a held call allowed for good) stay
/// in memory: none is saved over the file.
#[test]
fn edits_during_a_conflict_are_not_saved() {
    let mut app = app(Some("p.json"));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    app.update(Msg::FileChanged("not json".into()));
    let edit = crate::profile::edit::Edit::Allow("mkdir".into());
    assert_eq!(app.decide(edit, UserDecision::AllowedNow), vec![]);
    assert_eq!(app.file_state, FileState::ChangedOnDisk);
}

/// Issue 33: after an outside edit allowed a seen syscall, its row still read
/// "still denied" while the Detail pane showed the allowing rule.
#[test]
fn an_outside_edit_refreshes_the_rows_decisions() {
    let mut app = app(Some("p.json"));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let mut rmdir = event("rmdir", 1, 0);
    rmdir.nr = 84;
    app.update(Msg::Event(rmdir));
    let theirs = PROFILE.replace("\"write\"", "\"write\", \"mkdir\"");
    app.update(Msg::FileChanged(theirs));
    let decision = |app: &App, name: &str| {
        let row = app.rows.iter().find(|r| r.syscall == name).unwrap();
        row.decision.clone()
    };
    assert_eq!(decision(&app, "mkdir"), UserDecision::AllowedNow);
    assert_eq!(decision(&app, "rmdir"), UserDecision::StillDenied);
    // Undo brings ours back, and the row's decision with it.
    press(&mut app, 'u');
    assert_eq!(decision(&app, "mkdir"), UserDecision::StillDenied);
}

#[test]
fn deny_restores_a_rules_own_errno() {
    let text = r#"{
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
        {
            "names": ["mkdir"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 38
        }
    ]
}
"#;
    let mut app = App::new(
        load_str("p.json", text.into()).unwrap(),
        config(Some("p.json")),
    );
    let mut e = event("mkdir", 1, 0);
    e.rule = Some(Decider::new(Rule::Index(0), ""));
    e.ruling = Ruling::Profile(Verdict::of(Action::Errno, Some(38)));
    app.update(Msg::Event(e));
    assert_eq!(app.rows[0].verdict(), "ENOSYS");
    let allowed = saved_text(&press(&mut app, 'a'));
    confirm(&mut app, &allowed);
    let denied = saved_text(&press(&mut app, 'd'));
    let p = load_str("p.json", denied).unwrap();
    assert!(p
        .rules
        .iter()
        .any(|r| r.action == crate::profile::Action::Errno
            && r.errno_ret == Some(38)
            && r.names.iter().any(|n| n.name == "mkdir")));
    assert!(!p
        .rules
        .iter()
        .any(|r| r.action == crate::profile::Action::Allow
            && r.names.iter().any(|n| n.name == "mkdir")));
}

#[test]
fn watching_has_no_workload_to_restart() {
    let mut c = config(Some("p.json"));
    c.rerun_on_save = true;
    c.watching = true;
    let mut app = app_with(PROFILE, c);
    app.update(Msg::Event(event("mkdir", 1, 0)));
    assert_eq!(press(&mut app, 'r'), vec![]);
    let text = saved_text(&press(&mut app, 'a'));
    assert_eq!(confirm(&mut app, &text), vec![]);
    assert_eq!(app.rows.len(), 1);
}

#[test]
fn a_watching_config_starts_watching_and_unreadable_coverage_says_why() {
    let mut c = config(Some("p.json"));
    c.watching = true;
    let mut app = app_with(PROFILE, c);
    assert_eq!(app.run.state, RunState::Watching);
    assert_eq!(
        app.update(Msg::CoverageUnreadable("bad json".into())),
        vec![]
    );
    assert_eq!(app.message, "coverage not read: bad json");
}

/// An App whose autosave of `mkdir`'s allowance was refused: the edit is in
/// memory, not on disk. Returns the text it holds.
fn unsaved_allowance(app: &mut App) -> String {
    app.update(Msg::Started { pid: 42 });
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let text = saved_text(&press(app, 'a'));
    app.update(Msg::SaveFailed("p.json changed on disk".into()));
    assert_eq!(app.file_state, FileState::Unsaved);
    text
}

#[test]
fn a_rerun_saves_first_and_runs_what_the_file_then_holds() {
    let mut app = app(Some("p.json"));
    let text = unsaved_allowance(&mut app);
    // `r` asks for the save only; the run waits for its confirmation.
    assert_eq!(saved_text(&press(&mut app, 'r')), text);
    assert_eq!(app.run.number, 1);
    let effects = confirm(&mut app, &text);
    assert_eq!(
        effects,
        vec![Effect::Restart {
            profile_text: text.clone(),
            coverage: false
        }]
    );
    assert_eq!(app.run.number, 2);
    // The next save starts no run of its own: only `r` asked for one.
    app.update(Msg::Event(event("chmod", 1, 0)));
    let text = saved_text(&press(&mut app, 'a'));
    assert_eq!(confirm(&mut app, &text), vec![]);
}

#[test]
fn a_rerun_whose_save_fails_does_not_start() {
    let mut app = app(Some("p.json"));
    unsaved_allowance(&mut app);
    press(&mut app, 'r');
    let effects = app.update(Msg::SaveFailed("p.json: cannot write it".into()));
    assert_eq!(effects, vec![]);
    assert_eq!(app.run.number, 1);
    assert!(app.message.contains("not re-run"), "{}", app.message);
}

#[test]
fn without_autosave_a_rerun_runs_the_edits_in_memory() {
    let mut app = app_without_autosave();
    app.update(Msg::Event(event("mkdir", 1, 0)));
    assert_eq!(press(&mut app, 'a'), vec![]);
    let effects = press(&mut app, 'r');
    assert!(
        matches!(&effects[..], [Effect::Restart { profile_text, .. }] if profile_text.contains("mkdir")),
        "{effects:?}"
    );
}

#[test]
fn allow_on_a_seccomp_profile_saves_yaml_with_its_comments_kept() {
    let yaml = include_str!("../../tests/fixtures/spo/profile.yaml");
    let mut app = app_with(yaml, config(Some("p.yaml")));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let text = saved_text(&press(&mut app, 'a'));
    let p = load_str("p.yaml", text.clone()).unwrap();
    assert_eq!(p.form, crate::profile::Form::Spo);
    assert!(p
        .rules
        .iter()
        .any(|r| r.action == crate::profile::Action::Allow
            && r.args.is_empty()
            && r.names.iter().any(|n| n.name == "mkdir")));
    // A rule of its own at the end, as `eperm edit --allow` makes (the allow
    // rule is commented "what every Go program needs"); every other line as it was.
    let rule = "  - names:\n    - mkdir\n    action: SCMP_ACT_ALLOW\n";
    assert_eq!(text, format!("{yaml}{rule}"));
}

/// `a` places a name as `eperm edit --allow` does: never in a rule whose
/// comment gives the reason for the names already there.
#[test]
fn allow_joins_no_commented_rule_as_edit_allow_does() {
    let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW", "comment": "what every program needs"}
]}"#;
    let mut app = app_with(text, config(Some("p.json")));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    let saved = saved_text(&press(&mut app, 'a'));
    let by_edit = crate::profile::edit::apply_uncommented(
        &load_str("p.json", text.into()).unwrap(),
        &[crate::profile::edit::Edit::Allow("mkdir".into())],
    )
    .unwrap();
    assert_eq!(saved, by_edit.profile.text);
    let p = load_str("p.json", saved.clone()).unwrap();
    assert_eq!(p.rules.len(), 2, "{saved}");
    assert!(
        !p.rules[0].names.iter().any(|n| n.name == "mkdir"),
        "{saved}"
    );
    assert_eq!(p.rules[1].comment, None, "{saved}");
}

/// Issue 33: a call that failed because of eperm itself is no row of the
/// profile's, and the run is not called clean: the message, the run and the
/// report say whose doing it was and how to avoid it.
#[test]
fn a_call_eperm_itself_broke_is_said_and_the_run_is_not_clean() {
    use crate::sources::event::Interference;
    let mut app = app(Some("p.json"));
    let mut e = event("seccomp", 42, 1);
    e.call =
        Some("seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0x1000)".into());
    e.interference = Some(Interference::Listener);
    app.update(Msg::Event(e.clone()));
    app.update(Msg::Event(e));
    assert!(app.rows.is_empty());
    assert_eq!(app.run.denials, 0);
    assert_eq!(app.run.interference.len(), 1);
    assert!(
        app.message.contains("eperm's doing: seccomp("),
        "{}",
        app.message
    );
    assert!(
        app.message.contains("EBUSY") && app.message.contains("--mode trace"),
        "{}",
        app.message
    );
    app.update(Msg::Exited(crate::run::WorkloadExit::Exited(1)));
    let triage = app.triage();
    assert!(
        triage.outcome.contains("eperm holds the seccomp listener"),
        "{}",
        triage.outcome
    );
}

//! The triage helpers driven by synthetic messages: the runtime's start-up rows
//! folded after the workload's, the session diff against the start and the last
//! save, and `R` asking the loop to write the report.

use super::testing::{app_with, config, container_session, event, press, PROFILE};
use super::*;

#[test]
fn start_up_rows_fold_after_the_workloads_and_b_lists_them() {
    let mut app = container_session();
    let names = |app: &App| -> Vec<String> {
        app.visible()
            .iter()
            .map(|&i| app.rows[i].syscall.clone())
            .collect()
    };
    // runc's calls came first, but the workload's rows lead, alone.
    assert_eq!(names(&app), ["mkdir", "clone3"]);
    let group = app.bootstrap_group().unwrap();
    assert_eq!((group.syscalls, group.calls, group.allowed), (4, 5, 0));
    press(&mut app, 'b');
    assert_eq!(
        names(&app),
        [
            "mkdir",
            "clone3",
            "capset",
            "unshare",
            "mount",
            "pivot_root"
        ]
    );
    // Under hits the order changes within each group, never across them.
    press(&mut app, 's');
    assert_eq!(names(&app)[..2], ["mkdir", "clone3"]);
    assert_eq!(names(&app)[2], "capset");
    press(&mut app, 'b');
    assert_eq!(names(&app), ["mkdir", "clone3"]);
}

#[test]
fn a_workload_call_makes_a_start_up_row_the_workloads() {
    let mut app = container_session();
    let mut e = event("mount", 4242, 0);
    e.comm = "sh".into();
    app.update(Msg::Event(e));
    let shown: Vec<&str> = app
        .visible()
        .iter()
        .map(|&i| app.rows[i].syscall.as_str())
        .collect();
    // In first-seen order among the workload's rows: mount came before mkdir.
    assert_eq!(shown, ["mount", "mkdir", "clone3"]);
    assert_eq!(app.bootstrap_group().unwrap().syscalls, 3);
}

#[test]
fn b_without_start_up_rows_says_so() {
    let mut app = app_with(PROFILE, config(Some("p.json")));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    press(&mut app, 'b');
    assert!(
        app.message.contains("no runtime start-up calls"),
        "{}",
        app.message
    );
    assert!(!app.show_bootstrap);
}

#[test]
fn the_session_diff_is_against_the_start_or_the_last_save() {
    let mut app = app_with(PROFILE, config(Some("p.json")));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    app.update(Msg::Event(event("chmod", 1, 0)));
    assert_eq!(app.session_diff(false), "");
    let effects = press(&mut app, 'a');
    let Some(Effect::Save { path, text, .. }) = effects.first().cloned() else {
        panic!("{effects:?}")
    };
    app.update(Msg::Saved { path, text });
    press(&mut app, 'j');
    press(&mut app, 'a');
    let since_start = app.session_diff(false);
    let since_save = app.session_diff(true);
    assert!(
        since_start.contains("+") && since_start.contains("\"mkdir\""),
        "{since_start}"
    );
    assert!(since_start.contains("\"chmod\""), "{since_start}");
    // The save holds mkdir already: since then, only chmod came in.
    let removed = |diff: &str| -> String {
        diff.lines()
            .filter(|l| l.starts_with('-') && !l.starts_with("---"))
            .collect()
    };
    assert!(removed(&since_save).contains("\"mkdir\""), "{since_save}");
    assert!(
        !removed(&since_start).contains("\"mkdir\""),
        "{since_start}"
    );
}

#[test]
fn the_diff_view_scrolls_within_the_diff_and_closes() {
    let mut app = app_with(PROFILE, config(Some("p.json")));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    press(&mut app, 'a');
    press(&mut app, 'D');
    assert_eq!(app.diff_view.map(|v| v.since_save), Some(false));
    let lines = app.session_diff(false).lines().count();
    for _ in 0..lines + 5 {
        app.update(Msg::Key(Key::Down, Mods::NONE));
    }
    assert_eq!(app.diff_view.unwrap().scroll, lines - 1);
    // Keys of the main view do nothing while the diff is up.
    press(&mut app, 'd');
    assert_eq!(app.rows[0].decision, UserDecision::AllowedNow);
    app.update(Msg::Key(Key::Tab, Mods::NONE));
    assert_eq!(
        app.diff_view,
        Some(DiffView {
            since_save: true,
            scroll: 0
        })
    );
    app.update(Msg::Key(Key::Esc, Mods::NONE));
    assert_eq!(app.diff_view, None);
}

#[test]
fn r_asks_for_the_report_next_to_the_profile_or_at_report() {
    let mut app = app_with(PROFILE, config(Some("profiles/p.json")));
    app.update(Msg::Event(event("mkdir", 1, 0)));
    press(&mut app, 'a');
    let effects = press(&mut app, 'R');
    let [Effect::Report {
        path,
        triage,
        picked,
    }] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(path, &std::path::PathBuf::from("profiles/eperm-report.md"));
    assert!(
        picked,
        "eperm chose the path: it is checked before it is written"
    );
    assert_eq!(triage.denials.len(), 1);
    assert_eq!(triage.decisions, ["`mkdir`: allowed"]);
    assert!(triage.diff.contains("\"mkdir\""), "{}", triage.diff);
    app.update(Msg::ReportWritten(Ok(path.clone())));
    assert_eq!(app.message, "report written: profiles/eperm-report.md");

    let mut app = app_with(
        PROFILE,
        Config {
            report: Some("/tmp/r.md".into()),
            ..config(Some("p.json"))
        },
    );
    let effects = press(&mut app, 'R');
    assert!(
        matches!(effects.as_slice(), [Effect::Report { path, .. }] if path.as_os_str() == "/tmp/r.md"),
        "{effects:?}"
    );
}

#[test]
fn the_report_keeps_the_denials_of_earlier_runs() {
    let mut app = app_with(PROFILE, config(Some("p.json")));
    app.update(Msg::Started { pid: 1 });
    app.update(Msg::Event(event("mkdir", 1, 0)));
    app.update(Msg::Event(event("mkdir", 2, 0)));
    // The loop writes the autosave and confirms it: `r` then runs what is on disk.
    let text = crate::app::testing::saved_text(&press(&mut app, 'a'));
    app.update(Msg::Saved {
        path: "p.json".into(),
        text,
    });
    app.update(Msg::Exited(crate::run::WorkloadExit::Exited(1)));
    press(&mut app, 'r');
    app.update(Msg::Started { pid: 3 });
    app.update(Msg::Event(event("chmod", 3, 0)));
    app.update(Msg::Exited(crate::run::WorkloadExit::Exited(0)));
    let triage = app.triage();
    let seen: Vec<(&str, u64)> = triage
        .denials
        .iter()
        .map(|d| (d.syscall.as_str(), d.hits))
        .collect();
    assert_eq!(seen, [("mkdir", 2), ("chmod", 1)]);
    assert_eq!(
        triage.earlier,
        ["run 1: exited with status 1, 2 would-be denials"]
    );
    assert_eq!(
        triage.outcome,
        "run 2: exited with status 0, 1 would-be denial"
    );
}

#[test]
fn runcs_init_and_the_workload_it_execs_are_both_named() {
    let mut app = app_with(PROFILE, config(Some("p.json")));
    let mut init = event("write", 7, 0);
    init.comm = "runc:[2:INIT]".into();
    init.bootstrap = true;
    app.update(Msg::Event(init));
    let mut sh = event("write", 7, 0);
    sh.comm = "sh".into();
    app.update(Msg::Event(sh));
    let names: Vec<String> = app.rows[0]
        .pids
        .iter()
        .map(|(_, c)| c.to_string())
        .collect();
    assert_eq!(names, ["runc:[2:INIT]", "sh"]);
    // One call of the workload's: the row is the workload's.
    assert!(!app.rows[0].bootstrap);
}

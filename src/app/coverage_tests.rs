//! The Coverage view driven by synthetic messages: counts, deny, prune behind
//! its diff, narrowing, undo, and coverage merging across runs.

use super::testing::{config, event, one_run, press, tally, with_coverage, COVERAGE_PROFILE};
use super::*;
use crate::profile::{load_str, Action, Profile};

/// The profile a save effect writes; the write is then confirmed to the App.
fn saved(app: &mut App, effects: &[Effect]) -> Profile {
    match effects {
        [Effect::Save { path, text, .. }] => {
            app.update(Msg::Saved {
                path: path.clone(),
                text: text.clone(),
            });
            load_str("p.json", text.clone()).unwrap()
        }
        other => panic!("expected one save, got {other:?}"),
    }
}

fn allowed(p: &Profile) -> Vec<String> {
    let mut names: Vec<String> = p
        .rules
        .iter()
        .filter(|r| r.action == Action::Allow && r.args.is_empty())
        .flat_map(|r| r.names.iter().map(|n| n.name.clone()))
        .collect();
    names.sort();
    names
}

fn select(app: &mut App, name: &str) {
    app.cov_selected = app
        .coverage_visible()
        .iter()
        .position(|&i| app.allowances[i].name == name)
        .unwrap_or_else(|| panic!("{name} is no allowance"));
}

/// `key` pressed on the allowance of `name` in the Coverage view: the profile
/// it saved (the save confirmed).
fn on_allowance(app: &mut App, name: &str, key: char) -> Profile {
    press(app, 'c');
    select(app, name);
    let effects = press(app, key);
    saved(app, &effects)
}

/// A coverage run of [`one_run`] ends; the file then holds `stored`: the effects.
fn run_ends(app: &mut App, stored: Option<Result<Coverage, String>>) -> Vec<Effect> {
    app.update(Msg::CoverageRun {
        run: one_run(),
        stored,
    })
}

/// The one effect that stores [`one_run`] at `path` (the run a file did not
/// take yet goes with the next).
/// The allowance of `name` in the coverage view; fails the test if there is none.
fn allowance<'a>(app: &'a App, name: &str) -> &'a Allowance {
    app.allowances
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no allowance for {name}"))
}

fn stores_one_run(path: &str) -> Vec<Effect> {
    vec![Effect::StoreCoverage {
        path: path.into(),
        coverage: one_run(),
    }]
}

#[test]
fn each_allowance_has_its_count_and_unused_ones_are_marked() {
    let app = with_coverage(one_run());
    let by_name = |n: &str| allowance(&app, n);
    assert_eq!(app.allowances.len(), 6);
    assert_eq!(by_name("read").count, 5);
    assert_eq!(by_name("socket").count, 2);
    assert!(!by_name("read").unused);
    for unused in ["mkdir", "write", "getpid"] {
        assert!(by_name(unused).unused, "{unused}");
        assert_eq!(by_name(unused).kept, None, "{unused}");
    }
    assert!(by_name("getpid").conditional);
    assert_eq!(by_name("getpid").path, "syscalls[1]");
    assert_eq!(
        by_name("socket").values,
        vec![
            (0, vec!["AF_UNIX".to_string()]),
            (1, vec!["SOCK_STREAM".to_string()])
        ]
    );
}

#[test]
fn uses_recorded_under_a_rule_index_that_moved_still_count() {
    // Recorded when the ALLOW rule was syscalls[3]: the name still finds its rule.
    let coverage = Coverage {
        runs: 1,
        tallies: vec![tally("write", Some(3), 7, 1)],
    };
    let app = with_coverage(coverage);
    let write = allowance(&app, "write");
    assert_eq!((write.count, write.unused), (7, false));
}

#[test]
fn c_toggles_the_view_and_its_keys_stay_inside_it() {
    let mut app = with_coverage(one_run());
    app.update(Msg::Event(event("mkdir", 1, 0)));
    assert_eq!(press(&mut app, 'c'), vec![]);
    assert_eq!(app.view, View::Coverage);
    press(&mut app, 'j');
    assert_eq!(app.cov_selected, 1);
    assert_eq!(app.selected, 0, "the Syscalls table did not move");
    press(&mut app, 'c');
    assert_eq!(app.view, View::Syscalls);
}

#[test]
fn d_denies_the_allowance_and_u_brings_it_back() {
    let mut app = with_coverage(one_run());
    let denied = on_allowance(&mut app, "write", 'd');
    assert!(!allowed(&denied).contains(&"write".to_string()));
    assert!(allowed(&denied).contains(&"read".to_string()));
    // The view follows the profile: write is no allowance any more.
    assert!(!app.allowances.iter().any(|a| a.name == "write"));
    match press(&mut app, 'u').as_slice() {
        [Effect::Save { text, .. }] => assert_eq!(text, COVERAGE_PROFILE),
        other => panic!("{other:?}"),
    }
    assert!(app.allowances.iter().any(|a| a.name == "write"));
}

#[test]
fn prune_shows_the_diff_and_writes_only_when_confirmed() {
    let mut app = with_coverage(one_run());
    press(&mut app, 'c');
    assert_eq!(
        press(&mut app, 'p'),
        vec![],
        "nothing is written before yes"
    );
    let Some(Prompt::Prune { names, diff, .. }) = app.prompt.clone() else {
        panic!("no prune prompt: {}", app.message);
    };
    assert_eq!(names, ["getpid", "mkdir", "write"]);
    assert!(
        diff.contains(
            "-            \"names\": [\"execve\", \"mkdir\", \"read\", \"socket\", \"write\"],"
        ),
        "{diff}"
    );
    assert!(
        diff.contains("+            \"names\": [\"execve\", \"read\", \"socket\"],"),
        "{diff}"
    );
    assert!(diff.contains("getpid"), "{diff}");
    // Esc: nothing happens.
    assert_eq!(app.update(Msg::Key(Key::Esc, Mods::NONE)), vec![]);
    assert_eq!(app.prompt, None);
    assert_eq!(app.profile.text, COVERAGE_PROFILE);
    // Again, and yes.
    press(&mut app, 'p');
    let pruned = {
        let e = press(&mut app, 'y');
        saved(&mut app, &e)
    };
    assert_eq!(allowed(&pruned), ["execve", "read", "socket"]);
    assert!(!pruned
        .rules
        .iter()
        .any(|r| r.names.iter().any(|n| n.name == "getpid")));
    // Minimal diff: the lines that held nothing pruned are untouched.
    assert!(pruned
        .text
        .starts_with("{\n    \"defaultAction\": \"SCMP_ACT_ERRNO\",\n"));
    assert!(app.allowances.iter().all(|a| !a.unused));
    // One step undoes the whole prune.
    match press(&mut app, 'u').as_slice() {
        [Effect::Save { text, .. }] => assert_eq!(text, COVERAGE_PROFILE),
        other => panic!("{other:?}"),
    }
}

#[test]
fn prune_scrolls_and_refuses_a_diff_made_from_an_older_profile() {
    let mut app = with_coverage(one_run());
    press(&mut app, 'c');
    press(&mut app, 'p');
    press(&mut app, 'j');
    assert!(matches!(app.prompt, Some(Prompt::Prune { scroll: 1, .. })));
    // An editor changed the file meanwhile (nothing unsaved: it is taken in).
    let theirs = COVERAGE_PROFILE.replace("\"read\", ", "");
    app.update(Msg::FileChanged(theirs.clone()));
    assert_eq!(app.profile.text, theirs);
    assert_eq!(press(&mut app, 'y'), vec![]);
    assert!(
        app.message.contains("changed since the diff"),
        "{}",
        app.message
    );
    assert_eq!(app.profile.text, theirs);
}

#[test]
fn nothing_to_prune_without_coverage() {
    let mut app = with_coverage(Coverage::default());
    press(&mut app, 'c');
    assert_eq!(press(&mut app, 'p'), vec![]);
    assert_eq!(app.prompt, None);
    assert!(app.message.contains("no coverage yet"), "{}", app.message);
}

#[test]
fn socket_used_for_one_family_gets_a_narrower_rule() {
    let mut app = with_coverage(one_run());
    // The proposal is tighten::narrow's, as the CLI's.
    let p = app
        .proposal("socket")
        .expect("a proposal for socket")
        .clone();
    assert!(p.explanation.contains("AF_UNIX"), "{}", p.explanation);
    assert!(app.proposal("read").is_none());
    let narrowed = on_allowance(&mut app, "socket", 'n');
    assert!(!allowed(&narrowed).contains(&"socket".to_string()));
    let rules: Vec<_> = narrowed
        .rules
        .iter()
        .filter(|r| r.names.iter().any(|n| n.name == "socket"))
        .collect();
    assert_eq!(rules.len(), 1, "{}", narrowed.text);
    assert_eq!(rules[0].action, Action::Allow);
    assert_eq!(rules[0].args, p.conditions[0]);
    assert!(rules[0]
        .args
        .iter()
        .any(|c| (c.index, c.value, c.op) == (0, 1, crate::profile::CmpOp::Eq)));
    // Undone as one step.
    match press(&mut app, 'u').as_slice() {
        [Effect::Save { text, .. }] => assert_eq!(text, COVERAGE_PROFILE),
        other => panic!("{other:?}"),
    }
    // n on something eperm cannot narrow explains and writes nothing.
    select(&mut app, "read");
    assert_eq!(press(&mut app, 'n'), vec![]);
    assert!(app.message.contains("no narrower rule"), "{}", app.message);
}

#[test]
fn a_coverage_run_merges_with_what_was_stored() {
    let mut app = with_coverage(one_run());
    // What the file holds after the run was merged in is the truth (it may hold
    // runs of other sessions too).
    let mut on_disk = one_run();
    on_disk.merge(&one_run());
    on_disk.merge(&Coverage {
        runs: 1,
        tallies: vec![tally("write", Some(0), 1, 7)],
    });
    let effects = run_ends(&mut app, Some(Ok(on_disk.clone())));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(app.coverage.runs, 3);
    let read = allowance(&app, "read");
    assert_eq!(read.count, 10);
    assert!(!allowance(&app, "write").unused);
    // A failed save still counts the run, says so, and stores it with the next.
    run_ends(&mut app, Some(Err("disk full".into())));
    assert_eq!(app.coverage.runs, 4);
    assert!(app.message.contains("disk full"), "{}", app.message);
    on_disk.merge(&one_run());
    let effects = run_ends(&mut app, Some(Ok(on_disk)));
    assert_eq!(effects, stores_one_run("p.coverage.json"));
    assert_eq!(app.coverage.runs, 5);
}

#[test]
fn one_call_of_one_run_is_counted_in_the_singular() {
    let mut app = with_coverage(Coverage::default());
    let run = Coverage {
        runs: 1,
        tallies: vec![tally("write", Some(0), 1, 7)],
    };
    app.update(Msg::CoverageRun {
        run: run.clone(),
        stored: Some(Ok(run.clone())),
    });
    assert!(
        app.message
            .starts_with("coverage: 1 call of this run counted; 1 run in all"),
        "{}",
        app.message
    );
    app.config.path = None;
    app.update(Msg::CoverageRun { run, stored: None });
    assert!(
        app.message.starts_with("coverage: 1 call counted ("),
        "{}",
        app.message
    );
}

#[test]
fn health_updates_replace_the_sources() {
    use crate::sources::event::Source;
    use crate::sources::health::Health;
    let mut app = with_coverage(one_run());
    let mut kmsg = Health::new(Source::Kmsg);
    kmsg.suppressed = 12;
    app.update(Msg::Health(vec![Health::new(Source::Audit), kmsg.clone()]));
    assert_eq!(app.sources.len(), 2);
    kmsg.suppressed = 30;
    app.update(Msg::Health(vec![kmsg]));
    assert_eq!(app.sources.len(), 1);
    assert_eq!(app.sources[0].suppressed, 30);
}

#[test]
fn runs_from_before_the_profile_had_a_file_are_stored_with_the_first_that_has_one() {
    let config = Config {
        path: None,
        ..with_coverage(Coverage::default()).config.clone()
    };
    let mut app = App::new(
        load_str("<default profile>", COVERAGE_PROFILE.into()).unwrap(),
        config,
    );
    assert!(run_ends(&mut app, None).is_empty());
    // The first edit writes ./eperm-profile.json; the next run is stored next to it.
    press(&mut app, 'c');
    press(&mut app, 'd');
    app.update(Msg::Saved {
        path: "eperm-profile.json".into(),
        text: app.profile.text.clone(),
    });
    let effects = run_ends(&mut app, Some(Ok(one_run())));
    assert_eq!(effects, stores_one_run("eperm-profile.coverage.json"));
    assert_eq!(app.coverage.runs, 2);
    // Stored once: the next run does not store it again.
    let effects = run_ends(&mut app, Some(Ok(one_run())));
    assert!(effects.is_empty(), "{effects:?}");
}

#[test]
fn s_sorts_the_allowances_by_uses() {
    let mut app = with_coverage(one_run());
    press(&mut app, 'c');
    let names = |app: &App| -> Vec<String> {
        app.coverage_visible()
            .iter()
            .map(|&i| app.allowances[i].name.clone())
            .collect()
    };
    assert_eq!(names(&app)[..3], ["execve", "mkdir", "read"]);
    press(&mut app, 's');
    assert_eq!(names(&app)[..3], ["read", "socket", "execve"]);
    // The filter applies in this view too.
    press(&mut app, '/');
    press(&mut app, 'w');
    app.update(Msg::Key(Key::Enter, Mods::NONE));
    assert_eq!(names(&app), ["write"]);
}

#[test]
fn a_click_selects_the_allowance_under_it() {
    let mut app = with_coverage(one_run());
    app.update(Msg::Resize {
        width: 120,
        height: 40,
    });
    press(&mut app, 'c');
    // Status (2 lines), the table's border and header: the third row is at y = 6.
    app.update(Msg::Click { column: 5, row: 6 });
    assert_eq!(app.selected_allowance().unwrap().name, "read");
    app.update(Msg::Scroll(1));
    assert_eq!(app.selected_allowance().unwrap().name, "socket");
}

#[test]
fn an_unused_name_another_rule_denies_is_kept_and_says_why() {
    let text = COVERAGE_PROFILE.replace(
        "    ]\n}",
        "    ,{\"names\": [\"write\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 38}\n    ]\n}",
    );
    let mut app = with_coverage(one_run());
    app.update(Msg::FileChanged(text));
    let write = allowance(&app, "write");
    assert!(write.unused);
    assert_eq!(write.kept, Some("a non-ALLOW rule names it too"));
}

#[test]
fn m_makes_the_next_runs_collect_coverage() {
    let mut c = config(Some("p.json"));
    c.hold = true;
    let mut app = App::new(load_str("p.json", COVERAGE_PROFILE.into()).unwrap(), c);
    app.update(Msg::Started { pid: 9 });
    press(&mut app, 'c');
    assert_eq!(press(&mut app, 'm'), vec![]);
    assert!(app.collect && !app.run.coverage, "only the next runs");
    let effects = press(&mut app, 'r');
    assert_eq!(
        effects,
        vec![Effect::Restart {
            profile_text: COVERAGE_PROFILE.into(),
            coverage: true
        }]
    );
    assert!(app.run.coverage);
    // A coverage run holds nothing: h says why instead of turning hold on.
    press(&mut app, 'c');
    press(&mut app, 'h');
    assert!(app.message.contains("--coverage"), "{}", app.message);
    // And back.
    press(&mut app, 'c');
    press(&mut app, 'm');
    assert!(matches!(
        press(&mut app, 'r').as_slice(),
        [Effect::Restart {
            coverage: false,
            ..
        }]
    ));
}

#[test]
fn counts_so_far_show_while_the_run_goes_and_its_end_replaces_them() {
    let mut app = with_coverage(one_run());
    let count = |app: &App, n: &str| allowance(app, n).count;
    assert_eq!(count(&app, "read"), 5);
    let so_far = Coverage {
        runs: 0,
        tallies: vec![tally("read", Some(0), 3, 0), tally("write", Some(0), 2, 0)],
    };
    app.update(Msg::CoverageLive(so_far));
    assert_eq!(count(&app, "read"), 8);
    assert!(!allowance(&app, "write").unused);
    // The run's end: its own tallies, not the live ones on top.
    let mut on_disk = one_run();
    on_disk.merge(&one_run());
    run_ends(&mut app, Some(Ok(on_disk)));
    assert_eq!(count(&app, "read"), 10);
    assert!(allowance(&app, "write").unused);
}

#[test]
fn how_the_run_counted_is_the_mode_the_status_bar_shows() {
    let mut app = with_coverage(one_run());
    app.update(Msg::CoverageCounting(
        "notify (no eBPF: EPERM_COVERAGE=notify)".into(),
    ));
    assert_eq!(app.run.mode, "notify (no eBPF: EPERM_COVERAGE=notify)");
}

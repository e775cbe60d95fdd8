//! The triage report rendered from fixture sessions, snapshotted; and the
//! Markdown it writes for text a workload chose.

use super::{cell, code, shell_word, Denial, Triage};
use crate::app::testing::container_session;
use crate::app::{Key, Mods, Msg};
use crate::run::WorkloadExit;
use crate::untrusted::Untrusted;

#[test]
fn a_container_session_reports_denials_decisions_diff_and_commands() {
    let mut app = container_session();
    // Allow the selected (first) workload row, give clone3 ENOSYS.
    app.update(Msg::Key(Key::Char('a'), Mods::NONE));
    app.update(Msg::Key(Key::Down, Mods::NONE));
    app.update(Msg::Key(Key::Char('e'), Mods::NONE));
    app.update(Msg::Key(Key::Char('2'), Mods::NONE));
    app.update(Msg::Exited(WorkloadExit::Exited(1)));
    let mut triage = app.triage();
    // What the TUI loop adds from the session.
    triage.runtime = Some("runc".into());
    triage.rerun = Some(
        "docker run --security-opt seccomp=profiles/p.json --rm alpine sh -c 'mkdir /x'".into(),
    );
    let report = triage.render();
    assert!(
        report.contains("| `mkdir` | `x86_64` | 1 | `EPERM` | `defaultAction`"),
        "{report}"
    );
    assert!(report.contains("`mkdir`: allowed"), "{report}");
    assert!(report.contains("`clone3`: denied with ENOSYS"), "{report}");
    assert!(
        report.contains("+      \"names\": [\n+        \"mkdir\"\n+      ],"),
        "{report}"
    );
    insta::assert_snapshot!(report);
}

#[test]
fn workload_text_cannot_break_out_of_its_cell() {
    let hostile = Untrusted::new(b"x` | **bold** [l](http://e) \x1b[31m".to_vec());
    let triage = Triage {
        command: "true".into(),
        denials: vec![Denial {
            syscall: "mkdir".into(),
            arch: "x86_64".into(),
            hits: 1,
            verdict: "EPERM".into(),
            rule: "defaultAction".into(),
            example: "mkdir(\"a|b`c\", 0777)".into(),
            args: None,
            processes: vec![hostile.clone()],
            bootstrap: false,
            sites: vec![(2, format!("from {hostile} (a|b.c:3) ← main"))],
        }],
        ..Triage::default()
    };
    let report = triage.render();
    let row = report.lines().find(|l| l.starts_with("| `mkdir`")).unwrap();
    // Seven cells: eight unescaped pipes.
    let pipes = row
        .match_indices('|')
        .filter(|(i, _)| !row[..*i].ends_with('\\'))
        .count();
    assert_eq!(pipes, 8, "{row}");
    assert!(
        row.contains(r"``x` \| **bold** [l](http://e) \33[31m``"),
        "{row}"
    );
    assert!(row.contains(r#"``mkdir("a\|b`c", 0777)``"#), "{row}");
    assert!(!report.contains('\x1b'), "{report}");
    // The call site, from the workload's binary, is a code span of its own.
    assert!(
        report.contains(
            "- `mkdir` 2×: ``from x` | **bold** [l](http://e) \\33[31m (a|b.c:3) ← main``\n"
        ),
        "{report}"
    );
}

#[test]
fn code_spans_outlast_any_backtick_run() {
    for (text, span) in [
        ("plain", "`plain`"),
        ("a``b", "```a``b```"),
        ("`x", "`` `x ``"),
        ("sh -c 'a | b'", "`sh -c 'a | b'`"),
        ("two\nlines", "`two lines`"),
    ] {
        assert_eq!(code(text), span, "{text:?}");
    }
    // In a table's cell, `|` is escaped as well.
    for (text, span) in [("a|b", r"`a\|b`"), ("`x|", r"`` `x\| ``")] {
        assert_eq!(cell(text), span, "{text:?}");
    }
}

#[test]
fn shell_words_are_quoted_only_when_needed() {
    assert_eq!(shell_word("profiles/p.json"), "profiles/p.json");
    assert_eq!(shell_word("my profile.json"), "'my profile.json'");
    assert_eq!(shell_word("it's"), r"'it'\''s'");
    assert_eq!(shell_word(""), "''");
}

#[test]
fn an_empty_session_says_so() {
    let report = Triage {
        command: "true".into(),
        outcome: "exited with status 0".into(),
        ..Triage::default()
    }
    .render();
    assert!(report.contains("0 calls of 0 syscalls."), "{report}");
    assert!(report.contains("The profile is unchanged."), "{report}");
    assert!(
        report.contains("None: the profile stands as it was."),
        "{report}"
    );
}

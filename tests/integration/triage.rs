//! The triage helpers in a real terminal (tmux): the key-hint bar following the
//! mode, the runtime's start-up rows folded under the workload's, the session's
//! diff (on screen, and printed when the TUI ends) and the report `R` writes.

use crate::tui::default_without;
use crate::util::{assert_has, in_pane, replay_in_pane, Tmux};
use std::path::Path;

/// The last line of the screen: the key-hint bar.
fn bar(screen: &str) -> &str {
    screen.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("")
}

/// Polls the screen until its bar satisfies `done`, failing with the screen after 5 s.
fn wait_bar(tmux: &Tmux, done: impl Fn(&str) -> bool) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let screen = tmux.screen();
        if done(bar(&screen)) {
            return screen;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bar never changed:\n{screen}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `eperm run` of a workload whose mkdir the profile (in `dir`) denies.
fn mkdir_run(dir: &Path, extra: &str) -> Tmux {
    let profile = default_without(dir, &["mkdir", "mkdirat"]);
    let tmux = Tmux::start(
        dir,
        &in_pane(&format!(
            "run {extra} -p {} -- sh -c 'mkdir {}/made; echo done'",
            profile.display(),
            dir.display()
        )),
    );
    tmux.wait_for("mkdir(", 20);
    tmux
}

#[test]
fn the_hint_bar_shows_the_keys_of_the_mode_the_user_is_in() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = mkdir_run(dir.path(), "");
    let screen = tmux.screen();
    let main = bar(&screen);
    assert!(main.starts_with("? help"), "{screen}");
    for hint in ["a allow", "d deny", "e errno", "q quit", "D diff"] {
        assert!(main.contains(hint), "{hint}: {screen}");
    }
    let screen = tmux.steps(&[("/", "Esc clear it", 5)]);
    assert_eq!(
        bar(&screen),
        "Esc clear it · Enter keep the filter",
        "{screen}"
    );
    tmux.keys("Escape");
    tmux.wait_gone("Esc clear it", 5);
    let screen = tmux.steps(&[("e", "1 EPERM", 5)]);
    assert!(
        bar(&screen).starts_with("Esc cancel · 1 EPERM · 2 ENOSYS"),
        "{screen}"
    );
    tmux.keys("Escape");
    tmux.wait_gone("Which errno", 5);
    // Another pane: the keys that act on the selected row are not offered.
    tmux.keys("Tab");
    let screen = wait_bar(&tmux, |bar| !bar.contains("a allow"));
    assert_has(&screen, "╔ Events");
    assert!(bar(&screen).contains("Tab next pane"), "{screen}");
    // ? still opens the whole help.
    let screen = tmux.steps(&[("?", "any key closes the help", 5)]);
    assert_has(&screen, "D / R");
}

#[test]
fn the_runtimes_start_up_is_folded_under_the_workloads_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (tmux, _profile) = replay_in_pane(dir.path(), "logs/runc-start-up.log");
    let screen = tmux.wait_for("runtime start-up", 10);
    // The table has the focus (double border): only the workload's mkdir in it.
    let table = |screen: &str| -> Vec<String> {
        screen
            .lines()
            .filter(|l| l.starts_with('║'))
            .map(str::to_string)
            .collect()
    };
    let rows = table(&screen);
    assert!(rows.iter().any(|l| l.contains("mkdir")), "{screen}");
    assert!(!rows.iter().any(|l| l.contains("capset")), "{screen}");
    assert_has(&screen, "▸ runtime start-up: 4 syscalls (5 calls)");
    assert!(bar(&screen).contains("b start-up rows"), "{screen}");
    let screen = tmux.steps(&[("b", "b folds", 5)]);
    let rows = table(&screen);
    let at = |name: &str| rows.iter().position(|l| l.contains(name));
    assert!(
        at("mkdir").unwrap() < at("capset").expect(&screen),
        "{screen}"
    );
    assert!(at("pivot_root").is_some(), "{screen}");
    // Process names are whole while the table has room.
    assert_has(&screen, "runc:[2:INIT]");
}

#[test]
fn the_session_diff_and_the_report_tell_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let tmux = mkdir_run(dir.path(), "");
    tmux.steps(&[("a", "allowed now", 5)]);
    tmux.wait_for("[saved]", 5);
    tmux.steps(&[("D", "The profile since the session's start", 5)]);
    // The overlay is drawn over the panes: wait for its diff line, not one
    // capture that may catch the frame half written (seen under load).
    let screen = tmux.wait_for("+        \"mkdir\"", 5);
    assert!(bar(&screen).starts_with("Esc close"), "{screen}");
    // Autosave wrote it: nothing since the last save.
    tmux.steps(&[("Tab", "The profile is as it was at the last save", 5)]);
    tmux.keys("Escape");
    tmux.wait_gone("The profile is as it was", 5);
    tmux.steps(&[("R", "report written", 5)]);
    let report = std::fs::read_to_string(dir.path().join("eperm-report.md")).unwrap();
    assert!(report.starts_with("# eperm triage report"), "{report}");
    assert_has(&report, "- `mkdir`: allowed");
    // In a rule of its own: the default profile's rules are commented.
    assert_has(
        &report,
        "+      \"names\": [\n+        \"mkdir\"\n+      ],",
    );
    assert_has(&report, "eperm run -p ");
    assert_has(&report, "eperm explain ");
    // Quitting prints the session's diff under the restored screen.
    let screen = tmux.steps(&[("q", "EPERM-EXIT=", 10)]);
    assert_has(&screen, "eperm: the profile's changes in this session:");
    assert_has(&screen, "+        \"mkdir\"");
}

#[test]
fn a_headless_run_writes_the_report_it_is_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let profile = default_without(dir.path(), &["mkdir", "mkdirat"]);
    let report = dir.path().join("triage.md");
    let out = crate::util::eperm()
        .args(["run", "--no-tui", "--report"])
        .arg(&report)
        .arg("-p")
        .arg(&profile)
        .args(["--", "sh", "-c"])
        .arg(format!("mkdir '{}/a dir'; echo done", dir.path().display()))
        .output()
        .unwrap();
    let stderr = crate::util::stderr(&out);
    assert_has(&stderr, "triage report in");
    let text = std::fs::read_to_string(&report).unwrap();
    assert_has(&text, "- **Seen through:** notify, permissive");
    let row = text
        .lines()
        .find(|l| l.starts_with("| `mkdir"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_has(row, "| `defaultAction` |");
    assert_has(row, "a dir");
    // Nothing was decided or written: the profile stands.
    assert_has(&text, "The profile is unchanged.");
    // The line that reproduces the failure, quoted for the shell.
    let rerun = format!(
        "eperm run -p {} --enforce --no-tui -- sh -c 'mkdir '\\''{}/a dir'\\''; echo done'",
        profile.display(),
        dir.path().display()
    );
    assert!(text.contains(&rerun), "{rerun}\n{text}");
}

//! The TUI in a real terminal: tmux runs `eperm run`, keys are sent, the screen is
//! read back with capture-pane. Needs tmux (tests/run.sh installs it).

use crate::util::{self, assert_has, assert_lacks, in_pane, replay_in_pane, Tmux};
use eperm::arch::Arch;
use eperm::compile::Mode;
use eperm::profile::{load_file, Action, KernelVersion, Target, DEFAULT_PROFILE};
use eperm::run::Judge;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The default profile without `names`, written to `dir`/p.json.
pub(crate) fn default_without(dir: &Path, names: &[&str]) -> PathBuf {
    let text: String = DEFAULT_PROFILE
        .lines()
        .filter(|l| {
            let line = l.trim();
            !names.iter().any(|n| line == format!("\"{n}\","))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let path = dir.join("p.json");
    std::fs::write(&path, text).unwrap();
    path
}

/// The default profile without mkdir and mkdirat: `mkdir` fails under it.
fn profile_without_mkdir(dir: &Path) -> PathBuf {
    default_without(dir, &["mkdir", "mkdirat"])
}

/// The usual start: the profile without mkdir, and `eperm run EXTRA` of a
/// workload that calls mkdir, in tmux. Take it apart as `{ dir, profile, tmux }`,
/// in that order, so that tmux goes before the directory; bind `dir` (`dir: _dir`),
/// since `..` would delete it at once.
struct MkdirRun {
    dir: tempfile::TempDir,
    profile: PathBuf,
    tmux: Tmux,
}

/// Starts the usual run and waits for its mkdir call to show: the screen then.
fn mkdir_run(extra: &str) -> (MkdirRun, String) {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_without_mkdir(dir.path());
    let tmux = run_in_pane(dir.path(), &profile, extra, MKDIR_SCRIPT);
    let screen = tmux.wait_for("mkdir(", 20);
    (MkdirRun { dir, profile, tmux }, screen)
}

fn verdict_for_mkdir(path: &Path) -> Action {
    let profile = load_file(path).unwrap();
    let target = Target {
        arch: Arch::native(),
        caps: eperm::caps::CapSet::current(),
        kernel: KernelVersion::running(),
        runtime: None,
    };
    let arch = Arch::native();
    let nr = arch
        .syscall_nr("mkdir")
        .or_else(|| arch.syscall_nr("mkdirat"))
        .unwrap();
    let judge = Judge::new(profile, &target, Mode::Enforce).unwrap();
    judge.judge(arch, nr, [0; 6]).verdict.action
}

/// The pane's shell line for `eperm run FLAGS -p PROFILE -- sh -c 'SCRIPT'`, where
/// `{d}` in the script stands for `dir`.
fn run_command(dir: &Path, profile: &Path, flags: &str, script: &str) -> String {
    let script = script.replace("{d}", &dir.display().to_string());
    in_pane(&format!(
        "run {flags} -p {} -- sh -c '{script}'",
        profile.display()
    ))
}

/// [`run_command`] started in a new tmux session in `dir`.
fn run_in_pane(dir: &Path, profile: &Path, flags: &str, script: &str) -> Tmux {
    Tmux::start(dir, &run_command(dir, profile, flags, script))
}

/// [`run_in_pane`] in a new directory under the profile without mkdir: the
/// directory and the session (take them apart in this order, so that tmux goes first).
fn pane_without_mkdir(flags: &str, script: &str) -> (tempfile::TempDir, Tmux) {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_without_mkdir(dir.path());
    let tmux = run_in_pane(dir.path(), &profile, flags, script);
    (dir, tmux)
}

/// The usual workload: mkdir, then a word that it went on.
const MKDIR_SCRIPT: &str = "mkdir {d}/made && echo workload-says-ok";

#[test]
fn allow_then_save_fixes_the_profile_on_disk() {
    let fixture = tempfile::tempdir().unwrap();
    assert_ne!(
        verdict_for_mkdir(&profile_without_mkdir(fixture.path())),
        Action::Allow,
        "the fixture must deny mkdir"
    );
    // Under --enforce the workload really fails, as it would in the container.
    let (MkdirRun { dir, profile, tmux }, screen) = mkdir_run("--enforce --no-autosave");
    assert_has(&screen, "EPERM");
    // The workload's stderr is in the Output pane, not scribbled over the UI.
    let screen = tmux.wait_for("cannot create directory", 10);
    assert_has(&screen, "│mkdir: cannot create directory");
    tmux.steps(&[("a", "allowed now", 5)]);
    assert_ne!(
        verdict_for_mkdir(&profile),
        Action::Allow,
        "--no-autosave wrote the file"
    );
    tmux.steps(&[("w", "[saved]", 5), ("q", "EPERM-EXIT=", 10)]);
    assert_eq!(verdict_for_mkdir(&profile), Action::Allow);
    // The re-run under the saved profile is clean and really succeeds.
    let out = util::ok(
        util::eperm()
            .args(["run", "--no-tui", "--enforce", "-p"])
            .arg(&profile)
            .args(["--", "sh", "-c"])
            .arg(format!("mkdir {}/again && echo ok", dir.path().display())),
    );
    assert_eq!(util::stdout(&out), "ok\n");
    assert!(
        util::stderr(&out).contains("would have denied nothing"),
        "{}",
        util::stderr(&out)
    );
}

#[test]
fn quitting_without_an_edit_leaves_the_profile_alone() {
    // What the profile holds before eperm sees it: the same fixture, written apart.
    let apart = tempfile::tempdir().unwrap();
    let before = std::fs::read_to_string(profile_without_mkdir(apart.path())).unwrap();
    let (MkdirRun { dir, profile, tmux }, _) = mkdir_run("--events ev.jsonl");
    // Permissive: the call ran, the workload printed its line.
    tmux.wait_for("workload-says-ok", 10);
    tmux.steps(&[("?", "hold mode on/off", 5)]);
    tmux.keys("Escape");
    // Apart, or the terminal reads Escape then q as Alt-q.
    tmux.wait_gone("hold mode on/off", 5);
    tmux.steps(&[("q", "EPERM-EXIT=0", 10)]);
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), before);
    // --events FILE works beside the TUI: one JSON line per event.
    let events = std::fs::read_to_string(dir.path().join("ev.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 1, "{events}");
    assert_has(&events, "\"syscall\":\"mkdir\"");
}

#[test]
fn restart_after_allowing_shows_a_clean_run() {
    let (
        MkdirRun {
            tmux, dir: _dir, ..
        },
        _,
    ) = mkdir_run("--enforce");
    tmux.steps(&[
        ("a", "[saved]", 5),
        ("r", "clean run", 20),
        ("q", "EPERM-EXIT=0", 10),
    ]);
}

#[test]
fn an_outside_edit_is_reloaded_and_our_own_saves_are_not() {
    let (
        MkdirRun {
            tmux,
            profile,
            dir: _dir,
        },
        _,
    ) = mkdir_run("");
    // Our own save: no reload message.
    tmux.steps(&[("a", "[saved]", 5)]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!tmux.screen().contains("reloaded"), "{}", tmux.screen());
    // An editor's change is taken in, since nothing is unsaved.
    let theirs = DEFAULT_PROFILE.replace("\"reboot\",", "");
    std::fs::write(&profile, &theirs).unwrap();
    tmux.wait_for("reloaded the profile changed on disk", 10);
    tmux.steps(&[("q", "EPERM-EXIT=0", 10)]);
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), theirs);
}

/// Issue 33: an outside edit that does not load said "keeping yours" under
/// `[saved]`, and the next `a` wrote over it; a valid one left the row "still
/// denied" though the file now allowed the call.
#[test]
fn an_outside_edit_is_never_overwritten_unasked_and_refreshes_the_rows() {
    let (
        MkdirRun {
            tmux,
            profile,
            dir: _dir,
        },
        screen,
    ) = mkdir_run("");
    assert!(screen.contains("still denied"), "{screen}");
    let broken = "{ \"defaultAction\": ";
    std::fs::write(&profile, broken).unwrap();
    tmux.wait_for("[changed on disk]", 10);
    tmux.wait_for("does not load", 10);
    // `a` and `t` do not write over it: the prompt is up, theirs cannot load.
    tmux.keys("a");
    tmux.keys("t");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), broken);
    assert!(
        tmux.screen().contains("[changed on disk]"),
        "{}",
        tmux.screen()
    );
    // The editor finishes: a valid file allowing mkdir is loaded, and its row says so.
    std::fs::write(&profile, DEFAULT_PROFILE).unwrap();
    let screen = tmux.wait_for("reloaded the profile changed on disk", 10);
    assert!(screen.contains("[saved]"), "{screen}");
    assert!(screen.contains("allowed now"), "{screen}");
    assert!(!screen.contains("still denied"), "{screen}");
    tmux.steps(&[("q", "EPERM-EXIT=0", 10)]);
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), DEFAULT_PROFILE);
}

/// Issue 33: a held call whose caller dies is withdrawn at once, not asked
/// until the hold timeout (60 s here). The caller is killed from outside: while
/// a call is held, the workload's other notified calls (its execs too) wait.
#[test]
fn a_held_call_whose_caller_died_is_withdrawn_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_without_mkdir(dir.path());
    let command = in_pane(&format!(
        "run --hold --hold-timeout 60 -p {} -- sh -c 'mkdir {d}/a; sleep 30'",
        profile.display(),
        d = dir.path().display()
    ));
    let tmux = Tmux::start(dir.path(), &command);
    let screen = tmux.wait_for("o allow once", 20);
    let pid: i32 = screen
        .split("mkdir (pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no held mkdir's pid:\n{screen}"));
    // SAFETY: a plain kill of the workload's mkdir, whose pid the UI shows.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let screen = tmux.wait_for("withdrawn", 10);
    assert!(
        screen.contains("held mkdir withdrawn: its caller"),
        "{screen}"
    );
    assert!(!screen.contains("o allow once"), "still asked:\n{screen}");
    assert!(!dir.path().join("a").exists());
    tmux.steps(&[("q", "EPERM-EXIT=", 10)]);
}

#[test]
fn hold_mode_waits_for_an_answer_and_times_out_to_the_profiles_verdict() {
    let (dir, tmux) = pane_without_mkdir(
        "--hold --hold-timeout 10",
        "mkdir {d}/a && echo first-ok; mkdir {d}/b || echo second-denied",
    );
    // The answer must come before the hold times out: 10 s leaves a loaded
    // machine room for the key press (the second call then waits them out).
    tmux.wait_for("o allow once", 20);
    tmux.steps(&[("o", "first-ok", 10)]);
    // The second call is held too; nobody answers, the profile's EPERM applies.
    tmux.wait_for("timed out", 30);
    tmux.wait_for("second-denied", 30);
    assert!(dir.path().join("a").is_dir());
    assert!(!dir.path().join("b").exists());
    tmux.steps(&[("q", "EPERM-EXIT=0", 10)]);
}

/// A workload that touches `still-running` ten times a second until it is killed.
const LOOPING: &str =
    "mkdir {d}/m; echo looping; while :; do touch {d}/still-running; sleep 0.1; done";

#[test]
fn quitting_kills_the_workload() {
    let (dir, tmux) = pane_without_mkdir("", LOOPING);
    let marker = dir.path().join("still-running");
    tmux.wait_for("looping", 20);
    // "looping" comes before the first touch: wait for the loop itself.
    until(&tmux, 10, "the workload never touched its marker", || {
        marker.exists()
    });
    tmux.steps(&[("q", "EPERM-EXIT=", 10)]);
    std::fs::remove_file(&marker).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "the workload outlived eperm");
}

#[test]
fn edits_of_the_embedded_default_go_to_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    // Bare `eperm -- CMD`; as nobody, the default profile denies a user namespace.
    let command = in_pane("--user nobody -- unshare --user true");
    let tmux = Tmux::start(dir.path(), &command);
    tmux.wait_for("unshare(", 20);
    tmux.wait_for("first edit writes ./eperm-profile.json", 5);
    tmux.steps(&[
        ("a", "your edits are in eperm-profile.json", 5),
        ("q", "EPERM-EXIT=", 10),
    ]);
    let written = dir.path().join("eperm-profile.json");
    let profile = load_file(&written).unwrap();
    assert!(profile.rules.iter().any(|r| r.action == Action::Allow
        && r.args.is_empty()
        && r.includes.is_empty()
        && r.names.iter().any(|n| n.name == "unshare")));
}

#[test]
fn no_color_means_no_colour_escapes() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_without_mkdir(dir.path());
    let colour = |no_color: bool| {
        let prefix = if no_color { "NO_COLOR=1 " } else { "" };
        let tmux = Tmux::start(
            dir.path(),
            &format!(
                "{prefix}{}",
                run_command(dir.path(), &profile, "--no-autosave", MKDIR_SCRIPT)
            ),
        );
        tmux.wait_for("mkdir(", 20);
        let screen = tmux.screen_with_escapes();
        // Foreground colours: ESC[3Xm, ESC[9Xm or 38;5 / 38;2 forms.
        [
            "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[90m", "38;5;", "\x1b[42m",
        ]
        .iter()
        .any(|c| screen.contains(c))
    };
    assert!(colour(false), "expected colours without NO_COLOR");
    assert!(!colour(true), "NO_COLOR=1 still drew colours");
}

#[test]
fn replay_opens_saved_logs_in_the_ui_and_allowances_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (tmux, profile) = replay_in_pane(dir.path(), "logs/audit.log");
    // Rows come in order of first appearance: socket is the first record of the log.
    tmux.wait_for("socket", 10);
    tmux.wait_for("execve", 10);
    tmux.keys("a");
    tmux.keys("w");
    tmux.keys("q");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&profile)
        .unwrap()
        .contains("\"socket\"")
    {
        assert!(
            Instant::now() < deadline,
            "socket was not saved: {}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let saved = eperm::profile::load_file(&profile).expect("the saved profile loads");
    assert!(saved
        .rules
        .iter()
        .any(|r| r.action == Action::Allow && r.names.iter().any(|n| n.name == "socket")));
}

/// After eperm: whether the terminal is back in cooked mode, per flag raw mode clears.
const TTY_CHECK: &str = "for f in icanon echo isig; do stty -a | grep -qw -- -$f && echo TTY-$f=off || echo TTY-$f=on; done; echo TTY-CHECKED";

/// A panic (debug builds: `EPERM_DEBUG_PANIC`) on the UI loop or on a helper
/// thread: the terminal is restored (cooked mode, main screen, cursor shown, mouse
/// off) and the usual panic report follows, from the hook eperm chains to. The
/// report must be printed after the restore: printed on the alternate screen it
/// would vanish with it. A helper thread's panic must end the UI, not leave it
/// drawing on a restored terminal.
#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "EPERM_DEBUG_PANIC exists in debug builds only"
)]
fn a_panic_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_without_mkdir(dir.path());
    for (place, report) in [
        ("main", "a panic in the UI loop"),
        ("thread", "a panic on a helper thread"),
    ] {
        let command = format!(
            "EPERM_DEBUG_PANIC={place} RUST_BACKTRACE=0 {} run -p {} -- sleep 30; echo EPERM-EXIT=$?; {TTY_CHECK}; sleep 60",
            env!("CARGO_BIN_EXE_eperm"),
            profile.display(),
        );
        let tmux = Tmux::start(dir.path(), &command);
        let screen = tmux.wait_for("TTY-CHECKED", 20);
        assert!(
            screen.contains(report),
            "{place}: no panic report:\n{screen}"
        );
        for flag in ["icanon", "echo", "isig"] {
            assert!(
                screen.contains(&format!("TTY-{flag}=on")),
                "{place}: {flag} still off (raw mode):\n{screen}"
            );
        }
        assert!(!screen.contains("EPERM-EXIT=0"), "{place}: {screen}");
        assert_eq!(
            tmux.display("#{alternate_on}"),
            "0",
            "{place}: still on the alternate screen"
        );
        assert_eq!(
            tmux.display("#{cursor_flag}"),
            "1",
            "{place}: the cursor is hidden"
        );
        assert_eq!(
            tmux.display("#{mouse_any_flag}#{mouse_standard_flag}#{mouse_sgr_flag}"),
            "000",
            "{place}: mouse capture is on"
        );
    }
}

/// Issue 33: SIGTERM, SIGINT or SIGHUP to the TUI end it as `q` does: the
/// terminal is left as it was found (cooked, main screen, cursor shown, mouse
/// off), and the workload does not outlive eperm.
#[test]
fn a_signal_to_the_tui_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_without_mkdir(dir.path());
    let pid_file = dir.path().join("eperm.pid");
    // eperm run by a shell that wrote its pid (exec keeps it) to pid_file, then `after`.
    let command = |after: &str| {
        format!(
            "sh -c 'echo $$ > {pid}; exec {eperm} run -p {profile} -- sleep 30'{after}",
            pid = pid_file.display(),
            eperm = env!("CARGO_BIN_EXE_eperm"),
            profile = profile.display(),
        )
    };
    // Each session is kept until the next has started: the tmux server ends
    // with its last session, and a session started meanwhile would fail.
    let mut previous = None;
    for signal in ["TERM", "INT", "HUP"] {
        let _ = std::fs::remove_file(&pid_file);
        let tmux = Tmux::start(
            dir.path(),
            &command(&format!("; echo EPERM-EXIT=$?; {TTY_CHECK}; sleep 60")),
        );
        tmux.wait_for("sleep 30", 20);
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let sent = std::process::Command::new("kill")
            .args([&format!("-{signal}"), pid.trim()])
            .status()
            .unwrap();
        assert!(sent.success());
        let screen = tmux.wait_for("TTY-CHECKED", 20);
        for flag in ["icanon", "echo", "isig"] {
            assert!(
                screen.contains(&format!("TTY-{flag}=on")),
                "SIG{signal}: {flag} still off (raw mode):\n{screen}"
            );
        }
        assert_eq!(
            tmux.display("#{alternate_on}"),
            "0",
            "SIG{signal}: alternate screen"
        );
        assert_eq!(
            tmux.display("#{cursor_flag}"),
            "1",
            "SIG{signal}: cursor hidden"
        );
        assert_eq!(
            tmux.display("#{mouse_any_flag}#{mouse_standard_flag}#{mouse_sgr_flag}"),
            "000",
            "SIG{signal}: mouse capture is on"
        );
        previous = Some(tmux);
    }
    // The window closed (SIGHUP, and the terminal gone): eperm ends all the same.
    let _ = std::fs::remove_file(&pid_file);
    let tmux = Tmux::start(dir.path(), &command(""));
    tmux.wait_for("sleep 30", 20);
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    drop(tmux);
    let proc = Path::new("/proc").join(pid.trim());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while proc.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!proc.exists(), "eperm outlived its closed terminal");
    drop(previous);
}

/// Two processes each make a call the profile denies; the supervisor holds one
/// and the other waits behind it. Allowing the first for good (`a`) saves, and
/// `--rerun-on-save` restarts at once, while the second is on its way to the UI.
/// The restart answers it instead of waiting for the run to end, which used to
/// take the whole 3 s stop deadline.
#[test]
fn a_restart_answers_the_calls_still_held() {
    let dir = tempfile::tempdir().unwrap();
    let profile = default_without(dir.path(), &["mkdir", "mkdirat", "rmdir"]);
    let tmux = run_in_pane(
        dir.path(),
        &profile,
        "--hold --rerun-on-save",
        "mkdir {d}/a & rmdir {d}/none & wait",
    );
    tmux.wait_for("o allow once", 20);
    let asked = Instant::now();
    tmux.keys("a");
    // The screen is drawn again only once the old run is gone.
    tmux.wait_for("run 2 ·", 10);
    let took = asked.elapsed();
    assert!(
        took < Duration::from_millis(2500),
        "the restart took {took:?}"
    );
    tmux.steps(&[("q", "EPERM-EXIT=", 10)]);
}

/// `--mode log`: the status bar names each kernel log source with its health, and
/// the printk rate limit's suppressions once kmsg learns of them.
#[test]
fn log_sources_show_their_health_in_the_status_bar() {
    // 40 denials at once exceed printk's 10 per 5 s; the record after the pause
    // makes the kernel print how many it suppressed.
    let (_dir, tmux) = pane_without_mkdir("--mode log", "for i in $(seq 40); do mkdir {d}/a/b 2>/dev/null; done; sleep 6; mkdir {d}/a/c 2>/dev/null; sleep 2");
    let screen = tmux.wait_for("audit ok · kmsg ", 20);
    assert_has(&screen, "log permissive");
    let screen = tmux.wait_for("suppressed", 30);
    // Machine-wide counts: other records (other tests) may add to them.
    let status = screen.lines().nth(1).unwrap_or_default();
    let kmsg = &status[status.find("· kmsg ").expect("kmsg in the status bar")..];
    assert!(kmsg.contains("suppressed"), "{status}");
    tmux.steps(&[("q", "EPERM-EXIT=", 10)]);
}

/// Polls until `done` holds, failing with `what` and the screen after `secs`.
fn until(tmux: &Tmux, secs: u64, what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}; the screen:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn allows(path: &Path, name: &str) -> bool {
    load_file(path).unwrap().rules.iter().any(|r| {
        r.action == Action::Allow && r.args.is_empty() && r.names.iter().any(|n| n.name == name)
    })
}

/// `eperm run --coverage` in the UI: the Coverage view lists what the run used,
/// `p` shows the diff and writes only on `y`, the pruned profile still runs the
/// workload enforced, `u` brings everything back, and a re-run merges.
#[test]
fn coverage_in_the_ui_prunes_only_what_no_run_used() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    std::fs::write(&profile, DEFAULT_PROFILE).unwrap();
    let stored = eperm::coverage::Coverage::path_for(&profile);
    let tmux = run_in_pane(dir.path(), &profile, "--coverage", "echo covered");
    tmux.wait_for("1 run in all", 20);
    assert_eq!(eperm::coverage::Coverage::load(&stored).unwrap().runs, 1);
    let screen = tmux.steps(&[("c", "UNUSED", 5)]);
    assert_has(&screen, "Coverage · ");
    let screen = tmux.steps(&[("p", "y write it", 10)]);
    assert!(screen.contains("(pruned)"), "no diff header:\n{screen}");
    assert_eq!(std::fs::read_to_string(&profile).unwrap(), DEFAULT_PROFILE);
    tmux.keys("y");
    until(&tmux, 10, "the prune was not written", || {
        std::fs::read_to_string(&profile).unwrap() != DEFAULT_PROFILE
    });
    assert!(allows(&profile, "execve") && allows(&profile, "write"));
    assert!(!allows(&profile, "mkdir"), "mkdir was never used");
    // What the run used is all the workload needs, enforced.
    let out = util::ok(
        util::eperm()
            .args(["run", "--no-tui", "--enforce", "-p"])
            .arg(&profile)
            .args(["--", "sh", "-c", "echo covered"]),
    );
    assert_eq!(util::stdout(&out), "covered\n");
    tmux.keys("u");
    until(&tmux, 10, "u did not bring the profile back", || {
        std::fs::read_to_string(&profile).unwrap() == DEFAULT_PROFILE
    });
    tmux.steps(&[("r", "2 runs in all", 20), ("q", "EPERM-EXIT=0", 10)]);
    assert_eq!(eperm::coverage::Coverage::load(&stored).unwrap().runs, 2);
}

/// An ordinary run, then `c` `m` `r`: the next run collects coverage, stored next
/// to the profile, and the Coverage view counts it.
#[test]
fn coverage_can_be_turned_on_from_the_ui() {
    let (MkdirRun { dir, profile, tmux }, _) = mkdir_run("--events ev.jsonl");
    tmux.wait_for("exited 0", 10);
    let screen = tmux.steps(&[
        ("c", "no coverage yet", 5),
        ("m", "(next run: coverage)", 5),
        ("r", "1 run in all", 20),
    ]);
    assert_has(&screen, "+ coverage enforcing");
    assert_has(&screen, "UNUSED");

    tmux.steps(&[("q", "EPERM-EXIT=", 10)]);
    let stored = eperm::coverage::Coverage::path_for(&profile);
    let coverage = eperm::coverage::Coverage::load(&stored).unwrap();
    assert_eq!(coverage.runs, 1);
    assert!(coverage.used().contains("execve"), "{coverage:?}");
    // Run 1 was permissive: mkdir ran. Coverage runs as under the profile: denied.
    let events = std::fs::read_to_string(dir.path().join("ev.jsonl")).unwrap();
    let decisions: Vec<&str> = events
        .lines()
        .filter(|l| l.contains("\"syscall\":\"mkdir\""))
        .map(|l| {
            if l.contains("\"decision\":\"denied\"") {
                "denied"
            } else {
                "ran"
            }
        })
        .collect();
    assert_eq!(decisions, ["ran", "denied"], "{events}");
}

/// The three calls of `burst_run`'s workload, in the order they are made (and so
/// the order of their rows, sorted by first seen).
const BURST_CALLS: [&str; 3] = ["mkdir", "fchmodat", "rmdir"];

/// `eperm run` (autosaving) of a workload whose three calls the profile denies;
/// returns once all three rows show.
fn burst_run() -> (tempfile::TempDir, PathBuf, Tmux) {
    let dir = tempfile::tempdir().unwrap();
    let profile = default_without(
        dir.path(),
        &["mkdir", "mkdirat", "chmod", "fchmodat", "rmdir"],
    );
    let tmux = run_in_pane(
        dir.path(),
        &profile,
        "",
        "mkdir {d}/b && chmod 700 {d}/b && rmdir {d}/b",
    );
    until(&tmux, 20, "the workload's three calls did not show", || {
        let screen = tmux.screen();
        BURST_CALLS
            .iter()
            .all(|c| screen.contains(&format!("{c}(")))
    });
    (dir, profile, tmux)
}

/// A user who knows the keys types faster than the screen redraws: every burst
/// of decisions is on disk within seconds, whatever came before it.
#[test]
fn bursts_of_decisions_are_all_saved() {
    let (_dir, profile, tmux) = burst_run();
    let profile = profile.as_path();
    let on_disk = |want: [bool; 3]| {
        move || {
            BURST_CALLS
                .iter()
                .zip(want)
                .all(|(name, allowed)| allows(profile, name) == allowed)
        }
    };
    // One write to the terminal each: the loop reads them as one batch.
    tmux.keys("ajaja");
    until(
        &tmux,
        5,
        "not all three allowances were saved",
        on_disk([true; 3]),
    );
    // Two denials back, then both undone.
    tmux.keys("kdkd");
    until(
        &tmux,
        5,
        "the denials were not saved",
        on_disk([false, false, true]),
    );
    tmux.keys("uu");
    until(&tmux, 5, "the undos were not saved", on_disk([true; 3]));
    let screen = tmux.wait_for("profile [saved]", 5);
    assert_lacks(&screen, "not saved");
    // Our own writes, however close together, are never taken for an outside edit.
    assert_lacks(&screen, "reloaded");
    // A decision and `r` in one burst: the run is under the file with all three.
    tmux.keys("dar");
    tmux.wait_for("clean run", 20);
    assert!(on_disk([true; 3])());
    tmux.steps(&[("q", "EPERM-EXIT=0", 10)]);
}

/// "Acknowledged" is what the status bar promises: a frame that shows a row as
/// allowed now and the profile as `[saved]` has that allowance on disk. eperm is
/// killed (SIGKILL: nothing runs after it) as soon as such a frame shows after a
/// burst, and the file must hold every allowance that frame showed.
#[test]
fn every_acknowledged_decision_survives_a_sigkill() {
    let (_dir, profile, tmux) = burst_run();
    let shell: u32 = tmux.display("#{pane_pid}").parse().unwrap();
    // eperm is the pane's shell's one child.
    let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
    let eperm: i32 = children.split_whitespace().next().unwrap().parse().unwrap();
    tmux.keys("ajaja");
    let deadline = Instant::now() + Duration::from_secs(10);
    let screen = loop {
        let screen = tmux.screen();
        if screen.contains("profile [saved]") && screen.contains("allowed now") {
            break screen;
        }
        assert!(
            Instant::now() < deadline,
            "no decision acknowledged:\n{screen}"
        );
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(eperm), nix::sys::signal::SIGKILL).unwrap();
    tmux.wait_for("EPERM-EXIT=137", 10);
    let acknowledged: Vec<&str> = BURST_CALLS
        .into_iter()
        .filter(|name| {
            screen
                .lines()
                .any(|l| l.contains(&format!(" {name} ")) && l.contains("allowed now"))
        })
        .collect();
    assert!(!acknowledged.is_empty(), "{screen}");
    for name in acknowledged {
        assert!(
            allows(&profile, name),
            "{name} was shown saved, is not on disk:\n{screen}"
        );
    }
}

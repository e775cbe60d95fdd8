//! Whole screens rendered into TestBackend, compared with insta snapshots.
//! Pids and times are redacted (`snap!`), so the snapshots hold only what the
//! screens mean to show, whatever the synthetic events carry.

use super::{draw, Theme};
use crate::app::testing::{
    app_with, default_without, event, one_run, press, with_coverage, COVERAGE_PROFILE,
};
use crate::app::{App, Config, Key, Mods, Msg};
use crate::profile::load_str;
use crate::run::WorkloadExit;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// `assert_snapshot!` with pids and times redacted.
macro_rules! snap {
    ($screen:expr) => {
        insta::with_settings!({filters => vec![
            (r"\bpid \d+", "pid [PID]"),
            (r"\b\d+\.\d{3}s\b", "[T]"),
            (r"(\s)\d{4,7}( \w)", "$1[PID]$2"),
            (r"\[\d{4,7}\]", "[PID]"),
        ]}, {
            insta::assert_snapshot!($screen);
        })
    };
}

fn app(hold: bool) -> App {
    // The default profile without mkdir: the workload's mkdir is denied.
    let profile = load_str("p.json", default_without(&["mkdir"])).unwrap();
    App::new(
        profile,
        Config {
            command: "sh -c mkdir /tmp/x && echo ok".into(),
            hold,
            path: Some("profiles/p.json".into()),
            ..Config::default()
        },
    )
}

fn busy(hold: bool) -> App {
    let mut app = app(hold);
    app.update(Msg::Started { pid: 4242 });
    for (i, name) in ["mkdir", "unshare", "mkdir", "mount", "mkdir", "chmod"]
        .iter()
        .enumerate()
    {
        let mut e = event(name, 4242 + (i as u32 % 2), 2);
        e.time_ms = 10 * i as u64;
        e.args = Some([0x7ffd_0000_1000 + i as u64, 0o755, 0, 0, 0, 0]);
        app.update(Msg::Event(e));
    }
    app.update(Msg::Output {
        line: "mkdir: cannot create directory '/tmp/x': Operation not permitted".into(),
        err: true,
    });
    app
}

/// [`busy`] (holding nothing) after the key `c`.
fn busy_after(c: char) -> App {
    let mut app = busy(false);
    press(&mut app, c);
    app
}

/// The screen as text, one line per row, trailing blanks trimmed.
fn screen(app: &App, w: u16, h: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| draw(f, app, &Theme::PLAIN)).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        let line: String = (0..w).map(|x| buf[(x, y)].symbol()).collect();
        out += line.trim_end();
        out.push('\n');
    }
    out
}

/// The screen, which must show `text`.
fn showing(app: &App, w: u16, h: u16, text: &str) -> String {
    let s = screen(app, w, h);
    assert!(s.contains(text), "{s}");
    s
}

/// Issue 34: at 80 columns the status line was cut mid-word ("77 eve"). Whole
/// fields go instead, the least important first; a long command is cut with …
#[test]
fn the_status_lines_drop_whole_fields_at_80x24() {
    let mut app = busy(false);
    app.run.denials = 77;
    let s = screen(&app, 80, 24);
    let lines: Vec<&str> = s.lines().take(2).collect();
    assert!(
        !lines[1].contains("77 eve") || lines[1].ends_with("77 events"),
        "{s}"
    );
    for field in lines[1].split(" · ") {
        let whole = [
            "profile [saved] profiles/p.json",
            "notify permissive",
            "hold off",
            "notify ok",
            "77 events",
        ];
        assert!(whole.contains(&field), "{field:?} is a cut field: {s}");
    }
    assert!(
        lines[1].starts_with("profile [saved] profiles/p.json · notify permissive"),
        "{s}"
    );
    // Wide enough, nothing goes.
    let wide = screen(&app, 140, 24);
    assert!(
        wide.lines()
            .nth(1)
            .unwrap()
            .ends_with(" · hold off · notify ok · 77 events"),
        "{wide}"
    );
    // A command too long for the line is cut with …, pid and state stay.
    app.run.command = format!("sh -c '{}'", "x".repeat(100));
    let s = screen(&app, 80, 24);
    let first = s.lines().next().unwrap();
    assert!(first.contains("…") && first.ends_with(" · running"), "{s}");
    assert!(first.chars().count() <= 80, "{first}");
}

#[test]
fn one_of_a_thing_is_singular_on_screen() {
    let mut app = app(false);
    app.update(Msg::Started { pid: 4242 });
    app.update(Msg::Event(event("mkdir", 4242, 2)));
    let s = screen(&app, 140, 40);
    assert!(s.contains(" · 1 event"), "{s}");
    assert!(s.contains(" · 1 hit · "), "{s}");
    assert!(!s.contains("1 events") && !s.contains("1 hits"), "{s}");
    press(&mut app, '?');
    assert!(screen(&app, 140, 40).contains("any key closes the help"));
}

#[test]
fn main_screen_80x24() {
    snap!(screen(&busy(false), 80, 24));
}

#[test]
fn main_screen_120x40() {
    snap!(screen(&busy(false), 120, 40));
}

#[test]
fn empty_screen_80x24() {
    snap!(screen(&app(false), 80, 24));
}

#[test]
fn help_overlay_80x24() {
    snap!(screen(&busy_after('?'), 80, 24));
}

#[test]
fn errno_prompt_80x24() {
    snap!(screen(&busy_after('e'), 80, 24));
}

#[test]
fn hold_prompt_120x40() {
    let mut app = busy(true);
    app.update(Msg::Hold {
        id: 1,
        event: event("mkdir", 4242, 0),
        was: None,
    });
    snap!(screen(&app, 120, 40));
}

/// A call asked again after its memory changed shows what the user allowed and
/// what it is now, the whole prompt in the box even with a long path.
#[test]
fn a_changed_held_call_shows_both_texts() {
    let mut app = busy(true);
    let long = "d".repeat(150);
    let mut e = event("mkdir", 4242, 0);
    e.call = Some(format!("mkdir(\"/{long}/toctou-EVIL\", 0777)"));
    app.update(Msg::Hold {
        id: 1,
        event: e,
        was: Some(format!("mkdir(\"/{long}/toctou-safe\", 0777)")),
    });
    let s = screen(&app, 120, 40);
    assert!(s.contains("CHANGED since you allowed it"), "{s}");
    assert!(s.contains("toctou-safe"), "{s}");
    assert!(s.contains("toctou-EVIL"), "{s}");
    assert!(s.contains("o allow once"), "{s}");
}

#[test]
fn allowed_and_clean_run_120x40() {
    let mut app = busy(false);
    // The loop writes the autosave and confirms it before `r`: a re-run runs what is on disk.
    let text = crate::app::testing::saved_text(&press(&mut app, 'a'));
    app.update(Msg::Saved {
        path: "profiles/p.json".into(),
        text,
    });
    press(&mut app, 'r');
    app.update(Msg::Started { pid: 4343 });
    app.update(Msg::Output {
        line: "ok".into(),
        err: false,
    });
    app.update(Msg::Exited(WorkloadExit::Exited(0)));
    snap!(showing(&app, 120, 40, "clean run"));
}

#[test]
fn quit_prompt_80x24() {
    let mut app = busy(false);
    press(&mut app, 'a');
    // The autosave failed: still unsaved. (A save still in flight would quit once
    // it is confirmed, without asking.)
    app.update(Msg::SaveFailed("p.json: cannot write it".into()));
    press(&mut app, 'q');
    snap!(screen(&app, 80, 24));
}

#[test]
fn thousands_of_rows_draw_only_what_fits() {
    let mut app = app(false);
    let names: Vec<&str> = crate::arch::Arch::native()
        .syscalls()
        .iter()
        .map(|&(n, _)| n)
        .collect();
    for (i, name) in names.iter().cycle().take(5000).enumerate() {
        let mut e = event(name, i as u32, 0);
        // Rows of arches "a0", "a1", …: an AUDIT_ARCH eperm does not know is shown in hex.
        e.arch = crate::sources::event::CallArch::Unknown(0xa0 + (i / names.len()) as u32);
        app.update(Msg::Event(e));
    }
    assert_eq!(app.hits(), 5000);
    for _ in 0..3000 {
        app.update(Msg::Key(Key::Down, Mods::NONE));
    }
    let s = screen(&app, 80, 24);
    let selected = app.selected_row().unwrap().syscall.clone();
    assert!(s.contains(&selected), "{selected} not on screen:\n{s}");
}

#[test]
fn the_plain_theme_draws_no_colour_and_the_coloured_one_does() {
    use ratatui::style::Color;
    let app = busy(false);
    let colours = |theme: Theme| {
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        terminal.draw(|f| draw(f, &app, &theme)).unwrap();
        let buf = terminal.backend().buffer().clone();
        buf.content()
            .iter()
            .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
            .count()
    };
    assert_eq!(colours(Theme::PLAIN), 0);
    assert!(colours(Theme { color: true }) > 0);
}

#[test]
fn no_color_is_read_as_no_color_org_says() {
    assert!(Theme::from_no_color(None).color);
    assert!(Theme::from_no_color(Some("".into())).color);
    assert!(!Theme::from_no_color(Some("1".into())).color);
}

#[test]
fn a_click_selects_the_row_under_it() {
    let mut app = busy(false);
    app.update(Msg::Resize {
        width: 120,
        height: 40,
    });
    // Row 2 is the status bar's end; the table's border and header follow, so the
    // third syscall is at y = 2 + 2 + 2.
    app.update(Msg::Click { column: 5, row: 6 });
    assert_eq!(app.selected_row().unwrap().syscall, "mount");
    app.update(Msg::Scroll(-1));
    assert_eq!(app.selected_row().unwrap().syscall, "unshare");
}

#[test]
fn conflict_with_diff_120x40() {
    let mut app = busy(false);
    press(&mut app, 'w');
    // Autosave's write has not been confirmed: the edit is unsaved.
    press(&mut app, 'a');
    let theirs = app.profile.text.replacen("\"chmod\",", "", 1);
    app.update(Msg::FileChanged(theirs));
    press(&mut app, 's');
    snap!(showing(&app, 120, 40, "keep mine"));
}

/// The status bar names each kernel log source with what it knows it missed.
#[test]
fn log_sources_health_in_the_status_bar_120x40() {
    use crate::sources::event::Source;
    use crate::sources::health::Health;
    let mut app = busy(false);
    app.run.mode = "log".into();
    let mut kmsg = Health::new(Source::Kmsg);
    kmsg.suppressed = 12;
    let mut audit = Health::new(Source::Audit);
    audit.received = 40;
    app.update(Msg::Health(vec![audit.clone(), kmsg]));
    snap!(showing(&app, 120, 40, "audit ok · kmsg suppressed 12"));
    audit.lost = 3;
    let off = Health::unavailable(Source::Kmsg, "no /dev/kmsg".into());
    app.update(Msg::Health(vec![audit, off]));
    let s = screen(&app, 120, 40);
    assert!(s.contains("audit lost 3 · kmsg off"), "{s}");
}

/// A pod as containerd's bundle names it.
fn pod(namespace: &str, name: &str, container: &str) -> crate::pods::Pod {
    use crate::untrusted::Untrusted;
    crate::pods::Pod {
        namespace: Some(Untrusted::from(namespace)),
        name: Some(Untrusted::from(name)),
        uid: Some(Untrusted::from("0d1e2f3a")),
        container: Some(Untrusted::from(container)),
    }
}

/// `eperm watch` on a node: calls from two pods and from a process in none.
fn watching_pods() -> App {
    let profile = load_str("p.json", default_without(&["mkdir"])).unwrap();
    let mut app = App::new(
        profile,
        Config {
            command: "eperm watch".into(),
            mode: "log".into(),
            watching: true,
            ..Config::default()
        },
    );
    let calls = [
        ("mkdir", Some(pod("shop", "web-1", "app"))),
        ("mkdir", Some(pod("staging", "web-1", "app"))),
        ("mkdir", Some(pod("shop", "web-1", "app"))),
        ("unshare", Some(pod("staging", "web-1", "app"))),
        ("mount", None),
    ];
    for (i, (name, pod)) in calls.into_iter().enumerate() {
        let mut e = event(name, 4242 + i as u32, 2);
        e.source = crate::sources::event::Source::Audit;
        e.time_ms = 10 * i as u64;
        e.pod = pod;
        app.update(Msg::Event(e));
    }
    app
}

#[test]
fn watch_with_pods_160x40() {
    let app = watching_pods();
    let s = screen(&app, 160, 40);
    // Each row names the pod of its first call, and how many more made it; the
    // Detail pane lists them all.
    assert!(s.contains(" pod "), "{s}");
    assert!(s.contains("shop/web-1/app +1"), "{s}");
    assert!(s.contains("pods: shop/web-1/app staging/web-1/app"), "{s}");
    snap!(s);
    // Narrower, the name is cut and the count kept.
    let s = screen(&app, 120, 40);
    assert!(s.contains(" still denied shop/web-1/… +1 mkdir"), "{s}");
}

#[test]
fn the_filter_finds_rows_by_pod_and_narrow_screens_drop_the_pod_column() {
    let mut app = watching_pods();
    assert_eq!(
        crate::app::testing::filtered(&mut app, "staging"),
        ["mkdir", "unshare"]
    );
    let s = screen(&watching_pods(), 58, 24);
    assert!(!s.contains("web-1"), "{s}");
}

#[test]
fn a_hostile_pod_name_shows_escaped_and_the_column_keeps_its_width() {
    let mut app = watching_pods();
    let mut e = event("chmod", 4300, 0);
    e.pod = Some(pod(HOSTILE, &"x".repeat(200), "app"));
    app.update(Msg::Event(e));
    let s = screen(&app, 160, 40);
    assert!(inert(&s), "{s:?}");
    // The pod column is cut to the room left; the processes keep theirs.
    let chmod = s.lines().find(|l| l.contains("chmod")).unwrap();
    assert!(
        chmod.contains("still denied \\33]0;PW\\7\\33[31m/xxxx") && chmod.contains("x… mkdir"),
        "{chmod}"
    );
}

fn coverage_app() -> App {
    let mut app = with_coverage(one_run());
    app.update(Msg::Started { pid: 4242 });
    press(&mut app, 'c');
    app
}

#[test]
fn coverage_view_120x40() {
    let mut app = coverage_app();
    // The selected row: socket, with its narrower rule.
    for _ in 0..3 {
        app.update(Msg::Key(Key::Down, Mods::NONE));
    }
    let s = screen(&app, 120, 40);
    assert!(s.contains("UNUSED"), "{s}");
    assert!(
        s.contains("socket: arg0 == 0x1 && arg1 & 0xf == 0x1"),
        "{s}"
    );
    assert!(s.contains("repeated index"), "{s}");
    snap!(s);
}

#[test]
fn coverage_view_80x24() {
    snap!(screen(&coverage_app(), 80, 24));
}

/// Issue 34: a junk name (`WIFEXITED`, from a naive regex) showed "unused ·
/// kept" and `p` had nothing to prune; eBPF counting (no pids) showed "by 0
/// processes" and a procs column of zeros.
#[test]
fn coverage_flags_junk_names_and_drops_processes_it_did_not_count() {
    let text = COVERAGE_PROFILE.replace("\"write\"]", "\"write\", \"WIFEXITED\"]");
    let mut coverage = one_run();
    for t in &mut coverage.tallies {
        t.pids.clear();
    }
    let mut app = app_with(
        &text,
        Config {
            command: "worker".into(),
            path: Some("p.json".into()),
            coverage: true,
            ..Config::default()
        },
    );
    app.update(Msg::CoverageLoaded(coverage));
    press(&mut app, 'c');
    let s = screen(&app, 120, 40);
    assert!(s.contains("WIFEXITED") && s.contains("no syscall"), "{s}");
    assert!(!s.contains("procs") && !s.contains("by 0"), "{s}");
    assert!(s.contains("1 use through this rule, over 1 run"), "{s}");
    press(&mut app, 'p');
    let s = showing(&app, 120, 40, "y write it");
    assert!(s.contains("WIFEXITED"), "p prunes the junk name: {s}");
    // Counted with pids, the column and the clause are back.
    let s = screen(&coverage_app(), 120, 40);
    assert!(s.contains("procs") && s.contains("by 1 process,"), "{s}");
}

#[test]
fn prune_diff_prompt_120x40() {
    let mut app = coverage_app();
    press(&mut app, 'p');
    snap!(showing(&app, 120, 40, "y write it"));
}

#[test]
fn a_long_prune_list_is_cut_to_the_width_and_says_how_many_more() {
    let names: Vec<String> = (0..50).map(|i| format!("call{i}")).collect();
    let line = super::prompt::fit(&names, 60);
    assert!(line.chars().count() <= 60, "{line}");
    assert!(line.starts_with("call0, call1"), "{line}");
    let shown = line.matches("call").count();
    assert!(
        line.ends_with(&format!("… and {} more (in the diff)", 50 - shown)),
        "{line}"
    );
    assert_eq!(super::prompt::fit(&names[..2], 60), "call0, call1");
}

/// Nothing a terminal would act on: C0 but the rows' newlines, DEL, C1 (as
/// characters; the screen is a String) and the bidi and zero-width characters.
fn inert(screen: &str) -> bool {
    screen
        .chars()
        .all(|c| c == '\n' || !crate::untrusted::is_unsafe(c))
}

/// The name a workload gave itself: retitle the terminal, then turn it red.
const HOSTILE: &str = "\x1b]0;PW\x07\x1b[31m";

#[test]
fn hostile_names_calls_and_output_show_escaped_in_every_pane() {
    use crate::untrusted::Untrusted;
    let mut app = app(true);
    app.update(Msg::Started { pid: 4242 });
    let mut e = event("mkdir", 4242, 0);
    e.comm = Untrusted::from(HOSTILE);
    e.exe = Some(Untrusted::new(b"/tmp/\x1b]52;c;aGk=\x07\xc2\x9b".to_vec()));
    e.call = Some(format!(
        "mkdir({}, 0777)",
        crate::syscalls::decode::quote(b"/tmp/\x1b[2J\xc2\x9b\xff")
    ));
    app.update(Msg::Event(e.clone()));
    app.update(Msg::Output {
        line: Untrusted::new(b"\x1b[31mred\x9b\xc2\x9bA\x7f".to_vec()),
        err: false,
    });
    let s = screen(&app, 120, 40);
    assert!(inert(&s), "{s:?}");
    // Detail pane (processes), the events pane (comm cut to its widest, 16), output.
    assert!(s.contains("processes: \\33]0;PW\\7\\33[31m[4242]"), "{s}");
    assert!(s.contains("4242 \\33]0;PW\\7\\33[31 mkdir("), "{s}");
    assert!(
        s.contains("mkdir(\"/tmp/\\33[2J\\302\\233\\377\", 0777)"),
        "{s}"
    );
    assert!(s.contains("\\33[31mred\\233\\302\\233A\\177"), "{s}");
    // The held call's question quotes the name too.
    app.update(Msg::Hold {
        id: 1,
        event: e,
        was: None,
    });
    let s = screen(&app, 120, 40);
    assert!(inert(&s), "{s:?}");
    assert!(
        s.contains("\\33]0;PW\\7\\33[31m (pid 4242) is waiting in"),
        "{s}"
    );
}

#[test]
fn no_cell_holds_a_control_character_even_from_text_that_was_not_escaped() {
    let mut app = app(false);
    // eperm's own message, carrying text nobody escaped.
    app.update(Msg::RunFailed(format!("cannot start {HOSTILE}\u{9b}1m")));
    let s = screen(&app, 100, 30);
    assert!(
        s.contains("the run failed: cannot start ?]0;PW??[31m?1m"),
        "{s}"
    );
    assert!(inert(&s), "{s:?}");
}

/// runc 1.1.5 with libseccomp 2.5.4, named, not looked for on this machine.
fn runc_1_1_5() -> crate::target::Runtime {
    crate::target::Runtime::from_args(
        Some("runc@1.1.5"),
        Some("2.5.4"),
        &crate::target::Runtime::nowhere,
    )
    .unwrap()
}

/// A container's run: the runtime drops `mseal`, which the profile's text allows.
#[test]
fn the_detail_pane_says_when_the_runtime_drops_the_name() {
    let profile = load_str(
        "p.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "mseal"], "action": "SCMP_ACT_ALLOW"}]}"#.into(),
    )
    .unwrap();
    let runtime = runc_1_1_5();
    let mut app = App::new(
        profile,
        Config {
            runtime: Some(runtime),
            ..Config::default()
        },
    );
    app.update(Msg::Event(event("mseal", 4242, 0)));
    // Wide enough for the note on one line.
    let text = screen(&app, 240, 40);
    assert!(
        text.contains(
            "allowed by syscalls[0], but runc 1.1.5 drops the name (unknown to libseccomp 2.5.4)"
        ),
        "{text}"
    );
}

/// `--enforce` on a container whose runtime cannot start under the profile:
/// the refused start-up calls make no event, yet the run is not clean.
#[test]
fn a_container_that_did_not_start_is_not_a_clean_run() {
    let profile = load_str(
        "p.json",
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]}"#.into(),
    )
    .unwrap();
    let runtime = runc_1_1_5();
    let config = |enforce| Config {
        runtime: Some(runtime.clone()),
        enforce,
        ..Config::default()
    };
    let mut app = App::new(profile.clone(), config(true));
    app.update(Msg::Exited(WorkloadExit::Exited(1)));
    let text = screen(&app, 200, 30);
    assert!(text.contains("⚠ the container did not start"), "{text}");
    assert!(
        text.contains("runc 1.1.5 cannot start a container under this profile"),
        "{text}"
    );
    assert!(!text.contains("clean run"), "{text}");
    // Without --enforce the runtime's calls ran: nothing to say of its start.
    let mut app = App::new(profile, config(false));
    app.update(Msg::Exited(WorkloadExit::Exited(0)));
    let text = screen(&app, 200, 30);
    assert!(text.contains("clean run"), "{text}");
    assert!(!text.contains("did not start"), "{text}");
}

#[test]
fn runtime_start_up_folded_under_the_workloads_rows_120x40() {
    let app = crate::app::testing::container_session();
    let s = screen(&app, 120, 40);
    assert!(
        s.contains("▸ runtime start-up: 4 syscalls (5 calls), 4 denied · b lists"),
        "{s}"
    );
    // The table (double border: it has the focus) lists only the workload's rows.
    let table: Vec<&str> = s.lines().filter(|l| l.starts_with('║')).collect();
    assert!(!table.iter().any(|l| l.contains("pivot_root")), "{s}");
    // The long process name is not cut while the table has room.
    assert!(s.contains("long-helper-name"), "{s}");
    snap!(s);
}

#[test]
fn runtime_start_up_listed_after_the_workloads_rows_120x40() {
    let mut app = crate::app::testing::container_session();
    press(&mut app, 'b');
    let s = screen(&app, 120, 40);
    let workload = s.find("clone3").unwrap();
    let runtime = s.find("pivot_root").expect(&s);
    assert!(workload < runtime, "{s}");
    assert!(s.contains("runc:[2:INIT]"), "{s}");
    snap!(s);
}

#[test]
fn session_diff_120x40() {
    let mut app = busy(false);
    press(&mut app, 'a');
    press(&mut app, 'D');
    snap!(showing(&app, 120, 40, "+        \"mkdir\""));
}

#[test]
fn filter_input_hints_80x24() {
    let mut app = busy(false);
    press(&mut app, '/');
    press(&mut app, 'm');
    let s = screen(&app, 80, 24);
    assert_eq!(
        s.lines().last(),
        Some("Esc clear it · Enter keep the filter"),
        "{s}"
    );
    snap!(s);
}

/// Another layer refuses a row's syscall too: the status bar says the run is
/// not clean, the Detail pane says the allowance is not enough and the fix.
#[test]
fn a_row_refused_by_another_layer_too_shows_it_in_the_detail_pane() {
    let mut app = app(false);
    app.update(Msg::Event(event("mkdir", 7, 0)));
    let crate::sources::refusal::Watch::Refused(mut r) =
        crate::app::layers_refused_for_tests("mkdir", 1 << 21)
    else {
        unreachable!()
    };
    r.nr = 83;
    app.update(Msg::Layer(crate::sources::refusal::Watch::Refused(r)));
    app.update(Msg::Exited(WorkloadExit::Exited(1)));
    let text = screen(&app, 140, 40);
    for want in [
        "⚠ 1 refused by other layers",
        "also refused by capability: CAP_SYS_ADMIN: a seccomp",
        "fix: grant it: docker run --cap-add SYS_ADMIN",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    assert!(!text.contains("clean run"), "{text}");
}

#[test]
fn a_run_whose_layers_are_not_watched_says_so_in_the_status_bar() {
    let mut app = app(false);
    app.update(Msg::Layer(crate::sources::refusal::Watch::NotWatched(
        "no BTF".into(),
    )));
    let text = screen(&app, 160, 30);
    assert!(
        text.contains("other layers: not watched (no BTF)"),
        "{text}"
    );
}

/// A stack frame of the C program the integration tests run.
fn frame(
    function: Option<&str>,
    object: &str,
    offset: u64,
    line: Option<u32>,
) -> crate::sources::stack::Frame {
    crate::sources::stack::Frame {
        function: function.map(Into::into),
        object: object.into(),
        offset,
        file: line.map(|_| "/src/cache.c".into()),
        line,
    }
}

/// An `mkdir` from `make_cache_dir` (at `offset`, line `line`) through libc.
fn called_from(offset: u64, line: u32) -> crate::sources::event::Event {
    let mut e = event("mkdir", 4242, 2);
    e.stack = Some(vec![
        frame(
            Some("mkdir"),
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
            0xf7f37,
            None,
        ),
        frame(Some("make_cache_dir"), "/app/cache", offset, Some(line)),
        frame(Some("do_setup"), "/app/cache", 0x11e9, Some(50)),
        frame(Some("main"), "/app/cache", 0x109b, Some(60)),
        frame(None, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x2724a, None),
        frame(Some("_start"), "/app/cache", 0x10d1, None),
    ]);
    e
}

/// The Detail pane: the program's own frames first, libc folded; `f` unfolds.
#[test]
fn detail_stack_folded_and_unfolded_120x40() {
    let mut app = app(false);
    app.update(Msg::Started { pid: 4242 });
    app.update(Msg::Event(called_from(0x11ab, 42)));
    let folded = showing(&app, 120, 40, "make_cache_dir (cache.c:42)  cache+0x11ab");
    assert!(
        folded.contains("(+3 libc/runtime frames: f shows them)"),
        "{folded}"
    );
    assert!(!folded.contains("libc.so.6+0xf7f37"), "{folded}");
    press(&mut app, 'f');
    let unfolded = showing(&app, 120, 40, "mkdir  libc.so.6+0xf7f37");
    assert!(
        unfolded.contains("  libc.so.6+0x2724a\n") || unfolded.contains("  libc.so.6+0x2724a "),
        "{unfolded}"
    );
    snap!(unfolded);
}

/// Two call sites of one syscall: each with its count.
#[test]
fn detail_two_call_sites_each_with_its_count() {
    let mut app = app(false);
    app.update(Msg::Started { pid: 4242 });
    for (offset, line) in [(0x11ab, 42), (0x11ab, 42), (0x1200, 44)] {
        app.update(Msg::Event(called_from(offset, line)));
    }
    let s = showing(&app, 160, 40, "called from 2 places:");
    assert!(
        s.contains("2×  from make_cache_dir (cache.c:42) ← do_setup ← main"),
        "{s}"
    );
    assert!(
        s.contains("1×  from make_cache_dir (cache.c:44) ← do_setup ← main"),
        "{s}"
    );
}

/// Another layer's refusal, as the run's watcher reports it (`nr` is the
/// syscall's number on x86_64).
fn layer_refusal(syscall: &str, nr: u32, failed_caps: u64) -> Msg {
    let crate::sources::refusal::Watch::Refused(mut r) =
        crate::app::layers_refused_for_tests(syscall, failed_caps)
    else {
        unreachable!()
    };
    r.nr = nr;
    Msg::Layer(crate::sources::refusal::Watch::Refused(r))
}

/// Once another layer refused a call, the table names each row's layers:
/// `seccomp` alone, or with the capability that refuses the call too, in full
/// where there is room, in short where there is less; a narrow screen drops
/// the column.
#[test]
fn the_layer_column_names_each_row_s_layers_160x40() {
    let mut app = busy(false);
    let before = screen(&app, 160, 40);
    assert!(!before.contains(" layer "), "no column yet:\n{before}");
    app.update(layer_refusal("mount", 165, 1 << 21));
    app.update(layer_refusal("kill", 62, 1 << 5));
    let text = screen(&app, 160, 40);
    for want in [" layer ", "seccomp+cap:SYS_ADMIN", "seccomp "] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    // kill, which the profile allows, has a row of its own, after the
    // workload's profile rows, marked by its layer alone.
    let kill = text
        .lines()
        .find(|l| l.contains(" kill "))
        .expect("kill's row");
    for want in ["allows", "—", "cap:KILL"] {
        assert!(kill.contains(want), "{want:?} in {kill:?}");
    }
    assert!(!kill.contains("seccomp"), "{kill}");
    assert!(
        text.contains("kill 1× EPERM: capability: CAP_KILL"),
        "{text}"
    );
    snap!(text);
    let less = screen(&app, 120, 40);
    assert!(less.contains(" +cap:SYS_ADMIN "), "{less}");
    assert!(!less.contains("seccomp+"), "{less}");
    let narrow = screen(&app, 58, 24);
    assert!(!narrow.contains(" layer "), "{narrow}");
    assert!(narrow.contains("mount"), "{narrow}");
}

/// The profile would deny nothing, but another layer refused calls: they
/// have rows, and the run is not called clean, even when the filter hides
/// their rows.
#[test]
fn a_run_only_other_layers_refused_is_not_called_clean() {
    let mut app = app(false);
    app.update(Msg::Started { pid: 4242 });
    app.update(layer_refusal("kill", 62, 1 << 5));
    app.update(Msg::Exited(WorkloadExit::Exited(1)));
    let text = screen(&app, 120, 40);
    assert!(!text.contains("clean run"), "{text}");
    for want in [
        "Syscalls (1)",
        "⚠ 1 refused by other layers",
        "refused by capability: CAP_KILL: not the profile's",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    app.filter = "nothing-matches".into();
    let hidden = screen(&app, 120, 40);
    assert!(!hidden.contains("clean run"), "{hidden}");
    assert!(
        hidden.contains("no seccomp denial; 1 call refused by other layers (Detail)"),
        "{hidden}"
    );
}

/// A call only another layer refused (the profile allows it) has a row of its
/// own, with its hits and its layer; selected, the Detail pane shows that
/// layer's evidence and fix, and says the profile cannot help.
#[test]
fn a_call_only_another_layer_refused_has_a_row_of_its_own_160x40() {
    let mut app = busy(false);
    app.update(layer_refusal("sethostname", 170, 1 << 21));
    app.update(layer_refusal("sethostname", 170, 1 << 21));
    let perms = crate::sources::refusal::Watch::Refused(Box::new(
        crate::app::layers_shadow_refusal_for_tests(),
    ));
    app.update(Msg::Layer(perms));
    // The workload's four rows, then the two refused elsewhere.
    assert_eq!(app.table_lines().len(), 6);
    app.update(Msg::Key(crate::app::Key::End, crate::app::Mods::NONE));
    app.update(Msg::Key(crate::app::Key::Up, crate::app::Mods::NONE));
    let text = screen(&app, 160, 40);
    let row = text
        .lines()
        .find(|l| l.contains("▶"))
        .expect("a selected row");
    for want in ["sethostname", " 2 ", "allows", "cap:SYS_ADMIN"] {
        assert!(row.contains(want), "{want:?} in {row:?}");
    }
    let openat = text
        .lines()
        .find(|l| l.contains(" openat "))
        .expect("openat's row");
    assert!(openat.contains(" perms"), "{openat}");
    for want in [
        "refused by capability: CAP_SYS_ADMIN: not the profile's",
        "fix: grant it: docker run --cap-add SYS_ADMIN",
        "a, d and e do not apply",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
    // The key line offers no edit of the profile on such a row.
    let keys = text.lines().last().expect("the key line");
    assert!(keys.contains("/ filter"), "{keys}");
    for edit in ["a allow", "d deny", "e errno"] {
        assert!(!keys.contains(edit), "{edit:?} in {keys:?}");
    }
    snap!(text);
    let narrow = screen(&app, 58, 24);
    assert!(
        narrow
            .lines()
            .any(|l| l.contains("▶ sethostname 2") && l.contains(" —")),
        "{narrow}"
    );
}

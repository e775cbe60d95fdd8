//! Builders the App's and the UI's tests share: a synthetic event, a config, an
//! App from a profile's text, a key press, a confirmed save, the default profile minus some
//! syscalls, and the coverage fixtures of the Coverage view.

use super::{App, Config, Effect, Key, Mods, Msg};
use crate::arch::Arch;
use crate::coverage::{Coverage, Tally};
use crate::profile::load_str;
use crate::profile::{Action, Verdict};
use crate::sources::event::{CallArch, Decider, Decision, Event, Rule, Ruling, Source};
use std::path::PathBuf;

/// A would-be denial of `syscall("/tmp/x", 0777)` by `pid`, with `arg0` as its
/// first argument, denied by the default action with EPERM.
pub fn event(syscall: &str, pid: u32, arg0: u64) -> Event {
    Event {
        time_ms: 5,
        source: Source::Notify,
        pid,
        tid: pid,
        comm: "mkdir".into(),
        exe: None,
        arch: CallArch::Known(crate::arch::Arch::X86_64),
        syscall: syscall.into(),
        nr: 83,
        args: Some([arg0, 0o777, 0, 0, 0, 0]),
        call: Some(format!("{syscall}(\"/tmp/x\", 0777)")),
        ruling: Ruling::Profile(Verdict::of(Action::Errno, None)),
        rule: Some(Decider::new(Rule::Default, "")),
        bootstrap: false,
        decision: Decision::Allowed,
        container: None,
        interference: None,
        stack: None,
        pod: None,
        softened: None,
    }
}

/// A run of `mkdir /tmp/x` through notify, autosaving to `path`.
pub fn config(path: Option<&str>) -> Config {
    Config {
        command: "mkdir /tmp/x".into(),
        path: path.map(PathBuf::from),
        ..Config::default()
    }
}

/// A small profile: read and write allowed, the rest denied with EPERM.
pub const PROFILE: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {
            "names": ["read", "write"],
            "action": "SCMP_ACT_ALLOW"
        }
    ]
}
"#;

/// An App on the profile `text` (loaded as `p.json`).
pub fn app_with(text: &str, config: Config) -> App {
    App::new(load_str("p.json", text.into()).unwrap(), config)
}

/// The key `c`, without modifiers.
pub fn press(app: &mut App, c: char) -> Vec<Effect> {
    app.update(Msg::Key(Key::Char(c), Mods::NONE))
}

/// `/` and `text` typed: the syscalls of the rows the filter leaves shown.
pub fn filtered(app: &mut App, text: &str) -> Vec<String> {
    press(app, '/');
    for c in text.chars() {
        press(app, c);
    }
    app.visible()
        .iter()
        .map(|&i| app.rows[i].syscall.clone())
        .collect()
}

/// The text of the one save among `effects`; panics when there is not just one.
pub fn saved_text(effects: &[Effect]) -> String {
    match effects {
        [Effect::Save { text, .. }] => text.clone(),
        other => panic!("expected one save, got {other:?}"),
    }
}

/// The writer's word that `text` is saved at `p.json`: the effects that follow.
pub fn confirm(app: &mut App, text: &str) -> Vec<Effect> {
    app.update(Msg::Saved {
        path: "p.json".into(),
        text: text.into(),
    })
}

/// The default profile's text without the lines naming `names` (each must be
/// there, and not last in its list): calls to them are denied under it.
pub fn default_without(names: &[&str]) -> String {
    let text = crate::profile::DEFAULT_PROFILE;
    let mut out = String::with_capacity(text.len());
    let mut left: Vec<&str> = names.to_vec();
    for line in text.split_inclusive('\n') {
        let named = line
            .trim()
            .strip_suffix(',')
            .and_then(|n| n.strip_prefix('"')?.strip_suffix('"'));
        match named.and_then(|n| left.iter().position(|&l| l == n)) {
            Some(i) => {
                left.remove(i);
            }
            None => out.push_str(line),
        }
    }
    assert!(
        left.is_empty(),
        "not in the default profile's lists: {left:?}"
    );
    out
}

/// The Coverage view's profile: five plain allowances and getpid(0).
pub const COVERAGE_PROFILE: &str = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {
            "names": ["execve", "mkdir", "read", "socket", "write"],
            "action": "SCMP_ACT_ALLOW"
        },
        {
            "names": ["getpid"],
            "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]
        }
    ]
}
"#;

/// `count` allowed calls to `syscall` under `rule`, by `pid`.
pub fn tally(syscall: &str, rule: Option<usize>, count: u64, pid: u32) -> Tally {
    Tally {
        count,
        pids: [pid].into(),
        ..Tally::new(rule, syscall, Arch::X86_64, Action::Allow)
    }
}

/// One run: read 5×, socket(AF_UNIX, SOCK_STREAM) 2×, execve once; mkdir, write
/// and getpid never.
pub fn one_run() -> Coverage {
    let mut socket = tally("socket", Some(0), 2, 101);
    socket.values.insert("arg0".into(), [1].into());
    socket.values.insert("arg1".into(), [1].into());
    Coverage {
        runs: 1,
        tallies: vec![
            tally("execve", Some(0), 1, 100),
            tally("read", Some(0), 5, 100),
            socket,
        ],
    }
}

/// An enforcing coverage run of `worker` under [`COVERAGE_PROFILE`] (at
/// `p.json`), with `coverage` stored next to it.
pub fn with_coverage(coverage: Coverage) -> App {
    let config = Config {
        command: "worker".into(),
        enforce: true,
        path: Some("p.json".into()),
        coverage: true,
        ..Config::default()
    };
    let mut app = app_with(COVERAGE_PROFILE, config);
    app.update(Msg::CoverageLoaded(coverage));
    app
}

/// A container session as `eperm docker` shows it: runc's start-up calls
/// (bootstrap, by `runc:[2:INIT]`) first, then the workload's `mkdir` and
/// `clone3` by `sh` and a long-named helper.
pub fn container_session() -> App {
    let profile = load_str("p.json", default_without(&["mkdir", "clone3", "capset"])).unwrap();
    let mut app = App::new(
        profile,
        Config {
            command: "docker run --rm alpine sh -c 'mkdir /x'".into(),
            path: Some("profiles/p.json".into()),
            ..Config::default()
        },
    );
    app.update(Msg::Started { pid: 4242 });
    for (i, name) in ["capset", "unshare", "mount", "pivot_root", "capset"]
        .iter()
        .enumerate()
    {
        let mut e = event(name, 4200, 0);
        e.comm = "runc:[2:INIT]".into();
        e.bootstrap = true;
        e.time_ms = i as u64;
        e.call = Some(format!("{name}()"));
        app.update(Msg::Event(e));
    }
    let mut mkdir = event("mkdir", 4242, 0x7ffd_0000_1000);
    mkdir.comm = "sh".into();
    mkdir.time_ms = 20;
    app.update(Msg::Event(mkdir));
    let mut clone3 = event("clone3", 4243, 0x7ffd_0000_2000);
    clone3.comm = "long-helper-name".into();
    clone3.nr = 435;
    clone3.time_ms = 30;
    clone3.call = Some("clone3({flags=CLONE_VM}, 88)".into());
    app.update(Msg::Event(clone3));
    app
}

//! Helpers shared by the integration tests: running eperm (and failing with all it
//! printed), C helper workloads compiled once per run, the root check, the processes
//! in /proc, and a real terminal (tmux) to drive the TUI in.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The eperm binary cargo built for these tests.
pub fn eperm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eperm"))
}

/// Runs eperm with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    eperm().args(args).output().expect("eperm runs")
}

/// A fixture file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What a failed command did: its line, its exit status, stdout and stderr.
fn failure(command: &str, out: &Output) -> String {
    format!(
        "{command} failed: {}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    )
}

/// Fails the test unless `text` holds `needle`, showing both.
#[track_caller]
pub fn assert_has(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} is not in:\n{text}");
}

/// Fails the test unless `text` begins with `prefix`, showing both.
#[track_caller]
pub fn assert_starts(text: &str, prefix: &str) {
    assert!(
        text.starts_with(prefix),
        "{prefix:?} does not begin:\n{text}"
    );
}

/// Fails the test if `text` holds `needle`, showing both.
#[track_caller]
pub fn assert_lacks(text: &str, needle: &str) {
    assert!(!text.contains(needle), "{needle:?} is in:\n{text}");
}

/// Fails the test unless `out` is a success, with its status, stdout and stderr.
pub fn assert_success(out: &Output) {
    assert!(out.status.success(), "{}", failure("the command", out));
}

/// Runs `command`, failing the test unless it succeeds, with the command line, its
/// exit status, stdout and stderr.
pub fn ok(command: &mut Command) -> Output {
    let line = format!("{command:?}");
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{line} did not start: {e}"));
    assert!(out.status.success(), "{}", failure(&line, &out));
    out
}

/// Runs eperm with `args`, expecting success: its (stdout, stderr).
pub fn eperm_ok(args: &[&str]) -> (String, String) {
    let out = ok(eperm().args(args));
    (stdout(&out), stderr(&out))
}

/// eperm's arguments `head`, then `--` and the workload's command line `cmd`.
pub fn with_command<'a>(head: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
    let mut args = head.to_vec();
    args.push("--");
    args.extend_from_slice(cmd);
    args
}

/// eperm's arguments for a run without the TUI under `profile` with `flags`
/// (`--coverage`, `--enforce` …), then `--` and the workload's command line `cmd`.
pub fn run_under<'a>(flags: &[&'a str], profile: &'a Path, cmd: &[&'a str]) -> Vec<&'a str> {
    let mut head = vec!["run", "--no-tui"];
    head.extend_from_slice(flags);
    head.extend(["-p", profile.to_str().unwrap()]);
    with_command(&head, cmd)
}

/// Runs `command` with its output captured; a hang is a failure, not a stuck test
/// run: after `limit` it is killed and the test fails with what it printed.
pub fn output_within(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{command:?} did not finish within {limit:?}; stderr:\n{}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs eperm with `args`, failing the test if it takes longer than `limit`.
pub fn eperm_within(args: &[&str], limit: Duration) -> Output {
    output_within(eperm().args(args), limit)
}

/// The events of an `--events` file: one JSON object per line.
pub fn events(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// Fails the test unless it runs as root, saying that it needs root and `why`.
pub fn require_root(why: &str) {
    // SAFETY: plain syscall.
    if unsafe { libc::geteuid() } != 0 {
        panic!("this test needs root ({why}): run it as root (CI does)");
    }
}

/// The C helper workload `source`, compiled as `name` (which is its comm). Each is
/// compiled once per run of the test binary, into a directory kept for the run.
pub fn cc(name: &str, source: &'static str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, (&'static str, PathBuf)>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Held while compiling: tests asking at once for one helper get one compile.
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((was, exe)) = built.get(name) {
        assert_eq!(*was, source, "two different helpers are named {name}");
        return exe.clone();
    }
    let dir = helper_dir();
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let out = Command::new("cc")
        .args(["-O2", "-Wall", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) is needed to build the test helpers");
    assert!(
        out.status.success(),
        "{}",
        failure(&format!("cc {name}.c"), &out)
    );
    built.insert(name.to_string(), (source, exe.clone()));
    exe
}

/// Where this run's helpers are compiled: a fresh directory under cargo's target
/// tmp dir, so that runs never share (or race for) a binary.
fn helper_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        tempfile::Builder::new()
            .prefix("helpers-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap()
            .keep()
    })
}

/// The programs the test image holds (with the libraries they load).
const ROOTFS_PROGRAMS: &[&str] = &[
    "/bin/sh",
    "/bin/mkdir",
    "/bin/rmdir",
    "/bin/ls",
    "/bin/cat",
    "/bin/sleep",
    "/bin/true",
];

/// A root file system of host binaries (with the libraries they load), for
/// container images and bundles.
pub fn host_rootfs(dir: &Path) {
    for program in ROOTFS_PROGRAMS {
        copy_with_parents(Path::new(program), dir);
        let ldd = Command::new("ldd").arg(program).output().unwrap();
        for lib in stdout(&ldd)
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
        {
            copy_with_parents(Path::new(lib), dir);
        }
    }
    for d in ["proc", "dev", "sys", "tmp", "etc"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
}

/// Writes `bundle`/config.json, `runc spec`'s (the rootfs is the caller's), set to
/// run `args` without a terminal under `seccomp`, with the root file system
/// writable when `writable_root`; the config's path.
pub fn write_runc_config(
    bundle: &Path,
    args: serde_json::Value,
    seccomp: serde_json::Value,
    writable_root: bool,
) -> PathBuf {
    let spec = Command::new("runc")
        .args(["spec", "--bundle", bundle.to_str().unwrap()])
        .output()
        .expect("runc runs");
    assert!(spec.status.success(), "{}", failure("runc spec", &spec));
    let path = bundle.join("config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&text).unwrap();
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = args;
    config["root"]["readonly"] = (!writable_root).into();
    config["linux"]["seccomp"] = seccomp;
    std::fs::write(&path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    path
}

fn copy_with_parents(file: &Path, root: &Path) {
    let to = root.join(file.strip_prefix("/").unwrap());
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(file, &to).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
}

/// A process in /proc, from its stat line.
pub struct Proc {
    pub pid: i32,
    pub comm: String,
    /// R, S, Z, …
    pub state: String,
    pub ppid: Option<i32>,
    pub pgrp: Option<i32>,
}

impl Proc {
    pub fn zombie(&self) -> bool {
        self.state == "Z"
    }
}

/// Every process in /proc that could be read.
pub fn processes() -> Vec<Proc> {
    let mut procs = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        // Fields after the parenthesised comm: state, ppid, pgrp, ...
        let rest: Vec<&str> = stat[close + 2..].split(' ').collect();
        procs.push(Proc {
            pid,
            comm: stat[open + 1..close].to_string(),
            state: rest[0].to_string(),
            ppid: rest[1].parse().ok(),
            pgrp: rest[2].parse().ok(),
        });
    }
    procs
}

/// The live (not zombie) processes of a process group.
pub fn running_in_group(pgid: i32) -> Vec<i32> {
    processes()
        .into_iter()
        .filter(|p| p.pgrp == Some(pgid) && !p.zombie())
        .map(|p| p.pid)
        .collect()
}

/// A descendant of `root` named `comm`, through each task's `children`.
pub fn descendant_named(root: i32, comm: &str) -> Option<i32> {
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|p| p.parse().ok()) {
                let name =
                    std::fs::read_to_string(format!("/proc/{child}/comm")).unwrap_or_default();
                if name.trim() == comm {
                    return Some(child);
                }
                todo.push(child);
            }
        }
    }
    None
}

/// Waits until `root` has a `sh` descendant whose group runs sh and two sleeps
/// (a workload like `sh -c 'sleep 60 & sleep 60 & wait'` under way): its group.
pub fn started_workload(root: i32, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(sh) = descendant_named(root, "sh") {
            if running_in_group(sh).len() == 3 {
                return sh;
            }
        }
        assert!(Instant::now() < deadline, "the workload never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After eperm is gone: every process of the workload's group is gone within a
/// second (under trace, the tracees die with their tracer: no TRACE filter is
/// left without one).
pub fn assert_gone_within_a_second(group: i32, mode: &str) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !running_in_group(group).is_empty() {
        assert!(
            Instant::now() < deadline,
            "{mode}: workload processes outlived eperm by a second: {:?}",
            running_in_group(group)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Spawns `eperm` (running a workload of sh and two sleeps), waits up to `limit`
/// for the workload to start, kills eperm with SIGKILL and fails unless every
/// process of the workload's group is gone within a second after.
pub fn assert_killing_eperm_ends_the_workload(eperm: &mut Command, limit: Duration, what: &str) {
    let mut child = eperm
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let group = started_workload(child.id() as i32, limit);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_gone_within_a_second(group, what);
}

/// A tmux session, killed when dropped: the real terminal the TUI tests drive.
pub struct Tmux {
    name: String,
}

impl Tmux {
    /// Runs `command` (a shell line) in a new 120×40 session in `dir`.
    pub fn start(dir: &Path, command: &str) -> Tmux {
        let name = format!("eperm-test-{}-{}", std::process::id(), rand_suffix());
        let start = || {
            Command::new("tmux")
                .args([
                    "new-session",
                    "-d",
                    "-s",
                    &name,
                    "-x",
                    "120",
                    "-y",
                    "40",
                    "-c",
                ])
                .arg(dir)
                .arg(command)
                .env_remove("NO_COLOR")
                .output()
                .expect("tmux is installed (tests/run.sh installs it)")
        };
        // Tests start sessions in parallel, and when no tmux server runs yet
        // each new-session starts one: all but one of those servers lose the
        // race for the socket and their session fails ("server exited
        // unexpectedly", seen on fresh clones). The next try finds the server.
        let exists = || {
            Command::new("tmux")
                .args(["has-session", "-t", &name])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        };
        let mut out = start();
        for _ in 0..5 {
            if out.status.success() || exists() {
                return Tmux { name };
            }
            std::thread::sleep(Duration::from_millis(200));
            out = start();
        }
        assert!(
            out.status.success() || exists(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmux { name }
    }

    fn capture(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", &self.name];
        if escapes {
            args.insert(1, "-e");
        }
        let out = Command::new("tmux")
            .args(args)
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen's text.
    pub fn screen(&self) -> String {
        self.capture(false)
    }

    /// The screen with its colour and attribute escapes.
    pub fn screen_with_escapes(&self) -> String {
        self.capture(true)
    }

    pub fn keys(&self, keys: &str) {
        let status = Command::new("tmux")
            .args(["send-keys", "-t", &self.name, keys])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Polls the screen until it shows `text`, failing with the screen after `secs`
    /// (30 at least: a machine loaded by other work — the suite beside a release
    /// build — can take many seconds, and a longer wait costs nothing when the text
    /// comes).
    pub fn wait_for(&self, text: &str, secs: u64) -> String {
        let secs = secs.max(30);
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("{text:?} did not appear within {secs}s; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls the screen until `text` is gone from it.
    pub fn wait_gone(&self, text: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs.max(30));
        while self.screen().contains(text) {
            assert!(Instant::now() < deadline, "{text:?} stayed on screen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `keys`, one after the other, each waiting for what it should bring up
    /// within its seconds; the last screen.
    pub fn steps(&self, steps: &[(&str, &str, u64)]) -> String {
        let mut screen = String::new();
        for &(keys, text, secs) in steps {
            self.keys(keys);
            screen = self.wait_for(text, secs);
        }
        screen
    }

    /// A tmux format (`#{alternate_on}` …) for the pane.
    pub fn display(&self, format: &str) -> String {
        let out = Command::new("tmux")
            .args(["display-message", "-p", "-t", &self.name, format])
            .output()
            .expect("tmux display-message");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        % 1_000_000_007
}

/// Profiles the container tests (docker, oci, podman) run their workloads under.
pub mod container_profiles {
    /// Denies everything: a container cannot even start under it.
    pub const DENY_ALL: &str = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": []
}
"#;

    /// Allows everything but a few calls the workloads make (mkdir, listing a directory).
    pub const DENY_SOME: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    {"names": ["mkdir", "mkdirat", "getdents64"], "action": "SCMP_ACT_ERRNO"}
  ]
}
"#;

    /// Denies only mkdir: the runtime's own start-up is untouched.
    pub const DENY_MKDIR: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
}
"#;
}

/// A shell line for the pane: eperm with `args`, then its exit status, then a
/// pause that keeps the pane (and the status) on screen. The status goes on a
/// line of its own in a sane terminal: an eperm killed by SIGKILL leaves it raw,
/// where a newline does not return the cursor and the marker would wrap.
pub fn in_pane(args: &str) -> String {
    format!(
        "{} {args}; s=$?; stty sane; printf '\r\nEPERM-EXIT=%s\n' $s; sleep 60",
        env!("CARGO_BIN_EXE_eperm")
    )
}

/// `eperm replay` of the saved log `log` (a fixture) in a tmux pane in `dir`, under
/// a copy there of the fixture `logs/deny-all.json`: the pane, and the copy's path
/// (allowances are saved to it).
pub fn replay_in_pane(dir: &Path, log: &str) -> (Tmux, PathBuf) {
    let profile = dir.join("p.json");
    std::fs::copy(fixture("logs/deny-all.json"), &profile).unwrap();
    let args = format!("replay -p {} {}", profile.display(), fixture(log).display());
    (Tmux::start(dir, &in_pane(&args)), profile)
}

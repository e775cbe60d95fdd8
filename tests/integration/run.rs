//! Starting workloads: the filter is installed in the child, failures are reported,
//! and nothing the workload started survives eperm.

use eperm::arch::Arch;
use eperm::compile::Mode;
use eperm::profile::{load_str, Target, DEFAULT_PROFILE};
use eperm::run::child::{Prepared, SpawnError};
use eperm::run::contain::Containment;
use eperm::run::Judge;
use std::ffi::OsString;
use std::os::fd::AsRawFd;

/// Docker's default profile compiled for `mode`, as for a container on this host.
fn default_judge(mode: Mode) -> Judge {
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    Judge::new(profile, &Target::docker_on_host(), mode).unwrap()
}

fn default_filter(mode: Mode) -> Vec<eperm::compile::SockFilter> {
    default_judge(mode).compiled.program
}

fn argv(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn wait(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    status
}

#[test]
fn the_workload_runs_under_the_filter_and_its_exit_status_is_kept() {
    let prepared = Prepared::new(
        &argv(&["sh", "-c", "exit 7"]),
        default_filter(Mode::Enforce),
    )
    .unwrap();
    let mut child = prepared.spawn().unwrap();
    child
        .wait_started("sh", |_| panic!("no listener in enforce mode"))
        .unwrap();
    let status = wait(child.pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), 7);
}

#[test]
fn the_filter_is_really_installed() {
    // Docker's default denies unshare(CLONE_NEWUSER) for a process without CAP_SYS_ADMIN in
    // enforce mode: the unshare tool reports "Operation not permitted" and fails.
    let Some(_) = eperm::run::child::find_program("unshare".as_ref()) else {
        panic!("util-linux's unshare is needed for this test");
    };
    let prepared = Prepared::new(
        &argv(&["unshare", "--user", "true"]),
        default_filter(Mode::Enforce),
    )
    .unwrap();
    let mut child = prepared.spawn().unwrap();
    child.wait_started("unshare", |_| {}).unwrap();
    let status = wait(child.pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 0,
        "unshare succeeded under the default profile"
    );
}

#[test]
fn a_missing_command_is_reported_before_anything_runs() {
    match Prepared::new(&argv(&["no-such-command-eperm"]), Vec::new()) {
        Err(SpawnError::NotFound(name)) => assert_eq!(name, "no-such-command-eperm"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a missing command was accepted"),
    }
}

#[test]
fn a_filter_the_kernel_refuses_is_reported_with_its_stage() {
    // An empty program is invalid: seccomp() fails with EINVAL in the child.
    let prepared = Prepared::new(&argv(&["true"]), Vec::new()).unwrap();
    let mut child = prepared.spawn().unwrap();
    let err = child.wait_started("true", |_| {}).unwrap_err().to_string();
    assert_has(&err, "seccomp(SECCOMP_SET_MODE_FILTER) failed");
    wait(child.pid);
}

#[test]
fn nothing_the_workload_started_survives_containment() {
    let containment = Containment::start().unwrap();
    let prepared = Prepared::new(
        &argv(&["sh", "-c", "sleep 60 & sleep 60 & echo $! ; wait"]),
        default_filter(Mode::Enforce),
    )
    .unwrap()
    .cgroup(containment.cgroup_procs());
    let mut child = prepared.spawn().unwrap();
    child.wait_started("sh", |_| {}).unwrap();
    containment.watch_group(child.pid).unwrap();
    // Until sh has started both sleeps (a condition, not a guess at how long).
    let deadline = Instant::now() + Duration::from_secs(30);
    while running_in_group(child.pid).len() < 3 {
        assert!(
            Instant::now() < deadline,
            "sh and two sleeps never ran: {:?}",
            running_in_group(child.pid)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(running_in_group(child.pid).len(), 3, "sh and two sleeps");
    containment.finish();
    wait(child.pid);
    // Killed processes may linger as zombies until pid 1 reaps them; none may run.
    assert_eq!(
        running_in_group(child.pid),
        Vec::<i32>::new(),
        "workload processes survived"
    );
}

#[test]
fn the_workload_is_born_in_its_cgroup_and_a_daemon_that_left_its_group_dies_with_it() {
    as_root();
    let containment = Containment::start().unwrap();
    let Some(dir) = containment.cgroup_dir() else {
        panic!("no cgroup2 mount to make the workload's cgroup in");
    };
    let dir_path = std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).unwrap();
    // `setsid` puts the daemon in a session and group of its own: only the cgroup holds it.
    let prepared = Prepared::new(
        &argv(&["sh", "-c", "setsid sleep 60 & exec sleep 60"]),
        default_filter(Mode::Enforce),
    )
    .unwrap()
    .cgroup(containment.cgroup_procs())
    .cgroup_dir(Some(dir));
    let mut child = prepared.spawn().unwrap();
    child.wait_started("sh", |_| {}).unwrap();
    containment.watch_group(child.pid).unwrap();
    let procs = dir_path.join("cgroup.procs");
    let members = || -> Vec<i32> {
        let text = std::fs::read_to_string(&procs).unwrap_or_default();
        text.lines().filter_map(|l| l.parse().ok()).collect()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while members().len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let inside = members();
    assert!(
        inside.contains(&child.pid),
        "{inside:?} lacks {}",
        child.pid
    );
    let daemon = *inside
        .iter()
        .find(|&&p| p != child.pid)
        .expect("the daemon");
    containment.finish();
    wait(child.pid);
    let deadline = Instant::now() + Duration::from_secs(2);
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
    };
    while alive(daemon) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(daemon), "the daemon {daemon} outlived containment");
}

#[test]
fn the_exec_prologue_notifies_execs_and_changes_nothing_else() {
    use eperm::compile::bpf::{self, SeccompData};
    let compiled = default_judge(Mode::Notify).compiled;
    let with = eperm::run::notify::notify_execs(&compiled).expect("a prologue");
    bpf::validate(&with).unwrap();
    let mut execs = 0;
    let mut cached_execs = 0;
    for &arch in &compiled.arches {
        for &(name, nr) in arch.syscalls() {
            for args in [[0; 6], [u64::MAX, 1, 2, 3, 4, 5]] {
                let data = SeccompData::call(arch, nr, args);
                let (before, _) = bpf::run(&compiled.program, &data);
                let (after, _) = bpf::run(&with, &data);
                if name == "execve" || name == "execveat" {
                    assert_eq!(after, bpf::RET_USER_NOTIF, "{arch} {name}");
                    execs += 1;
                    let r = bpf::run_traced(&compiled.program, &data);
                    let cached = r.action == bpf::RET_ALLOW && !r.read_args;
                    if cached && arch != Arch::X32 && args == [0; 6] {
                        cached_execs += 1;
                    }
                } else {
                    assert_eq!(after, before, "{arch} {name} {args:?}");
                }
            }
        }
    }
    assert_eq!(
        execs,
        2 * 2 * compiled.arches.len(),
        "execve and execveat everywhere"
    );
    // Calls the kernel's action cache let through for free still are, execs aside.
    let stats = |p: &[eperm::compile::SockFilter]| {
        eperm::compile::stats::stats(p, &compiled.arches).cacheable
    };
    assert!(cached_execs > 0);
    assert_eq!(stats(&with) + cached_execs, stats(&compiled.program));
    // Another arch's call goes on to the profile's program (which kills it).
    let foreign = SeccompData {
        nr: 59,
        arch: 0xdead_beef,
        ip: 0,
        args: [0; 6],
    };
    assert_eq!(
        bpf::run(&with, &foreign).0,
        bpf::run(&compiled.program, &foreign).0
    );
}

// ---------------------------------------------------------------------------
// `eperm run` and `eperm record`, end to end, through the binary.

use crate::util::{
    assert_has, assert_killing_eperm_ends_the_workload, assert_success, cc, eperm, eperm_within,
    events, require_root, run_under, running_in_group, stderr, with_command,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// As root: the tests below install filters, join cgroups and switch users.
fn as_root() {
    require_root("it installs filters, joins cgroups and switches users");
}

fn count(events: &[serde_json::Value], syscall: &str) -> usize {
    events.iter().filter(|e| e["syscall"] == syscall).count()
}

/// `uselib` is denied by the default profile whatever the capabilities. The helper
/// calls it N times in each of T threads and each of P forked children.
const HAMMER: &str = r#"
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static int n;
static void burst(void) { for (int i = 0; i < n; i++) syscall(SYS_uselib, 0); }
static void *thread(void *arg) { (void)arg; burst(); return 0; }
int main(int argc, char **argv) {
    n = atoi(argv[1]);
    int t = atoi(argv[2]), p = atoi(argv[3]);
    pthread_t *ts = calloc(t ? t : 1, sizeof *ts);
    for (int i = 0; i < p; i++) if (fork() == 0) { burst(); _exit(0); }
    for (int i = 0; i < t; i++) pthread_create(&ts[i], 0, thread, 0);
    for (int i = 0; i < t; i++) pthread_join(ts[i], 0);
    while (wait(0) > 0) {}
    return 0;
}
"#;

#[test]
fn the_run_ends_with_its_first_process_even_while_leftovers_still_make_denied_calls() {
    // The supervisor waits in RECV; when the first process is gone it must be woken
    // (no notification may be coming, or a stream of them) and stop answering, and
    // the leftovers die with the run.
    as_root();
    let exe = cc("hammer", HAMMER);
    let quiet = "sleep 60 & sleep 0.3; exit 3".to_string();
    let busy = format!(
        "sleep 60 & (while :; do {} 20 0 0; done) & sleep 0.3; exit 3",
        exe.display()
    );
    for (mode, script) in [("notify", &quiet), ("notify", &busy), ("trace", &busy)] {
        let started = Instant::now();
        let out = eperm_within(
            &["run", "--no-tui", "--mode", mode, "--", "sh", "-c", script],
            Duration::from_secs(55),
        );
        assert_eq!(out.status.code(), Some(3), "{mode}: {}", stderr(&out));
        // Waiting for a leftover would take its 60 s sleep (or for ever): anything
        // well below that is the run ending with its first process, on a machine
        // however loaded.
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "{mode}: took {:?}",
            started.elapsed()
        );
    }
}

/// Runs the hammer helper (`n` calls in each of `t` threads and `p` children) as
/// `eperm SUB --events FILE OPTIONS -- hammer N T P` within `limit`, expecting
/// success: its output and the events.
fn hammer(
    sub: &[&str],
    options: &[&str],
    [n, t, p]: [usize; 3],
    limit: Duration,
) -> (Output, Vec<serde_json::Value>) {
    as_root();
    let dir = tempfile::tempdir().unwrap();
    let exe = cc("hammer", HAMMER);
    let file = dir.path().join("events.jsonl");
    let mut head = sub.to_vec();
    head.extend(["--events", file.to_str().unwrap()]);
    head.extend_from_slice(options);
    let counts = [n.to_string(), t.to_string(), p.to_string()];
    let mut cmd = vec![exe.to_str().unwrap()];
    cmd.extend(counts.iter().map(String::as_str));
    let out = eperm_within(&with_command(&head, &cmd), limit);
    assert_success(&out);
    let events = events(&file);
    (out, events)
}

#[test]
fn every_denied_call_from_threads_and_children_is_reported_exactly_once() {
    let (n, t, p) = (50, 4, 3);
    let (out, events) = hammer(
        &["run", "--no-tui"],
        &[],
        [n, t, p],
        Duration::from_secs(30),
    );
    assert_eq!(count(&events, "uselib"), n * (t + p));
    let first = events.iter().find(|e| e["syscall"] == "uselib").unwrap();
    assert_eq!(first["source"], "notify");
    assert_eq!(first["action"], "SCMP_ACT_ERRNO");
    assert_eq!(first["rule"], "defaultAction");
    assert_eq!(first["decision"], "allowed");
    assert_eq!(first["bootstrap"], false);
    assert_eq!(first["comm"], "hammer");
    let summary = stderr(&out);
    assert_has(&summary, "uselib");
    assert!(summary.contains(&format!("{}×", n * (t + p))), "{summary}");
    assert_has(&summary, "eperm default > profile.json");
    assert_has(&summary, "eperm edit profile.json --allow uselib");
}

#[test]
fn two_hundred_threads_and_three_hundred_processes_neither_hang_nor_lose_events() {
    let (_, events) = hammer(&[], &["--no-tui"], [2, 200, 300], Duration::from_secs(60));
    assert_eq!(count(&events, "uselib"), 2 * 500);
}

#[test]
fn enforce_reproduces_the_real_failure_and_permissive_lets_it_run() {
    as_root();
    // As nobody, the workload has no CAP_SYS_ADMIN: the default profile denies unshare.
    let enforced = eperm_within(
        &[
            "run",
            "--no-tui",
            "--enforce",
            "--user",
            "nobody",
            "--",
            "unshare",
            "--user",
            "true",
        ],
        Duration::from_secs(20),
    );
    assert_has(&stderr(&enforced), "Operation not permitted");
    assert_eq!(enforced.status.code(), Some(1), "unshare's own status");
    let permissive = eperm_within(
        &[
            "run", "--no-tui", "--user", "nobody", "--", "unshare", "--user", "true",
        ],
        Duration::from_secs(20),
    );
    assert_success(&permissive);
    assert!(
        stderr(&permissive).contains("unshare"),
        "the summary names it"
    );
}

/// `dir`/no-mkdir.json: a profile that allows everything but mkdir and mkdirat
/// (ERRNO, the default EPERM).
fn no_mkdir_profile(dir: &Path) -> PathBuf {
    let profile = dir.join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    profile
}

#[test]
fn enforce_fails_mkdir_under_a_profile_that_denies_it() {
    as_root();
    let dir = tempfile::tempdir().unwrap();
    let profile = no_mkdir_profile(dir.path());
    let target = dir.path().join("made");
    let args = |enforce: bool| {
        let mut a = vec!["run", "--no-tui", "-p", profile.to_str().unwrap()];
        if enforce {
            a.push("--enforce");
        }
        a.extend(["--", "mkdir", target.to_str().unwrap()]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let out = eperm().args(args(true)).output().unwrap();
    assert_has(&stderr(&out), "Operation not permitted");
    assert_ne!(out.status.code(), Some(0));
    assert!(!target.exists());
    let summary = stderr(&out);
    assert!(
        summary.contains(&format!("eperm edit {} --allow mkdir", profile.display())),
        "{summary}"
    );
    let out = eperm().args(args(false)).output().unwrap();
    assert_success(&out);
    assert!(target.is_dir());
}

#[test]
fn exit_statuses_pass_through_like_a_shell() {
    as_root();
    let run = |cmd: &[&str]| {
        let mut args = vec!["run", "--no-tui", "--"];
        args.extend_from_slice(cmd);
        eperm_within(&args, Duration::from_secs(20))
    };
    assert_eq!(run(&["sh", "-c", "exit 7"]).status.code(), Some(7));
    assert_eq!(
        run(&["sh", "-c", "kill -9 $$"]).status.code(),
        Some(128 + 9)
    );
    assert_success(&run(&["true"]));
    let missing = run(&["no-such-command-eperm"]);
    assert_eq!(missing.status.code(), Some(127));
    assert!(stderr(&missing).contains("no-such-command-eperm: command not found"));
    // Bare `eperm -- CMD` is `eperm run -- CMD`.
    let bare = eperm_within(
        &["--no-tui", "--", "sh", "-c", "exit 5"],
        Duration::from_secs(20),
    );
    assert_eq!(bare.status.code(), Some(5), "{}", stderr(&bare));
}

#[test]
fn a_bad_profile_stops_eperm_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("bad.json");
    std::fs::write(&profile, r#"{"defaultAction": "SCMP_ACT_NOPE"}"#).unwrap();
    let marker = dir.path().join("ran");
    let out = eperm_within(
        &run_under(&[], &profile, &["touch", marker.to_str().unwrap()]),
        Duration::from_secs(20),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_has(&stderr(&out), "bad.json");
    assert!(!marker.exists(), "the workload ran");
}

#[test]
fn killing_eperm_takes_the_whole_workload_with_it() {
    as_root();
    assert_killing_eperm_ends_the_workload(
        eperm().args(["run", "--no-tui", "--", "sh", "-c", "sleep 60 & sleep 60"]),
        Duration::from_secs(10),
        "run",
    );
}

fn record_and_verify(cmd: &[&str]) {
    as_root();
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("recorded.json");
    let out_file = out_file.to_str().unwrap();
    let head = ["record", "--empty", "-o", out_file, "--verify"];
    let out = eperm_within(&with_command(&head, cmd), Duration::from_secs(60));
    assert_success(&out);
    assert_has(&stderr(&out), "verified");
    let text = std::fs::read_to_string(out_file).unwrap();
    assert_has(&text, "recorded by eperm from: ");
    assert!(
        text.contains("\"execve\""),
        "the exec must be allowed: {text}"
    );
    // The recorded profile really is enforced: the program runs and prints as before.
    let enforce = ["run", "--no-tui", "--enforce", "-p", out_file];
    let enforced = eperm_within(&with_command(&enforce, cmd), Duration::from_secs(30));
    let plain = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    assert_success(&enforced);
    assert_eq!(enforced.stdout, plain.stdout);
    assert_has(&stderr(&enforced), "would have denied nothing");
    // And the profile is not simply "allow everything": a call it never saw fails.
    let other = eperm_within(
        &with_command(&enforce, &["unshare", "--user", "true"]),
        Duration::from_secs(30),
    );
    assert_ne!(other.status.code(), Some(0), "{}", stderr(&other));
    let summary = stderr(&other);
    let allow_line = summary
        .lines()
        .find(|l| l.contains("--allow"))
        .unwrap_or_default();
    assert!(
        allow_line.contains("unshare"),
        "unshare(2) was never recorded, so it must be denied: {summary}"
    );
}

#[test]
fn record_empty_verify_ls() {
    record_and_verify(&["ls", "/"]);
}

#[test]
fn record_empty_verify_a_shell_pipeline() {
    record_and_verify(&["sh", "-c", "echo hi | cat"]);
}

#[test]
fn record_empty_verify_python() {
    record_and_verify(&["python3", "-c", "print(1)"]);
}

#[test]
fn events_follow_a_process_across_exec() {
    as_root();
    let dir = tempfile::tempdir().unwrap();
    let after = cc("after", HAMMER);
    let before = cc(
        "before",
        r#"
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    (void)argc;
    syscall(SYS_uselib, 0);
    execl(argv[1], "after", "1", "0", "1", (char *)0);
    return 9;
}
"#,
    );
    let file = dir.path().join("events.jsonl");
    let out = eperm_within(
        &["run", "--no-tui", "--events", file.to_str().unwrap(), "--"]
            .into_iter()
            .chain([before.to_str().unwrap(), after.to_str().unwrap()])
            .collect::<Vec<_>>(),
        Duration::from_secs(20),
    );
    assert_success(&out);
    let events = events(&file);
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|e| (e["comm"].as_str().unwrap(), e["exe"].as_str().unwrap()))
        .collect();
    let before_exe = before.to_str().unwrap();
    let after_exe = after.to_str().unwrap();
    assert_eq!(seen[0], ("before", before_exe));
    // The exec'd program's forked child (T=0 threads, P=1 child).
    assert_eq!(&seen[1..], &[("after", after_exe)]);
}

#[test]
fn record_empty_verify_git() {
    // git forks helpers, reads config from several places and writes a repository.
    let repo = tempfile::tempdir().unwrap();
    let script = format!(
        "cd {} && git init -q && git status --short",
        repo.path().display()
    );
    record_and_verify(&["sh", "-c", &script]);
}

/// A workload that asks for a seccomp listener of its own, and says how it went.
pub(super) const OWN_LISTENER: &str = r#"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
int main(void) {
    struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
    struct sock_fprog p = { 1, f };
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p);
    if (r < 0) { printf("seccomp: %s\n", strerror(errno)); return 1; }
    return 0;
}
"#;

/// Issue 33: in notify mode the workload's own listener fails with EBUSY
/// (eperm holds the one a filter chain may have), and under `--mode trace`
/// `strace` cannot trace (eperm is the tracer). Neither is the profile's doing,
/// and the summary says whose it is and how to avoid it, never "denied nothing".
#[test]
fn calls_that_fail_because_of_eperm_itself_are_said_to_be_its_doing() {
    as_root();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.json");
    let exe = cc("own-listener", OWN_LISTENER);
    let out = eperm()
        .args([
            "run",
            "--no-tui",
            "--events",
            events.to_str().unwrap(),
            "--",
        ])
        .arg(&exe)
        .output()
        .unwrap();
    let summary = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "it fails under eperm: {summary}"
    );
    assert!(!summary.contains("denied nothing"), "{summary}");
    assert_has(
        &summary,
        "fails with EBUSY because eperm holds the seccomp listener",
    );
    assert_has(&summary, "to avoid it, run with --mode trace");
    let seen = crate::util::events(&events);
    assert!(
        seen.iter()
            .any(|e| e["caused_by_eperm"] == "listener" && e["syscall"] == "seccomp"),
        "{seen:?}"
    );
    // The same workload under trace mode: it works, and nothing is said.
    let out = eperm()
        .args(["run", "--no-tui", "--mode", "trace", "--"])
        .arg(&exe)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("denied nothing"), "{}", stderr(&out));

    if std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped the strace half: no strace here");
        return;
    }
    let out = eperm()
        .args([
            "run",
            "--no-tui",
            "--mode",
            "trace",
            "--",
            "strace",
            "-o",
            "/dev/null",
            "true",
        ])
        .output()
        .unwrap();
    let summary = stderr(&out);
    assert!(!summary.contains("denied nothing"), "{summary}");
    assert_has(
        &summary,
        "fails with EPERM because eperm is the workload's tracer",
    );
    assert_has(&summary, "to avoid it, run with --mode notify");
}

/// Issue 33: SIGTERM or SIGHUP to a headless run ends the workload and then
/// the run as any end does: the summary, the events and the report are
/// written, and eperm exits with the workload's status. (^C reaches the
/// workload's process group, which owns the terminal, as in a shell; eperm
/// ignores SIGINT meanwhile and ends the same way once the workload has.)
#[test]
fn a_signal_to_a_headless_run_writes_what_a_normal_end_writes() {
    as_root();
    for signal in [libc::SIGTERM, libc::SIGHUP] {
        let dir = tempfile::tempdir().unwrap();
        let profile = no_mkdir_profile(dir.path());
        let (report, events_file) = (dir.path().join("r.md"), dir.path().join("e.json"));
        let made = dir.path().join("made");
        let script = format!("mkdir {}; exec sleep 60", made.display());
        let child = eperm()
            .args(["run", "--no-tui", "-p", profile.to_str().unwrap()])
            .args(["--report", report.to_str().unwrap()])
            .args([
                "--events",
                events_file.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                &script,
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !made.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
        // SAFETY: a plain kill of the child this test started.
        assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
        let out = child.wait_with_output().unwrap();
        let summary = stderr(&out);
        assert_eq!(out.status.code(), Some(128 + signal), "{summary}");
        assert!(summary.contains("would deny 1 call"), "{signal}: {summary}");
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        assert!(text.contains("mkdir"), "{signal}: the report: {text:?}");
        assert_eq!(count(&events(&events_file), "mkdir"), 1, "{signal}");
    }
}

//! The events' JSON (`run --events`, `watch --json`, `replay --json`) is a contract
//! with scripts: these runs are compared byte for byte with committed files in
//! tests/fixtures/events, so a change to how an event is built or written shows
//! here as a diff. Only what differs from run to run is masked, each by its key:
//! `time_ms`, `pid`, `tid`, the helper's path (`exe`, the command line), the pid
//! the summary names and the report's temporary path.
//!
//! `EPERM_BLESS=1` writes the files instead of comparing (review the diff).

use crate::util::{assert_has, assert_success, cc, eperm, fixture, output_within, stdout};
use std::time::Duration;

/// The files the runs are compared with.
const DIR: &str = "events";

/// Compares `got` with the fixture `name`, or writes it under `EPERM_BLESS=1`.
fn golden(name: &str, got: &str) {
    let path = fixture(&format!("{DIR}/{name}"));
    if std::env::var_os("EPERM_BLESS").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (EPERM_BLESS=1 writes it)", path.display()));
    if got != want {
        let at = got
            .lines()
            .zip(want.lines())
            .position(|(g, w)| g != w)
            .unwrap_or(got.lines().count().min(want.lines().count()));
        panic!(
            "{} differs at line {}:\n  got:  {}\n  want: {}\n--- got in full:\n{got}",
            path.display(),
            at + 1,
            got.lines().nth(at).unwrap_or("(end)"),
            want.lines().nth(at).unwrap_or("(end)"),
        );
    }
}

/// `"key":N` with the number replaced by `key`'s name in capitals: the one masking
/// of a JSON line, by its exact key.
fn mask_number(line: &str, key: &str) -> String {
    let pattern = format!("\"{key}\":");
    let Some(at) = line.find(&pattern) else {
        panic!("no {key} in {line}");
    };
    let start = at + pattern.len();
    let digits = line[start..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(line.len() - start);
    assert!(digits > 0, "{key} is not a number in {line}");
    format!(
        "{}{}{}",
        &line[..start],
        key.to_uppercase(),
        &line[start + digits..]
    )
}

/// The numbers of `"key":N` in `line`.
fn number(line: &str, key: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {line}"))
}

/// Reads and parses the saved log records (every kind of action, an unknown arch,
/// an unknown action, the runtime's start-up) without a profile, and with one in
/// OCI config.json form (rules at `linux.seccomp.…`).
#[test]
fn replayed_records_print_as_the_fixture_says() {
    let log = fixture(&format!("{DIR}/records.log"));
    let config = fixture(&format!("{DIR}/config.json"));
    let log = log.to_str().unwrap();
    let config = config.to_str().unwrap();
    for (args, name) in [
        (vec!["--json", log], "replay.jsonl"),
        (vec![log], "replay.txt"),
        (vec!["--json", "-p", config, log], "replay-judged.jsonl"),
        (vec!["-p", config, log], "replay-judged.txt"),
    ] {
        let out = eperm()
            .args(["replay", "--no-tui"])
            .args(&args)
            .output()
            .unwrap();
        assert_success(&out);
        golden(name, &stdout(&out));
    }
}

/// A program making one call of each kind the profile decides: ERRNO by a rule
/// (EPERM, ENOSYS, an errno without a name, one by an argument condition),
/// KILL_PROCESS, KILL, TRAP, LOG, and the default action (a named call, an unknown
/// number). Every argument is given, and the one pointer is at a fixed address, so
/// `args` are the same every run.
#[cfg(target_arch = "x86_64")]
const GOLDEN: &str = r#"
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char *path = mmap((void *)0x10000000, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (path == MAP_FAILED) return 2;
    strcpy(path, "/nonexistent-eperm-golden/x");
    syscall(SYS_mkdir, path, 0755, 0, 0, 0, 0);
    syscall(SYS_unshare, 0, 0, 0, 0, 0, 0);
    syscall(SYS_personality, 0xffffffffUL, 0, 0, 0, 0, 0);
    syscall(SYS_getpgid, 0x7fffffff, 0, 0, 0, 0, 0);
    syscall(SYS_getpriority, 0, 0, 0, 0, 0, 0);
    syscall(SYS_ioprio_get, 1, 0, 0, 0, 0, 0);
    syscall(SYS_getsid, 0, 0, 0, 0, 0, 0);
    syscall(SYS_setpgid, 4242, 0, 0, 0, 0, 0);
    syscall(SYS_setpgid, 0, 0, 0, 0, 0, 0);
    syscall(SYS_uselib, 0, 0, 0, 0, 0, 0);
    syscall(1000, 1, 2, 3, 4, 5, 6);
    return 0;
}
"#;

/// `run --no-tui --events` of the program above in `mode` under `profile` (a path
/// relative to the repository, as the summary repeats it): its events, its summary
/// and its triage report, masked.
#[cfg(target_arch = "x86_64")]
fn golden_run(mode: &str, profile: &str, name: &str) {
    crate::util::require_root("it installs filters");
    let helper = cc("golden", GOLDEN);
    let helper = helper.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let report = dir.path().join("report.md");
    let out = output_within(
        eperm()
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "run",
                "--no-tui",
                "--no-stacks",
                "--mode",
                mode,
                "-p",
                profile,
            ])
            .arg("--events")
            .arg(&events)
            .arg("--report")
            .arg(&report)
            .args(["--", helper]),
        Duration::from_secs(30),
    );
    assert_success(&out);
    let text = std::fs::read_to_string(&events).unwrap();
    let pid = number(text.lines().next().expect("events"), "pid");
    let mut masked = String::new();
    for line in text.lines() {
        // One single-threaded process made every call.
        assert_eq!((number(line, "pid"), number(line, "tid")), (pid, pid));
        let exe = format!("\"exe\":{}", serde_json::to_string(helper).unwrap());
        assert_eq!(line.matches(&exe).count(), 1, "{line}");
        let line = line.replace(&exe, "\"exe\":\"EXE\"");
        let line = mask_number(&line, "time_ms");
        let line = mask_number(&line, "pid");
        let line = mask_number(&line, "tid");
        masked += &line;
        masked += "\n";
    }
    golden(&format!("{name}.jsonl"), &masked);
    let first = format!("first: pid {pid} (");
    let summary = crate::util::stderr(&out);
    assert_has(&summary, &first);
    golden(
        &format!("{name}.summary.txt"),
        &summary
            .replace(&first, "first: pid PID (")
            .replace(report.to_str().unwrap(), "REPORT"),
    );
    let report = std::fs::read_to_string(&report).unwrap();
    golden(&format!("{name}.report.md"), &report.replace(helper, "EXE"));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn a_notify_run_writes_the_events_the_fixture_says() {
    golden_run("notify", "tests/fixtures/events/profile.json", "run-notify");
}

/// Through the tracer (its own cache of rule paths), under the profile in OCI
/// config.json form.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_traced_run_writes_the_events_the_fixture_says() {
    golden_run("trace", "tests/fixtures/events/config.json", "run-trace");
}

#[test]
fn masking_is_by_key_and_keeps_every_other_byte() {
    let line = r#"{"time_ms":12,"pid":7,"tid":7,"nr":12}"#;
    let line = mask_number(line, "time_ms");
    assert_eq!(line, r#"{"time_ms":TIME_MS,"pid":7,"tid":7,"nr":12}"#);
    assert_eq!(
        mask_number(&line, "tid"),
        r#"{"time_ms":TIME_MS,"pid":7,"tid":TID,"nr":12}"#
    );
}

/// As nobody, one process makes calls other layers refuse: sethostname (which
/// the default profile denies too), open("/etc/shadow"), kill(1, 0). The one
/// pointer is at a fixed address, so `args` are the same every run.
#[cfg(target_arch = "x86_64")]
const LAYERS: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    char *name = mmap((void *)0x10000000, 4096, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (name == MAP_FAILED) return 2;
    strcpy(name, "golden");
    syscall(SYS_sethostname, name, 6, 0, 0, 0, 0);
    open("/etc/shadow", O_RDONLY);
    kill(1, 0);
    return 0;
}
"#;

/// `run --no-tui --user nobody --events` of the program above: the profile's
/// event and the layer watcher's lines, and the summary, masked.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_run_refused_by_other_layers_writes_the_events_the_fixture_says() {
    crate::util::require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    // nobody must be able to run the helper.
    let helper = dir.path().join("layers");
    std::fs::copy(cc("layers", LAYERS), &helper).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let helper = helper.to_str().unwrap();
    let events = dir.path().join("events.jsonl");
    let out = output_within(
        eperm()
            .env_remove("LD_LIBRARY_PATH")
            // Stacks name libc's offsets, which differ between machines.
            .args([
                "run",
                "--no-tui",
                "--no-stacks",
                "--user",
                "nobody",
                "--events",
            ])
            .arg(&events)
            .args(["--", helper]),
        Duration::from_secs(30),
    );
    assert_success(&out);
    let text = std::fs::read_to_string(&events).unwrap();
    let pid = number(text.lines().next().expect("events"), "pid");
    let mut masked = String::new();
    for line in text.lines() {
        assert_eq!((number(line, "pid"), number(line, "tid")), (pid, pid));
        let exe = format!("\"exe\":{}", serde_json::to_string(helper).unwrap());
        let line = line.replace(&exe, "\"exe\":\"EXE\"");
        let line = mask_number(&line, "time_ms");
        let line = mask_number(&line, "pid");
        masked += &mask_number(&line, "tid");
        masked += "\n";
    }
    golden("run-layers.jsonl", &masked);
    let first = format!("first: pid {pid} (");
    golden(
        "run-layers.summary.txt",
        &crate::util::stderr(&out).replace(&first, "first: pid PID ("),
    );
}

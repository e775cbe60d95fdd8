//! What taking the caller's stack costs per intercepted call: `eperm run` of a
//! workload whose every call the profile would deny, with stacks (the default)
//! and with `--no-stacks`, in notify and trace modes, interleaved. The goal: the
//! run with stacks takes at most 1.5× the run without.
//!
//! The workload is built with `-O2 -g -fomit-frame-pointer`: every stack is
//! unwound from CFI and named from DWARF, the costly case.
//!
//! `cargo bench --bench stacks [-- CALLS RUNS]` (root: eperm installs filters)

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Calls getppid `argv[1]` times (the integration tests count its calls too).
const WORKLOAD_C: &str = include_str!("../tests/fixtures/getppids.c");

/// Everything allowed except getppid, which the profile denies.
const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{ "names": ["getppid"], "action": "SCMP_ACT_ERRNO" }]
}"#;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let calls: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("getppid.c");
    std::fs::write(&src, WORKLOAD_C).expect("write source");
    let workload = dir.path().join("getppid");
    let built = Command::new("cc")
        .args(["-O2", "-g", "-fomit-frame-pointer", "-o"])
        .arg(&workload)
        .arg(&src)
        .status()
        .expect("cc runs");
    assert!(built.success(), "cc failed");
    let profile = dir.path().join("profile.json");
    std::fs::write(&profile, PROFILE).expect("write profile");

    println!("{calls} would-be-denied getppid calls, median of {runs} runs:");
    for mode in ["notify", "trace"] {
        let mut with = Vec::new();
        let mut without = Vec::new();
        for _ in 0..runs {
            with.push(run(mode, &profile, &workload, calls, false));
            without.push(run(mode, &profile, &workload, calls, true));
        }
        let (with, without) = (median(with), median(without));
        let per = |d: Duration| d.as_secs_f64() * 1e6 / calls as f64;
        println!(
            "  {mode:<6}  --no-stacks {without:>9.3?} ({:.2} µs/call)  stacks {with:>9.3?} ({:.2} µs/call)  ratio {:.2} (goal <= 1.5)",
            per(without),
            per(with),
            with.as_secs_f64() / without.as_secs_f64()
        );
    }
}

/// One `eperm run --no-tui` of the workload; how long it took.
fn run(mode: &str, profile: &Path, workload: &Path, calls: u64, no_stacks: bool) -> Duration {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_eperm"));
    cmd.args(["run", "--no-tui", "--mode", mode, "-p"])
        .arg(profile)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if no_stacks {
        cmd.arg("--no-stacks");
    }
    cmd.arg("--").arg(workload).arg(calls.to_string());
    let t = Instant::now();
    let status = cmd.status().expect("eperm runs");
    let elapsed = t.elapsed();
    assert!(status.success(), "eperm run failed: {status}");
    elapsed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

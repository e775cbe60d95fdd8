//! Coverage mode's cost: a workload making CALLS allowed syscalls, run plainly,
//! under `eperm run` and under `eperm run --coverage` (every call a seccomp user
//! notification answered with CONTINUE), side by side; medians of RUNS runs.
//!
//! Then the same for `find /usr`, a real program (about 1 µs of its own per call).
//!
//! `cargo bench --bench coverage [-- CALLS RUNS]` (root: coverage joins a cgroup)

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WORKLOAD_C: &str = r#"
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
/* argv[1] calls of getppid, which the default profile allows unconditionally. */
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    return 0;
}
"#;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let calls: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let workload = build(dir.path());
    let profile = dir.path().join("default.json");
    std::fs::write(&profile, eperm::profile::DEFAULT_PROFILE).expect("write profile");
    let coverage_file = dir.path().join("default.coverage.json");
    let eperm = env!("CARGO_BIN_EXE_eperm");
    let n = calls.to_string();

    let (mut native, mut plain, mut covered) = (Vec::new(), Vec::new(), Vec::new());
    // Interleaved, so that all three see the same machine.
    for _ in 0..runs {
        native.push(time(Command::new(&workload).arg(&n)));
        plain.push(time(
            Command::new(eperm)
                .args(["run", "--no-tui", "-p"])
                .arg(&profile)
                .arg("--")
                .arg(&workload)
                .arg(&n),
        ));
        let _ = std::fs::remove_file(&coverage_file);
        covered.push(time(
            Command::new(eperm)
                .args(["run", "--coverage", "--no-tui", "-p"])
                .arg(&profile)
                .arg("--")
                .arg(&workload)
                .arg(&n),
        ));
        check(&coverage_file, calls);
    }
    let (native, plain, covered) = (median(native), median(plain), median(covered));
    println!("{calls} allowed getppid calls, median of {runs} runs:");
    println!("  native                 {native:>10.3?}");
    println!("  eperm run              {plain:>10.3?}");
    println!(
        "  eperm run --coverage   {covered:>10.3?}  (+{:.2} µs per call)",
        per_call(covered, native, calls)
    );
    println!(
        "  coverage / native = {:.2}x; coverage / eperm run = {:.2}x (goal <= 3)",
        covered.as_secs_f64() / native.as_secs_f64(),
        covered.as_secs_f64() / plain.as_secs_f64()
    );

    // A real program: `find /usr` (warm cache after the first run).
    let (mut native, mut covered) = (Vec::new(), Vec::new());
    let mut calls = 0;
    let _ = Command::new("find").arg("/usr").output();
    for _ in 0..runs {
        native.push(time(Command::new("find").arg("/usr")));
        let _ = std::fs::remove_file(&coverage_file);
        covered.push(time(
            Command::new(eperm)
                .args(["run", "--coverage", "--no-tui", "-p"])
                .arg(&profile)
                .args(["--", "find", "/usr"]),
        ));
        calls = total(&coverage_file);
    }
    let (native, covered) = (median(native), median(covered));
    println!("find /usr ({calls} syscalls), median of {runs} runs:");
    println!("  native                 {native:>10.3?}");
    println!(
        "  eperm run --coverage   {covered:>10.3?}  (+{:.2} µs per call)",
        per_call(covered, native, calls)
    );
    println!(
        "  coverage / native = {:.2}x (goal <= 3)",
        covered.as_secs_f64() / native.as_secs_f64()
    );
}

fn per_call(d: Duration, base: Duration, calls: u64) -> f64 {
    (d.as_secs_f64() - base.as_secs_f64()) * 1e6 / calls.max(1) as f64
}

fn load(coverage_file: &Path) -> eperm::run::coverage::Coverage {
    let text = std::fs::read_to_string(coverage_file).expect("coverage written");
    serde_json::from_str(&text).expect("coverage parses")
}

/// Every call coverage counted.
fn total(coverage_file: &Path) -> u64 {
    load(coverage_file).tallies.iter().map(|t| t.count).sum()
}

fn time(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().expect("runs");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// Coverage counted every call: exact counts are the point.
fn check(coverage_file: &Path, calls: u64) {
    let getppid: u64 = load(coverage_file)
        .tallies
        .iter()
        .filter(|t| t.syscall == "getppid")
        .map(|t| t.count)
        .sum();
    assert_eq!(getppid, calls, "coverage lost calls");
}

fn build(dir: &Path) -> PathBuf {
    let src = dir.join("getppid.c");
    std::fs::write(&src, WORKLOAD_C).expect("write source");
    let bin = dir.join("getppid");
    let ok = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc runs")
        .success();
    assert!(ok, "cc failed");
    bin
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

//! Coverage's cost, side by side in one run (medians of RUNS interleaved runs):
//! a workload making CALLS getppid and CALLS stat calls, then `find /usr`, each
//!
//! - natively;
//! - natively under a do-nothing eBPF program on `sys_enter`, as `tp_btf`, raw
//!   tracepoint and tracepoint (perf event): the floor of in-kernel counting,
//!   and which hook is cheaper;
//! - under `eperm run` (notify mode, no coverage);
//! - under `eperm run --coverage` counting in the kernel (eBPF);
//! - under `eperm run --coverage` counting by notification (`EPERM_COVERAGE=notify`).
//!
//! Times are CPU time (user + system of eperm and the workload, from
//! `RUSAGE_CHILDREN`), steadier than wall-clock time on a shared machine; ratios
//! are to native. The loop's getppid count is checked to be exact.
//!
//! `cargo bench --bench coverage [-- CALLS RUNS]` (root: BPF, cgroups, tracefs)

mod common;

use eperm::bpf::{counter, Hook};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const WORKLOAD_C: &str = r#"
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
/* argv[1] calls of getppid, then as many of stat: both allowed unconditionally
   by the default profile. */
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 0;
    struct stat st;
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    for (long i = 0; i < n; i++)
        stat("/", &st);
    return 0;
}
"#;

/// One way of running the workload.
#[derive(Clone, Copy, PartialEq)]
enum Way {
    Native,
    Empty(Hook),
    Run,
    KernelCoverage,
    NotifyCoverage,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Native => "native",
            Way::Empty(Hook::Btf) => "empty eBPF, tp_btf",
            Way::Empty(Hook::Raw) => "empty eBPF, raw tracepoint",
            Way::Empty(Hook::Tracepoint) => "empty eBPF, tracepoint",
            Way::Run => "eperm run (notify)",
            Way::KernelCoverage => "eperm run --coverage (eBPF)",
            Way::NotifyCoverage => "eperm run --coverage (notify)",
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let calls: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().expect("tempdir");
    let workload = common::compile_c(dir.path(), "loop", WORKLOAD_C);
    let profile = dir.path().join("default.json");
    std::fs::write(&profile, eperm::profile::DEFAULT_PROFILE).expect("write profile");
    let coverage_file = dir.path().join("default.coverage.json");
    let tracefs = eperm::bpf::sys::tracepoint_id("raw_syscalls", "sys_enter").is_ok()
        || Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status()
            .is_ok_and(|s| s.success());
    let mut ways = vec![Way::Native, Way::Empty(Hook::Btf), Way::Empty(Hook::Raw)];
    if tracefs {
        ways.push(Way::Empty(Hook::Tracepoint));
    }
    ways.extend([Way::Run, Way::KernelCoverage, Way::NotifyCoverage]);

    let n = calls.to_string();
    let loop_cmd = [workload.to_str().expect("utf-8 path"), &n];
    let title = format!("{calls} getppid + {calls} stat");
    bench(
        &title,
        &loop_cmd,
        &ways,
        runs,
        &profile,
        &coverage_file,
        Some(calls),
    );
    let _ = Command::new("find").arg("/usr").output(); // a warm cache
    bench(
        "find /usr",
        &["find", "/usr"],
        &ways,
        runs,
        &profile,
        &coverage_file,
        None,
    );
}

/// Times `cmd` every way, interleaved so that all see the same machine; prints
/// medians and ratios to native. `getppid`: the exact count coverage must find.
fn bench(
    title: &str,
    cmd: &[&str],
    ways: &[Way],
    runs: usize,
    profile: &Path,
    coverage_file: &Path,
    getppid: Option<u64>,
) {
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); ways.len()];
    let mut calls = 0;
    for _ in 0..runs {
        for (i, &way) in ways.iter().enumerate() {
            let _ = std::fs::remove_file(coverage_file);
            times[i].push(time_way(way, cmd, profile));
            if matches!(way, Way::KernelCoverage | Way::NotifyCoverage) {
                calls = total(coverage_file);
                if let Some(expected) = getppid {
                    check(coverage_file, expected);
                }
            }
        }
    }
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    let run = ways.iter().position(|&w| w == Way::Run).map(|i| medians[i]);
    println!("{title} ({calls} syscalls counted), median CPU time of {runs} runs:");
    for (&way, d) in ways.iter().zip(&medians) {
        let vs_run = match (way, run) {
            (Way::KernelCoverage | Way::NotifyCoverage, Some(r)) => {
                format!("  {:.2}x eperm run", d.as_secs_f64() / r.as_secs_f64())
            }
            _ => String::new(),
        };
        println!(
            "  {:<32} {d:>10.3?}  {:>6.2}x native  (+{:.3} µs per call){vs_run}",
            way.label(),
            d.as_secs_f64() / medians[0].as_secs_f64(),
            per_call(*d, medians[0], calls),
        );
    }
}

fn time_way(way: Way, cmd: &[&str], profile: &Path) -> Duration {
    let eperm = env!("CARGO_BIN_EXE_eperm");
    let covered = |c: &mut Command| {
        c.args(["run", "--coverage", "--no-tui", "-p"])
            .arg(profile)
            .arg("--")
            .args(cmd);
    };
    match way {
        Way::Native => time(Command::new(cmd[0]).args(&cmd[1..])),
        Way::Empty(hook) => {
            let _attached = counter::attach_empty(hook).expect("attach an empty program");
            time(Command::new(cmd[0]).args(&cmd[1..]))
        }
        Way::Run => time(
            Command::new(eperm)
                .args(["run", "--no-tui", "-p"])
                .arg(profile)
                .arg("--")
                .args(cmd),
        ),
        Way::KernelCoverage => {
            let mut c = Command::new(eperm);
            covered(&mut c);
            time(&mut c)
        }
        Way::NotifyCoverage => {
            let mut c = Command::new(eperm);
            covered(&mut c);
            time(c.env(eperm::run::coverage::FORCE_ENV, "notify"))
        }
    }
}

fn per_call(d: Duration, base: Duration, calls: u64) -> f64 {
    (d.as_secs_f64() - base.as_secs_f64()) * 1e6 / calls.max(1) as f64
}

fn load(coverage_file: &Path) -> eperm::coverage::Coverage {
    let text = std::fs::read_to_string(coverage_file).expect("coverage written");
    serde_json::from_str(&text).expect("coverage parses")
}

/// Every call coverage counted.
fn total(coverage_file: &Path) -> u64 {
    load(coverage_file).tallies.iter().map(|t| t.count).sum()
}

/// The CPU time (user + system) the command and what it waited for used: on a
/// machine shared with other work, far steadier than wall-clock time.
fn time(cmd: &mut Command) -> Duration {
    let before = children_cpu();
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    children_cpu() - before
}

fn children_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

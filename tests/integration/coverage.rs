//! Coverage counted in the kernel (eBPF on `sys_enter`, selected by the
//! workload's cgroup): exact counts for loops, threads and children that outlive
//! the first process, ia32 calls told apart, denials still reported, the same
//! tallies as the notify fallback (forced with `EPERM_COVERAGE=notify`), and the
//! report's unused names.

use crate::util::{assert_has, cc, eperm, ok, require_root, run_under, stderr};
use eperm::coverage::Coverage;
use eperm::profile::DEFAULT_PROFILE;
use eperm::run::coverage::FORCE_ENV;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// argv[1] getppid calls, on argv[2] threads (1 by default) each.
const THREADS: &str = r#"
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
static long n;
static void *calls(void *arg) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    return arg;
}
int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 0;
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    pthread_t t[64];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[i], 0, calls, 0) != 0) return 3;
    calls(0);
    for (int i = 1; i < threads; i++) pthread_join(t[i], 0);
    return 0;
}
"#;

/// Forks argv[2] children that each make argv[1] getppid calls only after the
/// parent is gone (they wait for EOF on a pipe only the parent holds open).
const ORPHANS: &str = r#"
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    int children = atoi(argv[2]);
    int p[2];
    if (pipe(p) != 0) return 3;
    for (int c = 0; c < children; c++) {
        pid_t pid = fork();
        if (pid < 0) return 4;
        if (pid == 0) {
            char b;
            close(p[1]);
            while (read(p[0], &b, 1) > 0) {}
            for (long i = 0; i < n; i++) syscall(SYS_getppid);
            _exit(0);
        }
    }
    return 0; /* exits at once: the children count on their own */
}
"#;

/// argv[1] getppid calls through `int 0x80` (the ia32 entry) from 64-bit code.
const IA32: &str = r#"
#include <stdlib.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    for (long i = 0; i < n; i++) {
        long nr = 64; /* getppid on i386 */
        __asm__ volatile("int $0x80" : "+a"(nr) : : "memory", "r8", "r9", "r10", "r11");
        if (nr <= 0) return 3;
    }
    return 0;
}
"#;

/// A fresh directory with `profile` in it as docker.json, as root.
fn workspace(profile: &str) -> (tempfile::TempDir, PathBuf) {
    require_root("it loads eBPF programs, installs filters and makes cgroups");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.json");
    std::fs::write(&path, profile).unwrap();
    (dir, path)
}

/// `eperm run --coverage --no-tui -p PROFILE -- CMD` (the fallback forced when
/// `notify`), expecting success: stderr and the coverage file's contents.
fn covered(profile: &Path, cmd: &[&str], notify: bool) -> (String, Coverage) {
    let path = Coverage::path_for(profile);
    let _ = std::fs::remove_file(&path);
    let mut command = eperm();
    command.args(run_under(&["--coverage"], profile, cmd));
    if notify {
        command.env(FORCE_ENV, "notify");
    } else {
        command.env_remove(FORCE_ENV);
    }
    let out = ok(&mut command);
    (stderr(&out), Coverage::load(&path).unwrap())
}

/// Every call of `syscall` (any rule) on `arch`.
fn count(coverage: &Coverage, syscall: &str, arch: &str) -> u64 {
    coverage
        .tallies
        .iter()
        .filter(|t| t.syscall == syscall && t.arch.name() == arch)
        .map(|t| t.count)
        .sum()
}

const IN_KERNEL: &str = "eperm: calls counted in the kernel (eBPF)";

/// The C helper `source` (compiled as `name`) run with `args` under the default
/// profile, its calls counted in the kernel (which the log must say): the log
/// and the coverage.
fn counted_in_kernel(name: &str, source: &'static str, args: &[&str]) -> (String, Coverage) {
    let (_dir, profile) = workspace(DEFAULT_PROFILE);
    let exe = cc(name, source);
    let cmd = [&[exe.to_str().unwrap()], args].concat();
    let (log, coverage) = covered(&profile, &cmd, false);
    assert_has(&log, IN_KERNEL);
    (log, coverage)
}

#[test]
fn a_million_getppid_are_counted_exactly_in_the_kernel() {
    let (log, coverage) = counted_in_kernel("cover_threads", THREADS, &["1000000"]);
    assert_eq!(count(&coverage, "getppid", "x86_64"), 1_000_000, "{log}");
}

#[test]
fn calls_of_every_thread_are_counted_exactly() {
    let (log, coverage) = counted_in_kernel("cover_threads", THREADS, &["50000", "8"]);
    assert_eq!(count(&coverage, "getppid", "x86_64"), 400_000, "{log}");
    // Seven threads were made: clone3 (glibc's pthread_create) seven times at least.
    assert!(count(&coverage, "clone3", "x86_64") >= 7, "{log}");
}

#[test]
fn children_that_outlive_the_first_process_are_counted_exactly() {
    let (log, coverage) = counted_in_kernel("cover_orphans", ORPHANS, &["20000", "5"]);
    assert_eq!(count(&coverage, "getppid", "x86_64"), 100_000, "{log}");
}

#[test]
fn ia32_calls_are_counted_under_the_x86_table() {
    let (log, coverage) = counted_in_kernel("cover_ia32", IA32, &["1234"]);
    assert_eq!(count(&coverage, "getppid", "x86"), 1234, "{log}");
    assert_eq!(count(&coverage, "getppid", "x86_64"), 0, "{log}");
}

/// What a run used, as (rule, syscall, arch) → (calls, of which before exec).
fn tallies(coverage: &Coverage) -> BTreeMap<(Option<usize>, String, &'static str), (u64, u64)> {
    coverage
        .tallies
        .iter()
        .filter(|t| t.count > 0)
        .map(|t| {
            (
                (t.rule, t.syscall.clone(), t.arch.name()),
                (t.count, t.before_exec),
            )
        })
        .collect()
}

#[test]
fn the_notify_fallback_says_why_and_counts_what_the_kernel_counts() {
    let (_dir, profile) = workspace(DEFAULT_PROFILE);
    let exe = cc("cover_threads", THREADS);
    let cmd = [exe.to_str().unwrap(), "3000"];
    let (kernel_log, kernel) = covered(&profile, &cmd, false);
    let (notify_log, notify) = covered(&profile, &cmd, true);
    assert_has(&kernel_log, IN_KERNEL);
    assert_has(
        &notify_log,
        "counted by seccomp notification (slow): EPERM_COVERAGE=notify",
    );
    assert_eq!(tallies(&kernel), tallies(&notify));
    assert_eq!(count(&notify, "getppid", "x86_64"), 3000);
}

#[test]
fn would_be_denials_are_still_tallied_and_reported_while_the_kernel_counts() {
    // The default profile without getppid: the default action (ERRNO) takes it.
    let mut value: serde_json::Value = serde_json::from_str(DEFAULT_PROFILE).unwrap();
    for rule in value["syscalls"].as_array_mut().unwrap() {
        let names = rule["names"].as_array_mut().unwrap();
        names.retain(|n| n != "getppid");
    }
    let (_dir, profile) = workspace(&serde_json::to_string_pretty(&value).unwrap());
    let exe = cc("cover_threads", THREADS);
    let (log, coverage) = covered(&profile, &[exe.to_str().unwrap(), "25"], false);
    assert_has(&log, IN_KERNEL);
    let denied: Vec<_> = coverage
        .tallies
        .iter()
        .filter(|t| t.syscall == "getppid")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!((denied[0].rule, denied[0].count), (None, 25), "{denied:?}");
    assert_eq!(denied[0].action.name(), "SCMP_ACT_ERRNO");
    assert!(
        log.contains("getppid"),
        "the summary names the denial: {log}"
    );
}

#[test]
fn the_report_lists_each_unused_name_once_and_only_names_of_the_target_s_arches() {
    let (_dir, profile) = workspace(DEFAULT_PROFILE);
    let exe = cc("cover_threads", THREADS);
    let (log, _) = covered(&profile, &[exe.to_str().unwrap(), "10"], false);
    let line = log
        .lines()
        .find_map(|l| l.strip_prefix("unused ("))
        .unwrap_or_else(|| panic!("no unused line: {log}"));
    let (n, names) = line.split_once("): ").unwrap();
    let names: Vec<&str> = names.split(", ").collect();
    let once: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(once.len(), names.len(), "a name repeats: {line}");
    assert_eq!(n.parse::<usize>().unwrap(), names.len());
    // Default-profile names of other arches are no allowance on x86_64.
    for foreign in [
        "s390_pci_mmio_read",
        "arm_fadvise64_64",
        "riscv_flush_icache",
    ] {
        assert!(!once.contains(foreign), "{foreign} listed: {line}");
    }
    // Names of x86_64 the loop never called are listed; getppid, which it called, not.
    assert!(
        once.contains("chdir") && !once.contains("getppid"),
        "{line}"
    );
}

/// 1000 getppid calls, then waits for EOF on the fifo argv[1] before exiting.
const WAITS: &str = r#"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    for (int i = 0; i < 1000; i++) syscall(SYS_getppid);
    int fd = open(argv[1], O_RDONLY);
    char b;
    while (read(fd, &b, 1) > 0) {}
    return 0;
}
"#;

#[test]
fn a_live_run_reports_what_the_kernel_counted_before_it_ends() {
    use eperm::session::live::{CoverageRun, LiveReport, Runner};
    use eperm::session::{Local, Session};
    use std::sync::{mpsc, Arc, Mutex};
    use std::time::Duration;
    let (dir, profile) = workspace(DEFAULT_PROFILE);
    let fifo = dir.path().join("release");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let exe = cc("cover_waits", WAITS);
    let loaded = eperm::profile::load_file(&profile).unwrap();
    let how = Local {
        mode: Some(eperm::run::Interception::Notify),
        user: None,
        enforce: true,
        sources: eperm::sources::logs::Wanted::BOTH,
    };
    let argv = vec![exe.into_os_string(), fifo.clone().into_os_string()];
    let session = Session::local(loaded, argv, &how).unwrap();
    let (tx, rx) = mpsc::channel::<LiveReport>();
    let tx = Mutex::new(tx);
    let runner = Runner::new(
        session,
        None,
        Arc::new(move |r| tx.lock().unwrap().send(r).is_ok()),
    );
    let _live = runner.start(1, DEFAULT_PROFILE, CoverageRun::On { file: None });
    let mut released = false;
    loop {
        let report = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the run reports within 30 s");
        match report {
            LiveReport::CoverageLive(1, so_far)
                if !released && count(&so_far, "getppid", "x86_64") == 1000 =>
            {
                // Seen while the workload still waits: open and close the fifo's
                // write end (blocks until the workload reads), so that it reads
                // EOF and ends.
                drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
                released = true;
            }
            LiveReport::Coverage { run, .. } => {
                assert!(
                    released,
                    "the run ended before a live report counted it all"
                );
                assert_eq!(count(&run, "getppid", "x86_64"), 1000);
                break;
            }
            LiveReport::Exited(1, Err(e)) => panic!("the run failed: {e}"),
            _ => {}
        }
    }
}

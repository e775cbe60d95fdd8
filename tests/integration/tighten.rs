//! Coverage and `eperm tighten`: pruning, narrowing, merging runs.

use crate::util::{eperm, stderr, stdout};
use eperm::arch::Arch;
use eperm::compile::Mode;
use eperm::profile::{load_file, Action, CmpOp, Target, DEFAULT_PROFILE};
use eperm::run::coverage::Coverage;
use eperm::run::Judge;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Creates a socket of the family named by argv[1] ("unix" or "inet"); exit 3 if refused.
const SOCKETS: &str = r#"
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int family = (argc > 1 && strcmp(argv[1], "inet") == 0) ? AF_INET : AF_UNIX;
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return 3;
    close(fd);
    return 0;
}
"#;

/// "work": forks a child and runs a thread, no namespaces; "newnet": clone with
/// CLONE_NEWNET, exit 3 if refused.
const CLONES: &str = r#"
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
static void *thread(void *arg) { return arg; }
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "newnet") == 0) {
        long pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
        if (pid < 0) return 3;
        if (pid == 0) _exit(0);
        waitpid(pid, 0, 0);
        return 0;
    }
    pid_t pid = fork();
    if (pid < 0) return 4;
    if (pid == 0) _exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid || status != 0) return 5;
    pthread_t t;
    if (pthread_create(&t, 0, thread, 0) != 0) return 6;
    pthread_join(t, 0);
    return 0;
}
"#;

fn require_root() {
    // SAFETY: plain syscall.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "these tests install filters and join cgroups: run them as root"
    );
}

pub fn helper(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let out = Command::new("cc")
        .args(["-O2", "-pthread", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("cc is needed to build the test helpers");
    assert!(
        out.status.success(),
        "cc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn eperm_out(args: &[&str]) -> Output {
    eperm().args(args).output().expect("eperm runs")
}

/// The names the profile's ALLOW rules list.
fn allowed(path: &Path) -> BTreeSet<String> {
    let profile = load_file(path).unwrap();
    profile
        .rules
        .iter()
        .filter(|r| r.action == Action::Allow)
        .flat_map(|r| r.names.iter().map(|n| n.name.clone()))
        .collect()
}

fn default_profile(dir: &Path) -> PathBuf {
    let path = dir.join("docker.json");
    std::fs::write(&path, DEFAULT_PROFILE).unwrap();
    path
}

#[test]
fn tighten_keeps_exactly_what_the_workload_used_and_it_still_runs_enforced() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let profile = default_profile(dir.path());
    let out = dir.path().join("out.json");
    let run = eperm_out(&[
        "tighten",
        "-p",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--runs",
        "2",
        "--",
        "true",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(stderr(&run).contains("verified"), "{}", stderr(&run));

    let coverage = Coverage::load(&Coverage::path_for(&profile)).unwrap();
    assert_eq!(coverage.runs, 2);
    let used: BTreeSet<String> = coverage.used().into_iter().map(str::to_string).collect();
    let kept = allowed(&out);
    // Everything used is kept, execve too, and nothing the workload never made.
    assert!(used.is_subset(&kept), "used {used:?} kept {kept:?}");
    assert!(kept.contains("execve"));
    for name in ["exit_group", "mmap", "openat"] {
        assert!(kept.contains(name), "{name} missing from {kept:?}");
    }
    let before = allowed(&profile);
    // Names listed both by an ALLOW and a non-ALLOW rule are left alone.
    let original = load_file(&profile).unwrap();
    let elsewhere: BTreeSet<String> = original
        .rules
        .iter()
        .filter(|r| r.action != Action::Allow)
        .flat_map(|r| r.names.iter().map(|n| n.name.clone()))
        .collect();
    let extra: Vec<&String> = kept
        .iter()
        .filter(|n| !used.contains(*n) && *n != "execve" && !elsewhere.contains(*n))
        .collect();
    assert!(extra.is_empty(), "kept unused: {extra:?}");
    assert!(
        kept.len() < before.len() / 4,
        "{} of {}",
        kept.len(),
        before.len()
    );
    for gone in ["mount", "chdir", "socket", "ptrace"] {
        assert!(!kept.contains(gone), "{gone} still allowed");
    }

    // Enforced by the real filter: the workload runs clean.
    let enforced = eperm_out(&[
        "run",
        "--enforce",
        "--no-tui",
        "-p",
        out.to_str().unwrap(),
        "--",
        "true",
    ]);
    assert_eq!(enforced.status.code(), Some(0), "{}", stderr(&enforced));
    assert!(stderr(&enforced).contains("would have denied nothing"));
}

#[test]
fn narrowing_socket_to_af_unix_denies_af_inet() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let exe = helper(dir.path(), "sockets", SOCKETS);
    let profile = default_profile(dir.path());
    let out = dir.path().join("narrow.json");
    let run = eperm_out(&[
        "tighten",
        "-p",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--narrow",
        "--",
        exe.to_str().unwrap(),
        "unix",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("narrowed socket only with family: AF_UNIX; type: SOCK_STREAM"),
        "{}",
        stderr(&run)
    );

    // One rule, one condition per argument: arg0 == AF_UNIX (and the type, flags free).
    let narrowed = load_file(&out).unwrap();
    let socket_rules: Vec<_> = narrowed
        .rules
        .iter()
        .filter(|r| r.names.iter().any(|n| n.name == "socket"))
        .collect();
    assert_eq!(socket_rules.len(), 1, "{}", narrowed.text);
    let args = &socket_rules[0].args;
    assert_eq!(args.len(), 2, "{}", narrowed.text);
    assert_eq!((args[0].index, args[0].op), (0, CmpOp::Eq));
    assert_eq!(args[0].value, libc::AF_UNIX as u64);
    assert_eq!((args[1].index, args[1].op), (1, CmpOp::MaskedEq));
    assert_eq!(
        (args[1].value, args[1].value_two),
        (0xf, libc::SOCK_STREAM as u64)
    );

    // Our libseccomp-faithful judge reads it as allow for AF_UNIX, deny for AF_INET.
    let judge = Judge::new(narrowed, &Target::docker_on_host(), Mode::Enforce).unwrap();
    let arch = Arch::native();
    let nr = arch.syscall_nr("socket").unwrap();
    let unix = judge.judge(arch, nr, [libc::AF_UNIX as u64, 1, 0, 0, 0, 0]);
    let inet = judge.judge(arch, nr, [libc::AF_INET as u64, 1, 0, 0, 0, 0]);
    assert_eq!(unix.verdict.action, Action::Allow);
    assert_ne!(inet.verdict.action, Action::Allow);

    // Enforced: the AF_INET workload is refused.
    let denied = eperm_out(&[
        "run",
        "--enforce",
        "--no-tui",
        "-p",
        out.to_str().unwrap(),
        "--",
        exe.to_str().unwrap(),
        "inet",
    ]);
    assert_eq!(denied.status.code(), Some(3), "{}", stderr(&denied));
    assert!(stderr(&denied).contains("socket"), "{}", stderr(&denied));
}

#[test]
fn coverage_survives_a_restart_and_merges_runs() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let exe = helper(dir.path(), "sockets", SOCKETS);
    let profile = default_profile(dir.path());
    let path = Coverage::path_for(&profile);
    assert_eq!(path, dir.path().join("docker.coverage.json"));
    for family in ["unix", "inet"] {
        // Each run is a new eperm process: only the file carries coverage over.
        let run = eperm_out(&[
            "run",
            "--coverage",
            "--no-tui",
            "-p",
            profile.to_str().unwrap(),
            "--",
            exe.to_str().unwrap(),
            family,
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        assert!(stderr(&run).contains("allowances used"), "{}", stderr(&run));
    }
    let coverage = Coverage::load(&path).unwrap();
    assert_eq!(coverage.runs, 2);
    let execve: u64 = coverage
        .tallies
        .iter()
        .filter(|t| t.syscall == "execve")
        .map(|t| t.count)
        .sum();
    assert_eq!(execve, 2);
    let families = coverage.values("socket", 0);
    let expected: BTreeSet<u64> = [libc::AF_UNIX as u64, libc::AF_INET as u64].into();
    assert_eq!(families, expected);
    let socket = coverage
        .tallies
        .iter()
        .find(|t| t.syscall == "socket")
        .unwrap();
    assert_eq!(socket.count, 2);
    assert_eq!(socket.pids.len(), 2);
    assert_eq!(socket.action, "SCMP_ACT_ALLOW");
}

/// `flags` of every allowed `clone` call against the narrowed profile's verdict.
fn clone_verdict(judge: &Judge, flags: u64) -> Action {
    let arch = Arch::native();
    let nr = arch.syscall_nr("clone").unwrap();
    judge.judge(arch, nr, [flags, 0, 0, 0, 0, 0]).verdict.action
}

#[test]
fn narrowing_clone_keeps_fork_and_threads_and_denies_namespaces() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let exe = helper(dir.path(), "clones", CLONES);
    let profile = default_profile(dir.path());
    let out = dir.path().join("narrow.json");
    let run = eperm_out(&[
        "tighten",
        "-p",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--narrow",
        "--",
        exe.to_str().unwrap(),
        "work",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("narrowed clone only with namespace flags: none"),
        "{}",
        stderr(&run)
    );

    // Every clone rule of the result carries the namespace mask: as root the
    // privileged (CAP_SYS_ADMIN) allowance was narrowed, the others already had it.
    let narrowed = load_file(&out).unwrap();
    let clone_rules: Vec<_> = narrowed
        .rules
        .iter()
        .filter(|r| r.names.iter().any(|n| n.name == "clone"))
        .collect();
    assert!(!clone_rules.is_empty(), "{}", narrowed.text);
    for rule in &clone_rules {
        assert_eq!(rule.action, Action::Allow);
        assert_eq!(rule.args.len(), 1, "{}", narrowed.text);
        assert_eq!(rule.args[0].op, CmpOp::MaskedEq);
        assert_eq!(rule.args[0].value, 0x7E02_0000);
        assert_eq!(rule.args[0].value_two, 0);
    }

    // Every flags value the workload used is allowed, CLONE_NEWNET is not.
    let coverage = Coverage::load(&Coverage::path_for(&profile)).unwrap();
    let seen = coverage.values("clone", 0);
    assert!(!seen.is_empty(), "fork makes a clone call");
    // libseccomp, built as runc builds it, reads the narrowed rules the same way
    // (as root: the privileged allowance is the one narrowed).
    #[cfg(feature = "differential")]
    {
        let t = crate::narrow::target(eperm::caps::CapSet::all());
        let newnet = (libc::CLONE_NEWNET | libc::SIGCHLD) as u64;
        for &flags in seen.iter().chain([&newnet]) {
            let (ours, theirs) =
                crate::narrow::verdicts(&narrowed, &t, "clone", [flags, 0, 0, 0, 0, 0]);
            assert_eq!(ours, theirs, "clone({flags:#x})");
            assert_eq!(ours == eperm::compile::bpf::RET_ALLOW, flags != newnet);
        }
    }
    // As root (all capabilities), as the workload ran.
    let root = Target {
        caps: eperm::caps::CapSet::all(),
        ..Target::docker_on_host()
    };
    let judge = Judge::new(narrowed, &root, Mode::Enforce).unwrap();
    for &flags in &seen {
        assert_eq!(clone_verdict(&judge, flags), Action::Allow, "{flags:#x}");
    }
    let newnet = (libc::CLONE_NEWNET | libc::SIGCHLD) as u64;
    assert_ne!(clone_verdict(&judge, newnet), Action::Allow);

    // Enforced: the workload still runs; a clone into a new network namespace fails.
    let enforced = eperm_out(&[
        "run",
        "--enforce",
        "--no-tui",
        "-p",
        out.to_str().unwrap(),
        "--",
        exe.to_str().unwrap(),
        "work",
    ]);
    assert_eq!(enforced.status.code(), Some(0), "{}", stderr(&enforced));
    assert!(stderr(&enforced).contains("would have denied nothing"));
    let denied = eperm_out(&[
        "run",
        "--enforce",
        "--no-tui",
        "-p",
        out.to_str().unwrap(),
        "--",
        exe.to_str().unwrap(),
        "newnet",
    ]);
    assert_eq!(denied.status.code(), Some(3), "{}", stderr(&denied));
    assert!(stderr(&denied).contains("clone"), "{}", stderr(&denied));
    // Under the original profile (as root) the same call is allowed.
    let before = eperm_out(&[
        "run",
        "--enforce",
        "--no-tui",
        "-p",
        profile.to_str().unwrap(),
        "--",
        exe.to_str().unwrap(),
        "newnet",
    ]);
    assert_eq!(before.status.code(), Some(0), "{}", stderr(&before));
}

#[test]
fn coverage_counts_children_that_outlive_the_initial_process() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    let profile = default_profile(dir.path());
    let run = eperm_out(&[
        "run",
        "--coverage",
        "--no-tui",
        "-p",
        profile.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "(sleep 0.2; ls /) & exit 0",
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    // ls ran after sh had exited, and printed.
    assert!(
        stdout(&run).lines().any(|l| l == "proc"),
        "{}",
        stdout(&run)
    );
    let coverage = Coverage::load(&Coverage::path_for(&profile)).unwrap();
    let count = |name: &str| -> u64 {
        coverage
            .tallies
            .iter()
            .filter(|t| t.syscall == name)
            .map(|t| t.count)
            .sum()
    };
    // sh, sleep and ls each exec'd; only ls lists a directory.
    assert_eq!(count("execve"), 3, "{:?}", coverage.used());
    assert!(count("getdents64") > 0, "{:?}", coverage.used());
    let pids: BTreeSet<u32> = coverage
        .tallies
        .iter()
        .filter(|t| t.syscall == "execve")
        .flat_map(|t| t.pids.iter().copied())
        .collect();
    assert_eq!(pids.len(), 3, "{pids:?}");
}

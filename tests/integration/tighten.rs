//! Coverage and `eperm tighten`: pruning, narrowing, merging runs.

use crate::util::{
    assert_has, assert_success, cc, eperm, eperm_ok, require_root, run, run_under, stderr,
    with_command,
};
use eperm::arch::Arch;
use eperm::compile::Mode;
use eperm::coverage::Coverage;
use eperm::profile::{load_file, Action, CmpOp, Profile, Rule, Target, DEFAULT_PROFILE};
use eperm::run::Judge;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

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

/// A fresh directory with Docker's default profile in it, as root.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    require_root("it installs filters and joins cgroups");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("docker.json");
    std::fs::write(&profile, DEFAULT_PROFILE).unwrap();
    (dir, profile)
}

/// `eperm tighten -p PROFILE -o OUT [extra] -- CMD`, expecting success: its stderr.
fn tighten(profile: &Path, out: &Path, extra: &[&str], cmd: &[&str]) -> String {
    let mut head = vec![
        "tighten",
        "-p",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    head.extend_from_slice(extra);
    eperm_ok(&with_command(&head, cmd)).1
}

/// `eperm tighten --narrow` of `cmd` into `dir`/narrow.json: that path and the log.
fn narrow(dir: &Path, profile: &Path, cmd: &[&str]) -> (PathBuf, String) {
    let out = dir.join("narrow.json");
    let log = tighten(profile, &out, &["--narrow"], cmd);
    (out, log)
}

/// A C helper's run narrowed: the workspace (kept while this lives), its
/// profile, the helper, and what `tighten --narrow` wrote and logged.
struct Narrowed {
    _dir: tempfile::TempDir,
    profile: PathBuf,
    exe: PathBuf,
    out: PathBuf,
    log: String,
}

impl Narrowed {
    fn exe(&self) -> &str {
        self.exe.to_str().unwrap()
    }
}

/// The C helper `source` (compiled as `name`) run with `arg` by `eperm tighten
/// --narrow` under the default profile.
fn narrowed_helper(name: &str, source: &'static str, arg: &str) -> Narrowed {
    let (dir, profile) = workspace();
    let exe = cc(name, source);
    let (out, log) = narrow(dir.path(), &profile, &[exe.to_str().unwrap(), arg]);
    Narrowed {
        _dir: dir,
        profile,
        exe,
        out,
        log,
    }
}

/// The rules of `profile` that name `syscall`.
fn naming<'a>(profile: &'a Profile, syscall: &str) -> Vec<&'a Rule> {
    profile
        .rules
        .iter()
        .filter(|r| r.names.iter().any(|n| n.name == syscall))
        .collect()
}

/// `eperm run --enforce --no-tui -p PROFILE -- CMD`, whatever its outcome.
fn run_enforced(profile: &Path, cmd: &[&str]) -> Output {
    run(&run_under(&["--enforce"], profile, cmd))
}

/// `eperm run --coverage --no-tui -p PROFILE -- CMD`, expecting success.
fn run_covered(profile: &Path, cmd: &[&str]) -> (String, String) {
    eperm_ok(&run_under(&["--coverage"], profile, cmd))
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

#[test]
fn tighten_keeps_exactly_what_the_workload_used_and_it_still_runs_enforced() {
    let (dir, profile) = workspace();
    let out = dir.path().join("out.json");
    // For plain processes: the runtimes' start-up calls are not added (startup.rs).
    let log = tighten(
        &profile,
        &out,
        &["--runs", "2", "--runtime", "none"],
        &["true"],
    );
    assert_has(&log, "verified");

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
    let enforced = run_enforced(&out, &["true"]);
    assert_success(&enforced);
    assert!(stderr(&enforced).contains("would have denied nothing"));
}

#[test]
fn narrowing_socket_to_af_unix_denies_af_inet() {
    let tightened = narrowed_helper("sockets", SOCKETS, "unix");
    assert_has(
        &tightened.log,
        "narrowed socket only with family: AF_UNIX; type: SOCK_STREAM",
    );

    // One rule, one condition per argument: arg0 == AF_UNIX (and the type, flags free).
    let narrowed = load_file(&tightened.out).unwrap();
    let socket_rules = naming(&narrowed, "socket");
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
    let denied = run_enforced(&tightened.out, &[tightened.exe(), "inet"]);
    assert_eq!(denied.status.code(), Some(3), "{}", stderr(&denied));
    assert_has(&stderr(&denied), "socket");
}

#[test]
fn coverage_survives_a_restart_and_merges_runs() {
    let (dir, profile) = workspace();
    let exe = cc("sockets", SOCKETS);
    let path = Coverage::path_for(&profile);
    assert_eq!(path, dir.path().join("docker.coverage.json"));
    for family in ["unix", "inet"] {
        // Each run is a new eperm process: only the file carries coverage over.
        let (_, log) = run_covered(&profile, &[exe.to_str().unwrap(), family]);
        assert_has(&log, "allowed names used");
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
    assert_eq!(socket.action.name(), "SCMP_ACT_ALLOW");
}

/// `flags` of every allowed `clone` call against the narrowed profile's verdict.
fn clone_verdict(judge: &Judge, flags: u64) -> Action {
    let arch = Arch::native();
    let nr = arch.syscall_nr("clone").unwrap();
    judge.judge(arch, nr, [flags, 0, 0, 0, 0, 0]).verdict.action
}

#[test]
fn narrowing_clone_keeps_fork_and_threads_and_denies_namespaces() {
    let tightened = narrowed_helper("clones", CLONES, "work");
    assert_has(
        &tightened.log,
        "narrowed clone only with namespace flags: none",
    );

    // Every clone rule of the result carries the namespace mask: as root the
    // privileged (CAP_SYS_ADMIN) allowance was narrowed, the others already had it.
    let narrowed = load_file(&tightened.out).unwrap();
    let clone_rules = naming(&narrowed, "clone");
    assert!(!clone_rules.is_empty(), "{}", narrowed.text);
    for rule in &clone_rules {
        assert_eq!(rule.action, Action::Allow);
        assert_eq!(rule.args.len(), 1, "{}", narrowed.text);
        assert_eq!(rule.args[0].op, CmpOp::MaskedEq);
        assert_eq!(rule.args[0].value, 0x7E02_0000);
        assert_eq!(rule.args[0].value_two, 0);
    }

    // Every flags value the workload used is allowed, CLONE_NEWNET is not.
    let coverage = Coverage::load(&Coverage::path_for(&tightened.profile)).unwrap();
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
    let enforced = run_enforced(&tightened.out, &[tightened.exe(), "work"]);
    assert_success(&enforced);
    assert!(stderr(&enforced).contains("would have denied nothing"));
    let denied = run_enforced(&tightened.out, &[tightened.exe(), "newnet"]);
    assert_eq!(denied.status.code(), Some(3), "{}", stderr(&denied));
    assert_has(&stderr(&denied), "clone");
    // Under the original profile (as root) the same call is allowed.
    let before = run_enforced(&tightened.profile, &[tightened.exe(), "newnet"]);
    assert_success(&before);
}

#[test]
fn coverage_counts_children_that_outlive_the_initial_process() {
    let (_dir, profile) = workspace();
    // In the kernel (the default), then by notification, which also knows pids.
    for notify in [false, true] {
        let _ = std::fs::remove_file(Coverage::path_for(&profile));
        let mut command = eperm();
        command.args(run_under(
            &["--coverage"],
            &profile,
            &["sh", "-c", "(sleep 0.2; ls /) & exit 0"],
        ));
        if notify {
            command.env(eperm::run::coverage::FORCE_ENV, "notify");
        }
        let out = crate::util::ok(&mut command);
        let out = String::from_utf8_lossy(&out.stdout);
        // ls ran after sh had exited, and printed.
        assert!(out.lines().any(|l| l == "proc"), "{out}");
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
        if notify {
            let pids: BTreeSet<u32> = coverage
                .tallies
                .iter()
                .filter(|t| t.syscall == "execve")
                .flat_map(|t| t.pids.iter().copied())
                .collect();
            assert_eq!(pids.len(), 3, "{pids:?}");
        }
    }
}

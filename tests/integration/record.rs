//! `eperm record` in the kernel (eBPF counter, allow-all filter) against
//! `--trap` (each would-be denial trapped by notification): the same profile for
//! the same program, ia32 calls under x86, argument rules judged by value, the
//! summary naming the mechanism, and the profile enforced by libseccomp.

use crate::util::{assert_has, assert_lacks, cc, eperm, ok, require_root, stderr};
use eperm::run::coverage::FORCE_ENV;
use std::path::Path;

const IN_KERNEL: &str = "eperm: recorded in the kernel (eBPF)\n";
const TRAPPED: &str = "eperm: recorded by trapping each call (notify): ";

/// argv[1] getppid calls and one futex wake on each of argv[2] threads (the
/// wake made explicitly: whether `pthread_join` waits on a futex depends on timing).
const THREADS: &str = r#"
#include <linux/futex.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
static long n;
static int word;
static void *calls(void *arg) {
    for (long i = 0; i < n; i++) syscall(SYS_getppid);
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
    return arg;
}
int main(int argc, char **argv) {
    n = atol(argv[1]);
    int threads = atoi(argv[2]);
    pthread_t t[64];
    for (int i = 1; i < threads; i++)
        if (pthread_create(&t[i], 0, calls, 0) != 0) return 3;
    calls(0);
    for (int i = 1; i < threads; i++) pthread_join(t[i], 0);
    return 0;
}
"#;

/// One getppid through `int 0x80` (the ia32 entry) from 64-bit code.
const IA32: &str = r#"
int main(void) {
    long nr = 64; /* getppid on i386 */
    __asm__ volatile("int $0x80" : "+a"(nr) : : "memory", "r8", "r9", "r10", "r11");
    return nr <= 0 ? 3 : 0;
}
"#;

/// `eperm record [flags] -o OUT -- CMD` (in the kernel unless `--trap` is among
/// `flags`), expecting success: the profile written and stderr.
fn record(dir: &Path, name: &str, flags: &[&str], cmd: &[&str]) -> (String, String) {
    let out = dir.join(name);
    let mut command = eperm();
    command
        .arg("record")
        .args(flags)
        .args(["-o", out.to_str().unwrap(), "--"])
        .args(cmd)
        .env_remove(FORCE_ENV);
    let log = stderr(&ok(&mut command));
    (std::fs::read_to_string(&out).unwrap(), log)
}

/// The stderr line on calls of other arches, if any.
fn other_arches(log: &str) -> Option<&str> {
    log.lines().find(|l| l.contains("calls of other arches"))
}

/// Recorded both ways with `flags`: the same profile, the same calls of other
/// arches, and each summary naming its mechanism. The kernel's profile.
fn same_both_ways(flags: &[&str], cmd: &[&str]) -> (String, String) {
    require_root("it loads eBPF programs, installs filters and makes cgroups");
    let dir = tempfile::tempdir().unwrap();
    let (kernel, kernel_log) = record(dir.path(), "kernel.json", flags, cmd);
    let trap_flags = [flags, &["--trap"]].concat();
    let (trapped, trap_log) = record(dir.path(), "trapped.json", &trap_flags, cmd);
    assert_has(&kernel_log, IN_KERNEL);
    assert_has(&trap_log, &format!("{TRAPPED}--trap"));
    assert_eq!(kernel, trapped, "{kernel_log}\n{trap_log}");
    assert_eq!(other_arches(&kernel_log), other_arches(&trap_log));
    (kernel, kernel_log)
}

#[test]
fn a_shell_is_recorded_the_same_in_the_kernel_as_by_trapping() {
    let (profile, log) = same_both_ways(&["--empty"], &["sh", "-c", "ls /; echo hi"]);
    for name in ["\"execve\"", "\"getdents64\"", "\"write\"", "\"wait4\""] {
        assert_has(&profile, name);
    }
    assert_has(&profile, "recorded by eperm from: sh -c 'ls /; echo hi'");
    assert_eq!(other_arches(&log), None, "{log}");
}

#[test]
fn a_multi_threaded_program_is_recorded_the_same_both_ways() {
    let exe = cc("record_threads", THREADS);
    let (profile, _) = same_both_ways(&["--empty"], &[exe.to_str().unwrap(), "2000", "4"]);
    for name in ["\"getppid\"", "\"clone3\"", "\"futex\""] {
        assert_has(&profile, name);
    }
}

#[test]
fn an_ia32_call_is_recorded_under_x86() {
    let exe = cc("record_ia32", IA32);
    let (profile, log) = same_both_ways(&["--empty"], &[exe.to_str().unwrap()]);
    assert_has(&profile, "\"getppid\"");
    assert_eq!(
        other_arches(&log),
        Some("eperm: calls of other arches: getppid (x86)"),
        "{log}"
    );
}

/// The default profile allows personality(2) for some values only: a value
/// it allows adds nothing, one it denies adds personality, both ways.
#[test]
fn argument_rules_of_the_base_are_judged_by_the_values_used() {
    let call = |v: &str| format!("import ctypes; ctypes.CDLL(None).personality({v})");
    let (allowed, log) = same_both_ways(&[], &["python3", "-c", &call("8")]);
    assert_has(&log, "allowing 0 more syscalls");
    let (denied, log) = same_both_ways(&[], &["python3", "-c", &call("0x40000")]);
    assert_has(&log, "allowing 1 more syscall: personality");
    assert_ne!(allowed, denied);
}

#[test]
fn without_the_kernel_counter_the_summary_says_why_it_trapped() {
    require_root("it installs filters and makes cgroups");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p.json");
    let log = stderr(&ok(eperm()
        .args([
            "record",
            "--empty",
            "-o",
            out.to_str().unwrap(),
            "--",
            "true",
        ])
        .env(FORCE_ENV, "notify")));
    assert_has(&log, &format!("{TRAPPED}{FORCE_ENV}=notify"));
    assert_lacks(&log, IN_KERNEL);
}

/// The profile recorded in the kernel, compiled by libseccomp as runc compiles
/// it and loaded in the forked child before its exec, runs the workload.
#[cfg(feature = "differential")]
#[test]
fn the_profile_recorded_in_the_kernel_runs_the_workload_under_libseccomp() {
    use eperm::arch::Arch;
    let cmd = ["sh", "-c", "ls / | wc -l; echo hi"];
    let dir = tempfile::tempdir().unwrap();
    require_root("it loads eBPF programs, installs filters and makes cgroups");
    let (text, log) = record(dir.path(), "p.json", &["--empty"], &cmd);
    assert_has(&log, IN_KERNEL);
    let profile = eperm::profile::load_str("p.json", text).unwrap();
    let set = [Arch::X86_64];
    // Names whose numbers our tables and libseccomp's disagree on are left out.
    let skip = crate::compile::differential::disagreeing_names(&profile, &set);
    assert!(skip.is_empty(), "{skip:?}");
    let target = crate::compile::target(Arch::X86_64);
    let program =
        crate::compile::differential::libseccomp_program_for(&profile, &set, &skip, &target)
            .expect("libseccomp accepts the recorded profile");
    let enforced = under(Some(&program), &cmd);
    let plain = under(None, &cmd);
    assert!(
        enforced.status.success(),
        "{:?} {}{}",
        enforced.status,
        crate::util::stdout(&enforced),
        stderr(&enforced)
    );
    assert_eq!(enforced.stdout, plain.stdout);
    // Not allow-all: a program making a call it never saw fails.
    let other = under(Some(&program), &["unshare", "--user", "true"]);
    assert!(
        !other.status.success(),
        "{}{}",
        crate::util::stdout(&other),
        stderr(&other)
    );
}

/// `cmd` run with `program` loaded (no new privileges) in the forked child.
#[cfg(feature = "differential")]
fn under(program: Option<&[eperm::compile::SockFilter]>, cmd: &[&str]) -> std::process::Output {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(cmd[0]);
    command.args(&cmd[1..]);
    if let Some(program) = program {
        let fprog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_ptr() as *mut libc::sock_filter,
        };
        // An address, as the closure must be Send; `fprog` lives past `output`.
        let addr = &fprog as *const libc::sock_fprog as usize;
        // SAFETY: two syscalls in the forked child; the program outlives the spawn.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || libc::prctl(
                        libc::PR_SET_SECCOMP,
                        libc::SECCOMP_MODE_FILTER,
                        addr as *const libc::sock_fprog,
                    ) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        };
        return command.output().unwrap();
    }
    command.output().unwrap()
}

/// A base rule on an argument the counter does not sample (write's fd) cannot
/// be judged from the counts: the run traps instead, says why, and still
/// writes what a trapped run writes.
#[test]
fn a_base_rule_on_an_unsampled_argument_is_recorded_by_trapping() {
    require_root("it installs filters and makes cgroups");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.json");
    let rule = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["write"],
        "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 2, "op": "SCMP_CMP_EQ"}]}]}"#;
    std::fs::write(&base, rule).unwrap();
    let flags = ["-p", base.to_str().unwrap()];
    let (profile, log) = record(dir.path(), "p.json", &flags, &["sh", "-c", "echo hi"]);
    assert_has(
        &log,
        &format!("{TRAPPED}the profile's rule for write checks arg0, which the eBPF counter does not sample"),
    );
    // write(1, …) was denied by the base, so it is allowed now.
    let allowing = log.lines().find(|l| l.contains(" allowing ")).unwrap();
    assert!(allowing.ends_with(", write"), "{log}");
    let trap_flags = [&flags[..], &["--trap"]].concat();
    let (trapped, _) = record(dir.path(), "t.json", &trap_flags, &["sh", "-c", "echo hi"]);
    assert_eq!(profile, trapped);
}

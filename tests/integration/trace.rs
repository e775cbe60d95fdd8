//! The ptrace tracer: every would-be-denied call from every thread, fork, vfork and
//! exec'd child is reported exactly once, decisions are applied, and the workload's
//! exit passes through without hangs or zombies.

use crate::util::{cc, processes};
use eperm::arch::Arch;
use eperm::compile::Mode;
use eperm::error::Error;
use eperm::profile::{load_str, Target, DEFAULT_PROFILE};
use eperm::run::child::Prepared;
use eperm::run::contain::Containment;
use eperm::run::trace::run_traced;
use eperm::run::{Judge, Policy, RunError, Supervision, WorkloadExit};
use eperm::sources::event::{CallArch, Decision, Event, Rule, Source};
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

/// The helper workload, compiled once per test run.
const HELPER_C: &str = r#"/* A workload for the tracer's tests: makes calls the default profile denies
 * (acct, unshare, clone3) from threads, forks, vforks and exec'd children. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long n_calls;
static char *self;

/* acct(NULL): denied by the default profile without CAP_SYS_PACCT. */
static void calls(long n) {
    for (long i = 0; i < n; i++)
        syscall(SYS_acct, 0);
}

static void *thread_calls(void *arg) {
    calls((long)arg);
    return NULL;
}

static void reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

static void threads(long t, long n) {
    pthread_t *ids = calloc(t, sizeof *ids);
    for (long i = 0; i < t; i++)
        if (pthread_create(&ids[i], NULL, thread_calls, (void *)n) != 0) {
            perror("pthread_create");
            exit(3);
        }
    for (long i = 0; i < t; i++)
        pthread_join(ids[i], NULL);
    free(ids);
}

/* p children, at most `batch` alive at once, each making n calls. */
static void forks(long p, long n, long batch) {
    long alive = 0;
    for (long i = 0; i < p; i++) {
        if (alive == batch) {
            while (wait(NULL) < 0 && errno == EINTR) {
            }
            alive--;
        }
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            exit(3);
        }
        if (pid == 0) {
            calls(n);
            _exit(0);
        }
        alive++;
    }
    while (alive-- > 0)
        while (wait(NULL) < 0 && errno == EINTR) {
        }
}

static volatile sig_atomic_t usr1;
static void on_usr1(int sig) {
    (void)sig;
    usr1++;
}

int main(int argc, char **argv) {
    self = argv[0];
    if (argc > 2 && !strcmp(argv[1], "-o")) { /* -o FILE: stdout goes there */
        if (!freopen(argv[2], "w", stdout))
            return 4;
        argv += 2;
        argc -= 2;
    }
    if (argc < 2)
        return 2;
    const char *mode = argv[1];
    long a = argc > 2 ? atol(argv[2]) : 0;
    long b = argc > 3 ? atol(argv[3]) : 0;
    long c = argc > 4 ? atol(argv[4]) : 0;
    if (!strcmp(mode, "calls")) { /* calls N */
        calls(a);
        return 0;
    }
    if (!strcmp(mode, "exact")) { /* exact N T P: N * (1 + T + P + vfork + exec) calls */
        n_calls = a;
        calls(a);
        threads(b, a);
        forks(c, a, c);
        pid_t pid = vfork();
        if (pid == 0) {
            calls(a);
            _exit(0);
        }
        reap(pid);
        pid = fork();
        if (pid == 0) {
            char n[32];
            snprintf(n, sizeof n, "%ld", a);
            execl(self, self, "calls", n, (char *)NULL);
            _exit(127);
        }
        reap(pid);
        return 0;
    }
    if (!strcmp(mode, "unshare")) { /* prints 0 or the errno's name */
        int r = unshare(CLONE_NEWUSER);
        printf("unshare=%s\n", r == 0 ? "0" : strerrorname_np(errno));
        return 0;
    }
    if (!strcmp(mode, "clone3")) {
        long r = syscall(SYS_clone3, NULL, 0);
        printf("clone3=%s\n", r == 0 ? "0" : strerrorname_np(errno));
        return 0;
    }
    if (!strcmp(mode, "exit")) { /* exit CODE, after one denied call */
        calls(1);
        return (int)a;
    }
    if (!strcmp(mode, "die")) { /* die SIG, after one denied call */
        calls(1);
        signal((int)a, SIG_DFL);
        raise((int)a);
        return 0;
    }
    if (!strcmp(mode, "threads")) { /* threads T: one call each */
        threads(a, 1);
        return 0;
    }
    if (!strcmp(mode, "forks")) { /* forks P BATCH: one call each */
        forks(a, 1, b);
        return 0;
    }
    if (!strcmp(mode, "signals")) {
        /* signals N: N calls while a child sends SIGUSR1s, stops and continues us */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid == 0) {
            for (int i = 0; i < 2000; i++) {
                kill(parent, SIGUSR1);
                if (i % 200 == 0) {
                    kill(parent, SIGSTOP);
                    usleep(1000);
                    kill(parent, SIGCONT);
                }
            }
            _exit(0);
        }
        calls(a);
        reap(pid);
        printf("usr1>0=%d\n", usr1 > 0);
        return 0;
    }
    if (!strcmp(mode, "orphans")) { /* orphans P: children that outlive us, stopped in calls */
        for (long i = 0; i < a; i++)
            if (fork() == 0) {
                for (;;)
                    calls(1);
            }
        usleep(50000);
        return 0;
    }
    if (!strcmp(mode, "getppid")) { /* getppid N: the benchmark's workload */
        for (long i = 0; i < a; i++)
            syscall(SYS_getppid);
        return 0;
    }
    return 2;
}
"#;

/// Trace tests run one at a time: they count processes and share two CPUs.
static SERIAL: Mutex<()> = Mutex::new(());

fn helper() -> PathBuf {
    cc("eperm-trace-helper", HELPER_C)
}

const HELPER_COMM: &str = "eperm-trace-hel"; // comm is cut to 15 bytes

fn judge(profile: &str) -> Judge {
    let profile = load_str("profile.json", profile.to_string()).unwrap();
    Judge::new(profile, &Target::docker_on_host(), Mode::Trace).unwrap()
}

struct Traced {
    result: Result<WorkloadExit, RunError>,
    events: Vec<Event>,
    stdout: String,
}

fn helper_argv(args: &[&str]) -> Vec<OsString> {
    std::iter::once(helper().as_os_str().to_owned())
        .chain(args.iter().map(OsString::from))
        .collect()
}

/// Runs `argv` under `profile` in trace mode on a tracer thread; fails the test if
/// it takes longer than `limit`.
fn trace_with(
    argv: Vec<OsString>,
    out: Option<tempfile::NamedTempFile>,
    profile: &str,
    enforce: bool,
    limit: Duration,
) -> Traced {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = eperm::run::event_channel();
    let (done_tx, done_rx) = mpsc::channel();
    let judge = judge(profile);
    std::thread::spawn(move || {
        let containment = Containment::start().unwrap();
        let prepared = Prepared::new(&argv, judge.compiled.program.clone())
            .unwrap()
            .traceme(true);
        let sup = Supervision {
            judge,
            policy: if enforce {
                Policy::Enforce
            } else {
                Policy::Permissive
            },
            events: tx,
            started: Instant::now(),
            own_exe: std::env::current_exe().ok(),
            layers: None,
            stacks: None,
        };
        let result = run_traced(&prepared, &sup, &containment);
        containment.finish();
        let _ = done_tx.send(result);
    });
    let result = done_rx
        .recv_timeout(limit)
        .expect("the traced workload hung");
    let events: Vec<Event> = rx.try_iter().collect();
    let stdout = out.map_or_else(String::new, |o| std::fs::read_to_string(o.path()).unwrap());
    Traced {
        result,
        events,
        stdout,
    }
}

/// Runs the helper with `args` under `profile`; what it prints comes back in `stdout`.
fn trace_helper(args: &[&str], profile: &str, enforce: bool, limit: Duration) -> Traced {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut argv = helper_argv(&["-o"]);
    argv.push(out.path().into());
    argv.extend(args.iter().map(OsString::from));
    trace_with(argv, Some(out), profile, enforce, limit)
}

/// Runs the helper with `args` under the default profile.
fn trace(args: &[&str], enforce: bool) -> Traced {
    trace_helper(args, DEFAULT_PROFILE, enforce, Duration::from_secs(60))
}

/// Runs `sh -c script` under the default profile, permissive.
fn trace_shell(script: &str) -> Traced {
    let argv = vec!["sh".into(), "-c".into(), script.into()];
    trace_with(argv, None, DEFAULT_PROFILE, false, Duration::from_secs(60))
}

fn count(events: &[Event], syscall: &str) -> usize {
    events.iter().filter(|e| e.syscall == syscall).count()
}

/// Our helper children that are zombies, and this run's helper processes still
/// running. Only this run's: other test modules run at once (their children come
/// and go), and on a shared machine another run's helpers have the same comm, but
/// not the same binary (each run compiles its own).
fn leftovers() -> (Vec<i32>, Vec<i32>) {
    let me = std::process::id() as i32;
    let ours = helper();
    let (mut zombies, mut running) = (Vec::new(), Vec::new());
    for p in processes() {
        if p.zombie() && p.ppid == Some(me) && p.comm == HELPER_COMM {
            zombies.push(p.pid);
        }
        let exe = std::fs::read_link(format!("/proc/{}/exe", p.pid));
        if !p.zombie() && exe.is_ok_and(|e| e == ours) {
            running.push(p.pid);
        }
    }
    (zombies, running)
}

fn assert_clean() {
    // Orphans reparented to init are reaped by it; give it a moment (generous: a
    // loaded machine may take long; a clean state returns at once).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (zombies, running) = leftovers();
        if zombies.is_empty() && running.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("zombie children {zombies:?}, helper processes still running {running:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_denied_call_from_threads_forks_vfork_and_exec_is_reported_once() {
    let (n, t, p) = (7, 5, 4);
    let run = trace(
        &["exact", &n.to_string(), &t.to_string(), &p.to_string()],
        false,
    );
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    // main + threads + forks + the vfork child + the exec'd child
    assert_eq!(count(&run.events, "acct"), n * (1 + t + p + 1 + 1));
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    for e in run.events.iter().filter(|e| e.syscall == "acct") {
        assert_eq!(e.source, Source::Ptrace);
        assert_eq!(e.arch, CallArch::Known(Arch::native()));
        assert_eq!(e.arch.to_string(), Arch::native().name());
        assert_eq!(e.rule.map(|r| r.rule), Some(Rule::Default));
        assert_eq!(e.rule_path(), profile.path("defaultAction"));
        assert_eq!(e.ruling.action_name(), "SCMP_ACT_ERRNO");
        assert_eq!(e.decision, Decision::Allowed);
        assert!(!e.bootstrap, "{e:?}");
    }
    // 1 + p + vfork + exec'd child processes; threads share the main pid.
    let acct = |id: fn(&Event) -> u32| -> std::collections::HashSet<u32> {
        run.events
            .iter()
            .filter(|e| e.syscall == "acct")
            .map(id)
            .collect()
    };
    let pids = acct(|e| e.pid);
    assert_eq!(pids.len(), 1 + p + 1 + 1, "{pids:?}");
    assert_eq!(acct(|e| e.tid).len(), 1 + t + p + 1 + 1);
    assert_clean();
}

/// The helper's call `syscall`, traced enforcing or not: the helper exits 0
/// having printed `printed`; the call's event, which must say `decision`.
fn one_call(syscall: &str, enforce: bool, printed: &str, decision: Decision) -> Event {
    let run = trace(&[syscall], enforce);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert_eq!(run.stdout, printed);
    let e = run
        .events
        .into_iter()
        .find(|e| e.syscall == syscall)
        .unwrap();
    assert_eq!(e.decision, decision);
    e
}

#[test]
fn permissive_lets_the_call_run() {
    one_call("unshare", false, "unshare=0\n", Decision::Allowed);
}

#[test]
fn enforce_fails_the_call_with_the_profiles_errno() {
    let e = one_call("unshare", true, "unshare=EPERM\n", Decision::Denied);
    assert_eq!(e.ruling.errno(), Some(libc::EPERM as u32));
    assert_eq!(e.ruling.errno_text().as_deref(), Some("EPERM"));
}

#[test]
fn enforce_gives_enosys_for_clone3_as_the_default_profile_says() {
    let e = one_call("clone3", true, "clone3=ENOSYS\n", Decision::Denied);
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    let expected = judge(DEFAULT_PROFILE).judge(Arch::native(), e.nr, [0; 6]);
    assert_eq!(e.rule, Some(expected.decider));
    assert_ne!(e.rule_path(), profile.path("defaultAction"));
    // Permissive: the call really reached the kernel, which rejects a NULL size-0 struct.
    let run = trace(&["clone3"], false);
    assert_ne!(run.stdout, "clone3=ENOSYS\n");
    assert_eq!(count(&run.events, "clone3"), 1);
}

#[test]
fn exit_status_and_signal_death_pass_through() {
    let run = trace(&["exit", "7"], false);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(7));
    assert_eq!(count(&run.events, "acct"), 1);
    let run = trace(&["die", &libc::SIGTERM.to_string()], true);
    let exit = run.result.unwrap();
    assert_eq!(exit, WorkloadExit::Signaled(libc::SIGTERM));
    assert_eq!(exit.code(), 128 + libc::SIGTERM as u8);
    assert_eq!(count(&run.events, "acct"), 1);
    assert_eq!(run.events[0].decision, Decision::Denied);
    assert_clean();
}

#[test]
fn a_missing_command_or_a_failed_start_is_an_error() {
    let profile = judge(DEFAULT_PROFILE);
    let err = Prepared::new(
        &[OsString::from("no-such-command-eperm")],
        profile.compiled.program,
    )
    .err()
    .unwrap();
    assert_eq!(Error::from(RunError::from(err)).exit_code(), 127);
    // A directory is found by nothing, so use a file that exists but cannot be exec'd
    // by the kernel: execve fails in the child, after the tracer let it go.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad");
    std::fs::write(&bad, b"\x7fELF garbage").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o755)).unwrap();
    let run = trace_with(
        vec![bad.into_os_string()],
        None,
        DEFAULT_PROFILE,
        false,
        Duration::from_secs(20),
    );
    let err = run.result.unwrap_err();
    assert!(err.to_string().contains("execve failed"), "{err}");
    assert_eq!(Error::from(err).exit_code(), 1);
}

#[test]
fn two_hundred_threads() {
    let run = trace(&["threads", "200"], false);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert_eq!(count(&run.events, "acct"), 200);
    assert_clean();
}

#[test]
fn three_hundred_short_lived_processes() {
    let run = trace(&["forks", "300", "16"], false);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert_eq!(count(&run.events, "acct"), 300);
    let pids: std::collections::HashSet<u32> = run.events.iter().map(|e| e.pid).collect();
    assert_eq!(pids.len(), 300);
    assert_clean();
}

#[test]
fn exec_chains_through_shells() {
    let h = helper().display().to_string();
    let script = format!("sh -c 'sh -c \"{h} calls 3\"; {h} calls 4'; sh -c 'sh -c \"exit 5\"'");
    let run = trace_shell(&script);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(5));
    assert_eq!(count(&run.events, "acct"), 7);
    let run = trace_shell("sh -c \"sh -c true\"");
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert_clean();
}

#[test]
fn signals_during_stops_neither_hang_nor_lose_calls() {
    let run = trace(&["signals", "3000"], false);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert_eq!(run.stdout, "usr1>0=1\n");
    assert_eq!(count(&run.events, "acct"), 3000);
    assert_clean();
}

#[test]
fn processes_left_behind_are_killed_and_reaped() {
    let run = trace(&["orphans", "5"], false);
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert!(count(&run.events, "acct") >= 5);
    assert_clean();
}

/// Allows everything but acct and unshare.
const KILL_PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [
    { "names": ["unshare"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
    { "names": ["acct"], "action": "SCMP_ACT_KILL_PROCESS" }
  ]
}"#;

#[test]
fn enforce_kills_when_the_profile_kills() {
    let run = trace_with(
        helper_argv(&["exit", "0"]),
        None,
        KILL_PROFILE,
        true,
        Duration::from_secs(20),
    );
    assert_eq!(run.result.unwrap(), WorkloadExit::Signaled(libc::SIGKILL));
    assert_eq!(run.events.len(), 1, "{:?}", run.events);
    let e = &run.events[0];
    assert_eq!((e.syscall.as_str(), e.decision), ("acct", Decision::Killed));
    assert_eq!(e.ruling.action_name(), "SCMP_ACT_KILL_PROCESS");
    assert_eq!(e.rule_path(), "syscalls[1]");
    assert_clean();
}

#[test]
fn the_errno_and_rule_come_from_the_rule_that_matched() {
    let run = trace_helper(&["unshare"], KILL_PROFILE, true, Duration::from_secs(20));
    assert_eq!(run.result.unwrap(), WorkloadExit::Exited(0));
    assert_eq!(run.stdout, "unshare=EACCES\n");
    assert_eq!(run.events.len(), 1, "{:?}", run.events);
    assert_eq!(run.events[0].rule_path(), "syscalls[0]");
    assert_eq!(run.events[0].decision, Decision::Denied);
}

#[test]
fn held_calls_wait_for_the_answer() {
    use eperm::run::HoldAnswer;
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = eperm::run::event_channel();
    let (hold_tx, hold_rx) = mpsc::channel::<eperm::run::HoldRequest>();
    // The "UI": deny the first acct, allow the rest, count what it was asked.
    let ui = std::thread::spawn(move || {
        let mut asked = 0;
        for req in hold_rx {
            asked += 1;
            let answer = if asked == 1 {
                HoldAnswer::Deny
            } else {
                HoldAnswer::AllowOnce
            };
            req.reply.send(answer).unwrap();
        }
        asked
    });
    let judge = judge(DEFAULT_PROFILE);
    let tracer = std::thread::spawn(move || {
        let containment = Containment::start().unwrap();
        let prepared = Prepared::new(
            &helper_argv(&["calls", "3"]),
            judge.compiled.program.clone(),
        )
        .unwrap()
        .traceme(true);
        let sup = Supervision {
            judge,
            policy: Policy::Hold(hold_tx),
            events: tx,
            started: Instant::now(),
            own_exe: None,
            layers: None,
            stacks: None,
        };
        run_traced(&prepared, &sup, &containment)
    });
    assert_eq!(tracer.join().unwrap().unwrap(), WorkloadExit::Exited(0));
    assert_eq!(ui.join().unwrap(), 3);
    let decisions: Vec<Decision> = rx.try_iter().map(|e| e.decision).collect();
    assert_eq!(
        decisions,
        [Decision::Denied, Decision::Allowed, Decision::Allowed]
    );
}

//! Trace mode's cost: a workload whose every call the profile would deny, traced by
//! eperm (permissive) and by `strace -f -o /dev/null`, side by side.
//!
//! Also eperm's tracer with the tracer thread and the workload pinned to one CPU, which
//! `eperm run` does not do (it would narrow the workload's own affinity, see README):
//! it shows what crossing CPUs costs per stop.
//!
//! `cargo bench --bench trace [-- CALLS RUNS]`

mod common;

use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::Mode;
use eperm::profile::{load_str, KernelVersion, Target};
use eperm::run::child::Prepared;
use eperm::run::contain::Containment;
use eperm::run::trace::run_traced;
use eperm::run::{Judge, Policy, Supervision, WorkloadExit};
use std::ffi::OsString;
use std::process::Command;
use std::sync::mpsc;
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
    let calls: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    let dir = tempfile::tempdir().expect("tempdir");
    let workload = common::compile_c(dir.path(), "getppid", WORKLOAD_C);
    let argv: Vec<OsString> = vec![workload.clone().into(), calls.to_string().into()];

    let mut native = Vec::new();
    let mut eperm = Vec::new();
    let mut eperm_tick = Vec::new();
    let mut eperm_pinned = Vec::new();
    let mut strace = Vec::new();
    // Interleaved, so that both see the same machine.
    for _ in 0..runs {
        let t = Instant::now();
        let status = Command::new(&workload).arg(calls.to_string()).status();
        assert!(status.expect("workload runs").success());
        native.push(t.elapsed());

        eperm.push(traced(&argv, calls, Consumer::Blocking, false));
        eperm_tick.push(traced(&argv, calls, Consumer::Tick, false));
        eperm_pinned.push(traced(&argv, calls, Consumer::Tick, true));

        let t = Instant::now();
        let status = Command::new("strace")
            .args(["-f", "-o", "/dev/null"])
            .arg(&workload)
            .arg(calls.to_string())
            .status()
            .expect("strace is installed");
        assert!(status.success());
        strace.push(t.elapsed());
    }
    let (native, eperm, eperm_tick, eperm_pinned, strace) = (
        median(native),
        median(eperm),
        median(eperm_tick),
        median(eperm_pinned),
        median(strace),
    );
    println!("{calls} would-be-denied getppid calls, median of {runs} runs:");
    println!("  native                 {native:>10.3?}");
    println!(
        "  eperm --mode trace     {eperm:>10.3?}  ({:.2} µs per call)",
        eperm.as_secs_f64() * 1e6 / calls as f64
    );
    println!(
        "  eperm, UI-like reader   {eperm_tick:>10.3?}  ({:.2} µs per call)",
        eperm_tick.as_secs_f64() * 1e6 / calls as f64
    );
    println!(
        "  the same, on one CPU     {eperm_pinned:>10.3?}  ({:.2} µs per call)",
        eperm_pinned.as_secs_f64() * 1e6 / calls as f64
    );
    println!("  strace -f -o /dev/null {strace:>10.3?}");
    let ratio = |d: Duration| d.as_secs_f64() / strace.as_secs_f64();
    println!(
        "  eperm / strace = {:.2}; with a reader that drains every 20 ms: {:.2} (goal <= 0.60); \
         on one CPU: {:.2}",
        ratio(eperm),
        ratio(eperm_tick),
        ratio(eperm_pinned)
    );
}

/// How the events are read.
#[derive(Clone, Copy)]
enum Consumer {
    /// Blocked in `recv`, woken for every event (like `--events FILE`).
    Blocking,
    /// Drains what arrived every 20 ms, like a UI at its frame rate.
    Tick,
}

/// One run under eperm's tracer, on its own thread as the session does it; `pinned`:
/// the tracer thread on CPU 0, and so the workload it forks.
fn traced(argv: &[OsString], calls: u64, consumer: Consumer, pinned: bool) -> Duration {
    let target = Target {
        arch: Arch::native(),
        caps: CapSet::docker_default(),
        kernel: KernelVersion::running(),
        runtime: None,
    };
    let profile = load_str("bench.json", PROFILE.to_string()).expect("profile loads");
    let judge = Judge::new(profile, &target, Mode::Trace).expect("profile compiles");
    let prepared = Prepared::new(argv, judge.compiled.program.clone())
        .expect("workload found")
        .traceme(true);
    let (tx, rx) = eperm::run::event_channel();
    let consumer = std::thread::spawn(move || match consumer {
        Consumer::Blocking => rx.iter().count() as u64,
        Consumer::Tick => {
            let mut n = 0;
            loop {
                std::thread::sleep(Duration::from_millis(20));
                loop {
                    match rx.try_recv() {
                        Ok(_) => n += 1,
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => return n,
                    }
                }
            }
        }
    });
    let containment = Containment::start().expect("containment");
    let t = Instant::now();
    let exit = std::thread::scope(|s| {
        s.spawn(|| {
            if pinned {
                pin_to_cpu0();
            }
            let sup = Supervision {
                judge,
                policy: Policy::Permissive,
                events: tx,
                started: Instant::now(),
                own_exe: None,
                layers: None,
                stacks: None,
            };
            run_traced(&prepared, &sup, &containment)
        })
        .join()
        .expect("tracer thread")
    });
    let elapsed = t.elapsed();
    containment.finish();
    assert_eq!(exit.expect("traced run"), WorkloadExit::Exited(0));
    assert_eq!(consumer.join().expect("consumer"), calls, "lost events");
    elapsed
}

fn pin_to_cpu0() {
    // SAFETY: cpu_set_t is plain data; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

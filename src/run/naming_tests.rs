//! Where a stack is named: by the events' receiver, not by the supervisor. A
//! real workload runs under each supervisor with stacks on; its events are
//! looked at as they wait in the queue (unnamed, the stack as taken) and as a
//! receiver gets them (named).

use super::local::{self, RunSpec};
use super::serve::{Attach, LogOptions};
use super::{event_channel, stack, Interception, Judge, Policy, Queued, Supervision};
use crate::profile::{load_str, Target};
use std::sync::Arc;
use std::time::Instant;

/// Everything allowed but mkdir, which the profile denies (the run is
/// permissive: the call runs, and fails on its own with ENOENT).
const PROFILE: &str = r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "syscalls": [{ "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO" }]
}"#;

/// The mkdir events of `mkdir` run under `mode`, as they wait in the queue.
fn queued_mkdirs(mode: Interception) -> Vec<Queued> {
    let profile = load_str("deny-mkdir.json", PROFILE.to_string()).unwrap();
    let judge = Judge::new(profile, &Target::docker_on_host(), mode.compile_mode()).unwrap();
    let (tx, rx) = event_channel();
    let sup = Supervision {
        judge,
        policy: Policy::Permissive,
        events: tx,
        started: Instant::now(),
        own_exe: std::env::current_exe().ok(),
        layers: None,
        stacks: Some(Arc::new(stack::Stacks::new())),
    };
    let spec = RunSpec {
        // mkdir's complaint kept off the test's output.
        argv: [
            "/bin/sh",
            "-c",
            "exec /bin/mkdir /nonexistent-eperm-naming/x 2>/dev/null",
        ]
        .map(Into::into)
        .to_vec(),
        mode,
        user: None,
    };
    let exit = local::run(spec, sup, Attach::default(), &LogOptions::default()).unwrap();
    assert_eq!(exit.code(), 1, "mkdir of a missing parent fails");
    rx.rx
        .try_iter()
        .map(|q| *q)
        .filter(|q| q.event.syscall.starts_with("mkdir"))
        .collect()
}

/// One run at a time: a run's cgroup is named after eperm's pid, so two runs
/// of one process share it, and the first to end kills the other's workload.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn the_receiver_names_the_stack(mode: Interception) {
    if !nix::unistd::Uid::effective().is_root() {
        println!("not root (the run needs a cgroup of its own): skipped");
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let queued = queued_mkdirs(mode);
    assert!(!queued.is_empty(), "no mkdir event in {}", mode.name());
    for q in queued {
        // The supervisor sent the stack as taken; nothing of it is named yet.
        assert!(q.event.stack.is_none(), "named by the supervisor");
        let taken = q.stack.as_ref().expect("a stack taken").name();
        // The receiver names it, as the stack names itself.
        let event = q.named();
        let frames = event.stack.expect("named when received");
        assert_eq!(frames, taken);
        assert!(
            frames.iter().any(|f| f.function.is_some()),
            "no frame named: {frames:?}"
        );
        assert!(
            frames
                .iter()
                .any(|f| f.object.as_bytes().ends_with(b"mkdir")),
            "mkdir's own frames: {frames:?}"
        );
    }
}

#[test]
fn a_notified_call_s_stack_is_named_by_the_receiver() {
    the_receiver_names_the_stack(Interception::Notify);
}

#[test]
fn a_traced_call_s_stack_is_named_by_the_receiver() {
    the_receiver_names_the_stack(Interception::Trace);
}

//! Starting workloads: the filter is installed in the child, failures are reported,
//! and nothing the workload started survives eperm.

use eperm::arch::Arch;
use eperm::compile::Mode;
use eperm::profile::{load_str, KernelVersion, Target, DEFAULT_PROFILE};
use eperm::run::child::{Prepared, SpawnError};
use eperm::run::contain::Containment;
use eperm::run::Judge;
use std::ffi::OsString;

fn default_filter(mode: Mode) -> Vec<eperm::compile::SockFilter> {
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    let target = Target {
        arch: Arch::native(),
        caps: eperm::caps::CapSet::docker_default(),
        kernel: KernelVersion::running(),
    };
    Judge::new(profile, &target, mode).unwrap().compiled.program
}

fn argv(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

fn wait(pid: i32) -> i32 {
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    status
}

#[test]
fn the_workload_runs_under_the_filter_and_its_exit_status_is_kept() {
    let prepared = Prepared::new(
        &argv(&["sh", "-c", "exit 7"]),
        default_filter(Mode::Enforce),
    )
    .unwrap();
    let mut child = prepared.spawn().unwrap();
    child
        .wait_started("sh", |_| panic!("no listener in enforce mode"))
        .unwrap();
    let status = wait(child.pid);
    assert!(libc::WIFEXITED(status));
    assert_eq!(libc::WEXITSTATUS(status), 7);
}

#[test]
fn the_filter_is_really_installed() {
    // Docker's default denies unshare(CLONE_NEWUSER) for a process without CAP_SYS_ADMIN in
    // enforce mode: the unshare tool reports "Operation not permitted" and fails.
    let Some(_) = eperm::run::child::find_program("unshare".as_ref()) else {
        panic!("util-linux's unshare is needed for this test");
    };
    let prepared = Prepared::new(
        &argv(&["unshare", "--user", "true"]),
        default_filter(Mode::Enforce),
    )
    .unwrap();
    let mut child = prepared.spawn().unwrap();
    child.wait_started("unshare", |_| {}).unwrap();
    let status = wait(child.pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) != 0,
        "unshare succeeded under the default profile"
    );
}

#[test]
fn a_missing_command_is_reported_before_anything_runs() {
    match Prepared::new(&argv(&["no-such-command-eperm"]), Vec::new()) {
        Err(SpawnError::NotFound(name)) => assert_eq!(name, "no-such-command-eperm"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a missing command was accepted"),
    }
}

#[test]
fn a_filter_the_kernel_refuses_is_reported_with_its_stage() {
    // An empty program is invalid: seccomp() fails with EINVAL in the child.
    let prepared = Prepared::new(&argv(&["true"]), Vec::new()).unwrap();
    let mut child = prepared.spawn().unwrap();
    let err = child.wait_started("true", |_| {}).unwrap_err().to_string();
    assert!(
        err.contains("seccomp(SECCOMP_SET_MODE_FILTER) failed"),
        "{err}"
    );
    wait(child.pid);
}

#[test]
fn nothing_the_workload_started_survives_containment() {
    let containment = Containment::start().unwrap();
    let prepared = Prepared::new(
        &argv(&["sh", "-c", "sleep 60 & sleep 60 & echo $! ; wait"]),
        default_filter(Mode::Enforce),
    )
    .unwrap()
    .cgroup(containment.cgroup_procs());
    let mut child = prepared.spawn().unwrap();
    child.wait_started("sh", |_| {}).unwrap();
    containment.watch_group(child.pid).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(running_in_group(child.pid).len(), 3, "sh and two sleeps");
    containment.finish();
    wait(child.pid);
    // Killed processes may linger as zombies until pid 1 reaps them; none may run.
    assert_eq!(
        running_in_group(child.pid),
        Vec::<i32>::new(),
        "workload processes survived"
    );
}

/// Processes of process group `pgid` that are not zombies, from /proc.
pub fn running_in_group(pgid: i32) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised comm: state, ppid, pgrp, ...
        let rest: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        if rest[2].parse() == Ok(pgid) && rest[0] != "Z" {
            pids.push(pid);
        }
    }
    pids
}

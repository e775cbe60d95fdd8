//! The counter against the kernel: a child in a cgroup of its own makes known
//! calls; the counts must be exactly those. Needs root (BPF and a cgroup).

use super::*;
use std::path::PathBuf;

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests need root (BPF, cgroups)"
    );
}

/// A fresh cgroup v2 directory, removed when dropped.
struct Cgroup(PathBuf);

impl Cgroup {
    fn new(tag: &str) -> Cgroup {
        let dir = PathBuf::from(format!(
            "/sys/fs/cgroup/unified/eperm-bpf-test-{tag}-{}",
            std::process::id()
        ));
        std::fs::create_dir(&dir).expect("make a cgroup (cgroup2 at /sys/fs/cgroup/unified)");
        Cgroup(dir)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Forks a child that joins `cg`, runs `body`, and exits; waits for it.
fn in_child(cg: &Cgroup, body: impl FnOnce()) {
    let procs = cg.0.join("cgroup.procs");
    // SAFETY: the child only makes syscalls and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = std::fs::write(&procs, b"0").is_ok();
        if ok {
            body();
        }
        // SAFETY: ends the child without running the harness's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(status, 0, "the child could not join the cgroup");
}

fn spec(cg: &Cgroup, hook: Hook) -> Spec {
    Spec {
        scope: Scope::Cgroup(cgroup_id(&cg.0).unwrap()),
        bootstrap_comm: None,
        filtered_only: false,
        ia32: true,
        watched: vec![(CallTable::Native, libc::SYS_personality as u32, 0)],
        hook,
    }
}

/// `check` on a counter attached to a fresh cgroup (named by `tag`), once per
/// hook: BTF and the raw tracepoint.
fn with_each_hook(tag: &str, check: impl Fn(&Cgroup, &Counter)) {
    require_root();
    for hook in [Hook::Btf, Hook::Raw] {
        let cg = Cgroup::new(tag);
        let counter = Counter::attach(&spec(&cg, hook)).expect("attach");
        check(&cg, &counter);
    }
}

#[test]
fn counts_a_cgroup_s_calls_exactly_and_samples_watched_values() {
    with_each_hook("exact", counts_exactly);
}

fn counts_exactly(cg: &Cgroup, counter: &Counter) {
    in_child(cg, || {
        for _ in 0..10_000 {
            // SAFETY: plain syscalls.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        for _ in 0..3 {
            // SAFETY: querying the persona changes nothing.
            unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) };
        }
    });
    let counts = counter.read().unwrap();
    let getppid = counts.calls[&(CallTable::Native, libc::SYS_getppid as u32)];
    assert_eq!(getppid, (10_000, 0));
    let persona = (
        CallTable::Native,
        libc::SYS_personality as u32,
        0,
        0xffff_ffff,
    );
    assert_eq!(counts.values.get(&persona), Some(&3), "{:?}", counts.values);
    // Outside the cgroup nothing is counted: this thread's own getppid.
    // SAFETY: plain syscall.
    unsafe { libc::syscall(libc::SYS_getppid) };
    assert_eq!(
        counter.read().unwrap().calls[&(CallTable::Native, libc::SYS_getppid as u32)].0,
        10_000
    );
}

#[test]
fn tells_ia32_calls_from_native_ones() {
    with_each_hook("ia32", tells_ia32);
}

fn tells_ia32(cg: &Cgroup, counter: &Counter) {
    in_child(cg, || {
        for _ in 0..5 {
            let mut nr: u64 = 64; // getppid on i386
                                  // SAFETY: int 0x80 from 64-bit code enters the ia32 syscall path;
                                  // getppid touches no memory and clobbers only eax (and r8–r11).
            unsafe {
                std::arch::asm!("int 0x80", inout("rax") nr, out("r8") _, out("r9") _,
                    out("r10") _, out("r11") _)
            };
            assert!(nr > 0);
        }
    });
    let counts = counter.read().unwrap();
    assert_eq!(
        counts.calls.get(&(CallTable::Ia32, 64)),
        Some(&(5, 0)),
        "{:?}",
        counts.calls
    );
}

#[test]
fn the_tracepoint_hook_counts_and_samples_as_the_raw_one_does() {
    require_root();
    if sys::tracepoint_id("raw_syscalls", "sys_enter").is_err() {
        // tracefs is not mounted at boot here; the test mounts it (root).
        let ok = std::process::Command::new("mount")
            .args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot mount tracefs at /sys/kernel/tracing");
    }
    let cg = Cgroup::new("tp");
    let counter = Counter::attach(&spec(&cg, Hook::Tracepoint)).expect("attach");
    in_child(&cg, || {
        for _ in 0..1000 {
            // SAFETY: plain syscalls.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
        // SAFETY: querying the persona changes nothing.
        unsafe { libc::syscall(libc::SYS_personality, 0xffff_ffffu64) };
    });
    let counts = counter.read().unwrap();
    assert_eq!(
        counts.calls[&(CallTable::Native, libc::SYS_getppid as u32)],
        (1000, 0)
    );
    let persona = (
        CallTable::Native,
        libc::SYS_personality as u32,
        0,
        0xffff_ffff,
    );
    assert_eq!(counts.values.get(&persona), Some(&1), "{:?}", counts.values);
}

#[test]
fn a_refused_program_s_error_carries_the_verifier_s_log() {
    require_root();
    let mut a = Asm::new();
    a.mov_reg(R0, R7).exit(); // r7 is never written: the verifier refuses
    let err = sys::load(ProgType::RawTracepoint, &a.finish(), "bad", 0).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("verifier log:") && text.contains("R7 !read_ok"),
        "{text}"
    );
}

/// Sets the calling thread's comm.
fn set_comm(name: &std::ffi::CStr) {
    // SAFETY: PR_SET_NAME reads a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

fn getppid(times: usize) {
    for _ in 0..times {
        // SAFETY: plain syscall.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
}

#[test]
fn bootstrap_calls_are_kept_apart_and_calls_before_any_filter_are_not_counted() {
    require_root();
    for hook in [Hook::Btf, Hook::Raw] {
        let cg = Cgroup::new("boot");
        let mut spec = spec(&cg, hook);
        let mut comm = [0u8; 16];
        comm[..10].copy_from_slice(b"eperm-boot");
        spec.bootstrap_comm = Some(comm);
        let counter = Counter::attach(&spec).expect("attach");
        in_child(&cg, || {
            set_comm(c"eperm-boot");
            getppid(7); // no filter yet: not the profile's business
                        // A filter that allows everything.
            let allow = [0x06u16 as u64 | (0x7fff_0000u64 << 32)];
            let prog = libc::sock_fprog {
                len: 1,
                filter: allow.as_ptr() as *mut libc::sock_filter,
            };
            // SAFETY: a valid one-instruction program; the child is root.
            let r =
                unsafe { libc::syscall(libc::SYS_seccomp, 1, 0, &prog as *const libc::sock_fprog) };
            assert_eq!(r, 0);
            getppid(5); // the bootstrap, under the filter
            set_comm(c"workload");
            getppid(3);
        });
        let counts = counter.read().unwrap();
        let getppid = counts.calls[&(CallTable::Native, libc::SYS_getppid as u32)];
        assert_eq!(getppid, (3, 5), "{hook:?}");
    }
}

/// Installs a filter that allows everything (seccomp mode 2, nothing changed).
fn allow_all_filter() {
    let mut insn = libc::sock_filter {
        code: 0x06, // BPF_RET | BPF_K
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ALLOW,
    };
    let prog = libc::sock_fprog {
        len: 1,
        filter: &mut insn,
    };
    // SAFETY: a one-instruction filter that allows every call, in the child only.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog),
            0
        );
    }
}

#[test]
fn counts_every_cgroup_below_a_parent_and_only_filtered_tasks() {
    require_root();
    let parent = Cgroup::new("below");
    let child = Cgroup(parent.0.join("container"));
    std::fs::create_dir(&child.0).unwrap();
    // The level of the parent: its depth below the cgroup2 mount.
    let level = parent
        .0
        .strip_prefix("/sys/fs/cgroup/unified")
        .unwrap()
        .components()
        .count();
    let mut spec = spec(&parent, Hook::Btf);
    spec.scope = Scope::Below {
        id: cgroup_id(&parent.0).unwrap(),
        level: level as u32,
    };
    spec.filtered_only = true;
    let counter = Counter::attach(&spec).expect("attach");
    let getppid = (CallTable::Native, libc::SYS_getppid as u32);
    // Unfiltered (a runtime's helper before the profile is loaded): not counted.
    in_child(&child, || {
        for _ in 0..100 {
            // SAFETY: plain syscall.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
    });
    assert_eq!(counter.read().unwrap().calls.get(&getppid), None);
    in_child(&child, || {
        allow_all_filter();
        for _ in 0..1_000 {
            // SAFETY: plain syscall.
            unsafe { libc::syscall(libc::SYS_getppid) };
        }
    });
    assert_eq!(counter.read().unwrap().calls[&getppid], (1_000, 0));
    drop(counter);
    drop(child);
}

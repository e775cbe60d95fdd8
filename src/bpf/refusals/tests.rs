//! The layer watcher against the kernel: a child in a cgroup of its own, under
//! an allow-all seccomp filter, drops to `nobody` and makes calls that fail for
//! known reasons; the records must name exactly those calls and the capability
//! checks that failed in each. Needs root (BPF and a cgroup).

use super::*;
use std::path::PathBuf;

struct Cgroup(PathBuf);

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// An allow-all filter (the watcher ignores tasks with none: eperm's bootstrap).
fn allow_all() {
    let insn = [libc::sock_filter {
        code: 0x06,
        jt: 0,
        jf: 0,
        k: 0x7fff_0000,
    }];
    let prog = libc::sock_fprog {
        len: 1,
        filter: insn.as_ptr() as *mut _,
    };
    // SAFETY: a valid one-instruction program; the child's own process.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        libc::prctl(libc::PR_SET_SECCOMP, libc::SECCOMP_MODE_FILTER, &prog);
    }
}

/// Forks a child that joins `cg`, installs a filter, becomes nobody, runs `body`.
fn as_nobody_in(cg: &Cgroup, body: impl FnOnce()) {
    let procs = cg.0.join("cgroup.procs");
    // SAFETY: the child only makes syscalls and exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = std::fs::write(&procs, b"0").is_ok();
        allow_all();
        // SAFETY: dropping privileges in the child.
        let dropped = unsafe {
            libc::setgroups(0, std::ptr::null()) == 0
                && libc::setresgid(65534, 65534, 65534) == 0
                && libc::setresuid(65534, 65534, 65534) == 0
        };
        if ok && dropped {
            body();
        }
        // SAFETY: ends the child without running the harness's destructors.
        unsafe { libc::_exit(if ok && dropped { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(
        status, 0,
        "the child could not join the cgroup or drop privileges"
    );
}

const CAP_DAC_READ_SEARCH: u64 = 1 << 2;
const CAP_KILL: u64 = 1 << 5;
const CAP_SYS_ADMIN: u64 = 1 << 21;

#[test]
fn failed_calls_come_with_the_capability_checks_that_failed_in_them() {
    if !nix::unistd::geteuid().is_root() {
        println!("skipped: the layer watcher needs root (BPF, cgroups)");
        return;
    }
    let cg = Cgroup(PathBuf::from(format!(
        "/sys/fs/cgroup/unified/eperm-refusals-test-{}",
        std::process::id()
    )));
    std::fs::create_dir(&cg.0).expect("make a cgroup (cgroup2 at /sys/fs/cgroup/unified)");
    let id = super::super::counter::cgroup_id(&cg.0).unwrap();
    let watcher = match Watcher::attach(Scope::Cgroup(id), None) {
        Ok(w) => w,
        Err(e) => panic!("attach: {e}"),
    };
    as_nobody_in(&cg, || {
        // SAFETY: plain syscalls that fail for want of privilege.
        unsafe {
            libc::sethostname(b"x".as_ptr() as *const libc::c_char, 1);
            libc::open(c"/etc/shadow".as_ptr(), libc::O_RDONLY);
            libc::kill(1, 0);
            libc::getppid();
            libc::open(c"/nonexistent".as_ptr(), libc::O_RDONLY);
        }
    });
    let got = watcher.drain().unwrap();
    let calls: Vec<(u32, u32)> = got.iter().map(|r| (r.nr, r.errno)).collect();
    assert_eq!(
        calls,
        [
            (libc::SYS_sethostname as u32, 1),
            (libc::SYS_openat as u32, 13),
            (libc::SYS_kill as u32, 1)
        ],
        "{got:#?}"
    );
    assert_eq!(got[0].failed_caps, CAP_SYS_ADMIN);
    assert!(
        got[1].failed_caps & CAP_DAC_READ_SEARCH != 0,
        "{:x}",
        got[1].failed_caps
    );
    assert_eq!(got[1].strings[1], b"/etc/shadow");
    assert_eq!(got[2].failed_caps, CAP_KILL);
    assert_eq!(got[0].filters, Some(1));
    assert_eq!((got[1].uid, got[1].gid), (65534, 65534));
    assert!(got.iter().all(|r| r.pid == r.tid && !r.ia32));
    // This thread's own failing call is outside the cgroup: not recorded.
    // SAFETY: a plain syscall.
    unsafe { libc::kill(1, 0) };
    assert!(watcher.drain().unwrap().is_empty());
}

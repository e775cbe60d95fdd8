//! Decoding a syscall whose arguments point into a real process's memory.

use eperm::arch::Arch;
use eperm::sources::decode::decode;
use eperm::sources::memory::{ProcMem, ProcessMemory, TraceeMemory};

/// This process stands in for a tracee: the path lives in a heap buffer and
/// is read back through process_vm_readv and through /proc/PID/mem.
#[test]
fn openat_path_read_from_a_live_process() {
    let path: Box<[u8]> = b"/etc/passwd\0".to_vec().into_boxed_slice();
    let arch = Arch::native();
    let nr = arch.syscall_nr("openat").expect("openat exists");
    // O_CLOEXEC: the same on x86, arm, aarch64 and riscv64.
    let cloexec = 0o2000000;
    let args = [(-100i64) as u64, path.as_ptr() as u64, cloexec, 0, 0, 0];
    let pid = std::process::id();
    let readers: [&dyn TraceeMemory; 2] = [&ProcessMemory { pid }, &ProcMem { pid }];
    for mem in readers {
        let d = decode(arch, nr, &args, Some(mem));
        assert_eq!(d.name, "openat");
        assert_eq!(
            d.text,
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)"
        );
        assert_eq!(d.paths, ["/etc/passwd"]);
    }
    // Without memory the pointer is shown, not guessed at.
    let d = decode(arch, nr, &args, None);
    assert_eq!(
        d.text,
        format!(
            "openat(AT_FDCWD, {:#x}, O_RDONLY|O_CLOEXEC)",
            path.as_ptr() as u64
        )
    );
    assert!(d.paths.is_empty());
}

/// A forked child stops itself holding a path in memory the parent never
/// wrote; the parent decodes a mkdirat that points at it.
#[test]
fn mkdirat_path_read_from_a_stopped_child() {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let arch = Arch::native();
    let Some(nr) = arch.syscall_nr("mkdirat") else {
        return;
    };
    let mut buf = vec![0u8; 64].into_boxed_slice();
    let addr = buf.as_mut_ptr() as u64;
    // SAFETY: the child only copies bytes, raises SIGSTOP and _exits.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            buf[..17].copy_from_slice(b"/tmp/child\tdir\n!\0");
            let _ = kill(nix::unistd::getpid(), Signal::SIGSTOP);
            unsafe { libc::_exit(0) };
        }
        ForkResult::Parent { child } => {
            let st = waitpid(child, Some(WaitPidFlag::WUNTRACED)).expect("waitpid");
            assert!(matches!(st, WaitStatus::Stopped(_, Signal::SIGSTOP)));
            let mem = ProcessMemory {
                pid: child.as_raw() as u32,
            };
            let d = decode(arch, nr, &[3, addr, 0o700, 0, 0, 0], Some(&mem));
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
            assert_eq!(d.text, "mkdirat(3, \"/tmp/child\\tdir\\n!\", 0700)");
            assert_eq!(d.paths, ["/tmp/child\tdir\n!"]);
        }
    }
}

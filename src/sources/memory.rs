//! Reading a tracee's memory: the strings and structs behind pointer arguments.

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;
use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;

pub use crate::syscalls::memory::{SliceMemory, TraceeMemory};

/// A process's memory through `process_vm_readv`, falling back to
/// [`ProcMem`] where that syscall is refused (EPERM under some LSMs, ENOSYS
/// in some sandboxes).
#[derive(Clone, Copy, Debug)]
pub struct ProcessMemory {
    pub pid: u32,
}

/// A process's memory through `pread` on `/proc/PID/mem` (needs ptrace access).
#[derive(Clone, Copy, Debug)]
pub struct ProcMem {
    pub pid: u32,
}

impl ProcessMemory {
    fn vm_readv(&self, addr: u64, buf: &mut [u8]) -> Result<usize, nix::Error> {
        let base = usize::try_from(addr).map_err(|_| nix::Error::EFAULT)?;
        let remote = [RemoteIoVec {
            base,
            len: buf.len(),
        }];
        let pid = Pid::from_raw(i32::try_from(self.pid).map_err(|_| nix::Error::ESRCH)?);
        process_vm_readv(pid, &mut [IoSliceMut::new(buf)], &remote)
    }
}

impl TraceeMemory for ProcessMemory {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        if len == 0 {
            return Some(buf);
        }
        match self.vm_readv(addr, &mut buf) {
            Ok(n) if n == len => Some(buf),
            // A short read or EFAULT: part of the range is not mapped.
            Ok(_) | Err(nix::Error::EFAULT) | Err(nix::Error::ESRCH) => None,
            Err(_) => ProcMem { pid: self.pid }.read(addr, len),
        }
    }
}

impl TraceeMemory for ProcMem {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let f = File::open(format!("/proc/{}/mem", self.pid)).ok()?;
        let mut done = 0;
        while done < len {
            match f.read_at(&mut buf[done..], addr.checked_add(done as u64)?) {
                Ok(0) => return None,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers() -> [Box<dyn TraceeMemory>; 2] {
        let pid = std::process::id();
        [Box::new(ProcessMemory { pid }), Box::new(ProcMem { pid })]
    }

    #[test]
    fn reads_this_process() {
        let data: Box<[u8]> = b"hello\0world".to_vec().into_boxed_slice();
        let addr = data.as_ptr() as u64;
        for mem in readers() {
            assert_eq!(mem.read(addr, 5).as_deref(), Some(&b"hello"[..]));
            assert_eq!(mem.read_cstr(addr, 100).as_deref(), Some(&b"hello"[..]));
            assert_eq!(mem.read_cstr(addr + 6, 3).as_deref(), Some(&b"wor"[..]));
            assert_eq!(mem.read(0, 8), None);
            assert_eq!(mem.read_cstr(8, 8), None);
        }
    }

    /// A string that ends just before an unmapped page reads; one that runs
    /// into it does not.
    #[test]
    fn cstr_stops_at_the_page_it_ends_on() {
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();
        unsafe {
            std::ptr::write_bytes(base, b'x', page);
            // Unmapped, not PROT_NONE: /proc/PID/mem reads PROT_NONE pages.
            assert_eq!(libc::munmap(base.add(page).cast(), page), 0);
        }
        let end = base as u64 + page as u64;
        for mem in readers() {
            unsafe { *base.add(page - 1) = 0 };
            assert_eq!(mem.read_cstr(end - 5, 4096).unwrap(), b"xxxx");
            // No NUL before the protected page: unreadable, not a short string.
            unsafe { *base.add(page - 1) = b'x' };
            assert_eq!(mem.read_cstr(end - 5, 4096), None);
            assert_eq!(mem.read_cstr(end - 5, 5).unwrap(), b"xxxxx");
            assert_eq!(mem.read(end - 5, 6), None);
        }
        unsafe { libc::munmap(base.cast(), page) };
    }

    #[test]
    fn reads_a_forked_child() {
        use nix::sys::signal::{kill, Signal};
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        use nix::unistd::{fork, ForkResult};
        // The child writes a string into memory it allocated after the fork,
        // at the address the parent also uses for its copy, then stops.
        let mut buf = vec![0u8; 64].into_boxed_slice();
        let addr = buf.as_mut_ptr() as u64;
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                buf[..11].copy_from_slice(b"from child\0");
                let _ = kill(nix::unistd::getpid(), Signal::SIGSTOP);
                unsafe { libc::_exit(0) };
            }
            ForkResult::Parent { child } => {
                let st = waitpid(child, Some(WaitPidFlag::WUNTRACED)).unwrap();
                assert!(matches!(st, WaitStatus::Stopped(_, Signal::SIGSTOP)));
                let mem = ProcessMemory {
                    pid: child.as_raw() as u32,
                };
                let got = mem.read_cstr(addr, 64);
                let _ = kill(child, Signal::SIGKILL);
                let _ = waitpid(child, None);
                assert_eq!(got.as_deref(), Some(&b"from child"[..]));
                assert_eq!(buf[0], 0, "the parent's copy is untouched");
            }
        }
    }
}

//! Reading a tracee's memory: the strings and structs behind pointer arguments,
//! and the reader threads that make such a read give up after a deadline.
//!
//! A read of another process's memory can block for as long as that process
//! likes. Measured on kernel 6.18: a page registered with userfaultfd
//! (`UFFDIO_REGISTER_MODE_MISSING`, no thread serving it) made `process_vm_readv`
//! wait in `handle_userfault` (state D: killable, so a caught signal such as
//! SIGALRM does not end it) for 610 s, until the holder died, when it returned
//! the bytes; with `UFFD_USER_MODE_ONLY` (what unprivileged users must ask for
//! when `vm.unprivileged_userfaultfd` is 0) or `UFFD_FEATURE_SIGBUS` it failed at
//! once with EFAULT. `pread` of `/proc/PID/mem` failed at once with EIO in all
//! three cases (its page walk does not allow the fault to wait), but it waits on
//! the process's `mmap_lock` and on pages of a FUSE file the workload may serve
//! itself. So no read is trusted to end: [`within_deadline`] runs it on a reader
//! thread and gives it up after [`READ_DEADLINE`].

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;
use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

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

/// How long a read of a workload's memory may take before it is given up and the
/// argument shown unread. A healthy read is a few `process_vm_readv` calls of at
/// most a page each: microseconds of work. What can stretch it is waiting, not
/// working: the reader thread being scheduled on a loaded machine (a few
/// scheduler slices of ~3 ms each with a build on both CPUs: tens of ms at worst)
/// and a major fault on a page the workload has swapped out or mapped from a
/// file (a disk read: milliseconds, tens on a slow disk). Measured here, a read
/// of a 257-byte string through the reader thread, 20,000 times with a load
/// average of 5 to 7 on 2 CPUs: median 7 µs, 99.9th percentile 0.5 ms, worst
/// 4.3 ms. 250 ms is several times the worst of those, yet short enough that a hostile workload which
/// makes every read stall costs the supervisor a quarter of a second per read,
/// and at most [`MAX_STUCK`] of them before reads are not attempted at all.
pub const READ_DEADLINE: Duration = Duration::from_millis(250);

/// At most this many reader threads may be left stuck in a read at once, in the
/// whole process. A stuck thread ends when the read does: when the workload dies
/// (its userfaultfd is closed and the fault fails or is served) — eperm kills
/// every workload at the end of its run. Past the bound no read is attempted:
/// every pointer argument shows unread until one of them ends.
pub const MAX_STUCK: usize = 8;

type Job = Box<dyn FnOnce() + Send>;

/// Reader threads waiting for work, each reached through its job channel.
static IDLE: Mutex<Vec<mpsc::Sender<Job>>> = Mutex::new(Vec::new());
/// Reader threads given up on and not yet ended.
static STUCK: AtomicUsize = AtomicUsize::new(0);

/// Runs `read` on a reader thread and waits for it at most [`READ_DEADLINE`];
/// `None` when it took longer (the thread is left to finish or die with the
/// workload, and a fresh one serves the next read) or when [`MAX_STUCK`] readers
/// are stuck already.
///
/// The calling thread needs no special standing: memory reads (unlike ptrace
/// requests) may come from any thread of eperm, so the tracer stays the one
/// thread that makes ptrace requests.
pub fn within_deadline<R: Send + 'static>(read: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    within(READ_DEADLINE, read)
}

/// How many reader threads are stuck in a read right now.
pub fn stuck_readers() -> usize {
    STUCK.load(Ordering::SeqCst)
}

pub fn within<R: Send + 'static>(
    deadline: Duration,
    read: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
    let worker = match idle {
        Some(worker) => worker,
        None if STUCK.load(Ordering::SeqCst) >= MAX_STUCK => return None,
        None => spawn_reader()?,
    };
    let (tx, rx) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = tx.send(read());
    });
    if worker.send(job).is_err() {
        return None; // its thread is gone (a read panicked)
    }
    match rx.recv_timeout(deadline) {
        Ok(got) => {
            IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(worker);
            Some(got)
        }
        // The read panicked and took its thread with it.
        Err(mpsc::RecvTimeoutError::Disconnected) => None,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            // Counted before its job channel closes: the thread only uncounts
            // itself once it sees the channel closed.
            STUCK.fetch_add(1, Ordering::SeqCst);
            drop(worker);
            None
        }
    }
}

fn spawn_reader() -> Option<mpsc::Sender<Job>> {
    let (tx, rx) = mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("eperm-memory".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            while let Ok(job) = rx.recv() {
                job();
            }
            // The channel closes only when the thread was given up on.
            STUCK.fetch_sub(1, Ordering::SeqCst);
        })
        .ok()?;
    Some(tx)
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
        // SAFETY: no pointers.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: a fresh anonymous mapping, at an address the kernel picks.
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
        // SAFETY: the first page is mapped and writable; the second is ours to unmap.
        unsafe {
            std::ptr::write_bytes(base, b'x', page);
            // Unmapped, not PROT_NONE: /proc/PID/mem reads PROT_NONE pages.
            assert_eq!(libc::munmap(base.add(page).cast(), page), 0);
        }
        let end = base as u64 + page as u64;
        for mem in readers() {
            // SAFETY: the last byte of the first page, still mapped and writable.
            unsafe { *base.add(page - 1) = 0 };
            assert_eq!(mem.read_cstr(end - 5, 4096).unwrap(), b"xxxx");
            // No NUL before the protected page: unreadable, not a short string.
            // SAFETY: as above.
            unsafe { *base.add(page - 1) = b'x' };
            assert_eq!(mem.read_cstr(end - 5, 4096), None);
            assert_eq!(mem.read_cstr(end - 5, 5).unwrap(), b"xxxxx");
            assert_eq!(mem.read(end - 5, 6), None);
        }
        // SAFETY: the first page, mapped above and used no more.
        unsafe { libc::munmap(base.cast(), page) };
    }

    /// A read that never ends is given up at the deadline; the next read gets a
    /// fresh thread; the stuck one is uncounted once its read ends.
    #[test]
    fn a_stuck_read_is_given_up_and_replaced() {
        let (release, blocked) = mpsc::channel::<()>();
        // Other tests may leave a reader stuck for a moment: count from here.
        let before = stuck_readers();
        let start = std::time::Instant::now();
        let got = within(Duration::from_millis(50), move || blocked.recv().is_ok());
        assert_eq!(got, None);
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(stuck_readers() > before);
        assert_eq!(within(Duration::from_secs(5), || 7), Some(7));
        release.send(()).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while stuck_readers() > before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(stuck_readers() <= before);
    }

    /// The kernel fact this module is built on: a page registered with
    /// userfaultfd and served by no one makes `process_vm_readv` wait (root, or
    /// `vm.unprivileged_userfaultfd=1`); the read is given up, and its thread
    /// ends once the userfaultfd is closed.
    #[test]
    fn a_read_of_a_userfaultfd_page_is_given_up() {
        const UFFDIO_API: libc::c_ulong = 0xc018_aa3f;
        const UFFDIO_REGISTER: libc::c_ulong = 0xc020_aa00;
        const UFFD_API: u64 = 0xaa;
        const MODE_MISSING: u64 = 1;
        // SAFETY: plain syscall; the result is a new fd or -1.
        let uffd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) } as i32;
        if uffd < 0 {
            eprintln!(
                "skipped: no userfaultfd here ({})",
                std::io::Error::last_os_error()
            );
            return;
        }
        // SAFETY: the kernel reads and writes a struct uffdio_api (3 u64s).
        let api_ok = unsafe {
            let mut api = [UFFD_API, 0, 0];
            libc::ioctl(uffd, UFFDIO_API, api.as_mut_ptr()) == 0
        };
        assert!(api_ok, "{}", std::io::Error::last_os_error());
        // SAFETY: no pointers.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        // SAFETY: a fresh anonymous mapping, at an address the kernel picks; no
        // thread of this process touches it (only the reader, remotely).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // struct uffdio_register: range (start, len), mode, ioctls (written back).
        let mut reg = [base as u64, page as u64, MODE_MISSING, 0];
        // SAFETY: the kernel reads and writes that struct (4 u64s).
        let registered = unsafe { libc::ioctl(uffd, UFFDIO_REGISTER, reg.as_mut_ptr()) } == 0;
        assert!(registered, "{}", std::io::Error::last_os_error());
        let before = stuck_readers();
        let mem = ProcessMemory {
            pid: std::process::id(),
        };
        let addr = base as u64;
        let start = std::time::Instant::now();
        let got = within(Duration::from_millis(100), move || mem.read(addr, 8));
        assert_eq!(got, None, "the read should have stalled");
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(stuck_readers() > before);
        // Closing the userfaultfd wakes the fault: the page is then filled with
        // zeros as usual, the read returns and its thread ends.
        // SAFETY: our own fd, closed once.
        unsafe { libc::close(uffd) };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while stuck_readers() > before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(stuck_readers() <= before);
        // SAFETY: the page mapped above, used by no one now.
        unsafe { libc::munmap(base, page) };
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
        // SAFETY: the child only writes into a buffer made before the fork, stops
        // itself and _exits: it allocates nothing and takes no lock.
        match unsafe { fork() }.unwrap() {
            ForkResult::Child => {
                buf[..11].copy_from_slice(b"from child\0");
                let _ = kill(nix::unistd::getpid(), Signal::SIGSTOP);
                // SAFETY: ends the child without running the test harness's exit.
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

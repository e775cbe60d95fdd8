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
//! thread and gives it up after [`READ_DEADLINE`]. The reader runs on its caller's
//! CPU (see [`Placement`]), so that the hop costs two local context switches.

use nix::sched::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::{gettid, Pid};
use std::any::Any;
use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::Thread;
use std::time::{Duration, Instant};

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
/// file (a disk read: milliseconds, tens on a slow disk). Measured here with the
/// earlier hand-off (a channel to a reader the scheduler placed), a read of a
/// 257-byte string, 20,000 times with a load average of 5 to 7 on 2 CPUs: median
/// 7 µs, 99.9th percentile 0.5 ms, worst 4.3 ms; the reader on its caller's CPU
/// (see [`Placement`]) takes ~3.5 µs a read on a quiet machine, its tail under
/// load not measured apart. 250 ms is many times the worst of those, yet short
/// enough that a hostile workload which makes every read stall costs the
/// supervisor a quarter of a second per read, and at most [`MAX_STUCK`] of them
/// before reads are not attempted at all.
pub const READ_DEADLINE: Duration = Duration::from_millis(250);

/// At most this many reader threads may be left stuck in a read at once, in the
/// whole process. A stuck thread ends when the read does: when the workload dies
/// (its userfaultfd is closed and the fault fails or is served) — eperm kills
/// every workload at the end of its run. Past the bound no read is attempted:
/// every pointer argument shows unread until one of them ends.
pub const MAX_STUCK: usize = 8;

type Answer = Box<dyn Any + Send>;
type Job = Box<dyn FnOnce() -> Answer + Send>;

/// A reader thread, reached through its slot, and the one CPU it is pinned to.
struct Reader {
    slot: Arc<Mutex<Slot>>,
    thread: Thread,
    tid: Pid,
    cpu: Placement,
}

/// What passes between a reader and its caller, under the slot's lock. Measured
/// per decoded call in notify mode (the seccomp round trip alone is 2): through
/// std channels 4.9 context switches (their own locks made the two threads
/// contend), through this slot and `unpark` both ways 4.6, with the caller
/// yielding first ([`SPIN`]) 4.0.
#[derive(Default)]
struct Slot {
    job: Option<Job>,
    /// The thread waiting for the answer, once it sleeps (not while it yields).
    caller: Option<Thread>,
    answer: Option<Answer>,
    /// Given up on: the reader ends once its read does, and uncounts itself.
    given_up: bool,
    /// The reader ended (a read panicked).
    gone: bool,
}

/// Where a reader runs. Waking a thread on another, idle CPU costs tens of µs on a
/// VM (measured: 28 µs per read on 2 vCPUs, more than the whole seccomp round
/// trip); a reader on the caller's own CPU is two local context switches, the
/// caller yielding to it while it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Wherever it was spawned (eperm's own CPU set).
    Free,
    Pinned(usize),
    /// Pinning it failed (a cpuset that does not allow it): left free.
    Unpinnable,
}

/// How long a caller yields its CPU to the reader before it sleeps until woken.
/// The reader, on the same CPU, then runs at once, and its answer is there when
/// the caller runs again: two context switches per read, where waking each other
/// took 2.6 on average (the caller, woken, at times preempted the reader before it
/// slept). A read that takes longer (a fault served from disk) costs this much CPU
/// before the caller sleeps.
const SPIN: Duration = Duration::from_micros(50);

/// Reader threads waiting for work.
static IDLE: Mutex<Vec<Reader>> = Mutex::new(Vec::new());
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
    let until = Instant::now() + deadline;
    let cpu = sched_getcpu().ok();
    let mut reader = match idle_reader(cpu) {
        Some(reader) => reader,
        None if STUCK.load(Ordering::SeqCst) >= MAX_STUCK => return None,
        None => spawn_reader()?,
    };
    // The reader is alive here (idle, or just spawned): its tid is its own.
    if let Some(cpu) = cpu {
        reader.pin(cpu);
    }
    let (got, reader) = reader.ask(until, read)?;
    lock(&IDLE).push(reader);
    Some(got)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An idle reader, one already on `cpu` if there is one (no re-pinning).
fn idle_reader(cpu: Option<usize>) -> Option<Reader> {
    let mut idle = lock(&IDLE);
    let at = cpu
        .and_then(|cpu| idle.iter().rposition(|r| r.cpu == Placement::Pinned(cpu)))
        .or_else(|| idle.len().checked_sub(1))?;
    Some(idle.swap_remove(at))
}

impl Reader {
    /// Has the reader run `read`, waiting for it until `until`; the answer and the
    /// reader, ready for another read; `None` when it was given up on or is gone.
    fn ask<R: Send + 'static>(
        self,
        until: Instant,
        read: impl FnOnce() -> R + Send + 'static,
    ) -> Option<(R, Reader)> {
        lock(&self.slot).job = Some(Box::new(move || Box::new(read())));
        self.thread.unpark();
        let spin_until = Instant::now() + SPIN;
        loop {
            let mut slot = lock(&self.slot);
            if let Some(got) = slot.answer.take() {
                slot.caller = None;
                drop(slot);
                return Some((*got.downcast().ok()?, self));
            }
            if slot.gone {
                return None; // the read panicked and took its thread with it
            }
            let now = Instant::now();
            if now >= until {
                drop(slot);
                self.give_up();
                return None;
            }
            if now < spin_until {
                drop(slot);
                std::thread::yield_now();
                continue;
            }
            // Woken by the answer: registered under the lock the answer is given under.
            slot.caller = Some(std::thread::current());
            drop(slot);
            std::thread::park_timeout(until - now);
        }
    }

    /// Leaves the reader to end once its read does (at once if it has none),
    /// never to be used again.
    fn give_up(self) {
        let mut slot = lock(&self.slot);
        if slot.gone {
            return;
        }
        slot.given_up = true;
        // Counted under the lock the reader uncounts itself under.
        STUCK.fetch_add(1, Ordering::SeqCst);
        drop(slot);
        self.thread.unpark();
    }

    /// Pins the reader to `cpu`, the one its caller runs on, unless it is there
    /// already. The caller's CPU is in eperm's own set (`taskset`, a cpuset), so
    /// this narrows the reader's set, never widens it; where the kernel refuses
    /// anyway, the reader is put back on the caller's whole set and left there.
    fn pin(&mut self, cpu: usize) {
        if matches!(self.cpu, Placement::Unpinnable) || self.cpu == Placement::Pinned(cpu) {
            return;
        }
        let mut one = CpuSet::new();
        let pinned = one.set(cpu).is_ok() && sched_setaffinity(self.tid, &one).is_ok();
        self.cpu = if pinned {
            Placement::Pinned(cpu)
        } else {
            if self.cpu != Placement::Free {
                if let Ok(all) = sched_getaffinity(Pid::from_raw(0)) {
                    let _ = sched_setaffinity(self.tid, &all);
                }
            }
            Placement::Unpinnable
        };
    }
}

/// The reader thread's last act, however it ends: uncounts itself if it was given
/// up on, or tells its caller it is gone.
struct Ending(Arc<Mutex<Slot>>);

impl Drop for Ending {
    fn drop(&mut self) {
        let mut slot = lock(&self.0);
        if slot.given_up {
            STUCK.fetch_sub(1, Ordering::SeqCst);
        } else {
            slot.gone = true;
            if let Some(caller) = slot.caller.take() {
                caller.unpark();
            }
        }
    }
}

fn spawn_reader() -> Option<Reader> {
    let slot = Arc::new(Mutex::new(Slot::default()));
    let (tx, rx) = mpsc::sync_channel(1);
    let ending = Ending(slot.clone());
    let thread = std::thread::Builder::new()
        .name("eperm-memory".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let _ = tx.send(gettid()); // for pinning
            serve(&ending.0);
        })
        .ok()?
        .thread()
        .clone();
    // A new thread's first instructions: nothing of the workload's to wait on.
    let tid = rx.recv().ok()?;
    Some(Reader {
        slot,
        thread,
        tid,
        cpu: Placement::Free,
    })
}

/// A reader thread's loop: each job in turn, each answer handed to the thread
/// that waits for it, until it is given up on.
fn serve(slot: &Mutex<Slot>) {
    loop {
        let job = loop {
            let mut slot = lock(slot);
            if slot.given_up {
                return;
            }
            if let Some(job) = slot.job.take() {
                break job;
            }
            drop(slot);
            std::thread::park();
        };
        let answer = job();
        let mut slot = lock(slot);
        if slot.given_up {
            return; // its caller is gone: the answer reaches no one
        }
        slot.answer = Some(answer);
        if let Some(caller) = slot.caller.take() {
            caller.unpark();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests that count stuck readers run one at a time: another's reader
    /// ending meanwhile would move the count they compare with.
    static STUCK_TESTS: Mutex<()> = Mutex::new(());

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
        let _one_at_a_time = lock(&STUCK_TESTS);
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
        let _one_at_a_time = lock(&STUCK_TESTS);
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

    /// Runs `f` with the calling thread pinned to the CPU it is on, then puts its
    /// affinity back.
    fn on_one_cpu<T>(f: impl FnOnce(usize) -> T) -> T {
        let all = sched_getaffinity(Pid::from_raw(0)).unwrap();
        let cpu = sched_getcpu().unwrap();
        let mut one = CpuSet::new();
        one.set(cpu).unwrap();
        sched_setaffinity(Pid::from_raw(0), &one).unwrap();
        let got = f(cpu);
        sched_setaffinity(Pid::from_raw(0), &all).unwrap();
        got
    }

    /// The CPUs thread `tid` may run on.
    fn cpus_of(tid: Pid) -> Vec<usize> {
        let set = sched_getaffinity(tid).unwrap();
        (0..CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap())
            .collect()
    }

    /// A read runs on its caller's CPU, the reader pinned there and nowhere else.
    #[test]
    fn a_reader_runs_on_its_callers_cpu() {
        let (cpu, (tid, ran_on)) = on_one_cpu(|cpu| {
            let got = within(Duration::from_secs(5), || {
                (gettid(), sched_getcpu().unwrap())
            });
            (cpu, got.unwrap())
        });
        assert_ne!(tid, gettid(), "read on a reader thread");
        assert_eq!(ran_on, cpu);
        // Still its reader's placement while it waits for the next job (unless
        // another test took it and moved it since: then it is pinned elsewhere).
        assert_eq!(cpus_of(tid).len(), 1);
    }

    /// Where the kernel refuses the caller's CPU (here one that does not exist),
    /// the reader is left on the caller's whole set and reads as before.
    #[test]
    fn a_reader_that_cannot_be_pinned_reads_unpinned() {
        let nowhere = CpuSet::count() - 1;
        if std::path::Path::new(&format!("/sys/devices/system/cpu/cpu{nowhere}")).exists() {
            eprintln!("skipped: CPU {nowhere} exists here");
            return;
        }
        let mut reader = spawn_reader().unwrap();
        reader.pin(sched_getcpu().unwrap());
        assert!(matches!(reader.cpu, Placement::Pinned(_)));
        reader.pin(nowhere);
        assert_eq!(reader.cpu, Placement::Unpinnable);
        assert_eq!(cpus_of(reader.tid), cpus_of(Pid::from_raw(0)));
        // It serves reads still.
        let tid = reader.tid;
        let until = Instant::now() + Duration::from_secs(5);
        let (got, reader) = reader.ask(until, gettid).unwrap();
        assert_eq!(got, tid);
        // Not left idle: other tests count on idle readers being pinned.
        reader.give_up();
    }

    /// Pinned to the caller's CPU, a stuck reader is given up at the deadline all
    /// the same; its late answer reaches no one (each reader has its own answer
    /// channel, and one given up on is never used again); and it is uncounted once
    /// its read ends.
    #[test]
    fn a_stuck_pinned_reader_is_given_up_and_its_answer_lost() {
        let (release, blocked) = mpsc::channel::<()>();
        let _one_at_a_time = lock(&STUCK_TESTS);
        let before = stuck_readers();
        on_one_cpu(|cpu| {
            let got = within(Duration::from_millis(50), move || {
                let _ = blocked.recv();
                (gettid(), usize::MAX)
            });
            assert_eq!(got, None);
            assert!(stuck_readers() > before);
            // Readers are served on this CPU meanwhile: the stuck one takes none of it.
            for i in 0..20 {
                let (_, n) = within(Duration::from_secs(5), move || (gettid(), i)).unwrap();
                assert_eq!(n, i);
                if i == 10 {
                    release.send(()).unwrap();
                }
            }
            assert_eq!(within(Duration::from_secs(5), sched_getcpu), Some(Ok(cpu)));
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while stuck_readers() > before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(stuck_readers() <= before);
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

//! The user-notification supervisor: the workload's filter turns every
//! would-be-denied call into `SECCOMP_RET_USER_NOTIF`; this module receives each
//! one on the listener, judges it, reports it and answers it (run it, or fail it).
//!
//! The listener is created in the child by `seccomp(NEW_LISTENER)` and is
//! close-on-exec, so eperm copies it out of the child with `pidfd_getfd` while
//! the child waits (see [`super::child`]).

use super::{
    interference, stack, Answer, Call, Caller, HoldAnswer, Interception, Judgement, Policy,
    Supervision,
};
use crate::arch::Arch;
use crate::compile::bpf::{self, SockFilter};
use crate::compile::Compiled;
use crate::profile::Action;
use crate::sources::cgroup::{self, Container};
use crate::sources::event::{Decision, Interference, Source};
use crate::untrusted::Untrusted;
use std::collections::{HashMap, HashSet};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

// ioctl numbers: _IOWR('!', 0, struct seccomp_notif) and friends.
const IOCTL_NOTIF_RECV: libc::c_ulong = 0xC050_2100;
const IOCTL_NOTIF_SEND: libc::c_ulong = 0xC018_2101;
const IOCTL_NOTIF_ID_VALID: libc::c_ulong = 0x4008_2102;
const IOCTL_NOTIF_SET_FLAGS: libc::c_ulong = 0x4008_2104;

const USER_NOTIF_FLAG_CONTINUE: u32 = 1;
const USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

const SECCOMP_GET_ACTION_AVAIL: libc::c_long = 2;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;

#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(super) struct RawSeccompData {
    pub(super) nr: i32,
    pub(super) arch: u32,
    instruction_pointer: u64,
    pub(super) args: [u64; 6],
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
pub(super) struct Notif {
    pub(super) id: u64,
    /// The calling thread, in eperm's pid namespace.
    pub(super) pid: u32,
    flags: u32,
    pub(super) data: RawSeccompData,
}

#[repr(C)]
#[derive(Default)]
struct NotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

/// Can this kernel notify, and can eperm reach the listener (pidfd_getfd)?
pub fn available() -> bool {
    let action = SECCOMP_RET_USER_NOTIF;
    // SAFETY: the kernel reads one u32.
    let avail = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_GET_ACTION_AVAIL,
            0,
            &action as *const u32,
        )
    } == 0;
    avail && pidfd_open(std::process::id() as i32).is_ok()
}

fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the result is a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the fd is new and ours.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Is `fd` (ours) a seccomp listener?
fn is_listener(fd: RawFd) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .is_ok_and(|target| target.as_os_str() == "anon_inode:seccomp notify")
}

/// Copies the listener at `fd` out of process `pid`, retrying until its seccomp()
/// has created it (or `timeout` passes, or the child is gone).
pub fn take_listener(pid: i32, fd: RawFd, timeout: Duration) -> io::Result<OwnedFd> {
    let pidfd = pidfd_open(pid)?;
    let deadline = Instant::now() + timeout;
    loop {
        // SAFETY: plain syscall; the result is a new fd or -1.
        let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
        if got >= 0 {
            // SAFETY: the fd is new and ours.
            let owned = unsafe { OwnedFd::from_raw_fd(got as RawFd) };
            if is_listener(owned.as_raw_fd()) {
                return Ok(owned);
            }
            // Something else still sits at that number: seccomp() has not run yet.
        } else {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::ESRCH) {
                return Err(err);
            }
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the workload's seccomp listener never appeared",
            ));
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Wakes the supervisor on the CPU the workload waits on (kernel ≥ 6.6): much
/// cheaper round trips. Returns whether the kernel took it.
pub fn set_sync_wake_up(listener: &OwnedFd) -> bool {
    let flags = USER_NOTIF_FD_SYNC_WAKE_UP;
    // SAFETY: the ioctl reads one u64 by value.
    unsafe { libc::ioctl(listener.as_raw_fd(), IOCTL_NOTIF_SET_FLAGS, flags) == 0 }
}

/// The workload's filter with a prologue that also notifies `execve` and `execveat`
/// on every arch of `compiled`, so that a [`Supervisor`] told so with
/// [`Supervisor::execs_notified`] knows when a process changes program and can keep
/// each thread's comm and exe between calls instead of reading `/proc` for every one.
/// The prologue only loads `nr` and `arch`, compares with constants and returns a
/// constant: the kernel's action cache still lets allowed syscalls through for free.
///
/// `None` (use the program as it is) when the profile logs an exec (intercepting it
/// would stop the kernel's record), when the program does not begin with a load, or
/// when the result would be too long.
pub fn notify_execs(compiled: &Compiled) -> Option<Vec<SockFilter>> {
    let program = &compiled.program;
    // The prologue leaves the accumulator loaded: the program must not depend on it.
    if program.first()?.code != bpf::LD_ABS {
        return None;
    }
    // (AUDIT_ARCH, the exec numbers under it); x32 shares x86_64's AUDIT_ARCH.
    let mut blocks: Vec<(u32, Vec<u32>)> = Vec::new();
    for &arch in &compiled.arches {
        for name in ["execve", "execveat"] {
            let Some(nr) = arch.syscall_nr(name) else {
                continue;
            };
            if compiled.evaluate(arch, nr, [0; 6]).verdict.action == Action::Log {
                return None;
            }
            let audit = arch.audit_arch();
            match blocks.iter_mut().find(|(a, _)| *a == audit) {
                Some((_, nrs)) => nrs.push(nr),
                None => blocks.push((audit, vec![nr])),
            }
        }
    }
    if blocks.is_empty() {
        return None;
    }
    // Per block: ld arch; jeq AUDIT (else skip the block); ld nr; jeq nr -> notify …;
    // ja main. Then `ja main` for the last block's miss, `ret USER_NOTIF`, main.
    let len: usize = blocks.iter().map(|(_, nrs)| 4 + nrs.len()).sum::<usize>() + 2;
    if len + program.len() > bpf::MAX_INSNS {
        return None;
    }
    let notify_at = len - 1;
    let main_at = len;
    let mut out = Vec::with_capacity(len + program.len());
    for (audit, nrs) in &blocks {
        let block = nrs.len() + 2; // after the arch test: ld nr, the jeqs, ja
        out.push(SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_ARCH));
        out.push(SockFilter::new(bpf::JEQ_K, 0, block as u8, *audit));
        out.push(SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_NR));
        for &nr in nrs {
            let to_notify = notify_at - out.len() - 1;
            out.push(SockFilter::new(bpf::JEQ_K, to_notify as u8, 0, nr));
        }
        let to_main = main_at - out.len() - 1;
        out.push(SockFilter::new(bpf::JA, 0, 0, to_main as u32));
    }
    out.push(SockFilter::new(bpf::JA, 0, 0, 1));
    out.push(SockFilter::new(bpf::RET_K, 0, 0, SECCOMP_RET_USER_NOTIF));
    debug_assert_eq!(out.len(), len);
    out.extend_from_slice(program);
    Some(out)
}

/// Counters, for messages and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub received: u64,
    /// Notifications whose caller was gone before the answer arrived.
    pub vanished: u64,
}

/// A call as the profile sees it: its arch, number and arguments.
type CallKey = (Arch, u32, [u64; 6]);

/// The supervisor for one listener.
pub struct Supervisor<'a> {
    listener: OwnedFd,
    sup: &'a Supervision,
    /// `(arch, nr)` the user allowed for good while holding.
    always: HashSet<(Arch, u32)>,
    /// What eperm knows of each calling thread (see [`Task`]).
    tasks: HashMap<u32, Task>,
    /// The filter notifies every exec (see [`notify_execs`]): cached comm and exe
    /// stay valid until the process execs.
    execs_notified: bool,
    /// The listener came from a container runtime (see [`Supervisor::in_container`]).
    container: bool,
    /// Processes whose last exec notification came less than [`IDENTITY_TTL`] ago.
    execs: HashMap<u32, Instant>,
    /// The last call judged and its judgement: a flood of one call (where the
    /// supervisor's own cost shows most) is judged once, not at every call.
    last_judged: Option<(CallKey, Judgement)>,
    stats: Stats,
}

impl<'a> Supervisor<'a> {
    pub fn new(listener: OwnedFd, sup: &'a Supervision) -> Supervisor<'a> {
        set_sync_wake_up(&listener);
        Supervisor {
            listener,
            sup,
            always: HashSet::new(),
            tasks: HashMap::new(),
            execs_notified: false,
            container: false,
            execs: HashMap::new(),
            last_judged: None,
            stats: Stats::default(),
        }
    }

    /// Tells the supervisor that the filter notifies every `execve` and `execveat`
    /// (it was built by [`notify_execs`]): each thread's comm and exe are then read
    /// once and trusted until its process execs, re-checked every [`IDENTITY_TTL`]
    /// (for a rename or a thread id reused). Without this, comm is re-read for
    /// every notification, since an exec could have happened unseen.
    pub fn execs_notified(mut self, yes: bool) -> Self {
        self.execs_notified = yes;
        self
    }

    /// Tells the supervisor that a container runtime loaded the filter: what
    /// eperm's listener breaks is then avoided by another mode than trace.
    pub fn in_container(mut self) -> Self {
        self.container = true;
        self
    }

    /// Answers notifications until every process using the filter is gone (POLLHUP)
    /// or `stop` becomes readable or hung up.
    pub fn run(mut self, stop: BorrowedFd<'_>) -> io::Result<Stats> {
        let listener = self.listener.try_clone()?;
        serve(&listener, stop, |notif| {
            self.stats.received += 1;
            self.handle(&notif);
        })?;
        Ok(self.stats)
    }

    fn handle(&mut self, notif: &Notif) {
        let nr = notif.data.nr as u32;
        let Some(arch) = Arch::from_audit(notif.data.arch, nr) else {
            // The filter kills foreign arches before it could notify; run it anyway.
            self.answer(notif.id, Answer::Continue);
            return;
        };
        let tid = notif.pid;
        let judgement = self.judge(arch, nr, notif.data.args);
        if self.answered_early(notif, arch, &judgement) {
            return;
        }
        // The clock read once for the call: the caller's cache and the event's time.
        let now = Instant::now();
        let (pid, caller) = self.task(tid, now);
        let call = Call {
            pid,
            tid,
            arch,
            nr,
            args: notif.data.args,
        };
        // Decoded now, while the caller waits in the call. Its memory can still change
        // under us: another thread of its process, or another process through
        // process_vm_writev, can rewrite what the arguments point at before the kernel
        // reads it once the call runs (a held call is read again before it is let
        // through: see `Supervision::decide_answered`).
        let mut event = self.sup.event_from(
            Source::Notify,
            &call,
            &judgement,
            Decision::Allowed,
            caller,
            now,
        );
        let holding = matches!(self.sup.policy, Policy::Hold(_));
        // The stack is taken while the caller waits in the call; named by the
        // events' receiver, or now when the user is asked (the prompt shows it).
        let regs = match self.sup.wants_stack(pid, nr) {
            true => self.blocked_regs(tid),
            false => None,
        };
        let mut stack = regs.and_then(|regs| self.sup.take_stack(pid, regs));
        if holding {
            event.stack = stack.take().map(|s| s.name());
        }
        // Before asking the user about it, make sure the caller still waits (and that
        // what was read from its memory was really its own, not a reused pid's).
        if holding && !self.valid(notif.id) {
            self.stats.vanished += 1;
            return;
        }
        let decision = if self.always.contains(&(arch, nr)) {
            Answer::Continue
        } else {
            // A caller that dies (or is interrupted) while held is withdrawn.
            let sup = self.sup;
            let id = notif.id;
            let (decision, answer) =
                sup.decide_answered(&call, &mut event, judgement.verdict, &|| self.valid(id));
            if answer == Some(HoldAnswer::AllowAlways) {
                self.always.insert((arch, nr));
            }
            decision
        };
        event.decision = match decision {
            Answer::Continue => Decision::Allowed,
            Answer::Fail(_) => Decision::Denied,
            Answer::Kill => Decision::Killed,
        };
        if decision == Answer::Kill {
            self.kill_caller(notif.id, call.pid);
        }
        // The answer is taken only while the caller still waits in this call, so a
        // taken answer also proves that the memory read above was the caller's. A
        // refused one means the call was interrupted (a signal: it will be made again
        // and notified anew) or its process died: it is not reported. A killed caller
        // refuses the answer too, but its call was made and is reported.
        let answered = answer(&self.listener, notif.id, decision);
        if !answered {
            self.stats.vanished += 1;
        }
        if answered || decision == Answer::Kill || holding {
            let _ = self.sup.events.send_with_stack(event, stack);
        }
    }

    /// What the profile says of the call: the judge's word, kept for the same
    /// call again (the judge never changes during a run).
    fn judge(&mut self, arch: Arch, nr: u32, args: [u64; 6]) -> Judgement {
        let key = (arch, nr, args);
        match &self.last_judged {
            Some((last, judgement)) if *last == key => judgement.clone(),
            _ => {
                let judgement = self.sup.judge.judge(arch, nr, args);
                self.last_judged = Some((key, judgement.clone()));
                judgement
            }
        }
    }

    /// Calls notified for eperm's own sake, not the profile's: a `seccomp` call
    /// (does eperm's listener break it?) and an exec the profile lets run (a
    /// new program in the thread). Answered here; `true` when so.
    fn answered_early(&mut self, notif: &Notif, arch: Arch, judgement: &Judgement) -> bool {
        let nr = notif.data.nr as u32;
        let allowed = matches!(judgement.verdict.action, Action::Allow | Action::Log);
        if allowed && arch.syscall_name(nr) == Some("seccomp") {
            let args = notif.data.args;
            match interference::of(Interception::Notify, arch, nr, &args, |_| false) {
                Some(why) => self.interfered(notif, arch, judgement, why),
                None => self.answer(notif.id, Answer::Continue),
            }
            return true;
        }
        if self.execs_notified && is_exec(arch, nr) {
            self.exec_seen(notif.pid);
            if allowed {
                self.answer(notif.id, Answer::Continue);
                return true;
            }
        }
        false
    }

    /// A call that fails because of eperm's listener: let it run (the kernel
    /// fails it), and report whose doing that is.
    fn interfered(&mut self, notif: &Notif, arch: Arch, judgement: &Judgement, why: Interference) {
        let now = Instant::now();
        let (pid, caller) = self.task(notif.pid, now);
        let call = Call {
            pid,
            tid: notif.pid,
            arch,
            nr: notif.data.nr as u32,
            args: notif.data.args,
        };
        let mut event = self.sup.event_from(
            Source::Notify,
            &call,
            judgement,
            Decision::Denied,
            caller,
            now,
        );
        event.interference = Some(match why {
            Interference::Listener if self.container => Interference::ContainerListener,
            why => why,
        });
        if answer(&self.listener, notif.id, Answer::Continue) {
            let _ = self.sup.events.send(event);
        }
    }

    /// An exec notification from `tid`: what is cached of its process is stale once
    /// the exec is done, and a thread other than the leader takes the leader's id.
    /// A single-threaded process waits in the exec, so its next call comes after it;
    /// other threads of a multi-threaded one may make calls until the exec kills them,
    /// so its identity is read afresh for every call for a while.
    fn exec_seen(&mut self, tid: u32) {
        let (tgid, threads) = tgid_and_threads(tid).unwrap_or((tid, 0));
        if let Some(stacks) = &self.sup.stacks {
            stacks.forget(tgid); // its mappings are about to be a new program's
        }
        self.tasks.retain(|&t, task| t != tid && task.tgid != tgid);
        if threads == 1 {
            return;
        }
        let now = Instant::now();
        if self.execs.len() >= MAX_TASKS {
            self.execs
                .retain(|_, at| now.duration_since(*at) < IDENTITY_TTL);
        }
        self.execs.insert(tgid, now);
    }

    /// The calling thread's process and what its events tell of it, from the
    /// cache when still current (`now`: the clock as the call is handled).
    fn task(&mut self, tid: u32, now: Instant) -> (u32, Caller) {
        let trusted = |task: &Task, execs: &HashMap<u32, Instant>| {
            now.duration_since(task.read) < IDENTITY_TTL
                // An exec under way may finish after this read: distrust for a while.
                && execs
                    .get(&task.tgid)
                    .is_none_or(|at| now.duration_since(*at) >= IDENTITY_TTL)
        };
        let fresh = match self.tasks.get_mut(&tid) {
            Some(task) if self.execs_notified && trusted(task, &self.execs) => true,
            Some(task) => task.refresh(now),
            None => false,
        };
        if !fresh {
            if self.tasks.len() >= MAX_TASKS {
                self.tasks.clear(); // most are dead threads; the live ones come back
            }
            match Task::open(tid, now) {
                Some(task) => {
                    self.tasks.insert(tid, task);
                }
                None => {
                    self.tasks.remove(&tid);
                    let container = cgroup::of_pid(tid);
                    let caller = Caller {
                        comm: Untrusted::default(),
                        exe: None,
                        container,
                    };
                    return (tid, caller);
                }
            }
        }
        let task = self
            .tasks
            .get_mut(&tid)
            .expect("inserted above or found fresh");
        task.container_at(now);
        let caller = Caller {
            comm: task.comm.clone(),
            exe: task.exe.clone(),
            container: task.container.clone(),
        };
        (task.tgid, caller)
    }

    /// Where thread `tid`, waiting in a call, is stopped: through its cached
    /// `/proc/TID/syscall`, opened afresh when that fails (a cached thread gone and
    /// its tid now the caller's).
    fn blocked_regs(&mut self, tid: u32) -> Option<stack::Regs> {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return stack::blocked_regs(tid);
        };
        if let Some(Ok(regs)) = task.syscall_file.as_ref().map(stack::blocked_regs_in) {
            return regs;
        }
        let file = std::fs::File::open(format!("/proc/{tid}/syscall")).ok()?;
        let regs = stack::blocked_regs_in(&file).ok().flatten();
        task.syscall_file = Some(file);
        regs
    }

    /// Kills process `pid`, which made notification `id`, unless the caller is gone:
    /// its pid could name another process by now. The pidfd is taken first and the
    /// notification checked after, so the signal goes to the process that waited
    /// (the kernel's documented order for acting on a caller).
    fn kill_caller(&self, id: u64, pid: u32) {
        let Ok(pidfd) = pidfd_open(pid as i32) else {
            return; // gone already
        };
        if !self.valid(id) {
            return;
        }
        // SAFETY: plain syscall on our own pidfd; no pointers (siginfo is NULL).
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                pidfd.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }

    /// Is the notification still pending (its caller alive and waiting)?
    pub fn valid(&self, id: u64) -> bool {
        // SAFETY: the ioctl reads one u64.
        unsafe {
            libc::ioctl(
                self.listener.as_raw_fd(),
                IOCTL_NOTIF_ID_VALID,
                &id as *const u64,
            ) == 0
        }
    }

    fn answer(&mut self, id: u64, decision: Answer) {
        if !answer(&self.listener, id, decision) {
            // ENOENT: the caller was killed or interrupted meanwhile; nothing to do.
            self.stats.vanished += 1;
        }
    }
}

/// Waits on `listener` and hands each notification to `handle`, until every process
/// using the filter is gone (POLLHUP) or `stop` becomes readable or hung up.
///
/// The wait is the RECV ioctl itself: a `poll` before every RECV would cost a system
/// call per notification (~1 µs of a ~7 µs round trip here), and with
/// `SYNC_WAKE_UP` the kernel wakes a blocked RECV on the caller's CPU just as it
/// wakes a poll. A RECV only returns for a notification or a signal, so a helper
/// thread waits (without being woken by notifications) for `stop` or the hangup and
/// then interrupts it with [`WAKE_SIGNAL`]. Where that signal is taken by someone
/// else, poll and RECV as before.
pub(super) fn serve(
    listener: &OwnedFd,
    stop: BorrowedFd<'_>,
    mut handle: impl FnMut(Notif),
) -> io::Result<()> {
    if !wake_signal_ready() {
        return serve_polling(listener, stop, handle);
    }
    let stopping = AtomicBool::new(false);
    let served = AtomicBool::new(false);
    // SAFETY: pthread_self has no preconditions; the sigset is initialised by
    // sigemptyset before use. A thread started with the signal blocked would never
    // be interrupted: unblock it here.
    let me = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, WAKE_SIGNAL());
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::pthread_self()
    };
    let (quit_read, quit_write) = pipe()?;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Wakes for stop, our return (quit) or the listener's hangup: no events
            // are asked of the listener, so notifications do not wake this thread.
            let mut fds = [
                pollfd(stop.as_raw_fd(), libc::POLLIN),
                pollfd(quit_read.as_raw_fd(), libc::POLLIN),
                pollfd(listener.as_raw_fd(), 0),
            ];
            loop {
                // SAFETY: three valid pollfds.
                let n = unsafe { libc::poll(fds.as_mut_ptr(), 3, -1) };
                if n > 0 || io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    break;
                }
            }
            stopping.store(true, Ordering::SeqCst);
            // Again until it is seen: the signal may land just before the RECV.
            // The serving thread outlives this one (the scope joins it first).
            while !served.load(Ordering::SeqCst) {
                // SAFETY: `me` is alive until this thread is joined.
                unsafe { libc::pthread_kill(me, WAKE_SIGNAL()) };
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        let result = loop {
            if stopping.load(Ordering::SeqCst) {
                break Ok(());
            }
            match receive(listener) {
                Ok(Some(notif)) => handle(notif),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
        };
        served.store(true, Ordering::SeqCst);
        drop(quit_write);
        result
    })
}

/// [`serve`] with a poll before every RECV.
fn serve_polling(
    listener: &OwnedFd,
    stop: BorrowedFd<'_>,
    mut handle: impl FnMut(Notif),
) -> io::Result<()> {
    loop {
        let ready = crate::sources::wait::wait(listener.as_raw_fd(), stop, -1)?;
        if ready.stop {
            return Ok(());
        }
        if ready.data {
            if let Some(notif) = receive(listener)? {
                handle(notif);
            }
        } else if ready.hangup {
            return Ok(());
        }
    }
}

/// The signal that interrupts a supervisor blocked in RECV when it must stop: a
/// real-time signal that the C library leaves to applications.
#[allow(non_snake_case)]
fn WAKE_SIGNAL() -> libc::c_int {
    libc::SIGRTMIN() + 6
}

extern "C" fn on_wake_signal(_: libc::c_int) {}

/// Installs the no-op handler for [`WAKE_SIGNAL`] (without SA_RESTART, so that it
/// interrupts RECV) unless something else handles that signal already.
fn wake_signal_ready() -> bool {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *READY.get_or_init(|| {
        let sig = WAKE_SIGNAL();
        // SAFETY: sigaction reads and writes the structs given; the handler is
        // async-signal-safe (it does nothing).
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                || old.sa_sigaction != libc::SIG_DFL
            {
                return false;
            }
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_wake_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            libc::sigaction(sig, &action, std::ptr::null_mut()) == 0
        }
    })
}

fn pollfd(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two fds into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds are new and ours.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// One notification from `listener`; `None` when its caller went away before we read
/// it, or when a signal interrupted the wait.
pub(super) fn receive(listener: &OwnedFd) -> io::Result<Option<Notif>> {
    // The kernel insists on a zeroed struct.
    let mut notif = Notif::default();
    // SAFETY: the kernel fills a struct of the size the ioctl number encodes.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            IOCTL_NOTIF_RECV,
            &mut notif as *mut Notif,
        )
    };
    if r == 0 {
        return Ok(Some(notif));
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        // Interrupted (the caller checks why), or the caller died or was
        // interrupted before we read it.
        Some(libc::EINTR) | Some(libc::ENOENT) => Ok(None),
        _ => Err(err),
    }
}

/// Answers notification `id`: run the call, or fail it. `false` when the caller is gone.
pub(super) fn answer(listener: &OwnedFd, id: u64, decision: Answer) -> bool {
    let mut resp = NotifResp {
        id,
        ..NotifResp::default()
    };
    match decision {
        Answer::Continue => resp.flags = USER_NOTIF_FLAG_CONTINUE,
        Answer::Fail(errno) => resp.error = -(errno as i32),
        // The process is being killed; the answer only releases the thread.
        Answer::Kill => resp.error = -libc::EPERM,
    }
    // SAFETY: the kernel reads a struct of the size the ioctl number encodes.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            IOCTL_NOTIF_SEND,
            &resp as *const NotifResp,
        )
    };
    r == 0
}

/// At most this many threads are cached (each holds an fd).
const MAX_TASKS: usize = 256;

/// How long a thread's comm and exe are trusted without a look at `/proc` when every
/// exec is notified: only a rename (PR_SET_NAME) can go unseen, for at most this
/// long, as in trace mode. Reading comm for every call costs ~1.5 µs of a ~9 µs
/// round trip here.
pub const IDENTITY_TTL: Duration = Duration::from_millis(100);

/// `execve` or `execveat` on `arch`.
fn is_exec(arch: Arch, nr: u32) -> bool {
    arch.syscall_name(nr)
        .is_some_and(|name| name == "execve" || name == "execveat")
}

/// A calling thread. Reading `exe`, `comm` and the tgid costs three /proc path walks
/// per call; instead `comm` stays open and is re-read with one pread. A new comm
/// means an exec happened (the kernel sets comm from the new file's name), so `exe`
/// is read again; a dead thread (the pread fails) is forgotten, which also covers a
/// tid reused later. An exec of a file with the same name as before keeps the old
/// `exe` until comm changes: only `bootstrap` and the shown exe could be stale.
struct Task {
    comm_file: std::fs::File,
    /// When comm was last read.
    read: Instant,
    tgid: u32,
    comm: Untrusted,
    /// Kept as events carry it: converted once, not for every call.
    exe: Option<Untrusted>,
    /// Its process's container, and when that was looked up: kept here as long
    /// as [`cgroup::of_pid`] would keep it, which saves its lock and lookup.
    container: Option<Container>,
    container_read: Instant,
    /// Its `/proc/TID/syscall`, once a stack of it was taken (see
    /// [`stack::blocked_regs_in`]).
    syscall_file: Option<std::fs::File>,
}

impl Task {
    fn open(tid: u32, now: Instant) -> Option<Task> {
        let comm_file = std::fs::File::open(format!("/proc/{tid}/comm")).ok()?;
        let mut task = Task {
            comm_file,
            read: now,
            tgid: tgid(tid).unwrap_or(tid),
            comm: Untrusted::default(),
            exe: None,
            container: None,
            container_read: now,
            syscall_file: None,
        };
        task.comm = task.read_comm()?;
        task.exe = exe_of(task.tgid);
        task.container = cgroup::of_pid(task.tgid);
        Some(task)
    }

    /// Looks its container up again once [`cgroup::PID_TTL`] has passed (a
    /// process can be moved to another cgroup).
    fn container_at(&mut self, now: Instant) {
        if now.duration_since(self.container_read) >= cgroup::PID_TTL {
            self.container = cgroup::of_pid(self.tgid);
            self.container_read = now;
        }
    }

    fn read_comm(&self) -> Option<Untrusted> {
        use std::os::unix::fs::FileExt;
        let mut buf = [0u8; 64];
        let n = self.comm_file.read_at(&mut buf, 0).ok()?;
        Some(Untrusted::new(crate::sources::procinfo::comm_bytes(
            &buf[..n],
        )))
    }

    /// Re-reads comm; `false` when the thread is gone.
    fn refresh(&mut self, now: Instant) -> bool {
        let Some(comm) = self.read_comm() else {
            return false;
        };
        self.read = now;
        if comm != self.comm {
            self.comm = comm;
            self.exe = exe_of(self.tgid);
        }
        true
    }
}

/// The program process `tgid` runs.
fn exe_of(tgid: u32) -> Option<Untrusted> {
    let path = std::fs::read_link(format!("/proc/{tgid}/exe")).ok()?;
    Some(Untrusted::from(path.as_path()))
}

/// The process a thread belongs to, and how many threads that process has.
fn tgid_and_threads(tid: u32) -> Option<(u32, u32)> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let field = |key: &str| -> Option<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((field("Tgid:")?, field("Threads:")?))
}

/// The process a thread belongs to.
pub(super) fn tgid(tid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::compile::{compile, Mode};
    use crate::profile::{load_str, resolve, Target};

    /// The size an ioctl number encodes (bits 16..30).
    fn ioctl_size(nr: libc::c_ulong) -> usize {
        ((nr >> 16) & 0x3fff) as usize
    }

    #[test]
    fn the_structs_are_as_large_as_the_ioctls_say() {
        assert_eq!(std::mem::size_of::<Notif>(), 80);
        assert_eq!(ioctl_size(IOCTL_NOTIF_RECV), std::mem::size_of::<Notif>());
        assert_eq!(std::mem::size_of::<NotifResp>(), 24);
        assert_eq!(
            ioctl_size(IOCTL_NOTIF_SEND),
            std::mem::size_of::<NotifResp>()
        );
        assert_eq!(ioctl_size(IOCTL_NOTIF_ID_VALID), 8);
        assert_eq!(ioctl_size(IOCTL_NOTIF_SET_FLAGS), 8);
    }

    /// `struct seccomp_notif` as the kernel writes it: id, pid, flags, then
    /// `struct seccomp_data` (nr, arch, instruction_pointer, args[6]).
    fn kernel_bytes(id: u64, pid: u32, nr: i32, arch: u32, ip: u64, args: [u64; 6]) -> [u8; 80] {
        let mut b = Vec::new();
        b.extend_from_slice(&id.to_ne_bytes());
        b.extend_from_slice(&pid.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        b.extend_from_slice(&nr.to_ne_bytes());
        b.extend_from_slice(&arch.to_ne_bytes());
        b.extend_from_slice(&ip.to_ne_bytes());
        for a in args {
            b.extend_from_slice(&a.to_ne_bytes());
        }
        b.try_into().expect("80 bytes")
    }

    /// What `receive` hands on: the bytes read as a `Notif`.
    fn read(bytes: &[u8; 80]) -> Notif {
        // SAFETY: Notif is plain old data of exactly 80 bytes (checked above); any
        // bit pattern is a valid value, and read_unaligned needs no alignment.
        unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Notif>()) }
    }

    #[test]
    fn a_notification_is_read_where_the_kernel_writes_it() {
        let args = [1, 0xffff_ffff_ffff_fff0, 3, 4, 5, u64::MAX];
        let audit = Arch::X86_64.audit_arch();
        let openat = Arch::X86_64.syscall_nr("openat").unwrap();
        let n = read(&kernel_bytes(
            0x1122_3344_5566_7788,
            4242,
            openat as i32,
            audit,
            0x40_1000,
            args,
        ));
        assert_eq!((n.id, n.pid, n.flags), (0x1122_3344_5566_7788, 4242, 0));
        assert_eq!((n.data.nr, n.data.arch), (openat as i32, audit));
        assert_eq!(n.data.instruction_pointer, 0x40_1000);
        assert_eq!(n.data.args, args);
        // As `handle` reads the call: x32's numbers come under x86_64's AUDIT_ARCH
        // with their bit set, and -1 (a call a tracer skipped) is no syscall.
        let x32_read = Arch::X32.syscall_nr("read").unwrap();
        let n = read(&kernel_bytes(1, 1, x32_read as i32, audit, 0, [0; 6]));
        assert_eq!(
            Arch::from_audit(n.data.arch, n.data.nr as u32),
            Some(Arch::X32)
        );
        let n = read(&kernel_bytes(1, 1, -1, audit, 0, [0; 6]));
        assert_eq!(n.data.nr as u32, u32::MAX);
        assert_eq!(Arch::X86_64.syscall_name(n.data.nr as u32), None);
        let i386 = read(&kernel_bytes(1, 1, 5, Arch::X86.audit_arch(), 0, [0; 6]));
        let arch = Arch::from_audit(i386.data.arch, i386.data.nr as u32);
        assert_eq!(arch.and_then(|a| a.syscall_name(5)), Some("open"));
    }

    #[test]
    fn an_answer_is_laid_out_as_the_kernel_reads_it() {
        let resp = NotifResp {
            id: 7,
            val: -2,
            error: -libc::ENOSYS,
            flags: USER_NOTIF_FLAG_CONTINUE,
        };
        // SAFETY: reading the 24 bytes of a plain repr(C) struct with no padding.
        let bytes: [u8; 24] = unsafe { std::mem::transmute(resp) };
        assert_eq!(bytes[0..8], 7u64.to_ne_bytes());
        assert_eq!(bytes[8..16], (-2i64).to_ne_bytes());
        assert_eq!(bytes[16..20], (-libc::ENOSYS).to_ne_bytes());
        assert_eq!(bytes[20..24], 1u32.to_ne_bytes());
    }

    #[test]
    fn a_thread_is_found_in_its_process() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() } as u32).unwrap();
            done_rx.recv().ok();
        });
        let tid = rx.recv().unwrap();
        assert_ne!(tid, std::process::id());
        assert_eq!(tgid(tid), Some(std::process::id()));
        let (tgid, threads) = tgid_and_threads(tid).unwrap();
        assert_eq!(tgid, std::process::id());
        assert!(threads >= 2, "{threads}");
        done_tx.send(()).unwrap();
        thread.join().unwrap();
        assert_eq!(tgid_and_threads(u32::MAX), None, "no such thread");
    }

    fn compiled(json: &str) -> Compiled {
        let profile = load_str("t.json", json.to_string()).unwrap();
        let target = Target {
            arch: Arch::X86_64,
            caps: CapSet::all(),
            kernel: None,
            runtime: None,
        };
        compile(&resolve(&profile, &target), Mode::Notify).unwrap()
    }

    #[test]
    fn notifying_execs_adds_only_the_exec_numbers_to_the_program() {
        let c = compiled(
            r#"{"defaultAction": "SCMP_ACT_ERRNO",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                "syscalls": [{"names": ["read", "execve", "execveat", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}"#,
        );
        let prog = notify_execs(&c).expect("a prologue");
        assert_eq!(bpf::validate(&prog), Ok(()));
        assert_eq!(&prog[prog.len() - c.program.len()..], &c.program[..]);
        for &arch in &c.arches {
            for &(name, nr) in arch.syscalls() {
                let data = bpf::SeccompData::call(arch, nr, [0; 6]);
                let (got, _) = bpf::run(&prog, &data);
                let want = if name == "execve" || name == "execveat" {
                    SECCOMP_RET_USER_NOTIF
                } else {
                    bpf::run(&c.program, &data).0
                };
                assert_eq!(got, want, "{arch} {name}");
            }
        }
        // The prologue reads only nr and arch: allowed calls stay cacheable.
        let read = bpf::SeccompData::call(Arch::X86_64, 0, [1; 6]);
        assert!(!bpf::run_traced(&prog, &read).read_args);
    }

    #[test]
    fn a_logged_exec_is_left_to_the_kernels_record() {
        let c = compiled(
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                "syscalls": [{"names": ["execve"], "action": "SCMP_ACT_LOG"}]}"#,
        );
        assert_eq!(notify_execs(&c), None);
    }

    /// A thread's container is kept with it only as long as `cgroup::of_pid`
    /// keeps a process's: past that it is looked up again (a process can be
    /// moved to another cgroup), before it the cached one is used.
    #[test]
    fn a_threads_container_is_looked_up_again_after_its_ttl() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        let start = Instant::now();
        let mut task = Task::open(tid, start).expect("our own thread");
        assert_eq!(task.tgid, std::process::id());
        assert_eq!(task.container, cgroup::of_pid(task.tgid));
        let stale = Container {
            runtime: "docker",
            id: "ab".repeat(32),
            name: Some("moved-away".into()),
            pod: None,
            kube: None,
        };
        task.container = Some(stale.clone());
        task.container_at(start + cgroup::PID_TTL / 2);
        assert_eq!(task.container.as_ref(), Some(&stale));
        task.container_at(start + cgroup::PID_TTL);
        assert_eq!(task.container, cgroup::of_pid(task.tgid));
        assert_ne!(task.container.as_ref(), Some(&stale));
    }
}

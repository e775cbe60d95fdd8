//! Trace mode: the profile's would-be denials stop the caller in a seccomp stop
//! (`SECCOMP_RET_TRACE`), and this module is the tracer that answers them.
//!
//! Everything here runs on the calling thread: ptrace only accepts requests from
//! the thread that attached, and that thread is the one that forks the workload
//! (`PTRACE_TRACEME` attaches the child to the thread that forked it). Threads,
//! forks, vforks and clones are attached automatically by the kernel (the
//! `PTRACE_O_TRACE*` options); each starts with a SIGSTOP the tracer swallows.
//!
//! Every seccomp stop produces exactly one event, sent after the call was
//! decided so that its `decision` says what was done.

use super::child::{Prepared, Spawned};
use super::contain::Containment;
use super::stack;
use super::{
    interference, Answer, Call, Interception, Judgement, RunError, Supervision, WorkloadExit,
};
use crate::arch::Arch;
use crate::profile::Action;
use crate::sources::event::{self, Event, Rule, Source};
use std::collections::{HashMap, HashSet};
use std::io;
use std::time::{Duration, Instant};

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const PTRACE_SYSCALL_INFO_SECCOMP: u8 = 3;

/// `struct ptrace_syscall_info` with the `seccomp` member of its union, the
/// only one read here (the kernel writes at most the size we pass).
#[repr(C)]
#[derive(Default)]
struct SyscallInfo {
    op: u8,
    pad: [u8; 3],
    arch: u32,
    instruction_pointer: u64,
    stack_pointer: u64,
    nr: u64,
    args: [u64; 6],
    ret_data: u32,
    reserved: u32,
}

const OPTIONS: libc::c_int = libc::PTRACE_O_TRACESYSGOOD
    | libc::PTRACE_O_TRACESECCOMP
    | libc::PTRACE_O_TRACECLONE
    | libc::PTRACE_O_TRACEFORK
    | libc::PTRACE_O_TRACEVFORK
    | libc::PTRACE_O_TRACEEXEC
    | libc::PTRACE_O_EXITKILL;

/// How long a thread's comm and exe, read from `/proc` for one event, are reused
/// for its next ones. An exec forgets them at once; only a rename (PR_SET_NAME)
/// can go unseen, for at most this long. Reading `/proc` for every event would
/// double the cost of a stop.
const IDENTITY_TTL: Duration = Duration::from_millis(100);

/// What the tracer knows about one traced thread.
#[derive(Clone, Debug, Default)]
struct Tracee {
    /// Attached by the kernel and its initial SIGSTOP not seen yet.
    fresh: bool,
    /// Its process (thread-group) id, once looked up.
    tgid: Option<i32>,
    /// Its last event and when it was made: comm, exe and bootstrap for the next.
    last: Option<(Instant, Event)>,
}

/// Runs the workload under ptrace until its first process ends; returns how it ended.
///
/// `prepared` must have been made with `.traceme(true)`; `sup.judge` must be compiled
/// in trace mode. Call this on the thread that is to be the tracer: it forks the
/// workload, and every ptrace request comes from it.
pub fn run_traced(
    prepared: &Prepared,
    sup: &Supervision,
    containment: &Containment,
) -> Result<WorkloadExit, RunError> {
    let mut spawned = prepared.spawn()?;
    let pid = spawned.pid;
    let mut tracer = Tracer {
        sup,
        initial: pid,
        tracees: HashMap::new(),
        gone: HashSet::new(),
        exit: None,
    };
    let result = tracer.run(prepared, &mut spawned, containment);
    tracer.finish();
    result
}

struct Tracer<'a> {
    sup: &'a Supervision,
    initial: i32,
    tracees: HashMap<i32, Tracee>,
    /// Threads that ended before their parent's clone event named them.
    gone: HashSet<i32>,
    exit: Option<WorkloadExit>,
}

/// A decoded `waitpid` status.
enum Status {
    Exited(i32),
    Signaled(i32),
    /// A `PTRACE_EVENT_*` stop.
    Event(i32),
    /// A signal-delivery stop or a group stop, with the signal.
    Signal(i32),
}

fn decode(status: libc::c_int) -> Option<Status> {
    if libc::WIFEXITED(status) {
        Some(Status::Exited(libc::WEXITSTATUS(status)))
    } else if libc::WIFSIGNALED(status) {
        Some(Status::Signaled(libc::WTERMSIG(status)))
    } else if libc::WIFSTOPPED(status) {
        let event = (status >> 16) & 0xff;
        if event != 0 {
            Some(Status::Event(event))
        } else {
            Some(Status::Signal(libc::WSTOPSIG(status)))
        }
    } else {
        None
    }
}

impl Tracer<'_> {
    fn run(
        &mut self,
        prepared: &Prepared,
        spawned: &mut Spawned,
        containment: &Containment,
    ) -> Result<WorkloadExit, RunError> {
        let pid = self.initial;
        containment
            .watch_group(pid)
            .map_err(RunError::os("watch the workload's process group"))?;
        // The child stops itself with SIGSTOP right after PTRACE_TRACEME.
        let Some((_, status)) = wait(pid, 0).map_err(RunError::os("wait for the workload"))? else {
            let gone = io::Error::from_raw_os_error(libc::ECHILD);
            return Err(RunError::os("wait for the workload to stop")(gone));
        };
        match decode(status) {
            Some(Status::Signal(libc::SIGSTOP)) => {}
            Some(Status::Exited(code)) => {
                // It failed before it could stop (the pipe says why), or never asked to be traced.
                spawned.wait_started(prepared.program(), |_| {})?;
                return Ok(WorkloadExit::Exited(code));
            }
            Some(Status::Signaled(sig)) => {
                spawned.wait_started(prepared.program(), |_| {})?;
                return Ok(WorkloadExit::Signaled(sig));
            }
            _ => {
                return Err(RunError::Unsupported(format!(
                    "the workload did not stop for the tracer (wait status {status:#x}); \
                     was it prepared with traceme?"
                )))
            }
        }
        self.tracees.insert(
            pid,
            Tracee {
                tgid: Some(pid),
                ..Tracee::default()
            },
        );
        ptrace(
            libc::PTRACE_SETOPTIONS,
            pid,
            0,
            OPTIONS as usize as *mut libc::c_void,
        )
        .map_err(RunError::os("set the tracer's options"))?;
        resume(pid, 0);
        let mut started = false;
        // Until the first process ends.
        while self.exit.is_none() {
            let Some((tid, status)) = wait(-1, 0).map_err(RunError::os("wait for the tracees"))?
            else {
                break; // nothing left to wait for
            };
            let Some(status) = decode(status) else {
                continue;
            };
            match status {
                Status::Exited(code) => {
                    if tid == pid {
                        self.exit = Some(WorkloadExit::Exited(code));
                    }
                    self.ended(tid);
                }
                Status::Signaled(sig) => {
                    if tid == pid {
                        self.exit = Some(WorkloadExit::Signaled(sig));
                    }
                    self.ended(tid);
                }
                Status::Event(ev) => {
                    self.known(tid);
                    if ev == libc::PTRACE_EVENT_EXEC && tid == pid && !started {
                        // The exec closed the report pipe: this returns at once.
                        spawned.wait_started(prepared.program(), |_| {})?;
                        started = true;
                    }
                    self.event(tid, ev)?;
                }
                Status::Signal(sig) => self.signal(tid, sig),
            }
        }
        if !started {
            // The first process ended before its exec: the pipe says whether it failed.
            spawned.wait_started(prepared.program(), |_| {})?;
        }
        self.exit.ok_or_else(|| {
            RunError::os("learn how the workload ended")(io::Error::other(
                "its first process vanished without an exit status",
            ))
        })
    }

    /// A stop from `tid`: make sure it is known.
    fn known(&mut self, tid: i32) {
        self.tracees.entry(tid).or_default();
    }

    fn ended(&mut self, tid: i32) {
        if self.tracees.remove(&tid).is_none() {
            self.gone.insert(tid);
        }
    }

    /// A new thread or process the kernel attached.
    fn attached(&mut self, tid: i32) {
        if self.gone.remove(&tid) {
            return; // it already came and went
        }
        self.tracees.entry(tid).or_insert(Tracee {
            fresh: true,
            ..Tracee::default()
        });
    }

    fn signal(&mut self, tid: i32, sig: i32) {
        match self.tracees.get_mut(&tid) {
            // Its first stop, before its parent's event told us about it.
            None if sig == libc::SIGSTOP => {
                self.tracees.insert(tid, Tracee::default());
                resume(tid, 0);
                return;
            }
            None => {
                self.tracees.insert(tid, Tracee::default());
            }
            Some(t) if t.fresh && sig == libc::SIGSTOP => {
                t.fresh = false;
                resume(tid, 0);
                return;
            }
            Some(t) => t.fresh = false,
        }
        let deliver = match sig {
            // A stop signal: either about to be delivered, or a group stop already in
            // effect (PTRACE_GETSIGINFO fails with EINVAL). Resuming a group stop
            // without a signal ends it, which is the best a non-seizing tracer can do.
            libc::SIGSTOP | libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {
                let mut info = std::mem::MaybeUninit::<libc::siginfo_t>::uninit();
                match ptrace(libc::PTRACE_GETSIGINFO, tid, 0, info.as_mut_ptr().cast()) {
                    Ok(_) => sig,
                    Err(_) => 0,
                }
            }
            _ => sig,
        };
        resume(tid, deliver);
    }

    fn event(&mut self, tid: i32, ev: i32) -> Result<(), RunError> {
        match ev {
            libc::PTRACE_EVENT_CLONE | libc::PTRACE_EVENT_FORK | libc::PTRACE_EVENT_VFORK => {
                if let Ok(new) = event_msg(tid) {
                    self.attached(new as i32);
                }
                resume(tid, 0);
            }
            libc::PTRACE_EVENT_EXEC => {
                // A new program: its mappings are new.
                let tgid = self.tgid(tid) as u32;
                if let Some(stacks) = &self.sup.stacks {
                    stacks.forget(tgid);
                }
                // A thread other than the leader exec'd: it now has the leader's id, and
                // its old id is gone.
                if let Ok(former) = event_msg(tid) {
                    let former = former as i32;
                    if former != tid {
                        self.tracees.remove(&former);
                    }
                }
                if let Some(t) = self.tracees.get_mut(&tid) {
                    t.tgid = Some(tid);
                    t.last = None; // new exe, new comm
                }
                resume(tid, 0);
            }
            libc::PTRACE_EVENT_SECCOMP => self.seccomp(tid)?,
            _ => resume(tid, 0),
        }
        Ok(())
    }

    fn tgid(&mut self, tid: i32) -> i32 {
        if let Some(tgid) = self.tracees.get(&tid).and_then(|t| t.tgid) {
            return tgid;
        }
        let tgid = read_tgid(tid).unwrap_or(tid);
        self.tracees.entry(tid).or_default().tgid = Some(tgid);
        tgid
    }

    /// A seccomp stop: report the call, decide it, apply the decision.
    fn seccomp(&mut self, tid: i32) -> Result<(), RunError> {
        let mut info = SyscallInfo::default();
        let size = std::mem::size_of::<SyscallInfo>();
        match ptrace(
            PTRACE_GET_SYSCALL_INFO as _,
            tid,
            size,
            (&mut info as *mut SyscallInfo).cast(),
        ) {
            Ok(_) if info.op == PTRACE_SYSCALL_INFO_SECCOMP => {}
            // Killed while stopped (ESRCH), or not a seccomp stop after all.
            _ => {
                resume(tid, 0);
                return Ok(());
            }
        }
        let nr = info.nr as u32;
        let Some(arch) = Arch::from_audit(info.arch, nr) else {
            resume(tid, 0); // not an arch the filter lets through: cannot be ours
            return Ok(());
        };
        let call = Call {
            pid: self.tgid(tid) as u32,
            tid: tid as u32,
            arch,
            nr,
            args: info.args,
        };
        let judgement = self.judgement(&call, info.ret_data as usize);
        if info.ret_data == interference::TRACE_DATA
            && matches!(judgement.verdict.action, Action::Allow | Action::Log)
        {
            // Stopped only to see whether eperm's tracing breaks it: it runs.
            let traced = |pid: u32| self.tracees.contains_key(&(pid as i32));
            let why = interference::of(Interception::Trace, arch, nr, &call.args, traced);
            if let Some(why) = why {
                let mut ev = self.make_event(&call, &judgement);
                ev.interference = Some(why);
                ev.decision = event::Decision::Denied;
                let _ = self.sup.events.send(ev);
            }
            resume(tid, 0);
            return Ok(());
        }
        let mut ev = self.make_event(&call, &judgement);
        let regs = self.sup.wants_stack(call.pid, nr).then(|| stack::Regs {
            ip: info.instruction_pointer,
            sp: info.stack_pointer,
            bp: frame_pointer(tid),
        });
        // Named by the events' receiver, or now when the user is asked (the
        // prompt shows it).
        let mut stack = regs.and_then(|regs| self.sup.take_stack(call.pid, regs));
        if matches!(self.sup.policy, super::Policy::Hold(_)) {
            ev.stack = stack.take().map(|s| s.name());
        }
        // A caller killed while held is withdrawn, not asked until the timeout.
        let decision = self
            .sup
            .decide_answered(&call, &mut ev, judgement.verdict, &|| not_dead(tid))
            .0;
        let outcome = match decision {
            Answer::Continue => {
                resume(tid, 0);
                event::Decision::Allowed
            }
            Answer::Fail(errno) => {
                if let Err(e) = fail_call(tid, errno) {
                    // Let the call go rather than leave the thread stopped; say so.
                    resume(tid, 0);
                    ev.decision = event::Decision::Allowed;
                    let _ = self.sup.events.send_with_stack(ev, stack);
                    return Err(e);
                }
                resume(tid, 0);
                event::Decision::Denied
            }
            Answer::Kill => {
                // SIGKILL ends the stop by itself.
                kill(call.pid as i32);
                event::Decision::Killed
            }
        };
        ev.decision = outcome;
        let _ = self.sup.events.send_with_stack(ev, stack);
        Ok(())
    }

    /// What the profile says about a call, from the TRACE data the filter returned.
    fn judgement(&self, call: &Call, data: usize) -> Judgement {
        let judge = &self.sup.judge;
        let Some(entry) = judge.compiled.table.get(data) else {
            // Data we never compiled (the workload's own filter?): ask the profile.
            return judge.judge(call.arch, call.nr, call.args);
        };
        Judgement {
            verdict: entry.verdict,
            rule: entry.rule,
            decider: judge.decider(entry.rule.map_or(Rule::Default, Rule::Index)),
        }
    }

    /// The event for a call; comm, exe and bootstrap come from the thread's previous
    /// event when that is recent and no exec happened since.
    fn make_event(&mut self, call: &Call, judgement: &Judgement) -> Event {
        let tracee = self.tracees.entry(call.tid as i32).or_default();
        let now = Instant::now();
        if let Some((at, last)) = &tracee.last {
            if now.duration_since(*at) < IDENTITY_TTL && last.pid == call.pid {
                let caller = super::Caller {
                    comm: last.comm.clone(),
                    exe: last.exe.clone(),
                    container: last.container.clone(),
                };
                let decision = event::Decision::Allowed;
                return self
                    .sup
                    .event_from(Source::Ptrace, call, judgement, decision, caller, now);
            }
        }
        let ev = self
            .sup
            .event(Source::Ptrace, call, judgement, event::Decision::Allowed);
        tracee.last = Some((now, ev.clone()));
        ev
    }

    /// Kills whatever is left of the workload and reaps it, so no tracee stays
    /// stopped and none of our children stays a zombie.
    ///
    /// Only tracees are waited for: this thread may have other children (the
    /// containment watchdog) that must not be waited for here.
    fn finish(&mut self) {
        if self.exit.is_none() {
            self.tracees.entry(self.initial).or_default();
        }
        for &tid in self.tracees.keys() {
            kill(tid);
        }
        // Never a blocking wait here: a killed tracee its own parent reaped first is
        // never reported to us, and eperm's watchdog, a child of this thread, keeps
        // such a wait from ever failing with ECHILD (seen: a run hung for good after
        // its workload had died). What is still there past the deadline dies with
        // the workload's cgroup (`Containment::finish`).
        let deadline = Instant::now() + FINISH_WAIT;
        loop {
            // Drop the ones that are gone for good (reaped, or released by an exec).
            // No signal only checks that the task exists.
            self.tracees.retain(|&tid, _| {
                nix::sys::signal::kill(nix::unistd::Pid::from_raw(tid), None)
                    != Err(nix::errno::Errno::ESRCH)
            });
            if self.tracees.is_empty() {
                break;
            }
            let Ok(Some((tid, status))) = wait(-1, libc::WNOHANG) else {
                break;
            };
            if tid == 0 {
                // Nothing reported yet.
                if Instant::now() >= deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
                continue;
            }
            if libc::WIFSTOPPED(status) {
                // Still arriving (a child attached while we killed its parent).
                self.tracees.entry(tid).or_default();
                kill(tid);
                resume(tid, 0);
            } else {
                self.tracees.remove(&tid);
            }
        }
    }
}

/// How long the tracer waits, at the end, for the tracees it killed to be
/// reported gone.
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// SIGKILL to `tid`'s process; a stale id fails harmlessly with ESRCH.
fn kill(tid: i32) {
    if tid > 0 {
        // It may be gone already.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(tid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// Makes the stopped call fail with `errno` without running it.
#[cfg(target_arch = "x86_64")]
fn fail_call(tid: i32, errno: u32) -> Result<(), RunError> {
    let mut regs = std::mem::MaybeUninit::<libc::user_regs_struct>::uninit();
    if let Err(e) = ptrace(libc::PTRACE_GETREGS, tid, 0, regs.as_mut_ptr().cast()) {
        return ignore_gone(e);
    }
    // SAFETY: PTRACE_GETREGS succeeded and filled the struct.
    let mut regs = unsafe { regs.assume_init() };
    // Syscall number -1 skips the call; the caller then sees what is in rax.
    regs.orig_rax = u64::MAX;
    regs.rax = (-(errno as i64)) as u64;
    match ptrace(
        libc::PTRACE_SETREGS,
        tid,
        0,
        (&mut regs as *mut libc::user_regs_struct).cast(),
    ) {
        Ok(_) => Ok(()),
        Err(e) => ignore_gone(e),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn fail_call(_tid: i32, _errno: u32) -> Result<(), RunError> {
    Err(RunError::Unsupported(format!(
        "failing a traced call is not implemented on {}; use --mode notify",
        Arch::native().name()
    )))
}

/// A tracee that died while stopped needs nothing more.
#[cfg(target_arch = "x86_64")]
fn ignore_gone(e: io::Error) -> Result<(), RunError> {
    if e.raw_os_error() == Some(libc::ESRCH) {
        Ok(())
    } else {
        Err(RunError::os("trace the workload")(e))
    }
}

fn ptrace(
    request: libc::c_uint,
    tid: i32,
    addr: usize,
    data: *mut libc::c_void,
) -> io::Result<libc::c_long> {
    // SAFETY: every caller passes a `data` that is valid for the request.
    let r = unsafe { libc::ptrace(request, tid, addr as *mut libc::c_void, data) };
    if r == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Resumes a stopped tracee, delivering `sig` (0 for none). A tracee that died
/// meanwhile (ESRCH) is reported by `waitpid` later.
/// The stopped thread's `%rbp` (0 when it cannot be read): what an unwind
/// needs for a frame whose CFA is computed from it.
#[cfg(target_arch = "x86_64")]
fn frame_pointer(tid: i32) -> u64 {
    // `struct user_regs_struct`: r15, r14, r13, r12, rbp, …
    const RBP: usize = 4 * 8;
    // SAFETY: PTRACE_PEEKUSER reads one word of the stopped tracee's user area at
    // an offset inside `user_regs_struct`; no memory of ours is written.
    let word = unsafe {
        libc::ptrace(
            libc::PTRACE_PEEKUSER,
            tid,
            RBP,
            std::ptr::null_mut::<libc::c_void>(),
        )
    };
    word as u64
}

#[cfg(not(target_arch = "x86_64"))]
fn frame_pointer(_tid: i32) -> u64 {
    0
}

fn resume(tid: i32, sig: i32) {
    let _ = ptrace(libc::PTRACE_CONT, tid, 0, sig as usize as *mut libc::c_void);
}

fn event_msg(tid: i32) -> io::Result<libc::c_ulong> {
    let mut msg: libc::c_ulong = 0;
    ptrace(
        libc::PTRACE_GETEVENTMSG,
        tid,
        0,
        (&mut msg as *mut libc::c_ulong).cast(),
    )?;
    Ok(msg)
}

/// Waits for any child or tracee of *this thread* (`__WNOTHREAD`): other threads'
/// children are none of our business. `None` when there is nothing left.
fn wait(pid: i32, flags: libc::c_int) -> io::Result<Option<(i32, libc::c_int)>> {
    let mut status = 0;
    loop {
        // SAFETY: waitpid writes one int.
        let r =
            unsafe { libc::waitpid(pid, &mut status, libc::__WALL | libc::__WNOTHREAD | flags) };
        if r >= 0 {
            return Ok(Some((r, status)));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ECHILD) => return Ok(None),
            _ => return Err(e),
        }
    }
}

/// The thread group of `tid`, from `/proc`.
/// Is thread `tid` still there, not a zombie (a killed tracee stays one until
/// its tracer, busy waiting for the user, reaps it)?
fn not_dead(tid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{tid}/stat")).is_ok_and(|stat| {
        // The state follows the name, which is in parentheses and may hold any.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

fn read_tgid(tid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

//! Running a workload under a profile whose denials are intercepted.
//!
//! The pieces: [`child`] starts the workload with the filter installed,
//! [`contain`] makes sure it never outlives eperm, [`Judge`] says what the
//! profile would have done with an intercepted call, and [`Policy`] says what
//! to do with it now (let it run, apply the verdict, or ask the UI). [`serve`]
//! is the one loop that serves a run while it lasts, local ([`local`]) or a
//! container's (`container::launch`).

pub mod child;
pub mod contain;
pub mod coverage;
mod interception;
pub mod interference;
pub mod layers;
pub mod local;
pub mod notify;
pub mod serve;
pub mod stack;
pub mod trace;

pub use interception::Interception;

use crate::arch::Arch;
use crate::compile::{self, Compiled, Mode};
use crate::profile::{Action, Profile, Resolved, Target, Verdict};
use crate::sources::event::{CallArch, Decider, Rule, Ruling};
use std::sync::mpsc;

/// What the profile would have done with one call, and which rule says so.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    pub verdict: Verdict,
    /// Index into the profile's `syscalls[]`; `None` when the default action
    /// (or runc's -ENOSYS stub, or the kernel's passthrough) decided.
    pub rule: Option<usize>,
    /// The deciding rule, as events carry it.
    pub decider: Decider,
}

/// The profile, resolved and compiled for one run, answering "what would it do?".
pub struct Judge {
    pub profile: Profile,
    pub resolved: Resolved,
    pub compiled: Compiled,
    /// For a profile from `export --soften`: the judge of the profile it was
    /// softened from, which says what a logged call would have got.
    pub unsoftened: Option<Box<Judge>>,
}

impl Judge {
    /// Compiles `profile` for `target` with denials turned into `mode`'s action.
    pub fn new(
        profile: Profile,
        target: &Target,
        mode: Mode,
    ) -> Result<Judge, compile::CompileError> {
        let resolved = crate::profile::resolve(&profile, target);
        let compiled = compile::compile(&resolved, mode)?;
        let unsoftened = Self::unsoftened(&profile, target, mode)?.map(Box::new);
        Ok(Judge {
            profile,
            resolved,
            compiled,
            unsoftened,
        })
    }

    pub fn judge(&self, arch: Arch, nr: u32, args: [u64; 6]) -> Judgement {
        let outcome = self.compiled.evaluate(arch, nr, args);
        let rule = outcome.origin.map(|e| self.resolved.rules[e].rule);
        let decider = match rule {
            Some(i) => Rule::Index(i),
            None if self.compiled.passes_through(arch, nr).is_some() => Rule::Kernel,
            None if self.compiled.stub_decides(arch, nr) => Rule::Stub,
            None => Rule::Default,
        };
        Judgement {
            verdict: outcome.verdict,
            rule,
            decider: self.decider(decider),
        }
    }

    /// The judge of the profile `profile` was softened from, if it was.
    fn unsoftened(
        profile: &Profile,
        target: &Target,
        mode: Mode,
    ) -> Result<Option<Judge>, compile::CompileError> {
        use crate::profile::soften;
        let was = soften::originals(profile);
        if was.is_empty() {
            return Ok(None);
        }
        let text = soften::restored(profile, &was).to_string();
        // What eperm wrote and read back loads; a hand-made mark that does not
        // is no softening eperm can explain.
        let Ok(original) = crate::profile::load_str(&profile.file, text) else {
            return Ok(None);
        };
        Judge::new(original, target, mode).map(Some)
    }

    /// `rule` of this judge's profile, where its file has it.
    pub fn decider(&self, rule: Rule) -> Decider {
        Decider::new(rule, self.profile.base_path())
    }
}

/// What to do with a call right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Let it run.
    Continue,
    /// Fail it with this errno.
    Fail(u32),
    /// Kill the calling process.
    Kill,
}

/// How intercepted calls are decided.
pub enum Policy {
    /// Every call runs and is reported (the default).
    Permissive,
    /// What the profile says happens, so the real failure is reproduced.
    Enforce,
    /// Each call waits for an answer from the UI.
    Hold(mpsc::Sender<HoldRequest>),
}

/// A call waiting for the user.
pub struct HoldRequest {
    pub event: crate::sources::event::Event,
    /// Asked again because the call's pointer arguments changed after the user
    /// allowed it: the call as it was shown then (`event` has it as it reads now).
    pub was: Option<String>,
    pub reply: mpsc::Sender<HoldAnswer>,
    /// Set by the supervisor when the caller is gone (died, or interrupted)
    /// before an answer came: the UI withdraws the call instead of asking on.
    pub gone: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The user's answer to a held call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldAnswer {
    AllowOnce,
    /// Allow this call and every later one of the same syscall on the same arch.
    AllowAlways,
    /// Fail with the profile's errno (or EPERM when the profile kills).
    Deny,
    Kill,
}

/// What enforcing a verdict means for one call.
pub fn enforce(verdict: Verdict) -> Answer {
    match verdict.action {
        Action::Allow | Action::Log => Answer::Continue,
        Action::Errno => Answer::Fail(verdict.data),
        // No tracer or listener would answer these: the kernel fails them with ENOSYS.
        Action::Trace | Action::Notify => Answer::Fail(38),
        Action::KillThread | Action::KillProcess | Action::Trap => Answer::Kill,
    }
}

/// One intercepted call, as the kernel describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub pid: u32,
    pub tid: u32,
    pub arch: Arch,
    pub nr: u32,
    pub args: [u64; 6],
}

/// Events that wait for their consumer at most: see [`EventSender`].
pub const EVENT_QUEUE: usize = 65_536;

/// Where the supervisors' events go: a bounded queue. A consumer that falls
/// behind costs events, counted ([`EventSender::dropped`]) and said, never
/// memory without bound nor a supervisor kept waiting (and with it the workload).
///
/// The queue holds boxes: its slots are allocated (and written) whole when it is
/// made, and an event is some 500 bytes. Slots of whole events made a 32 MB
/// queue, written at start, copied for the workload's fork (its page tables) and
/// then faulted back copy-on-write by the supervisor, a page every few events,
/// while the caller waited: ~6% of a trapped call. Boxed, it is 1 MB, and each
/// event's memory comes from the allocator, warm.
#[derive(Clone)]
pub struct EventSender {
    tx: mpsc::SyncSender<Box<Queued>>,
    dropped: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// An event as it waits in the queue: with the caller's stack as taken, named
/// only when it is received (see [`stack::Unnamed`]).
struct Queued {
    event: crate::sources::event::Event,
    stack: Option<stack::Unnamed>,
}

impl Queued {
    /// The event, its stack named: what every receiver gets.
    fn named(self) -> crate::sources::event::Event {
        let Queued { mut event, stack } = self;
        if let Some(stack) = stack {
            event.stack = Some(stack.name());
        }
        event
    }
}

/// The receiving end of [`event_channel`]: `mpsc::Receiver`'s methods, each
/// event unboxed and its stack named (on the receiver's thread, which is never
/// the UI's: the TUI's events come through `session::live`'s forwarder).
pub struct EventReceiver {
    rx: mpsc::Receiver<Box<Queued>>,
}

impl EventReceiver {
    pub fn try_recv(&self) -> Result<crate::sources::event::Event, mpsc::TryRecvError> {
        self.rx.try_recv().map(|q| q.named())
    }

    pub fn recv_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Result<crate::sources::event::Event, mpsc::RecvTimeoutError> {
        self.rx.recv_timeout(timeout).map(|q| q.named())
    }

    /// The events queued now, without waiting.
    pub fn try_iter(&self) -> impl Iterator<Item = crate::sources::event::Event> + '_ {
        self.rx.try_iter().map(|q| q.named())
    }

    /// Every event, waiting for each, until the senders are gone.
    pub fn iter(&self) -> impl Iterator<Item = crate::sources::event::Event> + '_ {
        self.rx.iter().map(|q| q.named())
    }
}

/// [`EventSender::send`]'s error: the receiver is gone.
#[derive(Debug)]
pub struct NobodyReceives;

/// A run's event queue: its sender and receiver.
pub fn event_channel() -> (EventSender, EventReceiver) {
    let (tx, rx) = mpsc::sync_channel(EVENT_QUEUE);
    let dropped = std::sync::Arc::default();
    (EventSender { tx, dropped }, EventReceiver { rx })
}

impl EventSender {
    /// Queues `event`, or counts it dropped when the queue is full; `Err` only
    /// when nobody receives any more.
    pub fn send(&self, event: crate::sources::event::Event) -> Result<(), NobodyReceives> {
        self.send_with_stack(event, None)
    }

    /// Like [`EventSender::send`], with the caller's stack as taken: the
    /// receiver names it into the event's `stack`.
    pub fn send_with_stack(
        &self,
        event: crate::sources::event::Event,
        stack: Option<stack::Unnamed>,
    ) -> Result<(), NobodyReceives> {
        match self.tx.try_send(Box::new(Queued { event, stack })) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(_)) => {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::TrySendError::Disconnected(_)) => Err(NobodyReceives),
        }
    }

    /// The events dropped so far, as the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts what the queue drops, readable after the sender is gone.
    pub fn drop_counter(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.dropped.clone()
    }
}

/// Who made a call: what its event tells of the caller.
pub struct Caller {
    pub comm: crate::untrusted::Untrusted,
    pub exe: Option<crate::untrusted::Untrusted>,
    /// Its container (see [`crate::sources::cgroup::of_pid`]).
    pub container: Option<crate::sources::cgroup::Container>,
}

/// What both interception modes share: the judge, the policy, where events go.
pub struct Supervision {
    pub judge: Judge,
    pub policy: Policy,
    pub events: EventSender,
    pub started: std::time::Instant,
    /// eperm's own executable: a process still running it has not exec'd the workload yet.
    pub own_exe: Option<std::path::PathBuf>,
    /// Where the layer watcher reports the workload's EPERM/EACCES calls
    /// (`None`: nobody listens, the watcher is not attached).
    pub layers: Option<mpsc::Sender<crate::sources::refusal::Watch>>,
    /// Where callers' stacks are taken (and named, by the events' receiver);
    /// `None`: `--no-stacks`.
    pub stacks: Option<std::sync::Arc<stack::Stacks>>,
}

impl Supervision {
    /// Is this call's stack to be taken? Not with `--no-stacks`; past a flood's
    /// first calls, a sample (see [`stack::Stacks::wanted`]).
    pub fn wants_stack(&self, pid: u32, nr: u32) -> bool {
        self.stacks.as_ref().is_some_and(|s| s.wanted(pid, nr))
    }

    /// The caller's stack, taken now while it waits (see [`stack`]); `None` with
    /// `--no-stacks` or when it cannot be read. Sent unnamed with the event
    /// ([`EventSender::send_with_stack`]); named here only for a held call,
    /// whose prompt shows it.
    pub fn take_stack(&self, pid: u32, regs: stack::Regs) -> Option<stack::Unnamed> {
        let stacks = self.stacks.as_ref()?;
        let raw = stacks.capture(pid, regs)?;
        Some(stack::Unnamed::new(stacks.clone(), raw))
    }

    /// The event for an intercepted call, with what the profile says and what was done.
    pub fn event(
        &self,
        source: crate::sources::event::Source,
        call: &Call,
        judgement: &Judgement,
        decision: crate::sources::event::Decision,
    ) -> crate::sources::event::Event {
        use crate::sources::procinfo;
        let caller = Caller {
            comm: procinfo::comm(call.tid).unwrap_or_default(),
            exe: procinfo::exe(call.pid),
            // Stopped in the call, the caller is still there to be looked up.
            container: crate::sources::cgroup::of_pid(call.pid),
        };
        let at = std::time::Instant::now();
        self.event_from(source, call, judgement, decision, caller, at)
    }

    /// Like [`Supervision::event`], with the caller already known and the clock
    /// already read at `at` (a supervisor that caches callers per thread saves
    /// three /proc reads, a lock and a clock read per call).
    pub fn event_from(
        &self,
        source: crate::sources::event::Source,
        call: &Call,
        judgement: &Judgement,
        decision: crate::sources::event::Decision,
        caller: Caller,
        at: std::time::Instant,
    ) -> crate::sources::event::Event {
        let Call {
            pid,
            tid,
            arch,
            nr,
            args,
        } = *call;
        let Caller {
            comm,
            exe,
            container,
        } = caller;
        let own_exe = match (&exe, &self.own_exe) {
            (Some(exe), Some(own)) => {
                use std::os::unix::ffi::OsStrExt;
                exe.as_bytes() == own.as_os_str().as_bytes()
            }
            _ => false,
        };
        let bootstrap = crate::sources::event::is_bootstrap(&comm, own_exe);
        let call_text = decode_live(arch, nr, args, tid);
        let verdict = judgement.verdict;
        crate::sources::event::Event {
            time_ms: at.saturating_duration_since(self.started).as_millis() as u64,
            source,
            pid,
            tid,
            comm,
            exe,
            arch: CallArch::Known(arch),
            syscall: arch
                .syscall_name(nr)
                .map_or_else(|| format!("nr_{nr}"), str::to_string),
            nr,
            args: Some(args),
            call: Some(call_text),
            ruling: Ruling::Profile(verdict),
            rule: Some(judgement.decider),
            bootstrap,
            decision,
            container,
            interference: None,
            stack: None,
            pod: None,
            softened: None,
        }
    }

    /// Decides one call (`event` is `call`'s): by policy, asking the UI when
    /// holding. The caller is stopped by the tracer, so it cannot vanish meanwhile.
    pub fn decide(
        &self,
        call: &Call,
        event: &mut crate::sources::event::Event,
        verdict: Verdict,
    ) -> Answer {
        self.decide_answered(call, event, verdict, &|| true).0
    }

    /// Like [`Supervision::decide`], also giving the user's answer when one was asked,
    /// so that a supervisor can remember "allow always".
    ///
    /// A held call's pointer arguments can be rewritten while it waits for the
    /// user (by another thread of its process, or by another process through
    /// `process_vm_writev`): the kernel reads them only once the call runs. So
    /// before a call the user allowed is let through, they are read again; if
    /// the call now reads otherwise, the user is asked again with both, and
    /// `event` keeps what was read last. `still_waiting` says whether the caller
    /// still waits in this call; it is asked after every read, so that what was
    /// read is known to be the caller's and not a reused pid's.
    pub fn decide_answered(
        &self,
        call: &Call,
        event: &mut crate::sources::event::Event,
        verdict: Verdict,
        still_waiting: &dyn Fn() -> bool,
    ) -> (Answer, Option<HoldAnswer>) {
        let ui = match &self.policy {
            Policy::Permissive => return (Answer::Continue, None),
            Policy::Enforce => return (enforce(verdict), None),
            Policy::Hold(ui) => ui,
        };
        let mut was = None;
        loop {
            let (reply, answer) = mpsc::channel();
            let gone = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let request = HoldRequest {
                event: event.clone(),
                was: was.take(),
                reply,
                gone: gone.clone(),
            };
            if ui.send(request).is_err() {
                return (Answer::Continue, None); // nobody is listening any more
            }
            // Asked now and then while the user decides: a caller that died (or
            // was interrupted) is withdrawn from the UI at once, not left to time out.
            let answer = loop {
                match answer.recv_timeout(std::time::Duration::from_millis(50)) {
                    Ok(answer) => break Some(answer),
                    Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                    Err(mpsc::RecvTimeoutError::Timeout) if !still_waiting() => {
                        gone.store(true, std::sync::atomic::Ordering::SeqCst);
                        return (Answer::Continue, None);
                    }
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
            };
            let decision = match answer {
                Some(HoldAnswer::AllowOnce | HoldAnswer::AllowAlways) => Answer::Continue,
                None => return (Answer::Continue, None),
                Some(HoldAnswer::Deny) => match enforce(verdict) {
                    Answer::Fail(errno) => Answer::Fail(errno),
                    _ => Answer::Fail(1),
                },
                Some(HoldAnswer::Kill) => Answer::Kill,
            };
            if decision != Answer::Continue {
                return (decision, answer);
            }
            let now = decode_live(call.arch, call.nr, call.args, call.tid);
            if !still_waiting() {
                // Gone (and the read perhaps another process's): the answer will
                // be refused; the event keeps what the user saw.
                return (decision, answer);
            }
            if event.call.as_deref() == Some(now.as_str()) {
                return (decision, answer);
            }
            // Never let it through on a confirmation of what it no longer is.
            was = event.call.replace(now);
        }
    }
}

/// Call `nr` of `arch` with `args` as text, what its pointer arguments point at
/// read from thread `tid`'s memory (the thread must be stopped in the call).
///
/// The read happens on a reader thread with a deadline
/// ([`crate::sources::memory::within_deadline`]): a workload can make a read of
/// its memory wait forever (a page registered with userfaultfd), and the
/// supervisor must go on answering calls. A read given up on shows the
/// arguments unread. Calls that point at nothing are decoded here, without the
/// trip to the reader thread.
pub fn decode_live(arch: Arch, nr: u32, args: [u64; 6], tid: u32) -> String {
    use crate::sources::memory::{self, ProcessMemory, TraceeMemory};
    use crate::syscalls::decode::decode;
    /// Reads nothing; notes whether the decoder asked to.
    struct Probe(std::cell::Cell<bool>);
    impl TraceeMemory for Probe {
        fn read(&self, _: u64, _: usize) -> Option<Vec<u8>> {
            self.0.set(true);
            None
        }
    }
    // The last call that pointed at nothing, and its text: a workload that traps
    // the same call over and over (a loop) is described once, not at every call.
    type Described = Option<((Arch, u32, [u64; 6]), String)>;
    thread_local! {
        static LAST: std::cell::RefCell<Described> = const { std::cell::RefCell::new(None) };
    }
    let key = (arch, nr, args);
    let known = LAST.with_borrow(|last| match last {
        Some((k, text)) if *k == key => Some(text.clone()),
        _ => None,
    });
    if let Some(text) = known {
        return text;
    }
    let probe = Probe(std::cell::Cell::new(false));
    let unread = decode(arch, nr, &args, Some(&probe)).text;
    if !probe.0.get() {
        LAST.with_borrow_mut(|last| *last = Some((key, unread.clone())));
        return unread;
    }
    memory::within_deadline(move || decode(arch, nr, &args, Some(&ProcessMemory { pid: tid })).text)
        .unwrap_or(unread)
}

/// How the workload ended, as a shell would see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadExit {
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

impl WorkloadExit {
    /// The status a shell would give: the exit code, or 128 + the signal.
    pub fn code(&self) -> u8 {
        match *self {
            WorkloadExit::Exited(code) => code as u8,
            WorkloadExit::Signaled(sig) => 128u8.wrapping_add(sig as u8),
        }
    }

    /// From a `waitpid` status.
    pub fn from_status(status: i32) -> WorkloadExit {
        if libc::WIFSIGNALED(status) {
            WorkloadExit::Signaled(libc::WTERMSIG(status))
        } else {
            WorkloadExit::Exited(libc::WEXITSTATUS(status))
        }
    }
}

impl std::fmt::Display for WorkloadExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            WorkloadExit::Exited(code) => write!(f, "exited with status {code}"),
            WorkloadExit::Signaled(sig) => write!(f, "killed by signal {sig}"),
        }
    }
}

/// Why a run failed before the workload could end on its own.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Spawn(#[from] child::SpawnError),
    /// Bad usage or bad input (exit 2).
    #[error(transparent)]
    BadInput(#[from] crate::error::BadInput),
    #[error(transparent)]
    Compile(#[from] compile::CompileError),
    /// The kernel lacks what this mode needs; the message suggests another mode.
    #[error("{0}")]
    Unsupported(String),
    /// An operation of eperm's own failed (a pipe, a cgroup, waitpid, ptrace).
    #[error("cannot {op}: {source}")]
    Os { op: String, source: std::io::Error },
}

impl RunError {
    /// For `map_err`: `op` failed with the error it is given.
    pub fn os(op: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunError {
        let op = op.into();
        move |source| RunError::Os { op, source }
    }
}

#[cfg(test)]
mod naming_tests;

#[cfg(test)]
mod queue_tests {
    use super::{event_channel, EVENT_QUEUE};

    /// Issue 33: the event queue is bounded; what does not fit is counted, and
    /// the sender fails only once nobody receives.
    #[test]
    fn a_full_event_queue_counts_what_it_drops() {
        let (tx, rx) = event_channel();
        let event = crate::app::testing::event("mkdir", 1, 0);
        for _ in 0..EVENT_QUEUE + 5 {
            assert!(tx.send(event.clone()).is_ok());
        }
        assert_eq!(tx.dropped(), 5);
        assert_eq!(rx.try_iter().count(), EVENT_QUEUE);
        drop(rx);
        assert!(tx.send(event).is_err());
    }
}

#[cfg(test)]
mod event_tests {
    use super::{event_channel, Call, Caller, Judge, Policy, Supervision};
    use crate::arch::Arch;
    use crate::compile::Mode;
    use crate::profile::{load_str, Target, DEFAULT_PROFILE};
    use crate::sources::event::{Decision, Source};
    use crate::untrusted::Untrusted;
    use std::time::{Duration, Instant};

    /// An event's time is when its supervisor read the clock for the call
    /// (once, for its caches too), and its caller is as the supervisor knew it.
    #[test]
    fn an_event_is_timed_at_the_clock_read_for_its_call() {
        let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
        let judge = Judge::new(profile, &Target::docker_on_host(), Mode::Notify).unwrap();
        let sup = Supervision {
            judge,
            policy: Policy::Permissive,
            events: event_channel().0,
            started: Instant::now(),
            own_exe: None,
            layers: None,
            stacks: None,
        };
        let arch = Arch::X86_64;
        let nr = arch.syscall_nr("uselib").unwrap();
        let call = Call {
            pid: 7,
            tid: 8,
            arch,
            nr,
            args: [0; 6],
        };
        let judgement = sup.judge.judge(arch, nr, call.args);
        let event_at = |caller, at| {
            sup.event_from(
                Source::Notify,
                &call,
                &judgement,
                Decision::Allowed,
                caller,
                at,
            )
        };
        let caller = Caller {
            comm: Untrusted::from("worker"),
            exe: Some(Untrusted::from("/bin/worker")),
            container: None,
        };
        let event = event_at(caller, sup.started + Duration::from_millis(1500));
        assert_eq!(event.time_ms, 1500);
        assert_eq!(event.comm, Untrusted::from("worker"));
        assert_eq!(event.syscall, "uselib");
        assert_eq!((event.pid, event.tid), (7, 8));
        assert!(event.container.is_none());
        // A clock read before the run started (another thread's) is time 0.
        if let Some(early) = sup.started.checked_sub(Duration::from_millis(5)) {
            let caller = Caller {
                comm: Untrusted::default(),
                exe: None,
                container: None,
            };
            assert_eq!(event_at(caller, early).time_ms, 0);
        }
    }
}

#[cfg(test)]
mod describe_tests {
    use super::decode_live;
    use crate::arch::Arch;

    /// The one-entry cache of `decode_live` serves only calls that point at
    /// nothing: a call whose pointer is read again shows what it points at now.
    #[test]
    fn a_repeated_call_is_described_as_it_reads_now() {
        let arch = Arch::X86_64;
        let close = arch.syscall_nr("close").unwrap();
        let a = decode_live(arch, close, [3, 0, 0, 0, 0, 0], 0);
        let b = decode_live(arch, close, [4, 0, 0, 0, 0, 0], 0);
        assert_ne!(a, b);
        assert_eq!(decode_live(arch, close, [3, 0, 0, 0, 0, 0], 0), a);
        // Our own memory, read as a stopped caller's would be.
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        let openat = arch.syscall_nr("openat").unwrap();
        let mut path = *b"/first\0";
        let args = [libc::AT_FDCWD as u64, path.as_ptr() as u64, 0, 0, 0, 0];
        let first = decode_live(arch, openat, args, tid);
        assert!(first.contains("/first"), "{first}");
        path[..7].copy_from_slice(b"/other\0");
        std::hint::black_box(&mut path);
        let again = decode_live(arch, openat, args, tid);
        assert!(again.contains("/other"), "{again}");
        std::hint::black_box(&path);
    }
}

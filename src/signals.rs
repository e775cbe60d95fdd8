//! Signals eperm itself catches: the one handler it installs, behind a safe API,
//! so the layers above (`cmd`, `session`, `tui`) hold no `unsafe`.
//!
//! SIGINT, SIGTERM and SIGHUP end eperm the ordinary way instead of killing it
//! where it stands: `watch --no-tui` stops its readers and prints their health;
//! a headless run passes SIGTERM and SIGHUP on to the workload (a second one
//! kills it) and, once it has ended, writes its summary, events and report as
//! at any end (while the workload runs eperm ignores SIGINT: ^C goes to the
//! workload's group, which owns the terminal, as in a shell); the TUI quits as
//! on `q`, leaving the terminal as it found it.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Set by the handler once SIGINT, SIGTERM or SIGHUP has arrived.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// How many have arrived, and the last one.
static COUNT: AtomicU32 = AtomicU32::new(0);
static LAST: AtomicI32 = AtomicI32::new(0);

/// Only stores to atomics: async-signal-safe.
extern "C" fn on_interrupt(signal: libc::c_int) {
    LAST.store(signal, Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT, SIGTERM and SIGHUP set the flag returned instead of
/// ending the process. Interrupted calls restart (as with `signal(2)` on
/// glibc), so no read or wait elsewhere sees EINTR for them. A child keeps
/// none of this past its exec (caught signals are reset to their default).
pub fn catch_interrupts() -> nix::Result<&'static AtomicBool> {
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only stores to atomics, which is
        // async-signal-safe; the old disposition returned is not needed.
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(&INTERRUPTED)
}

/// Has one of the caught signals arrived?
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// SIGINT, SIGTERM and SIGHUP caught and passed on to the workload, so that a
/// run ends as any run does (summary, events and report written): the
/// forwarder (none if the handlers cannot be set) and the pid it waits for.
pub fn forward_to_workload() -> (Option<Forwarder>, Arc<AtomicI32>) {
    let pid = Arc::new(AtomicI32::new(0));
    let forwarder = catch_interrupts()
        .ok()
        .map(|_| Forwarder::start(pid.clone()));
    (forwarder, pid)
}

/// Passes caught signals on to the workload whose pid `pid` gets (0 until it
/// is forked) until dropped: the first as it came, any later one as SIGKILL.
pub struct Forwarder {
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Forwarder {
    pub fn start(pid: Arc<AtomicI32>) -> Forwarder {
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut sent = 0;
                while !done.load(Ordering::SeqCst) {
                    // Parked, not slept: dropping the forwarder unparks it, so a
                    // run's end does not wait out the rest of a 20 ms nap.
                    std::thread::park_timeout(Duration::from_millis(20));
                    let count = COUNT.load(Ordering::SeqCst);
                    let target = pid.load(Ordering::SeqCst);
                    if count == sent || target <= 0 {
                        continue;
                    }
                    let signal = if sent == 0 {
                        Signal::try_from(LAST.load(Ordering::SeqCst)).unwrap_or(Signal::SIGTERM)
                    } else {
                        Signal::SIGKILL
                    };
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(target), signal);
                    sent = count;
                }
            })
        };
        Forwarder {
            done,
            thread: Some(thread),
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

//! Signals eperm itself catches: the one handler it installs, behind a safe API,
//! so the layers above (`cmd`, `session`) hold no `unsafe`.
//!
//! `watch --no-tui` follows the kernel logs until the user stops it; SIGINT and
//! SIGTERM then end it the ordinary way (readers stopped, health printed)
//! instead of killing the process where it stands.

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler once SIGINT or SIGTERM has arrived.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Only stores to an atomic: async-signal-safe.
extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on SIGINT and SIGTERM set the flag returned instead of ending the
/// process. Interrupted calls restart (as with `signal(2)` on glibc), so no
/// read or wait elsewhere sees EINTR for them.
pub fn catch_interrupts() -> nix::Result<&'static AtomicBool> {
    let action = SigAction::new(
        SigHandler::Handler(on_interrupt),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe; the old disposition returned is not needed.
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(&INTERRUPTED)
}

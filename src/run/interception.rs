//! How would-be-denied calls reach eperm: the action the softened profile gives
//! them, and the supervisor that sees them.

use super::notify;
use crate::compile::Mode;

/// How would-be-denied calls are intercepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interception {
    /// SCMP_ACT_TRACE and a ptrace tracer.
    Trace,
    /// SCMP_ACT_NOTIFY and a user-notification supervisor.
    Notify,
    /// SCMP_ACT_LOG; events come from the kernel log sources.
    Log,
}

impl Interception {
    pub fn parse(s: &str) -> Option<Interception> {
        match s {
            "trace" => Some(Interception::Trace),
            "notify" => Some(Interception::Notify),
            "log" => Some(Interception::Log),
            _ => None,
        }
    }

    /// Notify where the kernel has it (it is the fastest), else trace.
    pub fn best_available() -> Interception {
        if notify::available() {
            Interception::Notify
        } else {
            Interception::Trace
        }
    }

    /// The compile mode that goes with it.
    pub fn compile_mode(self) -> Mode {
        match self {
            Interception::Trace => Mode::Trace,
            Interception::Notify => Mode::Notify,
            Interception::Log => Mode::Log,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Interception::Trace => "trace",
            Interception::Notify => "notify",
            Interception::Log => "log",
        }
    }
}

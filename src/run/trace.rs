//! Trace mode (ptrace). A placeholder until the tracer lands.

use super::child::Prepared;
use super::contain::Containment;
use super::{RunError, Supervision, WorkloadExit};

/// Runs the workload under ptrace, reporting every SECCOMP_RET_TRACE stop.
pub fn run_traced(
    _prepared: &Prepared,
    _sup: &Supervision,
    _containment: &Containment,
) -> Result<WorkloadExit, RunError> {
    Err(RunError::Unsupported(
        "trace mode is not available yet\n  hint: use --mode notify".into(),
    ))
}

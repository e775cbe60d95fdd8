//! Tightening a profile from what a workload really used (see [`crate::coverage`]):
//! [`prune`] takes out the allowances no run used, [`narrow`] narrows allowances
//! to the argument values seen. Both serve the CLI and the TUI alike.

pub mod narrow;
pub mod prune;

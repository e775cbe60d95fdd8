//! Tightening a profile from what a workload really used (see [`crate::run::coverage`]).
//! Pruning unused allowances lives with `eperm tighten` (`cmd::tighten`); narrowing
//! allowances to the argument values seen is [`narrow`], shared with the TUI.

pub mod narrow;

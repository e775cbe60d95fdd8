//! Two profiles compared by what they decide, not by their text: for each
//! arch both filters cover, each syscall (and, for argument rules, each
//! argument value) whose verdict differs.
//!
//! Verdicts come from [`crate::compile::Compiled::evaluate`], the libseccomp
//! emulation every other command predicts with (runc's stub and the kernel's
//! passthrough included); nothing here decides a call by itself. Argument
//! rules are probed at the values [`probe`] picks from the conditions either
//! profile writes for the call.
//!
//! - [`diff`]: every difference, for `eperm diff` and the rest;
//! - [`diff::looser`]: the calls a profile lets run that a baseline refuses
//!   (`eperm check --baseline`);
//! - [`rebase`]: a custom profile's own changes carried onto a new upstream.

pub mod diff;
pub mod probe;
pub mod rebase;

pub use diff::{diff, looser, CallChange, Point, Side, VerdictDiff};

//! eperm-core: the pure part of eperm — what a seccomp profile means, with no
//! threads, no processes and no kernel calls beyond reading and writing files.
//! Everything that touches the kernel lives in the `eperm` binary crate, which
//! depends on this one; the compiler keeps the arrow pointing that way.
//!
//! Ground floor first:
//!
//! - [`error`], [`files`], [`json`], [`untrusted`], [`suggest`]: bad input and file
//!   errors, every file written and read safely, positions-keeping JSON, text from other processes shown escaped,
//!   "did you mean".
//! - [`arch`], [`syscalls`], [`errno`], [`caps`]: architectures and syscall
//!   numbers; what each syscall does, takes and how a call reads; errno and
//!   capability names.
//! - [`layer`]: which layer (seccomp, a capability, file modes, an LSM, a
//!   sysctl…) refused a call that failed with EPERM or EACCES, and its fix.
//! - [`target`]: the runtime that loads a profile and its libseccomp; [`startup`]:
//!   the calls its init makes under the profile before the workload starts.
//! - [`profile`]: the model, loading with precise errors, resolution for a
//!   target, lints, minimal-diff edits and atomic saves.
//! - [`compile`]: a resolved profile to classic BPF, with its emulator and the
//!   libseccomp emulation the verdicts are checked against.
//! - [`verdicts`]: two profiles compared by what they decide (diff, no looser
//!   than a baseline, rebase onto a new upstream).

#![forbid(unsafe_code)]

pub mod arch;
pub mod caps;
pub mod compile;
pub mod errno;
pub mod error;
pub mod files;
pub mod json;
pub mod layer;
pub mod profile;
pub mod startup;
pub mod suggest;
pub mod syscalls;
pub mod target;
pub mod untrusted;
pub mod verdicts;

//! Seccomp profiles: the model, loading with precise errors, resolution for a
//! target, lints, and minimal-diff edits.

pub mod diag;
pub mod edit;
pub mod indent;
pub mod load;
pub mod model;
pub mod save;

pub use diag::{Diagnostic, LoadError, Severity};
pub use load::{load_file, load_str};
pub use model::{Action, ArgCond, CmpOp, Filter, Form, KernelVersion, Profile, Rule};

/// The embedded default profile, Docker-compatible in behaviour.
pub const DEFAULT_PROFILE: &str = include_str!("../../assets/profiles/default.json");

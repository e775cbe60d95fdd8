//! Seccomp profiles: the model, loading with precise errors, resolution for a
//! target, lints, and minimal-diff edits.

pub mod diag;
pub mod edit;
pub mod indent;
pub mod lint;
pub mod load;
pub mod model;
pub mod resolve;
pub mod risk;
pub mod save;

pub use diag::{Diagnostic, LoadError, Severity};
pub use lint::lint;
pub use load::{load_file, load_str};
pub use model::{Action, ArgCond, CmpOp, Filter, Form, KernelVersion, Profile, Rule};
pub use resolve::{resolve, Effective, Resolved, Skip, Target, Verdict};

/// The embedded default profile, Docker-compatible in behaviour.
pub const DEFAULT_PROFILE: &str = include_str!("../../assets/profiles/default.json");

//! Seccomp profiles: the model, loading with precise errors, resolution for a
//! target, lints, and minimal-diff edits.

pub mod diag;
pub mod edit;
pub mod export;
pub mod indent;
pub mod lint;
pub mod load;
pub mod merge;
pub mod model;
pub mod portable;
pub mod resolve;
pub mod risk;
pub mod save;
pub mod yaml;
pub mod yaml_edit;

use crate::error::{FileError, FileOp};
pub use diag::{Diagnostic, LoadError, Severity};
pub use lint::lint;
pub use load::{load_bytes, load_file, load_str};
pub use model::{Action, ArgCond, CmpOp, Filter, Form, KernelVersion, Profile, Rule, Syntax};
pub use resolve::{resolve, Effective, Refusal, Resolved, Skip, Target, Verdict};

/// The embedded default profile, Docker-compatible in behaviour.
pub const DEFAULT_PROFILE: &str = include_str!("../../../../assets/profiles/default.json");

/// The name the embedded default profile goes by in messages (its `file`).
pub const DEFAULT_NAME: &str = "<default profile>";

/// The name a profile read from standard input goes by in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// The profile argument of `check`, `explain` and `compile`: a file, or `-`
/// for standard input.
pub fn load_arg(path: &std::path::Path) -> Result<Profile, LoadError> {
    if path != std::path::Path::new("-") {
        return load_file(path);
    }
    let bytes =
        crate::files::read_capped(std::io::stdin().lock(), 0, crate::files::PROFILE).map_err(
            FileError::on(FileOp::Read, std::path::Path::new(STDIN_NAME)),
        )?;
    load_bytes(STDIN_NAME, bytes)
}

/// `-p FILE`, or the embedded default profile when no file is given.
pub fn load_or_default(path: Option<&std::path::Path>) -> Result<Profile, LoadError> {
    match path {
        Some(p) => load_file(p),
        None => load_str(DEFAULT_NAME, DEFAULT_PROFILE.to_string()),
    }
}

impl Profile {
    /// The file the profile was read from, as given; `None` for the embedded
    /// default and for standard input.
    pub fn own_file(&self) -> Option<&str> {
        (self.file != DEFAULT_NAME && self.file != STDIN_NAME).then_some(self.file.as_str())
    }

    /// [`Profile::own_file`] as a path.
    pub fn file_path(&self) -> Option<std::path::PathBuf> {
        self.own_file().map(std::path::PathBuf::from)
    }
}

//! The words every layer uses for what went wrong with input and files:
//! [`BadInput`] (bad usage or a bad value: exit 2) and [`FileError`] (an
//! operation on a named file failed, and which). The binary's `error` module
//! builds its one `Error` from these.

use std::io;
use std::path::{Path, PathBuf};

/// Bad usage or bad input: the message names the flag or file, the bad value
/// and, where one helps, a hint. Exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// What was being done to a file when it failed, as [`FileError`]'s message
/// says it: "cannot {op} {path}: …".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOp {
    /// Reading a file named on the command line (a bad input: exit 2).
    Read,
    /// Writing a file the user asked for (`-o`, `--report`).
    Write,
    /// Saving the coverage file beside the profile.
    WriteCoverage,
    /// Writing the triage report.
    WriteReport,
    /// Saving the profile being edited.
    SaveProfile,
    /// Creating (or emptying) the `--events` file.
    CreateEvents,
    /// Writing events to the `--events` file.
    WriteEvents,
    /// Making a container run's work directory in this directory.
    CreateWorkDir,
    /// Writing a container run's files (bundle, instrumented profile) in it.
    PrepareContainerFiles,
}

impl std::fmt::Display for FileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOp::Read => "read",
            FileOp::Write => "write",
            FileOp::WriteCoverage => "write the coverage file",
            FileOp::WriteReport => "write the report",
            FileOp::SaveProfile => "save the profile",
            FileOp::CreateEvents => "create the --events file",
            FileOp::WriteEvents => "write events to",
            FileOp::CreateWorkDir => "create a work directory in",
            FileOp::PrepareContainerFiles => "prepare the container's files in",
        })
    }
}

/// An operation on a named file failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot {op} {}: {source}", path.display())]
pub struct FileError {
    pub op: FileOp,
    pub path: PathBuf,
    pub source: io::Error,
}

impl FileError {
    /// Whether the command's input is at fault (exit 2): a named file that
    /// cannot be read, or one eperm refuses to touch ([`crate::files::Refused`]).
    pub fn is_bad_input(&self) -> bool {
        self.op == FileOp::Read || crate::files::is_refusal(&self.source)
    }

    /// For `map_err`: the error of doing `op` on `path`.
    pub fn on(op: FileOp, path: &Path) -> impl FnOnce(io::Error) -> FileError + '_ {
        move |source| FileError {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

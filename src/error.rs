//! The one error vocabulary of the commands and the layers they drive.
//!
//! [`Error`] is what a command, a session and the TUI's entry point return.
//! Bad input is always a [`BadInput`] and a failed operation on a named file
//! always a [`FileError`] (what was done, to which file, and why it failed),
//! wherever they arise. [`Error::exit_code`] is the one place an error becomes
//! the process's exit code (docs/architecture.md, "Contracts").

use crate::coverage::CoverageError;
use crate::profile::save::SaveError;
use crate::profile::LoadError;
use crate::run::{child::SpawnError, RunError};
pub use eperm_core::error::{BadInput, FileError, FileOp};
use std::io;
use std::path::Path;

/// Exit codes, as docs/architecture.md ("Contracts") promises them.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
/// The command to run was not found, as a shell says it.
pub const EXIT_NOT_FOUND: u8 = 127;

/// Why this machine cannot do something eperm would (a kernel log source, the
/// eBPF counter): a reason said to the user, who may fall back or fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// Why a command, or the session it drives, failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    BadInput(#[from] BadInput),
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file named on the command line could not be read (exit 2, as for a
    /// profile), or one of eperm's could not be written (exit 1).
    #[error(transparent)]
    File(#[from] FileError),
    /// Writing to standard output failed. `BrokenPipe` here means the reader
    /// quit early (`| head`): eperm ends quietly with success, as ripgrep does.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] io::Error),
    /// An operation on something other than a named file: "cannot {op}: {source}".
    #[error("cannot {op}: {source}")]
    Os { op: &'static str, source: io::Error },
    /// The profile could not be saved; the message names the file and the step.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// This machine lacks what the command needs (a kernel log source, …): exit 1.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Coverage(#[from] CoverageError),
}

impl Error {
    /// Bad usage or bad input, with this message.
    pub fn bad_input(message: impl Into<String>) -> Error {
        Error::BadInput(BadInput(message.into()))
    }

    /// For `map_err`: the error of doing `op` on `path`.
    pub fn file(op: FileOp, path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
        move |source| FileError::on(op, path)(source).into()
    }

    /// The reader of our standard output has gone: not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The process's exit code for this error, and the only place one is
    /// decided: 2 for bad input (a file named on the command line that cannot
    /// be read is one), 127 for a command not found (as a shell), 0 when the
    /// reader of stdout quit early, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::BadInput(_) | Error::Load(_) => EXIT_BAD_INPUT,
            Error::File(e) if e.is_bad_input() => EXIT_BAD_INPUT,
            // A file eperm refuses to touch (a link, a FIFO, too large) is bad input too.
            Error::Save(SaveError::File(e)) | Error::Coverage(CoverageError::File(e))
                if e.is_bad_input() =>
            {
                EXIT_BAD_INPUT
            }
            Error::Run(RunError::BadInput(_) | RunError::Compile(_)) => EXIT_BAD_INPUT,
            Error::Run(RunError::Spawn(SpawnError::NotFound(_))) => EXIT_NOT_FOUND,
            Error::Stdout(_) if self.is_broken_pipe() => EXIT_OK,
            Error::File(_)
            | Error::Stdout(_)
            | Error::Os { .. }
            | Error::Save(_)
            | Error::Unavailable(_)
            | Error::Run(_)
            | Error::Coverage(_) => EXIT_FINDINGS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io() -> io::Error {
        io::Error::from(io::ErrorKind::PermissionDenied)
    }

    #[test]
    fn file_errors_name_the_operation_and_the_file() {
        let e = Error::file(FileOp::CreateEvents, Path::new("/x/ev.json"))(io());
        assert_eq!(
            e.to_string(),
            format!("cannot create the --events file /x/ev.json: {}", io())
        );
        let e = Error::file(FileOp::Read, Path::new("a.log"))(io());
        assert_eq!(e.to_string(), format!("cannot read a.log: {}", io()));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Error::bad_input("--arch: x").exit_code(), EXIT_BAD_INPUT);
        assert_eq!(Error::bad_input("--arch: x").to_string(), "--arch: x");
        let read = Error::file(FileOp::Read, Path::new("p"))(io());
        assert_eq!(read.exit_code(), EXIT_BAD_INPUT);
        for op in [
            FileOp::Write,
            FileOp::CreateEvents,
            FileOp::WriteEvents,
            FileOp::CreateWorkDir,
            FileOp::PrepareContainerFiles,
        ] {
            assert_eq!(
                Error::file(op, Path::new("p"))(io()).exit_code(),
                EXIT_FINDINGS
            );
        }
        let run_bad = Error::Run(RunError::BadInput(BadInput("--user x".into())));
        assert_eq!(run_bad.exit_code(), EXIT_BAD_INPUT);
        let gone = Error::Run(RunError::Spawn(SpawnError::NotFound("nope".into())));
        assert_eq!(gone.exit_code(), EXIT_NOT_FOUND);
        let os = Error::Run(RunError::os("wait")(io()));
        assert_eq!(os.exit_code(), EXIT_FINDINGS);
        let pipe = Error::Stdout(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(pipe.is_broken_pipe());
        assert_eq!(pipe.exit_code(), EXIT_OK);
        assert_eq!(Error::Stdout(io()).exit_code(), EXIT_FINDINGS);
        assert_eq!(
            Error::from(Unavailable("no".into())).exit_code(),
            EXIT_FINDINGS
        );
    }
}

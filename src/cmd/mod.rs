//! One module per subcommand. Each returns the process exit code or a [`CmdError`].

pub mod check;
pub mod compile;
pub mod container;
pub mod edit;
pub mod explain;
pub mod import;
pub mod record;
pub mod replay;
pub mod run;
pub mod tighten;
pub mod watch;

use crate::profile::save::SaveError;
use crate::profile::LoadError;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Exit codes, as DESIGN.md promises them.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// What a file operation was, in [`CmdError::File`]'s message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOp {
    Read,
    Write,
}

impl std::fmt::Display for FileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOp::Read => "read",
            FileOp::Write => "write",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// Bad usage or bad input: exit 2.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file named on the command line could not be read (exit 2, as for a
    /// profile) or written (exit 1).
    #[error("cannot {op} {}: {source}", path.display())]
    File {
        op: FileOp,
        path: PathBuf,
        source: io::Error,
    },
    /// Writing to standard output failed. `BrokenPipe` here means the reader
    /// quit early (`| head`): `main` ends quietly with success, as ripgrep does.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] io::Error),
    /// An operation on something other than a named file: "cannot {op}: {source}".
    #[error("cannot {op}: {source}")]
    Os { op: &'static str, source: io::Error },
    /// The profile could not be saved; the message names the file and the step.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// This machine lacks what the command needs (a kernel log source, …): exit 1.
    #[error("{0}")]
    Unavailable(String),
    // TODO(session): remove once cmd/run, record, tighten, container name their files
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error(transparent)]
    Coverage(#[from] crate::run::coverage::CoverageError),
}

impl CmdError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CmdError::BadInput(_) | CmdError::Load(_) => EXIT_BAD_INPUT,
            CmdError::File { op, .. } => match op {
                FileOp::Read => EXIT_BAD_INPUT,
                FileOp::Write => EXIT_FINDINGS,
            },
            CmdError::Stdout(_)
            | CmdError::Os { .. }
            | CmdError::Save(_)
            | CmdError::Unavailable(_)
            | CmdError::Io(_)
            | CmdError::Coverage(_) => EXIT_FINDINGS,
            CmdError::Run(e) => e.exit_code(),
        }
    }

    /// The reader of our standard output has gone: not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CmdError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// For `map_err`: the error of doing `op` on `path`.
    pub fn file(op: FileOp, path: &Path) -> impl FnOnce(io::Error) -> CmdError + '_ {
        move |source| CmdError::File {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Runs `write` on locked, buffered standard output and flushes it. A failed
/// write is a [`CmdError::Stdout`]: `main` keeps a broken pipe quiet.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CmdError> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(CmdError::Stdout)
}

use crate::arch::Arch;
use crate::caps::CapSet;
use crate::cli::TargetArgs;
use crate::profile::{KernelVersion, Target};

/// The target a command evaluates a profile for; unset parts default to this host.
pub fn target(args: &TargetArgs) -> Result<Target, CmdError> {
    let arch = match &args.arch {
        None => Arch::native(),
        Some(name) => Arch::parse(name).ok_or_else(|| {
            let names = Arch::ALL
                .iter()
                .map(|a| a.name())
                .collect::<Vec<_>>()
                .join(", ");
            CmdError::BadInput(format!(
                "--arch: unknown architecture {name:?}\n  hint: one of {names}"
            ))
        })?,
    };
    let caps = CapSet::parse(&args.caps).map_err(|e| CmdError::BadInput(format!("--caps: {e}")))?;
    let kernel = match &args.kernel {
        None => KernelVersion::running(),
        Some(v) => Some(KernelVersion::parse(v).ok_or_else(|| {
            CmdError::BadInput(format!(
                "--kernel: invalid version {v:?}\n  hint: write it as MAJOR.MINOR, e.g. 6.1"
            ))
        })?),
    };
    Ok(Target { arch, caps, kernel })
}

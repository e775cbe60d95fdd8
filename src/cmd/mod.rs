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

use crate::profile::LoadError;

/// Exit codes, as DESIGN.md promises them.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// Bad usage or bad input: exit 2.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error(transparent)]
    Coverage(#[from] crate::run::coverage::CoverageError),
}

impl CmdError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CmdError::BadInput(_) | CmdError::Load(_) => EXIT_BAD_INPUT,
            CmdError::Io(_) | CmdError::Coverage(_) => EXIT_FINDINGS,
            CmdError::Run(e) => e.exit_code(),
        }
    }
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

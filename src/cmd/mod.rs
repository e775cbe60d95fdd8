//! One module per subcommand. Each returns the process exit code or a [`CmdError`].

pub mod check;
pub mod edit;

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
}

impl CmdError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CmdError::BadInput(_) | CmdError::Load(_) => EXIT_BAD_INPUT,
            CmdError::Io(_) => EXIT_FINDINGS,
        }
    }
}

//! `eperm record`: placeholder.
use super::CmdError;
use crate::cli::RecordArgs;
pub fn run(_args: &RecordArgs) -> Result<u8, CmdError> {
    Err(CmdError::BadInput("not yet".into()))
}

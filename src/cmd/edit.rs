//! `eperm edit`: being written.

use crate::cli::EditArgs;

pub fn run(_args: &EditArgs) -> Result<u8, super::CmdError> {
    Err(super::CmdError::BadInput(
        "eperm edit is not written yet".into(),
    ))
}

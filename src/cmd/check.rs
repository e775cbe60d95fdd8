//! `eperm check`: being written.

use crate::cli::CheckArgs;

pub fn run(args: &CheckArgs) -> Result<u8, super::CmdError> {
    let profile = crate::profile::load_file(&args.profile)?;
    println!("{}: {} rules", profile.file, profile.rules.len());
    Ok(super::EXIT_OK)
}

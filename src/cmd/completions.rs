//! `eperm completions SHELL`: the shell's completion script, generated from the
//! command-line definition (value lists such as `--mode` and file names for
//! `-p` come from the argument definitions in `cli.rs`).

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, EXIT_OK};
use clap::CommandFactory;

pub fn run(args: &CompletionsArgs) -> Result<u8, Error> {
    let mut command = Cli::command();
    super::to_stdout(|out| {
        clap_complete::generate(args.shell, &mut command, "eperm", out);
        Ok(())
    })?;
    Ok(EXIT_OK)
}

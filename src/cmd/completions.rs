//! `eperm completions SHELL`: the shell's completion script, generated from the
//! command-line definition (value lists such as `--mode` and file names for
//! `-p` come from the argument definitions in `cli.rs`).

use crate::cli::{Cli, CompletionsArgs};
use crate::error::{Error, EXIT_OK};
use clap::builder::PossibleValuesParser;
use clap::CommandFactory;

pub fn run(args: &CompletionsArgs) -> Result<u8, Error> {
    // `man`'s argument is a subcommand's name: offer those. Only the scripts
    // learn the list (the definition cannot name the command it is part of);
    // `man` itself says which names it knows when given another.
    let mut command = Cli::command().mut_subcommand("man", |man| {
        man.mut_arg("subcommand", |arg| {
            arg.value_parser(PossibleValuesParser::new(super::man::subcommands()))
        })
    });
    super::to_stdout(|out| {
        clap_complete::generate(args.shell, &mut command, "eperm", out);
        Ok(())
    })?;
    Ok(EXIT_OK)
}

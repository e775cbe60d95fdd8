use clap::Parser;
use eperm::cli::{Cli, Command};
use eperm::cmd;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Edit(args) => cmd::edit::run(args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Default => {
            print!("{}", eperm::profile::DEFAULT_PROFILE);
            Ok(cmd::EXIT_OK)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("eperm: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

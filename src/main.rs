use clap::Parser;
use eperm::cli::{Cli, Command};
use eperm::cmd;
use eperm::container::wrapper;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Installed as a runtime for dockerd under this name: act as runc's wrapper.
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_default();
    if std::path::Path::new(&program).file_name() == Some(wrapper::PROGRAM.as_ref()) {
        wrapper::main(args.collect());
    }
    let cli = Cli::parse_from(with_default_command(std::env::args_os().collect()));
    let result = match &cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Edit(args) => cmd::edit::run(args),
        Command::Compile(args) => cmd::compile::run(args),
        Command::Explain(args) => cmd::explain::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Record(args) => cmd::record::run(args),
        Command::Tighten(args) => cmd::tighten::run(args),
        Command::Watch(args) => cmd::watch::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Replay(args) => cmd::replay::run(args),
        Command::Docker(args) => cmd::container::docker(args),
        Command::Oci(args) => cmd::container::oci(args),
        Command::Podman(args) => cmd::container::podman(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Rebase(args) => cmd::rebase::run(args),
        Command::Completions(args) => cmd::completions::run(args),
        Command::Man(args) => cmd::man::run(args),
        Command::Default => {
            cmd::to_stdout(|out| out.write_all(eperm::profile::DEFAULT_PROFILE.as_bytes()))
                .map(|()| eperm::error::EXIT_OK)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // The reader quit early (`eperm default | head`): it has what it
            // wanted, and needs no message.
            if !e.is_broken_pipe() {
                eprintln!("eperm: {e}");
            }
            ExitCode::from(e.exit_code())
        }
    }
}

/// `eperm [run options] -- CMD` means `eperm run [run options] -- CMD`.
fn with_default_command(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let own_flag = ["-h", "--help", "-V", "--version"].contains(&first);
    if first.starts_with('-') && !own_flag {
        args.insert(1, "run".into());
    }
    args
}

//! The command line, as DESIGN.md promises it. Names here are a contract.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "eperm",
    version,
    about = "Find out why seccomp says \"Operation not permitted\", and fix the profile"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a profile: errors, risky allowances, rules that do nothing.
    Check(CheckArgs),
    /// Change a profile with the smallest diff: allow, deny or remove syscalls.
    Edit(EditArgs),
    /// Print the embedded default profile (Docker-compatible).
    Default,
}

/// What a profile is resolved for: `includes`/`excludes` and `archMap` depend on it.
#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    /// The target's native architecture (x86_64, aarch64, …); archMap adds its sub-arches.
    #[arg(long)]
    pub arch: Option<String>,
    /// Capabilities: docker (Docker's 14), all, none, or CAP_A,CAP_B.
    #[arg(long, default_value = "docker")]
    pub caps: String,
    /// Kernel version X.Y for `minKernel` (default: the running kernel).
    #[arg(long)]
    pub kernel: Option<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    pub profile: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Machine-readable output: one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Also list notes: rules and names that have no effect on this target.
    #[arg(short, long)]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    pub profile: PathBuf,
    /// Allow these syscalls (comma list).
    #[arg(long, value_delimiter = ',', value_name = "NAME,..")]
    pub allow: Vec<String>,
    /// Deny these syscalls, optionally with an errno: `ptrace`, `clone3:ENOSYS`.
    #[arg(long, value_delimiter = ',', value_name = "NAME[:ERRNO],..")]
    pub deny: Vec<String>,
    /// Remove these syscalls from every rule, so the default action applies.
    #[arg(long, value_delimiter = ',', value_name = "NAME,..")]
    pub remove: Vec<String>,
    /// Print the change as a unified diff instead of saving it.
    #[arg(long)]
    pub dry_run: bool,
}

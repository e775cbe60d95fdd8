//! One module per subcommand. Each returns the process exit code or a [`CmdError`].

pub mod check;
pub mod compile;
pub mod completions;
pub mod container;
pub mod edit;
pub mod explain;
pub mod export;
pub mod import;
pub mod man;
pub mod merge;
pub mod record;
pub mod replay;
pub mod run;
pub mod tighten;
pub mod watch;

use crate::profile::export::{object_name, Format, SpoApi, SpoMeta};
use crate::profile::save::SaveError;
use crate::profile::{LoadError, Profile};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Exit codes, as docs/architecture.md ("Contracts") promises them.
pub const EXIT_OK: u8 = 0;
pub const EXIT_FINDINGS: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// What a file operation was, in [`CmdError::File`]'s message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileOp {
    Read,
    Write,
}

impl std::fmt::Display for FileOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOp::Read => "read",
            FileOp::Write => "write",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    /// Bad usage or bad input: exit 2.
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file named on the command line could not be read (exit 2, as for a
    /// profile) or written (exit 1).
    #[error("cannot {op} {}: {source}", path.display())]
    File {
        op: FileOp,
        path: PathBuf,
        source: io::Error,
    },
    /// Writing to standard output failed. `BrokenPipe` here means the reader
    /// quit early (`| head`): `main` ends quietly with success, as ripgrep does.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] io::Error),
    /// An operation on something other than a named file: "cannot {op}: {source}".
    #[error("cannot {op}: {source}")]
    Os { op: &'static str, source: io::Error },
    /// The profile could not be saved; the message names the file and the step.
    #[error(transparent)]
    Save(#[from] SaveError),
    /// This machine lacks what the command needs (a kernel log source, …): exit 1.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    #[error(transparent)]
    Coverage(#[from] crate::coverage::CoverageError),
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
}

impl CmdError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CmdError::BadInput(_) | CmdError::Load(_) => EXIT_BAD_INPUT,
            CmdError::File { op, .. } => match op {
                FileOp::Read => EXIT_BAD_INPUT,
                FileOp::Write => EXIT_FINDINGS,
            },
            CmdError::Stdout(_)
            | CmdError::Os { .. }
            | CmdError::Save(_)
            | CmdError::Unavailable(_)
            | CmdError::Coverage(_) => EXIT_FINDINGS,
            CmdError::Run(e) => e.exit_code(),
            CmdError::Session(e) => e.exit_code(),
        }
    }

    /// The reader of our standard output has gone: not worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CmdError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }

    /// For `map_err`: the error of doing `op` on `path`.
    pub fn file(op: FileOp, path: &Path) -> impl FnOnce(io::Error) -> CmdError + '_ {
        move |source| CmdError::File {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Runs `write` on locked, buffered standard output and flushes it. A failed
/// write is a [`CmdError::Stdout`]: `main` keeps a broken pipe quiet.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), CmdError> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(CmdError::Stdout)
}

use crate::arch::Arch;
use crate::caps::CapSet;
use crate::cli::{SessionArgs, TargetArgs};
use crate::profile::{KernelVersion, Target};
use crate::session::live::LiveOptions;

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
    let runtime =
        crate::detect::runtime_from_args(args.runtime.as_deref(), args.libseccomp.as_deref())
            .map_err(CmdError::BadInput)?;
    Ok(Target {
        arch,
        caps,
        kernel,
        runtime: Some(runtime),
    })
}

/// The error for a profile the target's runtime refuses (or libseccomp cannot
/// merge): each problem with its line:column and hint, as `check` prints it.
pub fn refused(
    profile: &crate::profile::Profile,
    resolved: &crate::profile::Resolved,
) -> Option<CmdError> {
    let mut found: Vec<_> = crate::profile::lint(profile, resolved)
        .into_iter()
        .filter(|d| d.code == "runtime-refuses")
        .collect();
    if found.is_empty() {
        found.extend(crate::compile::clash(profile, resolved));
    }
    if found.is_empty() {
        return None;
    }
    let text: Vec<String> = found.iter().map(|d| d.render(&profile.file)).collect();
    Some(CmdError::BadInput(text.join("\n")))
}

/// With the TUI, or without: a terminal on stdout and no `--no-tui` (nor
/// `headless`, e.g. `-o`). `--events -` is refused beside the TUI, whose
/// screen stdout is; `--hold` without it is said to run permissively.
pub fn wants_tui(args: &SessionArgs, headless: bool) -> Result<bool, CmdError> {
    use std::io::IsTerminal;
    let tui = !args.no_tui && !headless && std::io::stdout().is_terminal();
    if tui && args.events.as_deref() == Some("-") {
        return Err(CmdError::BadInput(
            "--events -: stdout is the TUI's screen\n  hint: --events FILE, or --no-tui".into(),
        ));
    }
    if args.hold && !tui {
        eprintln!("eperm: --hold needs the TUI (a terminal on stdout); calls run permissively");
    }
    Ok(tui)
}

/// The TUI's options from the session flags; `--events FILE` is opened here.
pub fn live_options(args: &SessionArgs, coverage: bool) -> Result<LiveOptions, CmdError> {
    let events = args
        .events
        .as_deref()
        .map(crate::session::collect::events_file)
        .transpose()?;
    Ok(LiveOptions {
        hold: args.hold,
        hold_timeout: args
            .hold_timeout
            .unwrap_or(std::time::Duration::from_secs(30)),
        autosave: !args.no_autosave,
        rerun_on_save: args.rerun_on_save,
        coverage,
        events,
        report: args.report.clone(),
    })
}

/// Writes `text` to `path` (a profile the user asked for with `-o`).
pub fn write_file(path: &std::path::Path, text: &str) -> Result<(), CmdError> {
    std::fs::write(path, text).map_err(CmdError::file(FileOp::Write, path))
}

/// Writes the triage report (`--report FILE`) and says where.
pub fn write_report(
    path: &std::path::Path,
    triage: &crate::report::Triage,
) -> Result<(), CmdError> {
    write_file(path, &triage.render())?;
    eprintln!("eperm: triage report in {}", path.display());
    Ok(())
}

/// Re-runs `command` under the written profile with `--enforce` (see
/// [`crate::session::verify`]) and says how it went: exit 0 when it passed, 1 when not.
pub fn verified(
    output: &std::path::Path,
    command: &[std::ffi::OsString],
    expected: crate::run::WorkloadExit,
    seen: &str,
) -> Result<u8, CmdError> {
    let verification = crate::session::verify::verify(output, command, expected)?;
    eprint!("{}", verification.render(output, seen));
    Ok(if verification.passed() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

/// Runs the TUI on `session`; returns the last run's exit status.
pub fn tui(session: crate::session::Session, options: LiveOptions) -> Result<u8, CmdError> {
    crate::tui::run(session, options).map_err(|source| CmdError::Os {
        op: "run the terminal UI",
        source,
    })
}

/// `profile` in `format`; a feature the form cannot hold is bad input.
fn exported(
    profile: &Profile,
    target: &Target,
    format: Format,
    meta: &SpoMeta,
) -> Result<String, CmdError> {
    crate::profile::export::export(profile, target, format, meta)
        .map_err(|e| CmdError::BadInput(format!("{}: {e}", profile.file)))
}

/// Writes a profile a command made (`text`, in the form of the profile it
/// started from) to `path`, in the `--format` asked for. The Docker-only
/// features are resolved for a container on this host with Docker's default
/// capabilities, as a Kubernetes node's runtime gives them.
pub fn write_profile(
    path: &Path,
    text: &str,
    format: &crate::cli::FormatArgs,
) -> Result<(), CmdError> {
    let Some(wanted) = format.format else {
        return write_file(path, text);
    };
    let name = path.display().to_string();
    let profile = crate::profile::load_str(&name, text.to_string())?;
    let meta = SpoMeta {
        name: format.name.clone().unwrap_or_else(|| object_name(&name)),
        namespace: None,
        api: SpoApi::V1,
    };
    let text = exported(&profile, &Target::docker_on_host(), wanted.into(), &meta)?;
    write_file(path, &text)
}

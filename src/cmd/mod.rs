//! One module per subcommand. Each returns the process exit code or an [`Error`].

pub mod check;
pub mod compile;
pub mod completions;
pub mod container;
pub mod diff;
pub mod edit;
pub mod explain;
pub mod export;
pub mod import;
pub mod import_events;
pub mod man;
pub mod merge;
pub mod ready;
pub mod rebase;
pub mod record;
pub mod replay;
pub mod run;
pub mod tighten;
pub mod watch;

use crate::error::{Error, FileOp, EXIT_FINDINGS, EXIT_OK};
use crate::profile::export::{object_name, Format, SpoApi, SpoMeta};
use crate::profile::Profile;
use crate::progress::Progress;
use std::io::{self, Write};
use std::path::Path;

/// Runs `write` on locked, buffered standard output and flushes it. A failed
/// write is an [`Error::Stdout`]: `main` keeps a broken pipe quiet.
pub fn to_stdout(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<(), Error> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    write(&mut out)
        .and_then(|()| out.flush())
        .map_err(Error::Stdout)
}

use crate::arch::Arch;
use crate::caps::CapSet;
use crate::cli::{SessionArgs, TargetArgs};
use crate::profile::{KernelVersion, Target};
use crate::session::live::LiveOptions;

/// The target a command evaluates a profile for; unset parts default to this host.
pub fn target(args: &TargetArgs) -> Result<Target, Error> {
    let arch = args.arch.unwrap_or_else(Arch::native);
    let caps = CapSet::parse(&args.caps).map_err(|e| Error::bad_input(format!("--caps: {e}")))?;
    let kernel = match &args.kernel {
        None => KernelVersion::running(),
        Some(v) => Some(KernelVersion::parse(v).ok_or_else(|| {
            Error::bad_input(format!(
                "--kernel: invalid version {v:?}\n  hint: write it as MAJOR.MINOR, e.g. 6.1"
            ))
        })?),
    };
    // `none`: a bare process (`eperm run`), which eperm's own filter loads.
    let runtime = match args.runtime.as_deref() {
        Some("none") => None,
        runtime => Some(
            crate::detect::runtime_from_args(runtime, args.libseccomp.as_deref())
                .map_err(|e| Error::bad_input(e.0))?,
        ),
    };
    Ok(Target {
        arch,
        caps,
        kernel,
        runtime,
    })
}

/// The error for a profile the target's runtime refuses (or libseccomp cannot
/// merge): each problem with its line:column and hint, as `check` prints it.
pub fn refused(
    profile: &crate::profile::Profile,
    resolved: &crate::profile::Resolved,
    progress: &mut Progress,
) -> Option<Error> {
    let mut found: Vec<_> = crate::profile::lint(profile, resolved)
        .into_iter()
        .filter(|d| d.code == "runtime-refuses")
        .collect();
    if found.is_empty() {
        let mut added = merging(progress, resolved);
        found.extend(crate::compile::clash_watched(profile, resolved, &mut added));
    }
    if found.is_empty() {
        return None;
    }
    let text: Vec<String> = found.iter().map(|d| d.render(&profile.file)).collect();
    Some(Error::bad_input(text.join("\n")))
}

/// A progress line's count of libseccomp's rule merge, the long step of
/// `check`, `explain` and `compile` on a profile of many thousand rules.
pub fn merging<'p>(
    progress: &'p mut Progress,
    resolved: &crate::profile::Resolved,
) -> impl FnMut(usize) + 'p {
    let total = resolved.rules.len();
    move |done| {
        // Asking the clock for every rule would cost more than the line is worth.
        if done % 512 == 0 {
            progress.show(&format!(
                "merging the rules as libseccomp does: {done} of {total}"
            ));
        }
    }
}

/// What `check`, `explain` and `compile` are at, on a terminal: a profile of
/// 200,000 rules takes a while at each step.
/// `profile` resolved for `target` and compiled for `mode`, the steps shown on
/// `progress`; refused where the target's runtime would refuse it.
pub fn resolve_and_compile(
    profile: &Profile,
    target: &Target,
    mode: crate::compile::Mode,
    progress: &mut Progress,
) -> Result<(crate::profile::Resolved, crate::compile::Compiled), Error> {
    progress.show(&format!(
        "resolving {}",
        crate::profile::lint::plural(profile.rules.len(), "rule", "rules")
    ));
    let resolved = crate::profile::resolve(profile, target);
    if let Some(e) = refused(profile, &resolved, progress) {
        return Err(e);
    }
    let compiled =
        crate::compile::compile_watched(&resolved, mode, &mut merging(progress, &resolved))
            .map_err(|e| Error::bad_input(format!("{}: {e}", profile.file)))?;
    Ok((resolved, compiled))
}

pub fn reading(progress: &mut Progress, file: &Path) {
    progress.show(&format!("reading {}", file.display()));
}

/// With the TUI, or without: a terminal on stdout and no `--no-tui` (nor
/// `headless`, e.g. `-o`). `--events -` is refused beside the TUI, whose
/// screen stdout is; `--hold` without it is said to run permissively.
pub fn wants_tui(args: &SessionArgs, headless: bool) -> Result<bool, Error> {
    use std::io::IsTerminal;
    let tui = !args.no_tui && !headless && std::io::stdout().is_terminal();
    if tui && args.events.as_deref() == Some("-") {
        return Err(Error::bad_input(
            "--events -: stdout is the TUI's screen\n  hint: --events FILE, or --no-tui",
        ));
    }
    if args.hold && !tui {
        eprintln!("eperm: --hold needs the TUI (a terminal on stdout); calls run permissively");
    }
    Ok(tui)
}

/// `--events` and `--report` are never the profile the run uses (and may edit).
pub fn outputs_apart(args: &SessionArgs, profile: Option<&Path>) -> Result<(), Error> {
    let Some(profile) = profile else {
        return Ok(());
    };
    let outputs = [
        ("--events", args.events.as_deref().map(Path::new)),
        ("--report", args.report.as_deref()),
    ];
    for (flag, path) in outputs {
        if let Some(path) = path.filter(|p| *p == profile || crate::files::same_file(p, profile)) {
            return Err(Error::bad_input(format!(
                "{flag} {}: that is the profile ({}); eperm will not write over it\n  \
                 hint: name another file",
                path.display(),
                profile.display()
            )));
        }
    }
    Ok(())
}

/// The TUI's options from the session flags; `--events FILE` is opened here.
pub fn live_options(args: &SessionArgs, coverage: bool) -> Result<LiveOptions, Error> {
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

/// Writes `text` to `path` (a profile the user asked for with `-o`): whole
/// or not at all, never through a link (see [`crate::files`]).
pub fn write_file(path: &std::path::Path, text: &str) -> Result<(), Error> {
    Ok(crate::files::write(path, text.as_bytes(), FileOp::Write)?)
}

/// Writes the triage report (`--report FILE`) and says where.
pub fn write_report(path: &std::path::Path, triage: &crate::report::Triage) -> Result<(), Error> {
    crate::files::write(path, triage.render().as_bytes(), FileOp::WriteReport)?;
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
) -> Result<u8, Error> {
    let verification = crate::session::verify::verify(output, command, expected)?;
    eprint!("{}", verification.render(output, seen));
    Ok(if verification.passed() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

/// Runs the TUI on `session`; returns the last run's exit status.
pub fn tui(session: crate::session::Session, options: LiveOptions) -> Result<u8, Error> {
    crate::tui::run(session, options).map_err(|source| Error::Os {
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
) -> Result<String, Error> {
    crate::profile::export::export(profile, target, format, meta)
        .map_err(|e| Error::bad_input(format!("{}: {e}", profile.file)))
}

/// Writes a profile a command made (`text`, in the form of the profile it
/// started from) to `path`, in the `--format` asked for. `from` says what it
/// was made from (`a recorded run of ls -l`), for the exported file's header:
/// the file's own name would name the file itself. The Docker-only features
/// are resolved for a container on this host with Docker's default
/// capabilities, as a Kubernetes node's runtime gives them.
pub fn write_profile(
    path: &Path,
    text: &str,
    from: &str,
    format: &crate::cli::FormatArgs,
) -> Result<(), Error> {
    let Some(wanted) = format.format else {
        return write_file(path, text);
    };
    let name = path.display().to_string();
    let mut profile = crate::profile::load_str(&name, text.to_string())?;
    profile.file = from.to_string();
    let meta = SpoMeta {
        name: format.name.clone().unwrap_or_else(|| object_name(&name)),
        namespace: None,
        api: SpoApi::V1,
    };
    let text =
        crate::profile::export::export(&profile, &Target::docker_on_host(), wanted.into(), &meta)
            .map_err(|e| Error::bad_input(format!("{name}: {e}")))?;
    write_file(path, &text)
}

/// `profile` with the counterparts of `--portable` (on the arches it names,
/// this host's and `also`), each said on stderr.
pub fn portable(profile: &Profile, also: &[Arch]) -> Result<String, Error> {
    let target = target(&edit::host_target())?;
    let made = crate::profile::portable::make_portable(profile, &target, also)
        .map_err(|e| Error::bad_input(e.to_string()))?;
    for line in &made.added {
        eprintln!("portable: added {line}");
    }
    for line in &made.left {
        eprintln!("portable: left {line}");
    }
    if made.added.is_empty() && made.left.is_empty() {
        let mut arches = crate::profile::portable::every_native(profile, target.arch);
        arches.extend(
            also.iter()
                .filter(|a| !arches.contains(a))
                .collect::<Vec<_>>(),
        );
        let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
        eprintln!(
            "portable: every call has its counterparts on {}",
            names.join(", ")
        );
    }
    Ok(made.profile.text)
}

/// "Deny everything with EPERM" for `native` and the sub-arches `archMap` gives it;
/// clone3 alone gets ENOSYS, so that glibc falls back to clone when clone3 is not needed.
pub fn empty_profile(native: Arch) -> String {
    empty_profile_for(&[native])
}

/// [`empty_profile`] with an `archMap` entry for each of `natives` (the
/// first is this host's), as Docker's default has one for every arch.
pub fn empty_profile_for(natives: &[Arch]) -> String {
    let entry = |native: &Arch| {
        let subs: Vec<&str> = sub_arches(*native).iter().map(|a| a.scmp_name()).collect();
        serde_json::json!({ "architecture": native.scmp_name(), "subArchitectures": subs })
    };
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": natives.iter().map(entry).collect::<Vec<_>>(),
        "syscalls": [{
            "names": ["clone3"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 38,
            "comment": "ENOSYS, not EPERM: glibc then falls back to clone, whose flags a profile can check"
        }]
    });
    serde_json::to_string_pretty(&profile).expect("a JSON value serializes") + "\n"
}

/// The sub-architectures Docker's `archMap` lists for a native arch.
fn sub_arches(native: Arch) -> &'static [Arch] {
    match native {
        Arch::X86_64 => &[Arch::X86, Arch::X32],
        Arch::Aarch64 => &[Arch::Arm],
        Arch::Mips64 => &[Arch::Mips, Arch::Mips64n32],
        Arch::Mips64n32 => &[Arch::Mips, Arch::Mips64],
        Arch::Mips64el => &[Arch::Mipsel, Arch::Mips64n32el],
        Arch::Mips64n32el => &[Arch::Mipsel, Arch::Mips64el],
        Arch::S390x => &[Arch::S390],
        _ => &[],
    }
}

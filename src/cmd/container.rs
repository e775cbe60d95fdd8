//! `eperm docker`, `eperm podman` and `eperm oci`: a container's would-be
//! denials, reported.
//!
//! The runtime applies an instrumented copy of the profile (see
//! [`crate::container::instrument`]); the container runs in the foreground; at the
//! end a summary follows on stderr, like `eperm run --no-tui`, and `-o` / `--save`
//! writes the profile with allowances for what was seen.

use super::{live_options, wants_tui};
use crate::cli::{ContainerArgs, DockerArgs, OciArgs, PodmanArgs};
use crate::error::Error;
use crate::error::FileOp;
use crate::files::Pin;
use crate::profile::load_or_default;
use crate::run::Interception;
use crate::session::record::KernelRecorded;
use crate::session::{allow, Container, Session};
use std::path::Path;

pub fn docker(args: &DockerArgs) -> Result<u8, Error> {
    let profile = load_or_default(args.profile.as_deref())?;
    let common = &args.common;
    let mut session = Session::docker(profile, &args.docker, how(common, false))?;
    session.stacks = !common.session.no_stacks;
    session.unwatched = crate::run::layers::turned_off(common.session.no_layers);
    follow_and_report(session, common, None)
}

pub fn podman(args: &PodmanArgs) -> Result<u8, Error> {
    let profile = load_or_default(args.profile.as_deref())?;
    let common = &args.common;
    let how = how(common, false);
    let mut session = Session::podman(profile, &args.podman, args.runtime.as_deref(), how)?;
    session.stacks = !common.session.no_stacks;
    session.unwatched = crate::run::layers::turned_off(common.session.no_layers);
    follow_and_report(session, common, None)
}

pub fn oci(args: &OciArgs) -> Result<u8, Error> {
    let common = &args.common;
    let config = args.bundle.join("config.json");
    // `--save` writes into the file read now, and nowhere a link leads later.
    let pin = match args.save {
        true => Some(Pin::take(&config).map_err(Error::file(FileOp::Read, &config))?),
        false => None,
    };
    let mut session = Session::oci(&args.bundle, args.id.clone(), how(common, args.save))?;
    session.stacks = !common.session.no_stacks;
    session.unwatched = crate::run::layers::turned_off(common.session.no_layers);
    follow_and_report(session, common, pin.map(|pin| (config.as_path(), pin)))
}

/// With a terminal on stdout (and no `--no-tui`, `-o` or `--save`) the TUI;
/// otherwise one run, its summary, and the profile written when asked.
fn follow_and_report(
    session: Session,
    common: &ContainerArgs,
    mut save: Option<(&Path, Pin)>,
) -> Result<u8, Error> {
    super::outputs_apart(&common.session, session.profile.file_path().as_deref())?;
    let headless = common.output.is_some() || save.is_some();
    if wants_tui(&common.session, headless)? {
        let options = live_options(&common.session, common.coverage)?;
        // Said once the screen is back, as at the end of a headless summary.
        let notes = session.notes.clone();
        let code = super::tui(session, options)?;
        for note in notes {
            eprintln!("eperm: note: {note}");
        }
        return Ok(code);
    }
    if common.coverage {
        if save.is_some() {
            return Err(Error::bad_input(
                "--coverage writes PROFILE.coverage.json, not the profile: drop --save",
            ));
        }
        let covered = session.cover()?;
        eprint!("{}", covered.report(&session));
        return Ok(covered.exit.code());
    }
    let recording = common.output.is_some() || save.is_some();
    let trapped_because = match (recording, trap_reason(common)) {
        (false, _) => None,
        (true, Some(why)) => Some(why),
        (true, None) => match session.record_in_kernel()? {
            Ok(recorded) => return kernel_recorded(&session, common, save, recorded),
            Err(why) => Some(why),
        },
    };
    let mut outcome = session.run(common.session.events.as_deref())?;
    let profile = &session.profile;
    let after = match start_up_line(&session, common.session.enforce, outcome.exit.code()) {
        // In the summary, in place of "denied nothing": refused with an errno,
        // the runtime's calls made no event.
        Some((true, line)) => {
            outcome.summary.not_started = Some(line);
            None
        }
        other => other.map(|(_, line)| line),
    };
    eprint!("{}", outcome.report(profile.own_file()));
    if let Some(line) = after {
        eprintln!("eperm: {line}");
    }
    let report = common.session.report.as_deref();
    let Some(path) = common.output.as_deref().or(save.as_ref().map(|s| s.0)) else {
        if let Some(report) = report {
            super::write_report(report, &session.triage(&outcome, None))?;
        }
        return Ok(outcome.exit.code());
    };
    let runtime = session.oci_runtime();
    let allowed = allow::with_bootstrap(profile, &outcome.summary, &session.command(), runtime)?;
    if let Some(why) = trapped_because {
        eprintln!(
            "eperm: recorded by trapping each call ({}): {why}",
            session.mode.name()
        );
    }
    write_recorded(&session, common, &mut save, path, &allowed)?;
    let text = allowed.text;
    let file = path.display().to_string();
    let triage = session.triage(&outcome, Some((&file, &text)));
    if !triage.diff.is_empty() {
        eprint!("{}", triage.diff);
    }
    if let Some(report) = report {
        super::write_report(report, &triage)?;
    }
    Ok(outcome.exit.code())
}

/// Why a container recording (`-o`, `--save`) traps each call rather than
/// counting in the kernel: what the user asked for needs each call followed.
fn trap_reason(common: &ContainerArgs) -> Option<String> {
    let why = if common.trap {
        "--trap"
    } else if common.session.enforce {
        "--enforce refuses the profile's denials"
    } else if common.mode.is_some() {
        "--mode chooses how each call is followed"
    } else if common.session.events.is_some() {
        "--events writes each call"
    } else if common.session.report.is_some() {
        "--report describes each call"
    } else {
        return None;
    };
    Some(why.into())
}

/// The end of a container recorded in the kernel: the profile written as a
/// trapped recording writes it, and what was counted, for stderr.
fn kernel_recorded(
    session: &Session,
    common: &ContainerArgs,
    mut save: Option<(&Path, Pin)>,
    recorded: KernelRecorded,
) -> Result<u8, Error> {
    for warning in &recorded.warnings {
        eprintln!("eperm: {warning}");
    }
    eprintln!("eperm: recorded in the kernel (eBPF)");
    if let Some(line) = super::record::other_arches(&recorded.denied_on) {
        eprintln!("eperm: {line}");
    }
    let profile = &session.profile;
    let allowed = allow::with_start_up(
        profile,
        recorded.denied,
        &recorded.start_up,
        &session.command(),
        session.oci_runtime(),
    )?;
    if let Some((_, line)) = start_up_line(session, false, recorded.exit.code()) {
        eprintln!("eperm: {line}");
    }
    let path = common.output.as_deref().or(save.as_ref().map(|s| s.0));
    let path = path.expect("a recording writes a profile");
    write_recorded(session, common, &mut save, path, &allowed)?;
    let before = profile.own_file().unwrap_or("embedded default");
    let diff = crate::report::unified(
        &profile.text,
        &allowed.text,
        before,
        &path.display().to_string(),
    );
    eprint!("{diff}");
    eprintln!("eperm: {} ({})", session.command(), recorded.exit);
    Ok(recorded.exit.code())
}

/// Writes a recording's profile: into the bundle's config (`--save`) or to `-o`.
fn write_recorded(
    session: &Session,
    common: &ContainerArgs,
    save: &mut Option<(&Path, Pin)>,
    path: &Path,
    allowed: &allow::Allowed,
) -> Result<(), Error> {
    let profile = &session.profile;
    match save.as_mut() {
        Some((path, pin)) => {
            crate::profile::save::save(path, pin, &allowed.text, &profile.text)
                .map_err(|e| Error::bad_input(e.to_string()))?;
        }
        None => {
            let from = format!("a run of {} in a container", session.command());
            super::write_profile(path, &allowed.text, &from, &common.format)?
        }
    }
    let added = allowed.names.len();
    eprintln!(
        "eperm: wrote {} allowing {added} more syscall{}{}{}",
        path.display(),
        if added == 1 { "" } else { "s" },
        if added == 0 { "" } else { ": " },
        allowed.names.join(", ")
    );
    Ok(())
}

/// What to say when the runtime cannot start a container under the profile,
/// and whether the container did not start: with `--enforce` the run reproduced
/// it; without, the runtime's refused calls ran LOG, and plain docker or podman
/// would fail.
fn start_up_line(session: &Session, enforce: bool, code: u8) -> Option<(bool, String)> {
    let (why, hint) = session.start_up_refused()?;
    let what = match (enforce, code) {
        (true, 0) => "note: the container ran, yet",
        (true, _) => "the container did not start, as under the runtime alone:",
        (false, _) => "note: without eperm this container would not start (--enforce shows it):",
    };
    Some((
        enforce && code != 0,
        format!("{what} {why}\n  hint: {hint}"),
    ))
}

/// The session flags every container command shares, as the session takes them
/// (`saving`: `oci --save`, a recording as `-o` is).
fn how(common: &ContainerArgs, saving: bool) -> Container {
    let recording = common.output.is_some() || saving;
    Container {
        mode: common.mode.map(Interception::from),
        enforce: common.session.enforce,
        sources: common.session.log_sources(),
        records_in_kernel: recording && !common.coverage && trap_reason(common).is_none(),
    }
}

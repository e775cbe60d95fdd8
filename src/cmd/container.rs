//! `eperm docker` and `eperm oci`: a container's would-be denials, reported.
//!
//! The runtime applies an instrumented copy of the profile (see
//! [`crate::container::instrument`]); the container runs in the foreground; at the
//! end a summary follows on stderr, like `eperm run --no-tui`, and `-o` / `--save`
//! writes the profile with allowances for what was seen.

use super::run::{collect, events_file, gather, load_profile, Summary, DEFAULT_NAME};
use super::CmdError;
use crate::arch::Arch;
use crate::cli::{ContainerArgs, DockerArgs, OciArgs};
use crate::container::docker as dockerrun;
use crate::container::plan::{Plan, Runtime};
use crate::container::session::{self, Launch};
use crate::profile::edit::{apply_commented, apply_grouped, Edit};
use crate::profile::{Form, KernelVersion, Profile, Target};
use crate::run::session::{Interception, LogOptions};
use crate::run::{Judge, Policy, Supervision, WorkloadExit};
use crate::sources::logs::{self, Wanted};
use std::path::Path;

/// The comment on allowances the runtime's start-up needed.
pub const BOOTSTRAP_COMMENT: &str =
    "needed by the container runtime (runc) before the workload starts, not by the workload";

pub fn docker(args: &DockerArgs) -> Result<u8, CmdError> {
    let run = dockerrun::parse(&args.docker).map_err(CmdError::BadInput)?;
    let profile = load_profile(args.profile.as_deref())?;
    if profile.form != Form::Docker {
        return Err(CmdError::BadInput(format!(
            "{}: an OCI config.json, not a Docker profile\n  hint: eperm oci BUNDLE runs it with runc",
            profile.file
        )));
    }
    let wrapper = dockerrun::wrapper_runtime();
    let mode = choose_mode(&args.common, wrapper.is_some(), DOCKER_NOTIFY_HINT)?;
    let target = Target {
        arch: Arch::native(),
        caps: run.caps,
        kernel: KernelVersion::running(),
    };
    let plan = Plan::new(Runtime::Docker { run, wrapper }, mode, target)?;
    follow_and_report(plan, profile, &args.common, None)
}

pub fn oci(args: &OciArgs) -> Result<u8, CmdError> {
    let config = args.bundle.join("config.json");
    let profile = crate::profile::load_file(&config)?;
    if profile.form != Form::OciConfig {
        return Err(CmdError::BadInput(format!(
            "{}: no linux.seccomp object found\n  hint: a bundle's config.json (see `runc spec`) with a seccomp profile in linux.seccomp",
            config.display()
        )));
    }
    let mode = choose_mode(&args.common, crate::run::notify::available(), "")?;
    // runc applies the profile as written: no includes/excludes to resolve.
    let target = Target {
        arch: Arch::native(),
        caps: crate::caps::CapSet::all(),
        kernel: KernelVersion::running(),
    };
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("eperm-{}", std::process::id()));
    let runtime = Runtime::Runc {
        bundle: args.bundle.clone(),
        id,
    };
    let plan = Plan::new(runtime, mode, target)?;
    let save = args.save.then_some(config.as_path());
    follow_and_report(plan, profile, &args.common, save)
}

/// With a terminal on stdout (and no `--no-tui`, `-o` or `--save`) the TUI;
/// otherwise one run, its summary, and the profile written when asked.
fn follow_and_report(
    plan: Plan,
    profile: Profile,
    common: &ContainerArgs,
    save: Option<&Path>,
) -> Result<u8, CmdError> {
    use std::io::IsTerminal;
    let headless = common.no_tui || common.output.is_some() || save.is_some();
    if !headless && std::io::stdout().is_terminal() {
        return run_tui(plan, profile, common);
    }
    if common.hold {
        eprintln!("eperm: --hold needs the TUI (a terminal on stdout); calls run permissively");
    }
    let launch = plan.launch(&profile, 1)?;
    let outcome = follow(launch, profile.clone(), &plan.target, common)?;
    report(
        &outcome,
        &profile,
        &plan.command(),
        common.output.as_deref(),
        save,
    )
}

fn run_tui(plan: Plan, profile: Profile, common: &ContainerArgs) -> Result<u8, CmdError> {
    if common.events.as_deref() == Some("-") {
        return Err(CmdError::BadInput(
            "--events -: stdout is the TUI's screen\n  hint: --events FILE, or --no-tui".into(),
        ));
    }
    let path = (profile.file != DEFAULT_NAME).then(|| std::path::PathBuf::from(&profile.file));
    let config = crate::app::Config {
        command: plan.command(),
        mode: plan.mode.name().to_string(),
        enforce: common.enforce,
        hold: common.hold && plan.mode == Interception::Notify,
        hold_timeout_ms: (common.hold_timeout.unwrap_or(30.0).max(0.0) * 1000.0) as u64,
        autosave: !common.no_autosave,
        rerun_on_save: common.rerun_on_save,
        watching: false,
        coverage: false,
        path,
    };
    let events = common.events.as_deref().map(events_file).transpose()?;
    let setup = crate::tui::Setup {
        events,
        profile,
        config,
        mode: plan.mode,
        user: None,
        target: plan.target.clone(),
        argv: Vec::new(),
        sources: Wanted::from_names(&common.source).unwrap_or(Wanted::BOTH),
        container: Some(plan),
    };
    Ok(crate::tui::run(setup)?)
}

const DOCKER_NOTIFY_HINT: &str = "dockerd 20.10 drops listenerPath from profiles: register eperm's runc wrapper as a runtime,\n    ln -s $(command -v eperm) /usr/local/bin/eperm-runc\n    dockerd --add-runtime eperm=/usr/local/bin/eperm-runc   (or \"runtimes\" in daemon.json)\n  or use --mode log";

fn choose_mode(
    common: &ContainerArgs,
    notify_possible: bool,
    hint: &str,
) -> Result<Interception, CmdError> {
    let mode = match common.mode.as_deref() {
        Some("log") => Interception::Log,
        Some(_) if !notify_possible => {
            return Err(CmdError::BadInput(format!(
                "--mode notify: eperm cannot be this runtime's seccomp agent\n  hint: {hint}"
            )))
        }
        Some(_) => Interception::Notify,
        None if notify_possible => Interception::Notify,
        None => Interception::Log,
    };
    if common.enforce && mode == Interception::Log {
        return Err(CmdError::BadInput(
            "--enforce needs --mode notify: in log mode the kernel lets every call run".into(),
        ));
    }
    if mode == Interception::Log && !notify_possible && common.mode.is_none() && !hint.is_empty() {
        eprintln!("eperm: no live decisions for this runtime, using --mode log\n  hint: {hint}");
    }
    Ok(mode)
}

struct Outcome {
    exit: WorkloadExit,
    mode: Interception,
    summary: Summary,
    health: Vec<crate::sources::health::Health>,
}

/// Runs the launch with a supervision judged by `profile`, collecting events.
fn follow(
    launch: Launch,
    profile: Profile,
    target: &Target,
    common: &ContainerArgs,
) -> Result<Outcome, CmdError> {
    let mode = launch.mode;
    let judge = Judge::new(profile, target, mode.compile_mode())
        .map_err(|e| CmdError::BadInput(e.to_string()))?;
    let (tx, collector) = collect(common.events.as_deref())?;
    let sup = Supervision {
        judge,
        policy: if common.enforce {
            Policy::Enforce
        } else {
            Policy::Permissive
        },
        events: tx,
        started: std::time::Instant::now(),
        own_exe: None,
    };
    let logs = LogOptions {
        wanted: Wanted::from_names(&common.source).unwrap_or(Wanted::BOTH),
        ..LogOptions::default()
    };
    let exit = session::run(launch, sup, &logs, Default::default());
    let (summary, health) = gather(collector, &logs)?;
    Ok(Outcome {
        exit: exit?,
        mode,
        summary,
        health,
    })
}

/// The summary on stderr, then the profile with allowances to `output` or `save`.
fn report(
    outcome: &Outcome,
    profile: &Profile,
    command: &str,
    output: Option<&Path>,
    save: Option<&Path>,
) -> Result<u8, CmdError> {
    let file = (profile.file != DEFAULT_NAME).then_some(profile.file.as_str());
    eprint!("{}", outcome.summary.render(file));
    if outcome.mode == Interception::Log {
        eprint!(
            "eperm: kernel log sources:\n{}",
            logs::render_health(&outcome.health)
        );
    }
    if let Some(path) = output.or(save) {
        let text = with_allowances(profile, &outcome.summary, command)?;
        match save {
            Some(path) => {
                crate::profile::save::save(path, &text, &profile.text)
                    .map_err(|e| CmdError::BadInput(e.to_string()))?;
            }
            None => std::fs::write(path, &text)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?,
        }
        eprintln!(
            "eperm: wrote {} allowing {} more syscall{}",
            path.display(),
            outcome.summary.names().len(),
            if outcome.summary.names().len() == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    Ok(outcome.exit.code())
}

/// `profile` plus allowances: the workload's calls with one comment, the
/// runtime's start-up calls with another.
fn with_allowances(
    profile: &Profile,
    summary: &Summary,
    command: &str,
) -> Result<String, CmdError> {
    let mut workload = Vec::new();
    let mut bootstrap = Vec::new();
    for name in summary.names() {
        let only_bootstrap = summary
            .entries
            .iter()
            .filter(|e| e.syscall == name)
            .all(|e| e.bootstrap);
        let edit = Edit::Allow(name);
        if edit.validate().is_err() {
            continue; // a number without a name cannot go into a profile
        }
        if only_bootstrap {
            bootstrap.push(edit);
        } else {
            workload.push(edit);
        }
    }
    let bad = |e: crate::profile::edit::EditError| CmdError::BadInput(e.to_string());
    let comment = format!("recorded by eperm from: {command}");
    let first = apply_commented(profile, &workload, Some(&comment)).map_err(bad)?;
    let second = apply_grouped(&first.profile, &bootstrap, BOOTSTRAP_COMMENT).map_err(bad)?;
    Ok(second.text().to_string())
}

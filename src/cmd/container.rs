//! `eperm docker` and `eperm oci`: a container's would-be denials, reported.
//!
//! The runtime applies an instrumented copy of the profile (see
//! [`crate::container::instrument`]); the container runs in the foreground; at the
//! end a summary follows on stderr, like `eperm run --no-tui`, and `-o` / `--save`
//! writes the profile with allowances for what was seen.

use super::run::{collect, load_profile, Summary, DEFAULT_NAME};
use super::CmdError;
use crate::arch::Arch;
use crate::cli::{ContainerArgs, DockerArgs, OciArgs};
use crate::container::agent::Agent;
use crate::container::instrument::{instrument, Instrument};
use crate::container::session::{self, Attribution, ContainerId, Launch};
use crate::container::{docker as dockerrun, oci as ocirun, wrapper};
use crate::profile::edit::{apply_commented, apply_grouped, Edit};
use crate::profile::{Form, KernelVersion, Profile, Target};
use crate::run::session::{Interception, LogOptions};
use crate::run::{Judge, Policy, Supervision, WorkloadExit};
use crate::sources::logs::{self, Wanted};
use std::path::{Path, PathBuf};

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
    let runtime = dockerrun::wrapper_runtime();
    let mode = choose_mode(&args.common, runtime.is_some(), DOCKER_NOTIFY_HINT)?;
    let target = Target {
        arch: Arch::native(),
        caps: run.caps,
        kernel: KernelVersion::running(),
    };
    let work = WorkDir::create()?;
    let agent = match mode {
        Interception::Notify => Some(Agent::bind(&work.path.join("agent.sock"))?),
        _ => None,
    };
    let how = match mode {
        Interception::Notify => Instrument::Notify { listener: None },
        _ => Instrument::Log,
    };
    let copy = work.path.join("profile.json");
    std::fs::write(&copy, instrument(&profile, &target, &how))?;
    let cidfile = work.path.join("cid");
    let name = run
        .name
        .clone()
        .unwrap_or_else(|| format!("eperm-{}", std::process::id()));
    // Through the wrapper (when registered) the container gets an audit session of
    // its own, which tells its log records apart exactly; NOTIFY needs it anyway.
    let session_file = work.path.join("session");
    let mut env = Vec::new();
    if let Some(agent) = &agent {
        let mut var = std::ffi::OsString::from(format!("{}=", wrapper::AGENT_ENV));
        var.push(agent.path());
        env.push(var);
    }
    if runtime.is_some() {
        let uid = crate::run::session::login_uid(None);
        env.push(format!("{}={uid}:{}", wrapper::SESSION_ENV, session_file.display()).into());
    }
    let client = dockerrun::Client {
        run: &run,
        profile: copy.as_os_str(),
        cidfile: cidfile.as_os_str(),
        name: &name,
        runtime: runtime.as_deref(),
        env,
    };
    let id = ContainerId::File(cidfile.clone());
    let launch = Launch {
        argv: client.argv(),
        cleanup: ["docker", "rm", "--force", &name]
            .iter()
            .map(Into::into)
            .collect(),
        mode,
        agent,
        attribution: match runtime {
            Some(_) => Attribution::SessionFile {
                file: session_file,
                id,
            },
            None => Attribution::Container(id),
        },
    };
    let command = format!("docker {}", shown(&args.docker));
    let outcome = follow(launch, profile.clone(), &target, &args.common)?;
    report(
        &outcome,
        &profile,
        &command,
        args.common.output.as_deref(),
        None,
    )
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
    let target = Target {
        arch: Arch::native(),
        caps: crate::caps::CapSet::all(),
        kernel: KernelVersion::running(),
    };
    let work = WorkDir::create()?;
    let agent = match mode {
        Interception::Notify => Some(Agent::bind(&work.path.join("agent.sock"))?),
        _ => None,
    };
    let how = match &agent {
        Some(agent) => Instrument::Notify {
            listener: Some(agent.path().display().to_string()),
        },
        None => Instrument::Log,
    };
    let bundle = ocirun::prepare(
        &args.bundle,
        &instrument(&profile, &target, &how),
        &work.path.join("bundle"),
    )?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| format!("eperm-{}", std::process::id()));
    let launch = Launch {
        argv: ocirun::run_argv(&bundle, &id),
        cleanup: ocirun::cleanup_argv(&id),
        mode,
        agent,
        attribution: Attribution::OwnSession {
            loginuid: crate::run::session::login_uid(None),
        },
    };
    let command = format!("runc run --bundle {}", args.bundle.display());
    let outcome = follow(launch, profile.clone(), &target, &args.common)?;
    let save = args.save.then_some(config.as_path());
    report(
        &outcome,
        &profile,
        &command,
        args.common.output.as_deref(),
        save,
    )
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
    let exit = session::run(launch, sup, &logs);
    let health = std::mem::take(&mut *logs.health.lock().unwrap_or_else(|p| p.into_inner()));
    let summary = collector
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
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

/// Arguments as one line, for comments and messages.
fn shown(args: &[std::ffi::OsString]) -> String {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A private directory for the run's files (profile copy, cidfile, agent socket,
/// bundle), removed at the end.
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn create() -> std::io::Result<WorkDir> {
        use std::os::unix::fs::DirBuilderExt;
        let path = std::env::temp_dir().join(format!("eperm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

//! Making a [`Session`] from what the user asked for: the interception mode
//! this kernel (or this runtime) allows, the user to run as, and the target the
//! profile's verdicts are resolved for.

use super::{Session, Workload};
use crate::arch::Arch;
use crate::caps::CapSet;
use crate::container::docker as dockerrun;
use crate::container::oci_runtime::OciRuntime;
use crate::container::plan::{Launcher, Plan};
use crate::container::podman;
use crate::error::{Error, FileOp};
use crate::profile::{Form, KernelVersion, Profile, Target};
use crate::run::{local, notify, Interception, RunError};
use crate::sources::logs::Wanted;
use crate::target::RuntimeKind;
use std::ffi::OsString;
use std::path::Path;

/// How a local workload is run (`eperm run`, `record`, `tighten`).
pub struct Local<'a> {
    /// `--mode`; `None`: notify where the kernel has it, else trace.
    pub mode: Option<Interception>,
    /// `--user NAME|UID[:GID]`.
    pub user: Option<&'a str>,
    pub enforce: bool,
    pub sources: Wanted,
}

/// How a container is run (`eperm docker`, `podman`, `oci`).
#[derive(Clone, Copy)]
pub struct Container {
    /// `--mode`; `None`: notify where eperm can be the runtime's agent, else log.
    pub mode: Option<Interception>,
    pub enforce: bool,
    pub sources: Wanted,
    /// A recording (`-o`, `--save`) that counts in the kernel unless it cannot
    /// (then it says so, and traps in `mode`): no note on the mode up front.
    pub records_in_kernel: bool,
}

const DOCKER_NOTIFY_HINT: &str = "dockerd 20.10 drops listenerPath from profiles: register eperm's runc wrapper as a runtime,\n    ln -s $(command -v eperm) /usr/local/bin/eperm-runc\n    dockerd --add-runtime eperm=/usr/local/bin/eperm-runc   (or \"runtimes\" in daemon.json)\n  or use --mode log";

const DOCKER_ROOT_HINT: &str = "eperm's runc wrapper (which dockerd 20.10 needs to hand eperm the listener) takes its sessions only from root's eperm: run eperm docker as root";

impl Session {
    /// A local command under `profile`.
    pub fn local(profile: Profile, argv: Vec<OsString>, how: &Local) -> Result<Session, Error> {
        let mode = how.mode.unwrap_or_else(Interception::best_available);
        if mode == Interception::Notify && !notify::available() {
            return Err(RunError::Unsupported(
                "this kernel cannot hand eperm a seccomp listener (SECCOMP_RET_USER_NOTIF needs Linux 5.0, pidfd_getfd 5.6)\n  hint: use --mode trace"
                    .into(),
            )
            .into());
        }
        let user = how.user.map(local::credentials).transpose()?;
        // After setuid to anyone but root the workload keeps no capabilities.
        let caps = match &user {
            Some(u) if u.uid != 0 => CapSet::none(),
            _ => CapSet::current(),
        };
        Ok(Session {
            profile,
            workload: Workload::Local { argv, user },
            mode,
            target: here(caps),
            enforce: how.enforce,
            sources: how.sources,
            notes: Vec::new(),
            stacks: false,
            unwatched: None,
        })
    }

    /// `docker run DOCKER_ARGS` under `profile`, a Docker profile.
    pub fn docker(
        profile: Profile,
        docker_args: &[OsString],
        how: Container,
    ) -> Result<Session, Error> {
        let run = dockerrun::parse(docker_args)?;
        if profile.form == Form::OciConfig {
            return Err(Error::bad_input(format!(
                "{}: an OCI config.json, not a Docker profile\n  hint: eperm oci BUNDLE runs it with runc",
                profile.file
            )));
        }
        // The wrapper takes its sessions only from root's state directory.
        let root = nix::unistd::geteuid().is_root();
        let daemon = dockerrun::DaemonRuntimes::ask().unwrap_or_default();
        // The runtime docker would run the container with (`--runtime`, else
        // dockerd's default): the wrapper execs runc, so it can stand in for
        // runc only.
        let chosen = daemon.chosen(run.runtime.as_deref()).to_string();
        let program = daemon.program(&chosen);
        let runs = match program.ends_with(crate::container::wrapper::PROGRAM) {
            true => Some(RuntimeKind::Runc),
            false => RuntimeKind::parse(&program_name(&program)),
        };
        let runc = runs == Some(RuntimeKind::Runc);
        let wrapper = daemon.wrapper().filter(|_| root && runc);
        let hint = match (runc, root) {
            (true, true) => DOCKER_NOTIFY_HINT.to_string(),
            (true, false) => DOCKER_ROOT_HINT.to_string(),
            (false, _) => format!(
                "docker runs this container with {chosen} ({program}), and eperm's runc wrapper, which dockerd needs to hand eperm the listener, runs runc: drop --runtime (or choose runc) for live decisions"
            ),
        };
        let mode = container_mode(how, wrapper.is_some(), &hint)?;
        // Docker keeps or drops the profile's rules by the container's caps;
        // its runtime loads them (one eperm does not know: eperm's own reading).
        let target = match runs {
            Some(kind) => here_in(run.caps, kind),
            None => here(run.caps),
        };
        let run = match wrapper {
            Some(_) => run.without_runtime(),
            None => run,
        };
        let runtime = Launcher::Docker { run, wrapper };
        Session::container(profile, runtime, mode, target, how)
    }

    /// `podman [--runtime RUNTIME] run PODMAN_ARGS` under `profile`, a Docker
    /// profile. Rootful or rootless: as eperm's own user.
    pub fn podman(
        profile: Profile,
        podman_args: &[OsString],
        runtime: Option<&str>,
        how: Container,
    ) -> Result<Session, Error> {
        let run = podman::parse(podman_args)?;
        if profile.form != Form::Docker {
            return Err(Error::bad_input(format!(
                "{}: an OCI config.json, not a Docker profile\n  hint: eperm oci BUNDLE runs it with runc",
                profile.file
            )));
        }
        // Given twice, podman would take its own (the later one): say so
        // rather than run under a runtime the user did not mean.
        let (runtime, chosen) = match (runtime, run.runtime.as_deref()) {
            (Some(ours), Some(theirs)) if podman::same_runtime(ours, theirs) => (None, Some(theirs)),
            (Some(ours), Some(theirs)) => {
                return Err(Error::bad_input(format!(
                    "eperm podman --runtime {ours}, but podman's own arguments say --runtime {theirs} (which podman would take)\n  hint: give the runtime once"
                )))
            }
            (ours, theirs) => (ours, theirs.or(ours)),
        };
        let oci = podman::oci_runtime(chosen);
        let rootless = !nix::unistd::geteuid().is_root();
        if rootless && how.mode == Some(Interception::Log) {
            return Err(Error::bad_input(
                "--mode log: the kernel log sources (audit, /dev/kmsg) need root, and rootless podman's containers are yours\n  hint: --mode notify works rootless",
            ));
        }
        let mut notes = Vec::new();
        let notify_possible = notify::available() && oci.is_ok();
        let hint = match &oci {
            Ok(_) => "this kernel has no seccomp user notification (Linux 5.6)".to_string(),
            Err(name) => format!(
                "podman's runtime is {name}: eperm knows how runc and crun hand over a seccomp listener, not {name}; use eperm podman --runtime crun (or runc) for live decisions"
            ),
        };
        if !notify_possible && how.mode.is_none() {
            notes.push(format!("log mode, not notify: {hint}"));
        }
        let mode = container_mode(how, notify_possible, &hint)?;
        if rootless {
            if mode == Interception::Log {
                return Err(Error::bad_input(format!(
                    "rootless podman: no live decisions here ({hint}), and log mode needs root for the kernel log sources\n  hint: run eperm podman as root"
                )));
            }
            notes.push(rootless_note(oci.clone().ok()));
        }
        // podman keeps or drops the profile's rules by the container's caps; its
        // runtime loads them (a runtime eperm does not know: eperm's own reading).
        let target = match &oci {
            Ok(OciRuntime::Crun) => here_in(run.caps, crate::target::RuntimeKind::Crun),
            Ok(OciRuntime::Runc) => here_in(run.caps, crate::target::RuntimeKind::Runc),
            Err(name) if name.0.contains("youki") => {
                here_in(run.caps, crate::target::RuntimeKind::Youki)
            }
            Err(_) => here(run.caps),
        };
        let runtime = Launcher::Podman {
            run,
            runtime: runtime.map(str::to_string),
            oci: oci.ok(),
        };
        let mut session = Session::container(profile, runtime, mode, target, how)?;
        session.notes = notes;
        Ok(session)
    }

    /// `runc run` of `bundle`, under its config.json's profile.
    pub fn oci(bundle: &Path, id: Option<String>, how: Container) -> Result<Session, Error> {
        let config = bundle.join("config.json");
        let profile = crate::profile::load_file(&config)?;
        if profile.form != Form::OciConfig {
            return Err(Error::bad_input(format!(
                "{}: no linux.seccomp object found\n  hint: a bundle's config.json (see `runc spec`) with a seccomp profile in linux.seccomp",
                config.display()
            )));
        }
        let mode = container_mode(how, notify::available(), "")?;
        let runtime = Launcher::Runc {
            bundle: bundle.to_path_buf(),
            id: id.unwrap_or_else(|| format!("eperm-{}", std::process::id())),
        };
        // runc applies the profile as written: no includes/excludes to resolve.
        Session::container(
            profile,
            runtime,
            mode,
            here_in(CapSet::all(), crate::target::RuntimeKind::Runc),
            how,
        )
    }

    fn container(
        profile: Profile,
        runtime: Launcher,
        mode: Interception,
        target: Target,
        how: Container,
    ) -> Result<Session, Error> {
        let plan = Plan::new(runtime, mode, target.clone(), how.enforce).map_err(Error::file(
            FileOp::CreateWorkDir,
            std::path::Path::new(crate::container::state::STATE_DIR),
        ))?;
        Ok(Session {
            profile,
            workload: Workload::Container(plan),
            mode,
            target,
            enforce: how.enforce,
            sources: how.sources,
            notes: Vec::new(),
            stacks: false,
            unwatched: None,
        })
    }

    /// Fails before anything starts (before the TUI takes the screen) when the
    /// local command cannot be found.
    pub fn check_program(&self) -> Result<(), Error> {
        let Workload::Local { argv, .. } = &self.workload else {
            return Ok(());
        };
        crate::run::child::find_program(argv[0].as_os_str()).ok_or_else(|| {
            RunError::Spawn(crate::run::child::SpawnError::NotFound(
                argv[0].to_string_lossy().into_owned(),
            ))
        })?;
        Ok(())
    }
}

/// This machine's arch and kernel, with `caps`.
/// `crun` of `/usr/bin/crun`.
fn program_name(program: &str) -> String {
    Path::new(program)
        .file_name()
        .map_or_else(|| program.to_string(), |n| n.to_string_lossy().into_owned())
}

fn here(caps: CapSet) -> Target {
    Target {
        arch: Arch::native(),
        caps,
        kernel: KernelVersion::running(),
        runtime: None,
    }
}

/// [`here`] for a container that `kind` loads the profile of: its verdicts are
/// those of the runtime found here (else its newest release).
fn here_in(caps: CapSet, kind: crate::target::RuntimeKind) -> Target {
    let runtime =
        crate::detect::runtime(kind).unwrap_or_else(|| crate::target::Runtime::newest(kind));
    Target {
        runtime: Some(runtime),
        ..here(caps)
    }
}

/// What a rootless podman run can and cannot show.
fn rootless_note(oci: Option<crate::container::oci_runtime::OciRuntime>) -> String {
    let mut note = "rootless: live decisions through the seccomp listener (notify) work; the kernel log sources need root, so log mode does not".to_string();
    if !oci.is_some_and(|r| r.handoff().is_empty()) {
        note += ", and the calls runc makes before it hands the listener over go unreported";
    }
    note
}

/// A container's mode: notify where eperm can be the runtime's seccomp agent,
/// else log; `--mode notify` where it cannot is refused with `hint`.
fn container_mode(
    how: Container,
    notify_possible: bool,
    hint: &str,
) -> Result<Interception, Error> {
    let mode = match how.mode {
        Some(Interception::Log) => Interception::Log,
        Some(_) if !notify_possible => {
            return Err(Error::bad_input(format!(
                "--mode notify: eperm cannot be this runtime's seccomp agent\n  hint: {hint}"
            )))
        }
        Some(_) => Interception::Notify,
        None if notify_possible => Interception::Notify,
        None => Interception::Log,
    };
    if how.enforce && mode == Interception::Log {
        return Err(Error::bad_input(
            "--enforce needs --mode notify: in log mode the kernel lets every call run",
        ));
    }
    let noted = how.mode.is_none() && !how.records_in_kernel && !hint.is_empty();
    if mode == Interception::Log && !notify_possible && noted {
        eprintln!("eperm: no live decisions for this runtime, using --mode log\n  hint: {hint}");
    }
    Ok(mode)
}

//! What a container command will run, made into a [`Launch`] afresh for every
//! run (the TUI re-runs after each edit): the instrumented copy of the profile as
//! it is now, a new agent socket, new files for docker to write.

use super::agent::Agent;
use super::cgroup::Parent;
use super::docker::{Client, RunArgs};
use super::instrument::{instrument, permissive, Instrument};
use super::launch::{Attribution, ContainerId, Covering, Launch};
use super::oci_runtime::OciRuntime;
use super::{docker, oci, podman, state, wrapper};
use crate::profile::{Profile, Target};
use crate::run::Interception;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// runc and crun hand the listener over within milliseconds of creating the container.
const HANDOFF_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Plan {
    pub runtime: Launcher,
    pub mode: Interception,
    /// What the profile is resolved for (Docker keeps or drops rules by its caps).
    pub target: Target,
    /// `--enforce`: the runtime's start-up calls the profile refuses stay
    /// refused in the copy, so the container fails to start as it would.
    pub enforce: bool,
    work: WorkDir,
}

pub enum Launcher {
    /// `docker run …`; `wrapper`: the name dockerd knows eperm's runc wrapper by.
    Docker {
        run: RunArgs,
        wrapper: Option<String>,
    },
    /// `runc run` on a copy of this bundle, under this container id.
    Runc { bundle: PathBuf, id: String },
    /// `podman [GLOBAL…] [--runtime RUNTIME] run …` (`runtime`: eperm's own
    /// `--runtime`, when the user's arguments have none); `oci`: the OCI runtime
    /// podman will run it with (`None`: one eperm knows nothing of, log mode only).
    Podman {
        run: RunArgs,
        runtime: Option<String>,
        oci: Option<OciRuntime>,
    },
}

impl Plan {
    pub fn new(
        runtime: Launcher,
        mode: Interception,
        target: Target,
        enforce: bool,
    ) -> std::io::Result<Plan> {
        Ok(Plan {
            runtime,
            mode,
            target,
            enforce,
            work: WorkDir::create()?,
        })
    }

    /// The start-up calls of the runtime that `profile` refuses (see
    /// [`crate::startup::readiness`]); none unless enforcing.
    pub fn refused_start_up(&self, profile: &Profile) -> Vec<String> {
        if !self.enforce {
            return Vec::new();
        }
        let resolved = crate::profile::resolve(profile, &self.target);
        match crate::startup::readiness(&resolved, crate::startup::no_new_privs(profile)) {
            crate::startup::Readiness::Missing(names) => {
                names.into_iter().map(String::from).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The directory each run's files (the profile's copy, the agent socket) go in.
    pub fn work_dir(&self) -> &Path {
        &self.work.path
    }

    /// The OCI runtime that loads the profile (`None`: one eperm does not know).
    pub fn oci_runtime(&self) -> Option<OciRuntime> {
        match &self.runtime {
            Launcher::Docker { .. } | Launcher::Runc { .. } => Some(OciRuntime::Runc),
            Launcher::Podman { oci, .. } => *oci,
        }
    }

    /// The command line shown to the user.
    pub fn command(&self) -> String {
        let args = |run: &RunArgs| {
            let args: Vec<String> = run
                .args
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            args.join(" ")
        };
        match &self.runtime {
            Launcher::Docker { run, .. } => format!("docker run {}", args(run)),
            Launcher::Runc { bundle, .. } => format!("runc run --bundle {}", bundle.display()),
            Launcher::Podman { run, runtime, .. } => {
                let mut global: Vec<String> = run
                    .global
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect();
                global.extend(runtime.iter().flat_map(|r| ["--runtime".into(), r.clone()]));
                let global: String = global.iter().map(|a| format!(" {a}")).collect();
                format!("podman{global} run {}", args(run))
            }
        }
    }

    /// Run number `number` of `profile`; with `cover` (the coverage counter) or
    /// `layers` (the layer watcher), below a cgroup of eperm's own.
    pub fn launch(
        &self,
        profile: &Profile,
        number: usize,
        cover: bool,
        layers: bool,
    ) -> std::io::Result<Launch> {
        self.launch_as(profile, number, cover, layers, false)
    }

    /// A recording in the kernel: the container runs under the permissive copy
    /// of `profile` (see [`super::instrument::permissive`]), below a cgroup of
    /// eperm's own for the counter, with no agent and no log sources.
    pub fn launch_record(&self, profile: &Profile) -> std::io::Result<Launch> {
        let mut launch = self.launch_as(profile, 1, true, false, true)?;
        launch.notify_logs = false;
        launch.mode = Interception::Notify;
        Ok(launch)
    }

    fn launch_as(
        &self,
        profile: &Profile,
        number: usize,
        cover: bool,
        layers: bool,
        permissive: bool,
    ) -> std::io::Result<Launch> {
        let dir = self.work.path.join(format!("run-{number}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        let agent = match self.mode {
            Interception::Notify if !permissive => Some(Agent::bind(&dir.join("agent.sock"))?),
            _ => None,
        };
        // The container runs below a cgroup of eperm's when it can: the layer
        // watcher is scoped there; coverage cannot do without it.
        let below = match (cover, layers) {
            (true, _) => Ok(self.covering(number, "coverage")?),
            (false, true) => self
                .covering(number, "the layer watcher")
                .map_err(|e| e.to_string()),
            (false, false) => Err("the other layers are not watched".into()),
        };
        let files = RunFiles {
            number,
            dir: &dir,
            cgroup_parent: below.as_ref().ok().map(|c| c.parent.path()),
            permissive,
        };
        let mut launch = match &self.runtime {
            Launcher::Docker { run, wrapper } => {
                self.docker(profile, &files, run, wrapper.as_deref(), agent)
            }
            Launcher::Runc { bundle, id } => self.runc(profile, &files, bundle, id, agent),
            Launcher::Podman { run, runtime, oci } => {
                let client = PodmanRun {
                    run,
                    runtime: runtime.as_deref(),
                    oci: *oci,
                };
                self.podman(profile, &files, &client, agent)
            }
        }?;
        launch.below = below;
        launch.counted = cover;
        Ok(launch)
    }

    /// The parent cgroup and the runtime's init name, for `purpose` (coverage,
    /// or the layer watcher).
    fn covering(&self, number: usize, purpose: &str) -> std::io::Result<Covering> {
        let unsupported = |why: &str| std::io::Error::new(std::io::ErrorKind::Unsupported, why);
        let init_comm = self
            .oci_runtime()
            .ok_or_else(|| {
                unsupported(&format!(
                    "{purpose} needs podman's OCI runtime to be runc or crun"
                ))
            })?
            .init_comm();
        let users = match &self.runtime {
            Launcher::Docker { run, .. } | Launcher::Podman { run, .. } => &run.args[..],
            Launcher::Runc { .. } => &[],
        };
        // The user's own would come after eperm's, and win: nothing would be counted.
        if users.iter().any(|a| {
            let a = a.to_string_lossy();
            a == "--cgroup-parent" || a.starts_with("--cgroup-parent=")
        }) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "{purpose} runs the container below a cgroup parent of eperm's: drop --cgroup-parent"
                ),
            ));
        }
        if let Launcher::Docker { .. } = self.runtime {
            if super::docker::cgroup_driver().as_deref() == Some("systemd") {
                return Err(unsupported(&format!(
                    "{purpose} needs dockerd's cgroupfs driver (this one uses systemd's, which \
                     takes slices, not a cgroup parent eperm makes)"
                )));
            }
        }
        let parent = Parent::create(number).map_err(|e| {
            unsupported(&format!(
                "{purpose} runs the container below a cgroup v2 of eperm's, which cannot be made: {e}"
            ))
        })?;
        Ok(Covering { parent, init_comm })
    }

    fn docker(
        &self,
        profile: &Profile,
        files: &RunFiles,
        run: &RunArgs,
        runtime: Option<&str>,
        agent: Option<Agent>,
    ) -> std::io::Result<Launch> {
        let how = match agent {
            // The wrapper sets listenerPath: dockerd 20.10 would drop it.
            Some(_) => Instrument::Notify {
                listener: None,
                runtime: OciRuntime::Runc,
                refused: self.refused_start_up(profile),
            },
            None => Instrument::Log,
        };
        let copy = files.dir.join("profile.json");
        std::fs::write(&copy, files.copy(profile, &self.target, &how))?;
        let cidfile = files.dir.join("cid");
        let name = run
            .name
            .clone()
            .unwrap_or_else(|| format!("eperm-{}-{}", std::process::id(), files.number));
        // Through the wrapper the container gets the agent and an audit session of
        // its own, which tells its log records apart exactly. The wrapper takes
        // both from a session in eperm's state directory, named by an id docker
        // takes from the client's environment (`--env NAME` without a value).
        let session = match runtime {
            Some(_) => {
                let request = state::Request {
                    agent: agent.as_ref().map(|a| a.path().to_path_buf()),
                    loginuid: Some(crate::run::serve::login_uid(None)),
                };
                Some(state::Session::create(
                    Path::new(state::STATE_DIR),
                    &request,
                )?)
            }
            None => None,
        };
        let env = match session {
            Some(_) => vec![OsString::from(wrapper::SESSION_ENV)],
            None => Vec::new(),
        };
        let client = Client {
            dialect: &docker::DOCKER,
            run,
            profile: copy.as_os_str(),
            cidfile: cidfile.as_os_str(),
            name: &name,
            runtime,
            env,
            cgroup_parent: files.cgroup_parent,
        };
        let id = ContainerId::File(cidfile.clone());
        Ok(Launch {
            argv: client.argv(),
            cleanup: ["docker", "rm", "--force", &name]
                .iter()
                .map(Into::into)
                .collect(),
            mode: self.mode,
            notify_logs: true,
            agent,
            attribution: match session {
                Some(session) => Attribution::Wrapper { session, id },
                None => Attribution::Container(id),
            },
            handoff_timeout: HANDOFF_TIMEOUT,
            below: Err(String::new()),
            counted: false,
        })
    }

    fn runc(
        &self,
        profile: &Profile,
        files: &RunFiles,
        bundle: &Path,
        id: &str,
        agent: Option<Agent>,
    ) -> std::io::Result<Launch> {
        let how = match &agent {
            Some(agent) => Instrument::Notify {
                listener: Some(agent.path().display().to_string()),
                runtime: OciRuntime::Runc,
                refused: self.refused_start_up(profile),
            },
            None => Instrument::Log,
        };
        let copy = oci::prepare(
            bundle,
            &files.copy(profile, &self.target, &how),
            &files.dir.join("bundle"),
            files.cgroup_parent.map(|p| format!("{p}/{id}")).as_deref(),
        )?;
        Ok(Launch {
            argv: oci::run_argv(&copy, id),
            cleanup: oci::cleanup_argv(id),
            mode: self.mode,
            notify_logs: true,
            agent,
            attribution: Attribution::OwnSession {
                loginuid: crate::run::serve::login_uid(None),
                id: ContainerId::Known(id.to_string()),
            },
            handoff_timeout: HANDOFF_TIMEOUT,
            below: Err(String::new()),
            counted: false,
        })
    }

    /// podman passes `listenerPath` on to its runtime, which hands the listener
    /// to eperm itself; the container inherits the audit session `podman run`
    /// is given (through conmon), which tells its log records apart.
    fn podman(
        &self,
        profile: &Profile,
        files: &RunFiles,
        client: &PodmanRun,
        agent: Option<Agent>,
    ) -> std::io::Result<Launch> {
        let how = match (&agent, client.oci) {
            (Some(agent), Some(runtime)) => Instrument::Notify {
                listener: Some(agent.path().display().to_string()),
                runtime,
                // crun hands the listener over first: eperm answers its calls itself.
                refused: match runtime.handoff().is_empty() {
                    true => Vec::new(),
                    false => self.refused_start_up(profile),
                },
            },
            _ => Instrument::Log,
        };
        let notify_logs = match &how {
            Instrument::Notify { runtime, .. } => !runtime.handoff().is_empty(),
            Instrument::Log => false,
        };
        let copy = files.dir.join("profile.json");
        std::fs::write(&copy, files.copy(profile, &self.target, &how))?;
        let cidfile = files.dir.join("cid");
        let name = client
            .run
            .name
            .clone()
            .unwrap_or_else(|| format!("eperm-{}-{}", std::process::id(), files.number));
        let argv = Client {
            dialect: &podman::PODMAN,
            run: client.run,
            runtime: client.runtime,
            profile: copy.as_os_str(),
            cidfile: cidfile.as_os_str(),
            name: &name,
            env: Vec::new(),
            cgroup_parent: files.cgroup_parent,
        }
        .argv();
        Ok(Launch {
            argv,
            cleanup: podman::cleanup_argv(
                &client.run.global,
                client.runtime.or(client.run.runtime.as_deref()),
                &name,
                &cidfile,
            ),
            mode: self.mode,
            notify_logs,
            agent,
            attribution: Attribution::OwnSession {
                loginuid: crate::run::serve::login_uid(None),
                id: ContainerId::File(cidfile),
            },
            handoff_timeout: HANDOFF_TIMEOUT,
            below: Err(String::new()),
            counted: false,
        })
    }
}

/// What one run's launch is made in: its number, its directory and, under
/// coverage, the cgroup parent its container runs below.
struct RunFiles<'a> {
    number: usize,
    dir: &'a Path,
    cgroup_parent: Option<&'a str>,
    /// A recording in the kernel: the permissive copy, not the instrumented one.
    permissive: bool,
}

impl RunFiles<'_> {
    /// The profile's copy the runtime loads.
    fn copy(&self, profile: &Profile, target: &Target, how: &Instrument) -> String {
        match self.permissive {
            true => permissive(profile),
            false => instrument(profile, target, how),
        }
    }
}

/// What [`Plan::podman`] needs of [`Launcher::Podman`].
struct PodmanRun<'a> {
    run: &'a RunArgs,
    runtime: Option<&'a str>,
    oci: Option<OciRuntime>,
}

/// A private directory for the runs' files (profile copies, cidfiles, agent
/// sockets, bundles), removed at the end: `eperm-PID` in eperm's state
/// directory (see [`super::state::work_parent`]), never a name another user
/// could plant in /tmp; only a user without `XDG_RUNTIME_DIR` gets one there.
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn create() -> std::io::Result<WorkDir> {
        use std::os::unix::fs::DirBuilderExt;
        let parent = match super::state::work_parent() {
            Some(made) => made?,
            None => std::env::temp_dir(),
        };
        // What eperms killed before they could clean up left (agent sockets,
        // profile copies): theirs alone, by pid, never a live eperm's.
        for stale in crate::run::contain::left_by_dead_eperms(&parent) {
            let _ = std::fs::remove_dir_all(stale);
        }
        let path = parent.join(format!("eperm-{}", std::process::id()));
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

//! A run as a whole, for every command that runs something (`run`, `record`,
//! `tighten`, `docker`, `oci`, and the TUI's re-runs).
//!
//! A [`Session`] is prepared once from what the user asked for (`prepare.rs`): the
//! profile, what to run (a local command or a container through its runtime, one
//! [`Workload`]), the interception mode and the target the verdicts are for.
//! Then it runs, as often as needed, each run under the profile text it is given:
//!
//! - [`Session::run`]: once, headless; events summed up by [`collect`] into a
//!   [`Summary`] ([`summary`]);
//! - [`Session::cover`]: once under coverage, counting what each allowance is
//!   used for ([`cover`]);
//! - [`verify`]: again under a written profile, with `--enforce`;
//! - [`live`]: again and again for the TUI, reporting each run as it goes.
//!
//! [`watch`] follows kernel log records without a workload of eperm's (`watch`,
//! `replay`). [`allow`] turns what a run saw into allowances in the profile. Below this
//! layer, `run::local` and `container::launch` carry out one run each.

pub mod allow;
pub mod collect;
pub mod cover;
pub mod live;
mod prepare;
pub mod record;
mod rerun;
pub mod summary;
pub mod verify;
pub mod watch;

pub use prepare::{Container, Local};
pub use summary::Summary;

use crate::compile::Mode;
use crate::container::launch::Launch;
use crate::container::plan::Plan;
use crate::error::{Error, FileOp};
use crate::profile::{Profile, Target};
use crate::run::child::Credentials;
use crate::run::local::{self, RunSpec};
use crate::run::serve::{Attach, LogOptions};
use crate::run::{EventSender, Interception, Judge, Policy, RunError, Supervision, WorkloadExit};
use crate::sources::health::Health;
use crate::sources::logs::{self, Wanted};
use std::ffi::OsString;

/// What a session runs.
pub enum Workload {
    /// A command started by eperm, with the filter installed before its exec.
    Local {
        argv: Vec<OsString>,
        /// `--user`: run as this user instead of eperm's own.
        user: Option<Credentials>,
    },
    /// A container: its runtime applies an instrumented copy of the profile.
    Container(Plan),
}

/// Everything every run of one command shares.
pub struct Session {
    /// The profile as loaded: headless runs use it; each live run is given the
    /// text it runs under (the TUI's edits).
    pub profile: Profile,
    pub workload: Workload,
    pub mode: Interception,
    /// What the profile is resolved for (arch, caps, kernel).
    pub target: Target,
    /// `--enforce`: verdicts are applied, so the real failure is reproduced.
    pub enforce: bool,
    /// `--mode log`: which kernel log sources to read.
    pub sources: Wanted,
    /// What the user should know of how the runs are followed (why log and not
    /// notify, what rootless leaves out): said at the end of every summary.
    pub notes: Vec<String>,
    /// Take the caller's stack with each intercepted call (`run`, `docker`,
    /// `podman`, `oci` unless `--no-stacks`; not for record, cover or verify runs,
    /// which never show one).
    pub stacks: bool,
    /// Why the other layers are not watched, when the user turned that off
    /// (see [`crate::run::layers::turned_off`]); `None`: they are.
    pub unwatched: Option<String>,
}

/// How one headless run ended.
pub struct Outcome {
    pub exit: WorkloadExit,
    pub mode: Interception,
    pub summary: Summary,
    /// `--mode log`: how each kernel log source did.
    pub health: Vec<Health>,
    /// The session's notes.
    pub notes: Vec<String>,
}

impl Outcome {
    /// The end-of-run report for stderr: the summary, then (log mode) the log
    /// sources' health. `file` is the profile's path (`None`: the embedded one).
    pub fn report(&self, file: Option<&str>) -> String {
        let mut s = self.summary.render(file);
        if self.mode == Interception::Log {
            s += "eperm: kernel log sources:\n";
            s += &logs::render_health(&self.health);
        }
        for note in &self.notes {
            s += &format!("eperm: note: {note}\n");
        }
        s
    }
}

impl Session {
    /// The command line shown to the user.
    pub fn command(&self) -> String {
        match &self.workload {
            Workload::Local { argv, .. } => argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(" "),
            Workload::Container(plan) => plan.command(),
        }
    }

    /// The OCI runtime that loads a container's profile (`None`: a local run, or
    /// a runtime eperm does not know).
    pub fn oci_runtime(&self) -> Option<crate::container::oci_runtime::OciRuntime> {
        match &self.workload {
            Workload::Local { .. } => None,
            Workload::Container(plan) => plan.oci_runtime(),
        }
    }

    /// What stops the container's runtime from starting it under the profile
    /// (see [`crate::startup`]): its message and hint, said after a container's
    /// run; `None` for a local run, a runtime that starts, or one eperm has not measured.
    pub fn start_up_refused(&self) -> Option<(String, String)> {
        if !matches!(self.workload, Workload::Container(_)) {
            return None;
        }
        let resolved = crate::profile::resolve(&self.profile, &self.target);
        let no_new_privs = crate::startup::no_new_privs(&self.profile);
        let crate::startup::Readiness::Missing(missing) =
            crate::startup::readiness(&resolved, no_new_privs)
        else {
            return None;
        };
        let runtime = resolved.target.runtime.as_ref()?.short();
        let file = self.profile.own_file().unwrap_or("PROFILE");
        Some((
            crate::startup::missing_text(&runtime, &missing),
            crate::startup::missing_hint(file, &missing),
        ))
    }

    /// One run under the session's profile, headless: the workload's stdio is its
    /// own, events go to `events` (FILE, or `-` for stdout) and into the summary.
    pub fn run(&self, events: Option<&str>) -> Result<Outcome, Error> {
        let start = self.prepare_run(&self.profile, 1, false)?;
        let judge = self.judge(self.profile.clone(), self.mode.compile_mode())?;
        // The layer watcher reports the workload's EPERM/EACCES.
        let (layers, watched) = {
            let (tx, rx) = std::sync::mpsc::channel();
            (self.layers_to(tx), Some(rx))
        };
        let (tx, collector) = collect::collect(events, watched)?;
        let policy = if self.enforce {
            Policy::Enforce
        } else {
            Policy::Permissive
        };
        let logs = LogOptions {
            wanted: self.sources,
            ..LogOptions::default()
        };
        // `start` consumes the supervision: the collector's channel closes when it returns.
        let sup = Supervision {
            layers,
            ..self.supervise(judge, policy, tx)
        };
        let (forwarder, pid) = crate::signals::forward_to_workload();
        let attach = Attach {
            pid: Some(pid),
            ..Attach::default()
        };
        let exit = self.start(start, sup, attach, &logs);
        drop(forwarder);
        let summary = collector.finish()?;
        let health = logs.take_health();
        Ok(Outcome {
            exit: exit?,
            mode: self.mode,
            summary,
            health,
            notes: self.notes.clone(),
        })
    }

    /// What run `number` of `profile` starts: the local command, or a container's
    /// launch with its own instrumented copy of the profile as it is now (with
    /// `cover`, below a cgroup of eperm's for the coverage counter).
    fn prepare_run(&self, profile: &Profile, number: usize, cover: bool) -> Result<Start, Error> {
        match &self.workload {
            Workload::Local { argv, user } => Ok(Start::Local(RunSpec {
                argv: argv.clone(),
                mode: self.mode,
                user: user.clone(),
            })),
            Workload::Container(plan) => plan
                .launch(profile, number, cover, self.unwatched.is_none())
                .map(Start::Container)
                .map_err(|source| match source.kind() {
                    std::io::ErrorKind::Unsupported => {
                        Error::Run(RunError::Unsupported(source.to_string()))
                    }
                    std::io::ErrorKind::InvalidInput => Error::bad_input(source.to_string()),
                    _ => Error::file(FileOp::PrepareContainerFiles, plan.work_dir())(source),
                }),
        }
    }

    /// `tx`, where the layer watcher is to report; `None` after telling it
    /// why not when the user turned watching off.
    pub(crate) fn layers_to(
        &self,
        tx: std::sync::mpsc::Sender<crate::sources::refusal::Watch>,
    ) -> Option<std::sync::mpsc::Sender<crate::sources::refusal::Watch>> {
        let Some(why) = &self.unwatched else {
            return Some(tx);
        };
        let _ = tx.send(crate::sources::refusal::Watch::NotWatched(why.clone()));
        None
    }

    /// `profile` resolved for the target and compiled with denials turned into `mode`.
    fn judge(&self, profile: Profile, mode: Mode) -> Result<Judge, Error> {
        Judge::new(profile, &self.target, mode).map_err(|e| Error::bad_input(e.to_string()))
    }

    fn supervise(&self, judge: Judge, policy: Policy, events: EventSender) -> Supervision {
        Supervision {
            judge,
            policy,
            events,
            started: std::time::Instant::now(),
            // A local child runs eperm itself until its exec: that is bootstrap.
            own_exe: match self.workload {
                Workload::Local { .. } => std::env::current_exe().ok(),
                Workload::Container(_) => None,
            },
            layers: None,
            stacks: self
                .stacks
                .then(|| std::sync::Arc::new(crate::run::stack::Stacks::new())),
        }
    }

    /// Runs the workload (or the container) to its end under `sup`.
    fn start(
        &self,
        start: Start,
        sup: Supervision,
        attach: Attach,
        logs: &LogOptions,
    ) -> Result<WorkloadExit, RunError> {
        match start {
            Start::Local(spec) => local::run(spec, sup, attach, logs),
            Start::Container(launch) => crate::container::launch::run(launch, sup, logs, attach),
        }
    }
}

/// One run, ready to start.
enum Start {
    Local(RunSpec),
    Container(Launch),
}

//! Recording in the kernel: the workload runs with every call of the profile's
//! arches allowed while the eBPF counter counts them (see
//! [`crate::run::local::record`]; a container under a permissive copy of the
//! profile, counted below its cgroup: [`crate::container::launch::record`]);
//! what the profile would deny of them is what a trapped recording (every
//! would-be denial notified and let run) reports.

use super::{collect, Session, Workload};
use crate::compile::Mode;
use crate::container::plan::Plan;
use crate::error::{Error, FileOp};
use crate::run::coverage::{argument_blind_spot, denied_calls, Denied};
use crate::run::local;
use crate::run::serve::Attach;
use crate::run::{Policy, WorkloadExit};
use std::io::ErrorKind;

/// A run recorded in the kernel.
pub struct KernelRecorded {
    pub exit: WorkloadExit,
    /// The names of the calls the profile would deny (any arch), unordered.
    pub denied: Vec<String>,
    /// The same, with the arch each was made on (`x86_64`, `x86`, `x32`).
    pub denied_on: Vec<(String, &'static str)>,
    /// Those of `denied` only a container runtime's init called, before the
    /// workload's exec (its start-up); none for a local run.
    pub start_up: Vec<String>,
    /// What the run could not tell for sure, for stderr.
    pub warnings: Vec<String>,
}

impl Session {
    /// One permissive run counted in the kernel; `Ok(Err(why))` before anything
    /// ran when it cannot be (no eBPF here, or a profile whose argument rules
    /// the counter cannot judge): then trap instead.
    pub fn record_in_kernel(&self) -> Result<Result<KernelRecorded, String>, Error> {
        let (argv, user) = match &self.workload {
            Workload::Local { argv, user } => (argv, user),
            Workload::Container(plan) => return self.record_container_in_kernel(plan),
        };
        if user.is_some() {
            return Ok(Err("--user runs are recorded by trapping".into()));
        }
        let judge = self.judge(self.profile.clone(), Mode::Notify)?;
        if let Some(why) = argument_blind_spot(&judge) {
            return Ok(Err(why));
        }
        let (tx, collector) = collect::collect(None, None)?;
        let sup = self.supervise(judge, Policy::Permissive, tx);
        let (forwarder, pid) = crate::signals::forward_to_workload();
        let attach = Attach {
            pid: Some(pid),
            ..Attach::default()
        };
        let result = local::record(argv, sup, attach);
        drop(forwarder);
        collector.finish()?;
        let record = match result? {
            Ok(record) => record,
            Err(why) => return Ok(Err(why.0)),
        };
        Ok(Ok(recorded(record.exit, record.denied)))
    }

    /// A container's recording: run under a copy of the profile that allows
    /// every call, counted below a cgroup of eperm's, its runtime's start-up
    /// (its init's calls before the exec) told apart.
    fn record_container_in_kernel(
        &self,
        plan: &Plan,
    ) -> Result<Result<KernelRecorded, String>, Error> {
        let judge = self.judge(self.profile.clone(), self.mode.compile_mode())?;
        if let Some(why) = argument_blind_spot(&judge) {
            return Ok(Err(why));
        }
        let launch = match plan.launch_record(&self.profile) {
            Ok(launch) => launch,
            // No cgroup of eperm's to count in (not root, a cgroup parent of
            // the user's, dockerd's systemd driver): nothing has started yet.
            Err(e) if matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::InvalidInput) => {
                return Ok(Err(e.to_string()))
            }
            Err(e) => {
                return Err(Error::file(FileOp::PrepareContainerFiles, plan.work_dir())(
                    e,
                ))
            }
        };
        let (tx, collector) = collect::collect(None, None)?;
        let sup = self.supervise(judge, Policy::Permissive, tx);
        let result = crate::container::launch::record(launch, &sup, Attach::default());
        let judged =
            result.map(|r| r.map(|(exit, counts)| (exit, denied_calls(&counts, &sup.judge))));
        // The supervision holds the events' sender: the collector ends without it.
        drop(sup);
        collector.finish()?;
        Ok(match judged? {
            Ok((exit, denied)) => Ok(recorded(exit, denied)),
            Err(why) => Err(why.0),
        })
    }
}

/// What a recording's counts say the profile would deny, sorted.
fn recorded(exit: WorkloadExit, denied: Denied) -> KernelRecorded {
    let mut denied_on: Vec<(String, &'static str)> = denied
        .calls
        .iter()
        .map(|(name, arch)| (name.clone(), arch.name()))
        .collect();
    denied_on.sort();
    denied_on.dedup();
    let mut names: Vec<String> = denied_on.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names.dedup();
    // A name is the runtime's alone when none of its arches' calls was the workload's.
    let start_up = names
        .iter()
        .filter(|name| {
            denied
                .calls
                .iter()
                .filter(|(n, _)| n == *name)
                .all(|call| denied.before_exec_only.contains(call))
        })
        .cloned()
        .collect();
    let mut warnings = Vec::new();
    let mut unsure = denied.unsure;
    unsure.sort();
    unsure.dedup();
    if !unsure.is_empty() {
        warnings.push(format!(
            "the eBPF counter's sample of argument values filled up: some calls of {} were not sampled, so not judged: the profile may deny them (record with --trap to judge every call)",
            unsure.join(", ")
        ));
    }
    KernelRecorded {
        exit,
        denied: names,
        denied_on,
        start_up,
        warnings,
    }
}

//! Recording in the kernel: the workload runs with every call of the profile's
//! arches allowed while the eBPF counter counts them (see
//! [`crate::run::local::record`]); what the profile would deny of them is what
//! a trapped recording (every would-be denial notified and let run) reports.

use super::{collect, Session, Workload};
use crate::compile::Mode;
use crate::error::Error;
use crate::run::coverage::argument_blind_spot;
use crate::run::local;
use crate::run::serve::Attach;
use crate::run::{Policy, WorkloadExit};

/// A run recorded in the kernel.
pub struct KernelRecorded {
    pub exit: WorkloadExit,
    /// The names of the calls the profile would deny (any arch), unordered.
    pub denied: Vec<String>,
    /// The same, with the arch each was made on (`x86_64`, `x86`, `x32`).
    pub denied_on: Vec<(String, &'static str)>,
    /// What the run could not tell for sure, for stderr.
    pub warnings: Vec<String>,
}

impl Session {
    /// One permissive run counted in the kernel; `Ok(Err(why))` before anything
    /// ran when it cannot be (no eBPF here, a container, or a profile whose
    /// argument rules the counter cannot judge): then trap instead.
    pub fn record_in_kernel(&self) -> Result<Result<KernelRecorded, String>, Error> {
        let Workload::Local { argv, user } = &self.workload else {
            return Ok(Err("containers are recorded by trapping".into()));
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
        let mut denied_on: Vec<(String, &'static str)> = record
            .denied
            .calls
            .into_iter()
            .map(|(name, arch)| (name, arch.name()))
            .collect();
        denied_on.sort();
        denied_on.dedup();
        let mut denied: Vec<String> = denied_on.iter().map(|(n, _)| n.clone()).collect();
        denied.sort();
        denied.dedup();
        let mut warnings = Vec::new();
        let mut unsure = record.denied.unsure;
        unsure.sort();
        unsure.dedup();
        if !unsure.is_empty() {
            warnings.push(format!(
                "the eBPF counter's sample of argument values filled up: some calls of {} were not sampled, so not judged: the profile may deny them (record with --trap to judge every call)",
                unsure.join(", ")
            ));
        }
        Ok(Ok(KernelRecorded {
            exit: record.exit,
            denied,
            denied_on,
            warnings,
        }))
    }
}

//! Coverage runs: the workload runs as under the profile (verdicts enforced,
//! nothing held) while every call it makes is counted — in the kernel where eBPF
//! is there, else by notification (see [`crate::run::coverage`]) —
//! and each run is merged into the coverage file kept next to the profile.

use super::{collect, Session, Start, Summary, Workload};
use crate::compile::Mode;
use crate::error::Error;
use crate::run::coverage::{Counting, Coverage};
use crate::run::local::{self, Attach, LogOptions};
use crate::run::{Interception, Policy, WorkloadExit};
use std::path::PathBuf;

/// One coverage run, and where it was kept.
pub struct Covered {
    pub exit: WorkloadExit,
    /// What this run used.
    pub run: Coverage,
    /// The coverage file and what it holds now, this run merged in; `None` for
    /// the embedded profile, which has no file to keep it next to.
    pub stored: Option<(PathBuf, Coverage)>,
    /// What the profile denied meanwhile.
    pub summary: Summary,
    /// In the kernel, or by notification (and why).
    pub counting: Counting,
}

impl Session {
    /// One coverage run under the session's profile, merged into its coverage file.
    pub fn cover(&self) -> Result<Covered, Error> {
        let Workload::Local { argv, user } = &self.workload else {
            return self.cover_container();
        };
        // Compiled for notify: the filter of an in-kernel count, compiled once.
        // Verdicts are enforced (Policy::Enforce): the workload runs as under
        // the profile.
        let judge = self.judge(self.profile.clone(), Mode::Notify)?;
        let (tx, collector) = collect::collect(None)?;
        let sup = self.supervise(judge, Policy::Enforce, tx);
        let result = local::cover(argv, user.clone(), sup, Attach::default(), None);
        let summary = collector.finish()?;
        let (exit, run, counting) = result?;
        self.keep(exit, run, summary, counting)
    }

    /// A container's coverage run: counted in the kernel below a cgroup of
    /// eperm's (see [`crate::container::cgroup`]); would-be denials enforced
    /// where eperm is the runtime's agent (notify), else only logged.
    fn cover_container(&self) -> Result<Covered, Error> {
        let Start::Container(launch) = self.prepare_run(&self.profile, 1, true)? else {
            unreachable!("a container session prepares container launches");
        };
        let judge = self.judge(self.profile.clone(), self.mode.compile_mode())?;
        let (tx, collector) = collect::collect(None)?;
        let policy = match self.mode {
            Interception::Notify => Policy::Enforce,
            _ => Policy::Permissive,
        };
        let sup = self.supervise(judge, policy, tx);
        let logs = LogOptions {
            wanted: self.sources,
            ..LogOptions::default()
        };
        let result = crate::container::launch::cover(launch, sup, &logs, Attach::default(), None);
        let summary = collector.finish()?;
        let (exit, run) = result?;
        self.keep(exit, run, summary, Counting::Kernel)
    }

    /// The run merged into the profile's coverage file (when it has one).
    fn keep(
        &self,
        exit: WorkloadExit,
        run: Coverage,
        summary: Summary,
        counting: Counting,
    ) -> Result<Covered, Error> {
        let stored = match self.profile.file_path() {
            Some(file) => {
                let path = Coverage::path_for(&file);
                let merged = Coverage::merge_into(&path, &run)?;
                Some((path, merged))
            }
            None => None,
        };
        Ok(Covered {
            exit,
            run,
            stored,
            summary,
            counting,
        })
    }
}

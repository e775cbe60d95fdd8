//! Coverage runs: the workload runs as under the profile (verdicts enforced,
//! nothing held) while every call it makes is counted — in the kernel where eBPF
//! is there, else by notification (see [`crate::run::coverage`]) —
//! and each run is merged into the coverage file kept next to the profile.

use super::{collect, live, Session, SessionError, Summary, Workload};
use crate::compile::Mode;
use crate::run::coverage::{Counting, Coverage};
use crate::run::local::{self, Attach};
use crate::run::{Policy, WorkloadExit};
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
    pub fn cover(&self) -> Result<Covered, SessionError> {
        let Workload::Local { argv, user } = &self.workload else {
            return Err(SessionError::BadInput(live::NO_CONTAINER_COVERAGE.into()));
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

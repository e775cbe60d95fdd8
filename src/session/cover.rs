//! Coverage runs: the workload runs as under the profile (verdicts enforced,
//! nothing held) while every call it makes is counted (see [`crate::run::coverage`]),
//! and each run is merged into the coverage file kept next to the profile.

use super::{collect, live, Session, SessionError, Summary, Workload};
use crate::compile::Mode;
use crate::profile::Profile;
use crate::run::coverage::Coverage;
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
}

impl Session {
    /// One coverage run under `profile`; `attach` says where its stdio goes.
    pub fn cover(
        &self,
        profile: Profile,
        attach: Attach,
    ) -> Result<(WorkloadExit, Coverage, Summary), SessionError> {
        let Workload::Local { argv, user } = &self.workload else {
            return Err(SessionError::BadInput(live::NO_CONTAINER_COVERAGE.into()));
        };
        // Verdicts as written: the workload runs as it would under the profile.
        let judge = self.judge(profile, Mode::Enforce)?;
        let (tx, collector) = collect::collect(None)?;
        let sup = self.supervise(judge, Policy::Enforce, tx);
        let result = local::cover(argv, user.clone(), sup, attach);
        let summary = collector.finish()?;
        let (exit, coverage) = result?;
        Ok((exit, coverage, summary))
    }

    /// One coverage run under `profile`, merged into its coverage file.
    pub fn cover_and_keep(&self, profile: Profile) -> Result<Covered, SessionError> {
        let file = profile.file_path();
        let (exit, run, summary) = self.cover(profile, Attach::default())?;
        let stored = match file {
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
        })
    }
}

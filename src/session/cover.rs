//! Coverage runs: the workload runs as under the profile (verdicts enforced,
//! nothing held) while every call it makes is counted — in the kernel where eBPF
//! is there, else by notification (see [`crate::coverage`]) —
//! and each run is merged into the coverage file kept next to the profile.

use super::{collect, Session, Start, Summary, Workload};
use crate::compile::Mode;
use crate::coverage::Coverage;
use crate::error::Error;
use crate::run::coverage::Counting;
use crate::run::local;
use crate::run::serve::{Attach, LogOptions};
use crate::run::{Interception, Policy, WorkloadExit};
use crate::tighten::prune;
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

impl Covered {
    /// The end of a headless coverage run, for stderr: how calls were counted,
    /// where the coverage is kept, what each allowance of `session`'s profile
    /// was used for, and what the profile denied.
    pub fn report(&self, session: &Session) -> String {
        let profile = &session.profile;
        let mut s = format!("eperm: calls {}\n", self.counting);
        let coverage = match &self.stored {
            Some((path, merged)) => {
                s += &format!(
                    "eperm: coverage of {} run{} in {}\n",
                    merged.runs,
                    if merged.runs == 1 { "" } else { "s" },
                    path.display()
                );
                merged
            }
            None => {
                s += "eperm: the embedded profile has no file: coverage is not kept (use -p)\n";
                &self.run
            }
        };
        let arches = crate::profile::resolve(profile, &session.target).arches;
        s += &prune::report(profile, coverage, &arches);
        if !self.summary.entries.is_empty() {
            s += &self.summary.render(profile.own_file());
        }
        s
    }
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
        let (tx, collector) = collect::collect(None, None)?;
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
        let (tx, collector) = collect::collect(None, None)?;
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

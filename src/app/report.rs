//! `R`: the session as a triage report ([`crate::report`]). The App fills in
//! what it knows (the rows, the decisions, the diff); the TUI loop adds the line
//! that reruns the workload outside eperm, writes the file and says how it went.

use super::{App, Effect, RunState, UserDecision};
use crate::report::{Denial, Triage};
use std::path::PathBuf;

/// Where `R` writes when no `--report` names a file: next to the profile.
pub const DEFAULT_REPORT: &str = "eperm-report.md";

impl App {
    /// The session as the report tells it.
    pub fn triage(&self) -> Triage {
        let denials = self
            .rows
            .iter()
            .map(|r| {
                let mut processes = Vec::new();
                for (_, comm) in &r.pids {
                    if !processes.contains(comm) {
                        processes.push(comm.clone());
                    }
                }
                Denial {
                    syscall: r.syscall.clone(),
                    arch: r.arch.clone(),
                    hits: r.hits,
                    verdict: r.verdict.clone(),
                    rule: r.rule.clone(),
                    example: r.example.clone(),
                    args: r.example_args,
                    processes,
                    bootstrap: r.bootstrap,
                }
            })
            .collect();
        let decisions = self.undo.iter().map(|step| step.told()).collect();
        Triage {
            command: self.run.command.clone(),
            how: format!(
                "{}, {}",
                self.run.mode,
                if self.run.enforce {
                    "enforcing"
                } else {
                    "permissive"
                }
            ),
            runtime: None,
            profile: match (&self.path, self.path_pending) {
                (Some(p), false) => Some(p.display().to_string()),
                _ => None,
            },
            outcome: match &self.run.state {
                RunState::Watching => "watching logs".into(),
                RunState::Starting => "starting".into(),
                RunState::Running => "still running".into(),
                RunState::Exited(exit) => exit.to_string(),
                RunState::Failed(why) => format!("failed to start: {why}"),
            },
            denials,
            decisions,
            diff: self.session_diff(false),
            rerun: None,
        }
    }

    /// `R`: write the report (to `--report`'s file, else next to the profile).
    pub(super) fn report(&mut self) -> Vec<Effect> {
        let path = self.config.report.clone().unwrap_or_else(|| {
            let dir = match (&self.path, self.path_pending) {
                (Some(p), false) => p.parent().map(PathBuf::from).unwrap_or_default(),
                _ => PathBuf::new(),
            };
            dir.join(DEFAULT_REPORT)
        });
        self.message = format!("writing the report to {}", path.display());
        vec![Effect::Report {
            path,
            triage: Box::new(self.triage()),
        }]
    }
}

impl UserDecision {
    /// As the report's decisions list says it.
    pub fn told(&self, syscall: &str) -> String {
        match self {
            UserDecision::StillDenied => {
                format!("`{syscall}`: denied again (the profile's verdict)")
            }
            UserDecision::AllowedNow => format!("`{syscall}`: allowed"),
            UserDecision::Errno(e) => format!(
                "`{syscall}`: denied with {}",
                crate::errno::name(*e).unwrap_or("another errno")
            ),
        }
    }
}

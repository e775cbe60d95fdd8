//! `R`: the session as a triage report ([`crate::report`]). The App fills in
//! what it knows (the rows, the decisions, the diff); the TUI loop adds the line
//! that reruns the workload outside eperm, writes the file and says how it went.

use super::layers::Layers;
use super::{App, Effect, RunState, UserDecision};
use crate::layer::Layer;
use crate::report::{Denial, OtherLayer, Triage};
use std::path::PathBuf;

/// Where `R` writes when no `--report` names a file: next to the profile.
pub const DEFAULT_REPORT: &str = "eperm-report.md";

impl App {
    /// The session as the report tells it.
    pub fn triage(&self) -> Triage {
        let denials = self.session_denials();
        let earlier = self
            .past_runs
            .iter()
            .map(|p| {
                format!(
                    "run {}: {}, {} would-be denial{}",
                    p.number,
                    state(&p.state),
                    p.denials,
                    if p.denials == 1 { "" } else { "s" }
                )
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
            runtime: self.config.runtime.as_ref().map(ToString::to_string),
            profile: match (&self.path, self.path_pending) {
                (Some(p), false) => Some(p.display().to_string()),
                _ => None,
            },
            outcome: format!(
                "run {}: {}, {} would-be denial{}{}",
                self.run.number,
                state(&self.run.state),
                self.run.denials,
                if self.run.denials == 1 { "" } else { "s" },
                self.run
                    .interference
                    .iter()
                    .map(|(_, line)| format!("; {line}"))
                    .collect::<String>()
            ),
            earlier,
            denials,
            decisions,
            diff: self.session_diff(false),
            rerun: None,
            // This run's: the table shows no earlier run's refusals either.
            other_layers: self
                .run
                .refused
                .iter()
                .filter(|(r, _)| {
                    r.finding
                        .as_ref()
                        .is_some_and(|f| f.layer != Layer::Seccomp)
                })
                .filter_map(|(r, hits)| OtherLayer::of(r, *hits))
                .collect(),
            layers_not_watched: match &self.run.layers {
                Layers::NotWatched(why) => Some(why.clone()),
                _ => None,
            },
        }
    }

    /// Every run of the session, a syscall once: the first run's row, the hits of all.
    fn session_denials(&self) -> Vec<Denial> {
        let mut denials: Vec<Denial> = Vec::new();
        for r in self.earlier_rows.iter().chain(&self.rows) {
            let processes = r.pids.iter().map(|(_, comm)| comm.clone());
            let arch = r.arch.to_string();
            match denials
                .iter_mut()
                .find(|d| d.syscall == r.syscall && d.arch == arch)
            {
                Some(d) => {
                    d.hits += r.hits;
                    d.bootstrap &= r.bootstrap;
                    for comm in processes {
                        if !d.processes.contains(&comm) {
                            d.processes.push(comm);
                        }
                    }
                }
                None => {
                    let mut unique = Vec::new();
                    for comm in processes {
                        if !unique.contains(&comm) {
                            unique.push(comm);
                        }
                    }
                    denials.push(Denial {
                        syscall: r.syscall.clone(),
                        arch,
                        hits: r.hits,
                        verdict: r.verdict().to_string(),
                        rule: r.rule_path(),
                        example: r.example.clone(),
                        args: r.example_args,
                        processes: unique,
                        bootstrap: r.bootstrap,
                        sites: Denial::sites_of(r),
                    })
                }
            }
        }
        denials
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
            picked: self.config.report.is_none(),
            triage: Box::new(self.triage()),
        }]
    }
}

/// How a run stands, in words.
fn state(state: &RunState) -> String {
    match state {
        RunState::Watching => "watching logs".into(),
        RunState::Starting => "starting".into(),
        RunState::Running => "still running".into(),
        RunState::Exited(exit) => exit.to_string(),
        RunState::Failed(why) => format!("failed to start: {why}"),
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

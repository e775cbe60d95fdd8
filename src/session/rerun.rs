//! The command that reruns a session's workload outside eperm's interception,
//! under a saved profile, with the profile's verdicts applied: the line a triage
//! report ends with, so that whoever reads it sees the failure (or its fix) themselves.

use super::{Outcome, Session, Workload};
use crate::container::plan::Launcher;
use crate::report::shell_word;

impl Session {
    /// The workload under `profile` (a path as the shell should see it), enforced.
    pub fn rerun(&self, profile: &str) -> String {
        let words = |args: &[std::ffi::OsString]| -> String {
            let words: Vec<String> = args
                .iter()
                .map(|a| shell_word(&a.to_string_lossy()))
                .collect();
            words.join(" ")
        };
        let profile = shell_word(profile);
        match &self.workload {
            Workload::Local { argv, .. } => {
                format!(
                    "eperm run -p {profile} --enforce --no-tui -- {}",
                    words(argv)
                )
            }
            Workload::Container(plan) => match &plan.runtime {
                Launcher::Docker { run, .. } => format!(
                    "docker run --security-opt seccomp={profile} {}",
                    words(&run.args)
                ),
                Launcher::Podman { run, runtime, .. } => format!(
                    "podman{}{} run --security-opt seccomp={profile} {}",
                    run.global
                        .iter()
                        .map(|a| format!(" {}", shell_word(&a.to_string_lossy())))
                        .collect::<String>(),
                    runtime
                        .as_deref()
                        .map_or_else(String::new, |r| format!(" --runtime {}", shell_word(r))),
                    words(&run.args)
                ),
                // The bundle's config.json is the profile.
                Launcher::Runc { bundle, .. } => format!(
                    "eperm oci --enforce --no-tui {}",
                    shell_word(&bundle.display().to_string())
                ),
            },
        }
    }

    /// The runtime that loads the profile, for the report: its release and
    /// libseccomp (`runc 1.1.5 with libseccomp 2.5.4 …`), or `None` when eperm
    /// loads it itself.
    pub fn runtime_name(&self) -> Option<String> {
        // The target's runtime says which release and libseccomp judged the calls.
        if let Some(runtime) = &self.target.runtime {
            return Some(runtime.to_string());
        }
        match &self.workload {
            Workload::Local { .. } => None,
            Workload::Container(_) => Some(
                self.oci_runtime()
                    .map_or("an OCI runtime eperm does not know", |r| r.name())
                    .to_string(),
            ),
        }
    }
}

impl Session {
    /// A headless run as the triage report tells it; `written`: the profile file
    /// the run wrote (`-o`, `--save`) and its text, else the session's own.
    pub fn triage(
        &self,
        outcome: &Outcome,
        written: Option<(&str, &str)>,
    ) -> crate::report::Triage {
        let mut triage = outcome.summary.triage();
        triage.command = self.command();
        triage.how = format!(
            "{}, {}",
            outcome.mode.name(),
            if self.enforce {
                "enforcing"
            } else {
                "permissive"
            }
        );
        triage.runtime = self.runtime_name();
        triage.outcome = outcome.exit.to_string();
        let (file, text) = match written {
            Some((file, text)) => (Some(file.to_string()), text),
            None => (
                self.profile.own_file().map(str::to_string),
                self.profile.text.as_str(),
            ),
        };
        let before = self.profile.own_file().unwrap_or("embedded default");
        let after = file.as_deref().unwrap_or(before);
        triage.diff = crate::report::unified(&self.profile.text, text, before, after);
        if !triage.diff.is_empty() {
            triage.decisions.push(format!(
                "allowed what the run needed: {}",
                outcome.summary.names().join(", ")
            ));
        }
        triage.rerun = Some(self.rerun(file.as_deref().unwrap_or("profile.json")));
        triage.profile = file;
        triage
    }
}

//! What a run saw, made into allowances in the profile through the edit engine,
//! so that the diff against the profile is as small as a reviewer would make it.

use super::Summary;
use crate::arch::Arch;
use crate::container::oci_runtime::OciRuntime;
use crate::error::Error;
use crate::profile::edit::{apply_commented, apply_grouped, Edit, EditError, EditReport};
use crate::profile::Profile;

/// The comment on allowances the start-up of a runtime eperm has not measured needed.
pub fn bootstrap_comment(runtime: &str) -> String {
    format!("needed by the container runtime ({runtime}) before the workload starts, not by the workload")
}

/// A profile with a run's allowances.
pub struct Allowed {
    pub text: String,
    /// The names allowed, sorted.
    pub names: Vec<String>,
    /// Names the run saw that no profile can hold (numbers without a name).
    pub nameless: Vec<String>,
}

/// `base` plus an allowance for every syscall of `summary`, in one rule whose
/// comment names `command` (`eperm record`).
pub fn recorded(base: &Profile, summary: &Summary, command: &str) -> Result<Allowed, Error> {
    recorded_names(base, summary.names(), command)
}

/// [`recorded`] from the names alone (a run recorded in the kernel has no summary).
pub fn recorded_names(
    base: &Profile,
    mut names: Vec<String>,
    command: &str,
) -> Result<Allowed, Error> {
    names.sort();
    names.dedup();
    let (names, nameless): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| Edit::Allow(n.clone()).validate().is_ok());
    let edits: Vec<Edit> = names.iter().cloned().map(Edit::Allow).collect();
    let comment = recorded_comment(command);
    let applied = apply_commented(base, &edits, Some(&comment)).map_err(bad)?;
    Ok(Allowed {
        text: applied.text().to_string(),
        names: changed(&applied.reports),
        nameless,
    })
}

/// `profile` plus allowances: the workload's calls with one comment, the
/// runtime's start-up calls (only ever made before the workload's exec) in a
/// rule of their own (`eperm docker -o`, `eperm podman -o`, `eperm oci --save`):
/// for runc and crun, every start-up call eperm knows of (see
/// [`crate::startup`]) whether this run saw it or not, plus any other it saw;
/// for another runtime, what the run saw. `names` are those the text allows
/// that `profile` did not.
pub fn with_bootstrap(
    profile: &Profile,
    summary: &Summary,
    command: &str,
    runtime: Option<OciRuntime>,
) -> Result<Allowed, Error> {
    let start_up: Vec<String> = summary
        .names()
        .into_iter()
        .filter(|name| {
            let mut entries = summary.entries.iter().filter(|e| &e.syscall == name);
            entries.all(|e| e.bootstrap)
        })
        .collect();
    with_start_up(profile, summary.names(), &start_up, command, runtime)
}

/// [`with_bootstrap`] from the names alone (a container recorded in the
/// kernel has no summary): `names` the run saw denied, `start_up` those of
/// them only the runtime's init called before the workload's exec.
pub fn with_start_up(
    profile: &Profile,
    mut names: Vec<String>,
    start_up: &[String],
    command: &str,
    runtime: Option<OciRuntime>,
) -> Result<Allowed, Error> {
    // One order however the run saw them: trapped and counted runs write alike.
    names.sort();
    names.dedup();
    let mut workload = Vec::new();
    let mut bootstrap = Vec::new();
    for name in names {
        if Edit::Allow(name.clone()).validate().is_err() {
            continue; // a number without a name cannot go into a profile
        }
        if start_up.contains(&name) {
            bootstrap.push(name);
        } else {
            workload.push(Edit::Allow(name));
        }
    }
    let comment = recorded_comment(command);
    let first = apply_commented(profile, &workload, Some(&comment)).map_err(bad)?;
    let second = match runtime {
        Some(runtime) => {
            crate::startup::allow(
                &first.profile,
                &[runtime.kind()],
                Arch::native(),
                &bootstrap,
            )
            .map_err(bad)?
            .0
        }
        None => {
            let edits: Vec<Edit> = bootstrap.into_iter().map(Edit::Allow).collect();
            apply_grouped(&first.profile, &edits, &bootstrap_comment("unknown")).map_err(bad)?
        }
    };
    let mut names = changed(&first.reports);
    names.extend(changed(&second.reports));
    names.sort();
    Ok(Allowed {
        text: second.text().to_string(),
        names,
        nameless: Vec::new(),
    })
}

/// The names allowed by edits that changed the text: what was written, not
/// what was asked (an edit can find its name allowed already).
fn changed(reports: &[EditReport]) -> Vec<String> {
    let allowances = reports.iter().filter(|r| r.changed()).map(|r| &r.edit);
    allowances
        .filter_map(|edit| match edit {
            Edit::Allow(name) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

fn recorded_comment(command: &str) -> String {
    format!("recorded by eperm from: {command}")
}

fn bad(e: EditError) -> Error {
    Error::bad_input(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::profile::{Action, Verdict};
    use crate::sources::aggregate::DeniedSyscall;
    use crate::sources::event::{CallArch, Decider, Rule, Ruling};

    /// A run that saw runc's init make one call, and the workload one.
    fn seen() -> Summary {
        let entry = |syscall: &str, bootstrap: bool| DeniedSyscall {
            syscall: syscall.into(),
            arch: CallArch::Known(Arch::X86_64),
            nr: 0,
            hits: 1,
            ruling: Ruling::Profile(Verdict::of(Action::Errno, None)),
            rule: Some(Decider::new(Rule::Default, "")),
            pids: vec![(1, "runc:[2:INIT]".into())],
            comms: Vec::new(),
            pods: Vec::new(),
            first_ms: 0,
            last_ms: 0,
            example: String::new(),
            example_args: None,
            common_args: [None; 6],
            bootstrap,
            sites: Vec::new(),
        };
        Summary {
            entries: vec![entry("capset", true), entry("mkdir", false)],
            ..Summary::default()
        }
    }

    /// The names of the rule that names `name`.
    fn rule_with(profile: &Profile, name: &str) -> Option<Vec<String>> {
        let names = |r: &crate::profile::Rule| r.names.iter().map(|n| n.name.clone()).collect();
        profile
            .rules
            .iter()
            .map(names)
            .find(|names: &Vec<String>| names.iter().any(|n| n == name))
    }

    #[test]
    fn the_start_up_rule_allows_every_known_start_up_call_seen_or_not() {
        let empty = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}"#;
        let profile = crate::profile::load_str("p.json", empty.into()).unwrap();
        for runtime in [OciRuntime::Runc, OciRuntime::Crun] {
            let text = with_bootstrap(&profile, &seen(), "docker run x", Some(runtime))
                .unwrap()
                .text;
            let saved = crate::profile::load_str("p.json", text).unwrap();
            let start_up = rule_with(&saved, "capset").expect("the start-up rule");
            let known = crate::startup::calls(runtime.kind(), Arch::X86_64, false).unwrap();
            let mut expected: Vec<String> = known.iter().map(|n| n.to_string()).collect();
            expected.sort();
            assert_eq!(
                start_up, expected,
                "{runtime:?}: the workload's mkdir apart"
            );
        }

        // A runtime eperm has not measured: what was seen, nothing more.
        let text = with_bootstrap(&profile, &seen(), "podman run x", None)
            .unwrap()
            .text;
        let saved = crate::profile::load_str("p.json", text).unwrap();
        assert_eq!(rule_with(&saved, "capset").unwrap(), ["capset"]);
    }

    /// Issue 34: "allowing 17 more syscalls" while 26 names went in (runc's
    /// scheduling calls were not counted), and names already allowed were.
    #[test]
    fn the_names_said_added_are_those_the_written_profile_newly_allows() {
        // mkdir is allowed already; futex (one of runc's scheduling calls) too.
        let base = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["mkdir", "futex"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let profile = crate::profile::load_str("p.json", base.into()).unwrap();
        for runtime in [Some(OciRuntime::Runc), Some(OciRuntime::Crun), None] {
            let allowed = with_bootstrap(&profile, &seen(), "docker run x", runtime).unwrap();
            let written = crate::profile::load_str("p.json", allowed.text).unwrap();
            let new: Vec<String> = allowed_names(&written, &profile);
            assert_eq!(allowed.names, new, "{runtime:?}");
        }
    }

    fn allowed_names(after: &Profile, before: &Profile) -> Vec<String> {
        let before = before.allowed_names();
        after
            .allowed_names()
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect()
    }
}

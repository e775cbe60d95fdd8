//! What the deciding line adds when the runtime that loads the profile gives a
//! verdict other than the profile's text: a name its libseccomp lacks, or
//! runc's "-ENOSYS stub" (see [`crate::target`]).

use super::{App, Row};
use crate::profile::{Action, Verdict};
use crate::run::WorkloadExit;
use crate::sources::event::Rule;

impl App {
    /// Why a container that failed under `--enforce` did not start: the
    /// profile refuses its runtime's start-up calls, which the filter answers
    /// before eperm sees them, so the run has no event to show for it.
    pub(super) fn not_started(&self, exit: WorkloadExit) -> Option<String> {
        let runtime = self.config.runtime.as_ref()?;
        if !self.config.enforce || exit.code() == 0 {
            return None;
        }
        let resolved = crate::profile::resolve(&self.profile, &self.target());
        let no_new_privs = crate::startup::no_new_privs(&self.profile);
        match crate::startup::readiness(&resolved, no_new_privs) {
            crate::startup::Readiness::Missing(missing) => Some(format!(
                "the container did not start: {}",
                crate::startup::missing_text(&runtime.short(), &missing)
            )),
            _ => None,
        }
    }

    /// "allowed by `syscalls[0]`, but runc 1.1.5 here drops the name (unknown to
    /// libseccomp 2.5.4)"; `None` when the runtime reads the row as written,
    /// or eperm itself loads the profile.
    /// The kernel's passthrough (`uretprobe`, `uprobe`) is noted whoever loads
    /// the profile: no filter sees those calls.
    pub fn runtime_note(&self, row: &Row) -> Option<String> {
        if row.rule.is_some_and(|r| r.rule == Rule::Kernel) {
            let p = crate::compile::passthrough::PASSTHROUGH
                .iter()
                .find(|p| p.name == row.syscall)?;
            return Some(format!("{}: no rule of the profile applies", p.describe()));
        }
        let rt = self.config.runtime.as_ref()?;
        if let Some(note) = start_up_note(rt, row) {
            return Some(note);
        }
        if !rt.knows(&row.syscall) {
            let rule = self
                .profile
                .rules
                .iter()
                .find(|r| r.names.iter().any(|n| n.name == row.syscall))?;
            let said = match Verdict::of(rule.action, rule.errno_ret) {
                v if v.action == Action::Allow => "allowed".to_string(),
                v => format!("given {}", v.describe()),
            };
            return Some(format!(
                "{said} by {}, but {} drops the name (unknown to libseccomp {})",
                self.profile.path(&format!("syscalls[{}]", rule.index)),
                rt.named(),
                rt.libseccomp
            ));
        }
        let default = Verdict::of(self.profile.default_action, self.profile.default_errno);
        let stub = row.rule.is_some_and(|r| r.rule == Rule::Stub);
        (rt.has_enosys_stub() && stub && default.data != 38).then(|| {
            format!(
                "{} answers ENOSYS, not the default: the call is above the largest syscall the profile names (runc's -ENOSYS stub)",
                rt.named()
            )
        })
    }
}

/// A folded runtime row's call that is one of the runtime's start-up calls
/// (see [`crate::startup`]): without it, no container starts.
fn start_up_note(rt: &crate::target::Runtime, row: &Row) -> Option<String> {
    let arch = match row.arch {
        crate::sources::event::CallArch::Known(arch) => arch,
        _ => return None,
    };
    let calls = crate::startup::calls(rt.kind, arch, false)?;
    (row.bootstrap && calls.contains(&row.syscall.as_str())).then(|| {
        format!(
            "one of {}'s start-up calls: a profile that denies it starts no container (eperm record, tighten and export allow them in a rule of their own)",
            rt.kind.name()
        )
    })
}

#[cfg(test)]
mod tests {
    use crate::app::testing::{app_with, config, event};
    use crate::app::{Config, Msg};
    use crate::profile::{Action, Verdict};
    use crate::sources::event::{Decider, Rule, Ruling};
    use crate::target::Runtime;

    const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "futex_waitv", "mseal"], "action": "SCMP_ACT_ALLOW"}]}"#;

    /// The note on the row of a call of `syscall` given `errno` by `rule`.
    fn note(runtime: Option<Runtime>, syscall: &str, errno: u32, rule: Rule) -> Option<String> {
        let mut app = app_with(
            PROFILE,
            Config {
                runtime,
                ..config(None)
            },
        );
        let mut e = event(syscall, 7, 0);
        e.ruling = Ruling::Profile(Verdict::of(Action::Errno, Some(errno)));
        e.rule = Some(Decider::new(rule, ""));
        app.update(Msg::Event(e));
        let row = app.selected_row().expect("a row for the event").clone();
        app.runtime_note(&row)
    }

    fn runc(libseccomp: &str) -> Option<Runtime> {
        Runtime::from_args(Some("runc@1.1.5"), Some(libseccomp), &Runtime::nowhere).ok()
    }

    #[test]
    fn a_call_the_kernel_lets_through_says_so_whoever_loads_the_profile() {
        let mut app = app_with(PROFILE, config(None));
        let mut e = event("uretprobe", 7, 0);
        e.ruling = Ruling::Profile(Verdict::ALLOW);
        e.rule = Some(Decider::new(Rule::Kernel, ""));
        app.update(Msg::Event(e));
        let row = app.selected_row().expect("a row for the event").clone();
        let note = app.runtime_note(&row).expect("a note");
        assert!(
            note.contains("lets uretprobe through before any seccomp filter (Linux 6.14 and later"),
            "{note}"
        );
    }

    #[test]
    fn the_deciding_line_says_when_the_runtime_drops_the_name() {
        assert_eq!(
            note(runc("2.5.4"), "mseal", 38, Rule::Stub).as_deref(),
            Some("allowed by syscalls[0], but runc 1.1.5 drops the name (unknown to libseccomp 2.5.4)")
        );
        // Known to 2.6.0; and eperm's own runs know every name.
        assert_eq!(note(runc("2.6.0"), "mseal", 1, Rule::Default), None);
        assert_eq!(note(None, "mseal", 1, Rule::Default), None);
    }

    #[test]
    fn a_runtime_row_of_its_start_up_says_no_container_starts_without_it() {
        let note = |syscall: &str, bootstrap: bool| {
            let mut app = app_with(
                PROFILE,
                Config {
                    runtime: runc("2.5.4"),
                    ..config(None)
                },
            );
            let mut e = event(syscall, 7, 0);
            e.bootstrap = bootstrap;
            e.comm = "runc:[2:INIT]".into();
            app.update(Msg::Event(e));
            // The runtime's rows are folded: not selectable until shown.
            let row = app.rows.first().expect("a row for the event").clone();
            app.runtime_note(&row)
        };
        let said = note("fstatfs", true).expect("a note");
        assert!(said.starts_with("one of runc's start-up calls"), "{said}");
        // Not a start-up call; and the workload's own fstatfs.
        assert_eq!(note("mkdir", true), None);
        assert_eq!(note("fstatfs", false), None);
    }

    #[test]
    fn the_deciding_line_names_runcs_stub() {
        let n = note(runc("2.6.0"), "setxattrat", 38, Rule::Stub).unwrap();
        assert!(
            n.contains("runc 1.1.5 answers ENOSYS, not the default"),
            "{n}"
        );
        assert_eq!(note(runc("2.6.0"), "setxattrat", 1, Rule::Default), None);
        // eperm's own runs have no stub.
        assert_eq!(note(None, "setxattrat", 38, Rule::Stub), None);
    }
}

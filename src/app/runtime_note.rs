//! What the deciding line adds when the runtime that loads the profile gives a
//! verdict other than the profile's text: a name its libseccomp lacks, or
//! runc's "-ENOSYS stub" (see [`crate::target`]).

use super::{App, Row};
use crate::profile::{Action, Verdict};
use crate::sources::event::Rule;

impl App {
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

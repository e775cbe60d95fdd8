//! What the deciding line adds when the runtime that loads the profile gives a
//! verdict other than the profile's text: a name its libseccomp lacks, or
//! runc's "-ENOSYS stub" (see [`crate::target`]).

use super::{App, Row};
use crate::profile::{Action, Verdict};

impl App {
    /// "allowed by `syscalls[0]`, but runc 1.1.5 here drops the name (unknown to
    /// libseccomp 2.5.4)"; `None` when the runtime reads the row as written,
    /// or eperm itself loads the profile.
    pub fn runtime_note(&self, row: &Row) -> Option<String> {
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
        let enosys = row
            .errno
            .as_deref()
            .is_some_and(|e| e.starts_with("ENOSYS"));
        let by_default = row.rule.ends_with("defaultAction");
        (rt.has_enosys_stub() && enosys && by_default && default.data != 38).then(|| {
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
    use crate::target::Runtime;

    const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read", "futex_waitv", "mseal"], "action": "SCMP_ACT_ALLOW"}]}"#;

    fn note(runtime: Option<Runtime>, syscall: &str, errno: &str) -> Option<String> {
        let mut app = app_with(
            PROFILE,
            Config {
                runtime,
                ..config(None)
            },
        );
        let mut e = event(syscall, 7, 0);
        e.errno = Some(errno.into());
        app.update(Msg::Event(e));
        let row = app.selected_row().expect("a row for the event").clone();
        app.runtime_note(&row)
    }

    fn runc(libseccomp: &str) -> Option<Runtime> {
        Runtime::from_args(Some("runc@1.1.5"), Some(libseccomp), &Runtime::nowhere).ok()
    }

    #[test]
    fn the_deciding_line_says_when_the_runtime_drops_the_name() {
        assert_eq!(
            note(runc("2.5.4"), "mseal", "ENOSYS").as_deref(),
            Some("allowed by syscalls[0], but runc 1.1.5 drops the name (unknown to libseccomp 2.5.4)")
        );
        // Known to 2.6.0; and eperm's own runs know every name.
        assert_eq!(note(runc("2.6.0"), "mseal", "EPERM"), None);
        assert_eq!(note(None, "mseal", "EPERM"), None);
    }

    #[test]
    fn the_deciding_line_names_runcs_stub() {
        let n = note(
            runc("2.6.0"),
            "setxattrat",
            "ENOSYS (Function not implemented)",
        )
        .unwrap();
        assert!(
            n.contains("runc 1.1.5 answers ENOSYS, not the default"),
            "{n}"
        );
        assert_eq!(note(runc("2.6.0"), "setxattrat", "EPERM"), None);
    }
}

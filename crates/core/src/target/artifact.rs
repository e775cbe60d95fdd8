//! What CRI runtimes refuse in a seccomp profile pulled as an OCI artifact
//! (Kubernetes KEP-6061: one layer of OCI runtime-spec seccomp JSON). A
//! profile from a registry may not bring its own supervisor, so runtimes turn
//! away `SCMP_ACT_NOTIFY` and the listener fields (`listenerPath`,
//! `listenerMetadata`), and by default profiles over 1 MiB or with more than
//! 128 `syscalls` entries (the limits SPO's `spoc push` warns about, from
//! kubernetes-sigs/security-profiles-operator#3421).

use crate::json::Span;
use crate::profile::{Action, Diagnostic, Profile, Severity};

/// The size limit runtimes apply by default, in bytes.
pub const MAX_BYTES: usize = 1 << 20;
/// The `syscalls` entries runtimes accept by default.
pub const MAX_RULES: usize = 128;

const CODE: &str = "oci-artifact";

/// Every part of `profile` a runtime refuses in an OCI-artifact profile.
pub fn lint(profile: &Profile) -> Vec<Diagnostic> {
    let seccomp = profile.seccomp_node();
    let error = |span: Span, path: String, message: String, hint: &str| {
        Diagnostic::new(Severity::Error, CODE, &profile.text, span, path, message).hint(hint)
    };
    let mut out = Vec::new();
    if profile.default_action == Action::Notify {
        let at = seccomp
            .get("defaultAction")
            .map_or(seccomp.span, |n| n.span);
        out.push(error(
            at,
            profile.path("defaultAction"),
            "SCMP_ACT_NOTIFY: a profile pulled as an OCI artifact may not hand calls to a supervisor".into(),
            "use SCMP_ACT_ERRNO or SCMP_ACT_LOG",
        ));
    }
    for rule in profile.rules.iter().filter(|r| r.action == Action::Notify) {
        out.push(error(
            rule.span,
            profile.path(&format!("syscalls[{}].action", rule.index)),
            "SCMP_ACT_NOTIFY: a profile pulled as an OCI artifact may not hand calls to a supervisor".into(),
            "use SCMP_ACT_ERRNO or SCMP_ACT_LOG, or ship the profile to the node another way",
        ));
    }
    for field in ["listenerPath", "listenerMetadata"] {
        if let Some(n) = seccomp.get(field) {
            out.push(error(
                n.span,
                profile.path(field),
                format!("{field}: runtimes refuse listener fields in a profile pulled as an OCI artifact"),
                "drop the field",
            ));
        }
    }
    if profile.text.len() > MAX_BYTES {
        out.push(error(
            seccomp.span,
            profile.path(""),
            format!(
                "the profile is {} bytes; runtimes refuse OCI-artifact profiles over {MAX_BYTES} (1 MiB)",
                profile.text.len()
            ),
            "merge rules with the same action (eperm tighten, or fewer conditional rules)",
        ));
    }
    if let Some(rule) = profile.rules.get(MAX_RULES) {
        out.push(error(
            rule.span,
            profile.path(&format!("syscalls[{MAX_RULES}]")),
            format!(
                "{} syscalls entries; runtimes refuse OCI-artifact profiles with more than {MAX_RULES}",
                profile.rules.len()
            ),
            "put names with the same action and conditions into one entry",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::profile::load_str;

    fn codes(text: &str) -> Vec<String> {
        let p = load_str("a.json", text.to_string()).unwrap();
        super::lint(&p).into_iter().map(|d| d.path).collect()
    }

    #[test]
    fn notify_and_listener_fields_are_refused() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}]}"#;
        assert_eq!(codes(text), ["syscalls[1].action", "listenerPath"]);
    }

    #[test]
    fn a_plain_profile_is_accepted() {
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
        assert!(codes(text).is_empty());
    }

    #[test]
    fn more_than_128_entries_are_refused_at_the_129th() {
        let rules: Vec<String> = (0..129)
            .map(|_| r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#.to_string())
            .collect();
        let text = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
            rules.join(",")
        );
        assert_eq!(codes(&text), ["syscalls[128]"]);
    }
}

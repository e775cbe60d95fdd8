//! Lints: what `eperm check` reports beyond what stops a profile from loading.
//!
//! Errors are things a runtime refuses; warnings are things that probably do
//! not do what the author meant, or that weaken the container, or that the
//! target's runtime silently reads otherwise (a name its libseccomp lacks);
//! infos explain what has no effect on this target.

use super::diag::{Diagnostic, Severity};
use super::model::{Action, Profile, Rule};
use super::resolve::{Effective, Refusal, Resolved, Skip, Verdict};
use crate::arch::Arch;
use crate::json::{Lines, Span};
use std::collections::BTreeMap;

const ENOSYS: u32 = 38;

pub fn lint(profile: &Profile, resolved: &Resolved) -> Vec<Diagnostic> {
    let mut l = Linter {
        profile,
        resolved,
        lines: Lines::new(&profile.text),
        out: Vec::new(),
    };
    l.rules();
    l.refusals();
    l.skipped();
    l.newer_than_kernel();
    l.overlaps();
    l.can_start_and_exit();
    l.arches();
    l.portable();
    l.clone3();
    l.risky();
    l.base_profile();
    l.out.sort_by_key(|d| (d.severity, d.line, d.column));
    l.out
}

struct Linter<'a> {
    profile: &'a Profile,
    resolved: &'a Resolved,
    /// A profile may have a diagnostic on each of its 200,000 rules.
    lines: Lines<'a>,
    out: Vec<Diagnostic>,
}

impl Linter<'_> {
    fn push(
        &mut self,
        severity: Severity,
        code: &'static str,
        span: Span,
        rest: &str,
        message: String,
        hint: Option<String>,
    ) {
        let path = self.profile.path(rest);
        let d = Diagnostic::at(severity, code, self.lines.of(span.start), path, message);
        self.out.push(d.maybe_hint(hint));
    }

    /// Pushes a diagnostic on the whole of rule `rule`.
    fn push_on_rule(
        &mut self,
        severity: Severity,
        code: &'static str,
        rule: usize,
        message: String,
        hint: Option<String>,
    ) {
        let span = self.rule(rule).span;
        self.push(
            severity,
            code,
            span,
            &format!("syscalls[{rule}]"),
            message,
            hint,
        );
    }

    /// Pushes a diagnostic on name `name_index` of rule `rule`.
    fn push_on_name(
        &mut self,
        severity: Severity,
        code: &'static str,
        rule: usize,
        name_index: usize,
        message: String,
        hint: Option<String>,
    ) {
        let path = self.name_path(rule, name_index);
        let span = self.name_span(rule, name_index);
        self.push(severity, code, span, &path, message, hint);
    }

    fn rule(&self, index: usize) -> &Rule {
        &self.profile.rules[index]
    }

    /// The JSON path of a rule's name: `syscalls[3].names[1]`, or `.name` in the old format.
    fn name_path(&self, rule: usize, name_index: usize) -> String {
        let node = self
            .profile
            .seccomp_node()
            .get("syscalls")
            .and_then(|s| s.items())
            .map(|items| &items[rule]);
        if node
            .and_then(|n| n.get("names"))
            .is_some_and(|n| !n.is_null())
        {
            format!("syscalls[{rule}].names[{name_index}]")
        } else {
            format!("syscalls[{rule}].name")
        }
    }

    fn name_span(&self, rule: usize, name_index: usize) -> Span {
        self.rule(rule).names[name_index].span
    }

    /// Checks on each rule alone, whatever the target.
    fn rules(&mut self) {
        let profile = self.profile;
        let mut notify_rules = false;
        for rule in &profile.rules {
            let at = format!("syscalls[{}]", rule.index);
            if rule.errno_ret.is_some() && !rule.action.takes_data() {
                let msg = format!("errnoRet has no effect with {}", rule.action.name());
                self.push(
                    Severity::Warning,
                    "ignored-errno",
                    rule.span,
                    &at,
                    msg,
                    Some("only SCMP_ACT_ERRNO and SCMP_ACT_TRACE use it".into()),
                );
            }
            if rule.action == Action::Notify {
                notify_rules = true;
                if let Some(j) = rule.names.iter().position(|n| n.name == "write") {
                    let hint = "runc must write to its parent after loading the filter; use another action for write";
                    self.push_on_name(
                        Severity::Error,
                        "notify-write",
                        rule.index,
                        j,
                        "runc refuses SCMP_ACT_NOTIFY for write".into(),
                        Some(hint.into()),
                    );
                }
            }
            for (j, name) in rule.names.iter().enumerate() {
                if rule.names[..j].iter().any(|n| n.name == name.name) {
                    self.push_on_name(
                        Severity::Warning,
                        "duplicate-name",
                        rule.index,
                        j,
                        format!("{:?} is listed twice in this rule", name.name),
                        None,
                    );
                }
            }
            for (field, filter) in [("includes", &rule.includes), ("excludes", &rule.excludes)] {
                for cap in filter.caps.iter().filter(|c| !crate::caps::is_known(c)) {
                    let msg = format!("{field}.caps names an unknown capability {cap:?}");
                    self.push(
                        Severity::Warning,
                        "unknown-cap",
                        rule.span,
                        &at,
                        msg,
                        Some(
                            "Docker compares names exactly, so this condition never matches".into(),
                        ),
                    );
                }
                for arch in filter.arches.iter().filter(|a| Arch::parse(a).is_none()) {
                    let msg = format!("{field}.arches names an unknown architecture {arch:?}");
                    self.push(Severity::Warning, "unknown-arch", rule.span, &at, msg, Some("Docker uses Go's names: amd64, arm64, 386, arm, ppc64le, s390x, riscv64 …".into()));
                }
            }
            if rule.args.len() > 1 {
                self.arg_semantics(rule, &at);
            }
        }
        if notify_rules && profile.listener_path.is_none() {
            let msg = "SCMP_ACT_NOTIFY rules but no listenerPath: nobody answers the notifications"
                .to_string();
            self.push(
                Severity::Warning,
                "notify-no-listener",
                profile.seccomp_node().span,
                "",
                msg,
                Some("set listenerPath to the seccomp agent's socket".into()),
            );
        }
    }

    /// Several conditions in one rule are read differently by different runtimes.
    fn arg_semantics(&mut self, rule: &Rule, at: &str) {
        let repeated = (0..6).any(|i| rule.args.iter().filter(|a| a.index == i).count() > 1);
        let (message, hint) = if repeated {
            (
                "conditions repeat an argument index, so runc adds each as its own rule: they are ORed, not ANDed".to_string(),
                "if you meant AND, a range needs both bounds in one rule, which runc cannot express for one index",
            )
        } else {
            let (anded, reading) =
                crate::target::distinct_conditions(self.resolved.target.runtime.as_ref());
            let hint = match anded {
                true => "if the profile must mean the same everywhere, use one condition per rule",
                false => "use one condition per rule, or target youki 0.7.0 or later",
            };
            (reading, hint)
        };
        self.push(
            Severity::Warning,
            "arg-semantics",
            rule.span,
            &format!("{at}.args"),
            message,
            Some(hint.into()),
        );
    }

    /// What resolution dropped, said once per rule.
    fn skipped(&mut self) {
        let resolved = self.resolved;
        let mut not_on_target: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
        for skip in &resolved.skipped {
            match skip {
                Skip::Filtered { rule, reason } => self.push_on_rule(
                    Severity::Info,
                    "not-for-target",
                    *rule,
                    format!("has no effect here: {reason}"),
                    None,
                ),
                Skip::EqualsDefault { rule } => self.push_on_rule(
                    Severity::Warning,
                    "equals-default",
                    *rule,
                    format!(
                        "does the same as the default action ({}), so runc skips it",
                        resolved.default.describe()
                    ),
                    Some("delete the rule, or give it a different action or errnoRet".into()),
                ),
                Skip::NoNames { rule } => self.push_on_rule(
                    Severity::Warning,
                    "no-names",
                    *rule,
                    "the rule names no syscalls".into(),
                    None,
                ),
                Skip::UnknownName {
                    rule,
                    name_index,
                    name,
                } => self.unknown_name(*rule, *name_index, name),
                Skip::NotOnTarget { rule, name, .. } => {
                    not_on_target.entry(*rule).or_default().push(name)
                }
                Skip::UnknownToRuntime {
                    rule,
                    name_index,
                    name,
                } => self.unknown_to_runtime(*rule, *name_index, name),
                Skip::EmptyName { rule, name_index } => self.empty_name(*rule, *name_index),
            }
        }
        let arches: Vec<&str> = resolved.arches.iter().map(|a| a.name()).collect();
        let arches = arches.join("/");
        for (rule, names) in not_on_target {
            let msg = format!(
                "{} not on {arches}, skipped here: {}",
                plural(names.len(), "name is", "names are"),
                names.join(", ")
            );
            self.push_on_rule(Severity::Info, "not-on-arch", rule, msg, None);
        }
    }

    /// A name that is no syscall on any arch.
    fn unknown_name(&mut self, rule: usize, name_index: usize, name: &str) {
        let all = Arch::ALL
            .iter()
            .flat_map(|a| a.syscalls().iter().map(|&(n, _)| n));
        let hint = crate::suggest::closest(name, all).map(|s| format!("did you mean {s:?}?"));
        let hint = hint.or_else(|| Some("runc skips names it cannot resolve; if this is a new syscall, eperm's tables may predate it".into()));
        self.push_on_name(
            Severity::Warning,
            "unknown-syscall",
            rule,
            name_index,
            format!("{name:?} is not a syscall on any architecture"),
            hint,
        );
    }

    /// An empty name, which runtimes other than runc skip (runc refuses it: an
    /// error from `refusals`).
    fn empty_name(&mut self, rule: usize, name_index: usize) {
        let Some(rt) = &self.resolved.target.runtime else {
            return;
        };
        if rt.refuses_empty_names() {
            return;
        }
        let message = format!(
            "an empty name: {} skips it, but runc refuses the profile",
            rt.named()
        );
        self.push_on_name(
            Severity::Warning,
            "empty-name",
            rule,
            name_index,
            message,
            Some("delete the empty name".into()),
        );
    }

    /// What the target's runtime refuses: it would not start the container.
    fn refusals(&mut self) {
        let Some(rt) = self.resolved.target.runtime.clone() else {
            return;
        };
        let node = self.profile.seccomp_node();
        for refusal in &self.resolved.refusals {
            let (span, path, message, hint) = match refusal {
                Refusal::ErrnoRange { rule, errno } => {
                    let (span, path) = match rule {
                        Some(r) => {
                            let n = self.profile.seccomp_node().get("syscalls").and_then(|s| s.items()).and_then(|i| i.get(*r)).and_then(|n| n.get("errnoRet"));
                            (n.map_or(self.rule(*r).span, |n| n.span), format!("syscalls[{r}].errnoRet"))
                        }
                        None => (
                            node.get("defaultErrnoRet").unwrap_or(node).span,
                            "defaultErrnoRet".to_string(),
                        ),
                    };
                    (
                        span,
                        path,
                        format!(
                            "errno {errno} is out of libseccomp's range: libseccomp {} refuses SCMP_ACT_ERRNO({errno}), so {} fails to start the container",
                            rt.libseccomp,
                            rt.named()
                        ),
                        format!("use an errno below {} (1 is EPERM, 38 ENOSYS)", crate::target::ERRNO_LIMIT),
                    )
                }
                Refusal::EmptyName { rule, name_index } => (
                    self.name_span(*rule, *name_index),
                    self.name_path(*rule, *name_index),
                    format!("an empty name: {} refuses the profile (\"empty string is not a valid syscall\")", rt.named()),
                    "delete the empty name".to_string(),
                ),
                Refusal::Arch { arch } => {
                    let (span, path) = match node.get("architectures") {
                        Some(n) => (n.span, "architectures".to_string()),
                        None => (node.span, String::new()),
                    };
                    (
                        span,
                        path,
                        format!(
                            "libseccomp {} has no {}: {} refuses the profile",
                            rt.libseccomp,
                            arch.scmp_name(),
                            rt.named()
                        ),
                        "libseccomp 2.6.0 added loongarch64; a runtime linking it can load this"
                            .to_string(),
                    )
                }
                Refusal::ErrnoWithoutData { rule } => {
                    let (span, path, action) = match rule {
                        Some(r) => (self.rule(*r).span, format!("syscalls[{r}].errnoRet"), self.rule(*r).action),
                        None => (
                            node.get("defaultErrnoRet").unwrap_or(node).span,
                            "defaultErrnoRet".to_string(),
                            self.profile.default_action,
                        ),
                    };
                    (
                        span,
                        path,
                        format!("{} refuses an errno beside {} (\"errno value specified for action\")", rt.named(), action.name()),
                        "delete the errno, or use SCMP_ACT_ERRNO".to_string(),
                    )
                }
            };
            let rest = path.clone();
            let d = Diagnostic::at(
                Severity::Error,
                "runtime-refuses",
                self.lines.of(span.start),
                self.profile.path(&rest),
                message,
            );
            self.out.push(d.hint(hint));
        }
    }

    /// A name the runtime's libseccomp lacks: it is dropped, and the call gets
    /// what the runtime gives unnamed calls.
    fn unknown_to_runtime(&mut self, rule: usize, name_index: usize, name: &str) {
        let Some(rt) = &self.resolved.target.runtime else {
            return;
        };
        let gets = self.unnamed_verdict(name);
        let meant = Verdict::of(self.rule(rule).action, self.rule(rule).errno_ret);
        let severity = if gets == meant {
            Severity::Info
        } else {
            Severity::Warning
        };
        let message = format!(
            "{name}: unknown to libseccomp {} ({}): {} drops it; the container gets {}",
            rt.libseccomp,
            rt.named(),
            rt.kind.name(),
            short(gets)
        );
        let newest = crate::target::Runtime::newest_libseccomp();
        let hint = Some(format!(
            "a runtime with a newer libseccomp (it is known since {}) gives the rule's {}",
            first_knowing(name).map_or(newest.to_string(), |v| v.to_string()),
            short(meant)
        ));
        self.push_on_name(
            severity,
            "unknown-to-runtime",
            rule,
            name_index,
            message,
            hint,
        );
    }

    /// What the runtime gives a call of the native arch that no rule names:
    /// runc's stub's ENOSYS above its limit, else the default action.
    fn unnamed_verdict(&self, name: &str) -> Verdict {
        let arch = self.resolved.target.arch;
        let stubbed = arch.syscall_nr(name).is_some_and(|nr| {
            self.resolved
                .enosys_above
                .iter()
                .any(|&(a, max)| a == arch && nr > max)
        });
        if stubbed {
            Verdict {
                action: Action::Errno,
                data: ENOSYS,
            }
        } else {
            self.resolved.default
        }
    }

    /// Allowed syscalls the target's kernel is too old to have: the kernel
    /// answers ENOSYS whatever the profile says.
    fn newer_than_kernel(&mut self) {
        let Some(kernel) = self.resolved.target.kernel else {
            return;
        };
        let native = self.resolved.target.arch;
        let mut seen = std::collections::HashSet::new();
        let rules: Vec<&Effective> = self
            .resolved
            .rules
            .iter()
            .filter(|e| e.arch == native && e.verdict.action == Action::Allow)
            .collect();
        for e in rules {
            let Some((major, minor)) = crate::target::kernel_added(&e.name) else {
                continue;
            };
            let needs = super::KernelVersion {
                major: major.into(),
                minor: minor.into(),
            };
            if needs <= kernel || !seen.insert(e.name.clone()) {
                continue;
            }
            self.push_on_name(Severity::Warning, "newer-than-kernel", e.rule, e.name_index, format!("{} came with Linux {needs}, the kernel is {kernel}: the call fails with ENOSYS whatever the profile allows", e.name), Some("programs fall back on ENOSYS; --kernel X.Y checks another kernel".into()));
        }
    }

    /// Rules that can never decide, because another rule for the same syscall always does.
    fn overlaps(&mut self) {
        let native = self.resolved.target.arch;
        let mut by_nr: BTreeMap<u32, Vec<&Effective>> = BTreeMap::new();
        for e in self.resolved.rules.iter().filter(|e| e.arch == native) {
            by_nr.entry(e.nr).or_default().push(e);
        }
        for rules in by_nr.values() {
            let Some(full) = rules.iter().find(|e| e.conds.is_empty()) else {
                continue;
            };
            // A name listed twice in one rule is reported as duplicate-name already.
            for e in rules
                .iter()
                .filter(|e| !std::ptr::eq(**e, *full) && e.rule != full.rule)
            {
                let (code, message) = match (e.conds.is_empty(), e.verdict == full.verdict) {
                    (true, true) => ("duplicate", format!("{} is already {} by syscalls[{}]", e.name, verb(full.verdict), full.rule)),
                    (true, false) => (
                        "conflict",
                        format!("{} is also given {} unconditionally by syscalls[{}]: only one can win", e.name, full.verdict.describe(), full.rule),
                    ),
                    (false, _) => (
                        "shadowed",
                        format!("these conditions never decide: syscalls[{}] gives {} {} unconditionally", full.rule, e.name, full.verdict.describe()),
                    ),
                };
                let hint = Some(format!(
                    "see `eperm explain PROFILE {}` for the verdict",
                    e.name
                ));
                self.push_on_name(Severity::Warning, code, e.rule, e.name_index, message, hint);
            }
        }
    }

    /// The verdict for a syscall without arguments on the native arch, ignoring conditions.
    fn unconditional_verdict(&self, name: &str) -> Option<Verdict> {
        let arch = self.resolved.target.arch;
        let nr = arch.syscall_nr(name)?;
        let rules: Vec<_> = self.resolved.rules_for(arch, nr).collect();
        Some(
            rules
                .iter()
                .find(|e| e.conds.is_empty())
                .map_or(self.resolved.default, |e| e.verdict),
        )
    }

    fn allowed(&self, name: &str) -> bool {
        let arch = self.resolved.target.arch;
        self.unconditional_verdict(name)
            .is_some_and(|v| v.action == Action::Allow)
            || arch.syscall_nr(name).is_some_and(|nr| {
                self.resolved
                    .rules_for(arch, nr)
                    .any(|e| e.verdict.action == Action::Allow)
            })
    }

    fn can_start_and_exit(&mut self) {
        let span = self.profile.seccomp_node().span;
        if !self.allowed("execve") && !self.allowed("execveat") {
            let msg =
                "neither execve nor execveat is allowed: the runtime cannot start the workload"
                    .to_string();
            self.push(
                Severity::Warning,
                "no-exec",
                span,
                "",
                msg,
                Some("eperm edit PROFILE --allow execve".into()),
            );
        }
        if !self.allowed("exit_group") {
            let msg = "exit_group is not allowed: processes cannot exit normally".to_string();
            self.push(
                Severity::Warning,
                "no-exit",
                span,
                "",
                msg,
                Some("eperm edit PROFILE --allow exit_group,exit".into()),
            );
        }
    }

    /// A 64-bit host also runs 32-bit code; syscalls from an arch the filter lacks are killed.
    /// SPO unions a SeccompProfile's `baseProfileName` into it on the cluster:
    /// verdicts worked out here leave the base's rules out.
    fn base_profile(&mut self) {
        let Some(node) = self.profile.seccomp_node().get("baseProfileName") else {
            return;
        };
        let Some(base) = node.as_str().filter(|b| !b.is_empty()) else {
            return;
        };
        let msg = format!(
            "the cluster unions the base profile {} into this one: these verdicts leave its rules out",
            crate::json::quote(base)
        );
        let hint = "save the base as a file and check the union: eperm merge -o union.yaml BASE.yaml THIS.yaml";
        self.push(
            Severity::Warning,
            "base-profile",
            node.span,
            "baseProfileName",
            msg,
            Some(hint.into()),
        );
    }

    fn arches(&mut self) {
        let native = self.resolved.target.arch;
        let expected: &[Arch] = match native {
            Arch::X86_64 => &[Arch::X86, Arch::X32],
            Arch::Aarch64 => &[Arch::Arm],
            _ => &[],
        };
        let missing: Vec<&str> = expected
            .iter()
            .filter(|a| !self.resolved.arches.contains(a))
            .map(|a| a.scmp_name())
            .collect();
        if missing.is_empty() || self.profile.default_action == Action::Allow {
            return;
        }
        let node = self.profile.seccomp_node();
        let (span, rest) = match node.get("architectures") {
            Some(n) => (n.span, "architectures"),
            None => (node.span, ""),
        };
        let msg = format!("on {native} the filter will not cover {}: such syscalls get the bad-arch action and the process is killed", missing.join(", "));
        let hint = "add them (or an archMap like Docker's) if 32-bit programs must run; leave them out to forbid 32-bit code";
        self.push(
            Severity::Warning,
            "missing-sub-arch",
            span,
            rest,
            msg,
            Some(hint.into()),
        );
    }

    /// A verdict one covered arch's programs would miss: see [`super::portable`].
    fn portable(&mut self) {
        for gap in super::portable::gaps(self.profile, self.resolved) {
            let arches = names(&gap.arches);
            let (name, other) = (&gap.name, gap.counterpart);
            let place = if gap.missing {
                format!(
                    "{name} does not exist on {arches}, where programs call {other} in its place"
                )
            } else {
                let mut lacking: Vec<Arch> = self
                    .resolved
                    .arches
                    .iter()
                    .copied()
                    .filter(|a| a.syscall_nr(other).is_none())
                    .collect();
                lacking.sort();
                format!(
                    "on {arches} programs call {other} where {} programs call {name}",
                    names(&lacking)
                )
            };
            let message = format!("{place}: {other} is not {} like {name}", verb(gap.verdict));
            let native = self.resolved.target.arch;
            let named = self.profile.architectures.contains(&native)
                || self.profile.arch_map.iter().any(|m| m.arch == native);
            let flag = if named {
                String::new()
            } else {
                format!(" --arch {native}")
            };
            let hint = match gap.conds {
                Ok(_) => format!("eperm edit PROFILE --portable{flag} (adds {other} with this rule's action and conditions)"),
                Err(i) => format!("args[{i}] of {name} has no place in {other}: give {other} a rule of its own"),
            };
            self.push_on_name(
                Severity::Warning,
                "not-portable",
                gap.rule,
                gap.name_index,
                message,
                Some(hint),
            );
        }
    }

    /// glibc falls back from clone3 to clone only on ENOSYS.
    fn clone3(&mut self) {
        let Some(verdict) = self.unconditional_verdict("clone3") else {
            return;
        };
        if verdict.action != Action::Errno || verdict.data == ENOSYS || !self.allowed("clone") {
            return;
        }
        let arch = self.resolved.target.arch;
        let rule = arch.syscall_nr("clone3").and_then(|nr| {
            self.resolved
                .rules_for(arch, nr)
                .find(|e| e.conds.is_empty())
        });
        let (span, path) = match rule {
            Some(e) => (
                self.name_span(e.rule, e.name_index),
                self.name_path(e.rule, e.name_index),
            ),
            None => {
                let node = self.profile.seccomp_node();
                (
                    node.get("defaultAction").unwrap_or(node).span,
                    "defaultAction".to_string(),
                )
            }
        };
        let msg = format!("clone3 fails with {} while clone is allowed: glibc 2.34+ falls back to clone only on ENOSYS, so threads and fork fail", crate::errno::describe(verdict.data));
        let hint = "deny clone3 with ENOSYS: eperm edit PROFILE --deny clone3:ENOSYS";
        self.push(
            Severity::Warning,
            "clone3-errno",
            span,
            &path,
            msg,
            Some(hint.into()),
        );
    }

    /// Risky allowances; those Docker's default makes too (for the same target) are notes.
    fn risky(&mut self) {
        let native = self.resolved.target.arch;
        let docker = docker_allows(&self.resolved.target);
        let mut seen = std::collections::HashSet::new();
        let allowed = self
            .resolved
            .rules
            .iter()
            .filter(|e| e.arch == native && e.verdict.action == Action::Allow);
        for e in allowed {
            let Some(why) = super::risk::risk(&e.name) else {
                continue;
            };
            if !seen.insert(&e.name) {
                continue;
            }
            let when = if e.conds.is_empty() {
                "allows"
            } else {
                "allows (with argument conditions)"
            };
            let (severity, also) = match docker.contains(&e.name) {
                true => (Severity::Info, "; Docker's default allows it too"),
                false => (Severity::Warning, ""),
            };
            let message = format!("{when} {}: {why}{also}", e.name);
            self.push_on_name(severity, "risky", e.rule, e.name_index, message, None);
        }
    }
}

/// Names the embedded default profile allows on `target`'s native arch.
fn docker_allows(target: &super::Target) -> std::collections::HashSet<String> {
    let Ok(default) = super::load_str("default.json", super::DEFAULT_PROFILE.to_string()) else {
        return Default::default();
    };
    let resolved = super::resolve(&default, target);
    let allowed = resolved
        .rules
        .into_iter()
        .filter(|e| e.arch == target.arch && e.verdict.action == Action::Allow);
    allowed.map(|e| e.name).collect()
}

/// `EPERM`, `ENOSYS`, `SCMP_ACT_KILL_PROCESS`.
fn short(v: Verdict) -> String {
    match v.action {
        Action::Errno => crate::errno::describe(v.data),
        _ => v.action.name().to_string(),
    }
}

/// The oldest libseccomp release whose table has `name`.
fn first_knowing(name: &str) -> Option<crate::target::Version> {
    crate::target::Runtime::known_libseccomp()
        .into_iter()
        .find(|&v| {
            crate::target::Runtime {
                libseccomp: v,
                ..crate::target::Runtime::newest(crate::target::RuntimeKind::Runc)
            }
            .knows(name)
        })
}

fn verb(v: Verdict) -> String {
    match v.action {
        Action::Allow => "allowed".into(),
        _ => format!("given {}", v.describe()),
    }
}

/// `aarch64`, `x86_64+x86`.
fn names(arches: &[Arch]) -> String {
    let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
    names.join("+")
}

pub fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::CapSet;
    use crate::profile::{load_str, resolve, KernelVersion, Target};
    use crate::target::{Runtime, RuntimeKind};

    /// eperm's own loader on x86_64 with every capability, any kernel.
    fn target() -> Target {
        Target {
            arch: Arch::X86_64,
            caps: CapSet::all(),
            kernel: None,
            runtime: None,
        }
    }

    /// A Docker profile that lints clean, with `rules` added after its one rule
    /// (which allows what every workload needs), `extra` top-level members, and
    /// `arches` as its architectures.
    fn profile(arches: &str, extra: &str, rules: &str) -> String {
        let rules = if rules.is_empty() {
            String::new()
        } else {
            format!(",\n{rules}")
        };
        format!(
            "{{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"architectures\": [{arches}],{extra}\n\
             \"syscalls\": [{{\"names\": [\"execve\", \"exit_group\"], \"action\": \"SCMP_ACT_ALLOW\"}}{rules}]}}"
        )
    }

    const X86: &str = r#""SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32""#;

    fn lints_on(text: &str, target: &Target) -> Vec<Diagnostic> {
        let p = load_str("t.json", text.to_string()).unwrap_or_else(|e| panic!("{e}"));
        lint(&p, &resolve(&p, target))
    }

    /// The one diagnostic `text` gets on `target`, as (severity, code, path, message).
    fn only_on(text: &str, target: &Target) -> (Severity, &'static str, String, String) {
        let all = lints_on(text, target);
        assert_eq!(all.len(), 1, "{all:#?}");
        let d = &all[0];
        (d.severity, d.code, d.path.clone(), d.message.clone())
    }

    fn only(rules: &str) -> (Severity, &'static str, String, String) {
        only_on(&profile(X86, "", rules), &target())
    }

    fn warning(
        code: &'static str,
        path: &str,
        message: &str,
    ) -> (Severity, &'static str, String, String) {
        (Severity::Warning, code, path.into(), message.into())
    }

    #[test]
    fn a_profile_with_what_every_workload_needs_lints_clean() {
        assert_eq!(lints_on(&profile(X86, "", ""), &target()), []);
    }

    #[test]
    fn ignored_errno() {
        assert_eq!(
            only(r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "errnoRet": 1}"#),
            warning(
                "ignored-errno",
                "syscalls[1]",
                "errnoRet has no effect with SCMP_ACT_ALLOW"
            )
        );
    }

    #[test]
    fn notify_write() {
        let text = profile(
            X86,
            r#" "listenerPath": "/run/agent.sock","#,
            r#"{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}"#,
        );
        assert_eq!(
            only_on(&text, &target()),
            (
                Severity::Error,
                "notify-write",
                "syscalls[1].names[0]".into(),
                "runc refuses SCMP_ACT_NOTIFY for write".into()
            )
        );
    }

    #[test]
    fn notify_no_listener() {
        assert_eq!(
            only(r#"{"names": ["read"], "action": "SCMP_ACT_NOTIFY"}"#),
            warning(
                "notify-no-listener",
                "",
                "SCMP_ACT_NOTIFY rules but no listenerPath: nobody answers the notifications"
            )
        );
    }

    #[test]
    fn duplicate_name() {
        assert_eq!(
            only(r#"{"names": ["read", "read"], "action": "SCMP_ACT_ALLOW"}"#),
            warning(
                "duplicate-name",
                "syscalls[1].names[1]",
                "\"read\" is listed twice in this rule"
            )
        );
    }

    #[test]
    fn unknown_cap() {
        // In excludes, the unknown name never excludes: the rule still applies.
        assert_eq!(
            only(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_NOPE"]}}"#
            ),
            warning(
                "unknown-cap",
                "syscalls[1]",
                "excludes.caps names an unknown capability \"CAP_NOPE\""
            )
        );
    }

    #[test]
    fn unknown_arch() {
        assert_eq!(
            only(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "excludes": {"arches": ["nope"]}}"#
            ),
            warning(
                "unknown-arch",
                "syscalls[1]",
                "excludes.arches names an unknown architecture \"nope\""
            )
        );
    }

    #[test]
    fn arg_semantics() {
        assert_eq!(
            only(
                r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
                    {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                    {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}"#
            ),
            warning(
                "arg-semantics",
                "syscalls[1].args",
                "runc, crun, youki 0.7.0+ and eperm AND conditions on distinct arguments, but youki before 0.7.0 ORs every condition of a rule"
            )
        );
    }

    /// The warning says what the target runtime does, in the words every
    /// command uses (`target::distinct_conditions`).
    #[test]
    fn arg_semantics_follow_the_target_runtime() {
        let rule = r#"{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [
            {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
            {"index": 1, "value": 0, "op": "SCMP_CMP_EQ"}]}"#;
        let on = |kind, version: &str| {
            let mut target = target();
            let mut runtime = crate::target::Runtime::newest(kind);
            runtime.version = crate::target::Version::parse(version);
            target.runtime = Some(runtime);
            let all = lints_on(&profile(X86, "", rule), &target);
            let found = all.iter().find(|d| d.code == "arg-semantics");
            found.expect("warned").message.clone()
        };
        let old = on(crate::target::RuntimeKind::Youki, "0.6.0");
        assert!(
            old.starts_with("youki before 0.7.0 (youki 0.6.0, the target) adds each condition"),
            "{old}"
        );
        let runc = on(crate::target::RuntimeKind::Runc, "1.1.5");
        assert!(
            runc.starts_with("runc 1.1.5 (the target) ANDs conditions"),
            "{runc}"
        );
        assert!(!runc.contains("the target) adds"), "{runc}");
    }

    #[test]
    fn not_for_target() {
        let (severity, code, path, message) = only(
            r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}}"#,
        );
        assert_eq!(
            (severity, code, path.as_str()),
            (Severity::Info, "not-for-target", "syscalls[1]")
        );
        assert_eq!(
            message,
            "has no effect here: includes.arches does not list amd64"
        );
    }

    #[test]
    fn equals_default() {
        assert_eq!(
            only(r#"{"names": ["read"], "action": "SCMP_ACT_ERRNO"}"#),
            warning(
                "equals-default",
                "syscalls[1]",
                "does the same as the default action (SCMP_ACT_ERRNO(EPERM)), so runc skips it"
            )
        );
    }

    #[test]
    fn no_names() {
        assert_eq!(
            only(r#"{"names": [], "action": "SCMP_ACT_ALLOW"}"#),
            warning("no-names", "syscalls[1]", "the rule names no syscalls")
        );
    }

    #[test]
    fn unknown_syscall() {
        assert_eq!(
            only(r#"{"names": ["rebot"], "action": "SCMP_ACT_ALLOW"}"#),
            warning(
                "unknown-syscall",
                "syscalls[1].names[0]",
                "\"rebot\" is not a syscall on any architecture"
            )
        );
    }

    #[test]
    fn not_on_arch() {
        assert_eq!(
            only(r#"{"names": ["arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW"}"#),
            (
                Severity::Info,
                "not-on-arch",
                "syscalls[1]".into(),
                "1 name is not on x86_64/x86/x32, skipped here: arm_fadvise64_64".into()
            )
        );
    }

    /// `rt` as the target's runtime.
    fn with_runtime(rt: Runtime) -> Target {
        Target {
            runtime: Some(rt),
            ..target()
        }
    }

    /// A rule listing an empty name, which runc refuses and crun skips.
    const EMPTY_NAME_RULE: &str = r#"{"names": ["read", ""], "action": "SCMP_ACT_ALLOW"}"#;

    #[test]
    fn empty_name() {
        // crun skips an empty name; runc refuses it (runtime-refuses below).
        let crun = Runtime::newest(RuntimeKind::Crun);
        let text = profile(X86, "", EMPTY_NAME_RULE);
        assert_eq!(
            only_on(&text, &with_runtime(crun.clone())),
            warning(
                "empty-name",
                "syscalls[1].names[1]",
                &format!(
                    "an empty name: {} skips it, but runc refuses the profile",
                    crun.named()
                )
            )
        );
    }

    #[test]
    fn runtime_refuses() {
        let runc = Runtime::newest(RuntimeKind::Runc);
        let text = profile(X86, "", EMPTY_NAME_RULE);
        assert_eq!(
            only_on(&text, &with_runtime(runc.clone())),
            (
                Severity::Error,
                "runtime-refuses",
                "syscalls[1].names[1]".into(),
                format!(
                    "an empty name: {} refuses the profile (\"empty string is not a valid syscall\")",
                    runc.named()
                )
            )
        );
    }

    #[test]
    fn unknown_to_runtime() {
        // crun (no -ENOSYS stub) on the oldest libseccomp eperm knows, and a
        // syscall that release lacks.
        let old = Runtime {
            libseccomp: Runtime::known_libseccomp()[0],
            ..Runtime::newest(RuntimeKind::Crun)
        };
        let name = Arch::X86_64
            .syscalls()
            .iter()
            .map(|&(n, _)| n)
            .find(|&n| {
                !old.knows(n)
                    && Runtime::newest(RuntimeKind::Crun).knows(n)
                    && super::super::risk::risk(n).is_none()
            })
            .expect("a syscall the oldest libseccomp lacks");
        let text = profile(
            X86,
            "",
            &format!(r#"{{"names": ["{name}"], "action": "SCMP_ACT_ALLOW"}}"#),
        );
        assert_eq!(
            only_on(&text, &with_runtime(old.clone())),
            warning(
                "unknown-to-runtime",
                "syscalls[1].names[0]",
                &format!(
                    "{name}: unknown to libseccomp {} ({}): crun drops it; the container gets EPERM",
                    old.libseccomp,
                    old.named()
                )
            )
        );
    }

    #[test]
    fn newer_than_kernel() {
        let old_kernel = Target {
            kernel: Some(KernelVersion { major: 5, minor: 2 }),
            ..target()
        };
        let text = profile(
            X86,
            "",
            r#"{"names": ["pidfd_open"], "action": "SCMP_ACT_ALLOW"}"#,
        );
        assert_eq!(
            only_on(&text, &old_kernel),
            warning(
                "newer-than-kernel",
                "syscalls[1].names[0]",
                "pidfd_open came with Linux 5.3, the kernel is 5.2: the call fails with ENOSYS whatever the profile allows"
            )
        );
    }

    #[test]
    fn duplicate() {
        assert_eq!(
            only(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["read"], "action": "SCMP_ACT_ALLOW"}"#
            ),
            warning(
                "duplicate",
                "syscalls[2].names[0]",
                "read is already allowed by syscalls[1]"
            )
        );
    }

    #[test]
    fn conflict() {
        assert_eq!(
            only(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#
            ),
            warning(
                "conflict",
                "syscalls[2].names[0]",
                "read is also given SCMP_ACT_ALLOW unconditionally by syscalls[1]: only one can win"
            )
        );
    }

    #[test]
    fn shadowed() {
        assert_eq!(
            only(
                r#"{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                   {"names": ["read"], "action": "SCMP_ACT_LOG",
                    "args": [{"index": 0, "value": 3, "op": "SCMP_CMP_EQ"}]}"#
            ),
            warning(
                "shadowed",
                "syscalls[2].names[0]",
                "these conditions never decide: syscalls[1] gives read SCMP_ACT_ALLOW unconditionally"
            )
        );
    }

    /// The only finding on the x86 profile of these tests with `dropped` cut out;
    /// fails the test unless `dropped` was there to cut.
    fn only_without(dropped: &str) -> (Severity, &'static str, String, String) {
        let whole = profile(X86, "", "");
        let text = whole.replace(dropped, "");
        assert_ne!(text, whole, "{dropped} is not in the profile");
        only_on(&text, &target())
    }

    #[test]
    fn no_exec() {
        let message =
            "neither execve nor execveat is allowed: the runtime cannot start the workload";
        assert_eq!(
            only_without("\"execve\", "),
            warning("no-exec", "", message)
        );
    }

    #[test]
    fn no_exit() {
        let message = "exit_group is not allowed: processes cannot exit normally";
        assert_eq!(
            only_without(", \"exit_group\""),
            warning("no-exit", "", message)
        );
    }

    #[test]
    fn missing_sub_arch() {
        let text = profile(r#""SCMP_ARCH_X86_64""#, "", "");
        assert_eq!(
            only_on(&text, &target()),
            warning(
                "missing-sub-arch",
                "architectures",
                "on x86_64 the filter will not cover SCMP_ARCH_X86, SCMP_ARCH_X32: such syscalls get the bad-arch action and the process is killed"
            )
        );
    }

    #[test]
    fn not_portable() {
        let both = r#""SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64""#;
        let text = profile(
            both,
            "",
            r#"{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"}"#,
        );
        let mut t = target();
        // Not the missing-sub-arch warning of either native arch.
        t.arch = Arch::Riscv64;
        let found: Vec<_> = lints_on(&text, &t)
            .into_iter()
            .map(|d| (d.code, d.path, d.message))
            .collect();
        assert_eq!(
            found,
            [(
                "not-portable",
                "syscalls[1].names[0]".to_string(),
                "mkdir does not exist on aarch64+riscv64, where programs call mkdirat in its place: mkdirat is not allowed like mkdir".to_string()
            )]
        );
        let text = profile(
            both,
            "",
            r#"{"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}"#,
        );
        assert_eq!(
            only_on(&text, &t),
            warning(
                "not-portable",
                "syscalls[1].names[0]",
                "on x86_64 programs call mkdir where aarch64+riscv64 programs call mkdirat: mkdir is not given SCMP_ACT_ERRNO(ENOSYS) like mkdirat"
            )
        );
    }

    #[test]
    fn clone3_errno() {
        // clone allowed, clone3 left to the default EPERM.
        assert_eq!(
            only(r#"{"names": ["clone"], "action": "SCMP_ACT_ALLOW"}"#),
            warning(
                "clone3-errno",
                "defaultAction",
                &format!(
                    "clone3 fails with {} while clone is allowed: glibc 2.34+ falls back to clone only on ENOSYS, so threads and fork fail",
                    crate::errno::describe(1)
                )
            )
        );
    }

    #[test]
    fn risky() {
        assert_eq!(
            only(r#"{"names": ["kexec_load"], "action": "SCMP_ACT_ALLOW"}"#),
            warning(
                "risky",
                "syscalls[1].names[0]",
                "allows kexec_load: replaces the running kernel"
            )
        );
    }

    #[test]
    fn base_profile() {
        let text = "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\n\
                    kind: SeccompProfile\n\
                    metadata:\n  name: t\n\
                    spec:\n  baseProfileName: runc-v1.1.5\n  defaultAction: SCMP_ACT_ERRNO\n\
                    \x20 architectures: [SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32]\n\
                    \x20 syscalls:\n  - names: [execve, exit_group]\n    action: SCMP_ACT_ALLOW\n";
        let p = load_str("t.yaml", text.to_string()).unwrap_or_else(|e| panic!("{e}"));
        let all = lint(&p, &resolve(&p, &target()));
        assert_eq!(all.len(), 1, "{all:#?}");
        assert_eq!(
            (all[0].severity, all[0].code, all[0].path.as_str(), all[0].message.as_str()),
            (
                Severity::Warning,
                "base-profile",
                "spec.baseProfileName",
                "the cluster unions the base profile \"runc-v1.1.5\" into this one: these verdicts leave its rules out"
            )
        );
    }

    /// Every code `lint` can emit has its test above: a new code needs one.
    #[test]
    fn every_code_has_a_test() {
        let source = include_str!("lint.rs");
        let body = &source[..source.find("#[cfg(test)]").unwrap()];
        // A code is the literal right after the severity, in `push` and
        // `Diagnostic::at`, or first in an arm's `(code, message)`.
        let mut codes: Vec<&str> = Vec::new();
        for (i, _) in body.match_indices('"') {
            let before = body[..i].trim_end();
            let after_severity = [
                "Severity::Warning,",
                "Severity::Info,",
                "Severity::Error,",
                "severity,",
            ]
            .iter()
            .any(|s| before.ends_with(s));
            if after_severity || before.ends_with("=> (") {
                let rest = &body[i + 1..];
                codes.push(&rest[..rest.find('"').unwrap()]);
            }
        }
        // (Not the severity of `risky`'s arms, followed by a message.)
        codes.retain(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        codes.sort_unstable();
        codes.dedup();
        assert!(codes.len() >= 25, "the codes were not found: {codes:?}");
        let tests = &source[source.find("#[cfg(test)]").unwrap()..];
        let untested: Vec<&&str> = codes
            .iter()
            .filter(|c| !tests.contains(&format!("fn {}()", c.replace('-', "_"))))
            .collect();
        assert_eq!(untested, Vec::<&&str>::new(), "codes: {codes:?}");
    }
}

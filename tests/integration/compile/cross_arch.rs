//! aarch64 and arm verdicts against libseccomp's own filters for those arches
//! (SCMP_ARCH_AARCH64, SCMP_ARCH_ARM, without this host's x86_64 unless asked),
//! both programs run in our emulator on every syscall number of each arch.
//!
//! Nothing is left out quietly: a name the installed libseccomp does not know,
//! a name it knows but an arch lacks, a rule it refuses and a program it
//! generates wrongly are each printed as a finding, and each must be one that
//! eperm's target (the installed libseccomp, as crun drives it: no stub)
//! predicts the same way.

use super::differential::{each_probe, exported_program, scmp_action, scmp_arch, scmp_cmp};
use super::{load, FIXTURES, REFUSED};
use crate::target::differential::{installed, installed_build};
use eperm::arch::Arch;
use eperm::compile::{self, bpf, Mode, SeccompData, SockFilter};
use eperm::profile::resolve::{condition_sets, filtered_out};
use eperm::profile::{Profile, Resolved, Skip, Target, Verdict};
use eperm::target::{Runtime, RuntimeKind};
use libseccomp::{ScmpArch, ScmpFilterContext, ScmpSyscall};

const SETS: &[&[Arch]] = &[
    &[Arch::Aarch64],
    &[Arch::Arm],
    &[Arch::Aarch64, Arch::Arm],
    &[Arch::Aarch64, Arch::X86_64],
];

/// crun linking the installed libseccomp: its names, and no runc stub.
fn crun_here() -> Runtime {
    Runtime {
        kind: RuntimeKind::Crun,
        version: None,
        libseccomp: installed(),
        build: installed_build(),
        here: false,
    }
}

fn target_for(set: &[Arch]) -> Target {
    Target {
        runtime: Some(crun_here()),
        ..super::target(set[0])
    }
}

/// `profile` with exactly the arches `set`, as the OCI spec lists them.
fn declared(profile: &Profile, set: &[Arch]) -> Profile {
    let mut p = profile.clone();
    p.architectures = set.to_vec();
    p.arch_map.clear();
    p
}

#[derive(Default)]
struct Report {
    findings: Vec<String>,
    mismatches: Vec<String>,
    checked: usize,
    /// Names of a rule that one arch of the set lacks (they do nothing there).
    not_on_arch: usize,
}

/// libseccomp's filter for `p` on its arches, every name resolved by
/// libseccomp; `None` when it refuses a rule (the runtime then fails).
fn libseccomp_filter(
    p: &Profile,
    name: &str,
    ours: &Resolved,
    report: &mut Report,
) -> Option<Vec<SockFilter>> {
    let t = &ours.target;
    let default = Verdict::of(p.default_action, p.default_errno);
    let mut f = ScmpFilterContext::new(scmp_action(default)).unwrap();
    for &a in &p.architectures {
        if !f.is_arch_present(scmp_arch(a)).unwrap() {
            f.add_arch(scmp_arch(a)).unwrap();
        }
    }
    if !p.architectures.contains(&Arch::native()) {
        f.remove_arch(ScmpArch::native()).unwrap();
    }
    let set: Vec<&str> = p.architectures.iter().map(|a| a.name()).collect();
    let set = set.join("+");
    for rule in p.rules.iter().filter(|r| filtered_out(r, t).is_none()) {
        let v = Verdict::of(rule.action, rule.errno_ret);
        if v == default {
            continue;
        }
        for n in &rule.names {
            let Ok(sys) = ScmpSyscall::from_name(&n.name) else {
                // eperm must have no rule for it either, whatever its reason.
                let dropped = !ours.rules.iter().any(|e| e.name == n.name);
                let unknown = ours
                    .skipped
                    .iter()
                    .any(|s| matches!(s, Skip::UnknownToRuntime { name: x, .. } if *x == n.name));
                let eperm = match (dropped, unknown) {
                    (true, true) => "unknown to the target's libseccomp too",
                    (true, false) => "no rule either: not a syscall of these arches",
                    (false, _) => "keeps it",
                };
                report.findings.push(format!(
                    "{name} {set}: libseccomp {} does not know {}: not in its filter; eperm: {eperm}",
                    installed(),
                    n.name,
                ));
                if !dropped {
                    report.mismatches.push(format!(
                        "{name} {set}: libseccomp drops {}, eperm keeps it",
                        n.name
                    ));
                }
                continue;
            };
            for &a in &p.architectures {
                let theirs = ScmpSyscall::from_name_by_arch(&n.name, scmp_arch(a))
                    .map(i32::from)
                    .ok()
                    .filter(|&nr| nr >= 0);
                let ours = a.syscall_nr(&n.name).map(|nr| nr as i32);
                if theirs.is_none() {
                    report.not_on_arch += 1;
                }
                if theirs != ours {
                    report.findings.push(format!(
                        "{name} {set}: {} on {a}: libseccomp says {theirs:?}, eperm's table {ours:?}",
                        n.name
                    ));
                }
            }
            let added = if rule.args.is_empty() {
                f.add_rule(scmp_action(v), sys).map(|_| ())
            } else {
                condition_sets(&rule.args).iter().try_for_each(|conds| {
                    let cmps: Vec<_> = conds.iter().map(scmp_cmp).collect();
                    f.add_rule_conditional(scmp_action(v), sys, &cmps)
                        .map(|_| ())
                })
            };
            if let Err(e) = added {
                report.findings.push(format!(
                    "{name} {set}: libseccomp refuses syscalls[{}] ({}): {e}",
                    rule.index, n.name
                ));
                return None;
            }
        }
    }
    Some(exported_program(&f))
}

/// Both programs on every probe, and eperm's prediction on every syscall of
/// each arch of the set.
fn compare(profile: &Profile, name: &str, set: &[Arch], report: &mut Report) {
    let p = declared(profile, set);
    let resolved = eperm::profile::resolve(&p, &target_for(set));
    let ours = compile::compile(&resolved, Mode::Enforce);
    if let Err(e) = &ours {
        if e.to_string().contains("never returns") {
            report.findings.push(format!(
                "{name} {set:?}: libseccomp would hang, not called: {e}"
            ));
            return;
        }
    }
    let theirs = libseccomp_filter(&p, name, &resolved, report);
    let (ours, theirs) = match (ours, theirs) {
        (Ok(o), Some(t)) => (o, t),
        (Err(e), None) => {
            report
                .findings
                .push(format!("{name} {set:?}: eperm refuses it too: {e}"));
            return;
        }
        (o, t) => {
            report.mismatches.push(format!(
                "{name} {set:?}: eperm {}, libseccomp {}",
                if o.is_ok() { "compiles" } else { "refuses" },
                if t.is_some() { "compiles" } else { "refuses" }
            ));
            return;
        }
    };
    if let Some(pc) = compile::disasm::stale_accumulator(&theirs) {
        report.findings.push(format!(
            "{name} {set:?}: libseccomp's program tests a stale accumulator at {pc}: not compared"
        ));
        return;
    }
    each_probe(&p, set, |data| {
        let (o, _) = bpf::run(&ours.program, &data);
        let (t, _) = bpf::run(&theirs, &data);
        report.checked += 1;
        if o != t {
            let SeccompData { nr, arch, args, .. } = data;
            report.mismatches.push(format!(
                "{name} {set:?}: arch {arch:#x} nr {nr} args {args:x?}: eperm {} libseccomp {}",
                bpf::action_name(o),
                bpf::action_name(t)
            ));
        }
    });
    for &arch in set {
        for &(call, nr) in arch.syscalls() {
            let data = SeccompData::call(arch, nr, [0; 6]);
            let predicted = compile::action_word(ours.evaluate(arch, nr, [0; 6]).verdict);
            let (t, _) = bpf::run(&theirs, &data);
            // The kernel's own passthrough (uretprobe) is not libseccomp's to model.
            if predicted != t && ours.passes_through(arch, nr).is_none() {
                report.mismatches.push(format!(
                    "{name} {set:?}: {arch} {call} ({nr}): eperm predicts {}, libseccomp {}",
                    bpf::action_name(predicted),
                    bpf::action_name(t)
                ));
            }
        }
    }
}

/// The profiles compared: every compile fixture (those libseccomp refuses
/// too: each must be refused by both, and is a finding), the embedded default, and
/// the x86-only profile before and after `edit --portable`.
fn profiles() -> Vec<(String, Profile)> {
    let mut out: Vec<(String, Profile)> = FIXTURES
        .iter()
        .chain(REFUSED)
        .map(|name| (name.to_string(), load(name)))
        .collect();
    let default = eperm::profile::load_str("default", eperm::profile::DEFAULT_PROFILE.into());
    out.push(("default".into(), default.unwrap()));
    let x86_only = load("portable/x86-only.json");
    let t = super::target(Arch::X86_64);
    let made = eperm::profile::portable::make_portable(&x86_only, &t, &[]).unwrap();
    assert!(!made.added.is_empty());
    out.push(("x86-only".into(), x86_only));
    out.push(("x86-only, made portable".into(), made.profile));
    out
}

#[test]
fn aarch64_and_arm_verdicts_match_libseccomp() {
    let mut report = Report::default();
    for (name, profile) in profiles() {
        for set in SETS {
            compare(&profile, &name, set, &mut report);
        }
    }
    let findings: std::collections::BTreeSet<&String> = report.findings.iter().collect();
    println!(
        "libseccomp {}: {} checks; {} names of a rule not on one of its arches (libseccomp agrees); {} findings:",
        installed(),
        report.checked,
        report.not_on_arch,
        findings.len()
    );
    for f in findings {
        println!("  finding: {f}");
    }
    assert!(report.checked > 0);
    let shown: Vec<&String> = report.mismatches.iter().take(40).collect();
    assert!(
        report.mismatches.is_empty(),
        "{} mismatches:\n{shown:#?}",
        report.mismatches.len()
    );
}

/// The portable profile's counterparts are real on arm64 for libseccomp too:
/// openat and the rest get the verdict open has on x86_64.
#[test]
fn the_counterparts_edit_portable_adds_are_allowed_on_arm64_by_libseccomp() {
    let x86_only = load("portable/x86-only.json");
    let made =
        eperm::profile::portable::make_portable(&x86_only, &super::target(Arch::X86_64), &[])
            .unwrap()
            .profile;
    for (profile, allowed) in [(&x86_only, false), (&made, true)] {
        let p = declared(profile, &[Arch::Aarch64]);
        let resolved = eperm::profile::resolve(&p, &target_for(&[Arch::Aarch64]));
        let mut report = Report::default();
        let theirs = libseccomp_filter(&p, "x86-only", &resolved, &mut report).unwrap();
        for name in [
            "openat",
            "newfstatat",
            "mkdirat",
            "ppoll",
            "dup3",
            "pipe2",
            "clone",
        ] {
            let nr = Arch::Aarch64.syscall_nr(name).unwrap();
            let (word, _) = bpf::run(&theirs, &SeccompData::call(Arch::Aarch64, nr, [0; 6]));
            assert_eq!(
                word == bpf::RET_ALLOW,
                allowed,
                "{name}: {}",
                bpf::action_name(word)
            );
        }
    }
}

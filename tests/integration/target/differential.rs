//! The runtime target against the installed libseccomp, with its version
//! passed in: its name table, and every fixture's verdicts as runc drives it.

use crate::compile::differential::{
    each_probe, exported_program, scmp_action, scmp_arch, scmp_cmp,
};
use crate::compile::target;
use eperm::arch::{Arch, X32_SYSCALL_BIT};
use eperm::compile::{self, bpf, Mode, SeccompData, SockFilter};
use eperm::profile::resolve::{condition_sets, filtered_out};
use eperm::profile::{load_file, Action, Profile, Resolved, Verdict};
use eperm::target::{Lookup, Runtime, RuntimeKind, Version};
use libseccomp::{ScmpArch, ScmpFilterContext, ScmpSyscall};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// The installed libseccomp's release, as libseccomp says it.
pub(crate) fn installed() -> Version {
    let v = libseccomp::ScmpVersion::current().expect("libseccomp reports its version");
    Version::new(v.major as u16, v.minor as u16, v.micro as u16)
}

/// The Debian package's version of the installed libseccomp, when it is one
/// (its build may carry a later release's names: `target::patched_names`).
pub(crate) fn installed_build() -> Option<String> {
    let out = std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "libseccomp2"])
        .output()
        .ok()?;
    let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !v.is_empty()).then_some(v)
}

/// runc (with its stub) linking the installed libseccomp, its version (and
/// build) passed in.
fn runc_here() -> Runtime {
    Runtime {
        kind: RuntimeKind::Runc,
        version: None,
        libseccomp: installed(),
        build: installed_build(),
        here: false,
    }
}

/// The arches libseccomp-rs and eperm both name.
const ARCHES: &[(Arch, ScmpArch)] = &[
    (Arch::X86_64, ScmpArch::X8664),
    (Arch::X86, ScmpArch::X86),
    (Arch::X32, ScmpArch::X32),
    (Arch::Aarch64, ScmpArch::Aarch64),
    (Arch::Arm, ScmpArch::Arm),
    (Arch::Riscv64, ScmpArch::Riscv64),
    (Arch::S390x, ScmpArch::S390X),
    (Arch::S390, ScmpArch::S390),
    (Arch::Ppc64le, ScmpArch::Ppc64Le),
    (Arch::Ppc64, ScmpArch::Ppc64),
    (Arch::Ppc, ScmpArch::Ppc),
    (Arch::Mips, ScmpArch::Mips),
    (Arch::Mipsel, ScmpArch::Mipsel),
    (Arch::Mips64, ScmpArch::Mips64),
    (Arch::Mips64el, ScmpArch::Mipsel64),
    (Arch::Mips64n32, ScmpArch::Mips64N32),
    (Arch::Mips64n32el, ScmpArch::Mipsel64N32),
];

#[test]
fn the_name_table_of_the_installed_release_is_libseccomps_own() {
    let rt = runc_here();
    println!("libseccomp {}", rt.libseccomp);
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for a in Arch::ALL {
        names.extend(a.syscalls().iter().map(|&(n, _)| n));
    }
    names.extend([
        "mseal",
        "statmount",
        "uretprobe",
        "map_shadow_stack",
        "no_such_call",
        "",
    ]);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for &(arch, scmp) in ARCHES {
        for &name in &names {
            let ours = rt.lookup(arch, name);
            let theirs = ScmpSyscall::from_name_by_arch(name, scmp).map(i32::from);
            checked += 1;
            let agree = match (ours, &theirs) {
                (Lookup::Nr(nr), Ok(t)) if *t >= 0 => nr as i32 == *t,
                // The arches that answer socket and IPC names with a pseudo
                // number: the direct number must name the call all the same.
                (Lookup::Nr(nr), Ok(t)) if *t < 0 => {
                    eperm::target::munges_names(arch)
                        && ScmpSyscall::from(nr as i32)
                            .get_name_by_arch(scmp)
                            .is_ok_and(|n| n == name)
                }
                (Lookup::NotOnArch, Ok(t)) => *t < 0,
                (Lookup::Unknown, Err(_)) => true,
                _ => false,
            };
            if !agree {
                wrong.push(format!(
                    "{arch} {name:?}: ours {ours:?}, libseccomp {theirs:?}"
                ));
            }
        }
    }
    println!("{checked} lookups");
    assert!(
        wrong.is_empty(),
        "{} disagreements:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Every profile the project has, and those of `EPERM_DIFF_PROFILES` (a
/// directory, e.g. real-world profiles kept outside the project).
fn every_fixture() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = ["compile", "good", "check", "edit", "target"]
        .iter()
        .map(|d| root.join("tests/fixtures").join(d))
        .collect();
    dirs.push(root.join("assets/profiles"));
    dirs.extend(std::env::var_os("EPERM_DIFF_PROFILES").map(PathBuf::from));
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display())))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

const SETS: &[&[Arch]] = &[
    &[Arch::X86_64, Arch::X86, Arch::X32],
    &[Arch::Aarch64, Arch::Arm],
    &[Arch::X86_64],
    &[Arch::X86_64, Arch::X32],
];

/// `profile` with exactly the arches `set` declared, as Docker writes them into
/// the OCI spec that runc reads.
fn declared(profile: &Profile, set: &[Arch]) -> Profile {
    let mut p = profile.clone();
    p.architectures = set.to_vec();
    p.arch_map.clear();
    p
}

fn resolve_with(profile: &Profile, rt: &Runtime) -> Resolved {
    let t = eperm::profile::Target {
        runtime: Some(rt.clone()),
        ..target(profile.architectures[0])
    };
    eperm::profile::resolve(profile, &t)
}

/// runc's stub: per arch, the largest syscall number the profile names.
type StubLimits = Vec<(Arch, u32)>;

/// What runc 1.1 builds from `profile` with the installed libseccomp: its
/// program, and its stub's limits per arch; `None` when runc or libseccomp
/// refuses. Written from runc's seccomp_linux.go and patchbpf, with every name
/// resolved by libseccomp itself.
fn runc_filter(profile: &Profile) -> Option<(Vec<SockFilter>, StubLimits)> {
    let native = profile.architectures[0];
    let t = target(native);
    let default = Verdict::of(profile.default_action, profile.default_errno);
    let mut f = ScmpFilterContext::new(scmp_action(default)).ok()?;
    for &a in &profile.architectures {
        if !f.is_arch_present(scmp_arch(a)).unwrap() {
            f.add_arch(scmp_arch(a)).unwrap();
        }
    }
    if !profile.architectures.contains(&Arch::native()) {
        f.remove_arch(ScmpArch::native()).unwrap();
    }
    let kept: Vec<_> = profile
        .rules
        .iter()
        .filter(|r| filtered_out(r, &t).is_none())
        .collect();
    for rule in &kept {
        if rule.names.iter().any(|n| n.name.is_empty()) {
            return None; // "empty string is not a valid syscall"
        }
        let v = Verdict::of(rule.action, rule.errno_ret);
        if v == default {
            continue;
        }
        for n in &rule.names {
            // runc resolves on the native arch; this host stands for every one
            // (libseccomp translates by name for the others).
            let Ok(sys) = ScmpSyscall::from_name(&n.name) else {
                continue;
            };
            let added = if rule.args.is_empty() {
                f.add_rule(scmp_action(v), sys).map(|_| ())
            } else {
                condition_sets(&rule.args).iter().try_for_each(|conds| {
                    let cmps: Vec<_> = conds.iter().map(scmp_cmp).collect();
                    f.add_rule_conditional(scmp_action(v), sys, &cmps)
                        .map(|_| ())
                })
            };
            added.ok()?;
        }
    }
    let prog = exported_program(&f);
    let stub = match (profile.default_errno, profile.default_action) {
        (Some(38), _) | (_, Action::Allow | Action::Log | Action::Trace) => Vec::new(),
        _ => profile
            .architectures
            .iter()
            .filter_map(|&a| {
                let max = kept
                    .iter()
                    .flat_map(|r| &r.names)
                    .filter_map(|n| ScmpSyscall::from_name_by_arch(&n.name, scmp_arch(a)).ok())
                    .map(i32::from)
                    .max()?;
                (max > 0).then_some((a, max as u32))
            })
            .collect(),
    };
    Some((prog, stub))
}

/// runc's stub, read from patchbpf: per audit arch, x32 told by bit 30.
fn stub_says(stub: &[(Arch, u32)], data: &SeccompData) -> bool {
    let limit = |a: Arch| stub.iter().find(|(x, _)| *x == a).map(|&(_, n)| n);
    let arch = if data.arch == Arch::X86_64.audit_arch() {
        if data.nr & X32_SYSCALL_BIT != 0 {
            Arch::X32
        } else {
            Arch::X86_64
        }
    } else {
        match stub.iter().find(|(a, _)| a.audit_arch() == data.arch) {
            Some(&(a, _)) => a,
            None => return false,
        }
    };
    limit(arch).is_some_and(|max| data.nr > max)
}

#[test]
fn verdicts_match_libseccomp_as_runc_drives_it_for_every_fixture() {
    let rt = runc_here();
    let (mut checked, mut mismatches, mut refused) = (0usize, Vec::new(), 0usize);
    for file in every_fixture() {
        let Ok(profile) = load_file(&file) else {
            continue; // fixtures of load errors
        };
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        for set in SETS {
            let p = declared(&profile, set);
            let ours = compile::compile(&resolve_with(&p, &rt), Mode::Enforce);
            if let Err(e) = &ours {
                if e.to_string().contains("never returns") {
                    continue; // calling libseccomp would hang the test
                }
            }
            let (ours, (theirs, stub)) = match (ours, runc_filter(&p)) {
                (Err(_), None) => {
                    refused += 1;
                    continue;
                }
                (Ok(_), None) => {
                    mismatches.push(format!("{name} {set:?}: runc refuses, we compile"));
                    continue;
                }
                (Err(e), Some(_)) => {
                    mismatches.push(format!("{name} {set:?}: runc accepts, we refuse: {e}"));
                    continue;
                }
                (Ok(o), Some(t)) => (o, t),
            };
            if compile::disasm::stale_accumulator(&theirs).is_some() {
                continue; // libseccomp's own code-generation bug, not a verdict
            }
            each_probe(&p, set, |data| {
                let want = if stub_says(&stub, &data) {
                    bpf::RET_ERRNO | 38
                } else {
                    bpf::run(&theirs, &data).0
                };
                let got = bpf::run(&ours.program, &data).0;
                checked += 1;
                if got != want && mismatches.len() < 40 {
                    let SeccompData { nr, arch, args, .. } = data;
                    mismatches.push(format!(
                        "{name} {set:?}: arch {arch:#x} nr {nr} args {args:x?}: ours {} runc {}",
                        bpf::action_name(got),
                        bpf::action_name(want)
                    ));
                }
            });
        }
    }
    println!(
        "libseccomp {}: {checked} checks, {refused} refused by both",
        rt.libseccomp
    );
    assert!(checked > 0);
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

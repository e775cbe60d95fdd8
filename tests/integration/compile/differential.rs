//! Our programs against libseccomp's, as runc builds them, both run in our emulator.

use super::{load, resolve_for, target, FIXTURES, REFUSED};
use eperm::arch::{Arch, X32_SYSCALL_BIT};
use eperm::compile::{self, bpf, Mode, SeccompData, SockFilter};
use eperm::profile::resolve::{condition_sets, filtered_out};
use eperm::profile::{Action, ArgCond, CmpOp, Profile, Verdict};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use std::collections::BTreeSet;
use std::io::{Read, Seek};

const SETS: &[&[Arch]] = &[
    &[Arch::X86_64, Arch::X86, Arch::X32],
    &[Arch::Aarch64, Arch::Arm],
    &[Arch::X86_64],
    &[Arch::X86_64, Arch::X86],
];

pub(crate) fn scmp_arch(a: Arch) -> ScmpArch {
    match a {
        Arch::X86_64 => ScmpArch::X8664,
        Arch::X86 => ScmpArch::X86,
        Arch::X32 => ScmpArch::X32,
        Arch::Aarch64 => ScmpArch::Aarch64,
        Arch::Arm => ScmpArch::Arm,
        other => panic!("no differential set uses {other}"),
    }
}

pub(crate) fn scmp_action(v: Verdict) -> ScmpAction {
    match v.action {
        Action::Allow => ScmpAction::Allow,
        Action::Errno => ScmpAction::Errno(v.data as i32),
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Trace => ScmpAction::Trace(v.data as u16),
        Action::Log => ScmpAction::Log,
        Action::Notify => ScmpAction::Notify,
    }
}

pub(crate) fn scmp_cmp(c: &ArgCond) -> ScmpArgCompare {
    let (op, datum) = match c.op {
        CmpOp::Ne => (ScmpCompareOp::NotEqual, c.value),
        CmpOp::Lt => (ScmpCompareOp::Less, c.value),
        CmpOp::Le => (ScmpCompareOp::LessOrEqual, c.value),
        CmpOp::Eq => (ScmpCompareOp::Equal, c.value),
        CmpOp::Ge => (ScmpCompareOp::GreaterEqual, c.value),
        CmpOp::Gt => (ScmpCompareOp::Greater, c.value),
        CmpOp::MaskedEq => (ScmpCompareOp::MaskedEqual(c.value), c.value_two),
    };
    ScmpArgCompare::new(c.index as u32, op, datum)
}

/// Names libseccomp resolves differently from our tables on some arch of `set`
/// (x86's multiplexed-only socket calls, table differences): left out on both sides.
pub(crate) fn disagreeing_names(profile: &Profile, set: &[Arch]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for rule in &profile.rules {
        for n in &rule.names {
            for &a in set {
                let ours = a.syscall_nr(&n.name).map(|nr| nr as i64);
                let theirs = ScmpSyscall::from_name_by_arch(&n.name, scmp_arch(a))
                    .ok()
                    .map(|s| i32::from(s) as i64)
                    .filter(|&nr| nr >= 0 || (a == Arch::X86 && nr <= -100));
                if ours != theirs {
                    out.insert(n.name.clone());
                }
            }
        }
    }
    out
}

/// libseccomp's program for `profile` on `set`, built the way runc builds it, or
/// `None` when libseccomp refuses a rule (runc then fails).
fn libseccomp_program(
    profile: &Profile,
    set: &[Arch],
    skip: &BTreeSet<String>,
) -> Option<Vec<SockFilter>> {
    libseccomp_program_for(profile, set, skip, &target(set[0]))
}

/// [`libseccomp_program`] with Docker's rule selection done for target `t`
/// (capabilities, kernel); `t.arch` must be `set[0]`.
pub(crate) fn libseccomp_program_for(
    profile: &Profile,
    set: &[Arch],
    skip: &BTreeSet<String>,
    t: &eperm::profile::Target,
) -> Option<Vec<SockFilter>> {
    let default = Verdict::of(profile.default_action, profile.default_errno);
    let mut f = ScmpFilterContext::new(scmp_action(default)).unwrap();
    for &a in set {
        if !f.is_arch_present(scmp_arch(a)).unwrap() {
            f.add_arch(scmp_arch(a)).unwrap();
        }
    }
    if !set.contains(&Arch::native()) {
        f.remove_arch(ScmpArch::native()).unwrap();
    }
    for rule in &profile.rules {
        if filtered_out(rule, t).is_some() {
            continue;
        }
        let v = Verdict::of(rule.action, rule.errno_ret);
        if v == default {
            continue;
        }
        for n in &rule.names {
            if skip.contains(&n.name) {
                continue;
            }
            let Ok(sys) = ScmpSyscall::from_name(&n.name) else {
                continue;
            };
            let r = if rule.args.is_empty() {
                f.add_rule(scmp_action(v), sys)
            } else {
                condition_sets(&rule.args)
                    .iter()
                    .try_for_each(|conds| {
                        let cmps: Vec<_> = conds.iter().map(scmp_cmp).collect();
                        f.add_rule_conditional(scmp_action(v), sys, &cmps)
                            .map(|_| ())
                    })
                    .map(|_| &mut f)
            };
            if r.is_err() {
                return None;
            }
        }
    }
    let prog = exported_program(&f);
    compile::validate(&prog).unwrap();
    Some(prog)
}

/// The classic BPF program libseccomp generates for `f`.
pub(crate) fn exported_program(f: &ScmpFilterContext) -> Vec<SockFilter> {
    let mut file = tempfile::tempfile().unwrap();
    f.export_bpf(&file).unwrap();
    file.rewind().unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bpf::from_bytes(&bytes).unwrap()
}

/// Argument values worth trying: every rule value, its neighbours, with and
/// without high words, and the masks.
fn interesting_values(profile: &Profile) -> Vec<(u8, u64)> {
    let mut vals = BTreeSet::new();
    for rule in &profile.rules {
        for c in &rule.args {
            let mut add = |v: u64| {
                for x in [
                    v,
                    v.wrapping_sub(1),
                    v.wrapping_add(1),
                    v ^ 0x1_0000_0000,
                    v | 0xffff_ffff_0000_0000,
                    v & 0xffff_ffff,
                ] {
                    vals.insert((c.index, x));
                }
            };
            add(c.value);
            if c.op == CmpOp::MaskedEq {
                add(c.value_two);
                add(c.value | c.value_two);
                add(!c.value);
            }
        }
    }
    vals.into_iter().collect()
}

pub(crate) fn arg_vectors(profile: &Profile) -> Vec<[u64; 6]> {
    let vals = interesting_values(profile);
    let mut out = vec![[0u64; 6]];
    for &(i, v) in &vals {
        let mut a = [0u64; 6];
        a[i as usize] = v;
        out.push(a);
    }
    // Every rule's conditions satisfied together, then each one varied.
    for rule in &profile.rules {
        for conds in condition_sets(&rule.args) {
            if conds.is_empty() {
                continue;
            }
            let mut base = [0u64; 6];
            for c in &conds {
                base[c.index as usize] = match c.op {
                    CmpOp::Eq | CmpOp::Ge | CmpOp::Le => c.value,
                    CmpOp::Gt | CmpOp::Ne => c.value.wrapping_add(1),
                    CmpOp::Lt => c.value.wrapping_sub(1),
                    CmpOp::MaskedEq => c.value_two,
                };
            }
            out.push(base);
            for &(i, v) in &vals {
                let mut a = base;
                a[i as usize] = v;
                out.push(a);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[derive(Default)]
struct Tally {
    checked: usize,
    /// Programs libseccomp generated wrongly (not compared).
    libseccomp_bugs: Vec<String>,
    mismatches: Vec<String>,
}

impl Tally {
    /// The first `n` mismatches written out, one a line (past 50, they are only
    /// counted).
    fn first_mismatches(&self, n: usize) -> String {
        let shown: Vec<&str> = self
            .mismatches
            .iter()
            .filter(|m| !m.is_empty())
            .take(n)
            .map(String::as_str)
            .collect();
        shown.join("\n")
    }
}

/// Runs both programs on every syscall number (and x32's, and some no arch has)
/// of every arch of the set, plus the argument vectors on every number.
fn compare(
    profile: &Profile,
    name: &str,
    set: &[Arch],
    tally: &mut Tally,
) -> Option<(usize, f64, usize, f64)> {
    let skip = disagreeing_names(profile, set);
    let mut resolved = resolve_for(profile, set);
    resolved.rules.retain(|e| !skip.contains(&e.name));
    let ours = compile::compile(&resolved, Mode::Enforce);
    // Where we say libseccomp never returns, calling it would hang the test.
    if let Err(e) = &ours {
        if e.to_string().contains("never returns") {
            tally
                .libseccomp_bugs
                .push(format!("{name} {set:?}: libseccomp would hang: {e}"));
            return None;
        }
    }
    let theirs = libseccomp_program(profile, set, &skip);
    let (theirs, ours) = match (theirs, ours) {
        (None, Err(_)) => return None,
        (Some(_), Err(e)) => {
            tally.mismatches.push(format!(
                "{name} {set:?}: libseccomp accepts, we refuse: {e}"
            ));
            return None;
        }
        (None, Ok(_)) => {
            tally.mismatches.push(format!(
                "{name} {set:?}: libseccomp refuses a rule, we compile"
            ));
            return None;
        }
        (Some(t), Ok(o)) => (t, o.program),
    };
    if let Some(pc) = compile::disasm::stale_accumulator(&theirs) {
        tally.libseccomp_bugs.push(format!(
            "{name} {set:?}: libseccomp's instruction {pc} tests a stale accumulator"
        ));
        return None;
    }
    if std::env::var_os("EPERM_DIFF_DEBUG").is_some() {
        println!(
            "ours:\n{}\nlibseccomp:\n{}",
            compile::disasm::disassemble(&ours),
            compile::disasm::disassemble(&theirs)
        );
    }
    let (mut our_total, mut their_total, mut n) = (0usize, 0usize, 0usize);
    each_probe(profile, set, |data| {
        let (o, o_n) = bpf::run(&ours, &data);
        let (t, t_n) = bpf::run(&theirs, &data);
        tally.checked += 1;
        let SeccompData {
            nr,
            arch: audit,
            args,
            ..
        } = data;
        if o != t && tally.mismatches.len() < 50 {
            tally.mismatches.push(format!(
                "{name} {set:?}: arch {audit:#x} nr {nr} args {args:x?}: ours {} libseccomp {}",
                bpf::action_name(o),
                bpf::action_name(t)
            ));
        } else if o != t {
            tally.mismatches.push(String::new());
        }
        if args == [0; 6]
            && set.iter().any(|a| {
                a.audit_arch() == audit
                    && Arch::from_audit(audit, nr) == Some(*a)
                    && a.syscall_name(nr).is_some()
            })
        {
            our_total += o_n;
            their_total += t_n;
            n += 1;
        }
    });
    let _ = skip;
    Some((
        ours.len(),
        our_total as f64 / n.max(1) as f64,
        theirs.len(),
        their_total as f64 / n.max(1) as f64,
    ))
}

/// Calls `f` on what both programs are run on: each audit arch of `set` (and one
/// it lacks), with every syscall number of the compared arches (and x32's, and
/// some no arch has), with each argument vector of [`arg_vectors`].
pub(crate) fn each_probe(profile: &Profile, set: &[Arch], mut f: impl FnMut(SeccompData)) {
    let mut nrs: BTreeSet<u32> = BTreeSet::new();
    for a in Arch::ALL {
        if matches!(
            a,
            Arch::X86_64 | Arch::X86 | Arch::X32 | Arch::Aarch64 | Arch::Arm
        ) {
            nrs.extend(a.syscalls().iter().map(|&(_, nr)| nr));
        }
    }
    let x86_64: Vec<u32> = Arch::X86_64.syscalls().iter().map(|&(_, nr)| nr).collect();
    nrs.extend(x86_64.iter().map(|nr| nr | X32_SYSCALL_BIT));
    nrs.extend([
        1000,
        4095,
        0x3fff_ffff,
        0x4000_0000,
        0x4000_0200,
        0x7fff_ffff,
        0x8000_0000,
        u32::MAX - 1,
        u32::MAX,
    ]);
    let vectors = arg_vectors(profile);
    let mut audits: Vec<u32> = set.iter().map(|a| a.audit_arch()).collect();
    audits.push(Arch::Riscv64.audit_arch());
    audits.dedup();
    for &arch in &audits {
        for &nr in &nrs {
            for &args in &vectors {
                f(SeccompData {
                    nr,
                    arch,
                    ip: 0,
                    args,
                });
            }
        }
    }
}

#[test]
fn verdicts_match_libseccomp_for_every_fixture() {
    let mut tally = Tally::default();
    println!(
        "{:<28} {:<24} {:>6} {:>6} {:>8} {:>8}",
        "profile", "arches", "ours", "libsc", "path", "libsc"
    );
    for name in FIXTURES.iter().chain(REFUSED) {
        let profile = load(name);
        for set in SETS {
            if let Some((oi, op, ti, tp)) = compare(&profile, name, set, &mut tally) {
                let arches: Vec<_> = set.iter().map(|a| a.name()).collect();
                println!(
                    "{name:<28} {:<24} {oi:>6} {ti:>6} {op:>8.2} {tp:>8.2}",
                    arches.join("+")
                );
                // Issue #3: never larger or slower than libseccomp on the same profile.
                if oi > ti || op > tp {
                    tally.mismatches.push(format!(
                        "{name} {set:?}: {oi} instructions (libseccomp {ti}), mean path {op:.3} (libseccomp {tp:.3})"
                    ));
                }
            }
        }
    }
    println!(
        "{} checks, {} mismatches",
        tally.checked,
        tally.mismatches.len()
    );
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches:\n{}",
        tally.mismatches.len(),
        tally.first_mismatches(40)
    );
}

/// A rule's action, and its operator and value for `args[2]`.
type Cond = (&'static str, &'static str, u64);

/// Two `read` rules on `args[2]`, the second also requiring `args[0] != 0`.
fn two_rules(first: Cond, second: Cond) -> String {
    let rule = |(action, op, value): Cond, extra: &str| {
        format!(
            r#"{{"names": ["read"], {action}, "args": [{{"index": 2, "value": {value}, "op": "SCMP_CMP_{op}"}}{extra}]}}"#
        )
    };
    let ne0 = r#", {"index": 0, "value": 0, "op": "SCMP_CMP_NE"}"#;
    format!(
        r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}, {}]}}"#,
        rule(first, ""),
        rule(second, ne0)
    )
}

const ALLOW: &str = r#""action": "SCMP_ACT_ALLOW""#;
const ENOSYS: &str = r#""action": "SCMP_ACT_ERRNO", "errnoRet": 38"#;

/// Every set, both programs, no mismatch (and libseccomp accepting the profile
/// exactly when we do).
pub(crate) fn assert_matches_libseccomp(text: &str) {
    let p = eperm::profile::load_str("pair.json", text.to_string()).unwrap();
    for set in SETS {
        let mut tally = Tally::default();
        compare(&p, "pair", set, &mut tally);
        assert!(
            tally.libseccomp_bugs.is_empty(),
            "{text}: {:?}",
            tally.libseccomp_bugs
        );
        assert!(
            tally.mismatches.is_empty(),
            "{text}\n{}",
            tally.first_mismatches(5)
        );
    }
}

/// On 32-bit arches libseccomp compares only the low word, so `LT 2^64-1` and
/// `GE 2^64-1` become the same node (`lo >= 0xffffffff`). Its prune step then
/// finds the new rule's `args[2]` test on a leaf of the tree, below an extra
/// `args[0]` level, and drops the new rule as redundant, although it acts on the
/// other branch with another action. On 64-bit arches the high-word nodes keep
/// the two apart and the rule stays.
#[test]
fn high_datums_on_32bit_arches_match_libseccomp() {
    let max = u64::MAX;
    let big = 0x1_0000_0005;
    let pairs: &[(Cond, Cond)] = &[
        ((ALLOW, "LT", max), (ENOSYS, "GE", max)),
        ((ALLOW, "LE", big), (ENOSYS, "GT", big)),
        ((ALLOW, "GT", big), (ENOSYS, "LE", big)),
        ((ALLOW, "GE", big), (ENOSYS, "LT", big)),
        ((ALLOW, "EQ", 0x1_0000_0001), (ENOSYS, "EQ", 0x2_0000_0001)),
        ((ALLOW, "NE", 0x1_0000_0001), (ENOSYS, "EQ", 0x2_0000_0001)),
        ((ALLOW, "EQ", big), (ENOSYS, "NE", big)),
        ((ALLOW, "LT", max), (ALLOW, "GE", max)),
    ];
    for &(a, b) in pairs {
        assert_matches_libseccomp(&two_rules(a, b));
        assert_matches_libseccomp(&two_rules(b, a));
    }
}

/// The profile the random test found, verdict by verdict.
#[test]
fn errno_rule_under_a_high_datum_is_dropped_on_arm_only() {
    let text = two_rules((ALLOW, "LT", u64::MAX), (ENOSYS, "GE", u64::MAX));
    assert_matches_libseccomp(&text);
    let p = eperm::profile::load_str("pair.json", text).unwrap();
    let c = compile::compile(&resolve_for(&p, SETS[1]), Mode::Enforce).unwrap();
    let nr = |a: Arch| a.syscall_nr("read").unwrap();
    let eperm = Verdict::of(Action::Errno, None);
    let enosys = Verdict {
        action: Action::Errno,
        data: 38,
    };
    let args = [1, 0, 0xffff_ffff, 0, 0, 0];
    assert_eq!(c.evaluate(Arch::Arm, nr(Arch::Arm), args).verdict, eperm);
    let args = [1, 0, u64::MAX, 0, 0, 0];
    assert_eq!(
        c.evaluate(Arch::Aarch64, nr(Arch::Aarch64), args).verdict,
        enosys
    );
}

mod random {
    use super::*;
    use proptest::prelude::*;

    // `mmap` is missing on arm: libseccomp 2.5.4 then sometimes forgets to load `nr`
    // for arm (its checks compare the arch value); such programs are skipped.
    const NAMES: &[&str] = &[
        "read",
        "write",
        "personality",
        "socket",
        "mprotect",
        "ioctl",
        "getpid",
        "kill",
    ];
    const VALUES: &[u64] = &[
        0,
        1,
        2,
        8,
        0xff,
        0x7fff_ffff,
        0xffff_ffff,
        0x1_0000_0000,
        0x1_0000_0001,
        u64::MAX,
    ];

    const ACTIONS: &[&str] = &[
        r#""action": "SCMP_ACT_ALLOW""#,
        r#""action": "SCMP_ACT_ERRNO""#,
        r#""action": "SCMP_ACT_ERRNO", "errnoRet": 38"#,
        r#""action": "SCMP_ACT_KILL_PROCESS""#,
        r#""action": "SCMP_ACT_TRAP""#,
        r#""action": "SCMP_ACT_LOG""#,
        r#""action": "SCMP_ACT_TRACE", "errnoRet": 5"#,
    ];

    /// What a generated profile draws from.
    #[derive(Clone, Copy)]
    struct Pool {
        names: &'static [&'static str],
        actions: &'static [&'static str],
        values: &'static [u64],
        max_rules: usize,
    }

    const ANY: Pool = Pool {
        names: NAMES,
        actions: ACTIONS,
        values: VALUES,
        max_rules: 7,
    };

    /// Many rules on one syscall with two actions and few values, so that rules
    /// share nodes and libseccomp's merge and prune have work to do.
    const CROWDED: Pool = Pool {
        names: &["read"],
        actions: &[ACTIONS[0], ACTIONS[2]],
        values: &[0, 1, 5, 0xffff_ffff, 0x1_0000_0000, 0x1_0000_0005, u64::MAX],
        max_rules: 9,
    };

    fn action(actions: &'static [&'static str]) -> impl Strategy<Value = String> {
        prop::sample::select(actions).prop_map(str::to_string)
    }

    fn cond(values: &'static [u64]) -> impl Strategy<Value = String> {
        let ops = prop::sample::select(vec!["NE", "LT", "LE", "EQ", "GE", "GT", "MASKED_EQ"]);
        (
            0u8..3,
            ops,
            prop::sample::select(values),
            prop::sample::select(values),
        )
            .prop_map(|(i, op, v, v2)| {
                format!(
                    r#"{{"index": {i}, "value": {v}, "valueTwo": {v2}, "op": "SCMP_CMP_{op}"}}"#
                )
            })
    }

    fn rule(pool: Pool) -> impl Strategy<Value = String> {
        (
            prop::sample::subsequence(pool.names.to_vec(), 1..pool.names.len().clamp(2, 3)),
            action(pool.actions),
            prop::collection::vec(cond(pool.values), 0..3),
        )
            .prop_map(|(names, action, conds)| {
                let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                format!(
                    r#"{{"names": [{}], {action}, "args": [{}]}}"#,
                    names.join(","),
                    conds.join(",")
                )
            })
    }

    fn profile(pool: Pool) -> impl Strategy<Value = String> {
        (
            action(ACTIONS),
            prop::collection::vec(rule(pool), 1..pool.max_rules),
        )
            .prop_map(|(default, rules)| {
                let default = default
                    .replace("\"action\"", "\"defaultAction\"")
                    .replace("errnoRet", "defaultErrnoRet");
                format!(r#"{{{default}, "syscalls": [{}]}}"#, rules.join(","))
            })
    }

    /// A debugging aid, not a test: `EPERM_DIFF_DEBUG='{profile json}' cargo test
    /// --features differential debug_one -- --ignored --nocapture` compares one profile.
    #[test]
    #[ignore = "debugging aid: needs EPERM_DIFF_DEBUG"]
    fn debug_one() {
        let text =
            std::env::var("EPERM_DIFF_DEBUG").expect("set EPERM_DIFF_DEBUG to a profile's JSON");
        let p = eperm::profile::load_str("debug.json", text).unwrap();
        let mut tally = Tally::default();
        compare(&p, "debug", SETS[1], &mut tally);
        println!("{:?}", tally.mismatches.iter().take(5).collect::<Vec<_>>());
    }

    fn check_random(text: &str) -> Result<(), TestCaseError> {
        let p = eperm::profile::load_str("random.json", text.to_string()).unwrap();
        for set in [SETS[0], SETS[1]] {
            let mut tally = Tally::default();
            compare(&p, "random", set, &mut tally);
            // libseccomp's own code-generation bugs are not verdicts to match.
            prop_assume!(tally.libseccomp_bugs.is_empty());
            prop_assert!(
                tally.mismatches.is_empty(),
                "{text}\n{}",
                tally.first_mismatches(5)
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
        #[test]
        fn random_profiles_match_libseccomp(text in profile(ANY)) {
            check_random(&text)?;
        }

        /// Many rules on one syscall: libseccomp's merge and prune at work.
        #[test]
        fn random_rules_on_one_syscall_match_libseccomp(text in profile(CROWDED)) {
            check_random(&text)?;
        }
    }
}

/// A finding, not a mismatch to hide: libseccomp does not model the kernel's
/// passthrough of `uretprobe` (Linux 6.14 on) and `uprobe` (6.18 on), so its
/// program denies them like any call the profile does not allow, and so does
/// ours. What eperm predicts (`Compiled::evaluate`, `Compiled::run`) is the
/// kernel's: allowed, the program never run. On a 6.18 target exactly those two
/// x86-64 calls differ from libseccomp's program, and on 6.13 none does.
#[test]
fn predictions_differ_from_libseccomp_exactly_by_the_kernels_passthrough() {
    let profile = load("compile/default.json");
    let set = &[Arch::X86_64, Arch::X86, Arch::X32];
    let skip = disagreeing_names(&profile, set);
    for (kernel, want) in [
        ("6.13", vec![]),
        ("6.14", vec!["uretprobe"]),
        ("6.18", vec!["uretprobe", "uprobe"]),
    ] {
        let mut t = target(Arch::X86_64);
        t.kernel = eperm::profile::KernelVersion::parse(kernel);
        let theirs = libseccomp_program_for(&profile, set, &skip, &t).unwrap();
        let mut p = profile.clone();
        p.architectures = set[1..].to_vec();
        p.arch_map.clear();
        let mut resolved = eperm::profile::resolve(&p, &t);
        resolved.rules.retain(|e| !skip.contains(&e.name));
        let ours = compile::compile(&resolved, Mode::Enforce).unwrap();
        let mut differ = Vec::new();
        for &arch in set {
            for &(name, nr) in arch.syscalls() {
                let data = SeccompData::call(arch, nr, [0; 6]);
                let (libseccomp, _) = bpf::run(&theirs, &data);
                // The programs agree here too: neither models the kernel.
                assert_eq!(
                    bpf::run(&ours.program, &data).0,
                    libseccomp,
                    "{arch} {name}"
                );
                let predicted = compile::action_word(ours.evaluate(arch, nr, [0; 6]).verdict);
                assert_eq!(ours.run(arch, nr, [0; 6]).0, predicted, "{arch} {name}");
                if predicted != libseccomp {
                    assert_eq!(predicted, bpf::RET_ALLOW, "{arch} {name}");
                    differ.push(name);
                }
            }
        }
        assert_eq!(differ, want, "on {kernel}");
    }
}

/// Issue 33: the NOTIFY copy a container runtime compiles with libseccomp sends
/// a `seccomp` asking for a listener to eperm and lets every other one run, as
/// eperm predicts; the split is needed, since libseccomp lets an unconditional
/// rule for a syscall override a conditional one with another action.
#[test]
fn the_notify_copy_sends_seccomp_asking_for_a_listener_to_eperm_under_libseccomp() {
    use eperm::container::instrument::{instrument, Instrument};
    use eperm::container::oci_runtime::OciRuntime;
    let set = &[Arch::X86_64, Arch::X86, Arch::X32];
    let t = target(Arch::X86_64);
    let nr = Arch::X86_64.syscall_nr("seccomp").unwrap();
    let ret = |prog: &[SockFilter], args: [u64; 6]| {
        bpf::run(prog, &SeccompData::call(Arch::X86_64, nr, args)).0
    };
    let original =
        eperm::profile::load_str("default.json", eperm::profile::DEFAULT_PROFILE.to_string())
            .unwrap();
    let how = Instrument::Notify {
        listener: None,
        runtime: OciRuntime::Runc,
        refused: Vec::new(),
    };
    let copy = instrument(&original, &t, &how);
    let copy = eperm::profile::load_str("copy.json", copy).unwrap();
    let theirs = libseccomp_program_for(&copy, set, &BTreeSet::new(), &t).unwrap();
    let ours = compile::compile(&eperm::profile::resolve(&copy, &t), Mode::Enforce).unwrap();
    for (args, want) in [
        ([1, 8, 0, 0, 0, 0], bpf::RET_USER_NOTIF),
        ([1, 8 | 1, 0, 0, 0, 0], bpf::RET_USER_NOTIF),
        ([1, 1, 0, 0, 0, 0], bpf::RET_ALLOW),
        ([2, 0, 0, 0, 0, 0], bpf::RET_ALLOW),
    ] {
        assert_eq!(ret(&theirs, args), want, "libseccomp, {args:?}");
        assert_eq!(ret(&ours.program, args), want, "eperm, {args:?}");
    }
    // The naive copy: the allowance kept whole, a conditional NOTIFY added.
    let naive = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["seccomp"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["seccomp"], "action": "SCMP_ACT_NOTIFY",
         "args": [{"index": 1, "value": 8, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]}]}"#;
    let naive = eperm::profile::load_str("naive.json", naive.to_string()).unwrap();
    let theirs = libseccomp_program_for(&naive, set, &BTreeSet::new(), &t).unwrap();
    assert_eq!(ret(&theirs, [1, 8, 0, 0, 0, 0]), bpf::RET_ALLOW);
}

//! The profile loader, end to end: good profiles load with the right model and
//! an untouched document; every kind of bad profile is refused with its file,
//! line:column, JSON path, the bad value and a hint; and nothing makes it panic.

use crate::util;
use eperm::arch::Arch;
use eperm::profile::model::{ArchMapEntry, Form};
use eperm::profile::{load_file, load_str, Action, ArgCond, CmpOp, KernelVersion, Profile};

fn good(name: &str) -> Profile {
    let path = util::fixture(&format!("good/{name}"));
    match load_file(&path) {
        Ok(p) => p,
        Err(e) => panic!("{name} should load:\n{e}"),
    }
}

fn names(p: &Profile, rule: usize) -> Vec<&str> {
    p.rules[rule]
        .names
        .iter()
        .map(|n| n.name.as_str())
        .collect()
}

fn cond(index: u8, op: CmpOp, value: u64, value_two: u64) -> ArgCond {
    ArgCond {
        index,
        value,
        value_two,
        op,
    }
}

fn kernel(major: u32, minor: u32) -> Option<KernelVersion> {
    Some(KernelVersion { major, minor })
}

/// Every good fixture, by file name and text.
fn good_fixtures() -> Vec<(String, String)> {
    let mut out: Vec<_> = std::fs::read_dir(util::fixture("good"))
        .expect("tests/fixtures/good exists")
        .map(|e| e.expect("readable dir").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("UTF-8 fixture"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "good fixtures went missing");
    out
}

#[test]
fn every_good_fixture_loads_and_keeps_its_document() {
    for (name, text) in good_fixtures() {
        let profile = match load_str(&name, text.clone()) {
            Ok(p) => p,
            Err(e) => panic!("{name} should load:\n{e}"),
        };
        let ours = profile.root.to_serde();
        let theirs: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(ours, theirs, "{name}: document changed by loading");
        // Map equality ignores order; the serialised text does not.
        assert_eq!(
            serde_json::to_string(&ours).unwrap(),
            serde_json::to_string(&theirs).unwrap(),
            "{name}: key order changed by loading"
        );
        assert_eq!(profile.text, text, "{name}: text kept verbatim");
    }
}

#[test]
fn check_accepts_every_good_fixture() {
    for (name, _) in good_fixtures() {
        let path = util::fixture(&format!("good/{name}"));
        // Read as a plain process's: these are about reading, not about
        // starting a container (startup.rs is).
        let out = util::run(&["check", "--runtime", "none", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{name}: {}\n{}",
            out.status,
            util::stderr(&out)
        );
    }
}

#[test]
fn minimal_profile_has_only_defaults() {
    let p = good("minimal.json");
    assert_eq!(p.form, Form::Docker);
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.default_errno, None);
    assert!(p.architectures.is_empty() && p.arch_map.is_empty());
    assert!(p.flags.is_empty() && p.rules.is_empty());
    assert_eq!(p.listener_path, None);
    assert_eq!(p.base_path(), "");
}

#[test]
fn all_nine_action_spellings() {
    let p = good("all-actions.json");
    assert_eq!(p.default_errno, Some(1));
    assert_eq!(p.listener_path.as_deref(), Some("/run/eperm/notify.sock"));
    let got: Vec<_> = p.rules.iter().map(|r| (r.action, r.errno_ret)).collect();
    assert_eq!(
        got,
        [
            (Action::Allow, None),
            (Action::Errno, Some(38)),
            (Action::KillThread, None),
            (Action::KillThread, None),
            (Action::KillProcess, None),
            (Action::Trap, None),
            (Action::Trace, Some(1234)),
            (Action::Log, None),
            (Action::Notify, None),
        ]
    );
    assert_eq!(names(&p, 0), ["read", "write"]);
    assert_eq!(names(&p, 8), ["bpf"]);
    for (i, rule) in p.rules.iter().enumerate() {
        assert_eq!(rule.index, i);
        let written = &p.text[rule.span.start..rule.span.end];
        assert!(
            written.starts_with('{') && written.ends_with('}'),
            "{written}"
        );
    }
    // Each name remembers where it is written.
    let read = &p.rules[0].names[0];
    assert_eq!(&p.text[read.span.start..read.span.end], "\"read\"");
}

#[test]
fn all_seven_operators() {
    let p = good("all-ops.json");
    assert_eq!(
        p.rules[0].args,
        [
            cond(0, CmpOp::Ne, 0, 0),
            cond(1, CmpOp::Lt, 10, 0),
            cond(2, CmpOp::Le, 20, 0),
            cond(3, CmpOp::Eq, 30, 0),
            cond(4, CmpOp::Ge, 40, 0),
            cond(5, CmpOp::Gt, u64::MAX, 0),
        ]
    );
    assert_eq!(
        p.rules[1].args,
        [
            cond(0, CmpOp::MaskedEq, 2114060288, 0),
            cond(1, CmpOp::MaskedEq, 255, 8),
        ]
    );
    // A missing index is 0, as Go's zero value makes it.
    assert_eq!(p.rules[2].args, [cond(0, CmpOp::Eq, 16, 0)]);
    // `args: null` and `args: []` both mean no conditions.
    assert!(p.rules[3].args.is_empty() && p.rules[4].args.is_empty());
}

#[test]
fn singular_name_as_docker_reads_it() {
    let p = good("singular-name.json");
    assert_eq!(p.architectures, [Arch::X86_64]);
    assert_eq!(names(&p, 0), ["read"]);
    assert_eq!(names(&p, 1), ["write"]);
    // Docker refuses name+names only when both are non-empty.
    assert_eq!(names(&p, 2), ["close", "fstat"]);
    assert_eq!(names(&p, 3), ["exit_group"]);
    assert_eq!(names(&p, 4), ["brk"]);
    assert!(p.rules.iter().all(|r| r.action == Action::Allow));
}

#[test]
fn includes_excludes_and_arch_map() {
    let p = good("filters.json");
    assert_eq!(
        p.arch_map,
        [
            ArchMapEntry {
                arch: Arch::X86_64,
                sub_arches: vec![Arch::X86, Arch::X32],
            },
            ArchMapEntry {
                arch: Arch::Aarch64,
                sub_arches: vec![Arch::Arm],
            },
            ArchMapEntry {
                arch: Arch::Riscv64,
                sub_arches: vec![],
            },
        ]
    );
    assert!(p.architectures.is_empty());
    let r = &p.rules;
    assert_eq!(r[0].comment.as_deref(), Some("always"));
    assert!(r[0].includes.is_empty() && r[0].excludes.is_empty());
    assert_eq!(r[1].includes.caps, ["CAP_SYS_ADMIN", "CAP_BPF"]);
    assert_eq!(r[1].includes.min_kernel, kernel(5, 8));
    assert!(r[1].includes.arches.is_empty());
    assert_eq!(r[2].includes.arches, ["amd64", "x32"]);
    assert_eq!(r[3].excludes.caps, ["CAP_SYS_PTRACE"]);
    assert_eq!(r[3].excludes.arches, ["s390x"]);
    assert_eq!(r[3].excludes.min_kernel, kernel(4, 8));
    assert!(r[3].includes.is_empty());
    assert_eq!(r[4].errno_ret, Some(38));
    assert!(r[4].includes.is_empty() && r[4].excludes.is_empty());
}

#[test]
fn architectures_and_flags() {
    let p = good("architectures-flags.json");
    assert_eq!(p.default_action, Action::KillProcess);
    assert_eq!(p.architectures, [Arch::X86_64, Arch::X86, Arch::X32]);
    assert_eq!(
        p.flags,
        [
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        ]
    );
}

#[test]
fn unknown_fields_are_kept_and_ignored() {
    let p = good("unknown-fields.json");
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.arch_map.len(), 1);
    assert_eq!(p.rules.len(), 1);
    assert_eq!(p.rules[0].args, [cond(0, CmpOp::Eq, 3, 0)]);
    assert!(p.rules[0].includes.is_empty() && p.rules[0].excludes.is_empty());
    let keys: Vec<_> = p.root.members().unwrap().iter().map(|m| &m.key).collect();
    assert_eq!(keys.first().map(|k| k.as_str()), Some("zFirst"));
    assert_eq!(keys.last().map(|k| k.as_str()), Some("zLast"));
    let text = p.root.get("text").and_then(|t| t.as_str()).unwrap();
    assert!(text.starts_with("café 😀 tab\there \"quoted\" back\\slash / "));
}

#[test]
fn bare_oci_seccomp_object_is_the_docker_form() {
    let p = good("oci-seccomp-object.json");
    assert_eq!(p.form, Form::Docker);
    assert_eq!(p.flags, ["SECCOMP_FILTER_FLAG_LOG"]);
    assert_eq!(
        p.listener_path.as_deref(),
        Some("/run/seccomp-agent.socket")
    );
    assert_eq!(p.rules[1].action, Action::Notify);
    assert_eq!(p.rules[2].errno_ret, Some(25));
    assert_eq!(p.rules[2].args, [cond(1, CmpOp::Eq, 21531, 0)]);
}

#[test]
fn whole_oci_config_reads_linux_seccomp() {
    let p = good("oci-config.json");
    assert_eq!(p.form, Form::OciConfig);
    assert_eq!(p.base_path(), "linux.seccomp");
    assert_eq!(
        p.path("syscalls[1].args[0]"),
        "linux.seccomp.syscalls[1].args[0]"
    );
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.default_errno, Some(1));
    assert_eq!(p.architectures, [Arch::X86_64]);
    assert_eq!(names(&p, 0), ["read", "write", "exit_group"]);
    assert_eq!(p.rules[1].args, [cond(0, CmpOp::Eq, 8, 0)]);
    // The seccomp node is the config's linux.seccomp object, whole.
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(util::fixture("good/oci-config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(p.seccomp_node().to_serde(), file["linux"]["seccomp"]);
    assert_eq!(
        p.seccomp_node()
            .get("syscalls")
            .and_then(|s| s.items())
            .map(<[_]>::len),
        Some(2)
    );
    // The rest of the config is still there, untouched.
    assert_eq!(
        p.root.get("hostname").and_then(|h| h.as_str()),
        Some("eperm-test")
    );
}

#[test]
fn duplicate_keys_read_as_go_reads_them() {
    // encoding/json keeps the last of duplicate keys; so must we.
    let p = good("duplicate-keys.json");
    assert_eq!(p.default_action, Action::Errno);
    assert_eq!(p.rules[0].action, Action::Log);
}

#[test]
fn null_optional_fields_read_as_absent() {
    let p = good("nulls.json");
    assert_eq!(p.default_action, Action::Trap);
    assert_eq!(p.default_errno, None);
    assert!(p.architectures.is_empty() && p.arch_map.is_empty() && p.flags.is_empty());
    assert!(p.rules.is_empty() && p.listener_path.is_none());
}

#[test]
fn the_embedded_default_profile_loads() {
    let p = load_str("default.json", eperm::profile::DEFAULT_PROFILE.to_string())
        .expect("the embedded default loads");
    assert_eq!(p.default_action, Action::Errno);
}

/// One malformed profile and what `eperm check` must say about it.
struct Bad {
    file: &'static str,
    /// `line:column` of the problem.
    at: &'static str,
    code: &'static str,
    /// JSON path of the bad value ("" only for the document itself).
    path: &'static str,
    /// The bad value (or character) as the message quotes it.
    value: &'static str,
    hint: &'static str,
}

const BAD: &[Bad] = &[
    Bad {
        file: "syntax-trailing-comma.json",
        at: "4:32",
        code: "syntax",
        path: "syscalls[0].names",
        value: "trailing comma before ']'",
        hint: "delete this comma",
    },
    Bad {
        file: "syntax-unterminated-string.json",
        at: "4:36",
        code: "syntax",
        path: "syscalls[0].action",
        value: "\"SCMP_ACT_ALLOW }",
        hint: "add the closing \"",
    },
    Bad {
        file: "syntax-truncated.json",
        at: "6:1",
        code: "syntax",
        path: "syscalls[1]",
        value: "end of file",
        hint: "is the file truncated?",
    },
    Bad {
        file: "syntax-comment.json",
        at: "4:5",
        code: "syntax",
        path: "syscalls[0]",
        value: "\"// reads are harmless\"",
        hint: "delete it; a rule can carry its note in a \"comment\" field",
    },
    Bad {
        file: "bom.json",
        at: "1:1",
        code: "syntax",
        path: "",
        value: "U+FEFF",
        hint: "UTF-8 without a BOM",
    },
    Bad {
        file: "not-utf8.json",
        at: "4:69",
        code: "not-utf8",
        path: "syscalls[0].comment",
        value: "0xE9",
        hint: "re-save it as UTF-8",
    },
    Bad {
        file: "root-not-object.json",
        at: "1:1",
        code: "wrong-type",
        path: "",
        value: "[ { \"defaultAction\": \"SCMP_ACT_ERRNO\" } ]",
        hint: "remove the [ ] around it",
    },
    Bad {
        file: "type-names-string.json",
        at: "4:16",
        code: "wrong-type",
        path: "syscalls[0].names",
        value: "\"read\"",
        hint: "write it as a list: [\"read\"]",
    },
    Bad {
        file: "type-action-number.json",
        at: "4:36",
        code: "wrong-type",
        path: "syscalls[0].action",
        value: "2147418112",
        hint: "quoted name, e.g. \"SCMP_ACT_ERRNO\"",
    },
    Bad {
        file: "type-value-string.json",
        at: "7:39",
        code: "wrong-type",
        path: "syscalls[0].args[0].value",
        value: "\"131072\"",
        hint: "write the number without quotes: 131072",
    },
    Bad {
        file: "type-args-object.json",
        at: "7:15",
        code: "wrong-type",
        path: "syscalls[0].args",
        value: "{ \"index\": 0, \"value\": 40, \"op\": \"SCMP_CMP_EQ\" }",
        hint: "put the object inside [ ]",
    },
    Bad {
        file: "type-syscalls-object.json",
        at: "3:15",
        code: "wrong-type",
        path: "syscalls",
        value: "{ \"names\": [\"read\", \"write\"],",
        hint: "put the object inside [ ]",
    },
    Bad {
        file: "type-errno-name.json",
        at: "4:68",
        code: "wrong-type",
        path: "syscalls[0].errnoRet",
        value: "\"ENOSYS\"",
        hint: "write the errno as a number: 38 (ENOSYS)",
    },
    Bad {
        file: "unknown-action.json",
        at: "4:36",
        code: "unknown-action",
        path: "syscalls[0].action",
        value: "\"SCMP_ACT_ALOW\"",
        hint: "did you mean \"SCMP_ACT_ALLOW\"?",
    },
    Bad {
        file: "unknown-op.json",
        at: "7:49",
        code: "unknown-op",
        path: "syscalls[0].args[0].op",
        value: "\"SCMP_CMP_GTE\"",
        hint: "did you mean \"SCMP_CMP_GE\"?",
    },
    Bad {
        file: "arg-index-6.json",
        at: "7:27",
        code: "bad-arg-index",
        path: "syscalls[0].args[0].index",
        value: "index 6",
        hint: "numbered 0 to 5",
    },
    Bad {
        file: "negative-value.json",
        at: "7:39",
        code: "wrong-type",
        path: "syscalls[0].args[0].value",
        value: "-100",
        hint: "write -100 as 18446744073709551516",
    },
    Bad {
        file: "errnoret-too-large.json",
        at: "4:68",
        code: "out-of-range",
        path: "syscalls[0].errnoRet",
        value: "70000",
        hint: "16 bits",
    },
    Bad {
        file: "name-and-names.json",
        at: "4:15",
        code: "name-and-names",
        path: "syscalls[0].name",
        value: "\"chmod\"",
        hint: "move the name into \"names\"",
    },
    Bad {
        file: "architectures-and-archmap.json",
        at: "4:14",
        code: "arches-and-archmap",
        path: "archMap",
        value: "both \"architectures\" and \"archMap\"",
        hint: "keep one",
    },
    Bad {
        file: "notify-default.json",
        at: "2:20",
        code: "notify-default",
        path: "defaultAction",
        value: "\"SCMP_ACT_NOTIFY\"",
        hint: "runc refuses NOTIFY as the default",
    },
    Bad {
        file: "missing-default-action.json",
        at: "1:1",
        code: "missing-field",
        path: "defaultAction",
        value: "missing \"defaultAction\"",
        hint: "add \"defaultAction\": \"SCMP_ACT_ERRNO\"",
    },
    Bad {
        file: "missing-action.json",
        at: "5:5",
        code: "missing-field",
        path: "syscalls[1].action",
        value: "missing \"action\"",
        hint: "add \"action\": \"SCMP_ACT_ALLOW\"",
    },
    Bad {
        file: "missing-op.json",
        at: "7:16",
        code: "missing-field",
        path: "syscalls[0].args[0].op",
        value: "missing \"op\"",
        hint: "add \"op\": \"SCMP_CMP_EQ\"",
    },
    Bad {
        file: "unknown-arch.json",
        at: "3:21",
        code: "unknown-arch",
        path: "architectures[0]",
        value: "\"SCMP_ARCH_AMD64\"",
        hint: "did you mean \"SCMP_ARCH_X86_64\"?",
    },
    Bad {
        file: "bad-min-kernel.json",
        at: "7:34",
        code: "bad-kernel-version",
        path: "syscalls[0].includes.minKernel",
        value: "\"5.10.0-21-amd64\"",
        hint: "write exactly MAJOR.MINOR, e.g. \"5.8\"",
    },
    Bad {
        file: "bad-min-kernel-empty.json",
        at: "7:34",
        code: "bad-kernel-version",
        path: "syscalls[0].excludes.minKernel",
        value: "version \"\"",
        hint: "Docker releases disagree",
    },
    Bad {
        file: "unknown-flag.json",
        at: "3:42",
        code: "unknown-flag",
        path: "flags[1]",
        value: "\"SECCOMP_FILTER_FLAG_LOGS\"",
        hint: "did you mean \"SECCOMP_FILTER_FLAG_LOG\"?",
    },
    Bad {
        file: "oci-no-seccomp.json",
        at: "5:12",
        code: "no-seccomp",
        path: "linux.seccomp",
        value: "no linux.seccomp profile",
        hint: "add one under linux.seccomp",
    },
    Bad {
        file: "oci-docker-only-field.json",
        at: "10:11",
        code: "docker-only-field",
        path: "linux.seccomp.syscalls[0].includes",
        value: "\"includes\"",
        hint: "Docker applies includes/excludes when it writes config.json",
    },
    Bad {
        file: "key-case.json",
        at: "2:3",
        code: "key-case",
        path: "DefaultAction",
        value: "\"DefaultAction\"",
        hint: "did you mean \"defaultAction\"?",
    },
    Bad {
        file: "key-case-rule.json",
        at: "4:26",
        code: "key-case",
        path: "syscalls[0].Action",
        value: "\"Action\"",
        hint: "did you mean \"action\"?",
    },
    Bad {
        file: "key-case-long-s.json",
        at: "3:3",
        code: "key-case",
        path: "\u{17F}yscalls",
        value: "\"\u{17F}yscalls\"",
        hint: "did you mean \"syscalls\"?",
    },
    Bad {
        file: "several-problems.json",
        at: "3:13",
        code: "unknown-flag",
        path: "flags[0]",
        value: "\"SECCOMP_FILTER_FLAG_SPEC_ALOW\"",
        hint: "did you mean \"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"?",
    },
];

/// What is wrong with eperm's answer for `case`, if anything.
fn judge(case: &Bad) -> Option<String> {
    let path = util::fixture(&format!("bad/{}", case.file));
    let out = util::run(&["check", path.to_str().unwrap()]);
    let err = util::stderr(&out);
    let mut wrong = Vec::new();
    if out.status.code() != Some(2) {
        wrong.push(format!("exit status {} instead of 2", out.status));
    }
    if err.contains("panicked") {
        wrong.push("it panicked".into());
    }
    // The first line about this problem: `FILE:LINE:COL: error[CODE]: PATH: MESSAGE`.
    let head = format!("{}:{}: error[{}]", case.file, case.at, case.code);
    match err.lines().position(|l| l.contains(&head)) {
        None => wrong.push(format!("no line with {head:?}")),
        Some(i) => {
            let line = err.lines().nth(i).unwrap();
            if !case.path.is_empty() && !line.contains(&format!("]: {}: ", case.path)) {
                wrong.push(format!("path {:?} not in {line:?}", case.path));
            }
            if !line.contains(case.value) {
                wrong.push(format!("value {:?} not in {line:?}", case.value));
            }
            let hint = err.lines().nth(i + 1).unwrap_or_default();
            if !(hint.trim_start().starts_with("hint: ") && hint.contains(case.hint)) {
                wrong.push(format!("hint {:?} not in {hint:?}", case.hint));
            }
        }
    }
    (!wrong.is_empty()).then(|| format!("{}:\n  {}\n{err}", case.file, wrong.join("\n  ")))
}

#[test]
fn check_explains_each_bad_profile() {
    // Judge them all before failing, so one run shows every broken case.
    let failures: Vec<String> = BAD.iter().filter_map(judge).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_bad_fixture_has_a_case_and_every_case_a_fixture() {
    let mut on_disk: Vec<String> = std::fs::read_dir(util::fixture("bad"))
        .expect("tests/fixtures/bad exists")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut in_table: Vec<String> = BAD.iter().map(|c| c.file.to_string()).collect();
    in_table.sort();
    assert_eq!(on_disk, in_table);
    assert!(BAD.len() >= 24);
}

#[test]
fn every_bad_fixture_fails_to_load_with_its_code_first() {
    for case in BAD {
        let path = util::fixture(&format!("bad/{}", case.file));
        let err = match load_file(&path) {
            Ok(_) => panic!("{} loaded", case.file),
            Err(e) => e,
        };
        let first = &err.problems()[0];
        assert_eq!(first.code, case.code, "{}", case.file);
        assert_eq!(
            format!("{}:{}", first.line, first.column),
            case.at,
            "{}",
            case.file
        );
        assert_eq!(first.path, case.path, "{}", case.file);
    }
}

#[test]
fn several_problems_are_all_reported_in_order() {
    let path = util::fixture("bad/several-problems.json");
    let err = load_file(&path).expect_err("several problems");
    let got: Vec<_> = err
        .problems()
        .iter()
        .map(|d| (d.line, d.column, d.code, d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (3, 13, "unknown-flag", "flags[0]"),
            (5, 36, "unknown-action", "syscalls[0].action"),
            (9, 19, "out-of-range", "syscalls[1].errnoRet"),
            (10, 27, "bad-arg-index", "syscalls[1].args[0].index"),
            (12, 5, "missing-field", "syscalls[2].action"),
            (14, 21, "unknown-arch", "architectures[0]"),
        ]
    );
    // The command line shows them all, in the same order.
    let out = util::run(&["check", path.to_str().unwrap()]);
    let err = util::stderr(&out);
    let positions: Vec<_> = err
        .lines()
        .filter_map(|l| l.split("several-problems.json:").nth(1))
        .map(|rest| rest.split(": ").next().unwrap().to_string())
        .collect();
    assert_eq!(
        positions,
        ["3:13", "5:36", "9:19", "10:27", "12:5", "14:21"]
    );
}

#[test]
fn a_miscased_key_is_not_also_reported_missing() {
    for file in ["key-case.json", "key-case-rule.json"] {
        let err = load_file(&util::fixture(&format!("bad/{file}"))).unwrap_err();
        let codes: Vec<_> = err.problems().iter().map(|d| d.code).collect();
        assert_eq!(codes, ["key-case"], "{file}");
    }
}

/// The (path, hint) of each problem loading `text`.
fn problems_of(text: &str) -> Vec<(String, String)> {
    let err = load_str("case.json", text.to_string()).expect_err("should not load");
    err.problems()
        .iter()
        .map(|d| (d.path.clone(), d.hint.clone().unwrap_or_default()))
        .collect()
}

fn assert_miscased(text: &str, expect: &[(&str, &str)]) {
    let got = problems_of(text);
    let wanted: Vec<_> = expect
        .iter()
        .map(|(path, meant)| (path.to_string(), format!("did you mean \"{meant}\"?")))
        .collect();
    assert_eq!(got.len(), wanted.len(), "{got:#?}");
    for ((path, hint), (want_path, want_hint)) in got.iter().zip(&wanted) {
        assert_eq!(path, want_path);
        assert!(hint.starts_with(want_hint.as_str()), "{path}: {hint}");
    }
}

#[test]
fn miscased_keys_are_found_at_every_level() {
    // One pass finds them all and nothing else: no "missing" or "no
    // linux.seccomp" for keys that are merely miscased.
    assert_miscased(
        r#"{
  "ociVersion": "1.0.2",
  "Linux": {
    "Seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "syscalls": [{
        "names": ["read"], "action": "SCMP_ACT_ALLOW", "ErrnoRet": 1,
        "args": [{ "INDEX": 0, "op": "SCMP_CMP_EQ" }]
      }]
    }
  }
}"#,
        &[
            ("Linux", "linux"),
            ("linux.Seccomp", "seccomp"),
            ("linux.seccomp.syscalls[0].ErrnoRet", "errnoRet"),
            ("linux.seccomp.syscalls[0].args[0].INDEX", "index"),
        ],
    );
    assert_miscased(
        r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "ARCHMAP": [{ "Architecture": "SCMP_ARCH_X86_64" }],
  "syscalls": [{
    "Names": ["read"], "action": "SCMP_ACT_ALLOW",
    "excludes": { "min\u212Aernel": "5.8", "Caps": [] },
    "Includes": {}
  }]
}"#,
        &[
            ("ARCHMAP", "archMap"),
            ("archMap[0].Architecture", "architecture"),
            ("syscalls[0].Names", "names"),
            ("syscalls[0].excludes.min\u{212A}ernel", "minKernel"),
            ("syscalls[0].excludes.Caps", "caps"),
            ("syscalls[0].Includes", "includes"),
        ],
    );
}

#[test]
fn a_value_under_a_miscased_key_is_still_checked() {
    let got = problems_of(r#"{"DefaultAction": "SCMP_ACT_ALOW"}"#);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].1.starts_with("did you mean \"defaultAction\"?"));
    assert_eq!(got[1].1, "did you mean \"SCMP_ACT_ALLOW\"?");
}

#[test]
fn docker_only_fields_are_refused_in_a_config_json_only() {
    let rule = r#"{ "name": "bpf", "action": "SCMP_ACT_ALLOW",
        "includes": { "caps": ["CAP_BPF"] }, "excludes": { "arches": ["s390x"] } }"#;
    let seccomp = format!(
        r#"{{ "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{{ "architecture": "SCMP_ARCH_X86_64" }}], "syscalls": [{rule}] }}"#
    );
    let docker = load_str("p.json", seccomp.clone()).expect("fine as a Docker profile");
    assert_eq!(docker.rules[0].includes.caps, ["CAP_BPF"]);
    let config = format!(r#"{{ "ociVersion": "1.0.2", "linux": {{ "seccomp": {seccomp} }} }}"#);
    let paths: Vec<_> = problems_of(&config).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        [
            "linux.seccomp.archMap",
            "linux.seccomp.syscalls[0].name",
            "linux.seccomp.syscalls[0].includes",
            "linux.seccomp.syscalls[0].excludes",
        ]
    );
    // null is as good as absent, for runc as for Docker.
    let nulls = r#"{ "ociVersion": "1.0.2", "linux": { "seccomp": {
        "defaultAction": "SCMP_ACT_ERRNO", "archMap": null,
        "syscalls": [{ "names": ["read"], "action": "SCMP_ACT_ALLOW", "includes": null }] } } }"#;
    load_str("config.json", nulls.to_string()).expect("nulls are absent");
}

/// Loading never panics; whatever it refuses, it says where, inside the text.
mod never_panics {
    use super::*;
    use eperm::json::{self, Node, Span, Value};
    use eperm::profile::LoadError;
    use proptest::prelude::*;

    /// The properties every load must have, whatever the input.
    fn sane(text: &str, result: Result<Profile, LoadError>) -> Result<(), TestCaseError> {
        match result {
            Ok(profile) => {
                // If serde_json reads it, it must be the very same document.
                if let Ok(theirs) = serde_json::from_str::<serde_json::Value>(text) {
                    let ours = profile.root.to_serde();
                    prop_assert_eq!(
                        serde_json::to_string(&ours).unwrap(),
                        serde_json::to_string(&theirs).unwrap()
                    );
                }
            }
            Err(LoadError::File(_)) => prop_assert!(false, "no I/O in load_str"),
            Err(LoadError::Invalid { problems, .. }) => {
                prop_assert!(!problems.is_empty(), "an error without a diagnostic");
                let lines: Vec<&str> = text.split('\n').collect();
                for d in &problems {
                    prop_assert!(d.line >= 1 && d.line <= lines.len(), "{:?}", d);
                    let width = lines[d.line - 1].chars().count();
                    prop_assert!(d.column >= 1 && d.column <= width + 1, "{:?}", d);
                    prop_assert!(!d.message.is_empty());
                }
                let sorted = problems
                    .windows(2)
                    .all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column));
                prop_assert!(sorted, "problems out of order: {:?}", problems);
            }
        }
        // A strict parser must not refuse what serde_json accepts.
        if serde_json::from_str::<serde_json::Value>(text).is_ok() {
            prop_assert!(json::parse(text).is_ok(), "refused valid JSON");
        }
        Ok(())
    }

    fn load(text: String) -> Result<(), TestCaseError> {
        let result = load_str("fuzz.json", text.clone());
        sane(&text, result)
    }

    /// Pieces of JSON and of profiles, for token soup and insertions.
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "\n",
        "\"",
        "\\",
        "null",
        "true",
        "false",
        "0",
        "-1",
        "1.5e3",
        "18446744073709551616",
        "65536",
        "6",
        "\"\"",
        "\"x\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"é✓\"",
        "\u{feff}",
        "//",
        "/*",
        "\"defaultAction\"",
        "\"DefaultAction\"",
        "\"syscalls\"",
        "\"names\"",
        "\"name\"",
        "\"action\"",
        "\"errnoRet\"",
        "\"args\"",
        "\"index\"",
        "\"value\"",
        "\"valueTwo\"",
        "\"op\"",
        "\"includes\"",
        "\"excludes\"",
        "\"caps\"",
        "\"arches\"",
        "\"minKernel\"",
        "\"5.8\"",
        "\"architectures\"",
        "\"archMap\"",
        "\"architecture\"",
        "\"subArchitectures\"",
        "\"flags\"",
        "\"listenerPath\"",
        "\"linux\"",
        "\"seccomp\"",
        "\"ociVersion\"",
        "\"SCMP_ACT_ALLOW\"",
        "\"SCMP_ACT_ERRNO\"",
        "\"SCMP_ACT_NOTIFY\"",
        "\"SCMP_ACT_ALOW\"",
        "\"SCMP_CMP_MASKED_EQ\"",
        "\"SCMP_ARCH_X86_64\"",
        "\"SCMP_ARCH_AMD64\"",
        "\"SECCOMP_FILTER_FLAG_LOG\"",
        "\"read\"",
    ];

    fn token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(TOKENS)
    }

    /// Whole values, good and bad, that a profile's fields might hold.
    fn value_token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(
            &[
                "null",
                "true",
                "0",
                "1",
                "5",
                "6",
                "-1",
                "65535",
                "65536",
                "1.5",
                "1e2",
                "18446744073709551615",
                "18446744073709551616",
                "\"\"",
                "\"7\"",
                "\"0x10\"",
                "\"EPERM\"",
                "\"read\"",
                "\"5.8\"",
                "\"5.8.1\"",
                "\"SCMP_ACT_ALLOW\"",
                "\"SCMP_ACT_NOTIFY\"",
                "\"SCMP_ACT_ALOW\"",
                "\"SCMP_CMP_GTE\"",
                "\"SCMP_CMP_MASKED_EQ\"",
                "\"SCMP_ARCH_X86_64\"",
                "\"SCMP_ARCH_AMD64\"",
                "\"SECCOMP_FILTER_FLAG_LOGS\"",
                "[]",
                "{}",
                "[null]",
                "[\"read\"]",
                "[{}]",
                "[\"SCMP_ARCH_X32\"]",
                "{\"seccomp\": {}}",
                "{\"caps\": \"CAP_X\"}",
                "[{\"op\": \"SCMP_CMP_EQ\", \"index\": 9}]",
            ][..],
        )
    }

    /// Keys a profile has, miscased ones and strangers.
    fn key_token() -> impl Strategy<Value = &'static str> {
        prop::sample::select(
            &[
                "\"defaultAction\"",
                "\"DefaultAction\"",
                "\"defaultErrnoRet\"",
                "\"architectures\"",
                "\"archMap\"",
                "\"flags\"",
                "\"syscalls\"",
                "\"\u{17F}yscalls\"",
                "\"name\"",
                "\"names\"",
                "\"action\"",
                "\"Action\"",
                "\"errnoRet\"",
                "\"args\"",
                "\"index\"",
                "\"INDEX\"",
                "\"value\"",
                "\"valueTwo\"",
                "\"op\"",
                "\"includes\"",
                "\"excludes\"",
                "\"minKernel\"",
                "\"caps\"",
                "\"linux\"",
                "\"seccomp\"",
                "\"ociVersion\"",
                "\"comment\"",
                "\"x\"",
                "\"\"",
            ][..],
        )
    }

    /// One change to a good profile.
    #[derive(Clone, Debug)]
    enum Mutation {
        FlipBit {
            at: usize,
            bit: u8,
        },
        Delete {
            at: usize,
            len: usize,
        },
        Insert {
            at: usize,
            token: &'static str,
        },
        SwapValues {
            a: usize,
            b: usize,
        },
        DeleteMember {
            which: usize,
        },
        DuplicateMember {
            which: usize,
        },
        ReplaceValue {
            which: usize,
            token: &'static str,
        },
        RenameKey {
            which: usize,
            token: &'static str,
        },
        /// Replace the value of a member the loader reads.
        SetField {
            which: usize,
            token: &'static str,
        },
    }

    /// Keys whose values the loader reads.
    const PROFILE_KEYS: &[&str] = &[
        "defaultAction",
        "defaultErrnoRet",
        "architectures",
        "archMap",
        "architecture",
        "subArchitectures",
        "flags",
        "listenerPath",
        "listenerMetadata",
        "syscalls",
        "name",
        "names",
        "action",
        "errnoRet",
        "args",
        "index",
        "value",
        "valueTwo",
        "op",
        "comment",
        "includes",
        "excludes",
        "caps",
        "arches",
        "minKernel",
        "linux",
        "seccomp",
    ];

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            1 => (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
            1 => (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
            1 => (any::<usize>(), token()).prop_map(|(at, token)| Mutation::Insert { at, token }),
            1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapValues { a, b }),
            1 => any::<usize>().prop_map(|which| Mutation::DeleteMember { which }),
            1 => any::<usize>().prop_map(|which| Mutation::DuplicateMember { which }),
            3 => (any::<usize>(), value_token())
                .prop_map(|(which, token)| Mutation::ReplaceValue { which, token }),
            1 => (any::<usize>(), key_token())
                .prop_map(|(which, token)| Mutation::RenameKey { which, token }),
            4 => (any::<usize>(), value_token())
                .prop_map(|(which, token)| Mutation::SetField { which, token }),
        ]
    }

    /// Spans in a document: each value, each member (key to value), each
    /// key, and each member's key with its value's span.
    #[derive(Default)]
    struct Spans {
        values: Vec<Span>,
        members: Vec<Span>,
        keys: Vec<Span>,
        fields: Vec<(String, Span)>,
    }

    fn collect(node: &Node, out: &mut Spans) {
        out.values.push(node.span);
        match &node.value {
            Value::Object(ms) => {
                for m in ms {
                    out.members.push(Span {
                        start: m.key_span.start,
                        end: m.value.span.end,
                    });
                    out.keys.push(m.key_span);
                    out.fields.push((m.key.clone(), m.value.span));
                    collect(&m.value, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|n| collect(n, out)),
            _ => {}
        }
    }

    fn replace(text: &str, span: Span, with: &str) -> String {
        format!("{}{with}{}", &text[..span.start], &text[span.end..])
    }

    fn boundary(text: &str, at: usize) -> usize {
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    fn apply(text: String, m: &Mutation) -> String {
        match *m {
            Mutation::FlipBit { at, bit } => {
                let mut bytes = text.into_bytes();
                if !bytes.is_empty() {
                    let at = at % bytes.len();
                    bytes[at] ^= 1 << bit;
                }
                String::from_utf8_lossy(&bytes).into_owned()
            }
            Mutation::Delete { at, len } => {
                let start = boundary(&text, at);
                let end = boundary(&text, (start + len).min(text.len()));
                format!("{}{}", &text[..start], &text[end.max(start)..])
            }
            Mutation::Insert { at, token } => {
                let at = boundary(&text, at);
                format!("{}{token}{}", &text[..at], &text[at..])
            }
            _ => structural(text, m),
        }
    }

    /// Mutations that need the document's structure; a no-op on broken JSON.
    fn structural(text: String, m: &Mutation) -> String {
        let Ok(root) = json::parse(&text) else {
            return text;
        };
        let mut spans = Spans::default();
        collect(&root, &mut spans);
        let fields: Vec<Span> = spans
            .fields
            .iter()
            .filter(|(key, _)| PROFILE_KEYS.contains(&key.as_str()))
            .map(|&(_, value)| value)
            .collect();
        let Spans {
            values,
            members,
            keys,
            ..
        } = spans;
        let piece = |s: Span| &text[s.start..s.end];
        match *m {
            Mutation::SwapValues { a, b } => {
                let (a, b) = (values[a % values.len()], values[b % values.len()]);
                let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
                if first.end > second.start {
                    return text; // one holds the other
                }
                format!(
                    "{}{}{}{}{}",
                    &text[..first.start],
                    piece(second),
                    &text[first.end..second.start],
                    piece(first),
                    &text[second.end..]
                )
            }
            Mutation::DeleteMember { which } if !members.is_empty() => {
                let m = members[which % members.len()];
                let after = &text[m.end..];
                let (start, end) = match after.trim_start().strip_prefix(',') {
                    Some(rest) => (m.start, text.len() - rest.len()),
                    None => {
                        let before = text[..m.start].trim_end();
                        match before.strip_suffix(',') {
                            Some(kept) => (kept.len(), m.end),
                            None => (m.start, m.end),
                        }
                    }
                };
                format!("{}{}", &text[..start], &text[end..])
            }
            Mutation::DuplicateMember { which } if !members.is_empty() => {
                let m = members[which % members.len()];
                format!("{}, {}{}", &text[..m.end], piece(m), &text[m.end..])
            }
            Mutation::ReplaceValue { which, token } => {
                replace(&text, values[which % values.len()], token)
            }
            Mutation::RenameKey { which, token } if !keys.is_empty() => {
                replace(&text, keys[which % keys.len()], token)
            }
            Mutation::SetField { which, token } if !fields.is_empty() => {
                replace(&text, fields[which % fields.len()], token)
            }
            _ => text,
        }
    }

    fn fixtures() -> &'static [(String, String)] {
        static FIXTURES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
        FIXTURES.get_or_init(good_fixtures)
    }

    #[test]
    fn mutations_keep_the_document_valid_json_where_they_should() {
        // The structural mutations are meant to yield JSON: check they do, so
        // that the fuzzing below really reaches the reader, not just the parser.
        let text = fixtures()
            .iter()
            .find(|(n, _)| n == "all-ops.json")
            .map(|(_, t)| t.clone())
            .unwrap();
        for which in 0..40 {
            for m in [
                Mutation::DeleteMember { which },
                Mutation::DuplicateMember { which },
                Mutation::SwapValues {
                    a: which,
                    b: which * 7 + 3,
                },
            ] {
                let out = apply(text.clone(), &m);
                assert!(json::parse(&out).is_ok(), "{m:?}:\n{out}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        #[test]
        fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            load(String::from_utf8_lossy(&bytes).into_owned())?;
        }

        #[test]
        fn random_json_characters(
            bytes in prop::collection::vec(
                prop::sample::select(b"{}[],:\"\\ \n\t0123456789-+.eEtrufalsn/*u".to_vec()),
                0..200,
            )
        ) {
            load(String::from_utf8(bytes).unwrap())?;
        }

        #[test]
        fn token_soup(tokens in prop::collection::vec(token(), 0..80)) {
            load(tokens.concat())?;
        }

        #[test]
        fn mutated_good_profiles(
            which in any::<usize>(),
            mutations in prop::collection::vec(mutation(), 1..5),
        ) {
            let all = fixtures();
            let mut text = all[which % all.len()].1.clone();
            for m in &mutations {
                text = apply(text, m);
            }
            load(text)?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Through a file, so that bytes that are not UTF-8 reach the loader.
        #[test]
        fn random_bytes_from_a_file(
            which in any::<usize>(),
            flips in prop::collection::vec((any::<usize>(), 0x80..=0xffu8), 0..3),
        ) {
            let all = fixtures();
            let mut bytes = all[which % all.len()].1.clone().into_bytes();
            for (at, b) in flips {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("p.json");
            std::fs::write(&path, &bytes).unwrap();
            let result = load_file(&path);
            match std::str::from_utf8(&bytes) {
                Ok(text) => sane(text, result)?,
                Err(e) => {
                    let Err(LoadError::Invalid { problems, .. }) = result else {
                        return Err(TestCaseError::fail("non-UTF-8 file loaded"));
                    };
                    prop_assert_eq!(problems.len(), 1);
                    prop_assert_eq!(problems[0].code, "not-utf8");
                    let text = String::from_utf8_lossy(&bytes);
                    let at = json::LineCol::of(&text, e.valid_up_to());
                    prop_assert_eq!((problems[0].line, problems[0].column), (at.line, at.col));
                }
            }
        }
    }
}

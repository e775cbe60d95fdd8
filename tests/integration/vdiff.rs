//! Profiles compared by verdicts: `eperm diff`, `check --baseline`,
//! `check --oci-artifact` and `eperm rebase`, on Docker's real default
//! profiles of several years (tests/fixtures/moby), and (feature
//! `differential`) `diff` held to what libseccomp's own filters decide.

use crate::util::{assert_has, assert_lacks, eperm_ok, fixture, run, stderr, stdout};
use std::collections::BTreeSet;

const V20: &str = "moby/default-v20.10.0.json";
const V24: &str = "moby/default-v24.0.0.json";
const V28: &str = "moby/default-v28.5.2.json";
const CUSTOM: &str = "moby/custom-from-v20.10.0.json";

/// One target for every test, whatever runtime this machine has.
const TARGET: &[&str] = &[
    "--arch",
    "x86_64",
    "--kernel",
    "6.1",
    "--runtime",
    "runc@1.1.5",
    "--libseccomp",
    "2.5.4",
];

fn path(rel: &str) -> String {
    fixture(rel).display().to_string()
}

/// eperm with `args` and the pinned target, run in the fixtures directory.
fn targeted(args: &[&str]) -> std::process::Output {
    crate::util::eperm()
        .current_dir(fixture(""))
        .args(args)
        .args(TARGET)
        .output()
        .unwrap()
}

/// `eperm diff OLD NEW --json` with the test target: the report and the exit code.
fn diff_json(old: &str, new: &str) -> (serde_json::Value, i32) {
    let mut args = vec!["diff", old, new, "--json"];
    args.extend(TARGET);
    let out = run(&args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (v, out.status.code().unwrap_or(-1))
}

/// The (arch, syscall) pairs a `diff --json` report lists.
fn changed(v: &serde_json::Value) -> BTreeSet<(String, String)> {
    v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("arch"), s("syscall"))
        })
        .collect()
}

fn names(v: &serde_json::Value) -> BTreeSet<String> {
    changed(v).into_iter().map(|(_, n)| n).collect()
}

#[test]
fn a_profile_and_its_spo_export_decide_every_call_alike() {
    let dir = tempfile::tempdir().unwrap();
    for rel in [V20, V28] {
        let yaml = dir.path().join("export.yaml");
        let (spo, _) = eperm_ok(&["export", "--format", "spo", &path(rel)]);
        std::fs::write(&yaml, spo).unwrap();
        let (v, code) = diff_json(&path(rel), yaml.to_str().unwrap());
        assert_eq!(code, 0, "{rel}: {v}");
        assert_eq!(v["same"], true, "{v}");
        assert_eq!(v["arches"], serde_json::json!(["x86_64", "x86", "x32"]));
    }
}

#[test]
fn docker_defaults_of_two_years_differ_in_verdicts_and_exit_1() {
    let (v, code) = diff_json(&path(V20), &path(V28));
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["same"], false);
    let n = names(&v);
    // io_uring was allowed in 20.10 and denied in 2023 (moby#46762).
    for name in ["io_uring_setup", "io_uring_enter", "close_range", "socket"] {
        assert!(n.contains(name), "{name} not in {n:?}");
    }
    assert!(!n.contains("read") && !n.contains("mount"), "{n:?}");
    // socket changed only for AF_VSOCK (40), shown as the argument value.
    let socket = v["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["syscall"] == "socket" && c["arch"] == "x86_64")
        .unwrap();
    assert_eq!(socket["by_argument"], true, "{socket}");
    assert_eq!(socket["changes"][0]["args"]["0"], "0x28", "{socket}");
    assert_eq!(socket["changes"][0]["old"]["action"], "SCMP_ACT_ALLOW");
    assert_eq!(socket["changes"][0]["new"]["errno"], "EPERM");
    // The text form: grouped by change, counted.
    let out = targeted(&["diff", V20, V28]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_has(&text, "SCMP_ACT_ALLOW → SCMP_ACT_ERRNO(EPERM) (3): io_uring_setup, io_uring_enter, io_uring_register");
    assert_has(
        &text,
        "socket (by argument): args[0]=0x28: SCMP_ACT_ALLOW → SCMP_ACT_ERRNO(EPERM)",
    );
}

#[test]
fn diff_is_symmetric_in_the_calls_it_lists() {
    let (a, _) = diff_json(&path(V24), &path(V28));
    let (b, _) = diff_json(&path(V28), &path(V24));
    assert_eq!(changed(&a), changed(&b));
    let (same, code) = diff_json(&path(V24), &path(V24));
    assert_eq!((same["differences"].as_u64(), code), (Some(0), 0));
}

#[test]
fn diff_of_a_bad_profile_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"defaultAction\": \"SCMP_ACT_NOPE\"}").unwrap();
    let out = run(&["diff", &path(V28), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_has(&stderr(&out), "bad.json:1:");
    assert_has(&stderr(&out), "SCMP_ACT_NOPE");
}

/// v28's default with `mount` added to its allow list, by `eperm edit`.
fn with_mount(dir: &std::path::Path) -> String {
    let p = dir.join("with-mount.json");
    std::fs::copy(fixture(V28), &p).unwrap();
    eperm_ok(&["edit", p.to_str().unwrap(), "--allow", "mount"]);
    p.display().to_string()
}

#[test]
fn check_baseline_errs_for_each_arch_on_a_profile_that_adds_mount() {
    let dir = tempfile::tempdir().unwrap();
    let looser = with_mount(dir.path());
    let out = targeted(&["check", "--baseline", V28, &looser]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    for arch in ["x86_64", "x86", "x32"] {
        assert_has(
            &text,
            &format!("error[looser-than-baseline]: syscalls[0]: {arch} mount: SCMP_ACT_ALLOW here, SCMP_ACT_ERRNO(EPERM) in {V28}"),
        );
    }
    assert_has(&text, "3 errors");
}

#[test]
fn check_baseline_is_clean_for_the_same_or_a_tighter_profile() {
    let dir = tempfile::tempdir().unwrap();
    let tighter = dir.path().join("tighter.json");
    std::fs::copy(fixture(V28), &tighter).unwrap();
    let t = tighter.to_str().unwrap();
    eperm_ok(&[
        "edit",
        t,
        "--deny",
        "ptrace,chmod:EACCES",
        "--remove",
        "socket",
    ]);
    for profile in [path(V28), t.to_string()] {
        let out = targeted(&["check", "--baseline", V28, &profile]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{profile}: {text}");
        assert_lacks(&text, "looser-than-baseline");
    }
    // The other way round, the baseline is looser than the tighter profile.
    let out = targeted(&["check", "--baseline", t, V28]);
    assert_eq!(out.status.code(), Some(1));
    assert_has(
        &stdout(&out),
        "x86_64 chmod: SCMP_ACT_ALLOW here, SCMP_ACT_ERRNO(EACCES)",
    );
    // v28 allows socket but for AF_VSOCK (40): the values tried around it.
    assert_has(
        &stdout(&out),
        "x86_64 socket for args[0]=0x0; args[0]=0x27; args[0]=0x29;",
    );
    assert_lacks(&stdout(&out), "args[0]=0x28;");
}

#[test]
fn check_oci_artifact_refuses_notify_and_listener_fields() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("agent.json");
    std::fs::write(
        &p,
        r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "listenerPath": "/run/agent.sock",
  "syscalls": [
    {"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"}
  ]
}
"#,
    )
    .unwrap();
    let p = p.to_str().unwrap();
    let out = run(&["check", p]);
    assert_lacks(&stdout(&out), "oci-artifact");
    let out = run(&["check", "--oci-artifact", p]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert_has(&text, "agent.json:3:19: error[oci-artifact]: listenerPath: listenerPath: runtimes refuse listener fields");
    assert_has(
        &text,
        "agent.json:6:5: error[oci-artifact]: syscalls[1].action: SCMP_ACT_NOTIFY",
    );
    // Docker's default passes.
    let out = run(&["check", "--oci-artifact", &path(V28)]);
    assert_lacks(&stdout(&out), "oci-artifact");
}

/// `rebase` of a custom profile made from 20.10's default (mount and
/// close_range allowed, chmod EACCES, io_uring_setup ENOSYS, ioctl without
/// TIOCSTI) onto 28.5's.
fn rebased(dir: &std::path::Path) -> (String, String, i32) {
    let out_path = dir.join("rebased.json");
    let mut args = vec![
        "rebase".to_string(),
        path(CUSTOM),
        "--from".into(),
        path(V20),
        "--onto".into(),
        path(V28),
        "-o".into(),
        out_path.display().to_string(),
    ];
    args.extend(TARGET.iter().map(|s| s.to_string()));
    let out = crate::util::eperm().args(&args).output().unwrap();
    (
        out_path.display().to_string(),
        stderr(&out),
        out.status.code().unwrap_or(-1),
    )
}

#[test]
fn rebase_carries_the_custom_changes_and_nothing_else_by_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let (out, report, code) = rebased(dir.path());
    // io_uring_setup: CUSTOM says ENOSYS, NEW says EPERM: for the user.
    assert_eq!(code, 1, "{report}");
    assert_has(&report, "3 carried, 1 already in NEW, 1 for you to decide");
    assert_has(
        &report,
        "conflict io_uring_setup: NEW changed this syscall too",
    );
    assert_has(&report, "already in NEW close_range");
    // The result differs from NEW exactly by CUSTOM's carried changes, value
    // for value, as CUSTOM differs from OLD.
    let (theirs, _) = diff_json(&path(V28), &out);
    let (mine, _) = diff_json(&path(V20), &path(CUSTOM));
    let carried: BTreeSet<String> = ["chmod", "mount", "ioctl"].map(String::from).into();
    assert_eq!(names(&theirs), carried, "{theirs}");
    let keep = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| carried.contains(c["syscall"].as_str().unwrap()))
            .cloned()
            .collect()
    };
    assert_eq!(keep(&theirs), keep(&mine));
    // Minimal edits of NEW's text: NEW's lines stay, three names move.
    let new_text = std::fs::read_to_string(fixture(V28)).unwrap();
    let out_text = std::fs::read_to_string(&out).unwrap();
    let removed = new_text.lines().filter(|l| !out_text.contains(l)).count();
    assert!(removed <= 2, "{removed} lines of NEW are gone:\n{out_text}");
}

#[test]
fn rebase_will_not_write_over_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let custom = dir.path().join("custom.json");
    std::fs::copy(fixture(CUSTOM), &custom).unwrap();
    let before = std::fs::read(&custom).unwrap();
    let c = custom.to_str().unwrap();
    let out = run(&[
        "rebase",
        c,
        "--from",
        &path(V20),
        "--onto",
        &path(V28),
        "-o",
        c,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_has(&stderr(&out), "eperm will not write over it");
    assert_eq!(std::fs::read(&custom).unwrap(), before);
}

#[cfg(feature = "differential")]
mod differential {
    use super::*;
    use crate::compile::differential::{arg_vectors, disagreeing_names, libseccomp_program_for};
    use crate::compile::{load, resolve_for, target};
    use eperm::arch::Arch;
    use eperm::compile::{self, bpf, Mode, SeccompData};
    use eperm::verdicts::{diff, Side};

    const SET: &[Arch] = &[Arch::X86_64, Arch::X86, Arch::X32];

    /// The (arch, syscall) pairs whose verdict differs between libseccomp's
    /// programs for `old` and `new` (built as runc builds them), on every
    /// probe of either profile.
    fn by_libseccomp(old: &str, new: &str) -> BTreeSet<(Arch, &'static str)> {
        let (old, new) = (load(old), load(new));
        let mut skip = disagreeing_names(&old, SET);
        skip.extend(disagreeing_names(&new, SET));
        let t = target(SET[0]);
        let a = libseccomp_program_for(&old, SET, &skip, &t).unwrap();
        let b = libseccomp_program_for(&new, SET, &skip, &t).unwrap();
        let mut vectors = arg_vectors(&old);
        vectors.extend(arg_vectors(&new));
        vectors.sort_unstable();
        vectors.dedup();
        let mut out = BTreeSet::new();
        for &arch in SET {
            for &(name, nr) in arch.syscalls() {
                for &args in &vectors {
                    let data = SeccompData::call(arch, nr, args);
                    if bpf::run(&a, &data).0 != bpf::run(&b, &data).0 {
                        out.insert((arch, name));
                    }
                }
            }
        }
        out
    }

    /// What `eperm::verdicts::diff` lists for the same target and names.
    fn by_eperm(old: &str, new: &str) -> BTreeSet<(Arch, &'static str)> {
        let (old, new) = (load(old), load(new));
        let mut skip = disagreeing_names(&old, SET);
        skip.extend(disagreeing_names(&new, SET));
        let compiled = |p| {
            let mut r = resolve_for(p, SET);
            r.rules.retain(|e| !skip.contains(&e.name));
            let c = compile::compile(&r, Mode::Enforce).unwrap();
            (r, c)
        };
        let (ro, co) = compiled(&old);
        let (rn, cn) = compiled(&new);
        let side = |r, c| Side {
            resolved: r,
            compiled: c,
        };
        let d = diff(side(&ro, &co), side(&rn, &cn));
        d.changes.iter().map(|c| (c.arch, c.name)).collect()
    }

    #[test]
    fn diff_lists_exactly_the_calls_libseccomp_decides_differently() {
        for (old, new) in [(V20, V28), (V20, V24), (V24, V28), (V20, CUSTOM)] {
            let theirs = by_libseccomp(old, new);
            assert!(!theirs.is_empty(), "{old} {new}");
            assert_eq!(by_eperm(old, new), theirs, "{old} → {new}");
        }
    }
}

#[test]
fn rebase_onto_a_seccompprofile_edits_its_yaml_alike() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.yaml");
    let (spo, _) = eperm_ok(&["export", "--format", "spo", &path(V28)]);
    std::fs::write(&new, &spo).unwrap();
    let out = dir.path().join("out.yaml");
    let (new_s, out_s) = (new.to_str().unwrap(), out.to_str().unwrap());
    let mut args = vec![
        "rebase", CUSTOM, "--from", V20, "--onto", new_s, "-o", out_s,
    ];
    args.extend(TARGET);
    let done = crate::util::eperm()
        .current_dir(fixture(""))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(done.status.code(), Some(1), "{}", stderr(&done));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(spo.lines().next().unwrap()), "{text}");
    assert_has(&text, "  # carried from moby/custom-from-v20.10.0.json by eperm rebase\n  - names:\n    - ioctl\n");
    let (yaml, _) = diff_json(new_s, out_s);
    let (from_json, _, _) = rebased(dir.path());
    let (json, _) = diff_json(&path(V28), &from_json);
    assert_eq!(yaml["calls"], json["calls"]);
    assert_eq!(names(&yaml).len(), 3, "{yaml}");
}

#[test]
fn arches_only_one_profile_covers_are_differences() {
    let dir = tempfile::tempdir().unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(V28)).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("archMap");
    let native = dir.path().join("native.json");
    std::fs::write(&native, v.to_string()).unwrap();
    let (d, code) = diff_json(native.to_str().unwrap(), &path(V28));
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["arches"], serde_json::json!(["x86_64"]));
    assert_eq!(d["only_new"], serde_json::json!(["x86", "x32"]));
    assert_eq!(d["only_old"], serde_json::json!([]));
    // And check --baseline calls the wider profile looser, at its archMap.
    let out = targeted(&["check", "--baseline", native.to_str().unwrap(), V28]);
    assert_eq!(out.status.code(), Some(1));
    assert_has(
        &stdout(&out),
        "error[looser-than-baseline]: archMap: the filter covers x32",
    );
}

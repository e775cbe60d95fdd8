//! Kubernetes: SeccompProfile YAML in and out (`export`, `--format`), `merge`,
//! and events named by the container their process runs in.

use crate::util::{
    eperm_within, fixture, require_root, run, run_under, stderr, stdout, with_command,
};
use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::{self, Mode};
use eperm::profile::export::{export, ExportError, Format, SpoApi, SpoMeta};
use eperm::profile::load::SPO_VALUE_MAX;
use eperm::profile::{load_file, load_str, resolve, CmpOp, KernelVersion, Profile, Target};
use eperm::sources::cgroup::from_cgroup;
use std::collections::BTreeSet;
use std::process::Output;
use std::time::Duration;

/// Every well-formed profile fixture, in each form eperm reads.
const FIXTURES: &[&str] = &[
    "good/all-actions.json",
    "good/all-ops.json",
    "good/architectures-flags.json",
    "good/duplicate-keys.json",
    "good/filters.json",
    "good/minimal.json",
    "good/nulls.json",
    "good/oci-config.json",
    "good/oci-seccomp-object.json",
    "good/singular-name.json",
    "good/unknown-fields.json",
    "check/clean.json",
    "check/lints.json",
    "check/notify-write.json",
    "compile/actions.json",
    "compile/conflict.json",
    "compile/default.json",
    "compile/docker-like.json",
    "compile/includes.json",
    "compile/ops.json",
    "compile/overlap.json",
    "edit/allow-default.json",
    "edit/docker-like.json",
    "edit/inline.json",
    "edit/no-syscalls.json",
    "edit/oci-config.json",
    "edit/old-format.json",
    "edit/spaces4.json",
    "spo/profile.yaml",
    "spo/v1beta1.yaml",
];

fn target() -> Target {
    Target {
        arch: Arch::X86_64,
        caps: CapSet::docker_default(),
        kernel: KernelVersion::parse("6.1"),
        runtime: None,
    }
}

fn meta() -> SpoMeta {
    SpoMeta {
        name: "roundtrip".into(),
        namespace: None,
        api: SpoApi::V1,
    }
}

/// Argument vectors that tell conditions apart: zero, and each condition met,
/// missed by one, and with its high word flipped.
fn arg_vectors(p: &Profile) -> Vec<[u64; 6]> {
    let mut out = BTreeSet::from([[0u64; 6], [u64::MAX; 6]]);
    for c in p.rules.iter().flat_map(|r| &r.args) {
        let met = match c.op {
            CmpOp::MaskedEq => c.value_two,
            _ => c.value,
        };
        for v in [met, met.wrapping_add(1), met.wrapping_sub(1), met ^ 1 << 32] {
            let mut a = [0u64; 6];
            a[c.index as usize] = v;
            out.insert(a);
        }
    }
    out.into_iter().collect()
}

/// Differences between the verdicts of two profiles for `target`, on every
/// syscall of every arch the first covers.
fn verdict_differences(a: &Profile, b: &Profile, target: &Target) -> Vec<String> {
    let (ra, rb) = (resolve(a, target), resolve(b, target));
    let (ca, cb) = match (
        compile::compile(&ra, Mode::Enforce),
        compile::compile(&rb, Mode::Enforce),
    ) {
        (Ok(ca), Ok(cb)) => (ca, cb),
        (Err(ea), Err(eb)) => {
            return if ea.to_string() == eb.to_string() {
                Vec::new()
            } else {
                vec![format!("both refused, differently: {ea} / {eb}")]
            }
        }
        (x, y) => {
            return vec![format!(
                "one compiles, one not: {:?} / {:?}",
                x.err(),
                y.err()
            )]
        }
    };
    let mut diffs = Vec::new();
    if ra.arches != rb.arches {
        diffs.push(format!("arches {:?} / {:?}", ra.arches, rb.arches));
    }
    let vectors = arg_vectors(a);
    for &arch in &ra.arches {
        for &(name, nr) in arch.syscalls() {
            for args in &vectors {
                let (va, vb) = (ca.evaluate(arch, nr, *args), cb.evaluate(arch, nr, *args));
                if va.verdict != vb.verdict {
                    diffs.push(format!(
                        "{arch:?} {name} {args:x?}: {:?} / {:?}",
                        va.verdict, vb.verdict
                    ));
                }
            }
            // The programs themselves, not only the model, on the plain call.
            if ca.run(arch, nr, [0; 6]).0 != cb.run(arch, nr, [0; 6]).0 {
                diffs.push(format!("{arch:?} {name}: the BPF programs differ"));
            }
        }
    }
    diffs
}

/// What the SPO form must refuse for `p` (for `target`), if anything.
fn spo_refusal(p: &Profile, target: &Target) -> Option<&'static str> {
    use eperm::profile::resolve::filtered_out;
    let kept = p
        .rules
        .iter()
        .filter(|r| filtered_out(r, target).is_none() && !r.names.is_empty());
    for r in kept {
        if r.args.len() > 6 {
            return Some("args");
        }
        if r.args
            .iter()
            .any(|a| a.value > SPO_VALUE_MAX || a.value_two > SPO_VALUE_MAX)
        {
            return Some("value");
        }
    }
    let errno_default = p.default_action.takes_data() && p.default_errno.is_some_and(|e| e != 1);
    if errno_default {
        return Some("defaultErrnoRet");
    }
    let spo_socket = |l: &str| l.starts_with("/var/run/security-profiles-operator/");
    p.listener_path
        .as_deref()
        .filter(|l| !spo_socket(l))
        .map(|_| "listenerPath")
}

#[test]
fn every_fixture_exported_and_read_back_gives_the_same_verdicts() {
    let target = target();
    let mut checked = 0;
    let mut failures = Vec::new();
    for name in FIXTURES {
        let original = load_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        for format in [Format::Spo, Format::Oci, Format::Docker] {
            let out = export(&original, &target, format, &meta());
            let text = match (format, out) {
                (_, Ok(text)) => text,
                (Format::Spo, Err(e)) => {
                    // A refusal must be one the CRD really forces, and say so.
                    let why = spo_refusal(&original, &target);
                    let expected = match &e {
                        ExportError::ValueTooLarge { .. } => why == Some("value"),
                        ExportError::TooManyArgs { .. } => why == Some("args"),
                        ExportError::DefaultErrno { .. } => why == Some("defaultErrnoRet"),
                        ExportError::ListenerPath { .. } => why == Some("listenerPath"),
                        _ => false,
                    };
                    if !expected {
                        failures.push(format!(
                            "{name} spo: refused for no reason the CRD has: {e}"
                        ));
                    }
                    checked += 1;
                    continue;
                }
                (_, Err(e)) => {
                    failures.push(format!("{name} {format:?}: {e}"));
                    continue;
                }
            };
            if format == Format::Spo {
                if let Some(why) = spo_refusal(&original, &target) {
                    failures.push(format!("{name}: spo export should have refused ({why})"));
                }
            }
            let back = match load_str(&format!("{name}.{format:?}"), text.clone()) {
                Ok(p) => p,
                Err(e) => {
                    failures.push(format!("{name} {format:?} does not read back: {e}\n{text}"));
                    continue;
                }
            };
            for d in verdict_differences(&original, &back, &target)
                .into_iter()
                .take(5)
            {
                failures.push(format!("{name} {format:?}: {d}"));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, FIXTURES.len() * 3);
}

/// `eperm export --format FORMAT OPTIONS` of the fixture `name`.
fn export_fixture(format: &str, options: &[&str], name: &str) -> Output {
    let path = fixture(name);
    let mut args = vec!["export", "--format", format];
    args.extend_from_slice(options);
    args.push(path.to_str().unwrap());
    run(&args)
}

#[test]
fn export_refuses_a_mask_of_all_ones_with_the_rule_and_exit_2() {
    let out = export_fixture("spo", &[], "spo/mask-all-ones.json");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "syscalls[0].args[0].value: 18446744073709551615 cannot be written in a SeccompProfile"
        ),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(
        stdout(&out).is_empty(),
        "nothing half-written: {}",
        stdout(&out)
    );
    // The same profile goes out as Docker JSON unchanged.
    let out = export_fixture("docker", &[], "spo/mask-all-ones.json");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("18446744073709551615"));
}

#[test]
fn export_writes_the_resource_kubectl_applies() {
    let out = export_fixture(
        "spo",
        &["--name", "web", "--namespace", "team-a", "--api", "v1beta1"],
        "edit/docker-like.json",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let y = stdout(&out);
    for line in [
        "apiVersion: security-profiles-operator.x-k8s.io/v1beta1\n",
        "kind: SeccompProfile\n",
        "metadata:\n  name: web\n  namespace: team-a\n",
        "spec:\n",
        "  syscalls:\n",
    ] {
        assert!(y.contains(line), "{line:?} missing from:\n{y}");
    }
    let bad = export_fixture("spo", &["--name", "Web_1"], "good/minimal.json");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("--name \"web-1\""),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn yaml_profiles_are_checked_and_explained_with_yaml_positions() {
    let path = fixture("spo/profile.yaml");
    let out = run(&["explain", path.to_str().unwrap(), "socket", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("SCMP_ACT_ALLOW"), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("spec.syscalls[2]"),
        "{}",
        stdout(&out)
    );
    let out = run(&["explain", path.to_str().unwrap(), "clone3"]);
    assert!(stdout(&out).contains("ENOSYS"), "{}", stdout(&out));
    let cases: &[(&str, &str)] = &[
        ("spo/bad-value.yaml", "bad-value.yaml:12:14: error[out-of-range]: spec.syscalls[0].args[0].value: 18446744073709551615 is larger than the largest allowed, 9223372036854775807"),
        ("spo/bad-field.yaml", "bad-field.yaml:7:3: error[unknown-field]: spec.defaultErrnoRet"),
        ("spo/bad-field.yaml", "bad-field.yaml:11:5: error[unknown-field]: spec.syscalls[0].comment"),
        ("spo/bad-kind.yaml", "bad-kind.yaml:2:7: error[not-a-profile]: kind: kind \"Pod\" is not a SeccompProfile"),
        ("spo/bad-syntax.yaml", "bad-syntax.yaml:7:11: error[syntax]: spec.syscalls[0].names: invalid YAML"),
        ("spo/bad-action.yaml", "bad-action.yaml:8:13: error[unknown-action]: spec.syscalls[0].action: unknown action \"SCMP_ACT_ALOW\""),
    ];
    for (file, want) in cases {
        let out = run(&["check", fixture(file).to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(want),
            "{file}: want {want:?} in:\n{}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("hint:") || file.contains("syntax"),
            "{file}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn check_warns_that_a_base_profile_is_left_out() {
    let out = run(&["check", fixture("spo/v1beta1.yaml").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        text.contains("v1beta1.yaml:8:20: warning[base-profile]: spec.baseProfileName: the cluster unions the base profile \"runc-v1.1.5\""),
        "{text}"
    );
}

#[test]
fn edit_of_a_seccomp_profile_changes_only_the_lines_it_must() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yaml");
    let before = std::fs::read_to_string(fixture("spo/profile.yaml")).unwrap();
    std::fs::write(&path, &before).unwrap();
    let p = path.to_str().unwrap();
    let out = run(&[
        "edit",
        p,
        "--allow",
        "close",
        "--deny",
        "mount:ENOSYS",
        "--remove",
        "personality",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let after = std::fs::read_to_string(&path).unwrap();
    let diff = similar::TextDiff::from_lines(&before, &after);
    let changed: Vec<String> = diff
        .iter_all_changes()
        .filter(|c| c.tag() != similar::ChangeTag::Equal)
        .map(|c| format!("{}{}", c.tag(), c.value().trim_end()))
        .collect();
    assert_eq!(
        changed,
        // `close` joins no commented rule ("what every Go program needs"): it gets
        // a rule of its own at the end, where `personality`'s was. Nor does
        // `mount` join clone3's, whose comment speaks of glibc's fallback.
        [
            "-    - personality",
            "+    - close",
            "-    args:",
            "-    - {index: 0, value: 0xffffffff, valueTwo: 8, op: SCMP_CMP_MASKED_EQ}",
            "+  - names:",
            "+    - mount",
            "+    action: SCMP_ACT_ERRNO",
            "+    errnoRet: 38",
        ],
        "{after}"
    );
    let p = load_file(&path).unwrap();
    assert_eq!(
        p.rules[0].comment.as_deref(),
        Some("what every Go program needs")
    );
    assert!(
        !p.rules[0].names.iter().any(|n| n.name == "close"),
        "{after}"
    );
}

/// Records `cmd` from an empty profile into `out`.
fn record(cmd: &[&str], out: &std::path::Path) {
    let head = ["record", "--empty", "-o", out.to_str().unwrap()];
    let rec = eperm_within(&with_command(&head, cmd), Duration::from_secs(60));
    assert_eq!(
        rec.status.code(),
        Some(0),
        "record {cmd:?}: {}",
        stderr(&rec)
    );
}

#[test]
fn a_recorded_spo_file_names_what_it_was_recorded_from_not_itself() {
    require_root("recording installs a seccomp filter");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("api.yaml");
    let head = [
        "record",
        "--empty",
        "--format",
        "spo",
        "-o",
        out.to_str().unwrap(),
    ];
    let rec = eperm_within(&with_command(&head, &["true"]), Duration::from_secs(60));
    assert_eq!(rec.status.code(), Some(0), "{}", stderr(&rec));
    let yaml = std::fs::read_to_string(&out).unwrap();
    let header = yaml
        .lines()
        .find(|l| l.contains("Exported by eperm"))
        .unwrap_or_else(|| panic!("no header in {yaml}"));
    assert!(header.contains("from a recorded run of true"), "{header}");
    assert!(!header.contains("api.yaml"), "{header}");
}

#[test]
fn merged_recordings_of_two_programs_run_both_enforced() {
    require_root("recording and enforcing install seccomp filters");
    let dir = tempfile::tempdir().unwrap();
    let (a, b, m) = (
        dir.path().join("ls.json"),
        dir.path().join("sh.json"),
        dir.path().join("merged.yaml"),
    );
    let ls: &[&str] = &["ls", "-l", "/"];
    let sh: &[&str] = &[
        "sh",
        "-c",
        "mkdir -p /tmp/eperm-merge-test && rmdir /tmp/eperm-merge-test && cat /etc/hostname",
    ];
    record(ls, &a);
    record(sh, &b);
    let out = run(&[
        "merge",
        "-o",
        m.to_str().unwrap(),
        "--format",
        "spo",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = std::fs::read_to_string(&m).unwrap();
    assert!(yaml.contains("kind: SeccompProfile"), "{yaml}");
    assert!(yaml.contains("# needed by every input"), "{yaml}");
    assert!(
        yaml.contains(&format!("# needed by {}", b.display())),
        "mkdir is sh's alone:\n{yaml}"
    );
    for cmd in [ls, sh] {
        let enforced = eperm_within(&run_under(&["--enforce"], &m, cmd), Duration::from_secs(30));
        assert_eq!(
            enforced.status.code(),
            Some(0),
            "{cmd:?} under the merge: {}",
            stderr(&enforced)
        );
        assert!(
            stderr(&enforced).contains("would have denied nothing"),
            "{}",
            stderr(&enforced)
        );
    }
    // Not a blanket allow: what neither program did is still denied.
    let other = eperm_within(
        &run_under(&["--enforce"], &m, &["unshare", "--user", "true"]),
        Duration::from_secs(30),
    );
    assert_ne!(other.status.code(), Some(0), "{}", stderr(&other));
}

#[test]
fn cgroup_paths_name_the_container_in_every_layout() {
    let id = "3f2a9c1b7d04e5f6a7b8c9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4";
    let pod = "0c9b3d2e-5f1a-4b7c-9d8e-1a2b3c4d5e6f";
    // The fixture, and the runtime and pod uid it names (None: no container).
    type Case = (&'static str, Option<(&'static str, Option<&'static str>)>);
    let cases: &[Case] = &[
        ("docker-systemd", Some(("docker", None))),
        ("docker-cgroupfs", Some(("docker", None))),
        ("docker-nested-init", Some(("docker", None))),
        ("podman-systemd", Some(("podman", None))),
        ("podman-cgroupfs", Some(("podman", None))),
        ("containerd-k8s-systemd", Some(("containerd", Some(pod)))),
        ("containerd-cgroupspath", Some(("containerd", Some(pod)))),
        ("crio-k8s-systemd", Some(("cri-o", Some(pod)))),
        ("k8s-cgroupfs-besteffort", Some(("kubernetes", Some(pod)))),
        ("k8s-cgroupfs-guaranteed", Some(("kubernetes", Some(pod)))),
        ("no-container-session", None),
        ("no-container-conmon", None),
    ];
    for (file, want) in cases {
        let text = std::fs::read_to_string(fixture(&format!("cgroup/{file}.txt"))).unwrap();
        let got = from_cgroup(&text);
        match want {
            None => assert_eq!(got, None, "{file}"),
            Some((runtime, pod)) => {
                let c = got.unwrap_or_else(|| panic!("{file}: no container found in {text:?}"));
                assert_eq!(
                    (c.runtime, c.id.as_str(), c.pod.as_deref()),
                    (*runtime, id, *pod),
                    "{file}"
                );
                assert!(c.matches("3f2a9c") && !c.matches("3f2b"), "{file}");
            }
        }
    }
}

/// The plain test dockerd tests/run.sh starts, with the containers' test image
/// (it holds `sleep`).
fn docker_with_sleep_image() -> (String, &'static str) {
    let host = super::container::plain_docker_host();
    (host.to_string(), super::clients::IMAGE)
}

#[test]
fn watch_names_the_docker_container_of_each_record_and_filters_by_id_prefix() {
    use std::io::{BufRead, BufReader};
    let (host, image) = docker_with_sleep_image();
    let docker = |args: &[&str]| {
        let out = std::process::Command::new("docker")
            .env("DOCKER_HOST", &host)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "docker {args:?}: {}", stderr(&out));
        stdout(&out).trim().to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("log-sleep.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clock_nanosleep","nanosleep"],"action":"SCMP_ACT_LOG"}]}"#,
    )
    .unwrap();
    let name = format!("eperm-k8s-{}", std::process::id());
    let seccomp = format!("seccomp={}", profile.display());
    // A container that sleeps under the profile, with `options`; its id.
    let create = |options: &[&str]| {
        let mut args = vec!["create", "--network", "none", "--security-opt", &seccomp];
        args.extend_from_slice(options);
        args.extend([image, "/bin/sleep", "2"]);
        docker(&args)
    };
    let id = create(&["--name", &name]);
    // A second container the filter must leave out.
    let other = create(&[]);
    let mut watch = crate::util::eperm()
        .args([
            "watch",
            "--no-tui",
            "--json",
            "--duration",
            "30",
            "--container",
            &id[..12],
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The sources say they are active before any record can be missed.
    let mut err = BufReader::new(watch.stderr.take().unwrap());
    let mut active = 0;
    let mut line = String::new();
    while active < 2 && err.read_line(&mut line).unwrap() > 0 {
        active += usize::from(line.contains(": active"));
        line.clear();
    }
    assert_eq!(active, 2, "watch did not report both sources active");
    docker(&["start", &other]);
    docker(&["start", &id]);
    let mut out = BufReader::new(watch.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let _ = watch.kill();
    let _ = watch.wait();
    docker(&["rm", "-f", &id, &other]);
    let event: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|e| panic!("{e}: {first:?}"));
    assert_eq!(event["syscall"], "clock_nanosleep", "{event}");
    assert_eq!(event["container"]["runtime"], "docker", "{event}");
    assert_eq!(event["container"]["id"], id.as_str(), "{event}");
    assert_eq!(event["container"]["name"], name.as_str(), "{event}");
}

#[test]
fn a_seccomp_profile_as_kubectl_prints_it_in_json_reads_the_same() {
    let yaml = load_file(&fixture("spo/profile.yaml")).unwrap();
    // `kubectl get seccompprofile web -o json`, with the fields the server adds.
    let mut doc = yaml.root.to_serde();
    doc["metadata"]["uid"] = "0c9b3d2e-5f1a-4b7c-9d8e-1a2b3c4d5e6f".into();
    doc["status"] =
        serde_json::json!({"status": "Installed", "localhostProfile": "operator/web.json"});
    let json = load_str("web.json", serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    assert_eq!(json.form, eperm::profile::Form::Spo);
    assert_eq!(json.syntax, eperm::profile::Syntax::Json);
    let diffs = verdict_differences(&yaml, &json, &target());
    assert!(diffs.is_empty(), "{diffs:?}");
}

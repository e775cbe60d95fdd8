//! Issue 28: every profile eperm writes starts the container it is meant for.
//! Profiles recorded and tightened here, on the host, then run by the real
//! runtimes without eperm: the plain dockerd of tests/run.sh (runc), podman with
//! crun and with runc, and `runc run` of a bundle. `check` refuses a profile
//! without the runtime's start-up calls, naming them, and `eperm docker
//! --enforce` reproduces the failure and says why.

use super::clients::run_script;
use super::container::{docker_host, plain_docker_host};
use super::podman::{in_store, lost_its_start_race, store, ULIMITS};
use super::util::{
    assert_has, assert_success, eperm, host_rootfs, require_root, stderr, stdout, write_runc_config,
};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// What every container runs: a listing, and a word on stdout once it ran.
const SCRIPT: &str = "ls / >/dev/null && echo started-and-ran";
const SAID: &str = "started-and-ran";

/// `eperm ARGS`, which must succeed; its stderr.
fn eperm_ok(args: &[&str]) -> String {
    let out = eperm().args(args).stdin(Stdio::null()).output().unwrap();
    assert_success(&out);
    stderr(&out)
}

/// `eperm record --empty -o OUT [extra] -- sh -c SCRIPT`, on the host; its stderr.
fn record(out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["record", "--empty", "-o", out.to_str().unwrap()];
    args.extend(extra);
    args.extend(["--", "/bin/sh", "-c", SCRIPT]);
    eperm_ok(&args)
}

/// Plain `docker run --security-opt seccomp=PROFILE` on the dockerd without eperm.
fn plain_docker(profile: &Path) -> Output {
    let seccomp = format!("seccomp={}", profile.display());
    Command::new("docker")
        .env("DOCKER_HOST", plain_docker_host())
        .args(run_script(&["--security-opt", &seccomp], SCRIPT))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Plain `podman --runtime RUNTIME run --security-opt seccomp=PROFILE`.
fn plain_podman(runtime: &str, profile: &Path) -> Output {
    let seccomp = format!("seccomp={}", profile.display());
    let options = [ULIMITS, &["--security-opt", &seccomp]].concat();
    loop {
        let mut podman = in_store(Command::new("podman"), store(), None);
        let out = podman
            .args(["--runtime", runtime])
            .args(run_script(&options, SCRIPT))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        if !lost_its_start_race(&out) {
            return out;
        }
    }
}

/// Plain `runc run` of a bundle whose config.json holds the profile (a Docker
/// profile's object as its linux.seccomp), no-new-privileges as given.
fn plain_runc(dir: &Path, profile: &Path, no_new_privs: bool) -> Output {
    let bundle = dir.join(format!("bundle-{no_new_privs}"));
    host_rootfs(&bundle.join("rootfs"));
    let seccomp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    let config = write_runc_config(
        &bundle,
        serde_json::json!(["sh", "-c", SCRIPT]),
        seccomp,
        false,
    );
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    value["process"]["noNewPrivileges"] = no_new_privs.into();
    std::fs::write(&config, value.to_string()).unwrap();
    let id = format!("eperm-startup-{}-{no_new_privs}", std::process::id());
    let out = Command::new("runc")
        .args(["run", "--bundle", bundle.to_str().unwrap(), &id])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    out
}

/// The profile started its container under every runtime, and the workload ran.
fn assert_starts_everywhere(dir: &Path, profile: &Path) {
    let runs: Vec<(&str, Output)> = vec![
        ("plain docker", plain_docker(profile)),
        ("podman with crun", plain_podman("crun", profile)),
        ("podman with runc", plain_podman("runc", profile)),
        ("runc run", plain_runc(dir, profile, false)),
        (
            "runc run, no-new-privileges",
            plain_runc(dir, profile, true),
        ),
    ];
    for (how, out) in runs {
        assert!(
            out.status.success() && stdout(&out).contains(SAID),
            "{how} under {}: {}\n{}",
            profile.display(),
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn a_recorded_profile_starts_its_container_under_docker_podman_and_runc() {
    require_root("recording, and the runtimes");
    let dir = tempfile::tempdir().unwrap();
    let recorded = dir.path().join("recorded.json");
    let said = record(&recorded, &[]);
    assert_has(&said, "is ready for runc and crun containers");
    assert_starts_everywhere(dir.path(), &recorded);

    // README's Kubernetes and export recipe: a SeccompProfile, then Docker JSON.
    let spo = dir.path().join("bb.yaml");
    record(&spo, &["--format", "spo", "--name", "bb"]);
    let exported = dir.path().join("bb.json");
    let args = ["export", "--format", "docker", spo.to_str().unwrap()];
    eperm_ok(&[&args[..], &["-o", exported.to_str().unwrap()]].concat());
    let out = plain_docker(&exported);
    assert!(
        out.status.success() && stdout(&out).contains(SAID),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_tightened_default_profile_starts_its_container_under_docker_podman_and_runc() {
    require_root("coverage, and the runtimes");
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("docker.json");
    let out = eperm().arg("default").output().unwrap();
    std::fs::write(&default, out.stdout).unwrap();
    let tight = dir.path().join("tight.json");
    let said = eperm_ok(&[
        "tighten",
        "-p",
        default.to_str().unwrap(),
        "-o",
        tight.to_str().unwrap(),
        "--narrow",
        "--",
        "/bin/sh",
        "-c",
        SCRIPT,
    ]);
    assert_has(&said, "is ready for runc and crun containers");
    // Pruning took start-up calls the host run never made (capset, …): back, apart.
    let text = std::fs::read_to_string(&tight).unwrap();
    assert_has(&text, "needed by the container runtime (runc, crun)");
    assert_starts_everywhere(dir.path(), &tight);
}

/// A profile for plain processes only (`--runtime none`), which starts no container.
fn bare_profile(dir: &Path) -> PathBuf {
    let bare = dir.join("bare.json");
    let said = record(&bare, &["--runtime", "none"]);
    assert_has(&said, "is for plain processes only");
    bare
}

#[test]
fn check_names_each_start_up_call_a_profile_refuses_for_runc_and_crun() {
    require_root("recording");
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_profile(dir.path());
    let file = bare.to_str().unwrap();
    for (runtime, calls) in [
        ("runc", &["capset", "fstatfs", "setgroups"][..]),
        ("crun", &["capset", "setresuid", "pselect6"][..]),
    ] {
        let out = eperm()
            .args(["check", "--runtime", runtime, file])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        let text = stdout(&out);
        assert_has(&text, "error[runtime-cannot-start]");
        assert_has(
            &text,
            " cannot start a container under this profile: its init calls",
        );
        assert_has(&text, runtime);
        for call in calls {
            assert_has(&text, call);
        }
        assert_has(&text, &format!("eperm edit {file} --allow "));
    }
    // Meant for plain processes: nothing to start.
    let out = eperm()
        .args(["check", "--runtime", "none", file])
        .output()
        .unwrap();
    assert_success(&out);
    assert_has(&stdout(&out), "0 errors");
    // The recorded profile with them passes for both.
    let ready = dir.path().join("ready.json");
    record(&ready, &[]);
    for runtime in ["runc", "crun"] {
        let args = ["check", "--runtime", runtime, ready.to_str().unwrap()];
        assert_has(&stdout(&eperm().args(args).output().unwrap()), "0 errors");
    }
}

#[test]
fn eperm_docker_enforce_fails_to_start_as_plain_docker_does_and_says_why() {
    require_root("the runtimes");
    let dir = tempfile::tempdir().unwrap();
    let bare = bare_profile(dir.path());
    let plain = plain_docker(&bare);
    assert!(!plain.status.success(), "{}", stdout(&plain));
    assert_has(&stderr(&plain), "operation not permitted");

    let mut args = vec![
        "docker",
        "--enforce",
        "--no-tui",
        "-p",
        bare.to_str().unwrap(),
    ];
    args.push("--");
    args.extend(run_script(&[], SCRIPT));
    let out = eperm()
        .env("DOCKER_HOST", docker_host())
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        plain.status.code(),
        "as plain docker: {}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains(SAID), "{}", stdout(&out));
    let err = stderr(&out);
    assert_has(
        &err,
        "eperm: the container did not start, as under the runtime alone: runc",
    );
    assert_has(&err, "fstatfs");
    assert_has(&err, "hint: allow them: `eperm edit");
    // Refused with an errno, runc's calls made no event: yet nothing was fine.
    assert!(!err.contains("denied nothing"), "{err}");

    // Without --enforce it runs (the runtime's calls are only logged), and says
    // that plain docker would not have started it.
    args.retain(|a| *a != "--enforce");
    let out = eperm()
        .env("DOCKER_HOST", docker_host())
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_success(&out);
    assert_has(
        &stderr(&out),
        "note: without eperm this container would not start (--enforce shows it)",
    );
}

/// `merge` and `export` make their output ready too, unless told `--runtime none`.
#[test]
fn merged_and_exported_profiles_allow_the_start_up_calls_unless_for_plain_processes() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, names: &str| {
        let path = dir.path().join(name);
        let text = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": [{names}], "action": "SCMP_ACT_ALLOW"}}]}}"#
        );
        std::fs::write(&path, text).unwrap();
        path
    };
    let a = write("a.json", r#""read", "exit_group""#);
    let b = write("b.json", r#""write", "mkdir""#);
    let check = |path: &Path, runtime: &str| {
        let args = ["check", "--runtime", runtime, path.to_str().unwrap()];
        eperm().args(args).output().unwrap().status.code()
    };
    assert_eq!(check(&a, "runc"), Some(1), "the inputs cannot start one");

    let merged = dir.path().join("merged.json");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let said = eperm_ok(&["merge", "-o", merged.to_str().unwrap(), a, b]);
    assert_has(&said, "is ready for runc and crun containers");
    let exported = dir.path().join("exported.yaml");
    let out = exported.to_str().unwrap();
    eperm_ok(&["export", "--format", "spo", "--name", "a", "-o", out, a]);
    for path in [&merged, &exported] {
        for runtime in ["runc", "crun"] {
            assert_eq!(
                check(path, runtime),
                Some(0),
                "{} {runtime}",
                path.display()
            );
        }
        assert_has(
            &std::fs::read_to_string(path).unwrap(),
            "needed by the container runtime (runc, crun) before the workload starts",
        );
    }

    // For crun only; for plain processes only: (--runtime, what merge says,
    // the runtime it is ready for, one it is not).
    for (runtime, said, ready, not) in [
        ("crun", "is ready for crun containers", "crun", "runc"),
        ("none", "is for plain processes only", "none", "crun"),
    ] {
        let out = dir.path().join(format!("{runtime}.json"));
        let args = [
            "merge",
            "--runtime",
            runtime,
            "-o",
            out.to_str().unwrap(),
            a,
            b,
        ];
        assert_has(&eperm_ok(&args), said);
        assert_eq!(check(&out, ready), Some(0), "{runtime}");
        assert_eq!(check(&out, not), Some(1), "{runtime}");
    }
}

/// `rebase` writes a result ready for the runtimes too.
#[test]
fn a_rebased_profile_allows_the_start_up_calls() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, names: &str| {
        let path = dir.path().join(name);
        let text = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": [{names}], "action": "SCMP_ACT_ALLOW"}}]}}"#
        );
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let old = write("old.json", r#""read", "exit_group""#);
    let custom = write("custom.json", r#""read", "exit_group", "mkdir""#);
    let new = write("new.json", r#""read", "exit_group", "openat""#);
    let out = dir.path().join("rebased.json");
    let args = ["rebase", &custom, "--from", &old, "--onto", &new];
    let said = eperm_ok(&[&args[..], &["-o", out.to_str().unwrap()]].concat());
    assert_has(&said, "is ready for runc and crun containers");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_has(&text, "\"mkdir\"");
    for runtime in ["runc", "crun"] {
        let check = ["check", "--runtime", runtime, out.to_str().unwrap()];
        let code = eperm().args(check).output().unwrap().status.code();
        assert_eq!(code, Some(0), "{runtime}: {text}");
    }
}

//! `eperm docker` and `eperm oci` against the real runtimes: a dockerd that
//! tests/run.sh starts with eperm's runc wrapper registered (its socket in
//! EPERM_TEST_DOCKER_HOST), Debian's runc, and an image made of host binaries.
//! What docker and podman both do is tested in clients.rs, against each; here is
//! the docker client's set-up and what only docker (or runc alone) has.

use super::clients::{
    assert_runtime_apart, leaked_coverage_cgroups, read_json, run_script, used, write, GETPPIDS,
    IMAGE, WORKLOAD,
};
use super::util::container_profiles::{DENY_MKDIR, DENY_SOME};
use super::util::{
    assert_has, assert_success, cc, eperm, events, host_rootfs as rootfs, require_root, stderr,
    stdout, write_runc_config,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The docker host of the dockerd tests/run.sh started with eperm's runc wrapper
/// registered; the test image exists on it.
pub(super) fn docker_host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    daemon(&HOST, "EPERM_TEST_DOCKER_HOST")
}

/// The plain dockerd tests/run.sh started (no wrapper: log mode, as most users
/// have); the test image exists on it.
pub(super) fn plain_docker_host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    daemon(&HOST, "EPERM_TEST_PLAIN_DOCKER_HOST")
}

fn daemon(host: &'static OnceLock<String>, var: &str) -> &'static str {
    host.get_or_init(|| {
        require_root("the container tests drive dockerd and runc");
        let host = std::env::var(var).unwrap_or_else(|_| {
            panic!(
                "the container tests need the dockerds tests/run.sh starts ({var} is not set): \
                 run them through tests/run.sh"
            )
        });
        import_image(&host, IMAGE, &[]);
        host
    })
}

fn eperm_docker(args: &[&str]) -> Output {
    eperm()
        .env("DOCKER_HOST", docker_host())
        .arg("docker")
        .args(args)
        .output()
        .expect("eperm runs")
}

/// `docker import` on `host`, as `image`, of a root file system of host binaries
/// with the `programs` (host paths) in its /bin.
pub(super) fn import_image(host: &str, image: &str, programs: &[PathBuf]) {
    let dir = tempfile::tempdir().unwrap();
    rootfs(dir.path());
    for program in programs {
        std::fs::copy(
            program,
            dir.path().join("bin").join(program.file_name().unwrap()),
        )
        .unwrap();
    }
    let mut tar = Command::new("tar")
        .args(["-C", dir.path().to_str().unwrap(), "-c", "."])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let import = Command::new("docker")
        .env("DOCKER_HOST", host)
        .args(["import", "-", image])
        .stdin(tar.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(tar.wait().unwrap().success(), "tar of the test rootfs");
    assert!(
        import.status.success(),
        "docker import: {}",
        stderr(&import)
    );
}

/// An OCI bundle: `runc spec`'s config with the workload and a profile.
fn bundle(dir: &Path, script: &str, seccomp: Value) -> PathBuf {
    let bundle = dir.join("bundle");
    rootfs(&bundle.join("rootfs"));
    write_runc_config(
        &bundle,
        serde_json::json!(["sh", "-c", script]),
        seccomp,
        true,
    );
    bundle
}

fn runc_run(bundle: &Path, id: &str) -> Output {
    Command::new("runc")
        .args(["run", "--bundle", bundle.to_str().unwrap(), id])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn oci_bundle_reports_and_saves_into_config_json() {
    require_root("runc needs root");
    let dir = tempfile::tempdir().unwrap();
    let deny_all = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": []
    });
    // The rootfs is shared by both runs: leave it as found.
    let bundle = bundle(
        dir.path(),
        "mkdir /tmp/x && rmdir /tmp/x && echo made",
        deny_all,
    );
    let id = format!("eperm-oci-{}", std::process::id());
    let failed = runc_run(&bundle, &id);
    assert!(
        !failed.status.success(),
        "the profile must stop the container"
    );
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();

    let log = dir.path().join("events.jsonl");
    let out = eperm()
        .args(["oci", "--save", "--events", log.to_str().unwrap()])
        .args(["--id", &id, bundle.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "made\n", "{}", stderr(&out));
    let events = events(&log);
    assert!(events
        .iter()
        .any(|e| e["syscall"] == "mkdir" && e["bootstrap"] == false));
    assert!(events
        .iter()
        .any(|e| e["comm"] == "runc:[2:INIT]" && e["bootstrap"] == true));

    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(bundle.join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["process"]["args"][0], "sh",
        "the rest of config.json is kept"
    );
    let rules = config["linux"]["seccomp"]["syscalls"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["names"].as_array().unwrap().iter().any(|n| n == "mkdir")));
    let ok = runc_run(&bundle, &id);
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    assert_success(&ok);
    assert_eq!(stdout(&ok), "made\n");
}

/// `oci --save` records in the kernel, and writes into config.json what a
/// trapped recording (`--trap`) of the same bundle writes; runc alone then runs it.
#[test]
fn oci_save_records_in_the_kernel_as_trapping_does() {
    require_root("runc needs root");
    let deny_all = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": []
    });
    let id = format!("eperm-ocik-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let script = "mkdir /tmp/x && rmdir /tmp/x && echo made";
    let bundle = bundle(dir.path(), script, deny_all);
    let config = bundle.join("config.json");
    let original = std::fs::read(&config).unwrap();
    let mut saved = Vec::new();
    for (how, extra) in [
        ("recorded in the kernel (eBPF)", None),
        (
            "recorded by trapping each call (notify): --trap",
            Some("--trap"),
        ),
    ] {
        std::fs::write(&config, &original).unwrap();
        let out = eperm()
            .args(["oci", "--save", "--id", &id])
            .args(extra)
            .arg(&bundle)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "made\n", "{}", stderr(&out));
        assert_has(&stderr(&out), &format!("eperm: {how}"));
        let ok = runc_run(&bundle, &id);
        let _ = Command::new("runc")
            .args(["delete", "--force", &id])
            .output();
        assert_success(&ok);
        assert_eq!(stdout(&ok), "made\n");
        saved.push(std::fs::read_to_string(&config).unwrap());
    }
    assert_eq!(saved[0], saved[1], "counted vs trapped");
    let written: Value = serde_json::from_str(&saved[0]).unwrap();
    let rules = written["linux"]["seccomp"]["syscalls"].to_string();
    assert!(
        rules.contains("\"mkdir\"") && rules.contains("\"capset\""),
        "{rules}"
    );
}

/// A runtime that never hands the listener over (here: a client that only
/// sleeps) must not hang eperm: the run ends with an error naming the cause.
/// Issue 26's attack on the wrapper, end to end: an image's `ENV
/// EPERM_SESSION=UID:FILE` and `EPERM_AGENT=PATH` reach `eperm-runc` in the
/// bundle (as docker puts them there), and runc runs the container. No file is
/// written, no loginuid set, no agent taken, and the workload sees neither.
#[test]
fn the_wrapper_takes_no_path_or_identity_from_the_bundle() {
    use std::os::unix::fs::PermissionsExt;
    require_root("runc needs root");
    let dir = tempfile::tempdir().unwrap();
    let allow = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let bundle = bundle(
        dir.path(),
        "cat /proc/self/loginuid; echo; export -p",
        allow,
    );
    let victim = dir.path().join("x");
    let agent = dir.path().join("agent.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    let config = bundle.join("config.json");
    let mut doc = read_json(&config);
    let env = doc["process"]["env"].as_array_mut().unwrap();
    env.push(format!("EPERM_SESSION=4242:{}", victim.display()).into());
    env.push(format!("EPERM_AGENT={}", agent.display()).into());
    std::fs::write(&config, doc.to_string()).unwrap();
    // runc as the wrapper leaves it, seen by a stand-in that then execs runc.
    let seen = dir.path().join("seen");
    let runc = dir.path().join("runc");
    let script = format!(
        "#!/bin/sh\ncp '{}' '{}.json'\ncat /proc/self/loginuid > '{}.loginuid'\nexec runc \"$@\"\n",
        config.display(),
        seen.display(),
        seen.display()
    );
    std::fs::write(&runc, script).unwrap();
    std::fs::set_permissions(&runc, std::fs::Permissions::from_mode(0o755)).unwrap();
    let wrapper = dir.path().join("eperm-runc");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_eperm"), &wrapper).unwrap();
    let ours = std::fs::read_to_string("/proc/self/loginuid").unwrap();
    let id = format!("eperm-wrapper-{}", std::process::id());
    let out = Command::new(&wrapper)
        .args(["run", "--bundle", bundle.to_str().unwrap(), &id])
        .env("EPERM_RUNC", &runc)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    assert_success(&out);
    assert!(!victim.exists(), "the wrapper wrote {}", victim.display());
    let loginuid = std::fs::read_to_string(dir.path().join("seen.loginuid")).unwrap();
    assert_eq!(loginuid, ours, "the wrapper set runc's loginuid");
    let text = stdout(&out);
    assert!(text.starts_with(&ours), "the container's loginuid: {text}");
    assert!(
        text.contains("PATH="),
        "the container's environment: {text}"
    );
    assert!(
        !text.contains("EPERM_"),
        "the workload saw eperm's variables: {text}"
    );
    let doc = read_json(&dir.path().join("seen.json"));
    assert!(
        doc["linux"]["seccomp"].get("listenerPath").is_none(),
        "the wrapper took the image's agent: {}",
        doc["linux"]["seccomp"]
    );
}

#[test]
fn a_runtime_that_never_hands_over_ends_the_run_with_a_hint() {
    use eperm::container::agent::Agent;
    use eperm::container::launch::{self, Attribution, ContainerId, Launch};
    use eperm::profile::{load_str, KernelVersion, Target};
    use eperm::run::serve::LogOptions;
    use eperm::run::Interception;
    use eperm::run::{Judge, Policy, RunError, Supervision};
    use std::time::{Duration, Instant};
    require_root("the container tests make cgroups and audit sessions");
    let dir = tempfile::tempdir().unwrap();
    let profile = load_str("some.json", DENY_SOME.to_string()).unwrap();
    let target = Target {
        arch: eperm::arch::Arch::native(),
        caps: eperm::caps::CapSet::all(),
        kernel: KernelVersion::running(),
        runtime: None,
    };
    let (events, _rx) = eperm::run::event_channel();
    let sup = Supervision {
        judge: Judge::new(profile, &target, eperm::compile::Mode::Notify).unwrap(),
        policy: Policy::Permissive,
        events,
        started: Instant::now(),
        own_exe: None,
        layers: None,
        stacks: None,
    };
    let launch = Launch {
        argv: vec!["sleep".into(), "30".into()],
        cleanup: Vec::new(),
        mode: Interception::Notify,
        notify_logs: true,
        agent: Some(Agent::bind(&dir.path().join("agent.sock")).unwrap()),
        attribution: Attribution::OwnSession {
            loginuid: 0,
            id: ContainerId::Known("never-handed-over".into()),
        },
        handoff_timeout: Duration::from_secs(1),
        below: Err("not below a cgroup of eperm's".into()),
        counted: false,
    };
    let started = Instant::now();
    let result = launch::run(launch, sup, &LogOptions::default(), Default::default());
    let waited = started.elapsed();
    match result {
        Err(RunError::Unsupported(why)) => assert!(why.contains("--mode log"), "{why}"),
        other => panic!("expected the stalled handoff to be reported, got {other:?}"),
    }
    assert!(
        waited < Duration::from_secs(20),
        "gave up after {waited:?}, not after ~1 s"
    );
}

/// Without eperm's wrapper (log mode, records matched by the container's id):
/// processes that exit at once are still attributed, through their fork events.
#[test]
fn docker_log_without_the_wrapper_sees_every_short_lived_process() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "some.json", DENY_SOME);
    let log = dir.path().join("events.jsonl");
    let out = eperm()
        .env("DOCKER_HOST", plain_docker_host())
        .args(["docker", "--no-tui", "-p", profile.to_str().unwrap()])
        .args(["--events", log.to_str().unwrap(), "--"])
        .args(run_script(
            &[],
            "for i in 1 2 3 4 5 6 7 8; do mkdir /tmp/d$i; done",
        ))
        .output()
        .unwrap();
    assert_success(&out);
    assert_has(&stderr(&out), "using --mode log");
    let mkdirs = events(&log)
        .iter()
        .filter(|e| e["comm"] == "mkdir" && e["syscall"] == "mkdir")
        .count();
    assert_eq!(mkdirs, 8, "one record per mkdir process: {}", stderr(&out));
}

/// A recording (`-o`) with a plain dockerd counts in the kernel: no live
/// decisions are needed, so no note about falling back to log mode comes first.
#[test]
fn docker_records_in_the_kernel_without_the_wrapper_and_without_a_mode_note() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "mkdir.json", DENY_MKDIR);
    let recorded = dir.path().join("recorded.json");
    let out = eperm()
        .env("DOCKER_HOST", plain_docker_host())
        .args(["docker", "-p", profile.to_str().unwrap()])
        .args(["-o", recorded.to_str().unwrap(), "--"])
        .args(run_script(&[], "mkdir /tmp/made && echo made"))
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "made\n");
    let err = stderr(&out);
    assert_has(&err, "eperm: recorded in the kernel (eBPF)");
    assert!(!err.contains("--mode log"), "{err}");
    // The mkdir the profile refused is allowed in what was written.
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&recorded).unwrap()).unwrap();
    let refusing_mkdir = written["syscalls"].as_array().unwrap().iter().any(|rule| {
        rule["action"] != "SCMP_ACT_ALLOW"
            && rule["names"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "mkdir")
    });
    assert!(!refusing_mkdir, "{written:#}");
}

/// A container slow to be created (here: a `docker` that waits for the test
/// before it runs the real one, as a pull would): on a terminal, eperm says what
/// it waits for, then that the container started; piped, it says nothing.
#[test]
fn a_slow_start_is_announced_on_a_terminal_only() {
    let host = docker_host();
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v docker"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let wrapper = bin.join("docker");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n[ \"$1\" = run ] && while [ ! -e '{}' ]; do sleep 0.05; done\nexec {} \"$@\"\n",
            go.display(),
            real.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut line = vec![
        env!("CARGO_BIN_EXE_eperm"),
        "docker",
        "--mode",
        "log",
        "--no-tui",
        "--",
    ];
    line.extend(run_script(&[], "true"));
    let quoted: Vec<String> = line.iter().map(|a| format!("'{a}'")).collect();
    let typescript = dir.path().join("typescript");
    // -f: the typescript is written as the output comes, not at the end.
    let script = Command::new("script")
        .args(["-q", "-f", "-e", "-c", &quoted.join(" ")])
        .arg(&typescript)
        .env("DOCKER_HOST", host)
        .env("PATH", &path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("script (util-linux) runs");
    // Killed if the test fails before it ends (and the wrapper let go of docker).
    struct Running(std::process::Child, PathBuf);
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = std::fs::write(&self.1, "");
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut script = Running(script, go.clone());
    let screen =
        || String::from_utf8_lossy(&std::fs::read(&typescript).unwrap_or_default()).into_owned();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !screen().contains("waiting for the container to be created") {
        assert!(
            std::time::Instant::now() < deadline,
            "no waiting line: {:?}",
            screen()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::fs::write(&go, "").unwrap();
    assert!(script.0.wait().unwrap().success(), "{:?}", screen());
    assert!(
        screen().contains("eperm: the container started after "),
        "{:?}",
        screen()
    );

    // Piped: as slow a start (longer than eperm lets pass before it speaks on a
    // terminal), and not a word about it.
    std::fs::remove_file(&go).unwrap();
    let piped = eperm()
        .env("DOCKER_HOST", host)
        .env("PATH", &path)
        .args(["docker", "--mode", "log", "--no-tui", "--"])
        .args(run_script(&[], "true"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    std::fs::write(&go, "").unwrap();
    let piped = piped.wait_with_output().unwrap();
    assert_success(&piped);
    assert!(
        !stderr(&piped).contains("waiting for"),
        "{}",
        stderr(&piped)
    );
}

/// `-o` prints the diff of what it wrote; `--report` holds the denials with
/// their processes, the diff, and a `docker run` line that really runs the
/// workload under the written profile.
#[test]
fn docker_save_prints_its_diff_and_the_report_reruns_it() {
    let dir = tempfile::tempdir().unwrap();
    let tight = write(dir.path(), "tight.json", DENY_MKDIR);
    let saved = dir.path().join("saved.json");
    let report = dir.path().join("triage.md");
    let mut args = vec![
        "--mode",
        "notify",
        "-p",
        tight.to_str().unwrap(),
        "-o",
        saved.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "--",
    ];
    let workload = run_script(&[], "mkdir /tmp/x && echo made");
    args.extend(&workload);
    let out = eperm_docker(&args);
    assert_success(&out);
    let err = stderr(&out);
    // From the profile given to the one written: mkdir leaves the ERRNO rule.
    assert!(err.contains(&format!("--- {}\n", tight.display())), "{err}");
    assert!(err.contains(&format!("+++ {}\n", saved.display())), "{err}");
    let changed = |sign: char| -> String {
        err.lines()
            .filter(|l| l.starts_with(sign) && !l.starts_with("---") && !l.starts_with("+++"))
            .collect()
    };
    assert!(changed('-').contains("\"mkdir\""), "{err}");
    assert!(!changed('+').contains("\"mkdir\""), "{err}");

    let text = std::fs::read_to_string(&report).unwrap();
    // The runtime that judged the calls: the runc found here and its libseccomp.
    assert!(text.contains("- **Runtime:** `runc "), "{text}");
    assert!(text.contains(" with libseccomp "), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("| `mkdir`"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(row.contains("`syscalls[0]`"), "the deciding rule: {row}");
    assert!(row.contains("`sh`") || row.contains("`mkdir`"), "{row}");
    let rerun = text
        .lines()
        .find(|l| l.starts_with("docker run --security-opt seccomp="))
        .unwrap_or_else(|| panic!("{text}"));
    let ran = Command::new("sh")
        .arg("-c")
        .arg(rerun)
        .env("DOCKER_HOST", docker_host())
        .output()
        .unwrap();
    assert_success(&ran);
    assert_eq!(stdout(&ran), "made\n", "{rerun}");
}

/// The test image plus the getppid and own-listener helpers and setarch, built once on the
/// wrapper's dockerd.
pub(super) fn cover_image() -> &'static str {
    static BUILT: OnceLock<&'static str> = OnceLock::new();
    BUILT.get_or_init(|| {
        let image = "eperm-test:cover";
        import_image(docker_host(), image, &super::clients::cover_helpers());
        image
    })
}

/// The test image plus clients.rs's stack program, on the wrapper's dockerd.
pub(super) fn stack_image() -> &'static str {
    static BUILT: OnceLock<&'static str> = OnceLock::new();
    BUILT.get_or_init(|| {
        let image = "eperm-test:stack";
        let build = tempfile::tempdir().unwrap();
        import_image(
            docker_host(),
            image,
            &[super::clients::stack_program(build.path())],
        );
        image
    })
}

/// What runc's init calls under the profile before the exec, wherever it runs
/// (under Docker it also drops capabilities and groups: see clients.rs).
const RUNC_INIT: &[&str] = &["epoll_ctl", "getdents64"];

#[test]
fn docker_coverage_enforces_the_profile_s_denials() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.json", DENY_MKDIR);
    let mut args = vec!["-p", profile.to_str().unwrap(), "--coverage", "--"];
    args.extend(run_script(&[], "mkdir /tmp/x || echo denied"));
    let out = eperm_docker(&args);
    assert_success(&out);
    assert_eq!(stdout(&out), "denied\n", "{}", stderr(&out));
    assert!(stderr(&out).contains("mkdir"), "{}", stderr(&out));
    let coverage = read_json(&dir.path().join("p.coverage.json"));
    assert!(
        used(&coverage, "execve").0 >= 2,
        "runc's and mkdir's: {coverage}"
    );
}

#[test]
fn container_coverage_without_ebpf_is_refused_and_says_there_is_no_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.json", DENY_MKDIR);
    let mut args = vec!["-p", profile.to_str().unwrap(), "--coverage", "--"];
    args.extend(run_script(&[], "echo ran"));
    let out = eperm()
        .env("DOCKER_HOST", docker_host())
        .env("EPERM_COVERAGE", "notify")
        .arg("docker")
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("EPERM_COVERAGE=notify"), "the reason: {err}");
    assert!(err.contains("no notify fallback"), "{err}");
    assert_eq!(stdout(&out), "", "the container must not run");
    assert!(!dir.path().join("p.coverage.json").exists());
    assert_eq!(leaked_coverage_cgroups(), Vec::<String>::new());
}

#[test]
fn oci_coverage_counts_the_bundle_s_calls_exactly() {
    require_root("runc needs root");
    let dir = tempfile::tempdir().unwrap();
    let seccomp = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    });
    let bundle = bundle(dir.path(), "true", seccomp);
    std::fs::copy(cc("getppids", GETPPIDS), bundle.join("rootfs/bin/getppids")).unwrap();
    let config = bundle.join("config.json");
    let mut doc = read_json(&config);
    doc["process"]["args"] = serde_json::json!(["getppids", "777"]);
    std::fs::write(&config, doc.to_string()).unwrap();
    let out = eperm()
        .args(["oci", "--coverage", "--no-tui", bundle.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_success(&out);
    assert_has(&stderr(&out), "counted in the kernel");
    let coverage = read_json(&bundle.join("config.coverage.json"));
    let (count, before) = used(&coverage, "getppid");
    assert_eq!(count - before, 777, "{coverage}");
    assert_runtime_apart(&coverage, 1, RUNC_INIT);
    // The bundle's own config is left as it was.
    assert_eq!(read_json(&config), doc);
    assert_eq!(leaked_coverage_cgroups(), Vec::<String>::new());
}

/// Issue 27 under runc alone: the bundle's capabilities (runc spec's three,
/// and CAP_MKNOD) and its device list (runc's defaults) refuse a chown and the
/// open of a device node it made; both are named, the device cgroup's with
/// its OCI fix.
#[test]
fn oci_names_the_capability_and_the_device_cgroup_that_refused() {
    require_root("runc needs root");
    let (_, major, minor) = super::clients::ungiven_device();
    let dir = tempfile::tempdir().unwrap();
    let seccomp = serde_json::json!({"defaultAction": "SCMP_ACT_ALLOW"});
    let script = format!("chown 1 /tmp; devnode /tmp/node {major} {minor}");
    let bundle = bundle(dir.path(), &script, seccomp);
    for program in super::clients::cover_helpers() {
        let to = bundle.join("rootfs/bin").join(program.file_name().unwrap());
        std::fs::copy(&program, to).unwrap();
    }
    let config = bundle.join("config.json");
    let mut doc = read_json(&config);
    for set in ["bounding", "effective", "permitted"] {
        let caps = doc["process"]["capabilities"][set].as_array_mut().unwrap();
        caps.push("CAP_MKNOD".into());
        assert!(
            !caps.contains(&"CAP_CHOWN".into()),
            "runc spec's caps changed"
        );
    }
    std::fs::write(&config, doc.to_string()).unwrap();
    let log = dir.path().join("events.jsonl");
    let out = eperm()
        .args(["oci", "--no-tui", "--events", log.to_str().unwrap()])
        .arg(&bundle)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let summary = stderr(&out);
    assert_eq!(
        stdout(&out),
        "mknod: ok\nopen: Operation not permitted\n",
        "{summary}"
    );
    let layered: Vec<Value> = events(&log)
        .into_iter()
        .filter(|e| e["source"] == "ebpf")
        .collect();
    let layers: Vec<(&str, &str)> = layered
        .iter()
        .map(|e| (e["syscall"].as_str().unwrap(), e["layer"].as_str().unwrap()))
        .collect();
    assert_eq!(
        layers,
        [("fchownat", "capability"), ("openat", "devices")],
        "{layered:#?}"
    );
    assert_eq!(layered[0]["capabilities"], serde_json::json!(["CAP_CHOWN"]));
    assert_has(&summary, "capability: CAP_CHOWN");
    assert_has(&summary, &format!("devices: c {major}:{minor}"));
    assert_has(
        &summary,
        &format!(r#""type": "c", "major": {major}, "minor": {minor}, "access": "r""#),
    );
    assert_eq!(leaked_coverage_cgroups(), Vec::<String>::new());
}

/// With the watcher turned off (by the flag or the environment), a container
/// runs as before and the summary says its other layers were not watched, and why.
#[test]
fn a_container_s_layers_turned_off_are_said_not_watched() {
    for (env, flags, why) in [
        ("on", &["--no-tui", "--no-layers", "--"][..], "--no-layers"),
        ("off", &["--no-tui", "--"][..], "EPERM_LAYERS=off"),
    ] {
        let mut args = flags.to_vec();
        args.extend(run_script(&[], "echo ran"));
        let out = eperm()
            .env("DOCKER_HOST", docker_host())
            .env("EPERM_LAYERS", env)
            .arg("docker")
            .args(&args)
            .output()
            .unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "ran\n");
        let err = stderr(&out);
        assert_has(&err, &format!("other layers: not watched ({why})"));
    }
}

#[test]
fn docker_coverage_refuses_a_cgroup_parent_of_the_user_s() {
    let args = [
        "--coverage",
        "--",
        "run",
        "--rm",
        "--cgroup-parent=/mine",
        IMAGE,
        "true",
    ];
    let out = eperm_docker(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_has(&stderr(&out), "drop --cgroup-parent");
}

/// A container's calls carry stacks named from the image's binary: `/cache`
/// exists only inside the bundle's rootfs, so its names can only come from the
/// file the process maps (read through /proc/PID/map_files), not a host path.
#[test]
fn a_container_s_stack_is_named_from_the_image_s_binary() {
    require_root("runc needs root");
    let dir = tempfile::tempdir().unwrap();
    let seccomp = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]
    });
    let bundle = bundle(dir.path(), "/cache /tmp/cache", seccomp);
    let build = tempfile::tempdir().unwrap();
    let exe = super::stacks::build(
        build.path(),
        "cache",
        &[("cache.c", super::stacks::CACHE_C)],
        &[],
    );
    std::fs::copy(&exe, bundle.join("rootfs/cache")).unwrap();
    assert!(
        !Path::new("/cache").exists(),
        "the host must not have /cache"
    );
    let log = dir.path().join("events.jsonl");
    let id = format!("eperm-stack-{}", std::process::id());
    let out = eperm()
        .args(["oci", "--events", log.to_str().unwrap()])
        .args(["--id", &id, bundle.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new("runc")
        .args(["delete", "--force", &id])
        .output();
    assert_success(&out);
    let events = events(&log);
    let mkdir = events
        .iter()
        .find(|e| e["syscall"] == "mkdir" && e["bootstrap"] == false)
        .unwrap_or_else(|| panic!("no mkdir in {events:?}"));
    let stack = mkdir["stack"]
        .as_array()
        .unwrap_or_else(|| panic!("no stack: {mkdir}"));
    let own: Vec<(&str, &str, u64)> = stack
        .iter()
        .filter(|f| f["object"] == "/cache")
        .map(|f| {
            let file = f["file"].as_str().unwrap_or("");
            (
                f["function"].as_str().unwrap_or(""),
                file.rsplit('/').next().unwrap(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let line = super::stacks::call_line(super::stacks::CACHE_C);
    assert_eq!(
        own.iter()
            .map(|f| f.0)
            .filter(|f| !f.is_empty() && *f != "_start")
            .collect::<Vec<_>>(),
        ["make_cache_dir", "do_setup", "main"],
        "{mkdir}"
    );
    assert_eq!((own[0].1, own[0].2), ("cache.c", line), "{mkdir}");
}

/// Issue 34: the user's own `docker run --runtime runc …` is taken (it was
/// refused). runc is what eperm's wrapper runs, so the run is live (notify),
/// through the wrapper, which the user's `--runtime` would otherwise bypass.
#[test]
fn docker_run_with_its_own_runtime_flag_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "nomkdir.json", DENY_MKDIR);
    let log = dir.path().join("events.jsonl");
    let mut args = vec!["--no-tui", "-p", profile.to_str().unwrap()];
    args.extend([
        "--events",
        log.to_str().unwrap(),
        "--",
        "run",
        "--runtime",
        "runc",
    ]);
    args.extend(&run_script(&[], WORKLOAD)[1..]);
    let out = eperm_docker(&args);
    assert_success(&out);
    let err = stderr(&out);
    assert!(!err.contains("using --mode log"), "notify, not log: {err}");
    let mkdir = events(&log)
        .into_iter()
        .find(|e| e["syscall"] == "mkdir")
        .unwrap_or_else(|| panic!("mkdir reported: {err}"));
    assert_eq!(mkdir["source"], "notify", "{mkdir}");
}

//! What `eperm docker` and `eperm podman` both promise, as one set of cases run
//! against each client: a denied container debugged and fixed end to end (notify
//! and log), two containers at once, eperm killed, the runs refused, the TUI, and
//! coverage counted in the kernel. Each case takes a [`Client`], which knows the
//! set-up its client needs (a dockerd of the tests' own, see container.rs; a
//! private podman store with the sandbox's ulimits and hugetlb mount, see
//! podman.rs); `each_client!` makes one #[test] per client for a case. What only
//! one client has stays in that client's file.

use super::container as docker;
use super::podman;
use super::util::container_profiles::{DENY_ALL, DENY_MKDIR, DENY_SOME};
use super::util::{assert_has, assert_success, eperm, events, stderr, stdout, Tmux};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The image made of host binaries, on every client.
pub const IMAGE: &str = "eperm-test:host";
/// Fails under a profile without mkdir, prints `made` when allowed.
pub const WORKLOAD: &str = "mkdir /tmp/x && echo made";

/// Calls getppid `argv[1]` times: a known number of calls for coverage to count.
pub const GETPPIDS: &str = include_str!("../fixtures/getppids.c");

/// `devnode PATH MAJOR MINOR`: makes a char device node, opens it, says how each went.
pub const DEVNODE: &str = include_str!("../fixtures/devnode.c");

/// What the cover images hold besides the test image: the helpers, and chown.
pub fn cover_helpers() -> Vec<PathBuf> {
    vec![
        super::util::cc("getppids", GETPPIDS),
        super::util::cc("own-listener", super::run::OWN_LISTENER),
        super::util::cc("devnode", DEVNODE),
        PathBuf::from("/usr/bin/chown"),
        PathBuf::from("/usr/bin/setarch"),
    ]
}

/// A host device no container runtime gives by default, and harmless to open:
/// its path and major:minor.
pub fn ungiven_device() -> (&'static str, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let path = "/dev/loop-control";
    let rdev = std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("the device tests open {path} (modprobe loop): {e}"))
        .rdev();
    (path, libc::major(rdev), libc::minor(rdev))
}

/// `run --rm --network none OPTIONS IMAGE sh -c SCRIPT`: a client's arguments that
/// run `script` in the test image.
pub fn run_script<'a>(options: &[&'a str], script: &'a str) -> Vec<&'a str> {
    let mut args = vec!["run", "--rm", "--network", "none"];
    args.extend_from_slice(options);
    args.extend([IMAGE, "sh", "-c", script]);
    args
}

/// The container client a case drives, and its runtime.
#[derive(Clone, Copy, Debug)]
pub enum Client {
    /// The dockerd of tests/run.sh with eperm's runc wrapper registered (runc).
    Docker,
    /// Rootful podman in a private store, with `--runtime` when given (else its
    /// default here, crun).
    Podman { runtime: Option<&'static str> },
}

impl Client {
    /// The client's program and eperm's subcommand: `docker`, `podman`.
    pub fn name(self) -> &'static str {
        match self {
            Client::Docker => "docker",
            Client::Podman { .. } => "podman",
        }
    }

    /// The OCI runtime that runs the containers.
    fn runtime(self) -> &'static str {
        match self {
            Client::Docker => "runc",
            Client::Podman { runtime } => runtime.unwrap_or("crun"),
        }
    }

    /// `program` set up to reach this client's containers: the dockerd's socket,
    /// or the private store (the test image is made on first use).
    fn with_env(self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        match self {
            Client::Docker => {
                command.env("DOCKER_HOST", docker::docker_host());
            }
            Client::Podman { .. } => {
                command = podman::in_store(command, podman::store(), None);
            }
        }
        command.stdin(Stdio::null());
        command
    }

    /// The environment `with_env` sets, as a shell prefix.
    fn env_line(self) -> String {
        match self {
            Client::Docker => format!("DOCKER_HOST={}", docker::docker_host()),
            Client::Podman { .. } => format!(
                "CONTAINERS_STORAGE_CONF={}",
                podman::store().join("storage.conf").display()
            ),
        }
    }

    /// The client itself (with `--runtime` for podman, when chosen).
    fn client(self, args: &[String]) -> Output {
        let mut command = self.with_env(self.name());
        if let Client::Podman {
            runtime: Some(runtime),
        } = self
        {
            command.args(["--runtime", runtime]);
        }
        command.args(args).output().expect("the client runs")
    }

    /// `client`, once more when podman lost its start race (see
    /// `podman::without_its_start_race`): for runs that must succeed.
    fn client_to_succeed(self, args: &[String]) -> Output {
        let out = self.client(args);
        match self {
            Client::Podman { .. } if podman::lost_its_start_race(&out) => self.client(args),
            _ => out,
        }
    }

    /// `docker` / `podman [--runtime R]`: eperm's subcommand for this client.
    fn subcommand(self) -> Vec<&'static str> {
        match self {
            Client::Podman {
                runtime: Some(runtime),
            } => vec!["podman", "--runtime", runtime],
            _ => vec![self.name()],
        }
    }

    /// `eperm docker` / `eperm podman [--runtime R]`, eperm's options to follow.
    fn eperm(self) -> Command {
        let mut command = self.with_env(env!("CARGO_BIN_EXE_eperm"));
        command.args(self.subcommand());
        command
    }

    /// `run --rm --network none [podman's ulimits] OPTIONS IMAGE COMMAND...`.
    fn run_args(self, image: &str, options: &[&str], command: &[&str]) -> Vec<String> {
        let mut args = vec!["run", "--rm", "--network", "none"];
        if let Client::Podman { .. } = self {
            args.extend_from_slice(podman::ULIMITS);
        }
        args.extend_from_slice(options);
        args.push(image);
        args.extend_from_slice(command);
        args.into_iter().map(String::from).collect()
    }

    /// `run_args` of the test image running `sh -c SCRIPT`.
    fn run_sh(self, options: &[&str], script: &str) -> Vec<String> {
        self.run_args(IMAGE, options, &["sh", "-c", script])
    }

    /// The name the runtime's init has while it calls under the profile.
    fn init_comm(self) -> &'static str {
        match self.runtime() {
            "crun" => "crun",
            _ => "runc:[2:INIT]",
        }
    }

    /// Calls of the runtime's start-up of which a saved profile allows at least
    /// one (measured under a deny-everything profile).
    fn bootstrap_names(self) -> &'static [&'static str] {
        match self {
            Client::Docker => &["capset", "setgroups"],
            Client::Podman { .. } => &["capset", "prctl"],
        }
    }

    /// Calls only the runtime's init makes under the profile (the getppid helper
    /// never does): under Docker, runc's fd listing and its privilege drop.
    fn runtime_only_calls(self) -> &'static [&'static str] {
        match self {
            Client::Docker => &["epoll_ctl", "getdents64", "capset", "setgroups"],
            Client::Podman { .. } => &["capset"],
        }
    }

    /// How long a container may take to show up in `ps`, and to be gone from
    /// `ps -a` after its eperm was killed.
    fn kill_deadlines(self) -> (Duration, Duration) {
        match self {
            Client::Docker => (Duration::from_secs(20), Duration::from_secs(10)),
            Client::Podman { .. } => (Duration::from_secs(30), Duration::from_secs(15)),
        }
    }

    /// A subcommand of the client other than `run`.
    fn not_run(self) -> &'static str {
        match self {
            Client::Docker => "ps",
            Client::Podman { .. } => "images",
        }
    }

    /// The test image plus the getppid and own-listener helpers.
    fn cover_image(self) -> &'static str {
        match self {
            Client::Docker => docker::cover_image(),
            Client::Podman { .. } => podman::cover_image(),
        }
    }

    /// The test image plus [`STACK_PROGRAM`] in its /bin.
    fn stack_image(self) -> &'static str {
        match self {
            Client::Docker => docker::stack_image(),
            Client::Podman { .. } => podman::stack_image(),
        }
    }
}

/// The program whose stack the container test checks: stacks.rs's `main` →
/// `do_setup` → `make_cache_dir` → `mkdir`, built `-O2 -g -fomit-frame-pointer`,
/// under a name the host has nowhere.
pub const STACK_PROGRAM: &str = "eperm-stack-in-image";

/// [`STACK_PROGRAM`], built now in a directory removed once the image is made:
/// the image's copy is the only one left.
pub fn stack_program(dir: &Path) -> PathBuf {
    super::stacks::build(
        dir,
        STACK_PROGRAM,
        &[("cache.c", super::stacks::CACHE_C)],
        &[],
    )
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A coverage file's (count, before_exec) of `syscall`, summed over its tallies.
pub fn used(coverage: &Value, syscall: &str) -> (u64, u64) {
    let mut sum = (0, 0);
    for t in coverage["tallies"].as_array().unwrap() {
        if t["syscall"] == syscall {
            sum.0 += t["count"].as_u64().unwrap();
            sum.1 += t["before_exec"].as_u64().unwrap();
        }
    }
    sum
}

/// The runtime's own calls under the profile (made by its init before it execs
/// the workload) are counted apart: `names` are the runtime's alone, and its
/// execve of the workload is the one execve there is.
pub fn assert_runtime_apart(coverage: &Value, runs: u64, names: &[&str]) {
    for name in names {
        let (count, before) = used(coverage, name);
        assert!(count >= runs, "{name}: {count} calls in {coverage}");
        assert_eq!(count, before, "{name} is the runtime's alone: {coverage}");
    }
    assert_eq!(used(coverage, "execve"), (runs, runs), "{coverage}");
}

/// Parent cgroups eperm made for coverage whose eperm is gone: leaks.
pub fn leaked_coverage_cgroups() -> Vec<String> {
    let mut leaked = Vec::new();
    for root in [
        "/sys/fs/cgroup/unified",
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup",
    ] {
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("eperm-cov-") else {
                continue;
            };
            let pid = rest.split('-').next().unwrap_or("");
            if !Path::new("/proc").join(pid).exists() {
                leaked.push(format!("{root}/{name}"));
            }
        }
    }
    leaked
}

/// The mkdir fails under the tight profile; under eperm the container runs, its
/// mkdir is reported (the runtime's own calls as bootstrap), and the saved
/// profile lets the plain client run it.
fn reports_saves_and_the_saved_profile_runs(client: Client, mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let tight = write(dir.path(), "tight.json", DENY_ALL);
    let saved = dir.path().join("saved.json");
    let log = dir.path().join("events.jsonl");

    let opt = format!("seccomp={}", tight.display());
    let failed = client.client(&client.run_sh(&["--security-opt", &opt], WORKLOAD));
    assert!(
        !failed.status.success(),
        "the tight profile must stop the container"
    );

    let out = client
        .eperm()
        .args(["--mode", mode, "-p", tight.to_str().unwrap()])
        .args(["-o", saved.to_str().unwrap()])
        .args(["--events", log.to_str().unwrap(), "--"])
        .args(client.run_sh(&[], WORKLOAD))
        .output()
        .unwrap();
    assert_success(&out);
    assert_eq!(stdout(&out), "made\n", "{}", stderr(&out));

    let events = events(&log);
    let mkdir: Vec<&Value> = events.iter().filter(|e| e["syscall"] == "mkdir").collect();
    assert_eq!(mkdir.len(), 1, "{}", stderr(&out));
    assert_eq!(mkdir[0]["bootstrap"], false);
    assert_eq!(mkdir[0]["errno"], "EPERM");
    assert_eq!(
        mkdir[0]["source"],
        if mode == "notify" { "notify" } else { "audit" }
    );
    let init = client.init_comm();
    let runtime_calls: Vec<&Value> = events.iter().filter(|e| e["comm"] == init).collect();
    assert!(
        !runtime_calls.is_empty(),
        "{}'s start-up calls are reported",
        client.runtime()
    );
    assert!(runtime_calls.iter().all(|e| e["bootstrap"] == true));
    assert!(events
        .iter()
        .filter(|e| e["bootstrap"] == true)
        .all(|e| e["comm"] == init));

    let profile = read_json(&saved);
    let bootstrap_rule = profile["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["comment"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("container runtime ({})", client.runtime()))
        })
        .expect("a rule for the runtime's needs, commented");
    let names = bootstrap_rule["names"].as_array().unwrap();
    assert!(
        names
            .iter()
            .any(|n| client.bootstrap_names().contains(&n.as_str().unwrap())),
        "{names:?}"
    );

    let opt = format!("seccomp={}", saved.display());
    let ok = client.client_to_succeed(&client.run_sh(&["--security-opt", &opt], WORKLOAD));
    assert_success(&ok);
    assert_eq!(stdout(&ok), "made\n");
}

/// Two containers at once, each with its own eperm: each sees only its own calls.
fn two_containers_never_cross(client: Client, mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "some.json", DENY_SOME);
    let start = |name: &str, script: &str| {
        let log = dir.path().join(format!("{name}.jsonl"));
        let child = client
            .eperm()
            .args(["--mode", mode, "-p", profile.to_str().unwrap()])
            .args(["--events", log.to_str().unwrap(), "--"])
            .args(client.run_sh(&[], script))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        (child, log)
    };
    let (a, a_log) = start(
        "a",
        "for i in 1 2 3 4 5; do mkdir /tmp/d$i; sleep 0.2; done",
    );
    let (b, b_log) = start(
        "b",
        "for i in 1 2 3 4 5 6 7; do ls / >/dev/null; sleep 0.2; done",
    );
    for child in [a, b] {
        assert_success(&child.wait_with_output().unwrap());
    }
    // runc's init lists fds itself (getdents64): count calls by the program making them.
    let count = |log: &Path, comm: &str, name: &str| {
        events(log)
            .iter()
            .filter(|e| e["comm"] == comm && e["syscall"] == name)
            .count()
    };
    let strangers =
        |log: &Path, comm: &str| events(log).iter().filter(|e| e["comm"] == comm).count();
    assert_eq!(
        count(&a_log, "mkdir", "mkdir"),
        5,
        "a's own mkdir calls, each once"
    );
    assert_eq!(strangers(&a_log, "ls"), 0, "b's calls never reach a");
    assert_eq!(strangers(&b_log, "mkdir"), 0, "a's calls never reach b");
    // Each ls reads / to its end: one call with entries, one that returns none.
    assert_eq!(
        count(&b_log, "ls", "getdents64"),
        14,
        "every call of every ls"
    );
}

/// eperm killed with SIGKILL (no chance to clean up itself): its container goes.
fn killing_eperm_removes_the_container(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "some.json", DENY_SOME);
    let name = format!("eperm-kill-{}-{}", client.name(), std::process::id());
    let mut child = client
        .eperm()
        .args(["-p", profile.to_str().unwrap(), "--"])
        .args(client.run_args(IMAGE, &["--name", &name], &["sleep", "60"]))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let listed = |all: bool| {
        let filter = format!("name=^{name}$");
        let mut args = vec!["ps", "-q", "--filter", &filter];
        if all {
            args.push("-a");
        }
        let args: Vec<String> = args.into_iter().map(String::from).collect();
        // `ps` takes no --runtime: the client's plain command.
        let out = client.with_env(client.name()).args(args).output().unwrap();
        !stdout(&out).trim().is_empty()
    };
    let (started_within, gone_within) = client.kill_deadlines();
    let deadline = Instant::now() + started_within;
    while !listed(false) {
        assert!(Instant::now() < deadline, "the container never started");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Nor to remove its work directory (profile copy, cidfile, agent socket): the
    // test does, so that runs leave nothing behind (the next eperm would).
    let work = Path::new(eperm::container::state::STATE_DIR)
        .join("work")
        .join(format!("eperm-{}", child.id()));
    match std::fs::remove_dir_all(&work) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => panic!("{}: {e}", work.display()),
        _ => {}
    }
    let deadline = Instant::now() + gone_within;
    while listed(true) {
        assert!(
            Instant::now() < deadline,
            "the container outlived eperm by {gone_within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs eperm cannot follow are refused as bad usage, with a hint; no client
/// is needed to tell.
fn refuses_runs_it_cannot_follow(client: Client) {
    for args in [
        vec!["--", client.not_run()],
        vec!["--", "run", "-d", IMAGE, "true"],
        vec!["--", "run", "--privileged", IMAGE, "true"],
        vec!["--", "run", "--security-opt", "seccomp=unconfined", IMAGE],
        vec!["--mode", "log", "--enforce", "--", "run", IMAGE, "true"],
    ] {
        let out = eperm().arg(client.name()).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("hint") || stderr(&out).contains("--enforce"));
    }
}

/// The TUI on a container: the denial appears, `a` saves the allowance, `r`
/// re-runs the container under the saved profile, and the run is clean.
fn in_the_tui_allow_then_rerun_is_clean(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "nomkdir.json", DENY_MKDIR);
    let mut run = client.run_sh(&[], WORKLOAD);
    let script = run.pop().unwrap();
    let command = format!(
        "{} {} {} --mode notify --enforce -p {} -- {} '{script}'; echo EPERM-EXIT=$?; sleep 600",
        client.env_line(),
        env!("CARGO_BIN_EXE_eperm"),
        client.subcommand().join(" "),
        profile.display(),
        run.join(" "),
    );
    let tmux = Tmux::start(dir.path(), &command);
    tmux.wait_for("mkdir(\"/tmp/x\"", 30);
    tmux.wait_for("Operation n", 10); // enforced: the container saw EPERM
    tmux.steps(&[
        ("a", "[saved]", 5),
        ("r", "clean run", 30),
        ("q", "EPERM-EXIT=0", 15),
    ]);
    let opt = format!("seccomp={}", profile.display());
    let ok = client.client(&client.run_sh(&["--security-opt", &opt], WORKLOAD));
    assert_eq!(stdout(&ok), "made\n", "{}", stderr(&ok));
}

/// Coverage counts the container's getppid calls exactly, the runtime's init
/// apart, a second run adds to the first, and the cgroups eperm made for the
/// runs (the client's below them too) are gone afterwards.
fn coverage_counts_a_container_s_calls_exactly_and_the_runtime_s_apart(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.json", DENY_MKDIR);
    let image = client.cover_image();
    let path = dir.path().join("p.coverage.json");
    let mut expected = 0;
    for (runs, n) in [(1, 12_345), (2, 1000)] {
        let out = client
            .eperm()
            .args(["-p", profile.to_str().unwrap(), "--coverage", "--"])
            .args(client.run_args(image, &[], &["getppids", &n.to_string()]))
            .output()
            .unwrap();
        assert_success(&out);
        assert_has(&stderr(&out), "calls counted in the kernel (eBPF)");
        let coverage = read_json(&path);
        assert_eq!(coverage["runs"], runs);
        expected += n;
        let (count, before) = used(&coverage, "getppid");
        assert_eq!(count - before, expected, "{client:?}: {coverage}");
        assert_runtime_apart(&coverage, runs, client.runtime_only_calls());
    }
    assert_eq!(leaked_coverage_cgroups(), Vec::<String>::new());
}

/// Issue 33 in a container: under notify mode the workload's own seccomp
/// listener fails with EBUSY (eperm holds the one a filter chain may have,
/// handed over by the runtime). The runtime's copy of Docker's default profile
/// sends that call to eperm, so the summary says whose doing it is and that log
/// mode avoids it, never "denied nothing"; under log mode the call works.
fn a_container_s_own_listener_is_said_to_fail_because_of_eperm(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.json", eperm::profile::DEFAULT_PROFILE);
    let log = dir.path().join("events.jsonl");
    let run = client.run_args(client.cover_image(), &[], &["own-listener"]);
    let out = client
        .eperm()
        .args([
            "--no-tui",
            "--mode",
            "notify",
            "-p",
            profile.to_str().unwrap(),
        ])
        .args(["--events", log.to_str().unwrap(), "--"])
        .args(&run)
        .output()
        .unwrap();
    let summary = stderr(&out);
    assert_eq!(
        stdout(&out),
        "seccomp: Device or resource busy\n",
        "{client:?}: {summary}"
    );
    assert!(!summary.contains("denied nothing"), "{summary}");
    assert_has(
        &summary,
        "fails with EBUSY because eperm holds the seccomp listener",
    );
    assert_has(&summary, "to avoid it, run with --mode log");
    let seen = events(&log);
    assert!(
        seen.iter()
            .any(|e| e["caused_by_eperm"] == "listener" && e["comm"] == "own-listener"),
        "{seen:?}"
    );
    let out = client
        .eperm()
        .args(["--no-tui", "--mode", "log", "-p", profile.to_str().unwrap()])
        .arg("--")
        .args(&run)
        .output()
        .unwrap();
    assert_success(&out);
    assert!(!stderr(&out).contains("eperm holds"), "{}", stderr(&out));
}

/// Issue 29 in a container (notify): a denied mkdir's stack names the image's
/// program, read through the process (`/proc/PID/map_files`), its functions in
/// order with the call's file and line, the object being the path inside the
/// container. The host has no file of that name, and the build directory is gone.
fn a_container_s_stack_names_the_image_s_program(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "p.json", DENY_MKDIR);
    let log = dir.path().join("events.jsonl");
    let image = client.stack_image();
    let inside = format!("/bin/{STACK_PROGRAM}");
    for host in [Path::new(&inside), &Path::new("/usr").join(&inside[1..])] {
        assert!(!host.exists(), "the host must not have {}", host.display());
    }
    let out = client
        .eperm()
        .args(["--no-tui", "--mode", "notify", "-p"])
        .arg(&profile)
        .args(["--events", log.to_str().unwrap(), "--"])
        .args(client.run_args(image, &[], &[STACK_PROGRAM, "/cache"]))
        .output()
        .unwrap();
    assert_success(&out);
    let seen = events(&log);
    let mkdir = seen
        .iter()
        .find(|e| e["syscall"] == "mkdir" && e["comm"] == STACK_PROGRAM[..15])
        .unwrap_or_else(|| panic!("{client:?}: no mkdir of the program in {seen:?}"));
    let stack = mkdir["stack"]
        .as_array()
        .unwrap_or_else(|| panic!("no stack: {mkdir}"));
    let own: Vec<(&str, &str, u64)> = stack
        .iter()
        .filter(|f| f["object"] == inside.as_str())
        .map(|f| {
            let file = f["file"].as_str().unwrap_or("");
            let function = f["function"].as_str().unwrap_or("");
            (
                function,
                file.rsplit('/').next().unwrap(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .filter(|f| !f.0.is_empty() && f.0 != "_start")
        .collect();
    let line = super::stacks::call_line(super::stacks::CACHE_C);
    assert_eq!(
        own,
        [
            ("make_cache_dir", "cache.c", line),
            ("do_setup", "cache.c", own.get(1).map_or(0, |f| f.2)),
            ("main", "cache.c", own.get(2).map_or(0, |f| f.2)),
        ],
        "{client:?}: {mkdir}"
    );
    assert_has(
        &stderr(&out),
        &format!("from make_cache_dir (cache.c:{line}) ← do_setup ← main"),
    );
}

/// Records the container `run` (a client's run arguments) under `profile`
/// three ways: in the kernel (the default with -o), with --trap, and without
/// eBPF (EPERM_COVERAGE=notify); each says how it recorded, the container runs
/// each time (printing `made`), and all three write the same profile, returned.
fn recorded_alike(client: Client, dir: &Path, profile: &str, run: &[String]) -> String {
    let base = write(dir, "base.json", profile);
    let record = |name: &str, extra: &[&str], env: Option<(&str, &str)>| {
        let out_path = dir.join(name);
        let mut command = client.eperm();
        if let Some((key, value)) = env {
            command.env(key, value);
        }
        let out = command
            .args(["-p", base.to_str().unwrap()])
            .args(["-o", out_path.to_str().unwrap()])
            .args(extra)
            .arg("--")
            .args(run)
            .output()
            .unwrap();
        assert_success(&out);
        assert_eq!(stdout(&out), "made\n", "{client:?}: {}", stderr(&out));
        (stderr(&out), std::fs::read_to_string(&out_path).unwrap())
    };
    let (err, counted) = record("counted.json", &[], None);
    assert_has(&err, "eperm: recorded in the kernel (eBPF)");
    let (err, trapped) = record("trapped.json", &["--trap"], None);
    assert_has(
        &err,
        "eperm: recorded by trapping each call (notify): --trap",
    );
    assert_eq!(counted, trapped, "{client:?}: counted vs trapped");
    let (err, no_ebpf) = record("no-ebpf.json", &[], Some(("EPERM_COVERAGE", "notify")));
    assert_has(
        &err,
        "eperm: recorded by trapping each call (notify): EPERM_COVERAGE=notify",
    );
    assert_eq!(
        counted, no_ebpf,
        "{client:?}: counted vs trapped without eBPF"
    );
    assert_eq!(leaked_coverage_cgroups(), Vec::<String>::new());
    counted
}

/// Under a deny-everything profile a container recorded in the kernel writes
/// the profile a trapped recording writes: the workload's calls in one rule,
/// the runtime's start-up calls in their commented rule; the plain client runs
/// the container under it.
fn a_kernel_recording_writes_the_trapped_profile(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let counted = recorded_alike(client, dir.path(), DENY_ALL, &client.run_sh(&[], WORKLOAD));
    let profile: Value = serde_json::from_str(&counted).unwrap();
    let rules = profile["syscalls"].as_array().unwrap();
    let commented = |text: &str| {
        rules
            .iter()
            .find(|r| r["comment"].as_str().unwrap_or("").contains(text))
            .unwrap_or_else(|| panic!("a rule commented {text:?}: {counted}"))
    };
    let start_up = commented(&format!("container runtime ({})", client.runtime()));
    let workload = commented("recorded by eperm from");
    let has = |rule: &Value, name: &str| rule["names"].as_array().unwrap().contains(&name.into());
    assert!(
        has(workload, "mkdir") && !has(start_up, "mkdir"),
        "{counted}"
    );
    assert!(
        client.bootstrap_names().iter().any(|n| has(start_up, n)),
        "{counted}"
    );

    let opt = format!("seccomp={}", dir.path().join("counted.json").display());
    let ok = client.client_to_succeed(&client.run_sh(&["--security-opt", &opt], WORKLOAD));
    assert_success(&ok);
    assert_eq!(stdout(&ok), "made\n");
}

/// Docker's default profile allows personality only with a few values:
/// `setarch -R` (ADDR_NO_RANDOMIZE) is refused by argument. Counted in the
/// kernel, the sampled value is judged as the trapped call is, so both
/// recordings allow personality, and the plain client runs the container
/// under what was written (and not under the default profile).
fn a_kernel_recording_judges_argument_values_as_trapping_does(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let script = "setarch -R true && echo made";
    let run = client.run_args(client.cover_image(), &[], &["sh", "-c", script]);
    let default = eperm::profile::DEFAULT_PROFILE;
    let counted = recorded_alike(client, dir.path(), default, &run);
    let profile: Value = serde_json::from_str(&counted).unwrap();
    let unconditional = profile["syscalls"].as_array().unwrap().iter().any(|r| {
        r["names"]
            .as_array()
            .unwrap()
            .contains(&"personality".into())
            && r["args"].is_null()
    });
    assert!(unconditional, "{client:?}: {counted}");

    let run_under = |profile: &Path| {
        let opt = format!("seccomp={}", profile.display());
        let options = ["--security-opt", opt.as_str()];
        client.client(&client.run_args(client.cover_image(), &options, &["sh", "-c", script]))
    };
    assert!(!run_under(&dir.path().join("base.json")).status.success());
    let ok = run_under(&dir.path().join("counted.json"));
    assert_success(&ok);
    assert_eq!(stdout(&ok), "made\n");
}

/// `eperm CLIENT --no-tui --events FILE -- run … IMAGE sh -c SCRIPT` of the
/// cover image: its output and the layer watcher's lines.
fn run_layered(client: Client, dir: &Path, options: &[&str], script: &str) -> (Output, Vec<Value>) {
    let log = dir.join("events.jsonl");
    let out = client
        .eperm()
        .args(["--no-tui", "--events", log.to_str().unwrap(), "--"])
        .args(client.run_args(client.cover_image(), options, &["sh", "-c", script]))
        .output()
        .unwrap();
    let layered = events(&log)
        .into_iter()
        .filter(|e| e["source"] == "ebpf")
        .collect();
    (out, layered)
}

/// Issue 27 in a container: a call refused for want of a capability the
/// container was not given names it, with the fix for docker, podman and
/// Kubernetes (and not "run as root": the container's root lacks it too).
fn a_dropped_capability_is_named_with_its_container_fixes(client: Client) {
    let dir = tempfile::tempdir().unwrap();
    let (out, layered) = run_layered(client, dir.path(), &["--cap-drop", "ALL"], "chown 1 /tmp");
    let summary = stderr(&out);
    assert_eq!(layered.len(), 1, "{client:?}: {layered:#?}\n{summary}");
    let chown = &layered[0];
    assert_eq!(chown["syscall"], "fchownat", "{chown}");
    assert_eq!(chown["layer"], "capability", "{chown}");
    assert_eq!(chown["capabilities"], serde_json::json!(["CAP_CHOWN"]));
    assert_eq!(chown["comm"], "chown");
    assert_eq!(chown["path"]["path"], "/tmp", "{chown}");
    let fix = chown["fix"].as_str().unwrap();
    for part in [
        "docker run --cap-add CHOWN",
        "podman run --cap-add CHOWN",
        r#"securityContext.capabilities.add: ["CHOWN"]"#,
    ] {
        assert!(fix.contains(part), "{part} in {fix}");
    }
    assert!(!fix.contains("run as root"), "{fix}");
    assert_has(&summary, "capability: CAP_CHOWN");
    assert!(!summary.contains("not watched"), "{summary}");
}

/// A device node the container makes but was not given: its open is refused
/// by the device cgroup, named `devices` with the device and the fixes; given
/// with `--device`, the same open works and nothing is reported (a clean run).
fn a_device_it_was_not_given_is_the_device_cgroup_s_refusal(client: Client) {
    let (host, major, minor) = ungiven_device();
    let dir = tempfile::tempdir().unwrap();
    let script = format!("devnode /tmp/node {major} {minor}");
    // podman's default capabilities lack CAP_MKNOD.
    let (out, layered) = run_layered(client, dir.path(), &["--cap-add", "MKNOD"], &script);
    let summary = stderr(&out);
    assert_eq!(
        stdout(&out),
        "mknod: ok\nopen: Operation not permitted\n",
        "{client:?}: {summary}"
    );
    assert_eq!(layered.len(), 1, "{client:?}: {layered:#?}\n{summary}");
    let open = &layered[0];
    assert_eq!(open["syscall"], "openat", "{open}");
    assert_eq!(open["errno"], "EPERM");
    assert_eq!(open["layer"], "devices", "{open}");
    assert_eq!(
        open["device"],
        serde_json::json!({"type": "c", "major": major, "minor": minor, "access": "r",
            "host_path": host})
    );
    let fix = open["fix"].as_str().unwrap();
    for part in [
        format!("--device {host}"),
        format!("--device-cgroup-rule 'c {major}:{minor} r'"),
        "linux.resources.devices".to_string(),
    ] {
        assert!(fix.contains(&part), "{part} in {fix}");
    }
    assert_has(&summary, &format!("devices: c {major}:{minor}"));

    let dir = tempfile::tempdir().unwrap();
    let script = format!("devnode {host} {major} {minor}");
    let (out, layered) = run_layered(client, dir.path(), &["--device", host], &script);
    let summary = stderr(&out);
    assert_success(&out);
    assert_eq!(stdout(&out), "open: ok\n", "{client:?}: {summary}");
    assert_eq!(layered, Vec::<Value>::new(), "{client:?}: {summary}");
    assert!(!summary.contains("another layer"), "{summary}");
    assert!(!summary.contains("not watched"), "{summary}");
}

/// One #[test] per client for a case: `each_client!(case(args) as name: docker, ...)`
/// makes `name::docker` and so on, each calling `case(client, args)`.
macro_rules! each_client {
    ($case:ident($($arg:expr),*) as $name:ident: $($client:ident),+) => {
        mod $name {
            fn case(client: super::Client) {
                super::$case(client, $($arg),*);
            }
            $(
                #[test]
                fn $client() {
                    case(super::$client());
                }
            )+
        }
    };
    ($case:ident($($arg:expr),*): $($client:ident),+) => {
        each_client!($case($($arg),*) as $case: $($client),+);
    };
}

fn docker() -> Client {
    Client::Docker
}

/// podman with its default runtime (crun here).
fn podman() -> Client {
    Client::Podman { runtime: None }
}

fn podman_crun() -> Client {
    Client::Podman {
        runtime: Some("crun"),
    }
}

fn podman_runc() -> Client {
    Client::Podman {
        runtime: Some("runc"),
    }
}

each_client!(reports_saves_and_the_saved_profile_runs("notify") as notify_reports_saves_and_the_saved_profile_runs: docker, podman_crun, podman_runc);
each_client!(reports_saves_and_the_saved_profile_runs("log") as log_reports_saves_and_the_saved_profile_runs: docker, podman_crun, podman_runc);
each_client!(two_containers_never_cross("notify") as two_containers_never_cross_notify: docker, podman);
each_client!(two_containers_never_cross("log") as two_containers_never_cross_log: docker, podman);
each_client!(killing_eperm_removes_the_container(): docker, podman);
each_client!(refuses_runs_it_cannot_follow(): docker, podman);
each_client!(in_the_tui_allow_then_rerun_is_clean(): docker, podman);
each_client!(coverage_counts_a_container_s_calls_exactly_and_the_runtime_s_apart(): docker, podman_crun, podman_runc);
each_client!(a_container_s_own_listener_is_said_to_fail_because_of_eperm(): docker, podman_crun, podman_runc);
each_client!(a_container_s_stack_names_the_image_s_program(): docker, podman_crun, podman_runc);
each_client!(a_kernel_recording_writes_the_trapped_profile(): docker, podman_crun, podman_runc);
each_client!(a_kernel_recording_judges_argument_values_as_trapping_does(): docker, podman_crun, podman_runc);
each_client!(a_dropped_capability_is_named_with_its_container_fixes(): docker, podman);
each_client!(a_device_it_was_not_given_is_the_device_cgroup_s_refusal(): docker, podman_crun, podman_runc);

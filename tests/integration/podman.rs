//! `eperm podman` against the real podman 4 with crun (its default) and runc.
//! What docker and podman both do (a denied container debugged and fixed end to
//! end, notify and log, two at once, eperm killed, the TUI, coverage) is tested in
//! clients.rs, against each; here is the podman client's set-up and what only
//! podman has: crun's bootstrap, a runtime eperm has not measured, and rootless
//! podman as an ordinary user (nobody).
//!
//! Every podman here uses a private store (CONTAINERS_STORAGE_CONF as root; as
//! nobody, a HOME of its own), so the tests touch no one's containers or images.
//! Two things this sandbox lacks are made up for in every podman run: the hybrid
//! cgroup layout leaves `hugetlb` on the v2 hierarchy, which crun refuses (mounted
//! on v1 once, in `store`), and without CAP_SYS_RESOURCE podman's default rlimits
//! fail (the `--ulimit`s in `ULIMITS`).

use super::clients::{run_script, write, IMAGE, WORKLOAD};
use super::util::container_profiles::{DENY_ALL, DENY_MKDIR};
use super::util::{assert_success, eperm, events, host_rootfs, require_root, stderr, stdout, Tmux};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// What every rootful podman run here needs: rlimits without CAP_SYS_RESOURCE.
pub(super) const ULIMITS: &[&str] = &[
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// The root's private podman store, with the test image in it.
pub(super) fn store() -> &'static Path {
    static STORE: OnceLock<PathBuf> = OnceLock::new();
    STORE.get_or_init(|| {
        require_root("rootful podman and its cgroups");
        hugetlb_on_v1();
        sweep_stores();
        let dir = new_store("root", None);
        import_image(&dir, None, IMAGE, &[]);
        dir
    })
}

/// crun refuses a hybrid cgroup layout with a controller left on v2 (here
/// `hugetlb`, at /sys/fs/cgroup/unified); real hosts have it on v1 already.
fn hugetlb_on_v1() {
    let v1 = Path::new("/sys/fs/cgroup/hugetlb");
    let hybrid = Path::new("/sys/fs/cgroup/unified/cgroup.controllers");
    let on_v2 = std::fs::read_to_string(hybrid).is_ok_and(|c| c.contains("hugetlb"));
    if !on_v2 || v1.exists() {
        return;
    }
    std::fs::create_dir_all(v1).unwrap();
    let out = Command::new("mount")
        .args(["-t", "cgroup", "-o", "hugetlb", "cgroup"])
        .arg(v1)
        .output()
        .unwrap();
    assert_success(&out);
}

/// Where the tests' stores go: a directory of root's that every user can reach
/// (nobody's store is in it too), beside eperm's own state, not in /tmp.
const STORES: &str = "/run/eperm-tests";

/// Where this run's store `name` goes.
fn store_dir(name: &str) -> PathBuf {
    Path::new(STORES).join(format!("podman-{}-{name}", std::process::id()))
}

/// Removes the stores of earlier runs whose test binary is gone (a store lives
/// as long as its run: podman's state is in it).
fn sweep_stores() {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(STORES).unwrap();
    std::fs::set_permissions(STORES, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(STORES).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("podman-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A store directory `name` with its storage.conf, owned by `uid` when given.
fn new_store(name: &str, uid: Option<u32>) -> PathBuf {
    let dir = store_dir(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let conf = format!(
        "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/run\"\n",
        dir.display()
    );
    std::fs::write(dir.join("storage.conf"), conf).unwrap();
    if let Some(uid) = uid {
        std::fs::create_dir(dir.join("xdg")).unwrap();
        for path in [dir.clone(), dir.join("storage.conf"), dir.join("xdg")] {
            std::os::unix::fs::chown(&path, Some(uid), Some(uid)).unwrap();
        }
    }
    dir
}

/// `podman import` into `store`, as `user` when given, as `image`, of a root file
/// system of host binaries with the `programs` (host paths) in its /bin.
fn import_image(store: &Path, user: Option<u32>, image: &str, programs: &[PathBuf]) {
    let rootfs = tempfile::tempdir().unwrap();
    host_rootfs(rootfs.path());
    for program in programs {
        let to = rootfs.path().join("bin").join(program.file_name().unwrap());
        std::fs::copy(program, to).unwrap();
    }
    let tar = store.join(format!("{}.tar", image.replace(':', "-")));
    let out = Command::new("tar")
        .args(["-C", rootfs.path().to_str().unwrap(), "-cf"])
        .arg(&tar)
        .arg(".")
        .output()
        .unwrap();
    assert_success(&out);
    let mut import = in_store(Command::new("podman"), store, user);
    import
        .args(["import", tar.to_str().unwrap(), image])
        .stdout(Stdio::null());
    assert_success(&import.output().unwrap());
}

/// `command` with the store's environment, run as `user` (its own uid and gid,
/// no groups, a home of its own) when given.
pub(super) fn in_store(mut command: Command, store: &Path, user: Option<u32>) -> Command {
    use std::os::unix::process::CommandExt;
    command.env("CONTAINERS_STORAGE_CONF", store.join("storage.conf"));
    if let Some(uid) = user {
        command
            .uid(uid)
            .gid(uid)
            .env("HOME", store)
            .env("XDG_RUNTIME_DIR", store.join("xdg"))
            .current_dir(store);
    }
    command
}

/// Whether podman itself lost a race, so that a run must be tried once more:
/// under load, podman 4.3.1 with runc 1.1.5 now and then has `runc start` fail
/// with "cannot start an already running container" (seen once in a full suite on
/// 2 busy cores, never alone) — a container that did not run at all, whatever its
/// profile.
pub(super) fn lost_its_start_race(out: &Output) -> bool {
    let lost =
        !out.status.success() && stderr(out).contains("cannot start an already running container");
    if lost {
        eprintln!("podman lost its start race; once more: {}", stderr(out));
    }
    lost
}

fn eperm_podman(args: &[&str]) -> Output {
    let mut command = in_store(eperm(), store(), None);
    command
        .arg("podman")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `run --rm --network none ULIMITS OPTIONS IMAGE sh -c SCRIPT`.
fn podman_run<'a>(options: &[&'a str], script: &'a str) -> Vec<&'a str> {
    run_script(&[ULIMITS, options].concat(), script)
}

/// The names crun's init calls under the profile before its exec, in `mode`,
/// with or without no-new-privileges (measured under a deny-everything profile).
fn crun_bootstrap(mode: &str, no_new_privileges: bool) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let tight = write(dir.path(), "tight.json", DENY_ALL);
    let log = dir.path().join("events.jsonl");
    let nnp: &[&str] = if no_new_privileges {
        &["--security-opt", "no-new-privileges"]
    } else {
        &[]
    };
    let mut args = vec!["--runtime", "crun", "--mode", mode, "--no-tui"];
    args.extend(["-p", tight.to_str().unwrap()]);
    args.extend(["--events", log.to_str().unwrap(), "--"]);
    args.extend(podman_run(nnp, "true"));
    assert_success(&eperm_podman(&args));
    let mut names: Vec<String> = events(&log)
        .iter()
        .filter(|e| e["bootstrap"] == true)
        .map(|e| e["syscall"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Without no-new-privileges crun loads the filter before it drops privileges,
/// so its whole privilege drop runs under the profile; with it, the filter comes
/// last and only close and the exec go through it.
#[test]
fn crun_bootstrap_with_and_without_no_new_privileges() {
    for mode in ["log", "notify"] {
        let without = crun_bootstrap(mode, false);
        let with = crun_bootstrap(mode, true);
        for name in ["capset", "prctl", "setresuid", "setresgid", "execve"] {
            assert!(without.contains(&name.to_string()), "{mode}: {without:?}");
        }
        for name in ["close", "execve"] {
            assert!(with.contains(&name.to_string()), "{mode}: {with:?}");
        }
        for name in ["capset", "prctl", "setresuid", "setresgid"] {
            assert!(!with.contains(&name.to_string()), "{mode}: {with:?}");
        }
        assert!(
            with.len() < without.len(),
            "{mode}: {with:?} vs {without:?}"
        );
    }
}

/// A runtime eperm has not measured: crun under another name, in `dir`.
fn crun_renamed(dir: &Path) -> PathBuf {
    let runtime = dir.join("ocirt");
    std::os::unix::fs::symlink("/usr/bin/crun", &runtime).unwrap();
    runtime
}

/// A runtime eperm has not measured (here crun under another name): no live
/// decisions, log mode, and the summary says why.
#[test]
fn an_unknown_runtime_falls_back_to_log_and_the_summary_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "nomkdir.json", DENY_MKDIR);
    let runtime = crun_renamed(dir.path());
    let mut args = vec!["--runtime", runtime.to_str().unwrap(), "--no-tui"];
    args.extend(["-p", profile.to_str().unwrap(), "--"]);
    args.extend(podman_run(&[], WORKLOAD));
    let out = eperm_podman(&args);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("mkdir"), "{err}");
    assert!(err.contains("kernel log sources:"), "log mode: {err}");
    assert!(
        err.contains("eperm: note: log mode, not notify: podman's runtime is"),
        "{err}"
    );
}

/// A runtime that creates the container, then keeps its caller (conmon, and so
/// podman) waiting: podman records the container nowhere until it returns. It
/// runs crun as `DIR/crun-here`, so that what it creates names `dir`; `DIR/creating`
/// says the container exists.
fn slow_to_report_create(dir: &Path) -> PathBuf {
    let crun = dir.join("crun-here");
    std::os::unix::fs::symlink("/usr/bin/crun", &crun).unwrap();
    let runtime = dir.join("slowrt");
    let script = format!(
        "#!/bin/sh\n{crun} \"$@\"; rc=$?\ncase \" $* \" in *\" create \"*) : > {marker}; sleep 20 ;; esac\nexit $rc\n",
        crun = crun.display(),
        marker = dir.join("creating").display(),
    );
    std::fs::write(&runtime, script).unwrap();
    std::fs::set_permissions(
        &runtime,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    runtime
}

/// The pids of processes whose command line names `dir`.
fn naming(dir: &Path) -> Vec<i32> {
    let dir = dir.to_str().unwrap();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(dir) {
            pids.push(pid);
        }
    }
    pids
}

/// Issue 33: eperm killed while podman waits for its runtime's create left the
/// created container's init (`crun create`, waiting on its exec.fifo for a
/// start that never came) and its conmon behind: podman had not recorded the
/// container, so `podman rm` removed nothing. Every container eperm starts goes
/// with it, in whatever state.
#[test]
fn a_container_created_but_never_started_goes_with_a_killed_eperm() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "nomkdir.json", DENY_MKDIR);
    let runtime = slow_to_report_create(dir.path());
    let mut command = in_store(eperm(), store(), None);
    command
        .arg("podman")
        .args(["--runtime", runtime.to_str().unwrap(), "--no-tui"]);
    command.args(["-p", profile.to_str().unwrap(), "--"]);
    command.args(podman_run(&[], WORKLOAD));
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let creating = dir.path().join("creating");
    for _ in 0..600 {
        if creating.exists() || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(creating.exists(), "the container was never created");
    child.kill().unwrap();
    child.wait().unwrap();
    // eperm's watchdog has done its cleanup; the create it interrupted ends in
    // 20 s at most. What is left a while after that stays for ever.
    let mut left = naming(dir.path());
    for _ in 0..300 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        left = naming(dir.path());
    }
    let described: Vec<String> = left
        .iter()
        .map(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect();
    for pid in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    assert!(left.is_empty(), "left behind: {described:#?}");
}

/// Rootless: podman and eperm as nobody. Notify works (crun hands the listener
/// to eperm, which needs no privilege to serve it, nor to read the callers'
/// memory): the saved profile runs, and --enforce reproduces the EPERM; log
/// mode is refused, since the kernel log sources need root.
#[test]
fn rootless_podman_notify_works_and_log_is_refused() {
    require_root("the test makes a store for nobody and runs as nobody");
    const NOBODY: u32 = 65534;
    store(); // the root store's set-up: cgroups, old stores swept
    let store = new_store("nobody", Some(NOBODY));
    import_image(&store, Some(NOBODY), IMAGE, &[]);
    let tight = write(&store, "tight.json", DENY_ALL);
    let saved = store.join("saved.json");
    // The build directory may be out of nobody's reach: eperm goes in the store.
    let binary = store.join("eperm");
    std::fs::copy(env!("CARGO_BIN_EXE_eperm"), &binary).unwrap();
    let as_nobody = |program: Command, args: &[&str]| {
        let mut command = in_store(program, &store, Some(NOBODY));
        command.args(args).stdin(Stdio::null()).output().unwrap()
    };
    let mut args = vec!["podman", "--no-tui", "-p", tight.to_str().unwrap()];
    args.extend(["-o", saved.to_str().unwrap(), "--"]);
    // Rootless podman keeps the user's own rlimits: no --ulimit needed.
    args.extend(run_script(&[], WORKLOAD));
    let out = as_nobody(Command::new(&binary), &args);
    assert_success(&out);
    assert_eq!(stdout(&out), "made\n", "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("mkdir "), "{err}");
    assert!(err.contains("eperm: note: rootless:"), "{err}");
    assert!(
        !err.contains("runc"),
        "podman's default here is crun: {err}"
    );

    let opt = format!("seccomp={}", saved.display());
    let ok = as_nobody(
        Command::new("podman"),
        &run_script(&["--security-opt", &opt], WORKLOAD),
    );
    assert_success(&ok);
    assert_eq!(stdout(&ok), "made\n");

    // --enforce: the container gets the profile's EPERM, from eperm's answer.
    let no_mkdir = write(&store, "nomkdir.json", DENY_MKDIR);
    let mut args = vec!["podman", "--enforce", "--no-tui"];
    args.extend(["-p", no_mkdir.to_str().unwrap(), "--"]);
    args.extend(run_script(&[], WORKLOAD));
    let enforced = as_nobody(Command::new(&binary), &args);
    let err = stderr(&enforced);
    assert_eq!(enforced.status.code(), Some(1), "{err}");
    assert!(err.contains("Operation not permitted"), "{err}");
    assert!(err.contains("mkdir(\"/tmp/x\", 0777)"), "decoded: {err}");
    let log = as_nobody(
        Command::new(&binary),
        &[
            "podman", "--mode", "log", "--no-tui", "--", "run", IMAGE, "true",
        ],
    );
    assert_eq!(log.status.code(), Some(2), "{}", stderr(&log));
    assert!(stderr(&log).contains("need root"), "{}", stderr(&log));

    // Rootless podman leaves a pause process holding its user namespace: ours.
    let pause = store.join("xdg/libpod/tmp/pause.pid");
    if let Some(pid) = std::fs::read_to_string(pause)
        .ok()
        .and_then(|p| p.trim().parse::<i32>().ok())
    {
        // SAFETY: plain syscall on the pause process this test's podman started.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// The TUI under a runtime eperm has not measured: log mode, and once the screen
/// is back the note says why.
#[test]
fn podman_in_the_tui_says_why_it_logs_when_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "nomkdir.json", DENY_MKDIR);
    let runtime = crun_renamed(dir.path());
    let command = format!(
        "CONTAINERS_STORAGE_CONF={} {} podman --runtime {} -p {} -- run --rm --network none {} \
         {IMAGE} sh -c '{WORKLOAD}'; echo EPERM-EXIT=$?; sleep 600",
        store().join("storage.conf").display(),
        env!("CARGO_BIN_EXE_eperm"),
        runtime.display(),
        profile.display(),
        ULIMITS.join(" "),
    );
    let tmux = Tmux::start(dir.path(), &command);
    tmux.wait_for("mkdir", 30);
    let screen = tmux.steps(&[("q", "EPERM-EXIT=0", 15)]);
    assert!(
        screen.contains("eperm: note: log mode, not notify: podman's runtime is"),
        "{screen}"
    );
}

/// The test image plus the getppid and own-listener helpers and setarch, in the root's store.
pub(super) fn cover_image() -> &'static str {
    static BUILT: OnceLock<&'static str> = OnceLock::new();
    BUILT.get_or_init(|| {
        let image = "eperm-test:cover";
        import_image(store(), None, image, &super::clients::cover_helpers());
        image
    })
}

/// The test image plus clients.rs's stack program, in the root's store.
pub(super) fn stack_image() -> &'static str {
    static BUILT: OnceLock<&'static str> = OnceLock::new();
    BUILT.get_or_init(|| {
        let image = "eperm-test:stack";
        let build = tempfile::tempdir().unwrap();
        let program = super::clients::stack_program(build.path());
        import_image(store(), None, image, &[program]);
        image
    })
}

/// podman takes `--runtime` before `run`, after it, or from containers.conf's
/// `[engine] runtime`; so does eperm. crun after `run` is followed live; crun
/// under another name, wherever given, is one eperm has not measured (log mode,
/// and the note names it): proof that eperm read it from there.
#[test]
fn the_runtime_is_taken_wherever_podman_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let profile = write(dir.path(), "nomkdir.json", DENY_MKDIR);
    let p = profile.to_str().unwrap();
    let ocirt = crun_renamed(dir.path());
    let ocirt = ocirt.to_str().unwrap();
    let workload = podman_run(&[], WORKLOAD);
    fn after_run<'a>(runtime: &'a str, workload: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["run", "--runtime", runtime];
        args.extend(&workload[1..]);
        args
    }

    // The new user's line: notify through crun, the mkdir denied and said.
    let mut args = vec!["--no-tui", "-p", p, "--"];
    args.extend(after_run("crun", &workload));
    let out = eperm_podman(&args);
    assert_success(&out);
    let err = stderr(&out);
    assert!(err.contains("mkdir"), "{err}");
    assert!(
        !err.contains("kernel log sources:"),
        "notify, not log: {err}"
    );

    let unmeasured = |args: &[&str], conf: Option<&Path>| {
        let mut command = in_store(eperm(), store(), None);
        if let Some(conf) = conf {
            command.env("CONTAINERS_CONF", conf);
        }
        let out = command
            .arg("podman")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_success(&out);
        let err = stderr(&out);
        assert!(err.contains("mkdir"), "{args:?}: {err}");
        assert!(
            err.contains("log mode, not notify: podman's runtime is") && err.contains("ocirt"),
            "{args:?}: {err}"
        );
    };
    let mut args = vec!["--no-tui", "-p", p, "--"];
    args.extend(after_run(ocirt, &workload));
    unmeasured(&args, None);
    let mut args = vec!["--no-tui", "-p", p, "--", "--runtime", ocirt];
    args.extend(&workload);
    unmeasured(&args, None);
    let conf = write(
        dir.path(),
        "containers.conf",
        &format!("[engine]\nruntime = \"ocirt\"\n[engine.runtimes]\nocirt = [\"{ocirt}\"]\n"),
    );
    let mut args = vec!["--no-tui", "-p", p, "--"];
    args.extend(&workload);
    unmeasured(&args, Some(&conf));

    // Two runtimes that disagree: refused before anything runs, saying why.
    let mut args = vec!["--runtime", "runc", "--no-tui", "-p", p, "--"];
    args.extend(after_run("crun", &workload));
    let out = eperm_podman(&args);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("which podman would take"),
        "{}",
        stderr(&out)
    );
}

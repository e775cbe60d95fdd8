//! Pods by name: containers a private containerd runs in namespace `k8s.io`
//! with the CRI plugin's annotations and kubepods cgroups (cgroupfs driver), as
//! a Kubernetes node's containerd does, under a profile from `export --soften
//! log`. `watch` names each record's pod from its cgroup and the bundle, and
//! filters by pod and by namespace.

use crate::util::{eperm, fixture, host_rootfs, require_root, stderr};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A containerd of the test's own: its root, state, socket and config in a
/// temporary directory; stopped (and its leftovers removed) when dropped.
pub(super) struct Containerd {
    dir: tempfile::TempDir,
    daemon: Child,
}

impl Containerd {
    pub(super) fn start() -> Containerd {
        let dir = tempfile::Builder::new()
            .prefix("ctd-")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .unwrap();
        let d = dir.path().display();
        // No CRI (it would want a CNI and images), no snapshotters this host lacks.
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("containerd (Debian's containerd package) is needed");
        let ctd = Containerd { dir, daemon };
        // Ready when it answers; it boots in milliseconds, a loaded machine slower.
        for _ in 0..300 {
            if ctd.ctr(&["version"]).status.success() {
                return ctd;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("containerd did not answer: {}", ctd.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    pub(super) fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn ctr(&self, args: &[&str]) -> Output {
        Command::new("ctr")
            .arg("--address")
            .arg(self.dir.path().join("c.sock"))
            .args(["-n", "k8s.io"])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // SIGTERM: containerd stops serving; the shims of finished tasks are gone.
        // SAFETY: plain syscall on the daemon this test started.
        unsafe { libc::kill(self.daemon.id() as i32, libc::SIGTERM) };
        let _ = self.daemon.wait();
    }
}

/// A pod: its namespace, name, uid, and its one container's id.
pub(super) struct TestPod {
    namespace: &'static str,
    name: &'static str,
    uid: String,
    id: String,
}

impl TestPod {
    pub(super) fn new(namespace: &'static str, name: &'static str, n: u8) -> TestPod {
        let tag = std::process::id();
        TestPod {
            namespace,
            name,
            uid: format!("{tag:08x}-0000-4000-8000-{n:012x}"),
            id: format!("{tag:08x}{n:02x}{}", "e".repeat(54)),
        }
    }

    /// The cgroupfs driver's path: `kubepods/besteffort/pod<uid>/<id>`.
    fn cgroup(&self) -> String {
        format!("kubepods/besteffort/pod{}/{}", self.uid, self.id)
    }

    /// Runs the container to its end: `sleep 1` under `profile`, with the CRI
    /// plugin's annotations.
    pub(super) fn run(&self, ctd: &Containerd, rootfs: &Path, profile: &Path) {
        let cgroup = self.cgroup();
        let annotations = [
            format!("io.kubernetes.cri.sandbox-namespace={}", self.namespace),
            format!("io.kubernetes.cri.sandbox-name={}", self.name),
            format!("io.kubernetes.cri.sandbox-uid={}", self.uid),
            "io.kubernetes.cri.container-name=app".to_string(),
            "io.kubernetes.cri.container-type=container".to_string(),
        ];
        let mut args = vec![
            "run",
            "--rm",
            "--rootfs",
            "--seccomp",
            "--seccomp-profile",
            profile.to_str().unwrap(),
            "--cgroup",
            &cgroup,
        ];
        for a in &annotations {
            args.extend(["--annotation", a]);
        }
        args.extend([rootfs.to_str().unwrap(), &self.id, "/bin/sleep", "1"]);
        let out = ctd.ctr(&args);
        assert!(
            out.status.success(),
            "ctr run: {}\n{}",
            stderr(&out),
            ctd.log()
        );
    }

    /// The pod's cgroup directories, in every hierarchy (runc removes the
    /// container's own; the pod's and the QoS class's are the test's to remove).
    pub(super) fn remove_cgroups(&self) {
        let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
            return;
        };
        for h in hierarchies.flatten() {
            let pod = h
                .path()
                .join(format!("kubepods/besteffort/pod{}", self.uid));
            let _ = std::fs::remove_dir(&pod);
            // Left when another pod still uses them.
            let _ = std::fs::remove_dir(h.path().join("kubepods/besteffort"));
            let _ = std::fs::remove_dir(h.path().join("kubepods"));
        }
        // cgroup v2 alone: the unified tree is the root.
        let _ = std::fs::remove_dir(format!(
            "/sys/fs/cgroup/kubepods/besteffort/pod{}",
            self.uid
        ));
    }
}

/// `eperm watch --json` with `filter`, reading the state of `ctd`, once its
/// sources say they are active.
fn watch(ctd: &Containerd, profile: &Path, filter: &[&str]) -> Child {
    let mut child = eperm()
        // The duration only bounds a failing test: a passing one stops it sooner.
        .args(["watch", "--no-tui", "--json", "--duration", "120", "-p"])
        .arg(profile)
        .arg("--containerd-state")
        .arg(ctd.state())
        .args(filter)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut active, mut line) = (0, String::new());
    while active < 2 && err.read_line(&mut line).unwrap() > 0 {
        active += usize::from(line.contains(": active"));
        line.clear();
    }
    assert_eq!(active, 2, "watch did not report both sources active");
    // The rest of stderr is read to its end, so the watch never blocks on it.
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
    child
}

/// The events a watch writes up to the first of container `last` (which ran
/// after the others it could wrongly show); then the watch is stopped.
fn events_until(mut child: Child, last: &TestPod) -> Vec<serde_json::Value> {
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut events = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        let done = event["container"]["id"] == last.id.as_str();
        events.push(event);
        if done {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    events
}

pub(super) fn assert_names(event: &serde_json::Value, pod: &TestPod) {
    let p = &event["pod"];
    assert_eq!(p["namespace"], pod.namespace, "{event}");
    assert_eq!(p["name"], pod.name, "{event}");
    assert_eq!(p["uid"], pod.uid.as_str(), "{event}");
    assert_eq!(p["container"], "app", "{event}");
    assert_eq!(event["container"]["id"], pod.id.as_str(), "{event}");
    // The profile was softened: the kernel logged the call, and the event says
    // what the original profile would have done.
    assert_eq!(event["syscall"], "clock_nanosleep", "{event}");
    assert_eq!(event["decision"], "logged", "{event}");
    assert_eq!(event["action"], "SCMP_ACT_ERRNO", "{event}");
    assert_eq!(event["errno"], "EPERM", "{event}");
    assert_eq!(event["softened"], "SCMP_ACT_LOG", "{event}");
}

/// A profile refusing sleep with EPERM, softened (`export --soften log`) into
/// `dir`: the pods' `sleep 1` is logged and runs.
pub(super) fn soft_profile(dir: &Path) -> PathBuf {
    let strict = dir.join("no-sleep.json");
    std::fs::write(
        &strict,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clock_nanosleep","nanosleep"],"action":"SCMP_ACT_ERRNO","comment":"no sleeping"}]}"#,
    )
    .unwrap();
    let soft = dir.join("soft.json");
    let out = eperm()
        .args(["export", "--soften", "log", "--format", "oci"])
        .arg(&strict)
        .arg("-o")
        .arg(&soft)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    soft
}

#[test]
fn watch_names_the_pod_of_a_containerd_container_and_filters_by_pod_and_namespace() {
    require_root("it runs containerd, and watch reads the audit log");
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    host_rootfs(&rootfs);
    let soft = soft_profile(dir.path());

    let ctd = Containerd::start();
    // Pods of one name in two namespaces, run in turn: a filter that let the
    // wrong one through would show it before the last one it waits for.
    let staging = TestPod::new("staging", "web-1", 1);
    let shop = TestPod::new("shop", "web-1", 2);
    let staging_again = TestPod::new("staging", "web-1", 3);
    let by_pod = watch(&ctd, &soft, &["--pod", "shop/web-1"]);
    let by_namespace = watch(&ctd, &soft, &["--namespace", "staging"]);
    let ran = std::panic::catch_unwind(|| {
        for pod in [&staging, &shop, &staging_again] {
            pod.run(&ctd, &rootfs, &soft);
        }
    });
    let by_pod = events_until(by_pod, &shop);
    let by_namespace = events_until(by_namespace, &staging_again);
    drop(ctd);
    for pod in [&staging, &shop, &staging_again] {
        pod.remove_cgroups();
    }
    if let Err(e) = ran {
        std::panic::resume_unwind(e);
    }
    assert!(
        by_pod
            .last()
            .is_some_and(|e| e["container"]["id"] == shop.id.as_str()),
        "no event of pod shop/web-1: {by_pod:?}"
    );
    for e in &by_pod {
        assert_names(e, &shop);
    }
    assert!(
        by_namespace
            .last()
            .is_some_and(|e| e["container"]["id"] == staging_again.id.as_str()),
        "no event of the second pod in namespace staging: {by_namespace:?}"
    );
    for e in &by_namespace {
        let pod = if e["container"]["id"] == staging.id.as_str() {
            &staging
        } else {
            &staging_again
        };
        assert_names(e, pod);
    }
}

/// The fixture the cgroup tests share names a kubepods path: its pod's uid is
/// the fallback when no runtime state names the pod.
#[test]
fn a_pod_known_only_by_its_cgroup_is_named_by_uid() {
    let text = std::fs::read_to_string(fixture("cgroup/k8s-cgroupfs-besteffort.txt")).unwrap();
    let c = eperm::sources::cgroup::from_cgroup(&text).unwrap();
    let uid = c.pod.clone().expect("the path names the pod's uid");
    let pod = eperm::pods::Pod::of_uid(&uid);
    assert_eq!(pod.label(), format!("pod {uid}"));
    assert_eq!(
        serde_json::to_value(&pod).unwrap(),
        serde_json::json!({ "uid": uid })
    );
}

//! Pods by name: containers a private containerd runs in namespace `k8s.io`
//! with the CRI plugin's annotations and kubepods cgroups (cgroupfs driver), as
//! a Kubernetes node's containerd does, under a profile from `export --soften
//! log`. `watch` names each record's pod from its cgroup and the bundle,
//! filters by pod and by namespace, and counts each pod's calls per syscall on
//! its Prometheus endpoint (`--metrics`), scraped over 127.0.0.1.

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
        self.run_command(ctd, rootfs, profile, &["/bin/sleep", "1"]);
    }

    /// Runs the container to its end: `command` under `profile`, with the CRI
    /// plugin's annotations.
    fn run_command(&self, ctd: &Containerd, rootfs: &Path, profile: &Path, command: &[&str]) {
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
        args.extend([rootfs.to_str().unwrap(), &self.id]);
        args.extend(command);
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

/// A profile that refuses `names` with EPERM, from `export --soften log` (OCI
/// form): the kernel logs those calls and lets them run.
fn softened(dir: &Path, names: &[&str]) -> PathBuf {
    let strict = dir.join("strict.json");
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": names, "action": "SCMP_ACT_ERRNO", "comment": "refused"}],
    });
    std::fs::write(&strict, profile.to_string()).unwrap();
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
    softened(dir, &["clock_nanosleep", "nanosleep"])
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

/// `eperm watch --json --metrics 127.0.0.1:0` reading the state of `ctd`; the
/// address its metrics are served at, once it serves them (after its sources
/// have started), and the rest of what it says on stderr, read to its end.
fn watch_with_metrics(
    ctd: &Containerd,
    profile: &Path,
) -> (Child, String, std::thread::JoinHandle<String>) {
    let mut child = eperm()
        .args(["watch", "--no-tui", "--json", "--duration", "120"])
        .args(["--metrics", "127.0.0.1:0", "-p"])
        .arg(profile)
        .arg("--containerd-state")
        .arg(ctd.state())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut addr, mut said, mut line) = (None, String::new(), String::new());
    while addr.is_none() && err.read_line(&mut line).unwrap() > 0 {
        let at = line.trim().strip_prefix("eperm: metrics at http://");
        addr = at
            .and_then(|a| a.strip_suffix("/metrics"))
            .map(str::to_string);
        said += &line;
        line.clear();
    }
    let addr = addr.unwrap_or_else(|| panic!("watch did not say where its metrics are: {said}"));
    let rest = std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut rest);
        said + &rest
    });
    (child, addr, rest)
}

/// A plain HTTP/1.0 GET of `path` from `addr`: the status line, the headers
/// (lower-cased) and the body.
fn get(addr: &str, path: &str) -> (String, String, String) {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    // Only a guard against a server that never answers: a passing test is far faster.
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(conn, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut text = String::new();
    conn.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (status.to_string(), headers.to_lowercase(), body.to_string())
}

/// The value of the sample whose name and labels are `series`.
fn sample(metrics: &str, series: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// The events of containers `ids` a watch writes until `done` says enough;
/// then the watch goes on (its end, or the stream's, ends the wait too).
fn events_while(
    child: &mut Child,
    ids: &[&str],
    done: impl Fn(&[serde_json::Value]) -> bool,
) -> Vec<serde_json::Value> {
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut events = Vec::new();
    let mut lines = out.lines();
    while !done(&events) {
        let Some(line) = lines.next() else { break };
        let line = line.unwrap();
        let event: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        if ids.iter().any(|id| event["container"]["id"] == *id) {
            events.push(event);
        }
    }
    // The rest of stdout is read to its end, so the watch never blocks on it.
    std::thread::spawn(move || lines.for_each(drop));
    events
}

/// How many of `events` are calls of `syscall` by container `id`.
fn calls(events: &[serde_json::Value], id: &str, syscall: &str) -> usize {
    let of = |e: &&serde_json::Value| e["container"]["id"] == id && e["syscall"] == syscall;
    events.iter().filter(of).count()
}

#[test]
fn the_metrics_endpoint_counts_each_pods_denials_per_syscall_apart() {
    require_root("it runs containerd, and watch reads the audit log");
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    host_rootfs(&rootfs);
    let soft = softened(dir.path(), &["clock_nanosleep", "nanosleep", "times"]);
    let ctd = Containerd::start();
    // Numbers of their own: the other test of this file runs pods too.
    let api = TestPod::new("payments", "api-0", 0x11);
    let indexer = TestPod::new("search", "indexer-0", 0x12);
    let (mut watch, addr, said) = watch_with_metrics(&ctd, &soft);
    let ran = std::panic::catch_unwind(|| {
        api.run(&ctd, &rootfs, &soft);
        // dash's `times` is one times(2) each; then the shell becomes sleep.
        let script = "times; times; exec /bin/sleep 1";
        indexer.run_command(&ctd, &rootfs, &soft, &["/bin/sh", "-c", script]);
    });
    let (a, i) = (api.id.as_str(), indexer.id.as_str());
    // Every call is counted before it is written: once the events are out,
    // the endpoint has them.
    let all = |ev: &[serde_json::Value]| {
        calls(ev, a, "clock_nanosleep") >= 1
            && calls(ev, i, "times") >= 2
            && calls(ev, i, "clock_nanosleep") >= 1
    };
    let events = events_while(&mut watch, &[a, i], all);
    // Scraped while the watch runs (it ran to its end if the events never came).
    let scraped = all(&events).then(|| (get(&addr, "/metrics"), get(&addr, "/nope")));
    let _ = watch.kill();
    let _ = watch.wait();
    drop(ctd);
    for pod in [&api, &indexer] {
        pod.remove_cgroups();
    }
    if let Err(e) = ran {
        std::panic::resume_unwind(e);
    }
    let Some((scraped, missing)) = scraped else {
        let said = said.join().unwrap_or_default();
        panic!("the watch ended before the pods' calls came: {events:?}\n{said}");
    };
    let (status, headers, metrics) = scraped;
    assert!(status.contains(" 200 "), "{status}\n{headers}");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(missing.0.contains(" 404 "), "{missing:?}");
    let denials = |ns: &str, pod: &str, syscall: &str| {
        let series = format!(
            r#"eperm_denials_total{{namespace="{ns}",pod="{pod}",container="app",syscall="{syscall}",arch="x86_64",action="SCMP_ACT_ERRNO"}}"#
        );
        sample(&metrics, &series)
    };
    let seen = format!("{metrics}\nevents: {events:?}");
    assert_eq!(
        denials("payments", "api-0", "clock_nanosleep"),
        Some(1),
        "{seen}"
    );
    assert_eq!(denials("search", "indexer-0", "times"), Some(2), "{seen}");
    assert_eq!(
        denials("search", "indexer-0", "clock_nanosleep"),
        Some(1),
        "{seen}"
    );
    // Each pod's series are its own: three in all, none mixing the two.
    let ours: Vec<&str> = metrics
        .lines()
        .filter(|l| l.contains(r#"namespace="payments""#) || l.contains(r#"namespace="search""#))
        .collect();
    assert_eq!(ours.len(), 3, "{seen}");
    assert_eq!(denials("payments", "api-0", "times"), None, "{seen}");
    assert_eq!(
        denials("search", "api-0", "clock_nanosleep"),
        None,
        "{seen}"
    );
    // The sources' own counts: audit read at least these four records.
    assert_eq!(
        sample(&metrics, r#"eperm_source_up{source="audit"}"#),
        Some(1),
        "{seen}"
    );
    let received = sample(&metrics, r#"eperm_source_received_total{source="audit"}"#);
    assert!(received.is_some_and(|n| n >= 4), "{seen}");
    assert!(
        sample(&metrics, r#"eperm_source_lost_total{source="audit"}"#).is_some(),
        "{seen}"
    );
    assert_eq!(
        sample(&metrics, "eperm_series_overflow_total"),
        Some(0),
        "{seen}"
    );
}

/// `--metrics` refuses what it cannot listen on before any source starts, root or not.
#[test]
fn a_metrics_address_that_is_not_one_or_is_taken_is_bad_input() {
    let out = eperm()
        .args(["watch", "--no-tui", "--metrics", "localhost"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("'localhost'") && err.contains("hint: 127.0.0.1:9464"),
        "{err}"
    );
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = eperm()
        .args(["watch", "--no-tui", "--metrics", &addr])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--metrics {addr}: cannot listen there"))
            && err.contains("hint: another process listens on that port"),
        "{err}"
    );
    // Without CAP_NET_BIND_SERVICE (root gives it up), a port below 1024 is
    // refused as such.
    // SAFETY: plain syscall.
    let mut unprivileged = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.arg("--bounding-set=-net_bind_service")
            .arg(env!("CARGO_BIN_EXE_eperm"));
        c
    } else {
        eperm()
    };
    let out = unprivileged
        .args(["watch", "--no-tui", "--metrics", "127.0.0.1:80"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("hint: ports below 1024 need root"), "{err}");
    let out = eperm()
        .args(["watch", "--no-tui", "--metrics-max-series", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--metrics <ADDR>"),
        "{}",
        stderr(&out)
    );
}

//! The DaemonSet of deploy/kubernetes and the image deploy/build-image.sh makes.
//! No cluster here: the manifests are read with eperm's own YAML reader (as
//! Kubernetes types scalars) and checked for what matters — host namespaces,
//! one capability, nothing privileged, read-only mounts of exactly the
//! directories eperm reads, arguments eperm's own parser takes — and the image,
//! built in a private podman store, is run with the pod's settings taken from
//! the manifest: it sees the LOG record of a process on the host, names the pod
//! of a container a private containerd runs, and is refused the audit socket
//! without its capability or under podman's (CRI-O's) default profile. What
//! stays untested without a cluster is in the README ("Deploying as a
//! DaemonSet").

use super::util::{assert_success, cc, eperm, host_rootfs, require_root, stderr, stdout};
use super::{podman, pods};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes");

/// One manifest of deploy/kubernetes, read as Kubernetes reads YAML.
fn manifest(name: &str) -> Value {
    let path = Path::new(DIR).join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    eperm::profile::yaml::parse(&text)
        .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
        .to_serde()
}

fn daemonset() -> Value {
    manifest("daemonset.yaml")
}

/// The pod template's one container.
fn container(pod: &Value) -> &Value {
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "one container: {containers:#?}");
    &containers[0]
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

#[test]
fn the_kustomization_lists_each_manifest_and_they_agree_on_names() {
    let mut files: Vec<String> = std::fs::read_dir(DIR)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") && n != "kustomization.yaml")
        .collect();
    files.sort();
    let kustomization = manifest("kustomization.yaml");
    let mut listed = strings(&kustomization["resources"]);
    listed.sort();
    assert_eq!(listed, files);

    let ns = manifest("namespace.yaml");
    let sa = manifest("serviceaccount.yaml");
    let ds = daemonset();
    assert_eq!(
        (ns["apiVersion"].as_str(), ns["kind"].as_str()),
        (Some("v1"), Some("Namespace"))
    );
    assert_eq!(sa["kind"], "ServiceAccount");
    assert_eq!(
        (ds["apiVersion"].as_str(), ds["kind"].as_str()),
        (Some("apps/v1"), Some("DaemonSet"))
    );
    let name = &ns["metadata"]["name"];
    assert_eq!(&sa["metadata"]["namespace"], name);
    assert_eq!(&ds["metadata"]["namespace"], name);
    let pod = &ds["spec"]["template"];
    assert_eq!(pod["spec"]["serviceAccountName"], sa["metadata"]["name"]);
    // The selector picks the template's own pods.
    let selector = ds["spec"]["selector"]["matchLabels"].as_object().unwrap();
    assert!(!selector.is_empty());
    for (k, v) in selector {
        assert_eq!(&pod["metadata"]["labels"][k], v, "label {k}");
    }
    // eperm watch never talks to the API server.
    assert_eq!(sa["automountServiceAccountToken"], false);
    assert_eq!(pod["spec"]["automountServiceAccountToken"], false);
    kustomize_builds(&files);
}

/// `kubectl kustomize` (offline) builds the directory into its objects, one per
/// file; said and skipped where kubectl is not installed.
fn kustomize_builds(files: &[String]) {
    let Ok(out) = Command::new("kubectl").args(["kustomize", DIR]).output() else {
        println!("kubectl is not installed: `kubectl kustomize` not tried");
        return;
    };
    assert_success(&out);
    let kinds = stdout(&out)
        .lines()
        .filter(|l| l.starts_with("kind: "))
        .count();
    assert_eq!(kinds, files.len(), "{}", stdout(&out));
}

#[test]
fn the_daemonset_runs_on_every_node_with_one_capability_and_nothing_privileged() {
    let ds = daemonset();
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true, "records carry host pids");
    assert_eq!(
        pod["hostNetwork"], true,
        "audit multicasts in the initial netns only"
    );
    assert!(pod["hostIPC"].is_null() || pod["hostIPC"] == false);
    assert_eq!(
        pod["tolerations"],
        serde_json::json!([{"operator": "Exists"}]),
        "every node, tainted ones too"
    );
    let c = container(pod);
    let sc = &c["securityContext"];
    assert!(
        sc["privileged"].is_null() || sc["privileged"] == false,
        "{sc}"
    );
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["runAsUser"], 0, "the runtimes' bundles are root's");
    assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
    assert_eq!(strings(&sc["capabilities"]["add"]), ["AUDIT_READ"]);
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][kind][resource].is_string(),
                "{kind}.{resource}"
            );
        }
    }
    // The name deploy/build-image.sh gives the image by default.
    assert_eq!(
        c["image"],
        format!("localhost/eperm:{}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_daemonset_mounts_read_only_exactly_the_bundles_eperm_reads() {
    let ds = daemonset();
    let pod = &ds["spec"]["template"]["spec"];
    let mounts = mounts(pod);
    assert!(mounts.iter().all(|m| m.read_only), "{mounts:#?}");
    // At their host paths, so that eperm's defaults find them: the bundle
    // directories of containerd and CRI-O (never the runtime's socket).
    assert!(mounts.iter().all(|m| m.host == m.at), "{mounts:#?}");
    let mut at: Vec<&Path> = mounts.iter().map(|m| m.at.as_path()).collect();
    at.sort();
    let defaults = eperm::sources::cgroup::StateDirs::on_this_host();
    let crio = &defaults.storage[0];
    let mut read = vec![defaults.containerd[0].as_path(), crio.as_path()];
    read.sort();
    assert_eq!(at, read);
}

/// A volume mount and its hostPath volume.
#[derive(Debug)]
struct Mount {
    host: PathBuf,
    at: PathBuf,
    read_only: bool,
}

fn mounts(pod: &Value) -> Vec<Mount> {
    let volumes = pod["volumes"].as_array().unwrap();
    let c = container(pod);
    c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let volume = volumes
                .iter()
                .find(|v| v["name"] == m["name"])
                .unwrap_or_else(|| panic!("no volume for {m}"));
            let host = volume["hostPath"]["path"].as_str();
            Mount {
                host: PathBuf::from(host.unwrap_or_else(|| panic!("not a hostPath: {volume}"))),
                at: PathBuf::from(m["mountPath"].as_str().unwrap()),
                read_only: m["readOnly"] == true,
            }
        })
        .collect()
}

#[test]
fn the_daemonset_s_arguments_are_ones_eperm_watch_takes() {
    use clap::{CommandFactory, Parser};
    use eperm::cli::{Cli, Command as Sub, WatchSource};
    let ds = daemonset();
    let pod = &ds["spec"]["template"];
    let c = container(&pod["spec"]);
    assert!(c["command"].is_null(), "the image's entrypoint is eperm");
    let args = strings(&c["args"]);
    let cli = Cli::try_parse_from(std::iter::once("eperm").chain(args.iter().copied()))
        .unwrap_or_else(|e| panic!("eperm refuses the DaemonSet's arguments {args:?}: {e}"));
    let Sub::Watch(watch) = cli.command else {
        panic!("not eperm watch: {args:?}")
    };
    assert!(watch.json && watch.no_tui);
    assert!(matches!(watch.source[..], [WatchSource::Audit]));
    assert!(watch.duration.is_none() && watch.pid.is_none() && watch.pod.is_none());
    // The metrics port, the one the scrape annotation names; `--metrics` binds it
    // once eperm watch has the flag (issue 32, being added beside this).
    let port = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "metrics")
        .unwrap()["containerPort"]
        .clone();
    assert_eq!(
        pod["metadata"]["annotations"]["prometheus.io/port"],
        port.to_string()
    );
    let flag = format!("--metrics=0.0.0.0:{port}");
    let has_metrics = Cli::command()
        .find_subcommand("watch")
        .unwrap()
        .get_arguments()
        .any(|a| a.get_long() == Some("metrics"));
    if has_metrics {
        assert!(
            args.contains(&flag.as_str()),
            "eperm watch has --metrics now: uncomment `{flag}` in deploy/kubernetes/daemonset.yaml"
        );
    } else {
        println!("eperm watch has no --metrics yet: the manifest keeps `{flag}` commented out");
        assert!(!args.iter().any(|a| a.starts_with("--metrics")));
    }
}

/// Puts getppid under SCMP_ACT_LOG (other arches are killed) and calls it every
/// 100 ms for a minute: a process of the host whose records the pod must see.
const LOGGER: &str = r#"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_LOG),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
    return 1;
  for (int i = 0; i < 600; i++) {
    syscall(__NR_getppid);
    usleep(100000);
  }
  return 0;
}
"#;

/// The image deploy/build-image.sh built in the store, and the container run
/// from it: both removed when dropped.
struct Image {
    store: &'static Path,
    tag: String,
    container: String,
}

impl Image {
    /// Built with the script's default name, or `tag`; `name` tells this test's
    /// container from the others'.
    fn build(store: &'static Path, tag: Option<&str>, name: &str) -> Image {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/build-image.sh");
        let mut build = podman::in_store(Command::new(script), store, None);
        build.args(["--binary", env!("CARGO_BIN_EXE_eperm")]);
        if let Some(tag) = tag {
            build.args(["--tag", tag]);
        }
        let out = build.output().unwrap();
        assert_success(&out);
        Image {
            store,
            tag: stdout(&out).trim().to_string(),
            container: format!("eperm-deploy-{}-{name}", std::process::id()),
        }
    }

    fn podman(&self, args: &[String]) -> Command {
        let mut command = podman::in_store(Command::new("podman"), self.store, None);
        command.args(args).stdin(Stdio::null());
        command
    }

    /// `podman run --rm OPTIONS IMAGE ARGS`, named, never pulling.
    fn run(&self, options: &[String], args: &[&str]) -> Command {
        let mut all: Vec<String> = ["run", "--rm", "--pull", "never", "--name", &self.container]
            .iter()
            .chain(podman::ULIMITS)
            .map(|s| s.to_string())
            .collect();
        all.extend_from_slice(options);
        all.push(self.tag.clone());
        all.extend(args.iter().map(|s| s.to_string()));
        self.podman(&all)
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let rm = ["rm", "--force", "--ignore", &self.container].map(String::from);
        let _ = self.podman(&rm).output();
        let rmi = ["rmi", "--force", &self.tag].map(String::from);
        let _ = self.podman(&rmi).output();
    }
}

/// The pod's settings as podman options, from the manifest: host namespaces,
/// user, no-new-privileges, read-only root, resources, its mounts that exist on
/// this host; the capabilities and the seccomp profile apart, to be varied.
struct Settings {
    base: Vec<String>,
    caps: Vec<String>,
    /// RuntimeDefault: the Docker-compatible default (eperm's embedded one),
    /// as containerd's is.
    seccomp: Vec<String>,
}

fn settings(pod: &Value, runtime_default: &Path) -> Settings {
    let c = container(pod);
    let sc = &c["securityContext"];
    let mut base: Vec<String> = Vec::new();
    let mut add = |a: &str, b: &str| base.extend([a.to_string(), b.to_string()]);
    if pod["hostPID"] == true {
        add("--pid", "host");
    }
    if pod["hostNetwork"] == true {
        add("--network", "host");
    }
    add(
        "--user",
        &format!("{}:{}", sc["runAsUser"], sc["runAsGroup"]),
    );
    if sc["allowPrivilegeEscalation"] == false {
        add("--security-opt", "no-new-privileges");
    }
    let limits = &c["resources"]["limits"];
    add("--memory", &mebibytes(&limits["memory"]));
    add("--cpus", limits["cpu"].as_str().unwrap());
    for m in mounts(pod) {
        if m.host.exists() {
            add(
                "--volume",
                &format!("{}:{}:ro", m.host.display(), m.at.display()),
            );
        } else {
            println!("{} is not on this host: not mounted", m.host.display());
        }
    }
    if sc["readOnlyRootFilesystem"] == true {
        base.push("--read-only".into());
    }
    let mut caps = Vec::new();
    for (flag, list) in [("--cap-drop", "drop"), ("--cap-add", "add")] {
        for cap in strings(&sc["capabilities"][list]) {
            caps.extend([flag.to_string(), cap.to_lowercase()]);
        }
    }
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    let seccomp = vec![
        "--security-opt".to_string(),
        format!("seccomp={}", runtime_default.display()),
    ];
    Settings {
        base,
        caps,
        seccomp,
    }
}

/// A Kubernetes quantity in Mi as podman's `--memory` (`128Mi` → `128m`).
fn mebibytes(quantity: &Value) -> String {
    let q = quantity.as_str().unwrap();
    let n = q
        .strip_suffix("Mi")
        .unwrap_or_else(|| panic!("not in Mi: {q}"));
    format!("{n}m")
}

/// The container's eperm watch, started with the DaemonSet's arguments (and
/// `filter`, `--duration` bounding a run that goes wrong); returned once
/// its audit source is open, with its stderr reader.
fn start_watch(
    image: &Image,
    options: &[String],
    filter: &[&str],
) -> (Child, BufReader<std::process::ChildStderr>) {
    let ds = daemonset();
    let c = container(&ds["spec"]["template"]["spec"]);
    // The metrics on a free port of the loopback: the host's 9464 may be taken,
    // and the tests that run the image run side by side.
    let mut args: Vec<&str> = strings(&c["args"])
        .into_iter()
        .map(|a| {
            if a.starts_with("--metrics=") {
                "--metrics=127.0.0.1:0"
            } else {
                a
            }
        })
        .collect();
    args.extend(filter);
    args.extend(["--duration", "300"]);
    let mut watch = image
        .run(options, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(watch.stderr.take().unwrap());
    let mut ready = String::new();
    err.read_line(&mut ready).unwrap();
    assert!(ready.contains("audit: active"), "not open: {ready}");
    (watch, err)
}

/// eperm's embedded default in `dir`: the Docker-compatible profile that stands
/// for RuntimeDefault, as containerd's is Docker's.
fn runtime_default(dir: &Path) -> PathBuf {
    let path = dir.join("default.json");
    let out = eperm().arg("default").output().unwrap();
    assert_success(&out);
    std::fs::write(&path, out.stdout).unwrap();
    path
}

/// The first event the watch prints, then the watch stopped by SIGINT, on
/// which it reports what it showed and exits 0. The pipes are read to their
/// end (a pipe closed early fails podman's copy of the output).
fn first_event(image: &Image, mut watch: Child, mut err: impl std::io::Read) -> Value {
    let mut out = BufReader::new(watch.stdout.take().unwrap()).lines();
    let event = out.next().map(|line| line.unwrap());
    let stop = ["kill", "--signal", "INT", &image.container].map(String::from);
    let stopped = image.podman(&stop).output().unwrap();
    let more = out.count();
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    let status = watch.wait().unwrap();
    let event = event.unwrap_or_else(|| panic!("no record: {status}: {rest}"));
    assert_success(&stopped);
    assert!(status.success(), "{status}: {rest}");
    let shown = match more + 1 {
        1 => "eperm: 1 record shown".to_string(),
        n => format!("eperm: {n} records shown"),
    };
    assert!(rest.contains(&shown), "{rest}");
    serde_json::from_str(&event).expect("one JSON object per line")
}

#[test]
fn the_image_run_as_the_pod_sees_the_log_record_of_a_process_on_the_host() {
    require_root("rootful podman, and the audit socket");
    let image = Image::build(podman::store(), None, "host");
    let version = image.run(&[], &["--version"]).output().unwrap();
    assert_success(&version);
    assert_eq!(
        stdout(&version).trim(),
        format!("eperm {}", env!("CARGO_PKG_VERSION"))
    );
    let dir = tempfile::tempdir().unwrap();
    let ds = daemonset();
    let s = settings(
        &ds["spec"]["template"]["spec"],
        &runtime_default(dir.path()),
    );

    let pod = [&s.base[..], &s.caps, &s.seccomp].concat();
    let (watch, err) = start_watch(&image, &pod, &["--comm", "k8slogger"]);
    let logger = Logger(Command::new(cc("k8slogger", LOGGER)).spawn().unwrap());
    let logger_pid = logger.0.id();
    let event = first_event(&image, watch, err);
    drop(logger);
    // The host's pid (hostPID), the record's own comm and exe.
    assert_eq!(event["pid"], logger_pid);
    assert_eq!(event["syscall"], "getppid");
    assert_eq!(event["action"], "SCMP_ACT_LOG");
    assert_eq!(event["comm"], "k8slogger");
    assert_eq!(event["exe"], cc("k8slogger", LOGGER).to_str().unwrap());

    refused_without_its_capability(&image, &s);
    refused_by_containers_common_s_default(&image, &s);
}

/// Pods named from inside the image: a private containerd (see pods.rs) runs a
/// pod's container under a softened profile, and the image, run as the pod with
/// that containerd's bundles mounted where the manifest mounts containerd's,
/// names the pod: uid 0 with CAP_AUDIT_READ alone reads root's bundles.
#[test]
fn the_image_run_as_the_pod_names_the_pod_of_a_containerd_container() {
    require_root("rootful podman, containerd, and the audit socket");
    let image = Image::build(podman::store(), Some("localhost/eperm-pods:test"), "pods");
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    host_rootfs(&rootfs);
    let soft = pods::soft_profile(dir.path());
    let ds = daemonset();
    let spec = &ds["spec"]["template"]["spec"];
    let s = settings(spec, &runtime_default(dir.path()));
    let ctd = pods::Containerd::start();
    let bundles = mounts(spec)
        .into_iter()
        .find(|m| m.host.ends_with("io.containerd.runtime.v2.task"))
        .unwrap();
    let own_bundles = ctd.state().join("io.containerd.runtime.v2.task");
    let mut pod = [&s.base[..], &s.caps, &s.seccomp].concat();
    for (host, at) in [
        (own_bundles.as_path(), bundles.at.as_path()),
        (&soft, &soft),
    ] {
        pod.extend([
            "--volume".into(),
            format!("{}:{}:ro", host.display(), at.display()),
        ]);
    }
    let shop = pods::TestPod::new("shop", "web-1", 7);
    let filter = ["-p", soft.to_str().unwrap(), "--pod", "shop/web-1"];
    let (watch, err) = start_watch(&image, &pod, &filter);
    let ran = std::panic::catch_unwind(|| shop.run(&ctd, &rootfs, &soft));
    if let Err(e) = ran {
        drop(ctd);
        shop.remove_cgroups();
        std::panic::resume_unwind(e);
    }
    let event = first_event(&image, watch, err);
    drop(ctd);
    shop.remove_cgroups();
    pods::assert_names(&event, &shop);
}

/// The host process, killed when dropped.
struct Logger(Child);

impl Drop for Logger {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Every capability dropped, CAP_AUDIT_READ not added back: the audit socket is
/// refused, and watch, with no source, fails.
fn refused_without_its_capability(image: &Image, s: &Settings) {
    let options = [
        &s.base[..],
        &["--cap-drop".into(), "all".into()],
        &s.seccomp,
    ]
    .concat();
    let out = watch_once(image, &options);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("audit: unavailable: needs root or CAP_AUDIT_READ"),
        "{}",
        stderr(&out)
    );
}

/// Under podman's own default profile (containers-common's, which CRI-O's
/// RuntimeDefault is too) the audit socket is refused with EINVAL to a container
/// without CAP_AUDIT_WRITE: what the manifest's comment and the README say to do
/// on CRI-O nodes.
fn refused_by_containers_common_s_default(image: &Image, s: &Settings) {
    let options = [&s.base[..], &s.caps].concat();
    let out = watch_once(image, &options);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("audit: unavailable: Invalid argument"),
        "{}",
        stderr(&out)
    );
}

/// The DaemonSet's watch, for a second.
fn watch_once(image: &Image, options: &[String]) -> Output {
    let ds = daemonset();
    let c = container(&ds["spec"]["template"]["spec"]);
    let mut args = strings(&c["args"]);
    args.extend(["--duration", "1"]);
    image.run(options, &args).output().unwrap()
}

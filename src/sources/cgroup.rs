//! Which container a process belongs to, from its cgroup path, and the
//! container's name from the runtime's state on disk.
//!
//! Every runtime puts a container's processes in a cgroup named for its id, in
//! one of two layouts: the systemd driver's scopes (`docker-<id>.scope`,
//! `libpod-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, under
//! `kubepods-…-pod<uid>.slice` on a Kubernetes node) and the cgroupfs driver's
//! plain directories (`/docker/<id>`, `/kubepods/<qos>/pod<uid>/<id>`,
//! `/libpod_parent/libpod-<id>`). Reading `/proc/PID/cgroup` names the container
//! of any process on the node, whoever started it; the paths are parsed in
//! [`crate::cgroup_path`].
//!
//! Names come from files the runtimes keep (Docker's `config.v2.json`, the OCI
//! bundle's annotations for containerd and CRI-O), read once per container and
//! cached: no daemon is asked anything, and no event waits on one.

use crate::pods::{Pod, BUNDLE_CONFIG};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The container a process runs in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Container {
    /// `docker`, `podman`, `containerd` or `cri-o`.
    pub runtime: &'static str,
    /// The full id (64 hex digits).
    pub id: String,
    /// The container's name, where the runtime's state says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Kubernetes pod (`namespace/name` when the state says both, else its uid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The pod in full (namespace, name, uid, container), as events carry it
    /// in their own `pod` member.
    #[serde(skip)]
    pub kube: Option<Pod>,
}

impl Container {
    /// Does `wanted` (an id prefix, or the name) pick this container?
    pub fn matches(&self, wanted: &str) -> bool {
        !wanted.is_empty() && (self.id.starts_with(wanted) || self.name.as_deref() == Some(wanted))
    }

    /// `web (3f2a9c1b7d04)`, or the short id alone. Names come from files
    /// the runtime wrote from what users chose: shown escaped.
    pub fn label(&self) -> String {
        let short = &self.id[..self.id.len().min(12)];
        let shown = |s: &String| crate::untrusted::escape(s.as_bytes());
        match (self.name.as_ref().map(shown), self.pod.as_ref().map(shown)) {
            (Some(n), Some(p)) => format!("{p}/{n} ({short})"),
            (Some(n), None) => format!("{n} ({short})"),
            _ => short.to_string(),
        }
    }
}

/// The container the lines of a `/proc/PID/cgroup` file name, if any (its
/// name and pod are the runtime's state's to say: [`StateDirs`]).
pub fn from_cgroup(text: &str) -> Option<Container> {
    let found = crate::cgroup_path::container_of(text)?;
    Some(Container {
        runtime: found.runtime,
        id: found.id,
        name: None,
        pod: found.pod_uid,
        kube: None,
    })
}

/// Where runtimes keep what names a container.
#[derive(Clone, Debug)]
pub struct StateDirs {
    /// Docker data roots (`/var/lib/docker`, or a dockerd's `--data-root`).
    pub docker: Vec<PathBuf>,
    /// containerd's task state (`/run/containerd/io.containerd.runtime.v2.task`).
    pub containerd: Vec<PathBuf>,
    /// CRI-O's and podman's container storage (`…/overlay-containers`).
    pub storage: Vec<PathBuf>,
}

/// `--containerd-state` and `--crio-state` of `watch`, in place of the defaults.
static OVERRIDES: OnceLock<(Option<PathBuf>, Option<PathBuf>)> = OnceLock::new();

/// Where containerd (its `--state`, or the task directory in it) and CRI-O (its
/// storage run root, or the `overlay-containers` directory in it) keep their
/// containers' bundles on this host, in place of the defaults. Set before the
/// first event is looked up; later calls change nothing.
pub fn set_state_dirs(containerd: Option<PathBuf>, crio: Option<PathBuf>) {
    let within = |dir: PathBuf, sub: &str| {
        let inner = dir.join(sub);
        if inner.is_dir() {
            inner
        } else {
            dir
        }
    };
    let _ = OVERRIDES.set((
        containerd.map(|d| within(d, "io.containerd.runtime.v2.task")),
        crio.map(|d| within(d, "overlay-containers")),
    ));
}

impl StateDirs {
    /// The defaults (or `watch`'s overrides), plus the `--data-root` of every
    /// dockerd running now.
    pub fn on_this_host() -> StateDirs {
        let mut docker = vec![PathBuf::from("/var/lib/docker")];
        docker.extend(running_docker_roots());
        let (containerd, crio) = OVERRIDES.get().cloned().unwrap_or_default();
        StateDirs::real(StateDirs {
            docker,
            containerd: vec![containerd
                .unwrap_or_else(|| PathBuf::from("/run/containerd/io.containerd.runtime.v2.task"))],
            storage: match crio {
                Some(dir) => vec![dir],
                None => vec![
                    PathBuf::from("/run/containers/storage/overlay-containers"),
                    PathBuf::from("/var/lib/containers/storage/overlay-containers"),
                ],
            },
        })
    }

    /// The roots with their links resolved: a host may link `/var/lib/docker`
    /// elsewhere, and the files below a root are read with no link followed.
    fn real(dirs: StateDirs) -> StateDirs {
        let real = |v: Vec<PathBuf>| -> Vec<PathBuf> {
            v.into_iter()
                .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
                .collect()
        };
        StateDirs {
            docker: real(dirs.docker),
            containerd: real(dirs.containerd),
            storage: real(dirs.storage),
        }
    }

    /// The pod the bundle of container `c` names (containerd's or CRI-O's).
    pub fn pod(&self, c: &Container) -> Option<Pod> {
        for root in &self.containerd {
            let Ok(namespaces) = std::fs::read_dir(root) else {
                continue;
            };
            for ns in namespaces.flatten() {
                let file = ns.path().join(&c.id).join("config.json");
                if let Ok(bytes) = crate::files::read_untrusted(&file, BUNDLE_CONFIG) {
                    return Pod::from_config(&bytes);
                }
            }
        }
        self.storage.iter().find_map(|root| {
            let file = root.join(&c.id).join("userdata/config.json");
            let bytes = crate::files::read_untrusted(&file, BUNDLE_CONFIG).ok()?;
            Pod::from_config(&bytes)
        })
    }

    /// The name (and pod) the runtime's state gives container `c`.
    pub fn name(&self, c: &Container) -> (Option<String>, Option<String>) {
        for root in &self.docker {
            let file = root.join("containers").join(&c.id).join("config.v2.json");
            if let Some(v) = read_json(&file) {
                let name = v["Name"]
                    .as_str()
                    .map(|n| n.trim_start_matches('/').to_string());
                return (name, None);
            }
        }
        // containerd: namespaces (k8s.io, moby, default) hold bundles by id.
        for root in &self.containerd {
            let Ok(namespaces) = std::fs::read_dir(root) else {
                continue;
            };
            for ns in namespaces.flatten() {
                if let Some(v) = read_json(&ns.path().join(&c.id).join("config.json")) {
                    return annotated(
                        &v,
                        "io.kubernetes.cri.container-name",
                        "io.kubernetes.cri.sandbox-namespace",
                        "io.kubernetes.cri.sandbox-name",
                    );
                }
            }
        }
        for root in &self.storage {
            if let Some(v) = read_json(&root.join(&c.id).join("userdata/config.json")) {
                let named = annotated(
                    &v,
                    "io.kubernetes.container.name",
                    "io.kubernetes.pod.namespace",
                    "io.kubernetes.pod.name",
                );
                if named.0.is_some() {
                    return named;
                }
                // podman annotates no name: containers/storage's own list has it.
                let list = read_json(&root.join("containers.json"));
                let name = list.as_ref().and_then(|l| {
                    let entry = l.as_array()?.iter().find(|e| e["id"] == c.id.as_str())?;
                    entry["names"][0].as_str().map(str::to_string)
                });
                return (name, None);
            }
        }
        (None, None)
    }
}

/// A runtime's file: no link followed, no FIFO opened, a size cap.
fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&crate::files::read_untrusted(path, BUNDLE_CONFIG).ok()?).ok()
}

/// The container and pod names from an OCI config's annotations.
fn annotated(
    v: &serde_json::Value,
    name: &str,
    ns: &str,
    pod: &str,
) -> (Option<String>, Option<String>) {
    let a = &v["annotations"];
    let get = |k: &str| a[k].as_str().map(str::to_string);
    let pod = match (get(ns), get(pod)) {
        (Some(ns), Some(p)) => Some(format!("{ns}/{p}")),
        (None, p) => p,
        (Some(_), None) => None,
    };
    (get(name), pod)
}

/// `--data-root` of each running dockerd (test daemons and hosts that move it).
fn running_docker_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return roots;
    };
    for p in procs.flatten() {
        // `comm` lives in the kernel's task and never waits on the process;
        // `cmdline` is the process's own memory, which a workload can make a
        // read of hang (a userfaultfd page): read it for dockerds only, and
        // with a deadline.
        let comm = std::fs::read(p.path().join("comm")).unwrap_or_default();
        if !comm.trim_ascii_end().ends_with(b"dockerd") {
            continue;
        }
        let path = p.path().join("cmdline");
        let Some(Ok(cmdline)) = super::memory::within_deadline(move || std::fs::read(path)) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if !args.first().is_some_and(|a| a.ends_with(b"dockerd")) {
            continue;
        }
        for (i, a) in args.iter().enumerate() {
            let a = String::from_utf8_lossy(a);
            if let Some(v) = a.strip_prefix("--data-root=") {
                roots.push(PathBuf::from(v));
            } else if a == "--data-root" {
                if let Some(v) = args.get(i + 1) {
                    roots.push(PathBuf::from(String::from_utf8_lossy(v).into_owned()));
                }
            }
        }
    }
    roots
}

/// Names looked up once per container for the life of the process, and each
/// process's container for a moment.
struct Cache {
    dirs: StateDirs,
    names: HashMap<String, Named>,
    /// Reading /proc/PID/cgroup costs ~15 µs here (cgroup v1 hybrid: a line per
    /// hierarchy), more than a notify round trip (~6 µs): a process that makes
    /// many calls is looked up once a second. A pid reused within that second
    /// would need the kernel to hand out every other pid first.
    pids: HashMap<u32, (Instant, Option<Container>)>,
}

/// A container's name, its pod as `namespace/name`, and its pod in full.
type Named = (Option<String>, Option<String>, Option<Pod>);

/// How long a process's container is taken as known.
pub const PID_TTL: Duration = Duration::from_secs(1);

/// The container of live process `pid`, named where the runtime's state says so.
pub fn of_pid(pid: u32) -> Option<Container> {
    static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        Mutex::new(Cache {
            dirs: StateDirs::on_this_host(),
            names: HashMap::new(),
            pids: HashMap::new(),
        })
    });
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    let cache = &mut *cache;
    let now = Instant::now();
    if let Some((at, known)) = cache.pids.get(&pid) {
        if now.duration_since(*at) < PID_TTL {
            return known.clone();
        }
    }
    if cache.pids.len() > 4096 {
        cache
            .pids
            .retain(|_, (at, _)| now.duration_since(*at) < PID_TTL);
    }
    let found = read_container(cache, pid);
    cache.pids.insert(pid, (now, found.clone()));
    found
}

fn read_container(cache: &mut Cache, pid: u32) -> Option<Container> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let mut c = from_cgroup(&text)?;
    let (name, pod, kube) = match cache.names.get(&c.id) {
        Some(known) => known.clone(),
        None => {
            let mut found = cache.dirs.name(&c);
            if found.0.is_none() {
                // A dockerd started after the first look: find its root once more.
                cache.dirs = StateDirs::on_this_host();
                found = cache.dirs.name(&c);
            }
            let named = (found.0, found.1, cache.dirs.pod(&c));
            // Unnamed containers are cached too: one look, not one per event.
            cache.names.insert(c.id.clone(), named.clone());
            named
        }
    };
    // A pod the runtime's state does not name is still known by its cgroup's uid.
    c.kube = kube.or_else(|| c.pod.as_deref().map(Pod::of_uid));
    c.name = name;
    c.pod = pod.or(c.pod);
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_each_runtimes_state_on_disk() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let path = root.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        let (docker, containerd, crio) = ("d".repeat(64), "c".repeat(64), "e".repeat(64));
        write(
            &format!("docker/containers/{docker}/config.v2.json"),
            r#"{"Name": "/web"}"#,
        );
        write(
            &format!("task/k8s.io/{containerd}/config.json"),
            r#"{"annotations": {"io.kubernetes.cri.container-name": "api",
                "io.kubernetes.cri.sandbox-namespace": "shop", "io.kubernetes.cri.sandbox-name": "api-7d4f"}}"#,
        );
        write(
            &format!("storage/{crio}/userdata/config.json"),
            r#"{"annotations": {"io.kubernetes.container.name": "db",
                "io.kubernetes.pod.namespace": "shop", "io.kubernetes.pod.name": "db-0"}}"#,
        );
        let dirs = StateDirs {
            docker: vec![root.path().join("docker")],
            containerd: vec![root.path().join("task")],
            storage: vec![root.path().join("storage")],
        };
        let named = |runtime, id: &str| {
            dirs.name(&Container {
                runtime,
                id: id.to_string(),
                name: None,
                pod: None,
                kube: None,
            })
        };
        let some = |s: &str| Some(s.to_string());
        assert_eq!(named("docker", &docker), (some("web"), None));
        assert_eq!(
            named("containerd", &containerd),
            (some("api"), some("shop/api-7d4f"))
        );
        assert_eq!(named("cri-o", &crio), (some("db"), some("shop/db-0")));
        let podman = "b".repeat(64);
        write(
            &format!("storage/{podman}/userdata/config.json"),
            r#"{"annotations": {"io.container.manager": "libpod"}}"#,
        );
        write(
            "storage/containers.json",
            &format!(r#"[{{"id": "{podman}", "names": ["cache"]}}]"#),
        );
        assert_eq!(named("podman", &podman), (some("cache"), None));
        assert_eq!(named("podman", &"f".repeat(64)), (None, None));
    }

    #[test]
    fn labels_escape_names_the_runtime_was_given() {
        let c = Container {
            runtime: "containerd",
            id: "ab".repeat(32),
            name: Some("web\u{1b}]0;owned\u{7}".into()),
            pod: Some("team/api".into()),
            kube: None,
        };
        let label = c.label();
        assert!(
            !label.contains('\u{1b}') && !label.contains('\u{7}'),
            "{label:?}"
        );
        assert!(
            label.starts_with("team/api/web") && label.ends_with("(abababababab)"),
            "{label}"
        );
        assert!(c.matches("abab") && c.matches("web\u{1b}]0;owned\u{7}") && !c.matches(""));
    }
}

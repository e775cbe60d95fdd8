//! Which container a process belongs to, from the cgroup path in its
//! `/proc/PID/cgroup`: every runtime puts a container's processes in a cgroup
//! named for its id, in one of two layouts: the systemd driver's scopes
//! (`docker-<id>.scope`, `libpod-<id>.scope`, `cri-containerd-<id>.scope`,
//! `crio-<id>.scope`, under `kubepods-<qos>-pod<uid>.slice` on a Kubernetes
//! node) and the cgroupfs driver's plain directories (`/docker/<id>`,
//! `/kubepods/<qos>/pod<uid>/<id>`, `/kubepods/pod<uid>/<id>` for guaranteed
//! pods, `/libpod_parent/libpod-<id>`).

/// What a cgroup path says of its container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupRef {
    /// `docker`, `podman`, `containerd`, `cri-o`, or `kubernetes` (cgroupfs
    /// kubepods, which do not say the runtime).
    pub runtime: &'static str,
    /// The full id (64 hex digits).
    pub id: String,
    /// The Kubernetes pod's uid, when the path is under kubepods.
    pub pod_uid: Option<String>,
}

fn is_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The runtime and id a cgroup path component names, if it names one.
fn component(c: &str) -> Option<(&'static str, &str)> {
    const SCOPES: &[(&str, &str)] = &[
        ("docker-", "docker"),
        ("libpod-", "podman"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
    ];
    let scope = c.strip_suffix(".scope").unwrap_or(c);
    for &(prefix, runtime) in SCOPES {
        if let Some(id) = scope.strip_prefix(prefix).filter(|id| is_id(id)) {
            return Some((runtime, id));
        }
    }
    // containerd's systemd cgroupsPath written as a path: `…slice:cri-containerd:<id>`.
    if let Some((_, id)) = c
        .rsplit_once(":cri-containerd:")
        .filter(|(_, id)| is_id(id))
    {
        return Some(("containerd", id));
    }
    None
}

/// The pod uid a path names (`pod<uid>`, or a systemd slice `kubepods-…-pod<uid_with_underscores>.slice`).
fn pod_uid(path: &str) -> Option<String> {
    path.split('/').find_map(|c| {
        // `…-pod<uid>.slice:cri-containerd:<id>` names the pod before the ':'.
        let c = c.split(':').next().unwrap_or(c);
        let c = c.strip_suffix(".slice").unwrap_or(c);
        let uid = c
            .strip_prefix("pod")
            .or_else(|| c.rsplit_once("-pod").map(|(_, uid)| uid))?;
        // A uid: 32 hex digits in five dash-separated groups (`_` in slice names).
        let ok = uid.len() == 36
            && uid
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'_');
        ok.then(|| uid.replace('_', "-"))
    })
}

/// The container the lines of a `/proc/PID/cgroup` file name, if any.
pub fn container_of(text: &str) -> Option<CgroupRef> {
    for line in text.lines() {
        // `hierarchy:controllers:path`; the path may itself contain ':'.
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(_), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        // The innermost component naming a container: a runtime's own
        // `…/docker-<id>.scope/init.scope` nests below it.
        let named = comps.iter().rev().find_map(|c| component(c));
        let found = named.or_else(|| {
            // cgroupfs: the bare id under a runtime's directory or a pod's.
            comps.windows(2).rev().find_map(|w| {
                let runtime = match w[0] {
                    "docker" => "docker",
                    "libpod_parent" => "podman",
                    p if p.starts_with("pod") => "kubernetes",
                    _ => return None,
                };
                is_id(w[1]).then_some((runtime, w[1]))
            })
        });
        if let Some((runtime, id)) = found {
            return Some(CgroupRef {
                runtime,
                id: id.to_string(),
                pod_uid: pod_uid(path),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(c: char) -> String {
        c.to_string().repeat(64)
    }

    const UID: &str = "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6";

    #[test]
    fn kubepods_of_every_qos_and_driver_name_the_pod_and_container() {
        let a = id('a');
        let slice_uid = UID.replace('-', "_");
        let cases = [
            (format!("0::/kubepods/besteffort/pod{UID}/{a}"), "kubernetes"),
            (format!("0::/kubepods/burstable/pod{UID}/{a}"), "kubernetes"),
            (format!("0::/kubepods/pod{UID}/{a}"), "kubernetes"),
            (
                format!("0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{slice_uid}.slice/cri-containerd-{a}.scope"),
                "containerd",
            ),
            (
                format!("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{slice_uid}.slice/crio-{a}.scope"),
                "cri-o",
            ),
            (
                format!("0::/kubepods.slice/kubepods-pod{slice_uid}.slice/crio-{a}.scope"),
                "cri-o",
            ),
            (
                format!("12:pids:/kubepods-besteffort-pod{slice_uid}.slice:cri-containerd:{a}"),
                "containerd",
            ),
        ];
        for (text, runtime) in cases {
            let got = container_of(&text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(
                got,
                CgroupRef {
                    runtime,
                    id: a.clone(),
                    pod_uid: Some(UID.to_string())
                },
                "{text}"
            );
        }
    }

    #[test]
    fn paths_without_a_container_name_none() {
        for text in [
            "0::/user.slice/user-1000.slice/session-2.scope",
            "0::/system.slice/containerd.service",
            // Not 64 hex digits: no id.
            "0::/kubepods/besteffort/podx/abc",
            "0::/docker/not-an-id",
        ] {
            assert_eq!(container_of(text), None, "{text}");
        }
        let d = id('d');
        assert_eq!(
            container_of(&format!("0::/system.slice/docker-{d}.scope\n")),
            Some(CgroupRef {
                runtime: "docker",
                id: d,
                pod_uid: None
            })
        );
    }
}

//! Kubernetes pods by name, from the container runtime's own record of a
//! container: the OCI bundle's `config.json`, whose annotations containerd's
//! CRI plugin and CRI-O write when they create a pod's container.
//!
//! - containerd: `<state>/io.containerd.runtime.v2.task/k8s.io/<id>/config.json`,
//!   `io.kubernetes.cri.sandbox-namespace`, `…sandbox-name`, `…sandbox-uid`,
//!   `…container-name`;
//! - CRI-O: `<storage>/overlay-containers/<id>/userdata/config.json`,
//!   `io.kubernetes.pod.namespace`, `…pod.name`, `…pod.uid`, `…container.name`.
//!
//! The runtime wrote these files from what the pod's author chose: every value
//! is [`Untrusted`], and the files are read with [`crate::files::read_untrusted`].

use crate::files::Limit;
use crate::untrusted::Untrusted;
use serde::Serialize;

/// A bundle's config.json: a few KiB, tens with many mounts and env vars.
pub const BUNDLE_CONFIG: Limit = Limit {
    bytes: 4 << 20,
    what: "a container's config.json",
};

/// The pod a container belongs to, and the container's name in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pod {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<Untrusted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Untrusted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<Untrusted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<Untrusted>,
}

/// The annotation keys of one runtime: namespace, pod name, pod uid, container name.
const KEYS: &[[&str; 4]] = &[
    [
        "io.kubernetes.cri.sandbox-namespace",
        "io.kubernetes.cri.sandbox-name",
        "io.kubernetes.cri.sandbox-uid",
        "io.kubernetes.cri.container-name",
    ],
    [
        "io.kubernetes.pod.namespace",
        "io.kubernetes.pod.name",
        "io.kubernetes.pod.uid",
        "io.kubernetes.container.name",
    ],
];

impl Pod {
    /// The pod a bundle's config.json names, by either runtime's annotations;
    /// `None` when it names no pod (a container outside Kubernetes).
    pub fn from_config(json: &[u8]) -> Option<Pod> {
        let v: serde_json::Value = serde_json::from_slice(json).ok()?;
        let a = v.get("annotations")?.as_object()?;
        KEYS.iter().find_map(|keys| {
            let get = |k: &str| a.get(k).and_then(|v| v.as_str()).map(Untrusted::from);
            let pod = Pod {
                namespace: get(keys[0]),
                name: get(keys[1]),
                uid: get(keys[2]),
                container: get(keys[3]),
            };
            (pod.name.is_some() || pod.uid.is_some()).then_some(pod)
        })
    }

    /// A pod known by its cgroup alone (`…pod<uid>…`).
    pub fn of_uid(uid: &str) -> Pod {
        Pod {
            uid: Some(Untrusted::from(uid)),
            ..Pod::default()
        }
    }

    /// Does `--pod NAMESPACE/NAME` (or a bare NAME, any namespace) pick this pod?
    pub fn is(&self, wanted: &str) -> bool {
        let eq = |field: &Option<Untrusted>, s: &str| {
            field.as_ref().is_some_and(|f| f.as_bytes() == s.as_bytes())
        };
        match wanted.split_once('/') {
            Some((ns, name)) => eq(&self.namespace, ns) && eq(&self.name, name),
            None => eq(&self.name, wanted),
        }
    }

    /// Is the pod in namespace `ns` (`--namespace`)?
    pub fn in_namespace(&self, ns: &str) -> bool {
        self.namespace
            .as_ref()
            .is_some_and(|n| n.as_bytes() == ns.as_bytes())
    }

    /// `namespace/pod/container`, escaped for a terminal; the uid when no name is known.
    pub fn label(&self) -> String {
        let shown = |u: &Untrusted| crate::untrusted::escape(u.as_bytes());
        match &self.name {
            Some(name) => {
                let mut s = String::new();
                if let Some(ns) = &self.namespace {
                    s += &shown(ns);
                    s.push('/');
                }
                s += &shown(name);
                if let Some(c) = &self.container {
                    s.push('/');
                    s += &shown(c);
                }
                s
            }
            None => format!("pod {}", self.uid.as_ref().map(shown).unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containerd_and_cri_o_annotations_name_the_pod() {
        let containerd = br#"{"ociVersion":"1.0.2","annotations":{
            "io.kubernetes.cri.container-type":"container",
            "io.kubernetes.cri.container-name":"api",
            "io.kubernetes.cri.sandbox-name":"api-7d4f",
            "io.kubernetes.cri.sandbox-namespace":"shop",
            "io.kubernetes.cri.sandbox-uid":"0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6"}}"#;
        let pod = Pod::from_config(containerd).unwrap();
        assert_eq!(pod.label(), "shop/api-7d4f/api");
        assert_eq!(
            pod.uid.unwrap().lossy(),
            "0d1e2f3a-4b5c-6d7e-8f90-a1b2c3d4e5f6"
        );
        let crio = br#"{"annotations":{"io.kubernetes.pod.name":"db-0",
            "io.kubernetes.pod.namespace":"data","io.kubernetes.container.name":"db",
            "io.kubernetes.pod.uid":"u"}}"#;
        let pod = Pod::from_config(crio).unwrap();
        assert_eq!(pod.label(), "data/db-0/db");
        assert!(pod.is("data/db-0") && pod.is("db-0") && !pod.is("shop/db-0"));
        assert!(pod.in_namespace("data") && !pod.in_namespace("dat"));
    }

    #[test]
    fn a_container_outside_kubernetes_names_no_pod() {
        assert_eq!(Pod::from_config(br#"{"annotations":{"a":"b"}}"#), None);
        assert_eq!(Pod::from_config(br#"{"ociVersion":"1.0.2"}"#), None);
        assert_eq!(Pod::from_config(b"not json"), None);
        // A value of the wrong type is no name.
        assert_eq!(
            Pod::from_config(br#"{"annotations":{"io.kubernetes.pod.name":7}}"#),
            None
        );
    }

    #[test]
    fn names_the_pod_author_chose_are_escaped_in_labels_and_exact_in_json() {
        let pod = Pod {
            namespace: Some("ns".into()),
            name: Some("x\u{1b}]0;owned\u{7}".into()),
            uid: None,
            container: None,
        };
        let label = pod.label();
        assert!(
            !label.contains('\u{1b}') && !label.contains('\u{7}'),
            "{label:?}"
        );
        let json = serde_json::to_string(&pod).unwrap();
        assert_eq!(json, r#"{"namespace":"ns","name":"x\u001b]0;owned\u0007"}"#);
        assert_eq!(Pod::of_uid("u-1").label(), "pod u-1");
    }
}

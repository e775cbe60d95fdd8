//! The denial series: one counter per namespace, pod, container, syscall, arch
//! and action, with a cap on how many distinct series there may be.

use crate::sources::event::Event;
use crate::untrusted::Untrusted;
use std::collections::HashMap;
use std::sync::Arc;

/// The labels of one denial counter, in the order they are written. Names from
/// the node are as eperm shows untrusted text: escaped, and cut at 256
/// characters so that one long name cannot make a series large.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Series {
    /// The pod's namespace; empty outside Kubernetes.
    pub namespace: String,
    /// The pod's name (its uid when only the cgroup names it); empty outside Kubernetes.
    pub pod: String,
    /// The container's name in its pod; outside Kubernetes, the container's
    /// name or short id; empty for a process in no container.
    pub container: String,
    pub syscall: String,
    pub arch: String,
    /// What the profile says of the call (`SCMP_ACT_ERRNO`); for a softened
    /// profile given with `-p`, what it would have done.
    pub action: String,
}

impl Series {
    /// The label names, in the order [`Series::values`] gives them.
    pub const LABELS: [&'static str; 6] =
        ["namespace", "pod", "container", "syscall", "arch", "action"];

    /// The series an event is counted in.
    pub fn of(e: &Event) -> Series {
        let shown = |u: &Untrusted| u.to_string();
        let shown_str = |s: &str| Untrusted::from(s).to_string();
        let (namespace, pod, container) = match (&e.pod, &e.container) {
            (Some(p), _) => (
                p.namespace.as_ref().map(shown),
                p.name.as_ref().or(p.uid.as_ref()).map(shown),
                p.container.as_ref().map(shown),
            ),
            (None, Some(c)) => (
                None,
                None,
                Some(match &c.name {
                    Some(name) => shown_str(name),
                    None => c.id[..c.id.len().min(12)].to_string(),
                }),
            ),
            (None, None) => (None, None, None),
        };
        Series {
            namespace: namespace.unwrap_or_default(),
            pod: pod.unwrap_or_default(),
            container: container.unwrap_or_default(),
            syscall: shown_str(&e.syscall),
            arch: e.arch.to_string(),
            action: e.ruling.action_name().to_string(),
        }
    }

    /// The label values, in the order of [`Series::LABELS`].
    pub fn values(&self) -> [&str; 6] {
        [
            &self.namespace,
            &self.pod,
            &self.container,
            &self.syscall,
            &self.arch,
            &self.action,
        ]
    }
}

/// The denial counters: at most `max` distinct series; a call of a series
/// beyond them is counted as an overflow instead.
#[derive(Debug)]
pub struct Denials {
    counts: HashMap<Arc<Series>, u64>,
    max: usize,
    overflow: u64,
}

/// The counters at one moment, series in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    pub series: Vec<(Arc<Series>, u64)>,
    /// Calls not counted in a series because the cap was reached.
    pub overflow: u64,
    /// The cap.
    pub max: usize,
}

impl Denials {
    pub fn new(max: usize) -> Denials {
        Denials {
            counts: HashMap::new(),
            max,
            overflow: 0,
        }
    }

    /// Counts one call of `series`; `false` when the cap kept it out.
    pub fn count(&mut self, series: Series) -> bool {
        if let Some(n) = self.counts.get_mut(&series) {
            *n += 1;
            return true;
        }
        if self.counts.len() >= self.max {
            self.overflow += 1;
            return false;
        }
        self.counts.insert(Arc::new(series), 1);
        true
    }

    /// A copy of the counts (the series are shared, not copied), in order.
    pub fn snapshot(&self) -> Snapshot {
        let mut series: Vec<_> = self
            .counts
            .iter()
            .map(|(s, &n)| (Arc::clone(s), n))
            .collect();
        series.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        Snapshot {
            series,
            overflow: self.overflow,
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(syscall: &str, pod: &str) -> Series {
        Series {
            namespace: "shop".into(),
            pod: pod.into(),
            container: "app".into(),
            syscall: syscall.into(),
            arch: "x86_64".into(),
            action: "SCMP_ACT_ERRNO".into(),
        }
    }

    #[test]
    fn the_cap_keeps_new_series_out_and_counts_them_as_overflow() {
        let mut d = Denials::new(2);
        assert!(d.count(series("mkdir", "web-1")));
        assert!(d.count(series("mount", "web-1")));
        // A third series is over the cap, however often it comes.
        assert!(!d.count(series("chmod", "web-1")));
        assert!(!d.count(series("mkdir", "web-2")));
        // The series already there go on counting.
        assert!(d.count(series("mkdir", "web-1")));
        let s = d.snapshot();
        assert_eq!(s.overflow, 2);
        assert_eq!(s.max, 2);
        let counts: Vec<_> = s
            .series
            .iter()
            .map(|(s, n)| (s.syscall.as_str(), s.pod.as_str(), *n))
            .collect();
        assert_eq!(counts, [("mkdir", "web-1", 2), ("mount", "web-1", 1)]);
    }

    #[test]
    fn a_cap_of_zero_counts_every_call_as_overflow() {
        let mut d = Denials::new(0);
        assert!(!d.count(series("mkdir", "web-1")));
        let s = d.snapshot();
        assert!(s.series.is_empty());
        assert_eq!(s.overflow, 1);
    }

    #[test]
    fn an_events_pod_container_and_verdict_make_its_series() {
        use crate::app::testing::event;
        let mut e = event("mkdir", 42, 1);
        assert_eq!(
            Series::of(&e).values(),
            ["", "", "", "mkdir", "x86_64", "SCMP_ACT_ERRNO"]
        );
        e.pod = crate::pods::Pod::from_config(
            br#"{"annotations":{"io.kubernetes.pod.name":"db-0\u001b[2J",
            "io.kubernetes.pod.namespace":"da\"ta","io.kubernetes.container.name":"db",
            "io.kubernetes.pod.uid":"u"}}"#,
        );
        // Names from the node are shown as eperm shows untrusted text.
        assert_eq!(
            Series::of(&e).values(),
            [
                "da\"ta",
                "db-0\\33[2J",
                "db",
                "mkdir",
                "x86_64",
                "SCMP_ACT_ERRNO"
            ]
        );
        // A pod known by its cgroup alone is named by uid.
        e.pod = Some(crate::pods::Pod::of_uid("0d1e"));
        assert_eq!(Series::of(&e).pod, "0d1e");
        // A container outside Kubernetes: its name, else its short id.
        e.pod = None;
        let text = "0::/system.slice/docker-3f2a9c1b7d04aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.scope\n";
        e.container = crate::sources::cgroup::from_cgroup(text);
        assert_eq!(Series::of(&e).container, "3f2a9c1b7d04");
        e.container.as_mut().unwrap().name = Some("web".into());
        assert_eq!(Series::of(&e).container, "web");
        // A long name is cut: one name cannot make a series large.
        e.container.as_mut().unwrap().name = Some("w".repeat(10_000));
        assert!(Series::of(&e).container.chars().count() <= 256);
    }
}

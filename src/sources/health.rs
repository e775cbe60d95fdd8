//! How well a kernel log source is doing: active or not (and why), and honest
//! counts of what it received and what it knows it missed.

use super::audit::Status;
use super::event::Source;
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// How far a loss count can be trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The number missing.
    #[default]
    Exact,
    /// At least this many are missing; how many more, the source cannot know.
    AtLeast,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Health {
    pub source: Source,
    /// `None`: active; otherwise why the source is not running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Seccomp records read, from the whole machine (before attribution).
    pub received: u64,
    /// Audit messages known missing (see [`super::audit_loss`]; for kmsg, the
    /// printk rate limit's). `lost_bound` says whether it is exact.
    pub lost: u64,
    /// Whether `lost` is the number missing or only a lower bound.
    pub lost_bound: Bound,
    /// Where the lost ones went, for the summary.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lost_notes: Vec<String>,
    /// Times the receive buffer overflowed (ENOBUFS) or kmsg was overrun (EPIPE).
    pub overflows: u64,
    /// kmsg: records the printk rate limit dropped, as the kernel counted them.
    pub suppressed: u64,
    /// Records cut short.
    pub truncated: u64,
    /// Audit: how much the kernel's own loss count (audit_status.lost) grew during
    /// the run; part of `lost` only when those records were never sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_lost: Option<u64>,
    #[serde(skip)]
    pub audit_status: Option<Status>,
    /// Things the user should know (e.g. `log` missing from actions_logged).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Health {
    pub fn new(source: Source) -> Health {
        Health {
            source,
            unavailable: None,
            received: 0,
            lost: 0,
            lost_bound: Bound::Exact,
            lost_notes: Vec::new(),
            overflows: 0,
            suppressed: 0,
            truncated: 0,
            kernel_lost: None,
            audit_status: None,
            warnings: Vec::new(),
        }
    }

    pub fn unavailable(source: Source, why: String) -> Health {
        Health {
            unavailable: Some(why),
            ..Health::new(source)
        }
    }

    pub fn is_active(&self) -> bool {
        self.unavailable.is_none()
    }

    /// Does this source know it missed records (not merely that it cannot rule
    /// it out)?
    pub fn knows_it_dropped(&self) -> bool {
        self.lost > 0 || self.suppressed > 0 || self.overflows > 0
    }

    /// Does this source know it missed nothing?
    pub fn missed_nothing(&self) -> bool {
        self.lost == 0 && self.lost_bound == Bound::Exact
    }

    /// `lost` as said to the user: `N`, `at least N`, or `unknown` (a lower bound
    /// of 0 is no count at all), never a bare 0 that is not known.
    pub fn lost_text(&self) -> String {
        match (self.lost_bound, self.lost) {
            (Bound::Exact, n) => n.to_string(),
            (Bound::AtLeast, 0) => "unknown".into(),
            (Bound::AtLeast, n) => format!("at least {n}"),
        }
    }

    /// One line for a summary.
    pub fn render(&self) -> String {
        let name = match self.source {
            Source::Audit => "audit",
            Source::Kmsg => "kmsg",
            Source::Ptrace => "ptrace",
            Source::Notify => "notify",
            Source::File => "file",
        };
        if let Some(why) = &self.unavailable {
            return format!("{name}: unavailable: {why}");
        }
        let mut s = format!(
            "{name}: active, received {}, lost {}",
            self.received,
            self.lost_text()
        );
        if !self.lost_notes.is_empty() {
            s += &format!(" ({})", self.lost_notes.join("; "));
        }
        if self.source == Source::Kmsg || self.suppressed > 0 {
            s += &format!(", suppressed {}", self.suppressed);
        }
        if self.overflows > 0 {
            let what = if self.source == Source::Kmsg {
                "overrun"
            } else {
                "receive buffer overflowed"
            };
            s += &format!(", {what} {}×", self.overflows);
        }
        if self.truncated > 0 {
            s += &format!(", {} cut short", self.truncated);
        }
        for w in &self.warnings {
            s += &format!("\n  warning: {w}");
        }
        s
    }
}

/// A health record shared between a source's thread and whoever reports it.
#[derive(Clone, Debug)]
pub struct Shared(Arc<Mutex<Health>>);

impl Shared {
    pub fn new(h: Health) -> Shared {
        Shared(Arc::new(Mutex::new(h)))
    }

    pub fn update(&self, f: impl FnOnce(&mut Health)) {
        let mut h = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut h);
    }

    pub fn get(&self) -> Health {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Warnings that hold for every log source on this machine.
pub fn machine_warnings() -> Vec<String> {
    let mut w = Vec::new();
    if let Ok(logged) = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged") {
        if !logged.split_whitespace().any(|a| a == "log") {
            w.push(
                "`log` is missing from /proc/sys/kernel/seccomp/actions_logged: the kernel logs no SCMP_ACT_LOG calls\n  hint: echo 'kill_process kill_thread trap errno user_notif trace log' > /proc/sys/kernel/seccomp/actions_logged".into(),
            );
        }
    }
    w
}

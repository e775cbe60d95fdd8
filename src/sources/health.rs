//! How well a kernel log source is doing: active or not (and why), and honest
//! counts of what it received and what it knows it missed.

use super::audit::Status;
use super::event::Source;
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Health {
    pub source: Source,
    /// `None`: active; otherwise why the source is not running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// Seccomp records read, from the whole machine (before attribution).
    pub received: u64,
    /// Audit messages known missing: gaps in the serials (multicast overflow, or,
    /// for kmsg, the printk rate limit).
    pub lost: u64,
    /// Times the receive buffer overflowed (ENOBUFS) or kmsg was overrun (EPIPE).
    pub overflows: u64,
    /// kmsg: records the printk rate limit dropped, as the kernel counted them.
    pub suppressed: u64,
    /// Records cut short.
    pub truncated: u64,
    /// Audit: records the kernel itself dropped during the run (audit_status.lost).
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

    /// Did this source miss records it knows of?
    pub fn dropped(&self) -> bool {
        self.lost > 0 || self.suppressed > 0 || self.overflows > 0
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
            self.received, self.lost
        );
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
        if let Some(k) = self.kernel_lost.filter(|&k| k > 0) {
            s += &format!(", kernel dropped {k}");
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

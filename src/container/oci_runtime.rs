//! The OCI runtime that loads the profile and starts the container's process:
//! runc (Docker, `eperm oci`, `podman --runtime runc`) or crun (podman's
//! default). They differ in what a NOTIFY copy of the profile may contain, in
//! which calls of their own go through the filter, and in how those show up.
//!
//! Measured here (runc 1.1.5, crun 1.8.1, kernel 6.18):
//! - runc refuses NOTIFY as the default action and for `write`, and its init makes
//!   calls between loading the filter and handing the listener over
//!   (`runc_handoff`): those must stay LOG or runc waits for ever.
//! - crun takes NOTIFY anywhere (default action and `write` included) and hands
//!   the listener to `listenerPath` before its init makes a single call under the
//!   filter: a copy that notifies everything starts and runs. Nothing stays LOG.

use crate::arch::Arch;
use crate::target::RuntimeKind;
use std::sync::OnceLock;

/// Which OCI runtime runs the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OciRuntime {
    Runc,
    Crun,
}

/// Syscalls that stay LOG in a NOTIFY copy for runc: runc's start-up calls
/// without no-new-privileges (see [`crate::startup`], where they were measured
/// under a deny-everything profile, its Go runtime's housekeeping included):
/// runc makes them between loading the filter and handing the listener over.
fn runc_handoff() -> &'static [&'static str] {
    static HANDOFF: OnceLock<Vec<&'static str>> = OnceLock::new();
    HANDOFF.get_or_init(|| {
        // Measured on x86_64; the names are the ones Go's runtime uses elsewhere too.
        let arch = Arch::native();
        crate::startup::calls(RuntimeKind::Runc, arch, false)
            .or_else(|| crate::startup::calls(RuntimeKind::Runc, Arch::X86_64, false))
            .expect("runc's start-up is known on x86_64")
    })
}

impl OciRuntime {
    /// The runtime a program name or path stands for (`/usr/bin/crun`, `runc`);
    /// `None` for any other (youki, kata, …), whose NOTIFY behaviour eperm has
    /// not measured.
    pub fn from_name(name: &str) -> Option<OciRuntime> {
        match name.rsplit('/').next().unwrap_or(name) {
            "runc" => Some(OciRuntime::Runc),
            "crun" => Some(OciRuntime::Crun),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        self.kind().name()
    }

    /// The runtime as targets and [`crate::startup`] know it.
    pub fn kind(self) -> RuntimeKind {
        match self {
            OciRuntime::Runc => RuntimeKind::Runc,
            OciRuntime::Crun => RuntimeKind::Crun,
        }
    }

    /// Calls a NOTIFY copy must leave LOG: the runtime makes them under the
    /// filter before eperm holds the listener.
    pub fn handoff(self) -> &'static [&'static str] {
        match self {
            OciRuntime::Runc => runc_handoff(),
            OciRuntime::Crun => &[],
        }
    }

    /// The `comm` of its init from loading the profile until the workload's exec:
    /// the calls made under it are the runtime's bootstrap (see `sources::event::is_bootstrap`).
    pub fn init_comm(self) -> &'static str {
        match self {
            OciRuntime::Runc => "runc:[2:INIT]",
            OciRuntime::Crun => "crun",
        }
    }

    /// Does the runtime take NOTIFY as the default action?
    pub fn notifies_default(self) -> bool {
        self == OciRuntime::Crun
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_runc_and_crun_by_name_or_path_only() {
        assert_eq!(OciRuntime::from_name("crun"), Some(OciRuntime::Crun));
        assert_eq!(
            OciRuntime::from_name("/usr/local/bin/runc"),
            Some(OciRuntime::Runc)
        );
        assert_eq!(OciRuntime::from_name("youki"), None);
        assert_eq!(OciRuntime::from_name("/usr/bin/crun-wasm"), None);
    }
}

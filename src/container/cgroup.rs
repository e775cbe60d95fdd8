//! The cgroup a container runs below under coverage: eperm makes a cgroup v2
//! directory of its own at the hierarchy's root and hands its path to the
//! runtime (`docker run --cgroup-parent`, `podman run --cgroup-parent`, OCI
//! `linux.cgroupsPath`), so that the eBPF counter can be attached before the
//! container exists and count every cgroup the runtime makes below it.
//!
//! Measured here (dockerd 20.10 with the cgroupfs driver, runc 1.1.5, hybrid
//! cgroups): runc puts the container in `/<parent>/<id>` on every v1 hierarchy
//! and on the v2 one, and leaves the parent behind; eperm removes it. The
//! systemd driver takes slice names instead, and is refused (see
//! [`Parent::create`]'s callers).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A parent cgroup of eperm's own, removed (on every hierarchy) when dropped.
pub struct Parent {
    /// The path below each hierarchy's root, e.g. `/eperm-cov-123-1`.
    path: String,
    /// Its cgroup v2 directory.
    dir: PathBuf,
}

impl Parent {
    /// A fresh parent for run `number` of this eperm.
    pub fn create(number: usize) -> io::Result<Parent> {
        let mount = crate::run::contain::cgroup2_mount().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, "no cgroup2 mount on this host")
        })?;
        sweep_dead();
        let path = format!("/eperm-cov-{}-{number}", std::process::id());
        let dir = mount.join(&path[1..]);
        std::fs::create_dir(&dir)?;
        Ok(Parent { path, dir })
    }

    /// The path to give the runtime.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The cgroup v2 directory (its inode is the id the counter compares).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Its directory in the v1 devices hierarchy, when the host has one (the
    /// runtime makes it there, with the container's below it).
    pub fn v1_devices(&self) -> Option<PathBuf> {
        let root = Path::new("/sys/fs/cgroup/devices");
        root.join("devices.list")
            .exists()
            .then(|| root.join(&self.path[1..]))
    }

    /// Its depth below the root (the root is 0): the ancestor level the counter asks for.
    pub fn level(&self) -> u32 {
        1
    }
}

impl Drop for Parent {
    fn drop(&mut self) {
        // The runtime removes the container's own cgroups as it deletes the
        // container, which `docker run --rm` does just after the client
        // returns: retry for up to a second. v1 hierarchies got one too, and
        // podman leaves an empty `conmon` cgroup below it on each.
        let mut roots = vec![self.dir.clone()];
        if let Ok(entries) = std::fs::read_dir("/sys/fs/cgroup") {
            for entry in entries.flatten() {
                let dir = entry.path().join(&self.path[1..]);
                if dir != self.dir && dir.is_dir() {
                    roots.push(dir);
                }
            }
        }
        for _ in 0..100 {
            roots.retain(|root| remove_tree(root).is_err() && root.exists());
            if roots.is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Removes the parents (`eperm-cov-PID-N`, on every hierarchy) of eperms that
/// were killed before they could: those whose eperm is gone and that are empty.
fn sweep_dead() {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let mut roots: Vec<PathBuf> = hierarchies.flatten().map(|e| e.path()).collect();
    roots.push(PathBuf::from("/sys/fs/cgroup"));
    for root in roots {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("eperm-cov-"))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
            else {
                continue;
            };
            if !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = remove_tree(&entry.path());
            }
        }
    }
}

/// Removes a cgroup and the (empty) cgroups below it, deepest first.
fn remove_tree(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&entry.path())?;
        }
    }
    std::fs::remove_dir(dir)
}

//! The allow-lists of a container's device cgroup on a host whose device
//! controller is cgroup v1 (runc and crun write the container's rules to its
//! `devices.list` there, and the kernel checks them after the v2 programs, so
//! the device program cannot see that verdict): read from the kernel's own
//! files, while the container runs, and kept after it is gone.

use crate::layer::{Device, DeviceList};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the lists are read: a container lives at least as long as its
/// runtime's start-up after the rules are written (tens of milliseconds).
const POLL: Duration = Duration::from_millis(10);
/// How deep below the parent a container's cgroup is (podman nests one level).
const DEPTH: usize = 3;

type Seen = Arc<Mutex<HashMap<PathBuf, String>>>;

/// The lists below one directory of the v1 devices hierarchy, as last read.
pub struct Lists {
    seen: Seen,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Lists {
    /// Reads the lists below `dir` every [`POLL`] until dropped.
    pub fn watch(dir: PathBuf) -> Lists {
        let seen = Seen::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    read_below(&dir, DEPTH, &seen);
                    std::thread::park_timeout(POLL);
                }
            })
        };
        Lists {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// Does the device cgroup of `pid` refuse `d`? Its own list when it is
    /// still there; else the container's as last read (the lists that restrict
    /// anything: a runtime's monitor or the parent allow everything). `None`:
    /// no list is known.
    pub fn refuses(&self, pid: u32, d: &Device) -> Option<bool> {
        if let Some(list) = own_list(pid) {
            return Some(!list.allows(d));
        }
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let restricting: Vec<DeviceList> = seen
            .values()
            .map(|text| DeviceList::parse(text))
            .filter(|l| !l.allows_all())
            .collect();
        if restricting.is_empty() {
            return None;
        }
        Some(!restricting.iter().any(|l| l.allows(d)))
    }
}

impl Drop for Lists {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The `devices.list` of every cgroup below `dir`, `depth` levels down.
fn read_below(dir: &Path, depth: usize, seen: &Seen) {
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        // cgroupfs has no links; a directory is a cgroup.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if let Ok(text) = std::fs::read_to_string(path.join("devices.list")) {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path.clone(), text);
        }
        read_below(&path, depth - 1, seen);
    }
}

/// The list of `pid`'s own v1 device cgroup, while it runs.
fn own_list(pid: u32) -> Option<DeviceList> {
    let cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let path = cgroups.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        controllers
            .split(',')
            .any(|c| c == "devices")
            .then_some(path)
    })?;
    let file = Path::new("/sys/fs/cgroup/devices")
        .join(path.trim_start_matches('/'))
        .join("devices.list");
    std::fs::read_to_string(file)
        .ok()
        .map(|t| DeviceList::parse(&t))
}

//! The allow-lists of a container's device cgroup on a host whose device
//! controller is cgroup v1 (runc and crun write the container's rules to its
//! `devices.list` there, and the kernel checks them after the v2 programs, so
//! the device program cannot see that verdict): read from the kernel's own
//! files, while the container runs, and kept after it is gone. The reads follow
//! the kernel's own events (inotify: a cgroup made below, a rule written into
//! one), so that a container living a few milliseconds is still read; a
//! periodic read covers what the events may not say.

use crate::layer::{Device, DeviceList};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::collections::HashMap;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the lists are read without an event.
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
    /// Reads the lists below `dir` at each change there, and every [`POLL`],
    /// until dropped.
    pub fn watch(dir: PathBuf) -> Lists {
        let seen = Seen::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                let events = Events::new(&dir);
                while !stop.load(Ordering::Acquire) {
                    read_below(&dir, DEPTH, &seen, events.as_ref());
                    match &events {
                        Some(e) => e.wait(POLL),
                        None => std::thread::park_timeout(POLL),
                    }
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

/// The kernel's events of the cgroups below the watched directory: a cgroup
/// made, a rule written (cgroupfs reports both through inotify).
struct Events(Inotify);

impl Events {
    fn new(dir: &Path) -> Option<Events> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).ok()?;
        let events = Events(inotify);
        events.follow(dir);
        Some(events)
    }

    /// Watches `dir` (a cgroup) for cgroups made in it and files written.
    fn follow(&self, dir: &Path) {
        let mask = AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MODIFY;
        // A cgroup gone meanwhile: nothing to watch.
        let _ = self.0.add_watch(dir, mask);
    }

    /// Until an event comes, or `timeout`; the events themselves are dropped:
    /// what changed is read again whole.
    fn wait(&self, timeout: Duration) {
        let mut fds = [PollFd::new(self.0.as_fd(), PollFlags::POLLIN)];
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        if let Ok(1..) = poll(&mut fds, PollTimeout::from(ms)) {
            while self.0.read_events().is_ok_and(|e| !e.is_empty()) {}
        }
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

/// The `devices.list` of every cgroup below `dir`, `depth` levels down; each
/// one followed by `events` too (watching a directory twice is one watch).
fn read_below(dir: &Path, depth: usize, seen: &Seen, events: Option<&Events>) {
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
        if let Some(events) = events.filter(|_| depth > 1) {
            events.follow(&path);
        }
        if let Ok(text) = std::fs::read_to_string(path.join("devices.list")) {
            seen.lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path.clone(), text);
        }
        read_below(&path, depth - 1, seen, events);
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

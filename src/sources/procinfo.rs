//! Facts about a process from `/proc`. A process that has exited is not an
//! error here: every function answers `None`.

use crate::untrusted::Untrusted;
use std::os::unix::ffi::OsStrExt;

fn read(pid: u32, file: &str) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/{file}")).ok()
}

/// The thread's name (`comm`), without the trailing newline: any process can set
/// its own, so it is untrusted.
pub fn comm(pid: u32) -> Option<Untrusted> {
    let raw = read(pid, "comm")?;
    Some(Untrusted::new(comm_bytes(&raw)))
}

/// A read of `/proc/TID/comm` without its trailing newline.
pub fn comm_bytes(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\n").unwrap_or(raw)
}

/// The executable's path, untrusted (whoever wrote the file named it). A binary
/// replaced or removed since exec reads as `/usr/bin/x (deleted)`; the suffix is
/// dropped. Kernel threads and processes we may not inspect have none.
pub fn exe(pid: u32) -> Option<Untrusted> {
    let link = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let bytes = link.as_os_str().as_bytes();
    let bytes = bytes.strip_suffix(b" (deleted)").unwrap_or(bytes);
    Some(Untrusted::new(bytes))
}

/// A `Key:\tvalue` field of `/proc/PID/status`.
fn status_field(pid: u32, key: &str) -> Option<String> {
    let raw = read(pid, "status")?;
    String::from_utf8_lossy(&raw).lines().find_map(|l| {
        l.strip_prefix(key)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}

/// The parent's pid (0 for init and kernel threads' parent).
pub fn ppid(pid: u32) -> Option<u32> {
    status_field(pid, "PPid")?.parse().ok()
}

/// The process (thread group) a thread belongs to.
pub fn tgid_of(tid: u32) -> Option<u32> {
    status_field(tid, "Tgid")?.parse().ok()
}

/// The audit session (`ses` in records); `None` when unset.
pub fn session(pid: u32) -> Option<u32> {
    let text = String::from_utf8(read(pid, "sessionid")?).ok()?;
    let ses: u32 = text.trim().parse().ok()?;
    (ses != u32::MAX).then_some(ses)
}

/// The pid namespace's inode (zombies too, until reaped).
pub fn pid_ns(pid: u32) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/pid"))
        .ok()
        .map(|m| m.ino())
}

/// The argument vector; empty for kernel threads and zombies.
///
/// It is the process's own memory: a read of it can hang (a userfaultfd page
/// under its argument area), so it has the memory reads' deadline.
pub fn cmdline(pid: u32) -> Option<Vec<String>> {
    let raw = super::memory::within_deadline(move || read(pid, "cmdline")).flatten()?;
    let raw = raw.strip_suffix(b"\0").unwrap_or(&raw);
    if raw.is_empty() {
        return Some(Vec::new());
    }
    Some(
        raw.split(|&b| b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process() {
        let pid = std::process::id();
        let exe_path = std::env::current_exe().unwrap();
        assert_eq!(exe(pid), Some(Untrusted::from(exe_path.as_path())));
        let args: Vec<String> = std::env::args().collect();
        assert_eq!(cmdline(pid), Some(args));
        assert_eq!(tgid_of(pid), Some(pid));
        assert_eq!(ppid(pid), Some(std::os::unix::process::parent_id()));
        // The test harness runs tests on named threads; the process keeps its name.
        let name = comm(pid).unwrap();
        assert!(!name.is_empty() && !name.as_bytes().ends_with(b"\n"));
    }

    #[test]
    fn a_thread_knows_its_process() {
        let pid = std::process::id();
        let tid = std::thread::spawn(|| nix::unistd::gettid().as_raw() as u32)
            .join()
            .unwrap();
        // The thread has exited; its /proc entry may or may not linger.
        let _ = tgid_of(tid);
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let h = std::thread::Builder::new()
            .name("probe".into())
            .spawn(move || {
                tx.send(nix::unistd::gettid().as_raw() as u32).unwrap();
                let _ = done_rx.recv();
            })
            .unwrap();
        let tid = rx.recv().unwrap();
        assert_ne!(tid, pid);
        assert_eq!(tgid_of(tid), Some(pid));
        assert_eq!(comm(tid), Some(Untrusted::from("probe")));
        done_tx.send(()).unwrap();
        h.join().unwrap();
    }

    #[test]
    fn a_vanished_process_is_none() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert_eq!(comm(pid), None);
        assert_eq!(exe(pid), None);
        assert_eq!(ppid(pid), None);
        assert_eq!(tgid_of(pid), None);
        assert_eq!(cmdline(pid), None);
        assert_eq!(comm(u32::MAX), None);
    }

    #[test]
    fn deleted_executables_keep_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("sleeper");
        std::fs::copy("/bin/sleep", &copy).unwrap();
        let mut child = std::process::Command::new(&copy).arg("5").spawn().unwrap();
        std::fs::remove_file(&copy).unwrap();
        let got = exe(child.id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(got, Some(Untrusted::from(copy.as_path())));
    }
}

//! Separate debug files, found by build-id where distributions install them
//! (`/usr/lib/debug/.build-id/ab/cdef….debug`, Debian's `-dbgsym` and
//! Fedora's `-debuginfo` packages), inside the process's own root: a
//! container's debug files are its image's.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

/// Where the debug file of `build_id` lies, relative to a root.
pub fn path_of(build_id: &[u8]) -> Option<String> {
    let (first, rest) = build_id.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let hex: String = rest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("usr/lib/debug/.build-id/{first:02x}/{hex}.debug"))
}

/// `struct open_how` of openat2(2) (libc's is non-exhaustive).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// Opens `rel` inside process `pid`'s root (`/proc/PID/root`) with every
/// symlink resolved as if that were `/` (`RESOLVE_IN_ROOT`): a link the
/// workload planted cannot lead out of its root to a file of the host's.
pub fn open_in_root(pid: u32, rel: &str) -> Option<File> {
    let root = std::fs::File::open(format!("/proc/{pid}/root")).ok()?;
    let path = std::ffi::CString::new(std::ffi::OsStr::new(rel).as_bytes()).ok()?;
    let how = OpenHow {
        flags: (libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    use std::os::fd::AsRawFd;
    // SAFETY: openat2 reads `path` (a NUL-terminated string that outlives the
    // call) and `how` (its size passed with it); it writes nothing of ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            path.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: openat2 returned a new descriptor, owned by no one else.
    Some(File::from(unsafe { OwnedFd::from_raw_fd(fd as i32) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_id_s_debug_path() {
        assert_eq!(
            path_of(&[0xab, 0xcd, 0xef, 0x01]).as_deref(),
            Some("usr/lib/debug/.build-id/ab/cdef01.debug")
        );
        assert_eq!(path_of(&[0xab]), None);
        assert_eq!(path_of(&[]), None);
    }

    /// A symlink to an absolute path resolves inside the root, not the host's.
    #[test]
    fn links_resolve_inside_the_root() {
        // Our own root is `/`: a link to /etc/hostname is followed there. What
        // matters is that the call works and refuses what it must.
        let me = std::process::id();
        let magic = "proc/self/root/etc/hostname";
        assert!(open_in_root(me, magic).is_none(), "a magic link is refused");
        let dir = tempfile::tempdir().unwrap();
        let rel = dir
            .path()
            .join("f")
            .to_str()
            .unwrap()
            .trim_start_matches('/')
            .to_string();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        assert!(open_in_root(me, &rel).is_some());
        assert!(open_in_root(me, "no/such/file").is_none());
    }
}

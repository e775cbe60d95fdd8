//! The netlink socket set-up the audit source and the fork watcher share.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// A new close-on-exec netlink socket: `kind` is SOCK_RAW or SOCK_DGRAM, with
/// any other socket flags or'ed in.
pub(super) fn socket(kind: i32, protocol: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the result is a new fd or -1.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, kind | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Binds `fd` to the multicast `groups`; the kernel picks the port.
pub(super) fn bind(fd: RawFd, groups: u32) -> io::Result<()> {
    // SAFETY: zeroed sockaddr_nl is valid; filled below.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    addr.nl_groups = groups;
    // SAFETY: addr is a valid sockaddr_nl of the given size.
    let r = unsafe {
        libc::bind(
            fd,
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets the socket option `opt` to `value` (an int, a timeval, …); false when
/// the kernel refused it, which leaves the option as it was.
pub(super) fn set_opt<T>(fd: RawFd, level: i32, opt: i32, value: &T) -> bool {
    // SAFETY: setsockopt reads size_of::<T>() bytes from a T we borrow.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        ) == 0
    }
}

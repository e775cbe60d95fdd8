//! Waiting on a kernel fd and a stop pipe at once: every reader loop here does it.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};

/// What woke the wait up; all false after a timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// `fd` has something to read.
    pub data: bool,
    /// `fd` hung up or failed (for a seccomp listener: no process uses the filter).
    pub hangup: bool,
    /// `stop` became readable or hung up.
    pub stop: bool,
}

/// Waits up to `timeout_ms` (-1: for ever) for `fd` or `stop`; EINTR is retried.
pub fn wait(fd: RawFd, stop: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<Ready> {
    let pollfd = |fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        let mut fds = [pollfd(fd), pollfd(stop.as_raw_fd())];
        // SAFETY: two valid pollfds.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) } < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(err);
        }
        return Ok(Ready {
            data: fds[0].revents & libc::POLLIN != 0,
            hangup: fds[0].revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0,
            stop: fds[1].revents != 0,
        });
    }
}

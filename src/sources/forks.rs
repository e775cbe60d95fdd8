//! Who forked whom, from the kernel's process events connector: the parent of a
//! process that has already exited (and left /proc) when its log record is read.
//!
//! The kernel queues a fork event before the child runs, so by the time a log
//! record of the child is read its fork event is already waiting on this socket:
//! [`Forks::parent`] reads what is queued before it answers, and needs no thread.
//! Needs CAP_NET_ADMIN; any netlink trouble just means fewer answers.

use super::netlink;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

const NETLINK_CONNECTOR: libc::c_int = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const PROC_EVENT_FORK: u32 = 1;

/// `struct nlmsghdr` (16 bytes), then `struct cn_msg` (20 bytes), then the event.
const NLMSG_HDR: usize = 16;
const CN_MSG: usize = 20;
/// In `struct proc_event`: `what` at 0; the fork event's pids from 16 on.
const EVENT: usize = NLMSG_HDR + CN_MSG;

/// Parents seen are forgotten past this many (a busy machine forks a lot).
const REMEMBERED: usize = 1 << 20;

pub struct Forks {
    sock: OwnedFd,
    /// Child process (tgid) → the process (tgid) that forked it.
    parent: HashMap<u32, u32>,
    /// The socket overflowed at least once: some forks were missed.
    pub lost: bool,
}

impl std::fmt::Debug for Forks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forks")
            .field("known", &self.parent.len())
            .field("lost", &self.lost)
            .finish()
    }
}

impl Forks {
    /// Subscribes to the process events of the whole machine.
    pub fn open() -> io::Result<Forks> {
        let sock = netlink::socket(libc::SOCK_DGRAM | libc::SOCK_NONBLOCK, NETLINK_CONNECTOR)?;
        let fd = sock.as_raw_fd();
        netlink::bind(fd, CN_IDX_PROC)?;
        // Failure leaves the default buffer.
        let size: libc::c_int = 8 << 20;
        netlink::set_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size);
        let mut msg = [0u8; EVENT + 4];
        msg[0..4].copy_from_slice(&((EVENT + 4) as u32).to_ne_bytes());
        msg[4..6].copy_from_slice(&(libc::NLMSG_DONE as u16).to_ne_bytes());
        msg[NLMSG_HDR..NLMSG_HDR + 4].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
        msg[NLMSG_HDR + 4..NLMSG_HDR + 8].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
        msg[NLMSG_HDR + 16..NLMSG_HDR + 18].copy_from_slice(&4u16.to_ne_bytes());
        msg[EVENT..EVENT + 4].copy_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        // SAFETY: sending a buffer we own to the kernel (the socket's default peer).
        if unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), 0) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Forks {
            sock,
            parent: HashMap::new(),
            lost: false,
        })
    }

    /// The process that forked `pid`, if its fork event has been seen.
    pub fn parent(&mut self, pid: u32) -> Option<u32> {
        if !self.parent.contains_key(&pid) {
            self.catch_up();
        }
        self.parent.get(&pid).copied()
    }

    /// Reads every event queued so far.
    fn catch_up(&mut self) {
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reading into a buffer we own; the socket does not block.
            let n =
                unsafe { libc::recv(self.sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                match io::Error::last_os_error().raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::ENOBUFS) => {
                        self.lost = true;
                        continue;
                    }
                    _ => return, // EAGAIN: nothing more queued
                }
            }
            self.take(&buf[..n as usize]);
        }
    }

    /// One datagram's fork events (threads are not processes: skipped).
    fn take(&mut self, mut data: &[u8]) {
        let word = |d: &[u8], at: usize| {
            d.get(at..at + 4)
                .map(|b| u32::from_ne_bytes(b.try_into().expect("four bytes")))
        };
        while let Some(len) = word(data, 0).map(|l| l as usize) {
            if len < EVENT + 32 || len > data.len() {
                return;
            }
            let message = &data[..len];
            if word(message, EVENT) == Some(PROC_EVENT_FORK) {
                let (parent, child_pid, child) = (
                    word(message, EVENT + 20),
                    word(message, EVENT + 24),
                    word(message, EVENT + 28),
                );
                if let (Some(parent), Some(child_pid), Some(child)) = (parent, child_pid, child) {
                    if child_pid == child {
                        if self.parent.len() >= REMEMBERED {
                            self.parent.clear();
                        }
                        self.parent.insert(child, parent);
                    }
                }
            }
            data = &data[(len + 3) & !3..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A grandchild that has exited and been reaped is gone from /proc, but its
    /// parent is still known.
    #[test]
    fn knows_the_parent_of_a_process_already_gone() {
        if !nix::unistd::geteuid().is_root() {
            panic!("the process events connector needs CAP_NET_ADMIN: run as root (CI does)");
        }
        let mut forks = Forks::open().expect("the process events connector");
        // The shell forks `true` (not exec: a second command follows), prints
        // its pid, waits for it, and prints its own.
        let out = std::process::Command::new("sh")
            .args(["-c", "true & echo $!; wait; echo $$"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let pids: Vec<u32> = text.lines().map(|l| l.parse().unwrap()).collect();
        let (child, shell) = (pids[0], pids[1]);
        assert!(!std::path::Path::new(&format!("/proc/{child}")).exists());
        assert_eq!(forks.parent(child), Some(shell));
        assert_eq!(forks.parent(shell), Some(std::process::id()));
    }
}

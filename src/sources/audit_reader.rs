//! The audit socket's reader: a thread that does nothing but move datagrams from
//! the socket into memory, so that the kernel's queue for eperm empties as fast as
//! the records come (parsing happens on another thread, [`super::audit`]).
//!
//! Where records go missing at the socket, measured here (a 1M-call LOG flood
//! with eperm stopped by SIGSTOP for 4 s): the receive buffer (512 MiB, ~800
//! bytes a record) filled after 667k records and the kernel dropped the other
//! 333k at eperm's socket; `audit_status.lost` and `backlog` did not move (the
//! kernel makes the workload wait at its backlog limit instead). Those drops are
//! counted by the socket itself (`SO_MEMINFO`'s drop count), which is exact and
//! also covers drops after the last record received, which no serial gap shows.
//! By default the kernel also stops delivering to an overflowed netlink socket
//! until its queue is empty again (ENOBUFS once, then every record dropped);
//! with `NETLINK_NO_ENOBUFS` it delivers again as soon as there is room. eperm
//! asks for that whenever it can read the drop count, so it loses only what did
//! not fit.

use super::health::Shared;
use super::netlink::set_opt;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::mpsc::SyncSender;

/// Datagrams read in one `recvmmsg`.
const BATCH: usize = 128;
/// One slot of a batch: the largest audit message (8970 bytes) and its header.
const SLOT: usize = 9 << 10;
/// A chunk is handed to the parser when it holds this much.
const CHUNK: usize = 1 << 20;
/// Chunks waiting for the parser, at most: eperm holds at most ~32 MiB of unparsed
/// records; past that the reader waits and the socket's buffer takes the rest.
pub(super) const CHUNKS_QUEUED: usize = 32;

/// `SO_MEMINFO` (asm-generic; the same on x86 and arm64).
const SO_MEMINFO: i32 = 55;
const SK_MEMINFO_DROPS: usize = 8;
const SK_MEMINFO_VARS: usize = 9;
const NETLINK_NO_ENOBUFS: i32 = 5;

/// Datagrams as read, packed one after another, each after its length (u32, native).
#[derive(Default)]
pub(super) struct Chunk(Vec<u8>);

impl Chunk {
    fn push(&mut self, datagram: &[u8]) {
        self.0
            .extend_from_slice(&(datagram.len() as u32).to_ne_bytes());
        self.0.extend_from_slice(datagram);
    }

    pub(super) fn datagrams(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.0.as_slice();
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let len = (u32::from_ne_bytes(*len) as usize).min(tail.len());
            let (datagram, tail) = tail.split_at(len);
            rest = tail;
            Some(datagram)
        })
    }
}

/// What the socket knows of the messages it dropped: the kernel's count since the
/// socket was opened, when it can be read.
pub(super) struct Drops {
    fd: RawFd,
    exact: bool,
}

impl Drops {
    /// Reads the drop count once to see whether this kernel gives it; if it does,
    /// asks for delivery to resume as soon as there is room after an overflow
    /// (the count replaces the ENOBUFS signal).
    pub(super) fn probe(sock: &OwnedFd) -> Drops {
        let fd = sock.as_raw_fd();
        let exact =
            socket_drops(fd).is_some() && set_opt(fd, libc::SOL_NETLINK, NETLINK_NO_ENOBUFS, &1i32);
        Drops { fd, exact }
    }

    /// Messages dropped at the socket since it was opened; `None` when the kernel
    /// does not say.
    pub(super) fn count(&self) -> Option<u64> {
        if self.exact {
            socket_drops(self.fd)
        } else {
            None
        }
    }
}

/// `SO_MEMINFO`'s drop count (netlink counts one per message it could not queue).
fn socket_drops(fd: RawFd) -> Option<u64> {
    let mut info = [0u32; SK_MEMINFO_VARS];
    let mut len = std::mem::size_of_val(&info) as libc::socklen_t;
    // SAFETY: info is valid for len bytes; the kernel writes at most len.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_MEMINFO,
            info.as_mut_ptr().cast(),
            &mut len,
        )
    };
    (r == 0 && len as usize > SK_MEMINFO_DROPS * 4).then(|| u64::from(info[SK_MEMINFO_DROPS]))
}

/// Reads the socket until `stop` fires and the socket is empty, handing chunks to
/// `chunks`; counts overflows (ENOBUFS, or a drop count that grew) and the drops
/// in `health`.
pub(super) fn drain(
    sock: &OwnedFd,
    drops: &Drops,
    stop: BorrowedFd,
    chunks: SyncSender<Chunk>,
    health: &Shared,
) {
    let fd = sock.as_raw_fd();
    let mut slots = vec![0u8; BATCH * SLOT];
    let mut last_drops = 0;
    let mut chunk = Chunk::default();
    while let Ok(ready) = super::wait::wait(fd, stop, 200) {
        if ready.stop && !ready.data {
            break;
        }
        if !ready.data && !ready.hangup {
            continue;
        }
        let mut overflowed = false;
        let mut truncated = 0;
        // Everything queued, then the chunk goes to the parser at once (even part
        // full: a record should not wait for the next one to be shown).
        loop {
            match receive(fd, &mut slots, |datagram, cut| {
                truncated += u64::from(cut);
                chunk.push(datagram);
            }) {
                Received::Some => {
                    if chunk.0.len() >= CHUNK && chunks.send(std::mem::take(&mut chunk)).is_err() {
                        return;
                    }
                }
                Received::Overflow => overflowed = true,
                Received::Empty => break,
            }
        }
        if !chunk.0.is_empty() && chunks.send(std::mem::take(&mut chunk)).is_err() {
            return;
        }
        let now = drops.count();
        let grew = now.is_some_and(|n| n > last_drops);
        if overflowed || grew || truncated > 0 {
            health.update(|h| {
                h.overflows += u64::from(overflowed || grew);
                h.truncated += truncated;
            });
        }
        if let Some(n) = now {
            last_drops = n;
        }
    }
}

enum Received {
    Some,
    /// ENOBUFS: the kernel dropped messages (how many, it does not say here).
    Overflow,
    Empty,
}

/// One `recvmmsg` of up to [`BATCH`] datagrams, each given to `each` with whether
/// it was cut short.
fn receive(fd: RawFd, slots: &mut [u8], mut each: impl FnMut(&[u8], bool)) -> Received {
    // SAFETY: zeroed iovec/mmsghdr are valid; pointers are filled in below.
    let mut iov: [libc::iovec; BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as for `iov`: plain C structs, all zeros a valid (empty) value.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, (v, m)) in iov.iter_mut().zip(msgs.iter_mut()).enumerate() {
        v.iov_base = slots[i * SLOT..].as_mut_ptr().cast();
        v.iov_len = SLOT;
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    let n = loop {
        // SAFETY: BATCH headers, each pointing at its own SLOT bytes of `slots`.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n >= 0 {
            break n as usize;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::ENOBUFS) => return Received::Overflow,
            _ => return Received::Empty,
        }
    };
    if n == 0 {
        return Received::Empty;
    }
    for (i, m) in msgs[..n].iter().enumerate() {
        let len = (m.msg_len as usize).min(SLOT);
        each(
            &slots[i * SLOT..i * SLOT + len],
            m.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        );
    }
    Received::Some
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_gives_back_its_datagrams_in_order() {
        let mut c = Chunk::default();
        for d in [&b"audit(1.2:3): a"[..], b"", b"xyz"] {
            c.push(d);
        }
        let back: Vec<&[u8]> = c.datagrams().collect();
        assert_eq!(back, vec![&b"audit(1.2:3): a"[..], b"", b"xyz"]);
        // A cut length never reads past the end.
        c.0.truncate(c.0.len() - 2);
        assert_eq!(c.datagrams().last(), Some(&b"x"[..]));
    }
}

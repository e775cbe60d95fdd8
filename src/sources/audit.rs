//! The kernel audit netlink source: every seccomp record, live.
//!
//! eperm joins the read-only multicast group (AUDIT_NLGRP_READLOG) and never
//! registers as the audit daemon: that would stop the kernel printing records to
//! kmsg and could stall the workload when eperm falls behind. Multicast never slows
//! the sender; when eperm's receive buffer fills, the kernel drops messages there.
//! A reader thread of its own keeps that buffer empty ([`super::audit_reader`]);
//! every message missed, there or elsewhere, is counted ([`super::audit_loss`]).

use super::audit_loss::{self, Missing};
use super::audit_reader::{self, Chunk, Drops};
use super::audit_record::{self as parse, Record, AUDIT_SECCOMP};
use super::health::{Health, Shared};
use super::lsm::{Assembler, Live};
use super::netlink::{self, bind, set_opt};
use crate::error::Unavailable;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const NETLINK_AUDIT: i32 = 9;
/// `AUDIT_NLGRP_READLOG`: group 1, bit 0 of `nl_groups`.
const AUDIT_NLGRP_READLOG: u32 = 1;
const AUDIT_GET: u16 = 1000;
const NLMSG_HDRLEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
/// The receive buffer asked for (the kernel doubles it): ~650k records fit while
/// eperm catches up. `EPERM_AUDIT_RCVBUF` (bytes) asks for another size, e.g. to
/// spend less kernel memory.
const RCVBUF: i32 = 256 << 20;

fn rcvbuf() -> i32 {
    std::env::var("EPERM_AUDIT_RCVBUF")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &i32| n > 0)
        .unwrap_or(RCVBUF)
}

/// `struct audit_status`, the answer to AUDIT_GET (the fields eperm reads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    pub enabled: u32,
    /// The pid of the registered audit daemon (0: none).
    pub pid: u32,
    pub backlog_limit: u32,
    /// Records the kernel dropped (backlog full, out of memory) since boot.
    pub lost: u32,
    pub backlog: u32,
}

/// The open multicast socket, and the kernel's counts when it was opened.
pub struct AuditSource {
    sock: OwnedFd,
    drops: Drops,
    /// The kernel's audit status at open; `None` when unreadable.
    opened: Option<Status>,
    /// Where LSM refusal records go, when someone wants them.
    lsm: Option<mpsc::SyncSender<Live>>,
    /// Seccomp records are parsed and handed on (not for an LSM-only reader).
    seccomp: bool,
}

/// Why the audit source cannot run here.
pub fn unavailable_reason() -> Option<String> {
    if !is_root_or_audit_read() {
        return Some("needs root or CAP_AUDIT_READ".into());
    }
    if std::fs::read_to_string("/proc/cmdline")
        .is_ok_and(|c| c.split_whitespace().any(|w| w == "audit=0"))
    {
        return Some("audit is disabled at boot (audit=0 on the kernel command line)".into());
    }
    if let Some(why) = other_netns() {
        return Some(why);
    }
    None
}

fn is_root_or_audit_read() -> bool {
    let caps = crate::caps::CapSet::current();
    caps.has("CAP_AUDIT_READ") || caps.has("CAP_SYS_ADMIN")
}

/// The kernel multicasts audit records only in the initial network namespace.
fn other_netns() -> Option<String> {
    let ours = std::fs::read_link("/proc/self/ns/net").ok()?;
    let init = std::fs::read_link("/proc/1/ns/net").ok()?;
    (ours != init).then(|| {
        "eperm runs in another network namespace; the kernel sends audit records only to the initial one".into()
    })
}

fn socket() -> std::io::Result<OwnedFd> {
    netlink::socket(libc::SOCK_RAW, NETLINK_AUDIT)
}

impl AuditSource {
    /// Joins the read-log group with a large receive buffer.
    pub fn open() -> std::io::Result<AuditSource> {
        let sock = socket()?;
        let fd = sock.as_raw_fd();
        // FORCE passes net.core.rmem_max (root); plain RCVBUF is capped by it.
        let size = rcvbuf();
        let _ = set_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &size)
            || set_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, &size);
        bind(fd, AUDIT_NLGRP_READLOG).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("joining the audit read-log group: {e} (needs CAP_AUDIT_READ)"),
            )
        })?;
        // Set up before any record can be missed: a new socket has dropped nothing.
        let drops = Drops::probe(&sock);
        Ok(AuditSource {
            sock,
            drops,
            opened: status().ok(),
            lsm: None,
            seccomp: true,
        })
    }

    /// Also sends the LSM refusal records (AppArmor, SELinux, Landlock) to `tx`;
    /// never waits for it (a record it has no room for is dropped).
    pub fn with_lsm(mut self, tx: mpsc::SyncSender<Live>) -> AuditSource {
        self.lsm = Some(tx);
        self
    }

    /// Reads the LSM records only: the machine's seccomp records are not parsed.
    pub fn lsm_only(mut self, tx: mpsc::SyncSender<Live>) -> AuditSource {
        self.seccomp = false;
        self.with_lsm(tx)
    }

    /// Reads until `stop` becomes readable (or hangs up) and every record queued
    /// is read, calling `each` with every seccomp record; keeps `health` current,
    /// with every record missed counted (see [`super::audit_loss`]).
    ///
    /// Two threads: a reader that only moves datagrams from the socket into memory
    /// ([`audit_reader::drain`]), and this one, which parses them.
    pub fn run(self, stop: BorrowedFd, health: &Shared, mut each: impl FnMut(Record)) {
        let drops = &self.drops;
        let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
        let mut missing = Missing {
            socket_drops: drops.count().map(|_| 0),
            kernel_lost: self.opened.map(|_| 0),
            kernel_lost_unsent: self
                .opened
                .is_some_and(|s| audit_loss::kernel_lost_is_unsent(s.pid, &cmdline)),
            ..Missing::default()
        };
        let baseline = self.opened.map(|s| s.lost);
        let mut serials = Serials::default();
        let mut lsm = self
            .lsm
            .as_ref()
            .map(|tx| (tx, Assembler::new(super::event::Source::Audit)));
        let (tx, rx) = mpsc::sync_channel::<Chunk>(audit_reader::CHUNKS_QUEUED);
        std::thread::scope(|scope| {
            let sock = &self.sock;
            let reader = scope.spawn(move || audit_reader::drain(sock, drops, stop, tx, health));
            let mut last_status = Instant::now();
            loop {
                let chunk = match rx.recv_timeout(STATUS_EVERY) {
                    Ok(chunk) => Some(chunk),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                };
                let (mut received, mut truncated) = (0, 0);
                for datagram in chunk.iter().flat_map(|c| c.datagrams()) {
                    messages(datagram, |kind, payload| {
                        if let Some(s) = serial_of(payload) {
                            missing.gaps += serials.gap_before(s);
                        }
                        if let Some((tx, assembler)) = lsm.as_mut() {
                            for live in assembler.message(kind, payload, Instant::now()) {
                                let _ = tx.try_send(live);
                            }
                        }
                        if kind == AUDIT_SECCOMP && self.seccomp {
                            match parse::parse_payload(payload) {
                                Ok(r) => {
                                    received += 1;
                                    each(r);
                                }
                                Err(_) => truncated += 1,
                            }
                        }
                    });
                }
                if let Some((tx, assembler)) = lsm.as_mut() {
                    for live in assembler.expired(Instant::now()) {
                        let _ = tx.try_send(live);
                    }
                }
                let kernel = (last_status.elapsed() >= STATUS_EVERY).then(|| {
                    last_status = Instant::now();
                    status().ok()
                });
                missing.overflowed |= health.get().overflows > 0;
                observe(
                    &mut missing,
                    baseline,
                    drops.count(),
                    kernel.flatten(),
                    false,
                );
                health.update(|h| {
                    h.received += received;
                    h.truncated += truncated;
                    apply(h, &missing, kernel.flatten());
                });
            }
            let _ = reader.join();
        });
        if let Some((tx, assembler)) = lsm.as_mut() {
            for live in assembler.flush() {
                let _ = tx.try_send(live);
            }
        }
        // The end: what the socket dropped, and what the kernel never delivered.
        let last = status().ok();
        missing.overflowed |= health.get().overflows > 0;
        observe(&mut missing, baseline, drops.count(), last, true);
        health.update(|h| apply(h, &missing, last));
    }
}

/// The kernel's status is asked for this often while records come.
const STATUS_EVERY: Duration = Duration::from_millis(500);

/// Folds the counters read now into `missing`: the socket's drops, the kernel's
/// loss as growth since `baseline` (its `lost` at open), and at the `end` the
/// records still in the kernel's queue, which eperm will not read.
fn observe(
    missing: &mut Missing,
    baseline: Option<u32>,
    drops: Option<u64>,
    kernel: Option<Status>,
    end: bool,
) {
    if drops.is_some() {
        missing.socket_drops = drops;
    }
    if let (Some(base), Some(s)) = (baseline, kernel) {
        missing.kernel_lost = Some(u64::from(s.lost.wrapping_sub(base)));
        if end {
            missing.unread = u64::from(s.backlog);
        }
    }
}

fn apply(h: &mut Health, missing: &Missing, kernel: Option<Status>) {
    let tally = missing.tally();
    h.lost = tally.lost;
    h.lost_bound = tally.bound;
    h.lost_notes = tally.notes;
    h.kernel_lost = missing.kernel_lost;
    if kernel.is_some() {
        h.audit_status = kernel;
    }
}

/// Gaps in the audit serials: the kernel numbers every message from one counter,
/// so a serial skipped is a message not received.
#[derive(Default)]
struct Serials {
    last: Option<u64>,
}

impl Serials {
    /// How many serials were skipped before `s`.
    fn gap_before(&mut self, s: u64) -> u64 {
        let gap = match self.last {
            Some(last) if s > last + 1 => s - last - 1,
            _ => 0,
        };
        if self.last.is_none_or(|l| s > l) {
            self.last = Some(s);
        }
        gap
    }
}

/// Calls `each(type, payload)` for every netlink message in a datagram.
fn messages(mut data: &[u8], mut each: impl FnMut(u16, &[u8])) {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        // The kernel's audit messages may carry a length that omits or includes the
        // header; take what is there.
        let end = len.clamp(NLMSG_HDRLEN, data.len());
        each(kind, &data[NLMSG_HDRLEN..end]);
        let aligned = (end + 3) & !3;
        if aligned >= data.len() {
            break;
        }
        data = &data[aligned..];
    }
}

/// The serial of `audit(SECS.MS:SERIAL): …`.
fn serial_of(payload: &[u8]) -> Option<u64> {
    let head = &payload[..payload.len().min(64)];
    let colon = head.iter().position(|&b| b == b':')?;
    let close = head[colon..].iter().position(|&b| b == b')')? + colon;
    std::str::from_utf8(&head[colon + 1..close])
        .ok()?
        .parse()
        .ok()
}

/// AUDIT_GET on a socket of its own (needs CAP_AUDIT_CONTROL).
pub fn status() -> std::io::Result<Status> {
    let sock = socket()?;
    let fd = sock.as_raw_fd();
    let timeout = libc::timeval {
        tv_sec: 1,
        tv_usec: 0,
    };
    set_opt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout);
    let mut req = [0u8; NLMSG_HDRLEN];
    req[0..4].copy_from_slice(&(NLMSG_HDRLEN as u32).to_ne_bytes());
    req[4..6].copy_from_slice(&AUDIT_GET.to_ne_bytes());
    req[6..8].copy_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    req[8..12].copy_from_slice(&1u32.to_ne_bytes());
    // SAFETY: zeroed sockaddr_nl addresses the kernel (pid 0).
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as u16;
    // SAFETY: valid buffer and address.
    let sent = unsafe {
        libc::sendto(
            fd,
            req.as_ptr().cast(),
            req.len(),
            0,
            (&kernel as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut buf = [0u8; 8192];
    for _ in 0..4 {
        // SAFETY: buf is valid for its length.
        let len = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if len < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut found = None;
        messages(&buf[..len as usize], |kind, payload| {
            if kind == NLMSG_ERROR && payload.len() >= 4 {
                let err = i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]]);
                if err < 0 {
                    found = Some(Err(std::io::Error::from_raw_os_error(-err)));
                }
            } else if kind == AUDIT_GET && payload.len() >= 32 {
                let word = |i: usize| {
                    u32::from_ne_bytes([
                        payload[4 * i],
                        payload[4 * i + 1],
                        payload[4 * i + 2],
                        payload[4 * i + 3],
                    ])
                };
                // mask, enabled, failure, pid, rate_limit, backlog_limit, lost, backlog
                found = Some(Ok(Status {
                    enabled: word(1),
                    pid: word(3),
                    backlog_limit: word(5),
                    lost: word(6),
                    backlog: word(7),
                }));
            }
        });
        if let Some(result) = found {
            return result;
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "no answer to AUDIT_GET",
    ))
}

/// Opens the source, or says why it cannot run.
pub fn start() -> Result<AuditSource, Unavailable> {
    if let Some(why) = unavailable_reason() {
        return Err(Unavailable(why));
    }
    AuditSource::open().map_err(|e| Unavailable(e.to_string()))
}

/// The starting health: active, with the audit status when it can be read.
pub fn initial_health() -> Health {
    let mut h = Health::new(super::event::Source::Audit);
    if let Ok(s) = status() {
        h.audit_status = Some(s);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_split_and_serials_read() {
        let mut data = Vec::new();
        for (kind, text) in [
            (1326u16, "audit(1.2:77): pid=1"),
            (1300, "audit(1.2:78): x"),
        ] {
            let len = NLMSG_HDRLEN + text.len();
            data.extend_from_slice(&(len as u32).to_ne_bytes());
            data.extend_from_slice(&kind.to_ne_bytes());
            data.extend_from_slice(&[0; 10]);
            data.extend_from_slice(text.as_bytes());
            while data.len() % 4 != 0 {
                data.push(0);
            }
        }
        let mut seen = Vec::new();
        messages(&data, |k, p| seen.push((k, serial_of(p))));
        assert_eq!(seen, vec![(1326, Some(77)), (1300, Some(78))]);
        messages(&data[..7], |_, _| panic!("a cut header is no message"));
    }
}

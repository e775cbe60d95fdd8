//! The /dev/kmsg source: seccomp records the kernel printed.
//!
//! Without an audit daemon, kauditd prints each record to the kernel log, but only
//! through `printk_ratelimit` (10 per 5 s by default): kmsg alone cannot count hits.
//! What it misses is reported, not hidden: `kauditd_printk_skb: N callbacks
//! suppressed` is counted as N suppressed records, gaps in the audit serials as lost,
//! an overrun reader (EPIPE) as an overflow, and the total as a lower bound once
//! any of them happened.

use super::audit_record::{self as parse, Record};
use super::health::{Bound, Health, Shared};
use super::lsm::{Assembler, Live};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Instant;

pub struct KmsgSource {
    fd: OwnedFd,
    /// Where LSM refusal records go, when someone wants them.
    lsm: Option<std::sync::mpsc::SyncSender<Live>>,
}

impl KmsgSource {
    /// Opens /dev/kmsg positioned at its end: only what the kernel logs from now on.
    pub fn open() -> std::io::Result<KmsgSource> {
        // SAFETY: plain syscall with a static path; the fd is owned at once.
        let fd = unsafe {
            libc::open(
                c"/dev/kmsg".as_ptr(),
                libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            let e = std::io::Error::last_os_error();
            return Err(std::io::Error::new(e.kind(), format!("/dev/kmsg: {e}")));
        }
        // SAFETY: fd is new and ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: plain syscall on our fd.
        if unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_END) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(KmsgSource { fd, lsm: None })
    }

    /// Also sends the LSM refusal records the kernel printed to `tx`, never
    /// waiting for it.
    pub fn with_lsm(mut self, tx: std::sync::mpsc::SyncSender<Live>) -> KmsgSource {
        self.lsm = Some(tx);
        self
    }

    /// Reads until `stop` becomes readable or hangs up.
    pub fn run(self, stop: BorrowedFd, health: &Shared, mut each: impl FnMut(Record)) {
        let fd = self.fd.as_raw_fd();
        let mut buf = vec![0u8; 8192];
        let mut last_serial: Option<u64> = None;
        let mut gaps = 0;
        let mut lsm = self
            .lsm
            .as_ref()
            .map(|tx| (tx, Assembler::new(super::event::Source::Kmsg)));
        while let Ok(ready) = super::wait::wait(fd, stop, 200) {
            forward(&mut lsm, |a| a.expired(Instant::now()));
            if ready.stop && !ready.data {
                break;
            }
            if !ready.data && !ready.hangup {
                continue;
            }
            let (mut received, mut lost, mut overflows, mut suppressed, mut truncated) =
                (0, 0, 0, 0, 0);
            loop {
                // SAFETY: buf is valid for its length; one read is one record.
                let len = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                if len < 0 {
                    match std::io::Error::last_os_error().raw_os_error() {
                        // The ring buffer overwrote records before we read them.
                        Some(libc::EPIPE) => {
                            overflows += 1;
                            continue;
                        }
                        Some(libc::EINTR) => continue,
                        _ => break,
                    }
                }
                if len == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..len as usize]);
                // Continuation lines (` KEY=value`) follow the message: drop them.
                let line = text.split('\n').next().unwrap_or("");
                if let Some(n) = parse::suppressed(line) {
                    suppressed += n;
                    continue;
                }
                if let Some(s) = audit_serial(line) {
                    if let Some(last) = last_serial {
                        if s > last + 1 {
                            lost += s - last - 1;
                        }
                    }
                    if last_serial.is_none_or(|l| s > l) {
                        last_serial = Some(s);
                    }
                }
                match parse::parse_line(line) {
                    Ok(r) => {
                        received += 1;
                        each(r);
                    }
                    Err(parse::Skip::Truncated) => truncated += 1,
                    Err(parse::Skip::NotSeccomp) => {
                        forward(&mut lsm, |a| a.line(line, Instant::now()))
                    }
                }
            }
            gaps += lost;
            health.update(|h| {
                h.received += received;
                h.overflows += overflows;
                h.suppressed += suppressed;
                h.truncated += truncated;
                tally(h, gaps);
            });
        }
        forward(&mut lsm, Assembler::flush);
    }
}

/// Hands what the assembler gives on to the LSM records' receiver, if any.
fn forward(
    lsm: &mut Option<(&std::sync::mpsc::SyncSender<Live>, Assembler)>,
    take: impl FnOnce(&mut Assembler) -> Vec<Live>,
) {
    if let Some((tx, assembler)) = lsm.as_mut() {
        for live in take(assembler) {
            let _ = tx.try_send(live);
        }
    }
}

/// kmsg's loss: a record the rate limit dropped is both a gap in the serials and
/// one of the "callbacks suppressed", so the larger counts each once. The count is
/// only ever a lower bound: the kernel reports a window's suppressions with the
/// next message it prints, which may come after the run — and when the window was
/// used up before the run began, kmsg sees nothing of a flood at all (measured:
/// 1M calls, kmsg received 0 and no suppression line). So kmsg never says 0.
fn tally(h: &mut Health, gaps: u64) {
    h.lost = gaps.max(h.suppressed);
    h.lost_bound = Bound::AtLeast;
}

/// The serial of any audit line (`audit: type=N audit(S.MS:SERIAL)`): serials of
/// every type count, so that only records never printed are gaps.
fn audit_serial(line: &str) -> Option<u64> {
    let i = line.find("audit(")?;
    let rest = &line[i + 6..];
    let close = rest.find(')')?;
    let (_, serial) = rest[..close].split_once(':')?;
    serial.parse().ok()
}

//! The end of a container's log records, found in milliseconds: a record eperm
//! makes itself after the container is gone (the marker) arrives after every
//! record of the container, since the audit queue is delivered in order.

use crate::run::serve::settle;
use crate::sources::event::Source;
use crate::sources::logs::{Incoming, LogSources};
use std::sync::mpsc;
use std::time::Duration;

/// After the client ended: waits until the sources have delivered every record
/// the container made. The container's processes are gone before its client
/// ends, so every one of their records is already in the kernel's audit queue,
/// which is delivered in order: a record eperm makes now (the marker) arrives
/// after all of them. Waiting for the marker takes milliseconds where waiting for
/// the sources to go quiet (`settle`) takes 400 ms at least; settle is the
/// fallback when the audit source is not active or lost records (kmsg, rate
/// limited, may then hold some the audit source missed), or no marker comes.
pub fn drain(sources: &LogSources, marker: &mpsc::Receiver<()>) {
    let audit_complete = sources
        .health()
        .iter()
        .any(|h| h.source == Source::Audit && h.is_active() && h.missed_nothing());
    if audit_complete && emit_marker() && marker.recv_timeout(MARKER_WAIT).is_ok() {
        return;
    }
    settle(sources);
}

/// How long the marker may take before eperm falls back to `settle`.
const MARKER_WAIT: Duration = Duration::from_secs(2);

/// The syscall the marker is made of; any harmless call would do.
const MARKER_NR: libc::c_long = libc::SYS_getppid;

/// Is `r` the marker: eperm's own process, the marker call, logged by seccomp?
fn is_marker(r: &crate::sources::audit_record::Record) -> bool {
    r.pid == std::process::id()
        && i64::from(r.nr) == MARKER_NR
        && r.code & SECCOMP_RET_ACTION_FULL == libc::SECCOMP_RET_LOG
}

const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;

/// Passes every record on to the consumer but the marker, which is reported
/// on `marker` instead (it is eperm's own, not the container's). Reads on after
/// the consumer is gone (it ends early when the container never existed), so
/// the marker is still seen.
pub fn sift_marker(
    raw: mpsc::Receiver<Incoming>,
    tx: mpsc::SyncSender<Incoming>,
    marker: mpsc::Sender<()>,
) {
    for incoming in raw {
        if is_marker(&incoming.record) {
            if incoming.source == Source::Audit {
                let _ = marker.send(());
            }
        } else {
            let _ = tx.send(incoming);
        }
    }
}

/// Makes the marker record: a thread of ours puts itself (only itself: no
/// TSYNC) under a filter that logs [`MARKER_NR`], makes that call and ends.
/// `false` when the kernel would not log it or the filter cannot be installed.
fn emit_marker() -> bool {
    let logged = std::fs::read_to_string("/proc/sys/kernel/seccomp/actions_logged")
        .is_ok_and(|a| a.split_whitespace().any(|w| w == "log"));
    if !logged {
        return false;
    }
    let thread = std::thread::spawn(|| {
        let nr = |code: u16, k: u32, jt: u8, jf: u8| libc::sock_filter { code, jt, jf, k };
        let mut program = [
            // A = seccomp_data.nr; the thread makes native calls only.
            nr((libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16, 0, 0, 0),
            nr(
                (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
                MARKER_NR as u32,
                0,
                1,
            ),
            nr(
                (libc::BPF_RET | libc::BPF_K) as u16,
                libc::SECCOMP_RET_LOG,
                0,
                0,
            ),
            nr(
                (libc::BPF_RET | libc::BPF_K) as u16,
                libc::SECCOMP_RET_ALLOW,
                0,
                0,
            ),
        ];
        let prog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: no_new_privs and the filter apply to this thread only, which
        // makes one more call and ends; `prog` outlives the seccomp call.
        unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            if libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog) != 0 {
                return false;
            }
            libc::syscall(MARKER_NR);
        }
        true
    });
    thread.join().unwrap_or(false)
}

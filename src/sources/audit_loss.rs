//! How many audit records the audit source missed, from every place one can go
//! missing, and how far that number can be trusted.
//!
//! A record the workload's call made can be lost:
//! - at eperm's socket, when its receive buffer is full: the kernel counts each
//!   message it drops there (`SO_MEMINFO`), and those before the last message
//!   received also show as gaps in the serials. This is where a flood's records go
//!   when eperm falls behind (measured: see [`super::audit_reader`]);
//! - in the kernel, before it is sent to anyone (backlog limit after the sender's
//!   wait, rate limit, memory): counted in `audit_status.lost`, no serial consumed;
//! - still queued in the kernel (`audit_status.backlog`) when eperm stops reading.
//!
//! Every count is of audit messages of any type from the whole machine (a dropped
//! message cannot be read to tell whose it was), like the source's `received`.
//! When a path cannot be counted, the total is a lower bound and says so.

use super::health::Bound;

/// What the audit source observed of missing messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Missing {
    /// Serials skipped between the messages received.
    pub gaps: u64,
    /// Messages the kernel dropped at eperm's socket since it was opened; `None`
    /// when this kernel does not say.
    pub socket_drops: Option<u64>,
    /// The socket reported an overflow (ENOBUFS).
    pub overflowed: bool,
    /// How much `audit_status.lost` grew; `None` when the status is unreadable.
    pub kernel_lost: Option<u64>,
    /// Whether the kernel counts in `lost` only records it never sent: true with no
    /// audit daemon and audit not enabled at boot. Otherwise it also counts records
    /// its daemon queues dropped after the multicast eperm reads.
    pub kernel_lost_unsent: bool,
    /// Records in the kernel's queue when eperm stopped reading.
    pub unread: u64,
}

/// The number missing, its bound, and where they went (for the summary).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub lost: u64,
    pub bound: Bound,
    pub notes: Vec<String>,
}

impl Missing {
    pub fn tally(&self) -> Tally {
        let mut bound = Bound::Exact;
        let mut notes = Vec::new();
        // A drop before the last message received is also a gap: the larger of
        // the two counts each lost message once.
        let at_socket = match self.socket_drops {
            Some(drops) => {
                if drops > 0 {
                    notes.push(format!(
                        "{drops} dropped at eperm's socket: its receive buffer was full"
                    ));
                }
                if self.gaps > drops {
                    let more = if drops > 0 { " more" } else { "" };
                    notes.push(format!(
                        "{}{more} missing between the serials received",
                        self.gaps - drops
                    ));
                }
                drops.max(self.gaps)
            }
            None => {
                if self.gaps > 0 {
                    notes.push(format!(
                        "{} missing between the serials received",
                        self.gaps
                    ));
                }
                if self.overflowed {
                    bound = Bound::AtLeast;
                    notes.push(
                        "the receive buffer overflowed and this kernel does not say how many it dropped"
                            .into(),
                    );
                }
                self.gaps
            }
        };
        let in_kernel = match self.kernel_lost {
            Some(0) => 0,
            Some(k) if self.kernel_lost_unsent => {
                notes.push(format!(
                    "{k} dropped by the kernel before sending (audit backlog)"
                ));
                k
            }
            Some(k) => {
                bound = Bound::AtLeast;
                notes.push(format!(
                    "the kernel counted {} lost, some after sending them (an audit daemon's queue): not counted here",
                    crate::profile::lint::plural(k as usize, "record", "records")
                ));
                0
            }
            None => {
                bound = Bound::AtLeast;
                notes.push(
                    "records the kernel dropped itself are unknown (reading the audit status needs CAP_AUDIT_CONTROL)".into(),
                );
                0
            }
        };
        if self.unread > 0 {
            notes.push(format!(
                "{} still queued in the kernel when eperm stopped reading",
                self.unread
            ));
        }
        Tally {
            lost: at_socket + in_kernel + self.unread,
            bound,
            notes,
        }
    }
}

/// Does the kernel count only unsent records as lost? Not when an audit daemon is
/// registered (`daemon_pid`) or audit was enabled at boot (`audit=1`): then its
/// daemon queues drop records after the multicast too.
pub fn kernel_lost_is_unsent(daemon_pid: u32, cmdline: &str) -> bool {
    daemon_pid == 0 && !cmdline.split_whitespace().any(|w| w == "audit=1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> Missing {
        Missing {
            socket_drops: Some(0),
            kernel_lost: Some(0),
            kernel_lost_unsent: true,
            ..Missing::default()
        }
    }

    #[test]
    fn nothing_missing_is_an_exact_zero() {
        let t = exact().tally();
        assert_eq!((t.lost, t.bound), (0, Bound::Exact));
        assert!(t.notes.is_empty());
    }

    /// The flood's shape: the tail dropped at the socket shows in no gap.
    #[test]
    fn socket_drops_count_the_tail_that_no_gap_shows() {
        let t = Missing {
            gaps: 10,
            socket_drops: Some(333_035),
            ..exact()
        }
        .tally();
        assert_eq!((t.lost, t.bound), (333_035, Bound::Exact));
        assert!(
            t.notes[0].contains("333035 dropped at eperm's socket"),
            "{t:?}"
        );
    }

    #[test]
    fn gaps_beyond_the_socket_drops_are_counted_too() {
        let t = Missing {
            gaps: 12,
            socket_drops: Some(5),
            ..exact()
        }
        .tally();
        assert_eq!(t.lost, 12);
        assert!(t.notes[1].contains("7 more missing"), "{t:?}");
        let t = Missing { gaps: 2, ..exact() }.tally();
        assert_eq!(t.lost, 2);
        assert_eq!(t.notes, ["2 missing between the serials received"]);
    }

    #[test]
    fn an_overflow_without_a_drop_count_is_a_lower_bound() {
        let t = Missing {
            gaps: 3,
            socket_drops: None,
            overflowed: true,
            ..exact()
        }
        .tally();
        assert_eq!((t.lost, t.bound), (3, Bound::AtLeast));
        let t = Missing {
            socket_drops: None,
            ..exact()
        }
        .tally();
        assert_eq!((t.lost, t.bound), (0, Bound::Exact), "no overflow, no gap");
    }

    #[test]
    fn the_kernels_own_drops_add_up_only_when_they_were_never_sent() {
        let unsent = Missing {
            kernel_lost: Some(40),
            unread: 2,
            ..exact()
        };
        let t = unsent.tally();
        assert_eq!((t.lost, t.bound), (42, Bound::Exact));
        let t = Missing {
            kernel_lost_unsent: false,
            ..unsent
        }
        .tally();
        assert_eq!((t.lost, t.bound), (2, Bound::AtLeast));
        let t = Missing {
            kernel_lost: None,
            ..exact()
        }
        .tally();
        assert_eq!((t.lost, t.bound), (0, Bound::AtLeast));
        assert!(t.notes[0].contains("CAP_AUDIT_CONTROL"), "{t:?}");
    }

    #[test]
    fn an_audit_daemon_or_audit_at_boot_makes_the_kernels_count_mixed() {
        assert!(kernel_lost_is_unsent(0, "root=/dev/sda1 quiet"));
        assert!(!kernel_lost_is_unsent(812, "quiet"));
        assert!(!kernel_lost_is_unsent(0, "quiet audit=1"));
        assert!(kernel_lost_is_unsent(0, "audit=0"));
    }
}

//! The loop's own queue: what the threads (terminal input, the profile's
//! watcher, the runs' reports) send to the loop. Bounded, as every queue of
//! eperm: a loop that falls behind a workload's flood of events costs events,
//! counted and said on the message line, never memory without bound.

use super::Incoming;
use crate::session::live::LiveReport;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// What waits for the loop at most.
pub(super) const TUI_QUEUE: usize = 65_536;

/// The sending side; cloned for every thread that feeds the loop.
#[derive(Clone)]
pub(super) struct Sender {
    tx: mpsc::SyncSender<Box<Incoming>>,
    dropped: Arc<AtomicU64>,
}

/// The loop's side. Items travel boxed: a bounded channel allocates all its
/// slots at once, and 65,536 whole events would be 32 MB, written at start
/// and copied on write after a workload's fork.
pub(super) struct Receiver(mpsc::Receiver<Box<Incoming>>);

impl Receiver {
    #[cfg(test)]
    pub(super) fn recv(&self) -> Result<Incoming, mpsc::RecvError> {
        self.0.recv().map(|b| *b)
    }

    pub(super) fn recv_timeout(&self, d: Duration) -> Result<Incoming, mpsc::RecvTimeoutError> {
        self.0.recv_timeout(d).map(|b| *b)
    }

    pub(super) fn try_recv(&self) -> Result<Incoming, mpsc::TryRecvError> {
        self.0.try_recv().map(|b| *b)
    }

    #[cfg(test)]
    pub(super) fn try_iter(&self) -> impl Iterator<Item = Incoming> + '_ {
        self.0.try_iter().map(|b| *b)
    }
}

/// [`Sender::send`]'s error: the loop has ended.
#[derive(Debug)]
pub(super) struct LoopEnded;

/// A new queue, of room for `room`.
pub(super) fn queue(room: usize) -> (Sender, Receiver) {
    let (tx, rx) = mpsc::sync_channel(room);
    let dropped = Arc::default();
    (Sender { tx, dropped }, Receiver(rx))
}

impl Sender {
    /// Queues `item`. A run's event is dropped and counted when the queue is
    /// full: its supervisor's forwarder must not wait (the supervisor's own
    /// queue would fill and drop instead, uncounted here). Everything else (a
    /// key, a held call, a run's end, a file change) must arrive and waits for
    /// room: the loop drains the queue all the time, also while a run stops.
    pub(super) fn send(&self, item: Incoming) -> Result<(), LoopEnded> {
        if !matches!(item, Incoming::Run(LiveReport::Event(..))) {
            return self.tx.send(Box::new(item)).map_err(|_| LoopEnded);
        }
        match self.tx.try_send(Box::new(item)) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(mpsc::TrySendError::Disconnected(_)) => Err(LoopEnded),
        }
    }

    /// The events dropped so far, as the queue was full.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::event;
    use crate::app::{Key, Mods, Msg};

    /// Issue 33: the loop's queue is bounded; events that do not fit are
    /// counted, a key that does not fit waits for room and arrives.
    #[test]
    fn a_full_loop_queue_drops_events_counted_and_keeps_keys() {
        let (tx, rx) = queue(4);
        for _ in 0..4 + 3 {
            let e = event("mkdir", 1, 0);
            assert!(tx.send(Incoming::Run(LiveReport::Event(1, e))).is_ok());
        }
        assert_eq!(tx.dropped(), 3);
        let key = {
            let tx = tx.clone();
            std::thread::spawn(move || tx.send(Incoming::Msg(Msg::Key(Key::Char('q'), Mods::NONE))))
        };
        // The key waits until the loop takes something; then it comes last.
        let taken: Vec<Incoming> = (0..5).map(|_| rx.recv().unwrap()).collect();
        assert!(key.join().unwrap().is_ok());
        assert!(taken[..4]
            .iter()
            .all(|i| matches!(i, Incoming::Run(LiveReport::Event(..)))));
        assert!(matches!(
            taken[4],
            Incoming::Msg(Msg::Key(Key::Char('q'), _))
        ));
        assert_eq!(tx.dropped(), 3);
        drop(rx);
        let e = event("mkdir", 1, 0);
        assert!(tx.send(Incoming::Run(LiveReport::Event(1, e))).is_err());
        assert!(tx
            .send(Incoming::Msg(Msg::Key(Key::Char('q'), Mods::NONE)))
            .is_err());
    }
}

//! `watch --metrics ADDR`: what `watch` sees, as Prometheus metrics.
//!
//! A counter of the calls the profile would deny, per namespace, pod,
//! container, syscall, arch and the profile's action ([`series`]), and each
//! kernel log source's received and lost counts, served over HTTP in the text
//! exposition format ([`exposition`], [`serve`]).
//!
//! Event intake never waits on a scrape: the pump counts an event under a lock
//! held for one map update, and a scrape holds the same lock only to copy the
//! counts; rendering and writing to the socket happen outside it, on the
//! server's own threads.
//!
//! The label values come from the node (pod and container names its users
//! chose): each is shown as eperm shows untrusted text (escaped for a terminal,
//! at most 256 characters), then escaped again as the format requires, and the
//! number of distinct series is capped (`--metrics-max-series`); calls past the
//! cap are counted in `eperm_series_overflow_total`.

pub mod exposition;
pub mod series;
pub mod serve;

pub use series::{Denials, Series};
pub use serve::Endpoint;

use crate::sources::event::Event;
use std::sync::{Arc, Mutex};

/// The default cap on distinct denial series (`--metrics-max-series`).
pub const MAX_SERIES: usize = 10_000;

/// The denial counts, shared by the pump that counts and the server that shows them.
#[derive(Clone)]
pub struct Metrics(Arc<Mutex<Denials>>);

impl Metrics {
    /// Counts with at most `max_series` distinct series.
    pub fn new(max_series: usize) -> Metrics {
        Metrics(Arc::new(Mutex::new(Denials::new(max_series))))
    }

    /// Counts one event `watch` emits.
    pub fn count(&self, event: &Event) {
        let series = Series::of(event);
        self.lock().count(series);
    }

    /// The counts as they are now (a copy: the lock is not held while they are
    /// rendered).
    pub fn snapshot(&self) -> series::Snapshot {
        self.lock().snapshot()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Denials> {
        // A panic while counting leaves whole counts behind: keep serving them.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

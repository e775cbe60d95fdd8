//! Where a headless run's events go: a thread that writes them to `--events`
//! (a file, or `-` for stdout) as JSON lines and sums them up into a [`Summary`].

use super::Summary;
use crate::error::{Error, FileOp};
use crate::run::EventSender;
use crate::sources::event::Event;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// The collecting thread; it ends when every sender of its channel is dropped.
pub struct Collector {
    thread: JoinHandle<std::io::Result<Summary>>,
    /// Where the events go, for messages.
    sink: Option<String>,
}

/// `--events FILE`, created afresh for writing (an old one is replaced, a
/// link, FIFO or device there refused: see [`crate::files`]).
pub fn events_file(path: &str) -> Result<std::fs::File, Error> {
    Ok(crate::files::Output::create(Path::new(path), FileOp::CreateEvents)?.publish()?)
}

/// Events that wait for the `--events` writer at most (a few MB): a reader
/// that falls behind (`--events - | slow`) costs events written, counted and
/// said, never memory without bound nor a slower workload.
pub const WRITE_QUEUE: usize = 16_384;

/// Starts collecting; events sent on the returned sender are summed up, and
/// written to `events` by a writer of their own.
pub fn collect(events: Option<&str>) -> Result<(EventSender, Collector), Error> {
    let sink: Option<Box<dyn Write + Send>> = match events {
        None => None,
        Some("-") => Some(Box::new(std::io::stdout())),
        Some(path) => Some(Box::new(events_file(path)?)),
    };
    let (tx, rx) = crate::run::event_channel();
    let dropped = tx.drop_counter();
    let names = events.map(|e| {
        if e == "-" {
            "stdout".into()
        } else {
            e.to_string()
        }
    });
    let sink_name = names.clone().unwrap_or_default();
    let thread = std::thread::spawn(move || -> std::io::Result<Summary> {
        let mut summary = Summary::default();
        let mut writer = sink.map(Writer::start);
        let mut unwritten = 0;
        // Polled, not blocked on: a blocked receiver costs the supervisor a wake-up
        // (a context switch) for every event; polling batches them.
        loop {
            let event = match rx.try_recv() {
                Ok(event) => event,
                Err(mpsc::TryRecvError::Empty) => {
                    // Unparked at once when the run ends (see `finish`): no 5 ms
                    // tail on every run.
                    std::thread::park_timeout(std::time::Duration::from_millis(5));
                    continue;
                }
                Err(mpsc::TryRecvError::Disconnected) => break,
            };
            summary.add(&event);
            if let Some(w) = writer.as_mut() {
                if !w.offer(event) {
                    unwritten += 1;
                }
            }
        }
        if unwritten > 0 {
            summary.unwritten = Some((unwritten, sink_name));
        }
        // Every sender is gone: what the queue dropped is all counted.
        summary.dropped = dropped.load(std::sync::atomic::Ordering::Relaxed);
        writer.map_or(Ok(()), Writer::finish)?;
        Ok(summary)
    });
    Ok((
        tx,
        Collector {
            thread,
            sink: names,
        },
    ))
}

/// The `--events` writer: a thread of its own (which makes the JSON too: the
/// collector must keep up with the supervisors), fed through a bounded queue.
struct Writer {
    lines: Option<mpsc::SyncSender<Event>>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Writer {
    fn start(sink: Box<dyn Write + Send>) -> Writer {
        let (lines, queued) = mpsc::sync_channel::<Event>(WRITE_QUEUE);
        let thread = std::thread::spawn(move || {
            let mut out = std::io::BufWriter::new(sink);
            for event in queued {
                serde_json::to_writer(&mut out, &event)?;
                out.write_all(b"\n")?;
            }
            out.flush()
        });
        Writer {
            lines: Some(lines),
            thread,
        }
    }

    /// Queues `event`; `false` when it is not written: the queue is full, or
    /// the writer failed (its error comes with [`Writer::finish`]).
    fn offer(&mut self, event: Event) -> bool {
        let Some(lines) = &self.lines else {
            return false;
        };
        match lines.try_send(event) {
            Ok(()) => true,
            Err(mpsc::TrySendError::Full(_)) => false,
            Err(mpsc::TrySendError::Disconnected(_)) => {
                self.lines = None;
                false
            }
        }
    }

    /// Waits for every queued line to be written.
    fn finish(mut self) -> std::io::Result<()> {
        self.lines = None;
        self.thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

impl Collector {
    /// After the run (its senders dropped): the summary of every event.
    pub fn finish(self) -> Result<Summary, Error> {
        self.thread.thread().unpark();
        let written = self
            .thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let sink = self.sink.unwrap_or_default();
        written.map_err(Error::file(FileOp::WriteEvents, Path::new(&sink)))
    }
}

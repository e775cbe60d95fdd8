//! Where a headless run's events go: a thread that writes them to `--events`
//! (a file, or `-` for stdout) as JSON lines and sums them up into a [`Summary`].

use super::Summary;
use crate::error::{Error, FileOp};
use crate::run::EventSender;
use crate::sources::event::Event;
use crate::sources::refusal::{Refusal, Watch};
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

/// How long the layer watcher's records wait for the profile's event of the
/// same call before they are joined (see `collect`).
const JOIN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Starts collecting; events sent on the returned sender are summed up, and
/// written to `events` by a writer of their own; so are the layer watcher's
/// refusals from `layers`, each joined with the profile's event of the same call.
pub fn collect(
    events: Option<&str>,
    layers: Option<mpsc::Receiver<Watch>>,
) -> Result<(EventSender, Collector), Error> {
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
        let mut summary = if layers.is_some() {
            Summary::joining()
        } else {
            Summary::default()
        };
        let mut writer = sink.map(Writer::start);
        let mut unwritten = 0;
        let mut layers = Layers::new(layers);
        // Polled, not blocked on: a blocked receiver costs the supervisor a wake-up
        // (a context switch) for every event; polling batches them.
        loop {
            let mut ended = false;
            loop {
                match rx.try_recv() {
                    Ok(event) => {
                        summary.add(&event);
                        if let Some(w) = writer.as_mut() {
                            if !w.offer(Line::Event(event)) {
                                unwritten += 1;
                            }
                        }
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        ended = true;
                        break;
                    }
                }
            }
            // Every event first: a record is joined with what came before it.
            let layers_ended = layers.receive();
            for r in layers.ready(ended && layers_ended, &mut summary) {
                if let Some(w) = writer.as_mut() {
                    if !w.offer(Line::Refusal(Box::new(r))) {
                        unwritten += 1;
                    }
                }
            }
            if ended && layers_ended {
                break;
            }
            // Unparked at once when the run ends (see `finish`): no 5 ms
            // tail on every run.
            std::thread::park_timeout(std::time::Duration::from_millis(5));
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

/// The layer watcher's reports, held for [`JOIN_GRACE`]: a supervisor sends the
/// profile's event after it answered the call (and this thread names its stack), so the
/// watcher may see the call end first. Once everything is in they all go, so
/// the summary of a run shorter than the grace is always joined right.
struct Layers {
    from: Option<mpsc::Receiver<Watch>>,
    held: std::collections::VecDeque<(std::time::Instant, Watch)>,
}

impl Layers {
    fn new(from: Option<mpsc::Receiver<Watch>>) -> Layers {
        Layers {
            from,
            held: Default::default(),
        }
    }

    /// Takes what arrived; true once the watcher is gone (or there is none).
    fn receive(&mut self) -> bool {
        let Some(from) = self.from.as_ref() else {
            return true;
        };
        loop {
            match from.try_recv() {
                Ok(w) => self.held.push_back((std::time::Instant::now(), w)),
                Err(mpsc::TryRecvError::Empty) => return false,
                Err(mpsc::TryRecvError::Disconnected) => {
                    self.from = None;
                    return true;
                }
            }
        }
    }

    /// The refusals to write now, joined into `summary` (all of them once
    /// `all_in`).
    fn ready(&mut self, all_in: bool, summary: &mut Summary) -> Vec<Refusal> {
        let mut out = Vec::new();
        while let Some((at, _)) = self.held.front() {
            if !all_in && at.elapsed() < JOIN_GRACE {
                break;
            }
            let (_, w) = self.held.pop_front().expect("a front");
            out.extend(summary.watched(w));
        }
        out
    }
}

/// One line of `--events`: the profile's event, or another layer's refusal.
// Nearly every line is an event: boxing it would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
enum Line {
    Event(Event),
    Refusal(Box<Refusal>),
}

/// The `--events` writer: a thread of its own (which makes the JSON too: the
/// collector must keep up with the supervisors), fed through a bounded queue.
struct Writer {
    lines: Option<mpsc::SyncSender<Line>>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Writer {
    fn start(sink: Box<dyn Write + Send>) -> Writer {
        let (lines, queued) = mpsc::sync_channel::<Line>(WRITE_QUEUE);
        let thread = std::thread::spawn(move || {
            let mut out = std::io::BufWriter::new(sink);
            for line in queued {
                match line {
                    Line::Event(event) => serde_json::to_writer(&mut out, &event)?,
                    Line::Refusal(r) => serde_json::to_writer(&mut out, &r)?,
                }
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
    fn offer(&mut self, event: Line) -> bool {
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

//! Where a headless run's events go: a thread that writes them to `--events`
//! (a file, or `-` for stdout) as JSON lines and sums them up into a [`Summary`].

use super::Summary;
use crate::error::{Error, FileOp};
use crate::sources::event::Event;
use crate::sources::refusal::Watch;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

/// How long the layer watcher's records wait for the profile's event of the
/// same call before they are joined (see `collect`).
const JOIN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

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

/// Starts collecting; events sent on the returned sender are written to `events`,
/// and so are the layer watcher's refusals from `layers`, each joined with the
/// profile's events for the same call.
pub fn collect(
    events: Option<&str>,
    layers: Option<mpsc::Receiver<Watch>>,
) -> Result<(mpsc::Sender<Event>, Collector), Error> {
    let mut sink: Option<Box<dyn Write + Send>> = match events {
        None => None,
        Some("-") => Some(Box::new(std::io::stdout())),
        Some(path) => Some(Box::new(events_file(path)?)),
    };
    let (tx, rx) = mpsc::channel::<Event>();
    let thread = std::thread::spawn(move || -> std::io::Result<Summary> {
        let mut summary = if layers.is_some() {
            Summary::joining()
        } else {
            Summary::default()
        };
        let mut out = sink.as_mut().map(std::io::BufWriter::new);
        // Polled, not blocked on: a blocked receiver costs the supervisor a wake-up
        // (a context switch) for every event; polling batches them.
        let mut layers = layers;
        let mut held = std::collections::VecDeque::new();
        loop {
            // Every event first: the profile's event of a call is sent before
            // the call runs, so it is here before the watcher's record of it.
            let mut ended = false;
            loop {
                match rx.try_recv() {
                    Ok(event) => {
                        write_line(out.as_mut(), &event)?;
                        summary.add(&event);
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        ended = true;
                        break;
                    }
                }
            }
            let mut layers_ended = true;
            if let Some(watch) = layers.as_ref() {
                layers_ended = false;
                loop {
                    match watch.try_recv() {
                        Ok(w) => held.push_back((std::time::Instant::now(), w)),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            layers_ended = true;
                            break;
                        }
                    }
                }
                if layers_ended {
                    layers = None;
                }
            }
            // A supervisor sends the profile's event after it answered the call
            // (and named its stack), so the watcher may see the call end first:
            // its records are joined only after a grace period, or once
            // everything is in (the summary of a run shorter than the grace is
            // then always joined right).
            let all_in = ended && layers_ended;
            while let Some((at, _)) = held.front() {
                if !all_in && at.elapsed() < JOIN_GRACE {
                    break;
                }
                let (_, w) = held.pop_front().expect("a front");
                if let Some(r) = summary.watched(w) {
                    write_line(out.as_mut(), &r)?;
                }
            }
            if ended && layers_ended {
                break;
            }
            // Unparked at once when the run ends (see `finish`): no 5 ms
            // tail on every run.
            std::thread::park_timeout(std::time::Duration::from_millis(5));
        }
        if let Some(mut out) = out {
            out.flush()?;
        }
        Ok(summary)
    });
    let sink = events.map(|e| {
        if e == "-" {
            "stdout".into()
        } else {
            e.to_string()
        }
    });
    Ok((tx, Collector { thread, sink }))
}

/// One JSON line to `out`, when there is one.
fn write_line<W: Write>(
    out: Option<&mut std::io::BufWriter<W>>,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    if let Some(out) = out {
        serde_json::to_writer(&mut *out, value)?;
        out.write_all(b"\n")?;
    }
    Ok(())
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

//! `eperm replay FILE...`: saved kernel logs in the same UI as a live run, each
//! record explained by the profile's deciding rule.

use crate::cli::ReplayArgs;
use crate::error::{Error, FileOp, EXIT_OK};
use crate::layer::lsm::Record as LsmRecord;
use crate::run::Judge;
use crate::session::watch::{line, profile_and_judge, replay, view_config, Replayed};
use crate::sources::event::Event;
use std::io::{IsTerminal, Write};

pub fn run(args: &ReplayArgs) -> Result<u8, Error> {
    let (profile, judge) = profile_and_judge(args.profile.as_deref())?;
    if args.no_tui || !std::io::stdout().is_terminal() {
        // Each block's events are printed as it is read: memory does not grow
        // with the log.
        let mut failed = None;
        let mut lsm = 0;
        super::to_stdout(|out| {
            for path in &args.files {
                let read = each_event_block(path, judge.as_ref(), |events, records| {
                    lsm += records.len();
                    print(out, events, args.json)?;
                    print_lsm(out, records, args.json)
                });
                match read {
                    Ok(read) => say(path, &read),
                    Err(ReadError::Log(e)) => {
                        failed = Some(e);
                        return Ok(());
                    }
                    Err(ReadError::Out(e)) => return Err(e),
                }
            }
            Ok(())
        })?;
        say_lsm(lsm);
        return failed.map_or(Ok(EXIT_OK), Err);
    }
    // The TUI takes the events as they are read; a full queue holds the reader
    // back (a file can wait), so memory does not grow with the log.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Event>(REPLAY_QUEUE);
    let files = args.files.clone();
    let reader = std::thread::spawn(move || {
        let mut told = Vec::new();
        let mut lsm = 0;
        for path in &files {
            let read = each_event_block(path, judge.as_ref(), |events, records| {
                lsm += records.len();
                for event in events.drain(..) {
                    tx.send(event).map_err(|_| std::io::ErrorKind::BrokenPipe)?;
                }
                Ok(())
            });
            match read {
                Ok(read) => told.push(Ok((path.clone(), read))),
                // The viewer has quit: nothing more to read.
                Err(ReadError::Out(_)) => break,
                Err(ReadError::Log(e)) => told.push(Err(e)),
            }
        }
        (told, lsm)
    });
    crate::tui::view(
        profile,
        view_config("eperm replay", args.profile.clone()),
        rx,
        None,
    )
    .map_err(|source| Error::Os {
        op: "run the terminal interface",
        source,
    })?;
    // Said once the screen is back.
    let (told, lsm) = reader.join().unwrap_or_default();
    for told in told {
        let (path, read) = told?;
        say(&path, &read);
    }
    say_lsm(lsm);
    Ok(EXIT_OK)
}

/// Events that wait for the TUI at most while a log is replayed in it.
const REPLAY_QUEUE: usize = 4096;

/// Why a log was not read through: the log itself, or where its events went.
enum ReadError {
    Log(Error),
    Out(std::io::Error),
}

/// Reads the log at `path` a block at a time (regular files only, never
/// blocking, never whole), handing each block's events to `each`, which may
/// take them, with the block's LSM refusal records (not the profile's).
fn each_event_block(
    path: &std::path::Path,
    judge: Option<&Judge>,
    mut each: impl FnMut(&mut Vec<Event>, &[LsmRecord]) -> std::io::Result<()>,
) -> Result<Replayed, ReadError> {
    let (log, _) =
        crate::files::open(path).map_err(|e| ReadError::Log(Error::file(FileOp::Read, path)(e)))?;
    let mut read = Replayed::default();
    let mut events = Vec::new();
    let mut out = Ok(());
    crate::sources::file::each_block(log, |block| {
        if out.is_err() {
            return;
        }
        read.add(replay(block, judge, &mut events));
        out = each(&mut events, &crate::sources::lsm::records(block));
        events.clear();
    })
    .map_err(|e| ReadError::Log(Error::file(FileOp::Read, path)(e)))?;
    out.map_err(ReadError::Out)?;
    Ok(read)
}

/// How many records a log held, and how many were not whole.
fn say(path: &std::path::Path, read: &Replayed) {
    eprintln!(
        "eperm: {}: {} seccomp records{}{}",
        path.display(),
        read.records,
        if read.truncated > 0 {
            format!(", {} cut short", read.truncated)
        } else {
            String::new()
        },
        if read.suppressed > 0 {
            format!(", {} suppressed by the printk limit", read.suppressed)
        } else {
            String::new()
        },
    );
}

fn print(out: &mut dyn Write, events: &[Event], json: bool) -> std::io::Result<()> {
    for event in events {
        if json {
            // io::Error::from keeps the kind (BrokenPipe) of a failed write.
            serde_json::to_writer(&mut *out, event).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", line(event))?;
        }
    }
    Ok(())
}

/// LSM records are not the profile's: said once, after the seccomp records.
fn say_lsm(n: usize) {
    if n > 0 {
        eprintln!(
            "eperm: {n} LSM refusal record{} (AppArmor, SELinux, Landlock): not seccomp; a profile allowance will not help",
            if n == 1 { "" } else { "s" }
        );
    }
}

fn print_lsm(out: &mut dyn Write, records: &[LsmRecord], json: bool) -> std::io::Result<()> {
    for r in records {
        if json {
            let value = crate::sources::lsm::json(r, crate::sources::event::Source::File);
            serde_json::to_writer(&mut *out, &value).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", crate::sources::lsm::line(r))?;
        }
    }
    Ok(())
}

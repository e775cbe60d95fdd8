//! `eperm replay FILE...`: saved kernel logs in the same UI as a live run, each
//! record explained by the profile's deciding rule.

use super::watch::{judged_event, line, profile_and_judge, view_config};
use crate::cli::ReplayArgs;
use crate::error::{Error, FileOp, EXIT_OK};
use crate::sources::event::{Event, Source};
use crate::sources::file::{self, Format};
use crate::sources::logs::Incoming;
use std::io::{IsTerminal, Write};

pub fn run(args: &ReplayArgs) -> Result<u8, Error> {
    let (profile, judge) = profile_and_judge(args.profile.as_deref())?;
    let mut events = Vec::new();
    for path in &args.files {
        let data = std::fs::read(path).map_err(Error::file(FileOp::Read, path))?;
        let before = events.len();
        let (truncated, suppressed) = file::each_record(format_of(&data), &data, |record| {
            let incoming = Incoming {
                source: Source::File,
                record,
            };
            events.push(judged_event(&incoming, judge.as_ref(), 0));
        });
        eprintln!(
            "eperm: {}: {} seccomp records{}{}",
            path.display(),
            events.len() - before,
            if truncated > 0 {
                format!(", {truncated} cut short")
            } else {
                String::new()
            },
            if suppressed > 0 {
                format!(", {suppressed} suppressed by the printk limit")
            } else {
                String::new()
            },
        );
    }
    if args.no_tui || !std::io::stdout().is_terminal() {
        super::to_stdout(|out| print(out, &events, args.json))?;
        return Ok(EXIT_OK);
    }
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    for event in events {
        tx.send(event).expect("the receiver is alive");
    }
    drop(tx);
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
    Ok(EXIT_OK)
}

/// The journal's JSON and export forms are read whole; every other form line by line.
fn format_of(data: &[u8]) -> Format {
    let start = &data[..data.len().min(4096)];
    let first = start.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') || start.starts_with(b"__CURSOR=") {
        Format::Journal
    } else {
        Format::Audit
    }
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

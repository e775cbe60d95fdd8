//! `eperm replay FILE...`: saved kernel logs in the same UI as a live run, each
//! record explained by the profile's deciding rule.

use crate::cli::ReplayArgs;
use crate::error::{Error, FileOp, EXIT_OK};
use crate::session::watch::{line, profile_and_judge, replay, view_config, Replayed};
use crate::sources::event::Event;
use std::io::{IsTerminal, Write};

pub fn run(args: &ReplayArgs) -> Result<u8, Error> {
    let (profile, judge) = profile_and_judge(args.profile.as_deref())?;
    let mut events = Vec::new();
    // Not the profile's: shown after its events, with their layer and fix.
    let mut lsm = Vec::new();
    for path in &args.files {
        // Streamed: regular files only, never blocking, never read whole.
        let (log, _) = crate::files::open(path).map_err(Error::file(FileOp::Read, path))?;
        let mut read = Replayed::default();
        crate::sources::file::each_block(log, |block| {
            lsm.extend(crate::sources::lsm::records(block));
            read.add(replay(block, judge.as_ref(), &mut events))
        })
        .map_err(Error::file(FileOp::Read, path))?;
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
    if !lsm.is_empty() {
        eprintln!(
            "eperm: {} LSM refusal record{} (AppArmor, SELinux, Landlock): not seccomp; a profile allowance will not help",
            lsm.len(),
            if lsm.len() == 1 { "" } else { "s" }
        );
    }
    if args.no_tui || !std::io::stdout().is_terminal() {
        super::to_stdout(|out| {
            print(out, &events, args.json)?;
            print_lsm(out, &lsm, args.json)
        })?;
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

fn print_lsm(
    out: &mut dyn Write,
    records: &[crate::layer::lsm::Record],
    json: bool,
) -> std::io::Result<()> {
    for r in records {
        if json {
            let value = crate::sources::lsm::json(r);
            serde_json::to_writer(&mut *out, &value).map_err(std::io::Error::from)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", crate::sources::lsm::line(r))?;
        }
    }
    Ok(())
}

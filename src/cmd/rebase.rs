//! `eperm rebase CUSTOM --from OLD --onto NEW [-o OUT]`: CUSTOM's own changes
//! relative to OLD, carried onto NEW as small edits of NEW's text (see
//! [`crate::verdicts::rebase`]). The report goes to stderr; the profile to OUT
//! (written whole or not at all, never over an input) or stdout. Exit 0 when
//! everything was carried or already in NEW, 1 when conflicts are left.

use super::diff::{points_text, verdict_text, Loaded};
use crate::cli::RebaseArgs;
use crate::error::{Error, EXIT_FINDINGS, EXIT_OK};
use crate::progress::Progress;
use crate::verdicts::rebase::{rebase, Fate, Input, Item};
use crate::verdicts::CallChange;
use std::path::Path;

pub fn run(args: &RebaseArgs) -> Result<u8, Error> {
    if let Some(out) = &args.output {
        refuse_inputs(out, &[&args.custom, &args.from, &args.onto])?;
    }
    let target = super::target(&args.target)?;
    let mut progress = Progress::new();
    let custom = Loaded::read(&args.custom, &target, &mut progress)?;
    let old = Loaded::read(&args.from, &target, &mut progress)?;
    let new = Loaded::read(&args.onto, &target, &mut progress)?;
    progress.show("comparing and carrying");
    let comment = format!("carried from {} by eperm rebase", custom.profile.file);
    let done = rebase(
        &input(&custom),
        &input(&old),
        &input(&new),
        &target,
        &comment,
    )
    .map_err(|e| Error::bad_input(format!("{}: {e}", new.profile.file)))?;
    progress.clear();
    for line in report(&done.items, &done.notes) {
        eprintln!("{line}");
    }
    // The result starts the containers it is meant for (see `ready`).
    let runtimes = super::ready::runtimes(args.target.runtime.as_deref())?;
    let out = args
        .output
        .as_ref()
        .map_or("the rebased profile".to_string(), |p| {
            p.display().to_string()
        });
    let profile = super::ready::made_ready(&done.profile, &runtimes, target.arch, &out)?;
    match &args.output {
        Some(path) => {
            super::write_file(path, &profile.text)?;
            eprintln!("eperm: wrote {}", path.display());
        }
        None => super::to_stdout(|out| out.write_all(profile.text.as_bytes()))?,
    }
    Ok(if done.conflicts() == 0 {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

fn input(l: &Loaded) -> Input<'_> {
    Input {
        profile: &l.profile,
        side: l.side(),
    }
}

/// `-o` may not name CUSTOM, OLD or NEW (by path or by link).
fn refuse_inputs(out: &Path, inputs: &[&Path]) -> Result<(), Error> {
    match inputs
        .iter()
        .find(|i| **i == out || crate::files::same_file(out, i))
    {
        Some(i) => Err(Error::bad_input(format!(
            "-o {}: that is an input ({}); eperm will not write over it\n  hint: name another file",
            out.display(),
            i.display()
        ))),
        None => Ok(()),
    }
}

/// The report: carried, already in NEW, conflicts, and what is not carried.
fn report(items: &[Item], notes: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let of = |want: fn(&Fate) -> bool| items.iter().filter(move |i| want(&i.fate));
    let carried: Vec<&Item> = of(|f| matches!(f, Fate::Carried { .. })).collect();
    let already: Vec<&Item> = of(|f| matches!(f, Fate::Already)).collect();
    let conflicts: Vec<&Item> = of(|f| matches!(f, Fate::Conflict { .. })).collect();
    lines.push(format!(
        "eperm: {} carried, {} already in NEW, {} for you to decide",
        carried.len(),
        already.len(),
        conflicts.len()
    ));
    for item in carried {
        if let Fate::Carried { how, reports } = &item.fate {
            lines.push(format!(
                "carried {}: {how} ({})",
                item.name,
                changes(&item.mine)
            ));
            lines.extend(reports.iter().map(|r| format!("  {r}")));
        }
    }
    for item in already {
        lines.push(format!(
            "already in NEW {}: {}",
            item.name,
            changes(&item.mine)
        ));
    }
    for item in conflicts {
        if let Fate::Conflict { why } = &item.fate {
            lines.push(format!("conflict {}: {why}", item.name));
            lines.push(format!("  CUSTOM: {}", changes(&item.mine)));
            if !item.upstream.is_empty() {
                lines.push(format!("  NEW: {}", changes(&item.upstream)));
            }
        }
    }
    lines.extend(notes.iter().map(|n| format!("not carried: {n}")));
    lines
}

/// `x86_64+x86 SCMP_ACT_ERRNO(EPERM) → SCMP_ACT_ALLOW`: one name's changes,
/// arches that change alike said once.
fn changes(cs: &[CallChange]) -> String {
    let mut parts: Vec<(Vec<String>, String)> = Vec::new();
    for c in cs {
        let what = if c.whole {
            let p = c.points[0];
            format!("{} → {}", verdict_text(p.old), verdict_text(p.new))
        } else {
            points_text(c, 3)
        };
        match parts.iter_mut().find(|(_, w)| *w == what) {
            Some((arches, _)) => arches.push(c.arch.to_string()),
            None => parts.push((vec![c.arch.to_string()], what)),
        }
    }
    let parts: Vec<String> = parts
        .into_iter()
        .map(|(arches, what)| format!("{} {what}", arches.join("+")))
        .collect();
    parts.join(", ")
}

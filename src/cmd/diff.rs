//! `eperm diff OLD NEW`: what changed in verdicts, not text. For each arch
//! both filters cover, each syscall decided differently, grouped by change
//! and counted; argument rules shown as the values whose verdict changed.
//! Exit 0 when every verdict is the same, 1 when any differs.

use crate::cli::DiffArgs;
use crate::compile::{Compiled, Mode};
use crate::error::{Error, EXIT_FINDINGS, EXIT_OK};
use crate::profile::{load_arg, Profile, Resolved, Target, Verdict};
use crate::progress::Progress;
use crate::verdicts::{CallChange, Point, Side, VerdictDiff};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// At most this many argument values are listed per call in the text form
/// (all of them in `--json`).
const SHOWN_POINTS: usize = 6;

pub fn run(args: &DiffArgs) -> Result<u8, Error> {
    let target = super::target(&args.target)?;
    let mut progress = Progress::new();
    let old = Loaded::read(&args.old, &target, &mut progress)?;
    let new = Loaded::read(&args.new, &target, &mut progress)?;
    progress.show("comparing verdicts");
    let d = crate::verdicts::diff(old.side(), new.side());
    progress.clear();
    let header = Header::of(&old, &new, &target);
    if args.json {
        let v = json(&header, &d);
        super::to_stdout(|out| writeln!(out, "{v}"))?;
    } else {
        super::to_stdout(|out| text(out, &header, &d))?;
    }
    Ok(if d.is_same() { EXIT_OK } else { EXIT_FINDINGS })
}

/// A profile read, resolved and compiled for the target.
pub struct Loaded {
    pub profile: Profile,
    pub resolved: Resolved,
    pub compiled: Compiled,
}

impl Loaded {
    pub fn read(path: &Path, target: &Target, progress: &mut Progress) -> Result<Loaded, Error> {
        super::reading(progress, path);
        let profile = load_arg(path)?;
        let (resolved, compiled) =
            super::resolve_and_compile(&profile, target, Mode::Enforce, progress)?;
        Ok(Loaded {
            profile,
            resolved,
            compiled,
        })
    }

    pub fn side(&self) -> Side<'_> {
        Side {
            resolved: &self.resolved,
            compiled: &self.compiled,
        }
    }
}

/// The two files and the target, as the output's first line says them.
struct Header {
    old: String,
    new: String,
    target: String,
}

impl Header {
    fn of(old: &Loaded, new: &Loaded, target: &Target) -> Header {
        Header {
            old: old.profile.file.clone(),
            new: new.profile.file.clone(),
            target: target_text(target),
        }
    }
}

/// `runtime runc 1.1.5 (libseccomp 2.5.4), kernel 6.1, caps docker`-like.
pub fn target_text(target: &Target) -> String {
    let runtime = target
        .runtime
        .as_ref()
        .map_or("eperm".to_string(), |r| r.to_string());
    let kernel = target
        .kernel
        .map_or("unknown".to_string(), |k| k.to_string());
    format!(
        "native arch {}, kernel {kernel}, runtime {runtime}",
        target.arch
    )
}

/// `SCMP_ACT_ALLOW`, `SCMP_ACT_ERRNO(ENOSYS)`.
pub fn verdict_text(v: Verdict) -> String {
    v.describe()
}

/// `args[0]=0x10, args[2]=0x1`: the tested arguments of a point.
pub fn point_args(indices: &[u8], p: &Point) -> String {
    let parts: Vec<String> = indices
        .iter()
        .map(|&i| format!("args[{i}]={:#x}", p.args[usize::from(i)]))
        .collect();
    parts.join(", ")
}

/// One call's argument-value changes in a line: `args[0]=0x10: A → B; …`.
pub fn points_text(c: &CallChange, limit: usize) -> String {
    let mut parts: Vec<String> = c
        .points
        .iter()
        .take(limit)
        .map(|p| {
            format!(
                "{}: {} → {}",
                point_args(&c.indices, p),
                verdict_text(p.old),
                verdict_text(p.new)
            )
        })
        .collect();
    if c.points.len() > limit {
        parts.push(format!("… {} more values", c.points.len() - limit));
    }
    parts.join("; ")
}

fn text(out: &mut dyn Write, h: &Header, d: &VerdictDiff) -> io::Result<()> {
    let arches: Vec<&str> = d.arches.iter().map(|a| a.name()).collect();
    let calls = d.changes.len();
    writeln!(
        out,
        "{} → {} on {} ({}): {}",
        h.old,
        h.new,
        arches.join("+"),
        h.target,
        if d.is_same() {
            "every verdict is the same".to_string()
        } else if calls == 0 {
            "the same verdicts on the arches both cover, but not the same arches".to_string()
        } else {
            crate::profile::lint::plural(
                calls,
                "call decided differently",
                "calls decided differently",
            )
        }
    )?;
    for a in &d.only_old {
        writeln!(
            out,
            "{a}: only {} covers it ({} refuses every call of it)",
            h.old, h.new
        )?;
    }
    for a in &d.only_new {
        writeln!(
            out,
            "{a}: only {} covers it ({} refuses every call of it)",
            h.new, h.old
        )?;
    }
    for &arch in &d.arches {
        let of_arch: Vec<&CallChange> = d.changes.iter().filter(|c| c.arch == arch).collect();
        if of_arch.is_empty() {
            continue;
        }
        writeln!(
            out,
            "{arch}: {}",
            crate::profile::lint::plural(of_arch.len(), "call", "calls")
        )?;
        let mut groups: BTreeMap<(Verdict, Verdict), Vec<&str>> = BTreeMap::new();
        for c in of_arch.iter().filter(|c| c.whole) {
            let p = c.points[0];
            groups.entry((p.old, p.new)).or_default().push(c.name);
        }
        for ((o, n), names) in &groups {
            writeln!(
                out,
                "  {} → {} ({}): {}",
                verdict_text(*o),
                verdict_text(*n),
                names.len(),
                names.join(", ")
            )?;
        }
        for c in of_arch.iter().filter(|c| !c.whole) {
            writeln!(
                out,
                "  {} (by argument): {}",
                c.name,
                points_text(c, SHOWN_POINTS)
            )?;
        }
    }
    Ok(())
}

/// A verdict as JSON: its action, and its errno's name when it has one.
pub fn verdict_json(v: Verdict) -> serde_json::Value {
    let errno = (v.action == crate::profile::Action::Errno).then(|| crate::errno::describe(v.data));
    serde_json::json!({ "action": v.action.name(), "errno": errno, "data": v.data })
}

/// One call change as JSON: arch, syscall, nr, and its changes.
pub fn change_json(c: &CallChange) -> serde_json::Value {
    let points: Vec<serde_json::Value> = c
        .points
        .iter()
        .map(|p| {
            let args: serde_json::Map<String, serde_json::Value> = c
                .indices
                .iter()
                .map(|&i| (i.to_string(), format!("{:#x}", p.args[usize::from(i)]).into()))
                .collect();
            serde_json::json!({ "args": args, "old": verdict_json(p.old), "new": verdict_json(p.new) })
        })
        .collect();
    serde_json::json!({
        "arch": c.arch.name(),
        "syscall": c.name,
        "nr": c.nr,
        "by_argument": !c.whole,
        "changes": points,
    })
}

fn json(h: &Header, d: &VerdictDiff) -> serde_json::Value {
    let names = |v: &[crate::arch::Arch]| v.iter().map(|a| a.name()).collect::<Vec<_>>();
    serde_json::json!({
        "old": h.old,
        "new": h.new,
        "target": h.target,
        "same": d.is_same(),
        "arches": names(&d.arches),
        "only_old": names(&d.only_old),
        "only_new": names(&d.only_new),
        "differences": d.changes.len(),
        "calls": d.changes.iter().map(change_json).collect::<Vec<_>>(),
    })
}

//! `eperm check PROFILE`: load, resolve for a target, lint, report.

use crate::cli::CheckArgs;
use crate::error::{Error, EXIT_FINDINGS, EXIT_OK};
use crate::profile::lint::plural;
use crate::profile::{lint, load_arg, resolve, Diagnostic, Severity};
use crate::progress::Progress;
use std::io::{self, Write};

mod baseline;

pub fn run(args: &CheckArgs) -> Result<u8, Error> {
    let target = super::target(&args.target)?;
    let mut progress = Progress::new();
    super::reading(&mut progress, &args.profile);
    let profile = match load_arg(&args.profile) {
        Ok(p) => p,
        // --json users get the load errors as JSON too.
        Err(e) if args.json && !e.problems().is_empty() => {
            let file = e.file().to_string();
            super::to_stdout(|out| print_json(out, &file, None, e.problems()))?;
            return Err(Error::Load(e));
        }
        Err(e) => return Err(e.into()),
    };
    progress.show(&format!(
        "resolving {}",
        plural(profile.rules.len(), "rule", "rules")
    ));
    let resolved = resolve(&profile, &target);
    progress.show(&format!(
        "linting {}",
        plural(resolved.rules.len(), "effective rule", "effective rules")
    ));
    let mut found = lint(&profile, &resolved);
    found.extend(crate::startup::diagnostic(&profile, &resolved));
    // Only when the runtime would otherwise start: one refusal is enough to fix first.
    if resolved.refusals.is_empty() {
        let mut added = super::merging(&mut progress, &resolved);
        found.extend(crate::compile::clash_watched(
            &profile, &resolved, &mut added,
        ));
        drop(added);
    }
    if args.oci_artifact {
        found.extend(crate::target::artifact::lint(&profile));
    }
    if let Some(base) = &args.baseline {
        found.extend(baseline::errors(base, &profile, &resolved, &mut progress)?);
    }
    found.sort_by_key(|d| (d.severity, d.line, d.column));
    progress.clear();
    let count = |s| found.iter().filter(|d| d.severity == s).count();
    let errors = count(Severity::Error);
    let arches: Vec<_> = resolved.arches.iter().map(|a| a.name()).collect();
    let caps = &args.target.caps;
    let kernel = target
        .kernel
        .map_or("unknown".to_string(), |k| k.to_string());
    let runtime = target.runtime.as_ref().map_or(
        "none (a bare process, as `eperm run` loads it)".to_string(),
        |r| r.to_string(),
    );
    let target_line = format!(
        "{} (caps: {caps}, kernel: {kernel}, runtime: {runtime})",
        arches.join("+")
    );
    if args.json {
        super::to_stdout(|out| print_json(out, &profile.file, Some(&target_line), &found))?;
    } else {
        let summary = format!(
            "{}: {}, {}, {}{} for {target_line}; {} effective rules",
            profile.file,
            plural(errors, "error", "errors"),
            plural(count(Severity::Warning), "warning", "warnings"),
            plural(count(Severity::Info), "note", "notes"),
            if args.verbose { "" } else { " (-v lists them)" },
            resolved.rules.len()
        );
        let shown = found
            .iter()
            .filter(|d| args.verbose || d.severity != Severity::Info);
        super::to_stdout(|out| print_text(out, &profile.file, shown, &summary))?;
    }
    Ok(if errors > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

fn print_text<'a>(
    out: &mut dyn Write,
    file: &str,
    shown: impl Iterator<Item = &'a Diagnostic>,
    summary: &str,
) -> io::Result<()> {
    for d in shown {
        writeln!(out, "{}", d.render(file))?;
    }
    writeln!(out, "{summary}")
}

fn print_json(
    out: &mut dyn Write,
    file: &str,
    target: Option<&str>,
    diagnostics: &[Diagnostic],
) -> io::Result<()> {
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    let report = serde_json::json!({
        "file": file,
        "target": target,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
        "infos": count(Severity::Info),
        "diagnostics": diagnostics,
    });
    writeln!(out, "{report}")
}

//! `eperm check PROFILE`: load, resolve for a target, lint, report.

use super::{CmdError, EXIT_FINDINGS, EXIT_OK};
use crate::cli::CheckArgs;
use crate::profile::lint::plural;
use crate::profile::{lint, load_file, resolve, Diagnostic, Severity};

pub fn run(args: &CheckArgs) -> Result<u8, CmdError> {
    let target = super::target(&args.target)?;
    let profile = match load_file(&args.profile) {
        Ok(p) => p,
        // --json users get the load errors as JSON too.
        Err(e) if args.json && !e.problems().is_empty() => {
            print_json(&args.profile.display().to_string(), None, e.problems());
            return Err(CmdError::Load(e));
        }
        Err(e) => return Err(e.into()),
    };
    let resolved = resolve(&profile, &target);
    let found = lint(&profile, &resolved);
    let count = |s| found.iter().filter(|d| d.severity == s).count();
    let errors = count(Severity::Error);
    let arches: Vec<_> = resolved.arches.iter().map(|a| a.name()).collect();
    let caps = &args.target.caps;
    let kernel = target
        .kernel
        .map_or("unknown".to_string(), |k| k.to_string());
    let target_line = format!("{} (caps: {caps}, kernel: {kernel})", arches.join("+"));
    if args.json {
        print_json(&profile.file, Some(&target_line), &found);
    } else {
        for d in found
            .iter()
            .filter(|d| args.verbose || d.severity != Severity::Info)
        {
            println!("{}", d.render(&profile.file));
        }
        println!(
            "{}: {}, {}, {}{} for {target_line}; {} effective rules",
            profile.file,
            plural(errors, "error", "errors"),
            plural(count(Severity::Warning), "warning", "warnings"),
            plural(count(Severity::Info), "note", "notes"),
            if args.verbose { "" } else { " (-v lists them)" },
            resolved.rules.len()
        );
    }
    Ok(if errors > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

fn print_json(file: &str, target: Option<&str>, diagnostics: &[Diagnostic]) {
    let count = |s| diagnostics.iter().filter(|d| d.severity == s).count();
    let report = serde_json::json!({
        "file": file,
        "target": target,
        "errors": count(Severity::Error),
        "warnings": count(Severity::Warning),
        "infos": count(Severity::Info),
        "diagnostics": diagnostics,
    });
    println!("{report}");
}

//! `eperm edit`: allow, deny or remove syscalls with the smallest diff, then
//! save atomically (or, with `--dry-run`, show the diff and write nothing).

use crate::cli::EditArgs;
use crate::error::{Error, FileOp, EXIT_OK};
use crate::files::Pin;
use crate::profile::edit::{self, Edit, EditError};
use crate::profile::risk::risk;
use crate::profile::save::save;
use crate::profile::{lint, load_file, load_str, resolve, Diagnostic, Profile, Severity};
use similar::TextDiff;

pub fn run(args: &EditArgs) -> Result<u8, Error> {
    let edits = edits(args)?;
    // Saved into the file read here, and nowhere a link leads by the time of the save.
    let mut pin = Pin::take(&args.profile).map_err(Error::file(FileOp::Read, &args.profile))?;
    let profile = load_file(&args.profile)?;
    let applied = edit::apply_uncommented(&profile, &edits).map_err(bad_input)?;
    for report in &applied.reports {
        eprintln!("{report}");
        // What the TUI's detail pane says of the name, from the same table.
        let allowed = matches!(report.edit, Edit::Allow(_)) && report.changed();
        if let Some(why) = risk(report.edit.name()).filter(|_| allowed) {
            eprintln!("  risk: {why}");
        }
    }
    let text = match args.portable {
        true => super::portable(&applied.profile, &args.arch)?,
        false => applied.profile.text.clone(),
    };
    refuse_new_errors(&profile, &text)?;
    if args.dry_run {
        let diff = unified_diff(&profile, &text);
        super::to_stdout(|out| out.write_all(diff.as_bytes()))?;
        return Ok(EXIT_OK);
    }
    if save(&args.profile, &mut pin, &text, &profile.text)? {
        eprintln!("saved {}", profile.file);
    } else {
        eprintln!("{}: nothing to change, not written", profile.file);
    }
    Ok(EXIT_OK)
}

/// The edits the flags ask for, checked before the profile is read.
fn edits(args: &EditArgs) -> Result<Vec<Edit>, Error> {
    let none = args.allow.is_empty() && args.deny.is_empty() && args.remove.is_empty();
    if none && !args.portable {
        return Err(Error::bad_input(
            "nothing to do: give --allow, --deny, --remove or --portable\n  \
             hint: eperm edit profile.json --allow reboot --deny ptrace,clone3:ENOSYS --dry-run",
        ));
    }
    let mut edits: Vec<Edit> = args
        .allow
        .iter()
        .map(|name| Edit::Allow(name.trim().to_string()))
        .collect();
    for spec in &args.deny {
        edits.push(Edit::parse_deny(spec).map_err(bad_input)?);
    }
    edits.extend(
        args.remove
            .iter()
            .map(|n| Edit::Remove(n.trim().to_string())),
    );
    for edit in &edits {
        edit.validate().map_err(bad_input)?;
    }
    for (i, a) in edits.iter().enumerate() {
        if let Some(b) = edits[i + 1..].iter().find(|b| b.name() == a.name()) {
            if std::mem::discriminant(a) != std::mem::discriminant(b) {
                return Err(Error::bad_input(format!(
                    "{} is given to both {} and {}: say which one you mean",
                    a.name(),
                    flag(a),
                    flag(b)
                )));
            }
        }
    }
    Ok(edits)
}

/// This host's target, as `check` with no target flags.
pub fn host_target() -> crate::cli::TargetArgs {
    crate::cli::TargetArgs {
        arch: None,
        caps: "docker".into(),
        kernel: None,
        runtime: None,
        libseccomp: None,
    }
}

/// What `check` would call an error (for this host's target, as `check` with
/// no target flags) that the edit brings in: refused, so that `edit` never
/// writes a profile `check` then fails (e.g. `--deny read:4095`, an errno the
/// runtime's libseccomp refuses). Errors the file had before are left alone.
fn refuse_new_errors(before: &Profile, after: &str) -> Result<(), Error> {
    let target = super::target(&host_target())?;
    let errors = |p: &Profile| -> Vec<Diagnostic> {
        let resolved = resolve(p, &target);
        let mut found = lint(p, &resolved);
        if resolved.refusals.is_empty() {
            found.extend(crate::compile::clash(p, &resolved));
        }
        found.retain(|d| d.severity == Severity::Error);
        found
    };
    let after = load_str(&before.file, after.to_string())?;
    let had = errors(before);
    let new: Vec<String> = errors(&after)
        .iter()
        .filter(|d| {
            !had.iter()
                .any(|h| h.code == d.code && h.message == d.message)
        })
        .map(|d| d.render(&after.file))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    Err(Error::bad_input(format!(
        "{}\n{}: not written: `eperm check` would call the edit an error for this host's runtime",
        new.join("\n"),
        before.file
    )))
}

fn flag(edit: &Edit) -> &'static str {
    match edit {
        Edit::Allow(_) => "--allow",
        Edit::Deny { .. } => "--deny",
        Edit::Remove(_) => "--remove",
    }
}

fn bad_input(e: EditError) -> Error {
    Error::bad_input(e.to_string())
}

/// `--- a/FILE` / `+++ b/FILE` with three lines of context; empty when nothing changed.
fn unified_diff(profile: &Profile, new_text: &str) -> String {
    TextDiff::from_lines(profile.text.as_str(), new_text)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{}", profile.file),
            &format!("b/{}", profile.file),
        )
        .to_string()
}

//! `eperm run --coverage` and `eperm tighten`: which allowances does the workload
//! use, and the profile without the ones it never did.

use super::run::{load_profile, prepare, Options, Summary, DEFAULT_NAME};
use super::CmdError;
use crate::cli::{RunArgs, TightenArgs};
use crate::compile::Mode;
use crate::profile::edit::apply_commented;
use crate::profile::Profile;
use crate::run::coverage::Coverage;
use crate::run::{session, Judge, Policy, Supervision, WorkloadExit};
use crate::sources::event::Event;
use crate::tighten::narrow;
use crate::tighten::prune::{prune_edits, report};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One coverage run of `command` under `profile`.
pub fn cover(
    profile: Profile,
    command: &[OsString],
    user: Option<&str>,
) -> Result<(WorkloadExit, Coverage, Summary), CmdError> {
    let options = Options {
        mode: Some("notify"),
        enforce: true,
        user,
        events: None,
        command,
        sources: &[],
    };
    let (_, user, target) = prepare(&options)?;
    let judge = Judge::new(profile, &target, Mode::Enforce)
        .map_err(|e| CmdError::BadInput(e.to_string()))?;
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let collector = std::thread::spawn(move || {
        let mut summary = Summary::default();
        for event in rx {
            summary.add(&event);
        }
        summary
    });
    let sup = Supervision {
        judge,
        policy: Policy::Enforce,
        events: tx,
        started: std::time::Instant::now(),
        own_exe: std::env::current_exe().ok(),
    };
    let result = session::run_coverage(command, user, sup);
    let summary = collector
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let (exit, coverage) = result?;
    Ok((exit, coverage, summary))
}

/// `eperm run --coverage`.
pub fn run_coverage(args: &RunArgs, profile: Profile) -> Result<u8, CmdError> {
    let file = (profile.file != DEFAULT_NAME).then(|| PathBuf::from(&profile.file));
    let (exit, run, summary) = cover(profile.clone(), &args.command, args.user.as_deref())?;
    let coverage = match &file {
        Some(file) => {
            let path = Coverage::path_for(file);
            let merged = Coverage::merge_into(&path, &run)?;
            eprintln!(
                "eperm: coverage of {} run{} in {}",
                merged.runs,
                if merged.runs == 1 { "" } else { "s" },
                path.display()
            );
            merged
        }
        None => {
            eprintln!("eperm: the embedded profile has no file: coverage is not kept (use -p)");
            run
        }
    };
    eprint!("{}", report(&profile, &coverage));
    if !summary.entries.is_empty() {
        eprint!(
            "{}",
            summary.render(file.as_ref().map(|f| f.to_string_lossy()).as_deref())
        );
    }
    Ok(exit.code())
}

/// `eperm tighten`.
pub fn run(args: &TightenArgs) -> Result<u8, CmdError> {
    let profile = load_profile(Some(&args.profile))?;
    let path = Coverage::path_for(&args.profile);
    let mut last_exit = None;
    let mut coverage = Coverage::load(&path)?;
    for i in 0..args.runs.max(1) {
        let (exit, run, _summary) = cover(profile.clone(), &args.command, None)?;
        coverage = Coverage::merge_into(&path, &run)?;
        eprintln!("eperm: coverage run {}: the program {exit}", i + 1);
        last_exit = Some(exit);
    }
    let last_exit = last_exit.expect("at least one run");
    eprint!("{}", report(&profile, &coverage));

    let edits = prune_edits(&profile, &coverage);
    let comment = "tightened by eperm";
    let applied =
        apply_commented(&profile, &edits, None).map_err(|e| CmdError::BadInput(e.to_string()))?;
    let mut out = applied.profile;
    eprintln!(
        "eperm: removed {} unused allowance{}",
        edits.len(),
        if edits.len() == 1 { "" } else { "s" }
    );
    if args.narrow {
        out = narrow(&out, &coverage, comment)?;
    }
    write(&args.output, &out.text)?;
    let out_name = args.output.display().to_string();
    eprintln!("eperm: wrote {out_name}");

    super::record::verify(&args.output, &args.command, last_exit, "under coverage")
}

/// Applies every narrowing proposal for `coverage` to `profile`, saying what each does.
fn narrow(profile: &Profile, coverage: &Coverage, comment: &str) -> Result<Profile, CmdError> {
    let proposals = narrow::proposals(profile, coverage);
    let mut out = profile.clone();
    for p in &proposals {
        let why = format!("{comment}: {}", p.explanation);
        out = p
            .apply_commented(&out, Some(&why))
            .map_err(|e| CmdError::BadInput(e.to_string()))?;
        eprintln!("eperm: narrowed {}", p.explanation);
        for rule in p.rules_text() {
            eprintln!("  {rule}");
        }
    }
    if let Some(p) = proposals.first() {
        eprintln!("eperm: rules read alike by every runtime: {}", p.semantics);
    }
    Ok(out)
}

fn write(path: &Path, text: &str) -> Result<(), CmdError> {
    std::fs::write(path, text).map_err(|e| {
        CmdError::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    })
}

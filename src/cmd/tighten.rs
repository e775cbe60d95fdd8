//! `eperm tighten`: run the workload under coverage, then write the profile
//! without the allowances it never used (and, with `--narrow`, with allowances
//! narrowed to the argument values seen), then verify it.

use crate::cli::TightenArgs;
use crate::coverage::Coverage;
use crate::error::Error;
use crate::profile::{load_file, Profile};
use crate::run::Interception;
use crate::session::{Local, Session};
use crate::sources::logs::Wanted;
use crate::tighten::narrow;
use crate::tighten::prune::{pruned, report};

pub fn run(args: &TightenArgs) -> Result<u8, Error> {
    let runtimes = super::ready::runtimes(args.runtime.as_deref())?;
    let profile = load_file(&args.profile)?;
    // Coverage runs through notify, as under the profile (see `Session::cover`).
    let how = Local {
        mode: Some(Interception::Notify),
        user: None,
        enforce: true,
        sources: Wanted::BOTH,
    };
    let session = Session::local(profile.clone(), args.command.clone(), &how)?;
    let mut last = None;
    let mut coverage = Coverage::load(&Coverage::path_for(&args.profile))?;
    let runs = args.runs.max(1);
    let mut progress = crate::progress::Progress::new();
    for i in 0..runs {
        progress.step(&format!("coverage run {} of {runs}…", i + 1));
        let covered = session.cover()?;
        eprintln!("eperm: calls {}", covered.counting);
        eprintln!(
            "eperm: coverage run {}: the program {}",
            i + 1,
            covered.exit
        );
        coverage = covered.stored.map_or(covered.run, |(_, merged)| merged);
        last = Some(covered.exit);
    }
    let last = last.expect("at least one run");
    let arches = crate::profile::resolve(&profile, &session.target).arches;
    eprint!("{}", report(&profile, &coverage, &arches));

    let (mut out, removed) =
        pruned(&profile, &coverage, &arches).map_err(|e| Error::bad_input(e.to_string()))?;
    eprintln!("{removed}");
    if args.narrow {
        // The runtime calls its start-up calls with arguments of its own.
        let (start_up, _) = crate::startup::union(&runtimes, session.target.arch);
        out = narrowed(&out, &coverage, &session, "tightened by eperm", &start_up)?;
    }
    // The runtime's start-up never runs here: what pruning took of it goes back, apart.
    let out_name = args.output.display().to_string();
    let out = super::ready::made_ready(&out, &runtimes, session.target.arch, &out_name)?;
    let from = format!("{} tightened to its coverage", profile.file);
    super::write_profile(&args.output, &out.text, &from, &args.format)?;
    eprintln!("eperm: wrote {}", args.output.display());

    super::verified(&args.output, &args.command, last, "under coverage")
}

/// Applies every narrowing proposal for `coverage` to `profile`, saying what
/// each does, but those that would keep the names in `keep` (the runtime's
/// start-up calls, made with arguments of its own) to the values seen: only a
/// mask of dangerous bits (clone's namespace flags, memory both writable and
/// executable) is narrowed there, which neither runtime's init sets.
fn narrowed(
    profile: &Profile,
    coverage: &Coverage,
    session: &Session,
    comment: &str,
    keep: &[&str],
) -> Result<Profile, Error> {
    let mut proposals = narrow::proposals(profile, coverage);
    let by_values = |p: &narrow::Proposal| {
        p.seen
            .iter()
            .any(|s| !matches!(s.position.form, narrow::Form::Masked(_)))
    };
    let kept: Vec<String> = proposals
        .iter()
        .filter(|p| keep.contains(&p.syscall.as_str()) && by_values(p))
        .map(|p| p.syscall.clone())
        .collect();
    if !kept.is_empty() {
        eprintln!(
            "eperm: not narrowed, the container runtime's start-up calls them with arguments of its own: {}",
            kept.join(", ")
        );
    }
    proposals.retain(|p| !kept.contains(&p.syscall));
    let mut out = profile.clone();
    for p in &proposals {
        let why = format!("{comment}: {}", p.explanation);
        out = p
            .apply_commented(&out, Some(&why))
            .map_err(|e| Error::bad_input(e.to_string()))?;
        eprintln!("eperm: narrowed {}", p.explanation);
        for rule in p.rules_text() {
            eprintln!("  {rule}");
        }
    }
    if !proposals.is_empty() {
        let runtime = session.target.runtime.as_ref();
        eprintln!("eperm: the narrowed rules: {}", narrow::semantics(runtime));
    }
    Ok(out)
}

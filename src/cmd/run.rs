//! `eperm run`: run a workload under a profile, report what it would deny.
//!
//! With a terminal on stdout (and no `--no-tui`) it opens the TUI. Otherwise the
//! workload's stdio is its own, events go to `--events` as JSON lines, and a
//! summary follows on stderr.

use super::{live_options, wants_tui};
use crate::cli::RunArgs;
use crate::error::Error;
use crate::profile::load_or_default;
use crate::run::Interception;
use crate::session::{Local, Session};

pub fn run(args: &RunArgs) -> Result<u8, Error> {
    super::outputs_apart(&args.session, args.profile.as_deref())?;
    let tui = wants_tui(&args.session, false)?;
    // Headless coverage runs through notify with the verdicts enforced, as under
    // the profile (see `Session::cover`); the TUI switches per run.
    let covering = args.coverage && !tui;
    let how = Local {
        mode: if covering {
            Some(Interception::Notify)
        } else {
            args.mode.map(Interception::from)
        },
        user: args.user.as_deref(),
        enforce: args.session.enforce || covering,
        sources: args.session.log_sources(),
    };
    let profile = load_or_default(args.profile.as_deref())?;
    let mut session = Session::local(profile, args.command.clone(), &how)?;
    session.stacks = !args.session.no_stacks;
    session.unwatched = crate::run::layers::turned_off(args.session.no_layers);
    if tui {
        // Fail before the screen changes when the command cannot be found.
        session.check_program()?;
        let options = live_options(&args.session, args.coverage)?;
        return super::tui(session, options);
    }
    if covering {
        // One coverage run, kept next to the profile, and what each allowance was used for.
        let covered = session.cover()?;
        eprint!("{}", covered.report(&session));
        return Ok(covered.exit.code());
    }
    let outcome = session.run(args.session.events.as_deref())?;
    eprint!("{}", outcome.report(session.profile.own_file()));
    if let Some(path) = &args.session.report {
        super::write_report(path, &session.triage(&outcome, None))?;
    }
    Ok(outcome.exit.code())
}

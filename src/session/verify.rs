//! Verifying a written profile: the command runs again under it with
//! `--enforce`; nothing may be denied and the program must end as it did before.

use super::{Local, Session, Summary};
use crate::error::Error;
use crate::run::WorkloadExit;
use std::ffi::OsString;
use std::path::Path;

/// What the verifying run found.
pub enum Verification {
    /// Nothing denied, and the program ended as expected.
    Passed(WorkloadExit),
    /// Calls the profile still denies.
    StillDenied(Box<Summary>),
    /// Nothing denied, but the program ended otherwise: `.0` now, `.1` before.
    EndedOtherwise(WorkloadExit, WorkloadExit),
}

/// Runs `command` under the profile at `output` with `--enforce`; the program
/// should end as `expected`.
pub fn verify(
    output: &Path,
    command: &[OsString],
    expected: WorkloadExit,
) -> Result<Verification, Error> {
    let profile = crate::profile::load_file(output)?;
    let how = Local {
        mode: None,
        user: None,
        enforce: true,
        sources: crate::sources::logs::Wanted::BOTH,
    };
    let session = Session::local(profile, command.to_vec(), &how)?;
    let verified = session.run(None)?;
    Ok(if !verified.summary.entries.is_empty() {
        Verification::StillDenied(Box::new(verified.summary))
    } else if verified.exit != expected {
        Verification::EndedOtherwise(verified.exit, expected)
    } else {
        Verification::Passed(verified.exit)
    })
}

impl Verification {
    pub fn passed(&self) -> bool {
        matches!(self, Verification::Passed(_))
    }

    /// What to tell the user; `output` names the profile, `seen` says when the
    /// expected end was seen ("when recorded").
    pub fn render(&self, output: &Path, seen: &str) -> String {
        let out = output.display();
        match self {
            Verification::Passed(exit) => {
                format!("eperm: verified: under {out} nothing was denied and the program {exit}\n")
            }
            Verification::StillDenied(summary) => format!(
                "eperm: verify failed: under {out} with --enforce, still denied:\n{}",
                summary.render(Some(&out.to_string()))
            ),
            Verification::EndedOtherwise(now, expected) => format!(
                "eperm: verify failed: under {out} the program {now}, but {expected} {seen}\n"
            ),
        }
    }
}

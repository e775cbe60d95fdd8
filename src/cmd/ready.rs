//! What the commands that write a profile (record, tighten, merge, rebase, export) do
//! so that it starts the containers it is meant for: the container runtimes'
//! start-up calls in a rule of their own (see [`crate::startup`]), unless the
//! user asks for a profile for plain processes only (`--runtime none`).

use crate::arch::Arch;
use crate::error::Error;
use crate::profile::{load_str, Profile};
use crate::startup;
use crate::target::RuntimeKind;

/// The runtimes a written profile is made ready for, from `--runtime`: the one
/// named (`runc`, `crun@1.8.1`), none (`none`), or every runtime eperm has
/// measured (not given).
pub fn runtimes(runtime: Option<&str>) -> Result<Vec<RuntimeKind>, Error> {
    let Some(text) = runtime else {
        return Ok(startup::MEASURED.to_vec());
    };
    if text == "none" {
        return Ok(Vec::new());
    }
    let name = text.split_once('@').map_or(text, |(n, _)| n);
    let kind = RuntimeKind::parse(name).ok_or_else(|| {
        let names: Vec<_> = RuntimeKind::ALL.iter().map(|k| k.name()).collect();
        Error::bad_input(format!(
            "--runtime: unknown runtime {name:?}\n  hint: one of {}, or none (a profile for plain processes only)",
            names.join(", ")
        ))
    })?;
    Ok(vec![kind])
}

/// `profile` with the start-up calls of `runtimes` on `arch` allowed; says on
/// stderr which runtimes `out` (the file written) is ready for.
pub fn made_ready(
    profile: &Profile,
    runtimes: &[RuntimeKind],
    arch: Arch,
    out: &str,
) -> Result<Profile, Error> {
    if runtimes.is_empty() {
        eprintln!(
            "eperm: {out} is for plain processes only (--runtime none): without a container runtime's start-up calls"
        );
        return Ok(profile.clone());
    }
    let (applied, unknown) = startup::allow(profile, runtimes, arch, &[])
        .map_err(|e| Error::bad_input(format!("{out}: {e}")))?;
    let added: Vec<&str> = applied.changed_names().collect();
    let known: Vec<&str> = runtimes
        .iter()
        .filter(|r| !unknown.contains(r))
        .map(|r| r.name())
        .collect();
    if !known.is_empty() {
        let how = match added.len() {
            0 => "it allows their start-up calls already".to_string(),
            n => format!(
                "{} of their start-up calls added in a rule of their own: {}",
                n,
                added.join(", ")
            ),
        };
        eprintln!(
            "eperm: {out} is ready for {} containers ({how})",
            known.join(" and ")
        );
    }
    for runtime in unknown {
        eprintln!(
            "eperm: note: eperm has not measured what {} calls on {} before the workload starts: {out} may not start its containers",
            runtime.name(),
            arch.name()
        );
    }
    Ok(applied.profile)
}

/// [`made_ready`] on a profile's text (named `out` in messages).
pub fn made_ready_text(
    text: String,
    runtimes: &[RuntimeKind],
    arch: Arch,
    out: &str,
) -> Result<String, Error> {
    let profile = load_str(out, text)?;
    Ok(made_ready(&profile, runtimes, arch, out)?.text)
}

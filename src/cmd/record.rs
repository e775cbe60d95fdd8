//! `eperm record`: run a program permissively, then write a profile that allows
//! every syscall it needed — the base profile plus allowances made through the
//! edit engine, so the diff against the base is as small as a reviewer would make.
//!
//! The calls are counted in the kernel (eBPF, the coverage counter) where it can
//! be had, else each would-be denial is trapped (seccomp notification) and let
//! run; `--trap` forces the latter. Both write the same profile for the same calls.

use crate::arch::Arch;
use crate::cli::RecordArgs;
use crate::error::Error;
use crate::profile::{load_or_default, load_str, Profile};
use crate::run::WorkloadExit;
use crate::session::{allow, Local, Session};
use crate::sources::event::CallArch;
use crate::sources::logs::Wanted;

pub fn run(args: &RecordArgs) -> Result<u8, Error> {
    let out_name = args.output.display().to_string();
    let runtimes = super::ready::runtimes(args.runtime.as_deref())?;
    let base = if args.start.empty && args.portable {
        // Portable to what? The two arches containers run on most, this host's first.
        let mut natives = vec![Arch::native()];
        natives.extend(
            [Arch::X86_64, Arch::Aarch64]
                .iter()
                .filter(|&&a| a != Arch::native()),
        );
        load_str(&out_name, super::empty_profile_for(&natives))?
    } else if args.start.empty {
        load_str(&out_name, super::empty_profile(Arch::native()))?
    } else {
        load_or_default(args.start.base.as_deref())?
    };
    let command = command_line(&args.command);
    let recorded = record(&base, args)?;
    let allowed = allow::recorded_names(&base, recorded.names, &command)?;
    if !allowed.nameless.is_empty() {
        eprintln!(
            "eperm: syscalls without a name cannot be written to a profile: {}",
            allowed.nameless.join(", ")
        );
    }
    let from = format!("a recorded run of {command}");
    let text = super::ready::made_ready_text(allowed.text, &runtimes, Arch::native(), &out_name)?;
    // After the runtimes' start-up calls, so that theirs get counterparts too.
    let text = match args.portable {
        true => super::portable(&load_str(&out_name, text)?, &[])?,
        false => text,
    };
    super::write_profile(&args.output, &text, &from, &args.format)?;
    eprintln!("eperm: {}", recorded.how);
    if let Some(line) = other_arches(&recorded.arches) {
        eprintln!("eperm: {line}");
    }
    let known = &allowed.names;
    eprintln!(
        "eperm: {} ({}); wrote {out_name} allowing {} more syscall{}{}{}",
        command,
        recorded.exit,
        known.len(),
        if known.len() == 1 { "" } else { "s" },
        if known.is_empty() { "" } else { ": " },
        known.join(", ")
    );
    if !args.verify {
        return Ok(recorded.exit.code());
    }
    super::verified(&args.output, &args.command, recorded.exit, "when recorded")
}

/// What a recording run saw the base profile would deny.
struct Recorded {
    exit: WorkloadExit,
    /// Each name once or more, any order.
    names: Vec<String>,
    /// (name, arch) of each, for the line on calls of other arches.
    arches: Vec<(String, &'static str)>,
    /// How the calls were recorded, for stderr.
    how: String,
}

/// One permissive run of the command: in the kernel unless `--trap` or it
/// cannot be, else by trapping each call the base would deny.
fn record(base: &Profile, args: &RecordArgs) -> Result<Recorded, Error> {
    let how = Local {
        mode: None,
        user: None,
        enforce: false,
        sources: Wanted::BOTH,
    };
    let session = Session::local(base.clone(), args.command.clone(), &how)?;
    let why_not = if args.trap {
        "--trap".to_string()
    } else {
        match session.record_in_kernel()? {
            Ok(kernel) => {
                for warning in &kernel.warnings {
                    eprintln!("eperm: {warning}");
                }
                return Ok(Recorded {
                    exit: kernel.exit,
                    names: kernel.denied,
                    arches: kernel.denied_on,
                    how: "recorded in the kernel (eBPF)".into(),
                });
            }
            Err(why) => why,
        }
    };
    let trapped = session.run(None)?;
    let arches = trapped
        .summary
        .entries
        .iter()
        .filter_map(|e| match e.arch {
            CallArch::Known(arch) => Some((e.syscall.clone(), arch.name())),
            CallArch::Unknown(_) => None,
        })
        .collect();
    Ok(Recorded {
        exit: trapped.exit,
        names: trapped.summary.names(),
        arches,
        how: format!("recorded by trapping each call (notify): {why_not}"),
    })
}

/// The calls made on an arch other than the native one (ia32 calls from a
/// 64-bit program, a 32-bit helper), which the profile's names cover too.
pub(super) fn other_arches(seen: &[(String, &'static str)]) -> Option<String> {
    let native = Arch::native().name();
    let mut other: Vec<String> = seen
        .iter()
        .filter(|(_, arch)| *arch != native)
        .map(|(name, arch)| format!("{name} ({arch})"))
        .collect();
    other.sort();
    other.dedup();
    (!other.is_empty()).then(|| format!("calls of other arches: {}", other.join(", ")))
}

/// The command as a shell would show it.
fn command_line(argv: &[std::ffi::OsString]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.to_string_lossy();
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.into_owned()
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

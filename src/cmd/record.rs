//! `eperm record`: run a program permissively, then write a profile that allows
//! every syscall it needed — the base profile plus allowances made through the
//! edit engine, so the diff against the base is as small as a reviewer would make.

use crate::arch::Arch;
use crate::cli::RecordArgs;
use crate::error::Error;
use crate::profile::{load_or_default, load_str};
use crate::session::{allow, Local, Session};
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
    let how = Local {
        mode: None,
        user: None,
        enforce: false,
        sources: Wanted::BOTH,
    };
    let session = Session::local(base.clone(), args.command.clone(), &how)?;
    let recorded = session.run(None)?;
    let allowed = allow::recorded(&base, &recorded.summary, &command)?;
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

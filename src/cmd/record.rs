//! `eperm record`: run a program permissively, then write a profile that allows
//! every syscall it needed — the base profile plus allowances made through the
//! edit engine, so the diff against the base is as small as a reviewer would make.

use super::CmdError;
use crate::arch::Arch;
use crate::cli::RecordArgs;
use crate::profile::{load_or_default, load_str};
use crate::session::{allow, Local, Session};
use crate::sources::logs::Wanted;

pub fn run(args: &RecordArgs) -> Result<u8, CmdError> {
    let out_name = args.output.display().to_string();
    let base = if args.empty {
        load_str(&out_name, empty_profile(Arch::native()))?
    } else {
        load_or_default(args.base.as_deref())?
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
    super::write_profile(&args.output, &allowed.text, &args.format)?;
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

/// "Deny everything with EPERM" for `native` and the sub-arches `archMap` gives it;
/// clone3 alone gets ENOSYS, so that glibc falls back to clone when clone3 is not needed.
pub fn empty_profile(native: Arch) -> String {
    let subs: Vec<&str> = sub_arches(native).iter().map(|a| a.scmp_name()).collect();
    let profile = serde_json::json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "archMap": [{ "architecture": native.scmp_name(), "subArchitectures": subs }],
        "syscalls": [{
            "names": ["clone3"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": 38,
            "comment": "ENOSYS, not EPERM: glibc then falls back to clone, whose flags a profile can check"
        }]
    });
    serde_json::to_string_pretty(&profile).expect("a JSON value serializes") + "\n"
}

/// The sub-architectures Docker's `archMap` lists for a native arch.
fn sub_arches(native: Arch) -> &'static [Arch] {
    match native {
        Arch::X86_64 => &[Arch::X86, Arch::X32],
        Arch::Aarch64 => &[Arch::Arm],
        Arch::Mips64 => &[Arch::Mips, Arch::Mips64n32],
        Arch::Mips64n32 => &[Arch::Mips, Arch::Mips64],
        Arch::Mips64el => &[Arch::Mipsel, Arch::Mips64n32el],
        Arch::Mips64n32el => &[Arch::Mipsel, Arch::Mips64el],
        Arch::S390x => &[Arch::S390],
        _ => &[],
    }
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

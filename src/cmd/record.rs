//! `eperm record`: run a program permissively, then write a profile that allows
//! every syscall it needed — the base profile plus allowances made through the
//! edit engine, so the diff against the base is as small as a reviewer would make.

use super::run::{execute, load_profile, Options};
use super::{CmdError, EXIT_FINDINGS, EXIT_OK};
use crate::arch::Arch;
use crate::cli::RecordArgs;
use crate::profile::edit::{apply_commented, Edit};
use crate::profile::load_str;

pub fn run(args: &RecordArgs) -> Result<u8, CmdError> {
    let out_name = args.output.display().to_string();
    let base = if args.empty {
        load_str(&out_name, empty_profile(Arch::native()))?
    } else {
        load_profile(args.base.as_deref())?
    };
    let command = command_line(&args.command);
    let recorded = execute(
        base.clone(),
        &Options {
            mode: None,
            enforce: false,
            user: None,
            events: None,
            command: &args.command,
            sources: &[],
        },
    )?;
    let mut names = recorded.summary.names();
    names.sort();
    let (known, unknown): (Vec<String>, Vec<String>) = names
        .into_iter()
        .partition(|n| Edit::Allow(n.clone()).validate().is_ok());
    if !unknown.is_empty() {
        eprintln!(
            "eperm: syscalls without a name cannot be written to a profile: {}",
            unknown.join(", ")
        );
    }
    let edits: Vec<Edit> = known.iter().cloned().map(Edit::Allow).collect();
    let comment = format!("recorded by eperm from: {command}");
    let applied = apply_commented(&base, &edits, Some(&comment))
        .map_err(|e| CmdError::BadInput(e.to_string()))?;
    std::fs::write(&args.output, applied.text())
        .map_err(|e| std::io::Error::new(e.kind(), format!("{out_name}: {e}")))?;
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

    verify(&args.output, &args.command, recorded.exit, "when recorded")
}

/// Re-runs `command` under the written profile with `--enforce`: nothing may be denied
/// and the program must end as it did when `expected` was seen (`seen` says when).
pub fn verify(
    output: &std::path::Path,
    command: &[std::ffi::OsString],
    expected: crate::run::WorkloadExit,
    seen: &str,
) -> Result<u8, CmdError> {
    let out_name = output.display().to_string();
    let options = Options {
        mode: None,
        enforce: true,
        user: None,
        events: None,
        command,
        sources: &[],
    };
    let verified = execute(load_profile(Some(output))?, &options)?;
    if !verified.summary.entries.is_empty() {
        eprintln!("eperm: verify failed: under {out_name} with --enforce, still denied:");
        eprint!("{}", verified.summary.render(Some(&out_name)));
        return Ok(EXIT_FINDINGS);
    }
    if verified.exit != expected {
        eprintln!(
            "eperm: verify failed: under {out_name} the program {}, but {expected} {seen}",
            verified.exit
        );
        return Ok(EXIT_FINDINGS);
    }
    eprintln!(
        "eperm: verified: under {out_name} nothing was denied and the program {}",
        verified.exit
    );
    Ok(EXIT_OK)
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

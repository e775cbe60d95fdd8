//! `eperm explain PROFILE SYSCALL [ARG0..ARG5]`: the verdict, the rule that decides
//! it, and why every other rule naming the syscall does not.

use super::{CmdError, EXIT_OK};
use crate::cli::ExplainArgs;
use crate::compile::{self, bpf, Mode};
use crate::profile::resolve::{condition_sets, filtered_out};
use crate::profile::{load_file, resolve, Action, ArgCond, Profile, Verdict};

/// Names accepted for argument values (ORed with `|`).
const SYMBOLS: &[(&str, u64)] = &[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_LOCAL", 1),
    ("AF_INET", 2),
    ("AF_INET6", 10),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_BLUETOOTH", 31),
    ("AF_ALG", 38),
    ("AF_VSOCK", 40),
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOCK_RAW", 3),
    ("SOCK_SEQPACKET", 5),
    ("SOCK_NONBLOCK", 0o4000),
    ("SOCK_CLOEXEC", 0o2000000),
    ("CLONE_VM", 0x100),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_SETTLS", 0x80000),
    ("CLONE_NEWTIME", 0x80),
    ("CLONE_NEWCGROUP", 0x0200_0000),
    ("CLONE_NEWUTS", 0x0400_0000),
    ("CLONE_NEWIPC", 0x0800_0000),
    ("CLONE_NEWUSER", 0x1000_0000),
    ("CLONE_NEWPID", 0x2000_0000),
    ("CLONE_NEWNET", 0x4000_0000),
    ("CLONE_IO", 0x8000_0000),
    ("PR_SET_PDEATHSIG", 1),
    ("PR_SET_DUMPABLE", 4),
    ("PR_SET_KEEPCAPS", 8),
    ("PR_SET_NAME", 15),
    ("PR_GET_NAME", 16),
    ("PR_SET_SECCOMP", 22),
    ("PR_CAPBSET_READ", 23),
    ("PR_CAPBSET_DROP", 24),
    ("PR_SET_NO_NEW_PRIVS", 38),
    ("PR_GET_NO_NEW_PRIVS", 39),
    ("PR_CAP_AMBIENT", 47),
    ("O_RDONLY", 0),
    ("O_WRONLY", 1),
    ("O_RDWR", 2),
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_DIRECTORY", 0o200000),
    ("O_NOFOLLOW", 0o400000),
    ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000),
    ("O_TMPFILE", 0o20200000),
];

/// `42`, `0x2a`, `-1`, `AF_NETLINK`, `CLONE_NEWUSER|CLONE_NEWNS`.
pub fn parse_arg(s: &str) -> Result<u64, String> {
    let mut value = 0u64;
    for part in s.split('|').map(str::trim) {
        let v = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16).ok()
        } else if let Some(neg) = part.strip_prefix('-') {
            neg.parse::<u64>().ok().map(|n| n.wrapping_neg())
        } else if part.starts_with(|c: char| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            SYMBOLS
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(part))
                .map(|&(_, v)| v)
        };
        value |= v.ok_or_else(|| format!("invalid argument value {part:?}"))?;
    }
    Ok(value)
}

fn cond_text(c: &ArgCond, arg: u64) -> String {
    let rhs = match c.op {
        crate::profile::CmpOp::MaskedEq => {
            format!("(arg & {:#x}) == {:#x}", c.value, c.value_two)
        }
        _ => format!("{} {:#x}", c.op.name(), c.value),
    };
    format!("args[{}] = {arg:#x}: {rhs}", c.index)
}

/// Why a rule naming the syscall does not decide it.
fn why_not(profile: &Profile, i: usize, args: &[u64; 6], ctx: &Ctx) -> String {
    let rule = &profile.rules[i];
    if let Some(reason) = filtered_out(rule, &ctx.target) {
        return format!("dropped by Docker: {reason}");
    }
    if Verdict::of(rule.action, rule.errno_ret) == ctx.default {
        return "its action equals the default action (runc skips it)".into();
    }
    if !rule.args.is_empty() {
        let failing: Vec<String> = condition_sets(&rule.args)
            .iter()
            .filter_map(|set| {
                set.iter()
                    .find(|c| !c.op.matches(args[c.index as usize], c.value, c.value_two))
                    .map(|c| cond_text(c, args[c.index as usize]))
            })
            .collect();
        if failing.len() == condition_sets(&rule.args).len() {
            return format!("conditions not met: {} is false", failing.join("; "));
        }
    }
    match ctx.decider {
        Some(d) => format!(
            "it matches, but syscalls[{d}] decides: in libseccomp the first unconditional rule stays, an unconditional rule replaces argument rules, and argument rules are tried in argument order"
        ),
        None => "it matches, but libseccomp keeps the default action here".into(),
    }
}

struct Ctx {
    target: crate::profile::Target,
    default: Verdict,
    decider: Option<usize>,
}

pub fn run(args: &ExplainArgs) -> Result<u8, CmdError> {
    let target = super::target(&args.target)?;
    let profile = load_file(&args.profile)?;
    let arch = target.arch;
    let nr = match arch.syscall_nr(&args.syscall) {
        Some(nr) => nr,
        None => match args.syscall.parse::<u32>() {
            Ok(nr) => nr,
            Err(_) => {
                let hint =
                    crate::suggest::closest(&args.syscall, arch.syscalls().iter().map(|&(n, _)| n))
                        .map(|s| format!("\n  hint: did you mean {s}?"))
                        .unwrap_or_default();
                return Err(CmdError::BadInput(format!(
                    "unknown syscall {:?} on {arch}{hint}",
                    args.syscall
                )));
            }
        },
    };
    let name = arch.syscall_name(nr).unwrap_or("?").to_string();
    let mut values = [0u64; 6];
    for (i, a) in args.args.iter().enumerate() {
        values[i] = parse_arg(a).map_err(|e| {
            CmdError::BadInput(format!(
                "ARG{i}: {e}\n  hint: write a number (42, 0x2a, -1) or a name such as AF_NETLINK or CLONE_NEWUSER|CLONE_NEWNS"
            ))
        })?;
    }
    let resolved = resolve(&profile, &target);
    let compiled = compile::compile(&resolved, Mode::Enforce)
        .map_err(|e| CmdError::BadInput(format!("{}: {e}", profile.file)))?;
    let (word, executed) = compiled.run(arch, nr, values);
    let outcome = compiled.evaluate(arch, nr, values);
    debug_assert_eq!(word, compile::action_word(outcome.verdict));
    let decider = outcome.origin.map(|e| resolved.rules[e].rule);
    let ctx = Ctx {
        target: target.clone(),
        default: resolved.default,
        decider,
    };
    let path = |i: usize| profile.path(&format!("syscalls[{i}]"));
    let deciding_path = decider.map_or_else(|| profile.path("defaultAction"), path);
    let comment = decider.and_then(|d| profile.rules[d].comment.clone());
    let others: Vec<(usize, String)> = profile
        .rules
        .iter()
        .filter(|r| Some(r.index) != decider && r.names.iter().any(|n| n.name == name))
        .map(|r| (r.index, why_not(&profile, r.index, &values, &ctx)))
        .collect();
    let errno = (outcome.verdict.action == Action::Errno)
        .then(|| crate::errno::describe(outcome.verdict.data));
    if args.json {
        let v = serde_json::json!({
            "syscall": name,
            "nr": nr,
            "arch": arch.name(),
            "args": values.iter().map(|v| format!("{v:#x}")).collect::<Vec<_>>(),
            "action": outcome.verdict.action.name(),
            "errno": errno,
            "action_word": format!("{word:#010x}"),
            "rule": deciding_path,
            "comment": comment,
            "instructions": executed,
            "others": others.iter().map(|(i, why)| serde_json::json!({"rule": path(*i), "why": why})).collect::<Vec<_>>(),
        });
        println!("{v}");
        return Ok(EXIT_OK);
    }
    let shown: Vec<String> = values[..args.args.len()]
        .iter()
        .map(|v| format!("{v:#x}"))
        .collect();
    println!(
        "{name}({}) on {arch}: {}",
        shown.join(", "),
        outcome.verdict.describe()
    );
    match decider {
        Some(d) => {
            let via = outcome
                .origin
                .map(|e| &resolved.rules[e])
                .filter(|e| e.name != name)
                .map(|e| format!(" (as {}, which libseccomp also applies to {name})", e.name))
                .unwrap_or_default();
            println!("  decided by {}{via}", path(d));
            if let Some(c) = &comment {
                println!("    comment: {c}");
            }
        }
        None => println!("  decided by defaultAction: no rule matches"),
    }
    println!(
        "  BPF: {} after {executed} instructions",
        bpf::action_name(word)
    );
    for (i, why) in &others {
        println!("  {}: {why}", path(*i));
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    #[test]
    fn argument_values_parse() {
        use super::parse_arg;
        assert_eq!(parse_arg("42"), Ok(42));
        assert_eq!(parse_arg("0x2a"), Ok(42));
        assert_eq!(parse_arg("-1"), Ok(u64::MAX));
        assert_eq!(parse_arg("AF_NETLINK"), Ok(16));
        assert_eq!(parse_arg("CLONE_NEWUSER|CLONE_NEWNS"), Ok(0x1002_0000));
        assert!(parse_arg("AF_BOGUS").is_err());
    }
}

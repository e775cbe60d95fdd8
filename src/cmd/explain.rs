//! `eperm explain PROFILE SYSCALL [ARG0..ARG5]`: the verdict, the rule that decides
//! it, and why every other rule naming the syscall does not.

use crate::arch::counterparts::{self, Counterpart};
use crate::arch::Arch;
use crate::cli::ExplainArgs;
use crate::compile::{self, bpf, Mode};
use crate::error::{Error, EXIT_OK};
use crate::profile::resolve::{condition_sets, filtered_out};
use crate::profile::{load_arg, resolve, Action, ArgCond, Profile, Resolved, Target, Verdict};
use crate::progress::Progress;
use crate::syscalls::symbols;

/// `42`, `0x2a`, `-1`, `AF_NETLINK`, `CLONE_NEWUSER|CLONE_NEWNS`, with `arch`'s values
/// (the names are those of [`crate::syscalls::symbols`]).
fn parse_arg(arch: Arch, s: &str) -> Result<u64, String> {
    symbols::parse_value_for(arch, s).ok_or_else(|| {
        let bad = s
            .split('|')
            .map(str::trim)
            .find(|p| symbols::parse_value_for(arch, p).is_none())
            .unwrap_or(s);
        format!("invalid argument value {bad:?}")
    })
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
    if let Some(why) = ctx.dropped.get(&i) {
        return why.clone();
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
    if let Some(kernel) = &ctx.kernel {
        return format!("it matches, but {kernel}");
    }
    if let Some(stub) = &ctx.stub {
        return format!("it matches, but {stub} answers first");
    }
    match ctx.decider {
        Some(d) => format!(
            "it matches, but syscalls[{d}] decides: in libseccomp the first unconditional rule stays, an unconditional rule replaces argument rules, and argument rules are tried in argument order"
        ),
        None => "it matches, but libseccomp keeps the default action here".into(),
    }
}

/// "runc 1.1.5 here's -ENOSYS stub: …", for a call the stub answers.
fn stub_text(resolved: &crate::profile::Resolved, arch: Arch, nr: u32) -> String {
    let rt = resolved.target.runtime.as_ref();
    let who = rt.map_or("runc".to_string(), |r| r.named());
    let lib = rt.map_or(String::new(), |r| format!(" libseccomp {}", r.libseccomp));
    let limit = resolved
        .enosys_above
        .iter()
        .find(|&&(a, _)| {
            a == arch
                || (arch == Arch::X86_64
                    && a == Arch::X32
                    && nr & crate::arch::X32_SYSCALL_BIT != 0)
        })
        .map(|&(a, max)| (a, max));
    match limit {
        Some((a, max)) => format!(
            "{who}'s -ENOSYS stub: nr {nr} is above {max} ({}), the largest syscall the profile names that{lib} knows on {a}",
            a.syscall_name(max).unwrap_or("?")
        ),
        None => format!("{who}'s -ENOSYS stub"),
    }
}

/// When the runtime's verdict is not what the profile's text says (read with
/// every name eperm knows), the sentence that says why, for the deciding line.
fn runtime_differs(
    profile: &Profile,
    resolved: &crate::profile::Resolved,
    arch: Arch,
    nr: u32,
    values: [u64; 6],
    verdict: Verdict,
    decider: Option<usize>,
) -> Option<String> {
    let rt = resolved.target.runtime.as_ref()?;
    let text_target = crate::profile::Target {
        runtime: None,
        ..resolved.target.clone()
    };
    let text = resolve(profile, &text_target);
    let compiled = compile::compile(&text, Mode::Enforce).ok()?;
    let said = compiled.evaluate(arch, nr, values);
    let said_rule = said.origin.map(|e| text.rules[e].rule);
    if said.verdict == verdict && said_rule == decider {
        return None;
    }
    let by = said_rule.map_or_else(
        || profile.path("defaultAction"),
        |i| profile.path(&format!("syscalls[{i}]")),
    );
    let name = arch.syscall_name(nr).unwrap_or("?");
    let dropped = resolved.skipped.iter().any(|s| {
        matches!(s, crate::profile::Skip::UnknownToRuntime { rule, name: n, .. }
            if Some(*rule) == said_rule && n == name)
    });
    let why = if dropped {
        format!(
            "{} drops the name: libseccomp {} does not know {name}",
            rt.named(),
            rt.libseccomp
        )
    } else {
        format!("{} reads it otherwise", rt.named())
    };
    let said_text = match said.verdict.action {
        Action::Allow => "allowed".to_string(),
        _ => format!("given {}", said.verdict.describe()),
    };
    Some(format!(
        "the profile's text: {said_text} by {by}, but {why}; the container gets {}",
        verdict.describe()
    ))
}

struct Ctx {
    target: crate::profile::Target,
    default: Verdict,
    decider: Option<usize>,
    /// Rules whose name (the explained syscall) the runtime drops, and why.
    dropped: std::collections::HashMap<usize, String>,
    /// Who answers before the filter: runc's stub.
    stub: Option<String>,
    /// The kernel, when it lets the call through before any filter.
    kernel: Option<String>,
}

/// A syscall of `arch` by name, or by number.
fn syscall_number(arch: Arch, syscall: &str) -> Result<u32, Error> {
    if let Some(nr) = arch.syscall_nr(syscall) {
        return Ok(nr);
    }
    syscall.parse::<u32>().map_err(|_| {
        if crate::arch::is_known_anywhere(syscall) {
            let on: Vec<&str> = Arch::ALL
                .iter()
                .filter(|a| a.syscall_nr(syscall).is_some())
                .map(|a| a.name())
                .collect();
            return Error::bad_input(format!(
                "{syscall} does not exist on {arch}, and no call takes its place there that eperm knows\n  hint: it is a syscall of {}",
                on.join(", ")
            ));
        }
        let hint = crate::suggest::closest(syscall, arch.syscalls().iter().map(|&(n, _)| n))
            .map(|s| format!("\n  hint: did you mean {s}?"))
            .unwrap_or_default();
        Error::bad_input(format!("unknown syscall {syscall:?} on {arch}{hint}"))
    })
}

/// Why the runtime makes rules naming `name` not decide: the rules whose name
/// it drops, and its stub when that answers first.
fn runtime_reasons(
    resolved: &crate::profile::Resolved,
    compiled: &compile::Compiled,
    arch: Arch,
    nr: u32,
    name: &str,
) -> (std::collections::HashMap<usize, String>, Option<String>) {
    let rt = resolved.target.runtime.as_ref();
    let dropped = resolved
        .skipped
        .iter()
        .filter_map(|s| match (s, rt) {
            (crate::profile::Skip::UnknownToRuntime { rule, name: n, .. }, Some(rt))
                if n == name =>
            {
                Some((
                    *rule,
                    format!(
                        "{} drops {name}: libseccomp {} does not know it",
                        rt.named(),
                        rt.libseccomp
                    ),
                ))
            }
            _ => None,
        })
        .collect();
    let stub = compiled.stub_decides(arch, nr).then(|| {
        let who = rt.map_or("runc".into(), |r| r.named());
        format!("{who}'s -ENOSYS stub")
    });
    (dropped, stub)
}

pub fn run(args: &ExplainArgs) -> Result<u8, Error> {
    let target = super::target(&args.target)?;
    let mut progress = Progress::new();
    super::reading(&mut progress, &args.profile);
    let profile = load_arg(&args.profile)?;
    let arch = target.arch;
    // A call this arch lacks (open on arm64): the calls that take its place.
    let instead = counterparts::instead_on(&args.syscall, arch);
    let calls: Vec<(u32, Option<&Counterpart>)> = match syscall_number(arch, &args.syscall) {
        Ok(nr) => vec![(nr, None)],
        Err(_) if !instead.is_empty() => instead
            .iter()
            .map(|c| {
                (
                    arch.syscall_nr(c.modern)
                        .expect("instead_on gives calls of arch"),
                    Some(*c),
                )
            })
            .collect(),
        Err(e) => return Err(e),
    };
    let mut values = [0u64; 6];
    for (i, a) in args.args.iter().enumerate() {
        values[i] = parse_arg(arch, a).map_err(|e| {
            Error::bad_input(format!(
                "ARG{i}: {e}\n  hint: write a number (42, 0x2a, -1) or a name such as AF_NETLINK or CLONE_NEWUSER|CLONE_NEWNS"
            ))
        })?;
    }
    let (resolved, compiled) =
        super::resolve_and_compile(&profile, &target, Mode::Enforce, &mut progress)?;
    progress.show("explaining");
    let explained: Vec<(Explanation, usize)> = calls
        .iter()
        .map(|&(nr, c)| {
            let (values, given) = c.map_or((values, args.args.len()), |c| {
                moved(c, &values, args.args.len())
            });
            (
                Explanation::of(&profile, &resolved, &compiled, &target, nr, values),
                given,
            )
        })
        .collect();
    progress.clear();
    if instead.is_empty() || calls.iter().all(|(_, c)| c.is_none()) {
        let (x, given) = &explained[0];
        return print(
            args.json,
            x.json(&profile),
            x.lines(&profile, &resolved, *given),
        );
    }
    let names: Vec<&str> = instead.iter().map(|c| c.modern).collect();
    let verb = if names.len() == 1 { "takes" } else { "take" };
    let mut lines = vec![format!(
        "{} does not exist on {arch}: {} {verb} its place there",
        args.syscall,
        names.join(" and ")
    )];
    for rule in profile
        .rules
        .iter()
        .filter(|r| r.names.iter().any(|n| n.name == args.syscall))
    {
        let path = profile.path(&format!("syscalls[{}]", rule.index));
        lines.push(format!(
            "  {path} names {}, which does nothing on {arch}",
            args.syscall
        ));
    }
    for (x, given) in &explained {
        lines.extend(x.lines(&profile, &resolved, *given));
    }
    let json = serde_json::json!({
        "syscall": args.syscall,
        "arch": arch.name(),
        "exists": false,
        "instead": explained.iter().map(|(x, _)| x.json(&profile)).collect::<Vec<_>>(),
    });
    print(args.json, json, lines)
}

/// The legacy call's arguments where the counterpart takes them, and how
/// many of its arguments that shows.
fn moved(c: &Counterpart, values: &[u64; 6], given: usize) -> ([u64; 6], usize) {
    let mut out = [0u64; 6];
    let mut shown = 0;
    for (i, &v) in values.iter().enumerate().take(given) {
        if let Some(j) = c.forward(i as u8).map(usize::from).filter(|&j| j < 6) {
            out[j] = v;
            shown = shown.max(j + 1);
        }
    }
    (out, shown)
}

fn print(json: bool, value: serde_json::Value, lines: Vec<String>) -> Result<u8, Error> {
    if json {
        super::to_stdout(|out| writeln!(out, "{value}"))?;
    } else {
        super::to_stdout(|out| lines.iter().try_for_each(|l| writeln!(out, "{l}")))?;
    }
    Ok(EXIT_OK)
}

/// Everything `explain` says about one call, in text or JSON.
struct Explanation {
    target: Target,
    name: String,
    nr: u32,
    values: [u64; 6],
    outcome: compile::libseccomp::Outcome,
    /// The action word the kernel got, and after how many instructions.
    word: u32,
    executed: usize,
    /// When the kernel lets the call through unfiltered: why, and what the
    /// program alone (libseccomp's too) would have returned, after how many.
    kernel: Option<(String, u32, usize)>,
    /// The rule that decided, by index in `syscalls[]`.
    decider: Option<usize>,
    comment: Option<String>,
    /// Every other rule naming the call, and why it did not decide.
    others: Vec<(usize, String)>,
    errno: Option<String>,
    stub: Option<String>,
    differs: Option<String>,
}

impl Explanation {
    fn of(
        profile: &Profile,
        resolved: &Resolved,
        compiled: &compile::Compiled,
        target: &Target,
        nr: u32,
        values: [u64; 6],
    ) -> Explanation {
        let arch = target.arch;
        let name = arch.syscall_name(nr).unwrap_or("?").to_string();
        let (word, executed) = compiled.run(arch, nr, values);
        let outcome = compiled.evaluate(arch, nr, values);
        debug_assert_eq!(word, compile::action_word(outcome.verdict));
        let decider = outcome.origin.map(|e| resolved.rules[e].rule);
        let (dropped, stub_who) = runtime_reasons(resolved, compiled, arch, nr, &name);
        let passthrough = compiled.passes_through(arch, nr);
        let kernel = passthrough.map(|p| {
            let data = compile::SeccompData::call(arch, nr, values);
            let (alone, n) = compile::run(&compiled.program, &data);
            (p.describe(), alone, n)
        });
        let ctx = Ctx {
            target: target.clone(),
            default: resolved.default,
            decider,
            dropped,
            stub: stub_who.filter(|_| passthrough.is_none()),
            kernel: passthrough.map(|p| p.describe()),
        };
        let others = profile
            .rules
            .iter()
            .filter(|r| Some(r.index) != decider && r.names.iter().any(|n| n.name == name))
            .map(|r| (r.index, why_not(profile, r.index, &values, &ctx)))
            .collect();
        Explanation {
            target: target.clone(),
            nr,
            values,
            word,
            executed,
            decider,
            comment: decider.and_then(|d| profile.rules[d].comment.clone()),
            others,
            errno: (outcome.verdict.action == Action::Errno)
                .then(|| crate::errno::describe(outcome.verdict.data)),
            stub: (compiled.stub_decides(arch, nr) && passthrough.is_none())
                .then(|| stub_text(resolved, arch, nr)),
            kernel,
            differs: runtime_differs(
                profile,
                resolved,
                arch,
                nr,
                values,
                outcome.verdict,
                decider,
            ),
            outcome,
            name,
        }
    }

    fn json(&self, profile: &Profile) -> serde_json::Value {
        let path = |i: usize| profile.path(&format!("syscalls[{i}]"));
        serde_json::json!({
            "syscall": self.name,
            "nr": self.nr,
            "arch": self.target.arch.name(),
            "args": self.values.iter().map(|v| format!("{v:#x}")).collect::<Vec<_>>(),
            "action": self.outcome.verdict.action.name(),
            "errno": self.errno,
            "action_word": format!("{:#010x}", self.word),
            "rule": self.decider.map_or_else(|| profile.path("defaultAction"), path),
            "comment": self.comment,
            "instructions": self.executed,
            "runtime": self.target.runtime.as_ref().map(|r| r.to_string()),
            "enosys_stub": self.stub,
            "kernel_passthrough": self.kernel.as_ref().map(|(why, ..)| why),
            "program_alone": self.kernel.as_ref().map(|(_, word, _)| format!("{word:#010x}")),
            "text_differs": self.differs,
            "others": self.others.iter().map(|(i, why)| serde_json::json!({"rule": path(*i), "why": why})).collect::<Vec<_>>(),
        })
    }

    /// The text answer; `given` arguments are shown (the rest are zero).
    fn lines(&self, profile: &Profile, resolved: &Resolved, given: usize) -> Vec<String> {
        let path = |i: usize| profile.path(&format!("syscalls[{i}]"));
        let name = &self.name;
        let shown: Vec<String> = self.values[..given]
            .iter()
            .map(|v| format!("{v:#x}"))
            .collect();
        let mut lines = vec![format!(
            "{name}({}) on {}: {}",
            shown.join(", "),
            self.target.arch,
            self.outcome.verdict.describe()
        )];
        match self.decider {
            Some(d) => {
                let via = self
                    .outcome
                    .origin
                    .map(|e| &resolved.rules[e])
                    .filter(|e| e.name != *name)
                    .map(|e| format!(" (as {}, which libseccomp also applies to {name})", e.name))
                    .unwrap_or_default();
                lines.push(format!("  decided by {}{via}", path(d)));
                if let Some(c) = &self.comment {
                    // The profile is the user's, but often written by someone else.
                    lines.push(format!(
                        "    comment: {}",
                        crate::untrusted::escape(c.as_bytes())
                    ));
                }
            }
            None => match (&self.kernel, &self.stub) {
                (Some((why, ..)), _) => lines.push(format!("  decided by the kernel: {why}")),
                (None, Some(why)) => lines.push(format!("  decided by {why}")),
                (None, None) => lines.push("  decided by defaultAction: no rule matches".into()),
            },
        }
        if let Some(d) = &self.differs {
            lines.push(format!("  {d}"));
        }
        match &self.kernel {
            Some((_, alone, n)) => lines.push(format!(
                "  BPF: not run; the program alone (as libseccomp's, which does not model the kernel's passthrough) says {} after {n} instructions",
                bpf::action_name(*alone)
            )),
            None => lines.push(format!(
                "  BPF: {} after {} instructions",
                bpf::action_name(self.word),
                self.executed
            )),
        }
        for (i, why) in &self.others {
            lines.push(format!("  {}: {why}", path(*i)));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn argument_values_parse() {
        use super::parse_arg;
        use crate::arch::Arch::{Aarch64, X86_64};
        assert_eq!(parse_arg(X86_64, "42"), Ok(42));
        assert_eq!(parse_arg(X86_64, "0x2a"), Ok(42));
        assert_eq!(parse_arg(X86_64, "-1"), Ok(u64::MAX));
        assert_eq!(parse_arg(X86_64, "AF_NETLINK"), Ok(16));
        assert_eq!(
            parse_arg(X86_64, "CLONE_NEWUSER|CLONE_NEWNS"),
            Ok(0x1002_0000)
        );
        assert_eq!(parse_arg(X86_64, "O_DIRECTORY"), Ok(0o200000));
        assert_eq!(parse_arg(Aarch64, "O_DIRECTORY"), Ok(0o40000));
        assert_eq!(
            parse_arg(X86_64, "AF_INET|AF_BOGUS"),
            Err("invalid argument value \"AF_BOGUS\"".into())
        );
    }
}

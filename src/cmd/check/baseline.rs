//! `check --baseline BASE`: an error for each call the profile lets run that
//! BASE refuses, per arch, with the argument values, at the rule (or default
//! action) of the profile that lets it run.

use crate::cmd::diff::{point_args, verdict_text, Loaded};
use crate::compile::{self, Mode};
use crate::error::Error;
use crate::profile::{Diagnostic, Profile, Resolved, Severity};
use crate::progress::Progress;
use crate::verdicts::{looser, CallChange, Side};
use std::path::Path;

const CODE: &str = "looser-than-baseline";

/// Argument values named in one error; `--json` users get the same text.
const SHOWN: usize = 4;

pub fn errors(
    base: &Path,
    profile: &Profile,
    resolved: &Resolved,
    progress: &mut Progress,
) -> Result<Vec<Diagnostic>, Error> {
    let base = Loaded::read(base, &resolved.target, progress)?;
    // A profile the runtime refuses has its errors already; nothing to compare.
    let Ok(compiled) = compile::compile_watched(
        resolved,
        Mode::Enforce,
        &mut crate::cmd::merging(progress, resolved),
    ) else {
        return Ok(Vec::new());
    };
    progress.show("comparing with the baseline");
    let side = Side {
        resolved,
        compiled: &compiled,
    };
    let d = looser(base.side(), side);
    let base_name = &base.profile.file;
    let mut out: Vec<Diagnostic> = d
        .only_new
        .iter()
        .map(|a| {
            let msg = format!("the filter covers {a}, which {base_name}'s does not: the baseline refuses every call of {a}");
            at_arches(profile, msg)
        })
        .collect();
    for c in &d.changes {
        out.push(call_error(profile, resolved, &compiled, c, base_name));
    }
    Ok(out)
}

/// `x86_64 mount: SCMP_ACT_ALLOW here, SCMP_ACT_ERRNO(EPERM) in BASE`, at
/// the rule that decides the first of the call's values.
fn call_error(
    profile: &Profile,
    resolved: &Resolved,
    compiled: &compile::Compiled,
    c: &CallChange,
    base_name: &str,
) -> Diagnostic {
    let first = c.points[0];
    let values = if c.whole || c.indices.is_empty() {
        String::new()
    } else {
        let mut some: Vec<String> = c
            .points
            .iter()
            .take(SHOWN)
            .map(|p| point_args(&c.indices, p))
            .collect();
        if c.points.len() > SHOWN {
            some.push(format!("… ({} values tried)", c.points.len()));
        }
        format!(" for {}", some.join("; "))
    };
    let msg = format!(
        "{} {}{values}: {} here, {} in {base_name}",
        c.arch,
        c.name,
        verdict_text(first.new),
        verdict_text(first.old)
    );
    let rule = compiled
        .evaluate(c.arch, c.nr, first.args)
        .origin
        .map(|e| resolved.rules[e].rule)
        .and_then(|i| profile.rules.iter().find(|r| r.index == i));
    let (span, path) = match rule {
        Some(r) => (r.span, profile.path(&format!("syscalls[{}]", r.index))),
        None => {
            let node = profile.seccomp_node();
            let n = node.get("defaultAction").unwrap_or(node);
            (n.span, profile.path("defaultAction"))
        }
    };
    Diagnostic::new(Severity::Error, CODE, &profile.text, span, path, msg).hint(format!(
        "deny {} as {base_name} does, or ask for the baseline to allow it",
        c.name
    ))
}

fn at_arches(profile: &Profile, msg: String) -> Diagnostic {
    let node = profile.seccomp_node();
    let (key, n) = ["archMap", "architectures"]
        .iter()
        .find_map(|k| node.get(k).map(|n| (*k, n)))
        .unwrap_or(("", node));
    Diagnostic::new(
        Severity::Error,
        CODE,
        &profile.text,
        n.span,
        profile.path(key),
        msg,
    )
    .hint("drop the arch, or compare on a target whose baseline covers it")
}

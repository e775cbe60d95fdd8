//! The Detail pane's narrower rule: allow the selected syscall only with the
//! argument values every call so far shared. Only arguments whose values are
//! choices are pinned (flags, modes, families, requests, options: the pinnable
//! kinds of [`crate::syscalls::signatures`]); an fd, a pointer, a size, a pid or a
//! timeout changes from run to run, and a rule pinning one breaks the workload
//! on its next run. When no rule is offered, the reason says why.

use super::Row;
use crate::arch::Arch;
use crate::syscalls::signatures::{self, ArgKind};
use crate::tighten::narrow::{self, Form};

/// Why the Detail pane offers no narrower rule, said to the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoNarrower(pub String);

impl std::fmt::Display for NoNarrower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<&str> for NoNarrower {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// The rule as profile JSON and what it rests on, or why there is none.
pub fn narrower(row: &Row) -> Result<String, NoNarrower> {
    let name = &row.syscall;
    let arch = row.arch.known().unwrap_or_else(Arch::native);
    let Some(kinds) = signatures::kinds(arch, name) else {
        return Err(NoNarrower(format!(
            "the kinds of {name}'s arguments are not known"
        )));
    };
    let choices: Vec<(usize, ArgKind)> = kinds
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, k)| k.pinnable())
        .collect();
    if choices.is_empty() {
        return Err(NoNarrower(match kinds.is_empty() {
            true => format!("{name} takes no arguments"),
            false => format!(
                "{name} takes {}: no flag, mode, family, request or option to pin",
                nouns(kinds.iter().copied())
            ),
        }));
    }
    if row.hits < 2 {
        return Err(NoNarrower(
            "one call so far: a narrower rule needs two that agree".into(),
        ));
    }
    let masks = narrow::positions(arch, name);
    let mut conds = Vec::new();
    let mut seen = Vec::new();
    for &(i, kind) in &choices {
        // Flag words are `int` or `unsigned long`: a value above 32 bits is a
        // sign extension or a pointer slipped in, not a choice to compare with.
        let Some(v) = row.common_args[i].filter(|&v| v <= 0xffff_ffff) else {
            continue;
        };
        let form = masks
            .iter()
            .find(|p| usize::from(p.index) == i)
            .map(|p| p.form);
        match form {
            Some(Form::Masked(mask)) => {
                conds.push(format!(
                    "{{\"index\": {i}, \"value\": {mask}, \"valueTwo\": {}, \"op\": \"SCMP_CMP_MASKED_EQ\"}}",
                    v & mask
                ));
                seen.push(format!(
                    "arg{i} & {mask:#x} = {:#x} ({})",
                    v & mask,
                    kind.noun()
                ));
            }
            _ => {
                conds.push(format!(
                    "{{\"index\": {i}, \"value\": {v}, \"op\": \"SCMP_CMP_EQ\"}}"
                ));
                seen.push(format!("arg{i} = {v:#x} ({})", kind.noun()));
            }
        }
    }
    if conds.is_empty() {
        return Err(NoNarrower(format!(
            "the calls differ in {}: no one value to pin",
            nouns(choices.iter().map(|&(_, k)| k))
        )));
    }
    Ok(format!(
        "{{\"names\": [\"{name}\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{}]}} — all {} calls had {}",
        conds.join(", "),
        row.hits,
        seen.join(", ")
    ))
}

/// `an fd, a pointer and a size or count`, each kind once.
fn nouns(kinds: impl Iterator<Item = ArgKind>) -> String {
    let mut words: Vec<&str> = Vec::new();
    for k in kinds {
        if !words.contains(&k.noun()) {
            words.push(k.noun());
        }
    }
    match words.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::testing::{app_with, config, PROFILE};
    use crate::app::Msg;
    use crate::sources::event::Event;

    /// The row after calls of `name` with each of `calls` as its arguments.
    fn row(name: &str, calls: &[[u64; 6]]) -> Row {
        let mut app = app_with(PROFILE, config(Some("p.json")));
        for args in calls {
            let mut e: Event = crate::app::testing::event(name, 1, 0);
            e.args = Some(*args);
            app.update(Msg::Event(e));
        }
        app.rows[0].clone()
    }

    #[test]
    fn an_fd_a_pointer_a_size_and_an_offset_are_never_pinned() {
        // The case: both calls used fd 3, and the old pane proposed arg0 == 3.
        let call = [3, 0x7fff_4703_b190, 0x310, 0x40, 0, 0];
        let why = narrower(&row("pread64", &[call, call])).unwrap_err();
        assert_eq!(
            why,
            "pread64 takes an fd, a pointer, a size or count and an offset: \
             no flag, mode, family, request or option to pin"
        );
        for name in [
            "read",
            "write",
            "close",
            "kill",
            "nanosleep",
            "poll",
            "getdents64",
            "wait4",
        ] {
            let call = [3, 0x10, 0x20, 0, 0, 0];
            if let Ok(rule) = narrower(&row(name, &[call, call])) {
                // wait4's options and poll's nothing: only the choice is pinned.
                assert!(!rule.contains("\"index\": 0"), "{name}: {rule}");
                assert!(!rule.contains("\"index\": 1"), "{name}: {rule}");
            }
        }
    }

    #[test]
    fn flags_families_and_requests_are_pinned_and_nothing_else() {
        // socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0): the type is tested under its mask.
        let call = [1, 0x80001, 0, 0, 0, 0];
        let rule = narrower(&row("socket", &[call, call])).unwrap();
        assert!(
            rule.starts_with(
                "{\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [\
             {\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}, \
             {\"index\": 1, \"value\": 15, \"valueTwo\": 1, \"op\": \"SCMP_CMP_MASKED_EQ\"}, \
             {\"index\": 2, \"value\": 0, \"op\": \"SCMP_CMP_EQ\"}]}"
            ),
            "{rule}"
        );
        // ioctl on the same fd with the same request: the request, not the fd or the pointer.
        let call = [3, 0x5401, 0x7ffd_0000, 0, 0, 0];
        let rule = narrower(&row("ioctl", &[call, call])).unwrap();
        assert!(
            rule.contains("\"args\": [{\"index\": 1, \"value\": 21505, \"op\": \"SCMP_CMP_EQ\"}]"),
            "{rule}"
        );
        // openat: the flags and the mode, never the dirfd or the path.
        let call = [(-100i64) as u64, 0x5555_0000, 0x80000, 0o644, 0, 0];
        let rule = narrower(&row("openat", &[call, call])).unwrap();
        assert!(
            !rule.contains("\"index\": 0") && !rule.contains("\"index\": 1"),
            "{rule}"
        );
        assert!(rule.contains("\"index\": 2, \"value\": 524288"), "{rule}");
    }

    #[test]
    fn no_rule_says_why() {
        assert_eq!(
            narrower(&row("socket", &[[1, 1, 0, 0, 0, 0]])).unwrap_err(),
            "one call so far: a narrower rule needs two that agree"
        );
        let why = narrower(&row("socket", &[[1, 1, 0, 0, 0, 0], [2, 2, 6, 0, 0, 0]])).unwrap_err();
        assert_eq!(
            why,
            "the calls differ in a request or family, flags and an option: no one value to pin"
        );
        assert_eq!(
            narrower(&row("getpid", &[[0; 6], [0; 6]])).unwrap_err(),
            "getpid takes no arguments"
        );
    }
}

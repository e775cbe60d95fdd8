//! The union of several profiles (one per container of a pod, or one per test
//! run), as SPO's `mergeStrategy: containers` means it: every input's workload
//! still runs under the result.
//!
//! Decided per syscall name, from what each input does with it:
//! - allowed without conditions by one input (or by its ALLOW default): allowed
//!   without conditions, even where another allows it only with arguments;
//! - else allowed with arguments by some: each of their conditional rules is
//!   kept (rules OR), and the other inputs' denials of that name go;
//! - else denied by rules somewhere: the first input's rules for it are kept
//!   (an ENOSYS that a libc falls back on must stay an ENOSYS).
//!
//! The default is the least restrictive of the inputs' defaults. Each rule's
//! comment names the inputs that needed it.

use super::export::{Plain, PlainRule};
use super::model::{Action, ArgCond};
use super::resolve::Target;
use super::Profile;
use std::collections::{BTreeMap, BTreeSet};

/// How far an action lets a workload go, least restrictive first (SPO's order).
fn permissiveness(a: Action) -> u8 {
    match a {
        Action::Allow => 0,
        Action::Log => 1,
        Action::Notify => 2,
        Action::Trace => 3,
        Action::Errno => 4,
        Action::Trap => 5,
        Action::KillThread => 6,
        Action::KillProcess => 7,
    }
}

/// What one input does with one name.
enum Stance<'p> {
    Allowed,
    Conditional(Vec<&'p PlainRule>),
    Denied(Vec<&'p PlainRule>),
    ByDefault,
}

fn stance<'p>(input: &'p Plain, name: &str) -> Stance<'p> {
    let rules: Vec<&PlainRule> = input
        .rules
        .iter()
        .filter(|r| r.names.iter().any(|n| n == name))
        .collect();
    if rules.is_empty() {
        return if input.default_action == Action::Allow {
            Stance::Allowed
        } else {
            Stance::ByDefault
        };
    }
    let allows: Vec<&PlainRule> = rules
        .iter()
        .copied()
        .filter(|r| r.action == Action::Allow)
        .collect();
    if allows.iter().any(|r| r.args.is_empty()) {
        Stance::Allowed
    } else if !allows.is_empty() {
        Stance::Conditional(allows)
    } else {
        Stance::Denied(rules)
    }
}

/// What the merge had to decide against an input, for the user to read.
#[derive(Clone, Debug, PartialEq)]
pub struct Merged {
    pub plain: Plain,
    pub notes: Vec<String>,
}

/// Merges `inputs` (label, profile) for `target`.
pub fn merge(inputs: &[(String, &Profile)], target: &Target) -> Merged {
    let plains: Vec<Plain> = inputs
        .iter()
        .map(|(_, p)| Plain::for_target(p, target))
        .collect();
    let labels: Vec<&str> = inputs.iter().map(|(l, _)| l.as_str()).collect();
    let mut notes = Vec::new();

    let first = &plains[0];
    let default = plains
        .iter()
        .min_by_key(|p| permissiveness(p.default_action))
        .expect("at least one input");
    if plains.iter().any(|p| {
        (p.default_action, p.default_errno) != (default.default_action, default.default_errno)
    }) {
        notes.push(format!(
            "the inputs' defaults differ: the result takes the least restrictive, {}",
            default.default_action.name()
        ));
    }

    let names: BTreeSet<&str> = plains
        .iter()
        .flat_map(|p| {
            p.rules
                .iter()
                .flat_map(|r| r.names.iter().map(String::as_str))
        })
        .collect();
    // Allowed names grouped by the inputs that needed them.
    let mut groups: BTreeMap<Vec<usize>, Vec<String>> = BTreeMap::new();
    let mut conditional: Vec<PlainRule> = Vec::new();
    let mut denied: Vec<PlainRule> = Vec::new();
    for name in names {
        let stances: Vec<Stance> = plains.iter().map(|p| stance(p, name)).collect();
        let needed_by: Vec<usize> = stances
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Stance::Allowed | Stance::Conditional(_)))
            .map(|(i, _)| i)
            .collect();
        if stances.iter().any(|s| matches!(s, Stance::Allowed)) {
            if default.default_action != Action::Allow {
                groups.entry(needed_by).or_default().push(name.to_string());
            }
            continue;
        }
        if !needed_by.is_empty() {
            let mut seen: Vec<(Option<u32>, Vec<ArgCond>)> = Vec::new();
            for (i, s) in stances.iter().enumerate() {
                let Stance::Conditional(rules) = s else {
                    continue;
                };
                for r in rules {
                    let key = (r.errno_ret, r.args.clone());
                    if seen.contains(&key) {
                        continue;
                    }
                    seen.push(key);
                    conditional.push(PlainRule {
                        names: vec![name.to_string()],
                        action: Action::Allow,
                        errno_ret: None,
                        args: r.args.clone(),
                        comment: Some(format!(
                            "{name} with these arguments: needed by {}",
                            labels[i]
                        )),
                        path: r.path.clone(),
                    });
                }
            }
            for (i, s) in stances.iter().enumerate() {
                if let Stance::Denied(_) = s {
                    notes.push(format!(
                        "{name}: {} denied it; allowed with arguments as {} needs",
                        labels[i],
                        needed_by
                            .iter()
                            .map(|&j| labels[j])
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            continue;
        }
        let mut denials = stances.iter().enumerate().filter_map(|(i, s)| match s {
            Stance::Denied(rules) => Some((i, rules)),
            _ => None,
        });
        if let Some((i, rules)) = denials.next() {
            for other in denials {
                let same = other
                    .1
                    .iter()
                    .map(|r| (r.action, r.errno_ret, &r.args))
                    .eq(rules.iter().map(|r| (r.action, r.errno_ret, &r.args)));
                if !same {
                    notes.push(format!(
                        "{name}: {} and {} deny it differently; the result keeps {}'s",
                        labels[i], labels[other.0], labels[i]
                    ));
                }
            }
            for r in rules {
                denied.push(PlainRule {
                    names: vec![name.to_string()],
                    comment: Some(format!("{name}: as {} has it", labels[i])),
                    ..(*r).clone()
                });
            }
        }
    }

    let every = (0..plains.len()).collect::<Vec<_>>();
    let mut rules: Vec<PlainRule> = groups
        .into_iter()
        .map(|(by, names)| {
            let who = if by == every {
                "every input".to_string()
            } else {
                by.iter().map(|&i| labels[i]).collect::<Vec<_>>().join(", ")
            };
            PlainRule {
                names,
                action: Action::Allow,
                errno_ret: None,
                args: Vec::new(),
                comment: Some(format!("needed by {who}")),
                path: String::new(),
            }
        })
        .collect();
    // The widest group first, as a reviewer reads it.
    rules.sort_by_key(|r| std::cmp::Reverse(r.names.len()));
    rules.extend(conditional);
    rules.extend(denied);

    let union = |get: fn(&Plain) -> &Vec<String>| {
        let mut out: Vec<String> = Vec::new();
        for p in &plains {
            for a in get(p) {
                if !out.contains(a) {
                    out.push(a.clone());
                }
            }
        }
        out
    };
    let architectures = if plains.iter().any(|p| p.architectures.is_empty()) {
        // An input without a list covers only the native arch: the union of
        // that and the others' lists is their lists plus the native arch.
        let mut a = union(|p| &p.architectures);
        let native = target.arch.scmp_name().to_string();
        if !a.is_empty() && !a.contains(&native) {
            a.insert(0, native);
        }
        a
    } else {
        union(|p| &p.architectures)
    };
    Merged {
        plain: Plain {
            default_action: default.default_action,
            default_errno: default.default_errno,
            architectures,
            flags: union(|p| &p.flags),
            listener_path: plains.iter().find_map(|p| p.listener_path.clone()),
            listener_metadata: plains.iter().find_map(|p| p.listener_metadata.clone()),
            base_profile: first.base_profile.clone(),
            rules,
        },
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::{compile, Mode};
    use crate::profile::{load_str, resolve, Verdict};

    fn load(name: &str, text: &str) -> Profile {
        load_str(name, text.to_string()).unwrap()
    }

    fn verdict(p: &Profile, name: &str, args: [u64; 6]) -> Verdict {
        let target = Target::docker_on_host();
        let resolved = resolve(p, &target);
        let compiled = compile(&resolved, Mode::Enforce).unwrap();
        let arch = target.arch;
        let nr = arch.syscall_nr(name).unwrap();
        compiled.evaluate(arch, nr, args).verdict
    }

    const A: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","write","socket"],"action":"SCMP_ACT_ALLOW"},
        {"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#;
    const B: &str = r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
        {"names":["read","openat"],"action":"SCMP_ACT_ALLOW"},
        {"names":["socket"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
        {"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#;

    fn merged() -> (Profile, Profile, Profile, Merged) {
        let (a, b) = (load("a.json", A), load("b.json", B));
        let m = merge(
            &[("a.json".into(), &a), ("b.json".into(), &b)],
            &Target::docker_on_host(),
        );
        let text = serde_json::to_string(&m.plain.to_json(true)).unwrap();
        (a, b, load("m.json", &text), m)
    }

    #[test]
    fn everything_either_input_allows_the_result_allows() {
        let (a, b, m, _) = merged();
        for (input, calls) in [
            (&a, vec![("read", 0), ("write", 0), ("socket", 2)]),
            (
                &b,
                vec![
                    ("read", 0),
                    ("openat", 0),
                    ("socket", 1),
                    ("personality", 8),
                ],
            ),
        ] {
            for (name, arg0) in calls {
                let args = [arg0, 0, 0, 0, 0, 0];
                assert_eq!(
                    verdict(input, name, args),
                    Verdict::ALLOW,
                    "{name} in input"
                );
                assert_eq!(verdict(&m, name, args), Verdict::ALLOW, "{name} in merge");
            }
        }
    }

    #[test]
    fn allowed_with_args_in_one_and_without_in_the_other_is_allowed_without() {
        let (_, _, m, _) = merged();
        assert_eq!(verdict(&m, "socket", [10, 0, 0, 0, 0, 0]), Verdict::ALLOW);
        // Only b allowed personality, and only with 8.
        assert_eq!(
            verdict(&m, "personality", [8, 0, 0, 0, 0, 0]),
            Verdict::ALLOW
        );
        assert_eq!(
            verdict(&m, "personality", [0, 0, 0, 0, 0, 0]).action,
            Action::Errno
        );
    }

    #[test]
    fn denials_stay_as_written_and_comments_name_who_needed_what() {
        let (_, _, m, merged) = merged();
        assert_eq!(
            verdict(&m, "clone3", [0; 6]),
            Verdict {
                action: Action::Errno,
                data: 38
            }
        );
        assert_eq!(verdict(&m, "mount", [0; 6]).action, Action::Errno);
        let comments: Vec<&str> = merged
            .plain
            .rules
            .iter()
            .filter_map(|r| r.comment.as_deref())
            .collect();
        assert!(comments.contains(&"needed by every input"), "{comments:?}");
        assert!(comments.contains(&"needed by a.json"), "{comments:?}");
        assert!(comments.contains(&"needed by b.json"), "{comments:?}");
        assert!(
            comments
                .iter()
                .any(|c| c.starts_with("personality with these arguments: needed by b.json")),
            "{comments:?}"
        );
        let every = merged
            .plain
            .rules
            .iter()
            .find(|r| r.comment.as_deref() == Some("needed by every input"))
            .unwrap();
        assert_eq!(every.names, ["read", "socket"]);
    }
}

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

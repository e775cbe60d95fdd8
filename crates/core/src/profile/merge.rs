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
    let default = least_restrictive_default(&plains, &mut notes);

    let mut gathered = Gathered::default();
    for name in every_name(&plains) {
        gathered.add(name, &plains, &labels, default.default_action);
    }
    notes.append(&mut gathered.notes);
    Merged {
        plain: Plain {
            default_action: default.default_action,
            default_errno: default.default_errno,
            architectures: architectures(&plains, target),
            flags: union(&plains, |p| &p.flags),
            listener_path: plains.iter().find_map(|p| p.listener_path.clone()),
            listener_metadata: plains.iter().find_map(|p| p.listener_metadata.clone()),
            base_profile: plains[0].base_profile.clone(),
            rules: gathered.into_rules(&labels),
        },
        notes,
    }
}

/// The input whose default the result takes, noting when the inputs differ.
fn least_restrictive_default<'p>(plains: &'p [Plain], notes: &mut Vec<String>) -> &'p Plain {
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
    default
}

/// Every name some input has a rule for, sorted.
fn every_name(plains: &[Plain]) -> BTreeSet<&str> {
    plains
        .iter()
        .flat_map(|p| {
            p.rules
                .iter()
                .flat_map(|r| r.names.iter().map(String::as_str))
        })
        .collect()
}

/// The result's rules as they are decided, name by name.
#[derive(Default)]
struct Gathered {
    /// Names allowed without conditions, grouped by the inputs that needed them.
    groups: BTreeMap<Vec<usize>, Vec<String>>,
    conditional: Vec<PlainRule>,
    denied: Vec<PlainRule>,
    notes: Vec<String>,
}

impl Gathered {
    fn add(&mut self, name: &str, plains: &[Plain], labels: &[&str], default: Action) {
        let stances: Vec<Stance> = plains.iter().map(|p| stance(p, name)).collect();
        let needed_by: Vec<usize> = stances
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Stance::Allowed | Stance::Conditional(_)))
            .map(|(i, _)| i)
            .collect();
        if stances.iter().any(|s| matches!(s, Stance::Allowed)) {
            if default != Action::Allow {
                self.groups
                    .entry(needed_by)
                    .or_default()
                    .push(name.to_string());
            }
        } else if !needed_by.is_empty() {
            self.allow_with_arguments(name, &stances, labels, &needed_by);
        } else {
            self.keep_first_denial(name, &stances, labels);
        }
    }

    /// Every input's distinct conditional rule for `name` (they OR); the
    /// inputs that denied it are told.
    fn allow_with_arguments(
        &mut self,
        name: &str,
        stances: &[Stance],
        labels: &[&str],
        needed_by: &[usize],
    ) {
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
                self.conditional.push(PlainRule {
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
        let needers = needed_by
            .iter()
            .map(|&j| labels[j])
            .collect::<Vec<_>>()
            .join(", ");
        for (i, s) in stances.iter().enumerate() {
            if let Stance::Denied(_) = s {
                self.notes.push(format!(
                    "{name}: {} denied it; allowed with arguments as {needers} needs",
                    labels[i],
                ));
            }
        }
    }

    /// The first denying input's rules for `name`, noting inputs that deny it
    /// differently.
    fn keep_first_denial(&mut self, name: &str, stances: &[Stance], labels: &[&str]) {
        let mut denials = stances.iter().enumerate().filter_map(|(i, s)| match s {
            Stance::Denied(rules) => Some((i, rules)),
            _ => None,
        });
        let Some((i, rules)) = denials.next() else {
            return;
        };
        for other in denials {
            let same = other
                .1
                .iter()
                .map(|r| (r.action, r.errno_ret, &r.args))
                .eq(rules.iter().map(|r| (r.action, r.errno_ret, &r.args)));
            if !same {
                self.notes.push(format!(
                    "{name}: {} and {} deny it differently; the result keeps {}'s",
                    labels[i], labels[other.0], labels[i]
                ));
            }
        }
        for r in rules {
            self.denied.push(PlainRule {
                names: vec![name.to_string()],
                comment: Some(format!("{name}: as {} has it", labels[i])),
                ..(*r).clone()
            });
        }
    }

    /// The groups (widest first, as a reviewer reads them), then the
    /// conditional rules, then the denials.
    fn into_rules(self, labels: &[&str]) -> Vec<PlainRule> {
        let every = (0..labels.len()).collect::<Vec<_>>();
        let mut rules: Vec<PlainRule> = self
            .groups
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
        rules.sort_by_key(|r| std::cmp::Reverse(r.names.len()));
        rules.extend(self.conditional);
        rules.extend(self.denied);
        rules
    }
}

/// The inputs' lists, each entry once, in the order first met.
fn union(plains: &[Plain], get: fn(&Plain) -> &Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in plains {
        for a in get(p) {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
    }
    out
}

fn architectures(plains: &[Plain], target: &Target) -> Vec<String> {
    let mut a = union(plains, |p| &p.architectures);
    if plains.iter().any(|p| p.architectures.is_empty()) {
        // An input without a list covers only the native arch: the union of
        // that and the others' lists is their lists plus the native arch.
        let native = target.arch.scmp_name().to_string();
        if !a.is_empty() && !a.contains(&native) {
            a.insert(0, native);
        }
    }
    a
}

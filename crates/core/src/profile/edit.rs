//! The edit engine: allow, deny or remove a syscall with the smallest change a
//! reviewer would make by hand.
//!
//! Edits splice the original text at the spans the parser recorded; the
//! document is never re-serialised, so every line an edit does not need to
//! touch stays byte for byte as it was. Each step (take one name out of one
//! rule, add one name, add one rule) is a single splice followed by a re-load,
//! so no step works from stale spans and the result is always a valid profile.

use super::indent::{elements, indent_of_line, sorted_position, starts_line, Out, RuleKey, Style};
use super::model::{Action, ArgCond, CmpOp, Profile, Rule, Syntax};
use super::yaml_edit;
use super::{load_str, LoadError};
use crate::arch::{is_known_anywhere, Arch};
use crate::errno;
use crate::json::{self, Node, Span};
use crate::suggest::closest;
use std::fmt;

use super::model::{EPERM, ERRNO_MAX};

/// One change asked of a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Edit {
    /// Let the syscall through, whatever the target.
    Allow(String),
    /// Make the syscall fail: with `errno`, or with the default's denial when
    /// that is one and no errno is given.
    Deny { name: String, errno: Option<u32> },
    /// Take the syscall out of every rule, so the default action applies.
    Remove(String),
}

impl Edit {
    /// Reads `NAME` or `NAME:ERRNO` (`clone3:ENOSYS`, `clone3:38`) as a deny.
    pub fn parse_deny(spec: &str) -> Result<Edit, EditError> {
        let (name, errno) = match spec.split_once(':') {
            None => (spec, None),
            Some((name, errno)) => (name, Some(parse_errno(errno)?)),
        };
        Ok(Edit::Deny {
            name: name.trim().to_string(),
            errno,
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Edit::Allow(name) | Edit::Remove(name) | Edit::Deny { name, .. } => name,
        }
    }

    /// Is the name a syscall on some architecture? Typos are refused with a suggestion.
    pub fn validate(&self) -> Result<(), EditError> {
        let name = self.name();
        if is_known_anywhere(name) {
            return Ok(());
        }
        let all = Arch::ALL
            .iter()
            .flat_map(|arch| arch.syscalls().iter().map(|&(n, _)| n));
        Err(EditError::UnknownSyscall {
            name: name.to_string(),
            suggestion: closest(name, all),
        })
    }
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Allow(name) => write!(f, "allowed {name}"),
            Edit::Deny { name, errno: None } => write!(f, "denied {name}"),
            Edit::Deny {
                name,
                errno: Some(e),
            } => write!(f, "denied {name} with {}", errno::describe(*e)),
            Edit::Remove(name) => write!(f, "removed {name}"),
        }
    }
}

fn parse_errno(spec: &str) -> Result<u32, EditError> {
    let bad = |suggestion| EditError::BadErrno {
        spec: spec.trim().to_string(),
        suggestion,
    };
    match errno::parse(spec) {
        Some(n) if n <= ERRNO_MAX => Ok(n),
        Some(_) => Err(bad(None)),
        None => Err(bad(closest(spec.trim(), errno::names()))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(
        "unknown syscall {}: not a syscall on any architecture eperm knows{}",
        json::quote(name),
        hint(suggestion)
    )]
    UnknownSyscall {
        name: String,
        suggestion: Option<&'static str>,
    },
    #[error(
        "bad errno {}: expected a name like ENOSYS or a number up to {ERRNO_MAX}{}",
        json::quote(spec),
        hint(suggestion)
    )]
    BadErrno {
        spec: String,
        suggestion: Option<&'static str>,
    },
    /// The edited text no longer loads: a bug in this module, never the user's fault.
    #[error("internal error: the edited profile does not load (please report this)\n{0}")]
    Reload(#[source] LoadError),
}

fn hint(suggestion: &Option<&'static str>) -> String {
    suggestion.map_or(String::new(), |s| {
        format!("\n  hint: did you mean {}?", json::quote(s))
    })
}

/// One thing an edit did, or found already done. Rule paths are JSON paths
/// (`syscalls[3]`, or `linux.seccomp.syscalls[3]` in a config.json): for
/// removals, in the document before the edit; otherwise in the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The name was taken out of the rule's `names`.
    Removed {
        rule: String,
        action: Action,
        conditional: bool,
    },
    /// The rule named only this syscall, so the whole rule went.
    RemovedRule {
        rule: String,
        action: Action,
        conditional: bool,
    },
    /// The name was added to the rule's `names`.
    Added { rule: String },
    /// A new rule was written for the name.
    AddedRule {
        rule: String,
        action: Action,
        errno: Option<u32>,
    },
    /// Nothing to add: this rule already does what was asked.
    Already {
        rule: String,
        action: Action,
        errno: Option<u32>,
    },
    /// A rule that still names the syscall and was left as it is.
    Kept {
        rule: String,
        action: Action,
        conditional: bool,
    },
    /// No rule needed: the default action is what applies.
    Default { action: Action, errno: Option<u32> },
}

impl Change {
    /// Did this change the text?
    pub fn is_edit(&self) -> bool {
        matches!(
            self,
            Change::Removed { .. }
                | Change::RemovedRule { .. }
                | Change::Added { .. }
                | Change::AddedRule { .. }
        )
    }
}

fn action_text(action: Action, errno: Option<u32>, conditional: bool) -> String {
    let mut out = action.name().to_string();
    if let Some(e) = errno {
        out += &format!(" {}", errno::describe(e));
    }
    if conditional {
        out += ", conditional";
    }
    out
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Removed {
                rule,
                action,
                conditional,
            } => write!(
                f,
                "removed from {rule}.names ({})",
                action_text(*action, None, *conditional)
            ),
            Change::RemovedRule {
                rule,
                action,
                conditional,
            } => write!(
                f,
                "removed {rule} ({}), which named only it",
                action_text(*action, None, *conditional)
            ),
            Change::Added { rule } => write!(f, "added to {rule}.names"),
            Change::AddedRule {
                rule,
                action,
                errno,
            } => write!(f, "added {rule} ({})", action_text(*action, *errno, false)),
            Change::Already {
                rule,
                action,
                errno,
            } => write!(
                f,
                "{rule} already does that ({})",
                action_text(*action, *errno, false)
            ),
            Change::Kept {
                rule,
                action,
                conditional,
            } => write!(
                f,
                "kept {rule} ({})",
                action_text(*action, None, *conditional)
            ),
            Change::Default { action, errno } => write!(
                f,
                "the default action applies ({})",
                action_text(*action, *errno, false)
            ),
        }
    }
}

/// What one [`Edit`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditReport {
    pub edit: Edit,
    pub changes: Vec<Change>,
}

impl EditReport {
    /// Did this edit change the text?
    pub fn changed(&self) -> bool {
        self.changes.iter().any(Change::is_edit)
    }
}

/// One line: `allowed reboot: added to syscalls[0].names`.
impl fmt::Display for EditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.edit)?;
        if !self.changed() {
            f.write_str("no change, ")?;
        }
        let parts: Vec<String> = self.changes.iter().map(Change::to_string).collect();
        f.write_str(&parts.join("; "))
    }
}

/// The result of [`apply`]: the edited profile (re-loaded) and what each edit did.
#[derive(Clone, Debug)]
pub struct Applied {
    pub profile: Profile,
    pub reports: Vec<EditReport>,
}

impl Applied {
    /// The new text of the file.
    pub fn text(&self) -> &str {
        &self.profile.text
    }

    pub fn changed(&self) -> bool {
        self.reports.iter().any(EditReport::changed)
    }

    /// The names of the edits that changed the text, in edit order.
    pub fn changed_names(&self) -> impl Iterator<Item = &str> {
        self.reports
            .iter()
            .filter(|r| r.changed())
            .map(|r| r.edit.name())
    }
}

/// Applies `edits` in order to `profile`'s text. Names are validated first,
/// so either every edit applies or none does.
pub fn apply(profile: &Profile, edits: &[Edit]) -> Result<Applied, EditError> {
    apply_commented(profile, edits, None)
}

/// Like [`apply`], giving every rule it has to create a `"comment"` (e.g. who made it).
pub fn apply_commented(
    profile: &Profile,
    edits: &[Edit],
    comment: Option<&str>,
) -> Result<Applied, EditError> {
    apply_placed(profile, edits, comment, false)
}

/// Like [`apply_commented`], but names are only added to rules carrying the same
/// comment (else a new rule gets it): allowances made for one reason stay
/// together, apart from the profile's own, e.g. what a container runtime needs.
pub fn apply_grouped(
    profile: &Profile,
    edits: &[Edit],
    comment: &str,
) -> Result<Applied, EditError> {
    apply_placed(profile, edits, Some(comment), true)
}

/// Like [`apply`], but names are only added to rules without a comment: a rule
/// made for a stated reason (`merge`'s "needed by every input") is not made to
/// say it of a name added later; a new rule takes the name then.
pub fn apply_uncommented(profile: &Profile, edits: &[Edit]) -> Result<Applied, EditError> {
    apply_placed(profile, edits, None, true)
}

fn apply_placed(
    profile: &Profile,
    edits: &[Edit],
    comment: Option<&str>,
    grouped: bool,
) -> Result<Applied, EditError> {
    // Taking out a name the profile lists is sound whatever the name (a junk
    // `WIFEXITED` from a bad import included); any other unknown name is a typo.
    let listed = |name: &str| {
        profile
            .rules
            .iter()
            .any(|r| r.names.iter().any(|n| n.name == name))
    };
    edits
        .iter()
        .filter(|e| !matches!(e, Edit::Remove(name) if listed(name)))
        .try_for_each(Edit::validate)?;
    let mut current = profile.clone();
    let mut reports = Vec::with_capacity(edits.len());
    for edit in edits {
        let (next, changes) = apply_one(current, edit, comment, grouped)?;
        current = next;
        reports.push(EditReport {
            edit: edit.clone(),
            changes,
        });
    }
    Ok(Applied {
        profile: current,
        reports,
    })
}

/// Appends a rule `name` with `action` that applies only when argument `index`
/// equals `value`: one condition, so that every runtime reads it the same way.
pub fn add_arg_rule(
    profile: &Profile,
    name: &str,
    action: Action,
    (index, value): (u8, u32),
    comment: Option<&str>,
) -> Result<Profile, EditError> {
    let cond = ArgCond {
        index,
        value: u64::from(value),
        value_two: 0,
        op: CmpOp::Eq,
    };
    add_rule_for(profile, name, (action, None), &[cond], comment)
}

/// Appends a rule for `name` with `action` and its `errnoRet` (when given),
/// and `conds` as its `args`, written as given (runc reads them: ANDed unless
/// an index repeats). No conditions: an unconditional rule.
pub fn add_rule_for(
    profile: &Profile,
    name: &str,
    (action, errno): (Action, Option<u32>),
    conds: &[ArgCond],
    comment: Option<&str>,
) -> Result<Profile, EditError> {
    Edit::Allow(name.to_string()).validate()?;
    let style = Style::detect(profile);
    let body = RuleBody {
        action,
        errno,
        conds,
        raw: &[],
        comment,
    };
    let (splice, _) = add_rule(profile, &style, name, &body, None);
    reload(profile, splice)
}

/// Narrows rule `syscalls[rule_index]`'s allowance of `name`: the name leaves the
/// rule (the whole rule goes when it is its only name) and one new rule per entry
/// of `alternatives` takes its place, each with the rule's action, `errnoRet`,
/// `includes` and `excludes` (copied as written) and the entry as its `args`.
/// Give each entry conditions on distinct indices: they are then ANDed by every
/// runtime, and the separate rules ORed. No alternatives: the name only leaves.
pub fn narrow_rule(
    profile: &Profile,
    rule_index: usize,
    name: &str,
    alternatives: &[Vec<ArgCond>],
    comment: Option<&str>,
) -> Result<Profile, EditError> {
    Edit::Allow(name.to_string()).validate()?;
    let Some(rule) = profile.rules.iter().find(|r| r.index == rule_index) else {
        return Ok(profile.clone());
    };
    let Some(name_pos) = rule.names.iter().position(|n| n.name == name) else {
        return Ok(profile.clone());
    };
    let node = rule_node(profile, rule);
    let raw = includes_and_excludes(profile, node);
    let (action, errno) = (rule.action, rule.errno_ret);
    let (splice, mut at) = if rule.names.len() == 1 {
        (remove_rule(profile, rule), rule_index)
    } else {
        (remove_name(profile, rule, name_pos), rule_index + 1)
    };
    let mut out = reload(profile, splice)?;
    for conds in alternatives {
        let style = Style::detect(&out);
        let body = RuleBody {
            action,
            errno,
            conds,
            raw: &raw,
            comment,
        };
        let (splice, k) = add_rule(&out, &style, name, &body, Some(at));
        out = reload(&out, splice)?;
        at = k + 1;
    }
    Ok(out)
}

/// A rule's `includes` and `excludes` as written, to be copied to a rule made
/// from it.
fn includes_and_excludes(profile: &Profile, node: &Node) -> Vec<(&'static str, String)> {
    ["includes", "excludes"]
        .into_iter()
        .filter_map(|key| {
            let n = node.get(key)?;
            Some((key, profile.text[n.span.start..n.span.end].to_string()))
        })
        .collect()
}

/// Gives `name` the verdict of rule `syscalls[rule_index]` under `conds`: an
/// unconditional rule just takes the name (so its `includes` and `excludes`
/// apply to it too); a conditional one gets a sibling rule right after it,
/// with its action, `errnoRet`, `includes` and `excludes` and `conds` as its
/// `args` (the rule's conditions, rewritten for `name`'s arguments).
/// `only` (not empty): the sibling is for those arches alone, its
/// `includes.arches` (the rule has no `includes` or `excludes` then).
pub fn add_counterpart(
    profile: &Profile,
    rule_index: usize,
    name: &str,
    conds: &[ArgCond],
    only: &[crate::arch::Arch],
) -> Result<Profile, EditError> {
    Edit::Allow(name.to_string()).validate()?;
    let Some(rule) = profile.rules.iter().find(|r| r.index == rule_index) else {
        return Ok(profile.clone());
    };
    let style = Style::detect(profile);
    let node = rule_node(profile, rule);
    if rule.args.is_empty() && node.get("names").is_some_and(|n| !n.is_null()) {
        if names(rule, name) {
            return Ok(profile.clone());
        }
        return reload(profile, add_name(profile, &style, rule, name));
    }
    let raw = match only {
        [] => includes_and_excludes(profile, node),
        arches => {
            let names: Vec<String> = arches
                .iter()
                .map(|a| format!("\"{}\"", a.go_name()))
                .collect();
            vec![(
                "includes",
                format!("{{\"arches\": [{}]}}", names.join(", ")),
            )]
        }
    };
    let body = RuleBody {
        action: rule.action,
        errno: rule.errno_ret,
        conds,
        raw: &raw,
        comment: None,
    };
    let (splice, _) = add_rule(profile, &style, name, &body, Some(rule_index + 1));
    reload(profile, splice)
}

/// Where the syscall should end up: in a rule with this action, or with the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Home {
    Default,
    Rule { action: Action, errno: Option<u32> },
}

impl Home {
    fn of(profile: &Profile, edit: &Edit) -> Home {
        let default_errno = profile.default_errno.unwrap_or(EPERM);
        let default_denies = matches!(
            profile.default_action,
            Action::Errno | Action::KillThread | Action::KillProcess | Action::Trap
        );
        match *edit {
            Edit::Remove(_) => Home::Default,
            Edit::Allow(_) if profile.default_action == Action::Allow => Home::Default,
            Edit::Allow(_) => Home::Rule {
                action: Action::Allow,
                errno: None,
            },
            Edit::Deny { errno: None, .. } if default_denies => Home::Default,
            Edit::Deny { errno: Some(e), .. }
                if profile.default_action == Action::Errno && e == default_errno =>
            {
                Home::Default
            }
            Edit::Deny { errno, .. } => Home::Rule {
                action: Action::Errno,
                errno: Some(errno.unwrap_or(EPERM)),
            },
        }
    }

    /// Does `rule` (for its names) do exactly what this target asks?
    fn met_by(self, rule: &Rule) -> bool {
        match self {
            Home::Default => false,
            Home::Rule { action, errno } => {
                rule.action == action
                    && (action != Action::Errno
                        || rule.errno_ret.unwrap_or(EPERM) == errno.unwrap_or(EPERM))
            }
        }
    }
}

/// A rule that applies to every target: no args, no includes, no excludes.
fn unconditional(rule: &Rule) -> bool {
    rule.args.is_empty() && rule.includes.is_empty() && rule.excludes.is_empty()
}

fn names(rule: &Rule, name: &str) -> bool {
    rule.names.iter().any(|n| n.name == name)
}

/// Must `rule` lose the name for `edit` to hold?
fn must_go(edit: &Edit, target: Home, rule: &Rule) -> bool {
    match edit {
        Edit::Remove(_) => true,
        Edit::Allow(_) => unconditional(rule) && rule.action != Action::Allow,
        // A conditional allow would still let it through sometimes: it goes too.
        Edit::Deny { .. } => {
            rule.action == Action::Allow || (unconditional(rule) && !target.met_by(rule))
        }
    }
}

fn apply_one(
    mut profile: Profile,
    edit: &Edit,
    comment: Option<&str>,
    grouped: bool,
) -> Result<(Profile, Vec<Change>), EditError> {
    let name = edit.name();
    let target = Home::of(&profile, edit);
    let mut changes = Vec::new();

    // Last rule first, so that the paths reported are those of the document
    // before the edit: taking out a later rule never moves an earlier one.
    while let Some((rule_pos, name_pos)) = last_to_remove(&profile, edit, target) {
        let rule = &profile.rules[rule_pos];
        let (path, action, conditional) = (
            rule_path(&profile, rule.index),
            rule.action,
            !unconditional(rule),
        );
        // A rule left with no names would mean nothing: it goes whole.
        let (change, splice) = if rule.names.len() == 1 {
            let change = Change::RemovedRule {
                rule: path,
                action,
                conditional,
            };
            (change, remove_rule(&profile, rule))
        } else {
            let change = Change::Removed {
                rule: path,
                action,
                conditional,
            };
            (change, remove_name(&profile, rule, name_pos))
        };
        changes.push(change);
        profile = reload(&profile, splice)?;
    }

    let mut keeper = None;
    if let Home::Rule { action, errno } = target {
        let style = Style::detect(&profile);
        let existing = profile
            .rules
            .iter()
            .find(|r| unconditional(r) && target.met_by(r) && names(r, name));
        if let Some(rule) = existing {
            keeper = Some(rule.index);
            changes.push(Change::Already {
                rule: rule_path(&profile, rule.index),
                action,
                errno,
            });
        } else if let Some(rule) = best_block(&profile, target, grouped.then_some(comment)) {
            let index = rule.index;
            let splice = add_name(&profile, &style, rule, name);
            profile = reload(&profile, splice)?;
            keeper = Some(index);
            changes.push(Change::Added {
                rule: rule_path(&profile, index),
            });
        } else {
            let body = RuleBody {
                action,
                errno,
                conds: &[],
                raw: &[],
                comment,
            };
            let (splice, index) = add_rule(&profile, &style, name, &body, None);
            profile = reload(&profile, splice)?;
            keeper = Some(index);
            changes.push(Change::AddedRule {
                rule: rule_path(&profile, index),
                action,
                errno,
            });
        }
    }

    for rule in &profile.rules {
        if Some(rule.index) != keeper && names(rule, name) {
            changes.push(Change::Kept {
                rule: rule_path(&profile, rule.index),
                action: rule.action,
                conditional: !unconditional(rule),
            });
        }
    }
    if target == Home::Default {
        let errno = (profile.default_action == Action::Errno)
            .then(|| profile.default_errno.unwrap_or(EPERM));
        changes.push(Change::Default {
            action: profile.default_action,
            errno,
        });
    }
    Ok((profile, changes))
}

/// The last (rule, name) position where the name must be taken out.
fn last_to_remove(profile: &Profile, edit: &Edit, target: Home) -> Option<(usize, usize)> {
    profile
        .rules
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, rule)| must_go(edit, target, rule))
        .find_map(|(pos, rule)| {
            let at = rule.names.iter().rposition(|n| n.name == edit.name())?;
            Some((pos, at))
        })
}

/// The block to add the name to: an unconditional rule doing what the target
/// asks with a `names` list (and, when `comment` is given, that comment); the
/// largest such (Docker's big allow list), first on ties.
fn best_block<'p>(
    profile: &'p Profile,
    target: Home,
    comment: Option<Option<&str>>,
) -> Option<&'p Rule> {
    let has_list = |rule: &Rule| {
        let list = rule_node(profile, rule).get("names");
        list.and_then(Node::items).is_some()
    };
    profile
        .rules
        .iter()
        .filter(|r| unconditional(r) && target.met_by(r) && has_list(r))
        .filter(|r| match comment {
            None => true,
            Some(None) => !commented(profile, r),
            Some(Some(c)) => r.comment.as_deref() == Some(c),
        })
        // max_by_key keeps the last of equals: reversed, that is the first.
        .rev()
        .max_by_key(|r| r.names.len())
}

/// Does `rule` carry a comment: its own, or in YAML one above it or on its
/// lines (`- names: [clone3]   # glibc falls back to clone on ENOSYS`)? A name
/// added to it would be said to be there for that reason.
fn commented(profile: &Profile, rule: &Rule) -> bool {
    let span = rule_node(profile, rule).span;
    rule.comment.is_some()
        || (profile.syntax == Syntax::Yaml
            && super::yaml::has_comment(&profile.text, span.start, span.end))
}

fn rule_path(profile: &Profile, index: usize) -> String {
    profile.path(&format!("syscalls[{index}]"))
}

fn syscalls_node(profile: &Profile) -> Option<&Node> {
    profile.seccomp_node().get("syscalls")
}

fn rule_node<'p>(profile: &'p Profile, rule: &Rule) -> &'p Node {
    syscalls_node(profile)
        .and_then(Node::items)
        .and_then(|items| items.get(rule.index))
        .expect("a loaded rule stands in syscalls[]")
}

/// Text to put in place of `span`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Splice {
    span: Span,
    text: String,
}

impl Splice {
    fn insert(at: usize, text: String) -> Splice {
        Splice {
            span: Span { start: at, end: at },
            text,
        }
    }

    fn delete(start: usize, end: usize) -> Splice {
        Splice {
            span: Span { start, end },
            text: String::new(),
        }
    }

    fn apply(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.text.len());
        out.push_str(&text[..self.span.start]);
        out.push_str(&self.text);
        out.push_str(&text[self.span.end..]);
        out
    }
}

fn reload(profile: &Profile, splice: Splice) -> Result<Profile, EditError> {
    load_str(&profile.file, splice.apply(&profile.text)).map_err(EditError::Reload)
}

/// Deletes element `i` of a container with several elements, with one of
/// its separators. Where the element has a line to itself the whole line
/// goes; the separator taken is the one that keeps the neighbours' layout.
fn remove_element(text: &str, spans: &[Span], i: usize) -> Splice {
    assert!(spans.len() > 1, "callers remove the container instead");
    let sep_before_has_newline = i > 0 && text[spans[i - 1].end..spans[i].start].contains('\n');
    let sep_after_has_newline =
        i + 1 < spans.len() && text[spans[i].end..spans[i + 1].start].contains('\n');
    let take_following =
        i + 1 < spans.len() && (i == 0 || sep_before_has_newline || !sep_after_has_newline);
    if take_following {
        Splice::delete(spans[i].start, spans[i + 1].start)
    } else {
        Splice::delete(spans[i - 1].end, spans[i].end)
    }
}

/// Inserts an element at position `k` of a non-empty container, separated as
/// its neighbours are. `render` gets the indentation of the line the element
/// will start on.
fn insert_element(
    text: &str,
    spans: &[Span],
    k: usize,
    style: &Style,
    render: impl FnOnce(&str) -> String,
) -> Splice {
    let n = spans.len();
    assert!(n > 0, "callers replace an empty container instead");
    let sep = if n >= 2 {
        let i = k.clamp(1, n - 1);
        text[spans[i - 1].end..spans[i].start].to_string()
    } else if starts_line(text, spans[0].start) {
        let indent = indent_of_line(text, spans[0].start);
        format!(",{}{indent}", style.newline)
    } else {
        style.comma.clone()
    };
    let neighbour = spans[k.min(n - 1)];
    let element = render(indent_of_line(text, neighbour.start));
    if k < n {
        Splice::insert(spans[k].start, element + &sep)
    } else {
        Splice::insert(spans[n - 1].end, sep + &element)
    }
}

/// Is `node` a YAML block collection, edited by whole lines?
fn yaml_block(profile: &Profile, node: &Node) -> bool {
    profile.syntax == Syntax::Yaml && yaml_edit::is_block(&profile.text, node)
}

fn remove_rule(profile: &Profile, rule: &Rule) -> Splice {
    let syscalls = syscalls_node(profile).expect("a rule stands in syscalls[]");
    let spans = elements(syscalls);
    if yaml_block(profile, syscalls) {
        let text = &profile.text;
        if spans.len() == 1 {
            let newline = Style::detect(profile).newline;
            let (span, text) = yaml_edit::set_sequence(
                text,
                profile.seccomp_node(),
                "syscalls",
                &[],
                None,
                newline,
            );
            return Splice { span, text };
        }
        let span = yaml_edit::remove_item(text, &spans, rule.index);
        return Splice::delete(span.start, span.end);
    }
    if spans.len() == 1 {
        return Splice {
            span: syscalls.span,
            text: "[]".into(),
        };
    }
    remove_element(&profile.text, &spans, rule.index)
}

fn remove_name(profile: &Profile, rule: &Rule, at: usize) -> Splice {
    let list = rule_node(profile, rule)
        .get("names")
        .expect("a rule with several names has a names list");
    if yaml_block(profile, list) {
        let span = yaml_edit::remove_item(&profile.text, &elements(list), at);
        return Splice::delete(span.start, span.end);
    }
    remove_element(&profile.text, &elements(list), at)
}

fn add_name(profile: &Profile, style: &Style, rule: &Rule, name: &str) -> Splice {
    let text = profile.text.as_str();
    let list = rule_node(profile, rule)
        .get("names")
        .expect("chosen for its names list");
    let spans = elements(list);
    if spans.is_empty() {
        let filled = Out::Array {
            items: vec![Out::Str(name.to_string())],
            multiline: style.names_multiline,
        };
        return Splice {
            span: list.span,
            text: style.render(&filled, indent_of_line(text, list.span.start)),
        };
    }
    let current: Vec<&str> = rule.names.iter().map(|n| n.name.as_str()).collect();
    let k = sorted_position(&current, name).unwrap_or(current.len());
    if yaml_block(profile, list) {
        let item = [super::export::scalar(name)];
        let (at, text) = yaml_edit::insert_item(text, &spans, k, &item, None, style.newline);
        return Splice::insert(at, text);
    }
    if profile.syntax == Syntax::Yaml {
        return insert_element(text, &spans, k, style, |_| super::export::scalar(name));
    }
    insert_element(text, &spans, k, style, |_| json::quote(name))
}

/// What a new rule says besides its name: action, errno, conditions, and
/// members copied verbatim from another rule (`includes`, `excludes`).
struct RuleBody<'a> {
    action: Action,
    errno: Option<u32>,
    conds: &'a [ArgCond],
    raw: &'a [(&'static str, String)],
    comment: Option<&'a str>,
}

/// Writes a new rule for `name` at position `at` of `syscalls` (the end when
/// `None`; the list is created if need be). Returns the splice and the new
/// rule's index.
fn add_rule(
    profile: &Profile,
    style: &Style,
    name: &str,
    body: &RuleBody<'_>,
    at: Option<usize>,
) -> (Splice, usize) {
    let rule = new_rule(profile, style, name, body);
    if profile.syntax == Syntax::Yaml {
        if let Some(done) = add_yaml_rule(profile, style, &rule, body.comment, at) {
            return done;
        }
    }
    add_json_rule(profile, style, rule, at)
}

/// The new rule's members, in the profile's key order and style.
fn new_rule(profile: &Profile, style: &Style, name: &str, body: &RuleBody<'_>) -> Out {
    let mut members = Vec::new();
    for key in style.key_order {
        match key {
            RuleKey::Names if style.singular_name => {
                members.push(("name", Out::Str(name.to_string())));
            }
            RuleKey::Names => members.push((
                "names",
                Out::Array {
                    items: vec![Out::Str(name.to_string())],
                    multiline: style.names_multiline,
                },
            )),
            RuleKey::Action => members.push(("action", Out::Str(body.action.name().to_string()))),
            RuleKey::ErrnoRet => {
                if let Some(e) = body.errno {
                    members.push(("errnoRet", Out::Num(u64::from(e))));
                }
            }
        }
    }
    if !body.conds.is_empty() {
        let items = body
            .conds
            .iter()
            .map(|c| Out::Object {
                members: vec![
                    ("index", Out::Num(u64::from(c.index))),
                    ("value", Out::Num(c.value)),
                    ("valueTwo", Out::Num(c.value_two)),
                    ("op", Out::Str(c.op.name().into())),
                ],
                multiline: false,
            })
            .collect();
        members.push((
            "args",
            Out::Array {
                items,
                multiline: style.rule_multiline,
            },
        ));
    }
    for (key, raw) in body.raw {
        members.push((key, Out::Raw(raw.clone())));
    }
    // YAML says it with a `#` line above the rule (SeccompProfile has no `comment`).
    if let (false, Some(comment)) = (profile.syntax == Syntax::Yaml, body.comment) {
        members.push(("comment", Out::Str(comment.to_string())));
    }
    Out::Object {
        members,
        multiline: style.rule_multiline,
    }
}

/// Writes `rule` into a block-style YAML `syscalls` (made if need be);
/// `None` where the list is written in flow style, which JSON's writer does.
fn add_yaml_rule(
    profile: &Profile,
    style: &Style,
    rule: &Out,
    comment: Option<&str>,
    at: Option<usize>,
) -> Option<(Splice, usize)> {
    let text = profile.text.as_str();
    let seccomp = profile.seccomp_node();
    let seq = yaml_edit::seq_indent(text, &profile.root);
    let lines = yaml_edit::lines(rule, &seq);
    match syscalls_node(profile) {
        Some(list) if yaml_block(profile, list) => {
            let spans = elements(list);
            let k = at.unwrap_or(spans.len()).min(spans.len());
            let (at, t) = yaml_edit::insert_item(text, &spans, k, &lines, comment, style.newline);
            Some((Splice::insert(at, t), k))
        }
        Some(list) if !elements(list).is_empty() => None,
        _ if yaml_block(profile, seccomp) => {
            let (span, t) =
                yaml_edit::set_sequence(text, seccomp, "syscalls", &lines, comment, style.newline);
            Some((Splice { span, text: t }, 0))
        }
        _ => None,
    }
}

/// Writes `rule` into `syscalls` (made if need be) in JSON, or YAML's flow style.
fn add_json_rule(
    profile: &Profile,
    style: &Style,
    rule: Out,
    at: Option<usize>,
) -> (Splice, usize) {
    let text = profile.text.as_str();
    let new_list = |rule| Out::Array {
        items: vec![rule],
        multiline: !style.unit.is_empty(),
    };
    match syscalls_node(profile) {
        Some(list) if !elements(list).is_empty() => {
            let spans = elements(list);
            let k = at.unwrap_or(spans.len()).min(spans.len());
            let splice = insert_element(text, &spans, k, style, |base| style.render(&rule, base));
            (splice, k)
        }
        // `[]` or `null`: write the list afresh.
        Some(list) => {
            let base = indent_of_line(text, list.span.start);
            let splice = Splice {
                span: list.span,
                text: style.render(&new_list(rule), base),
            };
            (splice, 0)
        }
        None => {
            let seccomp = profile.seccomp_node();
            let spans = elements(seccomp);
            let splice = insert_element(text, &spans, spans.len(), style, |base| {
                let value = style.render(&new_list(rule), base);
                format!("{}{}{value}", json::quote("syscalls"), style.colon)
            });
            (splice, 0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Profile {
        load_str("t.json", text.to_string()).unwrap()
    }

    fn edit(text: &str, edits: &[Edit]) -> (String, Vec<EditReport>) {
        let applied = apply(&load(text), edits).unwrap();
        (applied.profile.text.clone(), applied.reports)
    }

    fn allow(name: &str) -> Edit {
        Edit::Allow(name.into())
    }

    fn deny(name: &str, errno: Option<u32>) -> Edit {
        Edit::Deny {
            name: name.into(),
            errno,
        }
    }

    fn remove(name: &str) -> Edit {
        Edit::Remove(name.into())
    }

    /// DOCKER after `edits` must be DOCKER with `from` replaced by `to`; the reports.
    fn assert_docker_edit(edits: &[Edit], from: &str, to: &str) -> Vec<EditReport> {
        let (text, reports) = edit(DOCKER, edits);
        assert_eq!(text, DOCKER.replace(from, to));
        reports
    }

    /// A Docker-shaped document: tabs, names one per line.
    const DOCKER: &str = "{
\t\"defaultAction\": \"SCMP_ACT_ERRNO\",
\t\"defaultErrnoRet\": 1,
\t\"syscalls\": [
\t\t{
\t\t\t\"names\": [
\t\t\t\t\"close\",
\t\t\t\t\"read\",
\t\t\t\t\"write\"
\t\t\t],
\t\t\t\"action\": \"SCMP_ACT_ALLOW\"
\t\t},
\t\t{
\t\t\t\"names\": [
\t\t\t\t\"ptrace\"
\t\t\t],
\t\t\t\"action\": \"SCMP_ACT_ALLOW\",
\t\t\t\"includes\": {
\t\t\t\t\"minKernel\": \"4.8\"
\t\t\t}
\t\t}
\t]
}
";

    /// `edit`'s placement: a name joins only an uncommented rule doing the same,
    /// denials as allowances; a comment on the rule's line counts as one above.
    #[test]
    fn uncommented_placement_never_joins_a_commented_rule() {
        let json = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "comment": "glibc falls back to clone"},
{"names": ["read"], "action": "SCMP_ACT_ALLOW", "comment": "io"}
]}"#;
        let placed = |text: &str, file: &str, e: Edit| {
            let p = load_str(file, text.to_string()).unwrap();
            let out = apply_uncommented(&p, &[e]).unwrap().profile;
            out.rules.iter().map(|r| r.names.len()).collect::<Vec<_>>()
        };
        assert_eq!(placed(json, "t.json", deny("mount", Some(38))), [1, 1, 1]);
        assert_eq!(placed(json, "t.json", allow("write")), [1, 1, 1]);
        let yaml = "defaultAction: SCMP_ACT_ERRNO\nsyscalls:\n\
- names: [clone3]   # glibc falls back to clone on ENOSYS\n  action: SCMP_ACT_ERRNO\n  errnoRet: 38\n\
- names: [ptrace]\n  action: SCMP_ACT_ERRNO\n  errnoRet: 13\n";
        assert_eq!(placed(yaml, "t.yaml", deny("mount", Some(38))), [1, 1, 1]);
        // An uncommented rule doing the same still takes the name.
        assert_eq!(placed(yaml, "t.yaml", deny("kexec_load", Some(13))), [1, 2]);
    }

    #[test]
    fn allow_inserts_in_sorted_position_on_its_own_line() {
        let reports = assert_docker_edit(
            &[allow("openat")],
            "\t\t\t\t\"read\",\n",
            "\t\t\t\t\"openat\",\n\t\t\t\t\"read\",\n",
        );
        assert_eq!(
            reports[0].to_string(),
            "allowed openat: added to syscalls[0].names"
        );
    }

    #[test]
    fn allow_at_either_end_of_the_list() {
        assert_docker_edit(
            &[allow("accept")],
            "\t\t\t\t\"close\",\n",
            "\t\t\t\t\"accept\",\n\t\t\t\t\"close\",\n",
        );
        assert_docker_edit(
            &[allow("writev")],
            "\t\t\t\t\"write\"\n",
            "\t\t\t\t\"write\",\n\t\t\t\t\"writev\"\n",
        );
    }

    #[test]
    fn allowing_what_is_allowed_changes_nothing() {
        let (text, reports) = edit(DOCKER, &[allow("read")]);
        assert_eq!(text, DOCKER);
        assert!(!reports[0].changed());
        assert_eq!(
            reports[0].to_string(),
            "allowed read: no change, syscalls[0] already does that (SCMP_ACT_ALLOW)"
        );
    }

    #[test]
    fn allow_keeps_conditional_allows_and_says_so() {
        let (text, reports) = edit(DOCKER, &[allow("ptrace")]);
        assert!(text.contains("\t\t\t\t\"ptrace\",\n\t\t\t\t\"read\""));
        assert_eq!(text.matches("\"ptrace\"").count(), 2);
        assert_eq!(
            reports[0].changes[1],
            Change::Kept {
                rule: "syscalls[1]".into(),
                action: Action::Allow,
                conditional: true
            }
        );
    }

    #[test]
    fn deny_without_errno_under_an_errno_default_just_removes() {
        let read = "\t\t\t\t\"read\",\n";
        let reports = assert_docker_edit(&[deny("read", None)], read, "");
        assert_eq!(
            reports[0].to_string(),
            "denied read: removed from syscalls[0].names (SCMP_ACT_ALLOW); \
             the default action applies (SCMP_ACT_ERRNO EPERM)"
        );
        // The default's own errno, asked for explicitly, is the same thing.
        assert_docker_edit(&[deny("read", Some(1))], read, "");
    }

    #[test]
    fn deny_removes_conditional_allows_too() {
        let reports = assert_docker_edit(
            &[deny("ptrace", None)],
            "\t\t},\n\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"ptrace\"\n\t\t\t],\n\t\t\t\"action\": \"SCMP_ACT_ALLOW\",\n\t\t\t\"includes\": {\n\t\t\t\t\"minKernel\": \"4.8\"\n\t\t\t}\n\t\t}\n",
            "\t\t}\n",
        );
        assert_eq!(
            reports[0].changes[0],
            Change::RemovedRule {
                rule: "syscalls[1]".into(),
                action: Action::Allow,
                conditional: true
            }
        );
    }

    #[test]
    fn deny_with_errno_writes_a_rule_like_its_neighbours() {
        let (text, reports) = edit(DOCKER, &[deny("write", Some(38))]);
        let expected = DOCKER
            .replace("\t\t\t\t\"read\",\n\t\t\t\t\"write\"\n", "\t\t\t\t\"read\"\n")
            .replace(
                "\t\t\t}\n\t\t}\n\t]",
                "\t\t\t}\n\t\t},\n\t\t{\n\t\t\t\"names\": [\n\t\t\t\t\"write\"\n\t\t\t],\n\t\t\t\"action\": \"SCMP_ACT_ERRNO\",\n\t\t\t\"errnoRet\": 38\n\t\t}\n\t]",
            );
        assert_eq!(text, expected);
        assert_eq!(
            reports[0].to_string(),
            "denied write with ENOSYS: removed from syscalls[0].names (SCMP_ACT_ALLOW); \
             added syscalls[2] (SCMP_ACT_ERRNO ENOSYS)"
        );
        // A second deny with the same errno joins that rule, in order.
        let (text, _) = edit(&text, &[deny("close", Some(38))]);
        assert!(text.contains(
            "\t\t\t\t\"close\",\n\t\t\t\t\"write\"\n\t\t\t],\n\t\t\t\"action\": \"SCMP_ACT_ERRNO\""
        ));
    }

    #[test]
    fn allow_takes_the_name_out_of_an_explicit_deny() {
        let doc = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["kexec_load", "reboot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
  ]
}"#;
        let (text, reports) = edit(doc, &[allow("reboot")]);
        assert_eq!(
            text,
            doc.replace(r#"["read", "write"]"#, r#"["read", "reboot", "write"]"#)
                .replace(r#"["kexec_load", "reboot"]"#, r#"["kexec_load"]"#)
        );
        assert_eq!(reports[0].changes.len(), 2);
    }

    #[test]
    fn remove_takes_out_every_mention() {
        let doc = r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read", "reboot"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["reboot"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
    {"names": ["reboot", "write"], "action": "SCMP_ACT_ERRNO"}
  ]
}"#;
        let (text, reports) = edit(doc, &[remove("reboot")]);
        assert_eq!(
            text,
            r#"{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
    {"names": ["write"], "action": "SCMP_ACT_ERRNO"}
  ]
}"#
        );
        // Reported last first, each at its index before the edit.
        let rules: Vec<_> = reports[0]
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Removed { rule, .. } | Change::RemovedRule { rule, .. } => {
                    Some(rule.as_str())
                }
                _ => None,
            })
            .collect();
        assert_eq!(rules, ["syscalls[2]", "syscalls[1]", "syscalls[0]"]);
    }

    #[test]
    fn removing_the_only_rule_leaves_an_empty_list() {
        let doc = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
        let (text, _) = edit(doc, &[remove("read")]);
        assert_eq!(
            text,
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": []}"
        );
        // ...and allowing again writes a rule into it.
        let (text, _) = edit(&text, &[allow("read")]);
        assert_eq!(text, doc);
    }

    #[test]
    fn removing_from_wrapped_lists_keeps_lines_whole() {
        let doc = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": [{\"names\": [\n  \"a1\", \"b1\",\n  \"c1\"\n], \"action\": \"SCMP_ACT_ALLOW\"}]}"
            .replace("a1", "read")
            .replace("b1", "write")
            .replace("c1", "close");
        let (text, _) = edit(&doc, &[remove("write")]);
        assert!(text.contains("[\n  \"read\",\n  \"close\"\n]"), "{text}");
        let (text, _) = edit(&doc, &[remove("read")]);
        assert!(text.contains("[\n  \"write\",\n  \"close\"\n]"), "{text}");
    }

    #[test]
    fn unsorted_lists_get_the_name_at_the_end() {
        let doc = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["write", "read"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let (text, _) = edit(doc, &[allow("close")]);
        assert!(text.contains(r#"["write", "read", "close"]"#), "{text}");
    }

    #[test]
    fn the_biggest_unconditional_block_gets_the_name() {
        let doc = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
{"names": ["getpid"], "action": "SCMP_ACT_ALLOW", "comment": "small"},
{"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW", "excludes": {}},
{"names": ["open", "openat", "stat"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}}
]}"#;
        let (text, reports) = edit(doc, &[allow("close")]);
        assert!(text.contains(r#"["close", "read", "write"]"#), "{text}");
        assert_eq!(
            reports[0].changes,
            [Change::Added {
                rule: "syscalls[2]".into()
            }]
        );
    }

    #[test]
    fn equal_blocks_the_first_wins() {
        let doc = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}, {"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let (text, _) = edit(doc, &[allow("close")]);
        assert!(text.contains(r#"["close", "read"]"#), "{text}");
    }

    #[test]
    fn crlf_files_keep_crlf() {
        let doc = "{\r\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\r\n  \"syscalls\": [\r\n    {\r\n      \"names\": [\r\n        \"read\"\r\n      ],\r\n      \"action\": \"SCMP_ACT_ALLOW\"\r\n    }\r\n  ]\r\n}\r\n";
        let (text, _) = edit(doc, &[allow("write"), deny("ptrace", Some(38))]);
        assert_eq!(
            text.matches('\n').count(),
            text.matches("\r\n").count(),
            "{text:?}"
        );
        assert!(
            text.contains("\"read\",\r\n        \"write\"\r\n"),
            "{text:?}"
        );
        assert!(
            text.contains("},\r\n    {\r\n      \"names\": [\r\n        \"ptrace\""),
            "{text:?}"
        );
    }

    #[test]
    fn empty_names_list_is_filled() {
        let doc = "{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [\n    {\n      \"names\": [],\n      \"action\": \"SCMP_ACT_ALLOW\"\n    }\n  ]\n}";
        let (text, _) = edit(doc, &[allow("read")]);
        assert_eq!(text, doc.replace("[]", "[\n        \"read\"\n      ]"));
    }

    #[test]
    fn creates_syscalls_when_absent_or_null() {
        let doc = "{\n    \"defaultAction\": \"SCMP_ACT_ERRNO\"\n}\n";
        let (text, reports) = edit(doc, &[allow("read")]);
        assert_eq!(
            text,
            "{\n    \"defaultAction\": \"SCMP_ACT_ERRNO\",\n    \"syscalls\": [\n        {\n            \"names\": [\n                \"read\"\n            ],\n            \"action\": \"SCMP_ACT_ALLOW\"\n        }\n    ]\n}\n"
        );
        assert_eq!(
            reports[0].to_string(),
            "allowed read: added syscalls[0] (SCMP_ACT_ALLOW)"
        );
        let doc = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":null}";
        let (text, _) = edit(doc, &[allow("read")]);
        assert_eq!(
            text,
            "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"}]}"
        );
    }

    #[test]
    fn old_format_rules_stay_old_format() {
        let doc = r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {
            "name": "open",
            "action": "SCMP_ACT_ALLOW",
            "args": []
        },
        {
            "name": "close",
            "action": "SCMP_ACT_ALLOW",
            "args": []
        }
    ]
}"#;
        let (text, _) = edit(doc, &[allow("read"), remove("open")]);
        assert_eq!(
            text,
            r#"{
    "defaultAction": "SCMP_ACT_ERRNO",
    "syscalls": [
        {
            "name": "close",
            "action": "SCMP_ACT_ALLOW",
            "args": []
        },
        {
            "name": "read",
            "action": "SCMP_ACT_ALLOW"
        }
    ]
}"#
        );
    }

    #[test]
    fn key_order_follows_existing_rules() {
        let doc = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO", "names": ["kexec_load"]}]}"#;
        let (text, reports) = edit(doc, &[deny("reboot", None)]);
        assert_eq!(
            text,
            r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"action": "SCMP_ACT_ERRNO", "names": ["kexec_load", "reboot"]}]}"#
        );
        assert_eq!(reports[0].changes.len(), 1);
        // A different errno needs its own rule, errnoRet right after action.
        let (text, _) = edit(doc, &[deny("reboot", Some(38))]);
        assert!(text
            .ends_with(r#"{"action": "SCMP_ACT_ERRNO", "errnoRet": 38, "names": ["reboot"]}]}"#));
    }

    #[test]
    fn allow_default_profiles() {
        let doc = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kexec_load", "reboot"], "action": "SCMP_ACT_ERRNO"}]}"#;
        let (text, reports) = edit(doc, &[allow("reboot")]);
        assert!(text.contains(r#"["kexec_load"]"#));
        assert_eq!(
            reports[0].to_string(),
            "allowed reboot: removed from syscalls[0].names (SCMP_ACT_ERRNO); the default action applies (SCMP_ACT_ALLOW)"
        );
        let (text, reports) = edit(doc, &[allow("read")]);
        assert_eq!(text, doc);
        assert!(!reports[0].changed());
        let (text, _) = edit(doc, &[deny("ptrace", None)]);
        assert!(
            text.contains(r#"["kexec_load", "ptrace", "reboot"]"#),
            "{text}"
        );
    }

    #[test]
    fn deny_replaces_a_different_errno() {
        let doc = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}, {"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#;
        let (text, reports) = edit(doc, &[deny("clone3", Some(1))]);
        assert_eq!(
            text,
            r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}"#
        );
        assert!(reports[0].changed());
        let (text, reports) = edit(doc, &[deny("clone3", Some(38))]);
        assert_eq!(text, doc);
        assert!(!reports[0].changed());
    }

    #[test]
    fn several_edits_in_one_go() {
        let (text, reports) = edit(
            DOCKER,
            &[allow("openat"), deny("close", Some(13)), remove("ptrace")],
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let expected = serde_json::json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "syscalls": [
                {"names": ["openat", "read", "write"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
            ]
        });
        assert_eq!(value, expected);
        assert_eq!(reports.len(), 3);
        assert!(reports.iter().all(EditReport::changed));
    }

    #[test]
    fn oci_config_paths_name_the_seccomp_object() {
        let doc = r#"{"ociVersion": "1.0.2", "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}}}"#;
        let (text, reports) = edit(doc, &[allow("write")]);
        assert!(text.contains(r#"["read", "write"]"#));
        assert_eq!(
            reports[0].to_string(),
            "allowed write: added to linux.seccomp.syscalls[0].names"
        );
    }

    #[test]
    fn bad_names_and_errnos_are_refused_with_a_hint() {
        let err = apply(&load(DOCKER), &[allow("read"), allow("rebot")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown syscall \"rebot\": not a syscall on any architecture eperm knows\n  hint: did you mean \"reboot\"?"
        );
        let err = Edit::parse_deny("clone3:ENOSIS").unwrap_err();
        assert!(
            err.to_string().contains("did you mean \"ENOSYS\"?"),
            "{err}"
        );
        // A number past the largest errno: refused, and no name to suggest.
        let err = Edit::parse_deny("clone3:70000").unwrap_err();
        assert!(
            matches!(&err, EditError::BadErrno { spec, suggestion: None } if spec == "70000"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "bad errno \"70000\": expected a name like ENOSYS or a number up to {ERRNO_MAX}"
            )
        );
        assert_eq!(
            Edit::parse_deny("clone3:enosys").unwrap(),
            deny("clone3", Some(38))
        );
        assert_eq!(Edit::parse_deny("clone3").unwrap(), deny("clone3", None));
    }

    #[test]
    fn removing_the_last_of_several_takes_its_comma() {
        assert_docker_edit(
            &[remove("write")],
            "\t\t\t\t\"read\",\n\t\t\t\t\"write\"\n",
            "\t\t\t\t\"read\"\n",
        );
        assert_docker_edit(&[remove("close")], "\t\t\t\t\"close\",\n", "");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const FIXTURES: &[&str] = &[
            include_str!("../../../../tests/fixtures/edit/docker-like.json"),
            include_str!("../../../../tests/fixtures/edit/inline.json"),
            include_str!("../../../../tests/fixtures/edit/old-format.json"),
            include_str!("../../../../tests/fixtures/edit/oci-config.json"),
            include_str!("../../../../tests/fixtures/edit/no-syscalls.json"),
            include_str!("../../../../tests/fixtures/edit/allow-default.json"),
            include_str!("../../../../tests/fixtures/edit/spaces4.json"),
            include_str!("../../../../tests/fixtures/spo/profile.yaml"),
            include_str!("../../../../tests/fixtures/spo/v1beta1.yaml"),
            include_str!("../../../../tests/fixtures/spo/no-syscalls.yaml"),
            include_str!("../../../../tests/fixtures/spo/empty-syscalls.yaml"),
        ];

        const NAMES: &[&str] = &[
            "read",
            "write",
            "kill",
            "reboot",
            "ptrace",
            "clone3",
            "personality",
            "acct",
            "kexec_load",
            "unshare",
            "_llseek",
            "close",
            "open",
            "syslog",
            "vhangup",
        ];

        fn any_edit() -> impl Strategy<Value = Edit> {
            let name = proptest::sample::select(NAMES).prop_map(str::to_string);
            let errno = proptest::sample::select(&[None, Some(1), Some(13), Some(38)][..]);
            prop_oneof![
                name.clone().prop_map(Edit::Allow),
                (name.clone(), errno).prop_map(|(name, errno)| Edit::Deny { name, errno }),
                name.prop_map(Edit::Remove),
            ]
        }

        /// Does `profile` now do what `edit` asked?
        fn holds(profile: &Profile, edit: &Edit) -> Result<(), String> {
            let name = edit.name();
            let naming: Vec<&Rule> = profile.rules.iter().filter(|r| names(r, name)).collect();
            let ok = match Home::of(profile, edit) {
                _ if matches!(edit, Edit::Remove(_)) => naming.is_empty(),
                Home::Default if matches!(edit, Edit::Allow(_)) => naming
                    .iter()
                    .all(|r| !unconditional(r) || r.action == Action::Allow),
                Home::Default => naming
                    .iter()
                    .all(|r| !unconditional(r) && r.action != Action::Allow),
                target @ Home::Rule { action, .. } => {
                    naming.iter().any(|r| unconditional(r) && target.met_by(r))
                        && naming.iter().all(|r| {
                            if unconditional(r) {
                                target.met_by(r)
                            } else {
                                action == Action::Allow || r.action != Action::Allow
                            }
                        })
                }
            };
            if ok {
                Ok(())
            } else {
                Err(format!("{edit:?} does not hold in:\n{}", profile.text))
            }
        }

        /// The document without the seccomp object's `syscalls`.
        fn outside_syscalls(profile: &Profile) -> serde_json::Value {
            let mut value = profile.root.to_serde();
            let seccomp = match profile.form {
                crate::profile::Form::Docker => &mut value,
                crate::profile::Form::OciConfig => &mut value["linux"]["seccomp"],
                crate::profile::Form::Spo => &mut value["spec"],
            };
            seccomp.as_object_mut().unwrap().shift_remove("syscalls");
            value
        }

        proptest! {
            #[test]
            fn edits_hold_load_and_touch_only_syscalls(
                fixture in proptest::sample::select(FIXTURES),
                edits in proptest::collection::vec(any_edit(), 1..6),
            ) {
                let mut profile = load(fixture);
                for edit in &edits {
                    let applied = apply(&profile, std::slice::from_ref(edit)).unwrap();
                    let next = applied.profile;
                    holds(&next, edit).map_err(TestCaseError::fail)?;
                    prop_assert_eq!(outside_syscalls(&next), outside_syscalls(&profile));
                    prop_assert_eq!(applied.reports[0].changed(), next.text != profile.text);

                    let again = apply(&next, std::slice::from_ref(edit)).unwrap();
                    prop_assert!(!again.changed(), "{:?} twice changed:\n{}", edit, next.text);
                    prop_assert_eq!(&again.profile.text, &next.text);
                    profile = next;
                }
            }
        }
    }
}

//! `eperm import --format events`: JSON events (`run --events`, `watch --json`),
//! from any number of nodes, as evidence: the calls the profile refused, of one
//! pod or one workload when asked.
//!
//! The files come from other machines: every value is untrusted, shown only
//! escaped, and a line that is not an event is an error naming its file and line.

use super::import::Evidence;
use crate::arch::Arch;
use crate::error::Error;
use crate::pods::Pod;
use crate::profile::Action;
use crate::untrusted::Untrusted;
use serde_json::Value;
use std::io::{BufRead, Read};

/// An event is a few hundred bytes, a few KiB with a deep stack: a longer line
/// is not one (and is not held in memory whole).
const LINE_MAX: usize = 1 << 20;

/// Which events count: all, one pod's (`--pod`, as `watch --pod` takes it), or
/// one workload's (`--workload`).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// `--pod NAMESPACE/POD`, or a bare POD in any namespace.
    pub pod: Option<String>,
    /// `--workload PREFIX`: the owner's name that begins its pods' names.
    pub workload: Option<String>,
}

impl Filter {
    /// Does the event's `pod` member pass? An event without one passes only
    /// when no filter is asked for.
    fn passes(&self, member: Option<&Value>) -> bool {
        if self.pod.is_none() && self.workload.is_none() {
            return true;
        }
        let text = |k: &str| {
            let value = member.and_then(|p| p.get(k)).and_then(Value::as_str);
            value.map(Untrusted::from)
        };
        let pod = Pod {
            namespace: text("namespace"),
            name: text("name"),
            uid: text("uid"),
            container: text("container"),
        };
        if let Some(wanted) = &self.pod {
            return pod.is(wanted);
        }
        let prefix = self.workload.as_deref().unwrap_or_default().as_bytes();
        pod.name.is_some_and(|n| {
            let n = n.as_bytes();
            n == prefix || n.strip_prefix(prefix).is_some_and(|r| r.starts_with(b"-"))
        })
    }
}

/// What the events held besides the refusals the evidence counts.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Events of other layers (`"source":"ebpf"`: capabilities, LSMs, file modes).
    pub other_layers: u64,
    /// Events of other pods, or of none, when a filter was asked for.
    pub other_pods: u64,
    /// Calls the profile allowed or only logged.
    pub not_refused: u64,
}

/// Reads the events of one file (`name` for messages) into `into`: each refused
/// call, by the syscall's name, with its action.
pub fn read(
    name: &str,
    from: impl BufRead,
    filter: &Filter,
    into: &mut Evidence,
    tally: &mut Tally,
) -> Result<(), Error> {
    let mut from = from;
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let mut limit = (&mut from).take(LINE_MAX as u64 + 1);
        let read = limit
            .read_until(b'\n', &mut line)
            .map_err(|source| Error::Os {
                op: "read the events",
                source,
            })?;
        if read == 0 {
            break;
        }
        let at = format!("{name}:{number}");
        let ended = line.last() == Some(&b'\n');
        if ended {
            line.pop();
        } else if line.len() > LINE_MAX {
            line.truncate(200);
            return Err(bad_line(
                &at,
                &line,
                format!("a line over {LINE_MAX} bytes"),
            ));
        }
        count(&at, &line, filter, into, tally)?;
    }
    Ok(())
}

/// One line's event into `into`, or into `tally` when it does not count; `at`
/// is its `FILE:LINE`.
fn count(
    at: &str,
    line: &[u8],
    filter: &Filter,
    into: &mut Evidence,
    tally: &mut Tally,
) -> Result<(), Error> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let event: Value = serde_json::from_slice(line).map_err(|e| {
        // serde says where as "line 1 column N": the line is the file's.
        let said = e.to_string();
        let what = said.rfind(" at line ").map_or(&*said, |end| &said[..end]);
        let place = format!("{at}:{}", e.column());
        bad_line(&place, line, format!("not JSON: {what}"))
    })?;
    let at = |what: String| bad_line(at, line, what);
    if !event.is_object() {
        return Err(at("not a JSON object".into()));
    }
    if event.get("source").and_then(Value::as_str) == Some("ebpf") {
        tally.other_layers += 1;
        return Ok(());
    }
    if !filter.passes(event.get("pod")) {
        tally.other_pods += 1;
        return Ok(());
    }
    let text = |k: &'static str| match event.get(k) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(v) => Err(at(format!("`{k}` is {v}, not a string"))),
        None => Err(at(format!("no `{k}` member"))),
    };
    let (syscall, arch, action) = (text("syscall")?, text("arch")?, text("action")?);
    if Arch::parse(arch).is_none() && u32::from_str_radix(arch, 16).is_err() {
        return Err(at(format!("`arch` {} is no architecture", quoted(arch))));
    }
    let refused = match (action, Action::parse(action)) {
        // A kernel record's return value no action gives: not an allowance.
        ("SCMP_ACT_UNKNOWN", _) => true,
        (_, Some(a)) => !matches!(a, Action::Allow | Action::Log) || softened(&event),
        (_, None) => {
            return Err(at(format!(
                "`action` {} is no seccomp action",
                quoted(action)
            )))
        }
    };
    if !refused {
        tally.not_refused += 1;
        return Ok(());
    }
    let word = action.trim_start_matches("SCMP_ACT_").to_string();
    into.add(syscall.to_string(), Some(word), 1);
    Ok(())
}

/// `export --soften` turned the refusing rule into LOG or NOTIFY: `action` is
/// still the refusal the profile makes.
fn softened(event: &Value) -> bool {
    event.get("softened").is_some_and(|s| !s.is_null())
}

fn quoted(text: &str) -> String {
    format!("\"{}\"", Untrusted::from(text))
}

/// `FILE:LINE[:COLUMN]: not an event (WHAT): "the line"`, with a hint; exit 2.
fn bad_line(place: &str, text: &[u8], what: String) -> Error {
    Error::bad_input(format!(
        "{place}: not an eperm event ({what}): \"{}\"\n  hint: give the lines `eperm run --events` or `eperm watch --json` wrote, one JSON object a line",
        Untrusted::new(text.to_vec())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(ns: &str, name: &str) -> Value {
        serde_json::json!({"namespace": ns, "name": name, "uid": "u", "container": "app"})
    }

    #[test]
    fn a_workload_is_its_pods_by_name_prefix_and_a_dash() {
        let workload = |w: &str| Filter {
            workload: Some(w.into()),
            ..Filter::default()
        };
        let f = workload("web");
        assert!(f.passes(Some(&pod("shop", "web-7d9f8-x2x4q"))));
        assert!(f.passes(Some(&pod("other", "web"))));
        assert!(!f.passes(Some(&pod("shop", "webhook-1"))));
        assert!(!f.passes(Some(&pod("shop", "we"))));
        assert!(!f.passes(None));
        let pick = |p: &str| Filter {
            pod: Some(p.into()),
            ..Filter::default()
        };
        assert!(pick("shop/web-1").passes(Some(&pod("shop", "web-1"))));
        assert!(!pick("shop/web-1").passes(Some(&pod("shop2", "web-1"))));
        assert!(pick("web-1").passes(Some(&pod("shop2", "web-1"))));
        assert!(!pick("web-1").passes(None));
        assert!(Filter::default().passes(None));
    }
}

//! An LSM's audit record of a refused call: AppArmor and SELinux AVC records
//! (type 1400) and Landlock's access records (type 1423, `LANDLOCK_ACCESS`,
//! Linux 6.15), as the audit netlink socket, `/dev/kmsg` or `audit.log` give
//! them (`type=AVC msg=audit(…): …` or `audit: type=1400 audit(…): …`).

use std::fmt;

/// Which LSM wrote the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lsm {
    AppArmor,
    SELinux,
    Landlock,
}

impl fmt::Display for Lsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Lsm::AppArmor => "apparmor",
            Lsm::SELinux => "selinux",
            Lsm::Landlock => "landlock",
        })
    }
}

/// The facts of one refusal record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub lsm: Lsm,
    pub pid: Option<u32>,
    /// AppArmor's `operation`, SELinux's permissions (`{ write }`), Landlock's `blockers`.
    pub operation: String,
    /// AppArmor's `profile`, SELinux's `scontext`, Landlock's `domain`.
    pub subject: String,
    /// What was refused: `name`/`path`, SELinux's `tcontext` and `tclass`.
    pub object: String,
    /// The record's text from its first field after the header.
    pub text: String,
}

/// The `key=value` fields of a record (values unquoted).
fn fields(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].rsplit([' ', ':']).next().unwrap_or("");
        let after = &rest[eq + 1..];
        let (value, next) = match after.strip_prefix('"') {
            Some(q) => match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            },
            None => {
                let end = after.find(' ').unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        out.push((key, value));
        rest = next;
    }
    out
}

/// The record in `line`, when it is an LSM's refusal; `None` for anything
/// else (an AppArmor `ALLOWED` or `AUDIT` line, a SELinux grant, other types).
pub fn parse(line: &str) -> Option<Record> {
    let is = |ty: &str, num: &str| {
        line.contains(&format!("type={ty} ")) || line.contains(&format!("type={num} "))
    };
    let body = line
        .find("): ")
        .map_or(line, |at| &line[at + 3..])
        .trim_end();
    let f = fields(body);
    let get = |k: &str| f.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let pid = get("pid").and_then(|p| p.parse().ok());
    if is("AVC", "1400") {
        if let Some(verdict) = get("apparmor") {
            if verdict != "DENIED" {
                return None;
            }
            return Some(Record {
                lsm: Lsm::AppArmor,
                pid,
                operation: get("operation").unwrap_or("").to_string(),
                subject: get("profile").unwrap_or("").to_string(),
                object: get("name").unwrap_or("").to_string(),
                text: body.to_string(),
            });
        }
        let denied = body
            .strip_prefix("avc:")?
            .trim_start()
            .strip_prefix("denied")?;
        let perms = denied
            .split_once('{')
            .and_then(|(_, r)| r.split_once('}'))
            .map_or("", |(p, _)| p.trim());
        if get("permissive") == Some("1") {
            return None;
        }
        return Some(Record {
            lsm: Lsm::SELinux,
            pid,
            operation: format!("{{ {perms} }}"),
            subject: get("scontext").unwrap_or("").to_string(),
            object: format!(
                "{} ({}{})",
                get("tcontext").unwrap_or(""),
                get("tclass").unwrap_or(""),
                get("name").map_or(String::new(), |n| format!(" {n:?}"))
            ),
            text: body.to_string(),
        });
    }
    if is("LANDLOCK_ACCESS", "1423") {
        return Some(Record {
            lsm: Lsm::Landlock,
            pid,
            operation: get("blockers").unwrap_or("").to_string(),
            subject: get("domain").unwrap_or("").to_string(),
            object: get("path").or(get("name")).unwrap_or("").to_string(),
            text: body.to_string(),
        });
    }
    None
}

impl Record {
    /// A Landlock refusal known from the caller having restricted itself (no
    /// audit record: Landlock logs only from Linux 6.15, with audit on).
    pub fn restricted(object: &str) -> Record {
        Record {
            lsm: Lsm::Landlock,
            pid: None,
            operation: String::new(),
            subject: String::new(),
            object: object.to_string(),
            text: String::new(),
        }
    }

    /// The evidence in a sentence.
    pub fn describe(&self) -> String {
        match self.lsm {
            Lsm::AppArmor => format!(
                "AppArmor profile {:?} denied {} of {:?}",
                self.subject, self.operation, self.object
            ),
            Lsm::SELinux => format!(
                "SELinux denied {} to {} on {}",
                self.operation, self.subject, self.object
            ),
            Lsm::Landlock => format!(
                "Landlock domain {} blocked {} on {:?}",
                self.subject, self.operation, self.object
            ),
        }
    }

    /// What to change.
    pub fn fix(&self) -> String {
        match self.lsm {
            Lsm::AppArmor => format!(
                "allow {} in the AppArmor profile {:?} (aa-logprof proposes a rule), or run \
                 unconfined: docker run --security-opt apparmor=unconfined",
                self.operation, self.subject
            ),
            Lsm::SELinux => format!(
                "allow {} for {} (audit2allow proposes a rule), or relabel the object; \
                 docker run --security-opt label=disable turns labelling off",
                self.operation, self.subject
            ),
            Lsm::Landlock => {
                "the program restricted itself with Landlock: widen its ruleset (a seccomp \
                 allowance will not help)"
                    .into()
            }
        }
    }
}

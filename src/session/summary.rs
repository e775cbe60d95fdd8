//! A run's would-be denials, one line per syscall and arch, and the end-of-run
//! report that `--no-tui` prints.

use crate::layer::{Layer, Profile};
use crate::sources::aggregate::DeniedSyscall;
use crate::sources::event::{Decision, Event, Interference};
use crate::sources::refusal::{Refusal, Watch};
use std::collections::{HashMap, VecDeque};

/// Every would-be-denied syscall of a run, one per syscall and arch, in the
/// order first seen.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub entries: Vec<DeniedSyscall>,
    pub total: u64,
    /// Calls that failed because of eperm itself, not the profile: one per
    /// kind, with how many and the first.
    pub interference: Vec<Interfered>,
    /// Whether the other layers were watched, and why not.
    pub layers: Layers,
    /// Calls that failed with EPERM/EACCES for a reason other than the
    /// profile's enforced verdict, one per syscall, arch and finding.
    pub refusals: Vec<Refused>,
    /// The profile's events not yet joined with the watcher's records, by
    /// (tid, nr): what was done with each call.
    pub(crate) pending: HashMap<(u32, u32), VecDeque<Decision>>,
    /// A layer watcher reports to this summary: the profile's events are kept
    /// for [`Summary::watched`] to join.
    pub(crate) joining: bool,
    /// Refusals the kernel's queue had no room for.
    pub layers_lost: u64,
    /// Events not written to `--events` (how many, and where), as its reader
    /// fell behind: the summary still counts them.
    pub unwritten: Option<(u64, String)>,
    /// Events the supervisors dropped, as the queue to the summary was full:
    /// not counted above.
    pub dropped: u64,
    /// Why the container did not start (its runtime's start-up calls refused,
    /// with an errno that makes no event): said instead of "denied nothing".
    pub not_started: Option<String>,
}

/// Whether the layer watcher ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Layers {
    /// Nobody asked (runs that do not watch, e.g. coverage).
    #[default]
    Off,
    Watching,
    NotWatched(String),
}

/// The failed calls of one syscall and arch that one layer refused.
#[derive(Clone, Debug)]
pub struct Refused {
    /// The first call; its finding stands for all.
    pub first: Refusal,
    pub hits: u64,
    /// Other paths refused the same way (a `$PATH` search meets many).
    pub other_paths: Vec<String>,
}

impl Refused {
    /// The same syscall and arch refused by the same layer for the same
    /// reason (the path aside).
    fn is_of(&self, r: &Refusal) -> bool {
        let key = |r: &Refusal| {
            r.finding.as_ref().map(|f| {
                (
                    f.layer,
                    f.capabilities.clone(),
                    f.sysctl.clone(),
                    f.also_seccomp,
                )
            })
        };
        self.first.syscall == r.syscall && self.first.arch == r.arch && key(&self.first) == key(r)
    }

    fn add(&mut self, r: &Refusal) {
        self.hits += 1;
        let path = |r: &Refusal| {
            r.finding
                .as_ref()
                .and_then(|f| f.path.as_ref())
                .map(|p| p.path.clone())
        };
        if let Some(p) = path(r) {
            if path(&self.first) != Some(p.clone()) && !self.other_paths.contains(&p) {
                self.other_paths.push(p);
            }
        }
    }

    /// The lines for the summary: the call, the evidence, the fix.
    fn render(&self) -> String {
        let f = self.first.finding.as_ref().expect("classified when added");
        let mut s = format!(
            "  {:<16} {:<7} {:>6}×  {:<6}  {}  first: pid {} ({})\n",
            self.first.syscall,
            self.first.arch,
            self.hits,
            crate::errno::describe(self.first.failure.errno),
            f,
            self.first.pid,
            self.first.comm,
        );
        if !self.other_paths.is_empty() {
            let n = self.other_paths.len();
            s += &format!(
                "      and {n} more path{}: {}\n",
                if n == 1 { "" } else { "s" },
                self.other_paths
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
                    + if n > 3 { ", …" } else { "" }
            );
        }
        if f.layer != Layer::Unknown {
            s += &format!("      {}\n", f.evidence);
        }
        s += &format!("      fix: {}\n", f.fix);
        if f.also_seccomp {
            s += "      the profile denies it too: allowing it there alone will not make it work\n";
        }
        s
    }
}

/// Calls that failed because of eperm's own interception (see
/// `run::interference`).
#[derive(Clone, Debug)]
pub struct Interfered {
    pub why: Interference,
    pub hits: u64,
    pub pid: u32,
    /// Escaped already: the process chose it.
    pub comm: String,
    pub example: String,
}

impl Interfered {
    /// "seccomp(…) by pid 12 (sandbox) fails with EBUSY because …; to avoid it: …".
    pub fn line(&self) -> String {
        format!(
            "{} by pid {} ({}){}: {}; to avoid it, {}",
            self.example,
            self.pid,
            self.comm,
            if self.hits > 1 {
                format!(" (and {} more)", self.hits - 1)
            } else {
                String::new()
            },
            self.why.why(),
            self.why.avoid()
        )
    }
}

impl Summary {
    /// A summary whose events the layer watcher's records will be joined with.
    pub fn joining() -> Summary {
        Summary {
            joining: true,
            ..Summary::default()
        }
    }

    /// What the layer watcher said; the refusal to write to `--events`, joined
    /// with the profile's event of the same call and classified (`None` for an
    /// enforced seccomp denial: that event was written already).
    pub fn watched(&mut self, w: Watch) -> Option<Refusal> {
        let mut r = match w {
            Watch::Watching => {
                self.layers = Layers::Watching;
                return None;
            }
            Watch::NotWatched(why) => {
                self.layers = Layers::NotWatched(why);
                return None;
            }
            Watch::Lost(n) => {
                self.layers_lost = n;
                return None;
            }
            Watch::Refused(r) => *r,
        };
        let said = self
            .pending
            .get_mut(&(r.tid, r.nr))
            .and_then(VecDeque::pop_front);
        r.classify(match said {
            None => Profile::Allows,
            Some(Decision::Denied) => Profile::Denied,
            Some(_) => Profile::WouldDeny,
        });
        if r.finding
            .as_ref()
            .is_some_and(|f| f.layer == Layer::Seccomp)
        {
            return None;
        }
        match self.refusals.iter_mut().find(|x| x.is_of(&r)) {
            Some(x) => x.add(&r),
            None => self.refusals.push(Refused {
                first: r.clone(),
                hits: 1,
                other_paths: Vec::new(),
            }),
        }
        Some(r)
    }

    pub fn add(&mut self, e: &Event) {
        if self.joining && !e.bootstrap {
            self.pending
                .entry((e.tid, e.nr))
                .or_default()
                .push_back(e.decision);
        }
        if let Some(why) = e.interference {
            match self.interference.iter_mut().find(|i| i.why == why) {
                Some(i) => i.hits += 1,
                None => self.interference.push(Interfered {
                    why,
                    hits: 1,
                    pid: e.pid,
                    comm: e.comm.to_string(),
                    example: e.call.clone().unwrap_or_else(|| e.syscall.clone()),
                }),
            }
            return;
        }
        self.total += 1;
        match self.entries.iter_mut().find(|x| x.is_of(e)) {
            Some(entry) => entry.add(e),
            None => self.entries.push(DeniedSyscall::new(e)),
        }
    }

    /// The run as the triage report tells it (the caller adds what ran and how).
    pub fn triage(&self) -> crate::report::Triage {
        let denials = self
            .entries
            .iter()
            .map(|e| crate::report::Denial {
                syscall: e.syscall.clone(),
                arch: e.arch.to_string(),
                hits: e.hits,
                verdict: e.verdict().to_string(),
                rule: e.rule_path(),
                example: e.example.clone(),
                args: e.example_args,
                processes: e.comms.clone(),
                bootstrap: e.bootstrap,
                sites: crate::report::Denial::sites_of(e),
            })
            .collect();
        let other_layers = self
            .refusals
            .iter()
            .filter_map(|r| crate::report::OtherLayer::of(&r.first, r.hits))
            .collect();
        crate::report::Triage {
            denials,
            other_layers,
            layers_not_watched: match &self.layers {
                Layers::NotWatched(why) => Some(why.clone()),
                _ => None,
            },
            ..Default::default()
        }
    }

    /// Syscall names to allow, each once, in the order first seen.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for e in &self.entries {
            if !names.contains(&e.syscall) {
                names.push(e.syscall.clone());
            }
        }
        names
    }

    /// The end-of-run report; `file` is the profile's path (`None`: the embedded one).
    pub fn render(&self, file: Option<&str>) -> String {
        let mut s = String::new();
        if let Some((n, sink)) = &self.unwritten {
            s += &format!(
                "eperm: {} not written to {sink}: its reader fell behind, and eperm does not wait for it (at most {} wait); this summary counts them\n",
                crate::profile::lint::plural(*n as usize, "event", "events"),
                super::collect::WRITE_QUEUE
            );
        }
        if self.dropped > 0 {
            s += &format!(
                "eperm: {} dropped, not counted below: eperm fell behind the workload (at most {} wait)\n",
                crate::profile::lint::plural(self.dropped as usize, "event", "events"),
                crate::run::EVENT_QUEUE
            );
        }
        if let Some(why) = &self.not_started {
            s += &format!("eperm: {why}\n");
        } else if self.entries.is_empty() && self.interference.is_empty() {
            s += "eperm: the profile would have denied nothing\n";
        }
        if !self.entries.is_empty() {
            s += &self.render_denials(file);
        }
        if !self.interference.is_empty() {
            s += "eperm: not a clean run: eperm itself made calls fail that work without it (no rule of the profile denies them):\n";
            for i in &self.interference {
                s += &format!("  {}\n", i.line());
            }
        }
        s += &self.render_refusals();
        s
    }

    /// The calls other layers refused, or why they were not watched.
    fn render_refusals(&self) -> String {
        if let Layers::NotWatched(why) = &self.layers {
            return format!("eperm: other layers: not watched ({why})\n");
        }
        let lost = if self.layers_lost > 0 {
            format!(
                "eperm: other layers: {} more refusal{} lost (the kernel's queue was full)\n",
                self.layers_lost,
                plural(self.layers_lost)
            )
        } else {
            String::new()
        };
        if self.refusals.is_empty() {
            return lost;
        }
        let calls: u64 = self.refusals.iter().map(|r| r.hits).sum();
        let mut s = format!(
            "eperm: {calls} call{} failed with EPERM/EACCES, refused by another layer than the profile:\n",
            plural(calls)
        );
        for r in &self.refusals {
            s += &r.render();
        }
        s + &lost
    }

    fn render_denials(&self, file: Option<&str>) -> String {
        let mut s = format!(
            "eperm: the profile would deny {} call{} of {} syscall{}:\n",
            self.total,
            plural(self.total),
            self.entries.len(),
            plural(self.entries.len() as u64)
        );
        for e in &self.entries {
            let (first_pid, first_comm) = e.first();
            s += &format!(
                "  {:<16} {:<7} {:>6}×  {:<12} first: pid {} ({}){}  e.g. {}\n",
                e.syscall,
                e.arch,
                e.hits,
                e.verdict(),
                first_pid,
                first_comm,
                if e.bootstrap { " [bootstrap]" } else { "" },
                e.example
            );
            s += &sites_text(e);
        }
        let both: Vec<&str> = self
            .refusals
            .iter()
            .filter(|r| r.first.finding.as_ref().is_some_and(|f| f.also_seccomp))
            .map(|r| r.first.syscall.as_str())
            .collect();
        if !both.is_empty() {
            s += &format!(
                "note: {} also failed for another reason (below): allowing {} in the profile is not enough\n",
                both.join(", "),
                if both.len() == 1 { "it" } else { "them" }
            );
        }
        let allow = self.names().join(",");
        match file {
            Some(file) => s += &format!("to allow them:\n  eperm edit {file} --allow {allow}\n"),
            None => {
                s += &format!(
                    "to allow them, save the embedded default profile first, then edit it:\n  \
                     eperm default > profile.json\n  eperm edit profile.json --allow {allow}\n"
                )
            }
        }
        s
    }
}

/// Where the calls of a row came from: the first call's place in the program,
/// and, when they came from several places, each with its count.
fn sites_text(e: &crate::sources::aggregate::DeniedSyscall) -> String {
    let mut s = String::new();
    match e.sites.as_slice() {
        [] => {}
        [one] => {
            if let Some(line) = crate::sources::stack::summary(&one.stack) {
                s += &format!("      {line}\n");
            }
        }
        many => {
            s += &format!("      from {} places:\n", many.len());
            for site in many {
                if let Some(line) = crate::sources::stack::summary(&site.stack) {
                    s += &format!("      {:>6}×  {line}\n", site.hits);
                }
            }
        }
    }
    s
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_whose_other_layers_were_not_watched_says_so_and_why() {
        let mut summary = Summary::joining();
        assert!(summary
            .watched(Watch::NotWatched("no BTF".into()))
            .is_none());
        let text = summary.render(None);
        assert_eq!(
            text,
            "eperm: the profile would have denied nothing\n\
             eperm: other layers: not watched (no BTF)\n"
        );
        let triage = summary.triage().render();
        assert!(
            triage.contains("## Other layers\n\nNot watched: no BTF.\n"),
            "{triage}"
        );
    }

    #[test]
    fn a_watched_clean_run_adds_nothing_to_the_summary() {
        let mut summary = Summary::joining();
        summary.watched(Watch::Watching);
        assert_eq!(
            summary.render(None),
            "eperm: the profile would have denied nothing\n"
        );
        assert!(!summary.triage().render().contains("Other layers"));
    }

    /// A container whose runtime's start-up calls were refused (with an errno,
    /// which makes no event) did not start: never "denied nothing".
    #[test]
    fn a_run_whose_container_did_not_start_says_so_not_denied_nothing() {
        let mut summary = Summary::joining();
        summary.watched(Watch::Watching);
        summary.not_started = Some("the container did not start: runc calls fstatfs".into());
        assert_eq!(
            summary.render(None),
            "eperm: the container did not start: runc calls fstatfs\n"
        );
        summary.add(&crate::app::testing::event("mkdir", 1, 0));
        let text = summary.render(None);
        assert!(
            text.starts_with("eperm: the container did not start"),
            "{text}"
        );
        assert!(text.contains("mkdir"), "{text}");
        assert!(!text.contains("denied nothing"), "{text}");
    }

    /// Issue 33: events dropped on the way to the summary, or not written to
    /// `--events`, are said, with whether the counts include them.
    #[test]
    fn dropped_and_unwritten_events_are_said() {
        let mut summary = Summary::default();
        summary.add(&crate::app::testing::event("mkdir", 1, 0));
        summary.dropped = 3;
        summary.unwritten = Some((1, "stdout".into()));
        let text = summary.render(Some("p.json"));
        assert!(
            text.contains("eperm: 3 events dropped, not counted below"),
            "{text}"
        );
        assert!(
            text.contains("eperm: 1 event not written to stdout: its reader fell behind"),
            "{text}"
        );
        assert!(text.contains("would deny 1 call of 1 syscall"), "{text}");
    }
}

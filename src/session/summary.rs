//! A run's would-be denials, one line per syscall and arch, and the end-of-run
//! report that `--no-tui` prints.

use crate::sources::aggregate::DeniedSyscall;
use crate::sources::event::{Event, Interference};

/// Every would-be-denied syscall of a run, one per syscall and arch, in the
/// order first seen.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub entries: Vec<DeniedSyscall>,
    pub total: u64,
    /// Calls that failed because of eperm itself, not the profile: one per
    /// kind, with how many and the first.
    pub interference: Vec<Interfered>,
    /// Events not written to `--events` (how many, and where), as its reader
    /// fell behind: the summary still counts them.
    pub unwritten: Option<(u64, String)>,
    /// Events the supervisors dropped, as the queue to the summary was full:
    /// not counted above.
    pub dropped: u64,
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
    pub fn add(&mut self, e: &Event) {
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
        crate::report::Triage {
            denials,
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
        if self.entries.is_empty() && self.interference.is_empty() {
            return s + "eperm: the profile would have denied nothing\n";
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
        s
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
    use super::Summary;

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

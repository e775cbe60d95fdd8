//! A run's would-be denials, one line per syscall and arch, and the end-of-run
//! report that `--no-tui` prints.

use crate::sources::event::Event;
use crate::untrusted::Untrusted;

/// One would-be-denied syscall, aggregated over a run.
#[derive(Clone, Debug)]
pub struct Entry {
    pub arch: String,
    pub syscall: String,
    pub count: u64,
    /// What the profile says: `EPERM`, `ENOSYS`, `KILL_PROCESS` …
    pub verdict: String,
    pub first_pid: u32,
    pub first_comm: Untrusted,
    pub example: String,
    /// Every call was made before the workload's exec.
    pub bootstrap: bool,
    /// The deciding rule's JSON path, or `defaultAction`.
    pub rule: String,
    /// The first call's arguments, when known.
    pub args: Option<[u64; 6]>,
    /// The names of the processes seen making it (the first few).
    pub comms: Vec<Untrusted>,
}

/// How many process names an entry keeps.
const COMMS_PER_ENTRY: usize = 8;

/// Every would-be-denied syscall of a run, in the order first seen.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub entries: Vec<Entry>,
    pub total: u64,
}

impl Summary {
    pub fn add(&mut self, e: &Event) {
        self.total += 1;
        if let Some(entry) = self
            .entries
            .iter_mut()
            .find(|x| x.syscall == e.syscall && x.arch == e.arch)
        {
            entry.count += 1;
            entry.bootstrap &= e.bootstrap;
            if entry.comms.len() < COMMS_PER_ENTRY && !entry.comms.contains(&e.comm) {
                entry.comms.push(e.comm.clone());
            }
            return;
        }
        let verdict = match &e.errno {
            Some(errno) => errno.split_whitespace().next().unwrap_or(errno).to_string(),
            None => e.action.trim_start_matches("SCMP_ACT_").to_string(),
        };
        let example = e.call.clone().unwrap_or_else(|| {
            let args = e.args.unwrap_or_default();
            let used = args.iter().rposition(|&a| a != 0).map_or(0, |i| i + 1);
            let shown: Vec<String> = args[..used].iter().map(|a| format!("{a:#x}")).collect();
            format!("{}({})", e.syscall, shown.join(", "))
        });
        self.entries.push(Entry {
            arch: e.arch.clone(),
            syscall: e.syscall.clone(),
            count: 1,
            verdict,
            first_pid: e.pid,
            first_comm: e.comm.clone(),
            example,
            bootstrap: e.bootstrap,
            rule: e.rule.clone(),
            args: e.args,
            comms: vec![e.comm.clone()],
        });
    }

    /// The run as the triage report tells it (the caller adds what ran and how).
    pub fn triage(&self) -> crate::report::Triage {
        let denials = self
            .entries
            .iter()
            .map(|e| crate::report::Denial {
                syscall: e.syscall.clone(),
                arch: e.arch.clone(),
                hits: e.count,
                verdict: e.verdict.clone(),
                rule: e.rule.clone(),
                example: e.example.clone(),
                args: e.args,
                processes: e.comms.clone(),
                bootstrap: e.bootstrap,
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
        if self.entries.is_empty() {
            return "eperm: the profile would have denied nothing\n".to_string();
        }
        let mut s = format!(
            "eperm: the profile would deny {} call{} of {} syscall{}:\n",
            self.total,
            plural(self.total),
            self.entries.len(),
            plural(self.entries.len() as u64)
        );
        for e in &self.entries {
            s += &format!(
                "  {:<16} {:<7} {:>6}×  {:<12} first: pid {} ({}){}  e.g. {}\n",
                e.syscall,
                e.arch,
                e.count,
                e.verdict,
                e.first_pid,
                e.first_comm,
                if e.bootstrap { " [bootstrap]" } else { "" },
                e.example
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

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

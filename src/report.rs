//! The triage report: a session's outcome as one Markdown file to paste into an
//! issue or a pull request — what ran, under which profile, each would-be
//! denial and who made it, what the user decided, the profile's diff, and the
//! commands that reproduce each verdict.
//!
//! Text a workload chose (process names, decoded calls) reaches Markdown only
//! escaped ([`Untrusted`]'s Display) and inside code spans, whose fence is longer
//! than any backtick run in the text; pipes are escaped so that a table cell
//! stays one cell. So a process named ``x` | **y**`` cannot bold, link or add
//! columns. Both the TUI (`R`) and headless runs (`--report`) fill a [`Triage`].

use crate::untrusted::Untrusted;
use std::fmt::Write;

/// One would-be-denied syscall on one arch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    pub syscall: String,
    pub arch: String,
    pub hits: u64,
    /// What the profile says: `EPERM`, `ENOSYS`, `KILL_PROCESS` …
    pub verdict: String,
    /// The deciding rule's JSON path, or `defaultAction`.
    pub rule: String,
    /// The first call seen, decoded (its strings already escaped).
    pub example: String,
    /// The arguments of that call, for `eperm explain`.
    pub args: Option<[u64; 6]>,
    /// The processes seen making it.
    pub processes: Vec<Untrusted>,
    /// Every call was made before the workload's exec (the runtime's start-up).
    pub bootstrap: bool,
    /// Where in the program the calls came from, with a count each: `from
    /// make_cache_dir (cache.c:42) ← do_setup ← main` (escaped already).
    pub sites: Vec<(u64, String)>,
}

impl Denial {
    /// The call sites of an aggregated row, as the report lists them.
    pub fn sites_of(row: &crate::sources::aggregate::DeniedSyscall) -> Vec<(u64, String)> {
        row.sites
            .iter()
            .filter_map(|s| Some((s.hits, crate::sources::stack::summary(&s.stack)?)))
            .collect()
    }
}

/// A session, as the report tells it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Triage {
    /// The workload's command line, as the user gave it.
    pub command: String,
    /// How the calls were seen: `notify, permissive` …
    pub how: String,
    /// The container runtime that loaded the profile, if any (`runc`, `crun`).
    pub runtime: Option<String>,
    /// The profile's file, `None` for the embedded default.
    pub profile: Option<String>,
    /// How the last run ended: `exited with status 0` …
    pub outcome: String,
    /// The session's earlier runs, one line each (the TUI restarts runs).
    pub earlier: Vec<String>,
    pub denials: Vec<Denial>,
    /// What the user decided, one line each: `mkdir: allowed`.
    pub decisions: Vec<String>,
    /// The profile's unified diff since the session began (empty: unchanged).
    pub diff: String,
    /// The command that reruns the workload outside eperm under the profile
    /// (`docker run --security-opt seccomp=…`), when the caller knows it.
    pub rerun: Option<String>,
    /// Calls that failed with EPERM/EACCES by another layer than the profile.
    pub other_layers: Vec<OtherLayer>,
    /// Why the other layers were not watched, when they were not.
    pub layers_not_watched: Option<String>,
}

/// Calls of one syscall another layer refused (see `eperm_core::layer`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OtherLayer {
    pub syscall: String,
    pub errno: String,
    pub hits: u64,
    /// `capability: CAP_SYS_ADMIN`.
    pub layer: String,
    pub evidence: String,
    pub fix: String,
    /// The profile would deny the call too.
    pub also_seccomp: bool,
}

impl OtherLayer {
    /// The row for `hits` calls like `r`, once the watcher's thread classified
    /// it (`None` before).
    pub fn of(r: &crate::sources::refusal::Refusal, hits: u64) -> Option<OtherLayer> {
        let f = r.finding.as_ref()?;
        Some(OtherLayer {
            syscall: r.syscall.clone(),
            errno: crate::errno::describe(r.failure.errno),
            hits,
            layer: f.to_string(),
            evidence: f.evidence.clone(),
            fix: f.fix.clone(),
            also_seccomp: f.also_seccomp,
        })
    }
}

/// `--- a/BEFORE` / `+++ b/AFTER` (no `a/` before an absolute path) with three
/// lines of context; empty when the texts agree.
pub fn unified(before: &str, after: &str, before_name: &str, after_name: &str) -> String {
    if before == after {
        return String::new();
    }
    let name = |side: &str, name: &str| {
        if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{side}/{name}")
        }
    };
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&name("a", before_name), &name("b", after_name))
        .to_string()
}

/// `text` in a code span no backtick inside it can close, on one line. Outside a
/// table a pipe is plain text (a backslash would show), so only [`cell`] escapes it.
pub fn code(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    let one_line = text.replace(['\n', '\r'], " ");
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

/// [`code`] fit for a table cell: GFM splits cells at pipes even inside code
/// spans, unless escaped.
pub fn cell(text: &str) -> String {
    code(text).replace('|', "\\|")
}

/// A word for the shell: as it is when nothing in it is special, else single-quoted.
pub fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

impl Triage {
    /// The report, as Markdown.
    pub fn render(&self) -> String {
        let mut s = String::from("# eperm triage report\n\n");
        let profile = self
            .profile
            .as_deref()
            .map_or_else(|| "the embedded default".to_string(), code);
        let _ = writeln!(s, "- **Command:** {}", code(&self.command));
        let _ = writeln!(s, "- **Profile:** {profile}");
        let _ = writeln!(s, "- **Seen through:** {}", self.how);
        if let Some(runtime) = &self.runtime {
            let _ = writeln!(s, "- **Runtime:** {}", code(runtime));
        }
        let _ = writeln!(s, "- **Last run:** {}", self.outcome);
        if !self.earlier.is_empty() {
            let _ = writeln!(s, "- **Earlier runs:** {}", self.earlier.join("; "));
        }
        self.denials_section(&mut s);
        self.other_layers_section(&mut s);
        s += "\n## Decisions\n\n";
        if self.decisions.is_empty() {
            s += "None: the profile stands as it was.\n";
        }
        for d in &self.decisions {
            let _ = writeln!(s, "- {d}");
        }
        s += "\n## Profile diff\n\n";
        if self.diff.is_empty() {
            s += "The profile is unchanged.\n";
        } else {
            let fence = "`".repeat(longest_run(&self.diff).max(2) + 1);
            let _ = write!(s, "{fence}diff\n{}", self.diff);
            if !self.diff.ends_with('\n') {
                s.push('\n');
            }
            let _ = writeln!(s, "{fence}");
        }
        self.reproduce(&mut s);
        s
    }

    /// Only when there is something to say: calls other layers refused, or why
    /// they were not watched.
    fn other_layers_section(&self, s: &mut String) {
        if let Some(why) = &self.layers_not_watched {
            let _ = write!(s, "\n## Other layers\n\nNot watched: {why}.\n");
            return;
        }
        if self.other_layers.is_empty() {
            return;
        }
        s.push_str("\n## Other layers\n\nCalls that failed with EPERM or EACCES, refused by another layer than the profile:\n\n");
        s.push_str(
            "| syscall | errno | hits | layer | evidence | fix |\n|---|---|---:|---|---|---|\n",
        );
        for o in &self.other_layers {
            let also = if o.also_seccomp {
                " (the profile denies it too: allowing it there is not enough)"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {}{also} | {} |",
                cell(&o.syscall),
                cell(&o.errno),
                o.hits,
                cell(&o.layer),
                cell(&o.evidence),
                cell(&o.fix)
            );
        }
    }

    fn denials_section(&self, s: &mut String) {
        let total: u64 = self.denials.iter().map(|d| d.hits).sum();
        let _ = write!(
            s,
            "\n## Would-be denials\n\nOver the session: {} call{} of {} syscall{}",
            total,
            plural(total),
            self.denials.len(),
            plural(self.denials.len() as u64)
        );
        let boot: Vec<&Denial> = self.denials.iter().filter(|d| d.bootstrap).collect();
        if !boot.is_empty() {
            let calls: u64 = boot.iter().map(|d| d.hits).sum();
            let _ = write!(
                s,
                " ({} syscall{} with {calls} call{} made by the runtime's start-up, before the workload's exec)",
                boot.len(),
                plural(boot.len() as u64),
                plural(calls)
            );
        }
        s.push_str(".\n\n");
        if self.denials.is_empty() {
            return;
        }
        s.push_str(
            "| syscall | arch | hits | profile says | deciding rule | example call | processes |\n",
        );
        s.push_str("|---|---|---:|---|---|---|---|\n");
        // The workload's rows first, as on screen.
        let rows = self
            .denials
            .iter()
            .filter(|d| !d.bootstrap)
            .chain(boot.iter().copied());
        for d in rows {
            let procs: Vec<String> = d.processes.iter().map(|p| cell(&p.to_string())).collect();
            let _ = writeln!(
                s,
                "| {}{} | {} | {} | {} | {} | {} | {} |",
                cell(&d.syscall),
                if d.bootstrap { " (start-up)" } else { "" },
                cell(&d.arch),
                d.hits,
                cell(&d.verdict),
                cell(&d.rule),
                cell(&d.example),
                procs.join(", ")
            );
        }
        self.sites_section(s);
    }

    /// Where each syscall was called from, when stacks were taken.
    fn sites_section(&self, s: &mut String) {
        let with_sites: Vec<&Denial> = self
            .denials
            .iter()
            .filter(|d| !d.sites.is_empty())
            .collect();
        if with_sites.is_empty() {
            return;
        }
        s.push_str("\n### Where in the program\n\n");
        for d in with_sites {
            for (hits, site) in &d.sites {
                let _ = writeln!(s, "- {} {hits}×: {}", code(&d.syscall), code(site));
            }
        }
    }

    fn reproduce(&self, s: &mut String) {
        s.push_str("\n## Reproduce\n\n");
        let profile = self.profile.as_deref().map(shell_word);
        let saved = profile.clone().unwrap_or_else(|| "profile.json".into());
        let mut block = String::new();
        let s_outer = s;
        let s = &mut block;
        if profile.is_none() {
            s.push_str("eperm default > profile.json\n");
        }
        let rows = self.denials.iter().filter(|d| !d.bootstrap);
        for d in rows.chain(self.denials.iter().filter(|d| d.bootstrap)) {
            let mut line = format!(
                "eperm explain {saved} {} --arch {}",
                shell_word(&d.syscall),
                shell_word(&d.arch)
            );
            if let Some(args) = d.args {
                let used = args.iter().rposition(|&a| a != 0).map_or(0, |i| i + 1);
                for a in &args[..used] {
                    let _ = write!(line, " {a:#x}");
                }
            }
            let _ = writeln!(s, "{line}");
        }
        if let Some(rerun) = &self.rerun {
            let _ = writeln!(s, "{rerun}");
        }
        let fence = "`".repeat(longest_run(&block).max(2) + 1);
        let _ = write!(s_outer, "{fence}sh\n{block}{fence}\n");
    }
}

fn longest_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn plural(n: u64) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests;

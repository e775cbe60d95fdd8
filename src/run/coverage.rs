//! Coverage: which allowances of a profile does the workload really use?
//!
//! The workload's filter sends *every* call of the arches the profile covers to
//! the supervisor (`SECCOMP_RET_USER_NOTIF`); foreign arches get the bad-arch
//! action as under the real profile. The supervisor asks [`Compiled::evaluate`]
//! what the profile says, answers accordingly (CONTINUE for an allowance, the
//! errno for a denial), so the workload runs exactly as under the profile, and
//! tallies each call by deciding rule, syscall and arch.

use super::notify;
use super::{enforce, Call, Decision, Supervision};
use crate::arch::Arch;
use crate::compile::bpf::{self, SockFilter};
use crate::compile::{Compiled, BAD_ARCH};
use crate::profile::Action;
use crate::sources::event::{Decision as Outcome, Source};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// At most this many pids are remembered per tally.
const MAX_PIDS: usize = 64;
/// At most this many distinct values are remembered per argument position; a
/// position holding this many may have seen more (narrowing then stays away).
pub const MAX_VALUES: usize = 256;
/// The bit x32 calls carry in `nr`.
const X32_BIT: u32 = 0x4000_0000;

/// The coverage program: USER_NOTIF for every call of the profile's arches,
/// the bad-arch action for the rest.
pub fn program(compiled: &Compiled) -> Vec<SockFilter> {
    let arches = &compiled.arches;
    let audits: Vec<u32> = {
        let mut v: Vec<u32> = arches.iter().map(|a| a.audit_arch()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let x86_64 = Arch::X86_64.audit_arch();
    let has_x86_64 = arches.contains(&Arch::X86_64);
    let has_x32 = arches.contains(&Arch::X32);
    let mut p = vec![SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_ARCH)];
    for audit in audits {
        if audit == x86_64 && has_x86_64 != has_x32 {
            // Only one of x86_64 and x32: the other's calls are a bad arch.
            // jf skips this arch's four instructions.
            p.push(SockFilter::new(bpf::JEQ_K, 0, 4, audit));
            p.push(SockFilter::new(bpf::LD_ABS, 0, 0, bpf::OFF_NR));
            let (jt, jf) = if has_x32 { (1, 0) } else { (0, 1) };
            p.push(SockFilter::new(bpf::JSET_K, jt, jf, X32_BIT));
            p.push(SockFilter::new(bpf::RET_K, 0, 0, BAD_ARCH));
            p.push(SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_USER_NOTIF));
        } else {
            p.push(SockFilter::new(bpf::JEQ_K, 0, 1, audit));
            p.push(SockFilter::new(bpf::RET_K, 0, 0, bpf::RET_USER_NOTIF));
        }
    }
    p.push(SockFilter::new(bpf::RET_K, 0, 0, BAD_ARCH));
    p
}

/// The argument positions rules commonly constrain, for one call.
pub fn watched(arch: Arch, name: &str) -> &'static [usize] {
    match name {
        "clone" if matches!(arch, Arch::S390 | Arch::S390x) => &[1],
        "clone" | "personality" | "prctl" | "unshare" | "setns" => &[0],
        "socket" | "socketpair" => &[0, 1],
        "ioctl" => &[1],
        "mmap" | "mmap2" | "mprotect" | "pkey_mprotect" => &[2],
        _ => &[],
    }
}

/// One allowance's (or denial's) use: one deciding rule, one syscall, one arch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Index into the profile's `syscalls[]`; `None`: the default action.
    pub rule: Option<usize>,
    pub syscall: String,
    pub arch: String,
    /// What the profile said, e.g. `SCMP_ACT_ALLOW`.
    pub action: String,
    pub count: u64,
    /// Calls made before the workload's exec (the runtime's own needs).
    #[serde(default)]
    pub before_exec: u64,
    #[serde(default)]
    pub pids: BTreeSet<u32>,
    /// `"arg0"` → values seen there.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeSet<u64>>,
}

impl Tally {
    fn merge(&mut self, other: &Tally) {
        self.count += other.count;
        self.before_exec += other.before_exec;
        for &p in &other.pids {
            if self.pids.len() >= MAX_PIDS {
                break;
            }
            self.pids.insert(p);
        }
        for (k, vs) in &other.values {
            let set = self.values.entry(k.clone()).or_default();
            for &v in vs {
                if set.len() >= MAX_VALUES {
                    break;
                }
                set.insert(v);
            }
        }
    }

    fn key(&self) -> (Option<usize>, String, String) {
        (self.rule, self.syscall.clone(), self.arch.clone())
    }
}

/// Coverage of one or more runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// How many runs are merged here.
    pub runs: u64,
    pub tallies: Vec<Tally>,
}

#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a coverage file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

impl Coverage {
    /// Adds `other`'s runs: counts add, value sets union.
    pub fn merge(&mut self, other: &Coverage) {
        self.runs += other.runs;
        let mut at: HashMap<(Option<usize>, String, String), usize> = self
            .tallies
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key(), i))
            .collect();
        for t in &other.tallies {
            match at.get(&t.key()) {
                Some(&i) => self.tallies[i].merge(t),
                None => {
                    at.insert(t.key(), self.tallies.len());
                    self.tallies.push(t.clone());
                }
            }
        }
        self.tallies
            .sort_by(|a, b| (a.rule, &a.syscall, &a.arch).cmp(&(b.rule, &b.syscall, &b.arch)));
    }

    /// Syscall names used at all (any arch, any verdict).
    pub fn used(&self) -> BTreeSet<&str> {
        self.tallies
            .iter()
            .filter(|t| t.count > 0)
            .map(|t| t.syscall.as_str())
            .collect()
    }

    /// Syscall names used before the workload's exec.
    pub fn before_exec(&self) -> BTreeSet<&str> {
        self.tallies
            .iter()
            .filter(|t| t.before_exec > 0)
            .map(|t| t.syscall.as_str())
            .collect()
    }

    /// Every value seen at `arg` for `syscall`, over all arches and rules.
    pub fn values(&self, syscall: &str, arg: usize) -> BTreeSet<u64> {
        let key = format!("arg{arg}");
        self.tallies
            .iter()
            .filter(|t| t.syscall == syscall)
            .filter_map(|t| t.values.get(&key))
            .flatten()
            .copied()
            .collect()
    }

    /// Where coverage of `profile` is kept: `DIR/NAME.coverage.json` for `DIR/NAME.json`.
    pub fn path_for(profile: &Path) -> PathBuf {
        let stem = profile
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "profile".into());
        profile.with_file_name(format!("{stem}.coverage.json"))
    }

    /// The stored coverage at `path`; empty when there is none yet.
    pub fn load(path: &Path) -> Result<Coverage, CoverageError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|source| CoverageError::Parse { path: name, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Coverage::default()),
            Err(source) => Err(CoverageError::Io { path: name, source }),
        }
    }

    /// Writes atomically (a temporary file renamed over `path`).
    pub fn save(&self, path: &Path) -> Result<(), CoverageError> {
        let name = path.display().to_string();
        let io_err = |source| CoverageError::Io {
            path: name.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(self).expect("coverage serializes") + "\n";
        let tmp = path.with_file_name(format!(
            ".{}.tmp{}",
            path.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        std::fs::write(&tmp, text).map_err(io_err)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io_err(e)
        })
    }

    /// Loads what is stored at `path`, adds `run` and saves the sum.
    pub fn merge_into(path: &Path, run: &Coverage) -> Result<Coverage, CoverageError> {
        let mut stored = Coverage::load(path)?;
        stored.merge(run);
        stored.save(path)?;
        Ok(stored)
    }
}

/// What the supervisor knows of one calling thread.
struct Task {
    tgid: u32,
    /// The thread runs the workload (it is no longer eperm's own executable).
    exec_done: bool,
}

/// Answers every notification of one coverage run and tallies it.
pub struct Supervisor<'a> {
    listener: OwnedFd,
    sup: &'a Supervision,
    tasks: HashMap<u32, Task>,
    tallies: HashMap<(Option<usize>, u32, Arch), Tally>,
}

impl<'a> Supervisor<'a> {
    pub fn new(listener: OwnedFd, sup: &'a Supervision) -> Supervisor<'a> {
        notify::set_sync_wake_up(&listener);
        Supervisor {
            listener,
            sup,
            tasks: HashMap::new(),
            tallies: HashMap::new(),
        }
    }

    /// Answers until every process using the filter is gone or `stop` is readable.
    pub fn run(mut self, stop: BorrowedFd<'_>) -> io::Result<Coverage> {
        let listener = self.listener.try_clone()?;
        notify::serve(&listener, stop, |n| {
            self.handle(n.id, n.pid, n.data.arch, n.data.nr as u32, n.data.args);
        })?;
        Ok(self.finish())
    }

    fn finish(self) -> Coverage {
        let mut tallies: Vec<Tally> = self.tallies.into_values().collect();
        tallies.sort_by(|a, b| (a.rule, &a.syscall, &a.arch).cmp(&(b.rule, &b.syscall, &b.arch)));
        Coverage { runs: 1, tallies }
    }

    fn handle(&mut self, id: u64, tid: u32, audit: u32, nr: u32, args: [u64; 6]) {
        let Some(arch) = Arch::from_audit(audit, nr) else {
            notify::answer(&self.listener, id, Decision::Continue);
            return;
        };
        let compiled = &self.sup.judge.compiled;
        let outcome = compiled.evaluate(arch, nr, args);
        let rule = outcome
            .origin
            .map(|e| self.sup.judge.resolved.rules[e].rule);
        let (tgid, before_exec) = self.task(tid);
        let tally = self
            .tallies
            .entry((rule, nr, arch))
            .or_insert_with(|| Tally {
                rule,
                syscall: arch
                    .syscall_name(nr)
                    .map_or_else(|| format!("nr_{nr}"), str::to_string),
                arch: arch.name().to_string(),
                action: outcome.verdict.action.name().to_string(),
                ..Tally::default()
            });
        tally.count += 1;
        if before_exec {
            tally.before_exec += 1;
        }
        if tally.pids.len() < MAX_PIDS {
            tally.pids.insert(tgid);
        }
        for &i in watched(arch, &tally.syscall) {
            let set = tally.values.entry(format!("arg{i}")).or_default();
            if set.len() < MAX_VALUES {
                set.insert(args[i]);
            }
        }
        let decision = enforce(outcome.verdict);
        if outcome.verdict.action != Action::Allow {
            // A would-be denial: report it as `run` does.
            let call = Call {
                pid: tgid,
                tid,
                arch,
                nr,
                args,
            };
            let judgement = self.sup.judge.judge(arch, nr, args);
            let mut event = self
                .sup
                .event(Source::Notify, &call, &judgement, Outcome::Allowed);
            event.decision = match decision {
                Decision::Continue => Outcome::Allowed,
                Decision::Fail(_) => Outcome::Denied,
                Decision::Kill => Outcome::Killed,
            };
            let _ = self.sup.events.send(event);
        }
        if decision == Decision::Kill {
            // SAFETY: plain syscall on the workload's process.
            unsafe { libc::kill(tgid as i32, libc::SIGKILL) };
        }
        notify::answer(&self.listener, id, decision);
    }

    /// The thread's process, and whether it still runs eperm's code (before exec).
    fn task(&mut self, tid: u32) -> (u32, bool) {
        if let Some(task) = self.tasks.get(&tid) {
            if task.exec_done {
                return (task.tgid, false);
            }
        }
        if self.tasks.len() >= 4096 {
            self.tasks.clear();
        }
        let tgid = match self.tasks.get(&tid) {
            Some(task) => task.tgid,
            None => notify::tgid(tid).unwrap_or(tid),
        };
        let exe = std::fs::read_link(format!("/proc/{tgid}/exe")).ok();
        let exec_done = exe.is_none() || exe != self.sup.own_exe;
        self.tasks.insert(tid, Task { tgid, exec_done });
        (tgid, !exec_done)
    }
}

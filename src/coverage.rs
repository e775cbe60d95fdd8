//! Coverage: which allowances of a profile a workload really used, per
//! deciding rule, syscall and arch, summed over runs and kept in a file next to
//! the profile (`NAME.coverage.json`, see [`Coverage::path_for`]).
//!
//! This is the data model and its file only. How a run counts calls (in the
//! kernel with eBPF, or by seccomp notification) is `run::coverage`'s; what a
//! profile can lose or narrow from it is `tighten`'s.

use crate::arch::Arch;
use crate::error::{FileError, FileOp};
use crate::files;
use crate::profile::Action;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::path::{Path, PathBuf};

/// At most this many pids are remembered per tally.
pub const MAX_PIDS: usize = 64;
/// At most this many distinct values are remembered per argument position; a
/// position holding this many may have seen more (narrowing then stays away).
pub const MAX_VALUES: usize = 256;

/// The syscalls of which some argument is sampled (see [`watched`]).
pub const WATCHED: [&str; 14] = [
    "clone",
    "personality",
    "prctl",
    "unshare",
    "setns",
    "socket",
    "socketpair",
    "ioctl",
    "mmap",
    "mmap2",
    "mprotect",
    "pkey_mprotect",
    "socketcall",
    "ipc",
];

/// The argument positions rules commonly constrain, for one call.
pub fn watched(arch: Arch, name: &str) -> &'static [usize] {
    match name {
        "clone" if matches!(arch, Arch::S390 | Arch::S390x) => &[1],
        "clone" | "personality" | "prctl" | "unshare" | "setns" => &[0],
        "socket" | "socketpair" => &[0, 1],
        "ioctl" => &[1],
        // 32-bit x86's multiplexers: libseccomp rules `accept` there as
        // socketcall with the call number in args[0].
        "socketcall" | "ipc" => &[0],
        "mmap" | "mmap2" | "mprotect" | "pkey_mprotect" => &[2],
        _ => &[],
    }
}

/// One allowance's (or denial's) use: one deciding rule, one syscall, one arch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Index into the profile's `syscalls[]`; `None`: the default action.
    pub rule: Option<usize>,
    pub syscall: String,
    /// Written by its short name (`x86_64`).
    #[serde(with = "by_name")]
    pub arch: Arch,
    /// What the profile said, written as profiles spell it (`SCMP_ACT_ALLOW`).
    #[serde(with = "by_name")]
    pub action: Action,
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
    /// No calls yet to `syscall` on `arch`, decided by `rule` with `action`.
    pub fn new(rule: Option<usize>, syscall: &str, arch: Arch, action: Action) -> Tally {
        Tally {
            rule,
            syscall: syscall.to_string(),
            arch,
            action,
            count: 0,
            before_exec: 0,
            pids: BTreeSet::new(),
            values: BTreeMap::new(),
        }
    }

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

    fn key(&self) -> (Option<usize>, String, Arch) {
        (self.rule, self.syscall.clone(), self.arch)
    }

    /// The file's order: by rule, syscall and the arch's name.
    pub fn order(&self) -> (Option<usize>, &str, &'static str) {
        (self.rule, &self.syscall, self.arch.name())
    }
}

/// A value the coverage file writes by its name: the name is the contract, so
/// the file reads the same whatever the type's order or layout.
trait Named: Sized + Copy {
    const WHAT: &'static str;
    fn name(self) -> &'static str;
    fn parse(name: &str) -> Option<Self>;
}

/// [`Named`] by the type's own `name` and `parse`; `what` for messages.
macro_rules! named {
    ($type:ty, $what:literal) => {
        impl Named for $type {
            const WHAT: &'static str = $what;
            fn name(self) -> &'static str {
                <$type>::name(self)
            }
            fn parse(name: &str) -> Option<$type> {
                <$type>::parse(name)
            }
        }
    };
}

named!(Arch, "arch");
named!(Action, "action");

/// `#[serde(with)]` for a [`Named`] field.
mod by_name {
    use super::*;

    pub fn serialize<T: Named, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.name())
    }

    pub fn deserialize<'de, T: Named, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
        let name = String::deserialize(d)?;
        T::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown {} {name:?}", T::WHAT)))
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
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{path}: not a coverage file: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

/// What to do when the coverage file's place could have been planted.
const PLANTED_HINT: &str =
    "keep the profile in a directory only you (or root) can write, e.g. one of your own";

impl Coverage {
    /// Adds `other`'s runs: counts add, value sets union.
    pub fn merge(&mut self, other: &Coverage) {
        self.runs += other.runs;
        let mut at: HashMap<(Option<usize>, String, Arch), usize> = self
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
        self.tallies.sort_by(|a, b| a.order().cmp(&b.order()));
    }

    /// Syscall names used at all (any arch, any verdict).
    pub fn used(&self) -> BTreeSet<&str> {
        self.names_where(|t| t.count > 0)
    }

    /// Syscall names used before the workload's exec.
    pub fn before_exec(&self) -> BTreeSet<&str> {
        self.names_where(|t| t.before_exec > 0)
    }

    fn names_where(&self, keep: impl Fn(&Tally) -> bool) -> BTreeSet<&str> {
        self.tallies
            .iter()
            .filter(|t| keep(t))
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

    /// The stored coverage at `path`; empty when there is none yet. Read as
    /// eperm reads every file beside a profile: refused when another user
    /// could have planted it, regular files only, never blocking, capped.
    pub fn load(path: &Path) -> Result<Coverage, CoverageError> {
        let name = path.display().to_string();
        files::check_picked(path, FileOp::Read, PLANTED_HINT)?;
        match files::read(path, files::COVERAGE) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| CoverageError::Parse { path: name, source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Coverage::default()),
            Err(source) => Err(FileError::on(FileOp::Read, path)(source).into()),
        }
    }

    /// Writes whole or not at all, never through a link, and not where
    /// another user could have planted something (see [`files`]).
    pub fn save(&self, path: &Path) -> Result<(), CoverageError> {
        files::check_picked(path, FileOp::WriteCoverage, PLANTED_HINT)?;
        let text = serde_json::to_string_pretty(self).expect("coverage serializes") + "\n";
        Ok(files::write(path, text.as_bytes(), FileOp::WriteCoverage)?)
    }

    /// Loads what is stored at `path`, adds `run` and saves the sum.
    pub fn merge_into(path: &Path, run: &Coverage) -> Result<Coverage, CoverageError> {
        let mut stored = Coverage::load(path)?;
        stored.merge(run);
        stored.save(path)?;
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The coverage file is a contract: what eperm wrote before, it reads and
    /// writes again byte for byte (merging re-sorts, so this holds the order too).
    #[test]
    fn a_coverage_file_round_trips_byte_for_byte() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/coverage/profile.coverage.json");
        let text = std::fs::read_to_string(&fixture).unwrap();
        let mut coverage = Coverage::load(&fixture).unwrap();
        assert_eq!(coverage.runs, 2);
        assert_eq!(coverage.tallies.len(), 6);
        coverage.merge(&Coverage::default());
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("profile.coverage.json");
        coverage.save(&copy).unwrap();
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), text);
    }
}

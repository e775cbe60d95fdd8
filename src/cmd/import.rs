//! `eperm import`: turn saved evidence into a profile through the edit engine —
//! the base plus an allowance for every syscall the evidence shows was denied or
//! logged (kernel logs), refused (events: `import_events`), or made at all (strace).

use crate::arch::Arch;
use crate::cli::{ImportArgs, ImportFormat};
use crate::error::{Error, FileOp, EXIT_OK};
use crate::profile::edit::{apply_commented, Edit};
use crate::profile::{load_file, load_or_default, load_str};
use crate::progress::{self, Progress};
use crate::sources::file::{self, Format};
use crate::sources::strace;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// How often parallel reading looks at which parts are done (for the progress line).
const PROGRESS_POLL: std::time::Duration = std::time::Duration::from_millis(20);

/// What the evidence says about one syscall.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub count: u64,
    /// Failures by errno (strace) or action (kernel logs).
    pub failures: BTreeMap<String, u64>,
}

/// Every syscall the evidence names, by name.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub syscalls: BTreeMap<String, Seen>,
    pub records: u64,
    pub truncated: u64,
    pub suppressed: u64,
    /// LSM refusal records (AppArmor, SELinux, Landlock): not the profile's.
    pub lsm: u64,
}

impl Evidence {
    pub(super) fn add(&mut self, name: String, failure: Option<String>, count: u64) {
        let seen = self.syscalls.entry(name).or_default();
        seen.count += count;
        if let Some(f) = failure {
            *seen.failures.entry(f).or_default() += count;
        }
        self.records += count;
    }
}

/// Reads one file's evidence into `into`, saying how far it got on `progress`.
pub fn read(
    format: ImportFormat,
    name: &str,
    data: &[u8],
    into: &mut Evidence,
    progress: &mut Progress,
) {
    progress.show(&format!(
        "reading {name} ({})",
        progress::bytes(data.len() as u64)
    ));
    let on_terminal = progress.on_terminal();
    let mut show = |bytes: u64| {
        progress.show(&format!(
            "reading {name}: {} of {}",
            progress::bytes(bytes),
            progress::bytes(data.len() as u64)
        ))
    };
    let mut done = on_terminal.then_some(&mut show as &mut dyn FnMut(u64));
    match format {
        ImportFormat::Audit => read_log(Format::Audit, data, into, done.take()),
        ImportFormat::Kmsg => read_log(Format::Kmsg, data, into, done.take()),
        ImportFormat::Journal => read_log(Format::Journal, data, into, done.take()),
        ImportFormat::Strace => read_strace(name, data, into),
        ImportFormat::StraceSummary => read_strace_summary(data, into),
        // Read line by line, with errors: see `gather_events`.
        ImportFormat::Events => {}
    }
}

/// The seccomp records of a kernel log: each denied or logged syscall, by action.
/// `done`, if any, hears the bytes read so far as parts finish.
fn read_log(f: Format, data: &[u8], into: &mut Evidence, done: Option<&mut dyn FnMut(u64)>) {
    // Records are counted by (arch, nr, action) and named once at the end:
    // a million records name a few dozen syscalls. Line-based files are
    // read in parallel.
    type Counts = HashMap<(u32, u32, u32), u64>;
    let read_part = |part: &[u8]| -> (Counts, u64, u64) {
        let mut counts = Counts::new();
        let (t, s) = file::each_record(f, part, |r| {
            let key = (r.audit_arch, r.nr, r.code & 0xffff_0000);
            *counts.entry(key).or_default() += 1;
        });
        (counts, t, s)
    };
    let parts = if f == Format::Journal {
        vec![data]
    } else {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        file::chunks(data, cpus * 4)
    };
    let results: Vec<(Counts, u64, u64)> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| scope.spawn(move || read_part(part)))
            .collect();
        // Parts finish in any order: count the bytes of those that have.
        if let Some(done) = done {
            while !handles.iter().all(|h| h.is_finished()) {
                let bytes = (handles.iter().zip(&parts))
                    .filter(|(h, _)| h.is_finished())
                    .map(|(_, part)| part.len() as u64)
                    .sum();
                done(bytes);
                std::thread::sleep(PROGRESS_POLL);
            }
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut total = Counts::new();
    for (counts, t, s) in results {
        into.truncated += t;
        into.suppressed += s;
        for (k, n) in counts {
            *total.entry(k).or_default() += n;
        }
    }
    let mut keys: Vec<_> = total.into_iter().collect();
    keys.sort();
    for ((audit_arch, nr, action), n) in keys {
        // An ALLOW record (FILTER_FLAG_LOG with ALLOW is never logged, but be safe).
        if action == 0x7fff_0000 {
            continue;
        }
        let r = crate::sources::audit_record::Record {
            audit_arch,
            nr,
            arch: crate::arch::Arch::from_audit(audit_arch, nr),
            code: action,
            ..Default::default()
        };
        let action = r.action().trim_start_matches("SCMP_ACT_").to_string();
        into.add(r.syscall(), Some(action), n);
    }
}

/// Every call strace shows; failures with EPERM or ENOSYS are kept as such.
fn read_strace(name: &str, data: &[u8], into: &mut Evidence) {
    let text = String::from_utf8_lossy(data);
    let pid = Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(strace::pid_of_file);
    for call in strace::parse(&text, pid).calls {
        let failure = call.errno.filter(|e| e == "EPERM" || e == "ENOSYS");
        into.add(call.name, failure, 1);
    }
}

/// The calls and errors of each row of `strace -c`.
fn read_strace_summary(data: &[u8], into: &mut Evidence) {
    let text = String::from_utf8_lossy(data);
    for row in strace::parse_summary(&text) {
        into.add(row.name.clone(), None, row.calls.max(1));
        if row.errors > 0 {
            *into
                .syscalls
                .entry(row.name)
                .or_default()
                .failures
                .entry("errors".into())
                .or_default() += row.errors;
        }
    }
}

pub fn run(args: &ImportArgs) -> Result<u8, Error> {
    let out = args.output.display().to_string();
    let (base, from) = match (&args.start.base, args.start.empty) {
        (_, true) => (
            load_str(&out, super::empty_profile(Arch::native()))?,
            "an empty profile (everything denied)".to_string(),
        ),
        (Some(path), _) => (load_file(path)?, path.display().to_string()),
        (None, false) => (
            load_or_default(None)?,
            "the embedded default profile (--empty starts from nothing)".to_string(),
        ),
    };
    let evidence =
        match args.format {
            ImportFormat::Events => gather_events(args)?,
            _ if args.pod.is_some() || args.workload.is_some() => return Err(Error::bad_input(
                "--pod and --workload choose among events\n  hint: use them with --format events",
            )),
            _ => gather(args)?,
        };
    let (known, unknown): (Vec<&String>, Vec<&String>) = evidence
        .syscalls
        .keys()
        .partition(|n| Edit::Allow((*n).clone()).validate().is_ok());
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        eprintln!(
            "eperm: not syscalls on any architecture eperm knows, left out: {}",
            list.join(", ")
        );
    }
    let edits: Vec<Edit> = known.iter().map(|n| Edit::Allow((*n).clone())).collect();
    let files: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let comment = format!(
        "imported by eperm from {} ({})",
        files.join(", "),
        args.format
    );
    let applied = apply_commented(&base, &edits, Some(&comment))
        .map_err(|e| Error::bad_input(e.to_string()))?;
    super::write_file(&args.output, applied.text())?;
    report(&evidence);
    let changed: Vec<&str> = applied.changed_names().collect();
    eprintln!(
        "eperm: wrote {out}: {from} allowing {} more syscall{}{}{}",
        changed.len(),
        if changed.len() == 1 { "" } else { "s" },
        if changed.is_empty() { "" } else { ": " },
        changed.join(", ")
    );
    Ok(EXIT_OK)
}

/// The evidence of every file named (`-`: standard input), read a block at
/// a time: regular files only (a FIFO or a device is refused, never waited
/// on), and never the whole file in memory.
fn gather(args: &ImportArgs) -> Result<Evidence, Error> {
    let mut evidence = Evidence::default();
    let mut progress = Progress::new();
    for path in &args.files {
        let name = path.display().to_string();
        let mut each = |block: &[u8]| {
            if args.format != ImportFormat::Strace && args.format != ImportFormat::StraceSummary {
                evidence.lsm += crate::sources::lsm::records(block).len() as u64;
            }
            read(args.format, &name, block, &mut evidence, &mut progress)
        };
        if name == "-" {
            file::each_block(std::io::stdin().lock(), &mut each).map_err(|source| Error::Os {
                op: "read standard input",
                source,
            })?;
        } else {
            let (log, _) = crate::files::open(path).map_err(Error::file(FileOp::Read, path))?;
            file::each_block(log, &mut each).map_err(Error::file(FileOp::Read, path))?;
        }
    }
    progress.clear();
    Ok(evidence)
}

/// The refused calls of every events file named (`-`: standard input), a line
/// at a time; what was skipped is said.
fn gather_events(args: &ImportArgs) -> Result<Evidence, Error> {
    use super::import_events::{read, Filter, Tally};
    let filter = Filter {
        pod: args.pod.clone(),
        workload: args.workload.clone(),
    };
    let (mut evidence, mut tally) = (Evidence::default(), Tally::default());
    for path in &args.files {
        let name = path.display().to_string();
        if name == "-" {
            read(
                &name,
                std::io::stdin().lock(),
                &filter,
                &mut evidence,
                &mut tally,
            )?;
        } else {
            let (file, _) = crate::files::open(path).map_err(Error::file(FileOp::Read, path))?;
            let file = std::io::BufReader::new(file);
            read(&name, file, &filter, &mut evidence, &mut tally)?;
        }
    }
    if tally.other_layers > 0 {
        eprintln!(
            "eperm: skipped {} event(s) of other layers (\"source\":\"ebpf\": capabilities, LSMs, file modes): \
             not seccomp's, no allowance in the profile can help them",
            tally.other_layers
        );
    }
    if tally.other_pods > 0 {
        eprintln!(
            "eperm: skipped {} event(s) of other pods (or of none)",
            tally.other_pods
        );
    }
    if tally.not_refused > 0 {
        eprintln!(
            "eperm: skipped {} event(s) of calls the profile allowed or only logged",
            tally.not_refused
        );
    }
    Ok(evidence)
}

/// What the logs held: records, syscalls, what was cut or dropped, what failed.
fn report(evidence: &Evidence) {
    eprintln!(
        "eperm: read {} record{} naming {} syscall{}",
        evidence.records,
        if evidence.records == 1 { "" } else { "s" },
        evidence.syscalls.len(),
        if evidence.syscalls.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    if evidence.lsm > 0 {
        eprintln!(
            "eperm: {} LSM refusal record(s) (AppArmor, SELinux, Landlock) are not seccomp's: \
             no allowance in the profile can help them; `eperm replay` shows each with its fix",
            evidence.lsm
        );
    }
    if evidence.truncated > 0 {
        eprintln!(
            "eperm: {} record(s) were cut short and skipped",
            evidence.truncated
        );
    }
    if evidence.suppressed > 0 {
        eprintln!(
            "eperm: the kernel log says the printk rate limit dropped {} record(s): the evidence is incomplete\n  hint: the audit log (type=SECCOMP) keeps every record",
            evidence.suppressed
        );
    }
    let failed: Vec<String> = evidence
        .syscalls
        .iter()
        .filter(|(_, s)| s.failures.contains_key("EPERM") || s.failures.contains_key("ENOSYS"))
        .map(|(n, s)| {
            let f: Vec<String> = s.failures.iter().map(|(e, c)| format!("{e}×{c}")).collect();
            format!("{n} ({})", f.join(", "))
        })
        .collect();
    if !failed.is_empty() {
        eprintln!(
            "eperm: failed with EPERM/ENOSYS in the trace: {}",
            failed.join(", ")
        );
    }
}

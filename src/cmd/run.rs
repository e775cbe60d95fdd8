//! `eperm run`: run a workload under a profile, report what it would deny.
//!
//! With a terminal on stdout (and no `--no-tui`) it opens the TUI. Otherwise the
//! workload's stdio is its own, events go to `--events` as JSON lines, and a
//! summary follows on stderr.

use super::CmdError;
use crate::arch::Arch;
use crate::caps::CapSet;
use crate::cli::RunArgs;
use crate::profile::{load_file, load_str, KernelVersion, Profile, Target, DEFAULT_PROFILE};
use crate::run::session::{self, Interception, LogOptions, RunSpec};
use crate::run::{notify, Judge, Policy, RunError, Supervision, WorkloadExit};
use crate::sources::event::Event;
use crate::sources::health::Health;
use crate::sources::logs::{self, Wanted};
use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

/// The name the embedded default profile goes by in messages.
pub const DEFAULT_NAME: &str = "<default profile>";

pub fn run(args: &RunArgs) -> Result<u8, CmdError> {
    use std::io::IsTerminal;
    let tui = !args.no_tui && std::io::stdout().is_terminal();
    if args.hold && !tui {
        eprintln!("eperm: --hold needs the TUI (a terminal on stdout); calls run permissively");
    }
    if tui && args.events.as_deref() == Some("-") {
        return Err(CmdError::BadInput(
            "--events -: stdout is the TUI's screen\n  hint: --events FILE, or --no-tui".into(),
        ));
    }
    check_sources(&args.source)?;
    let profile = load_profile(args.profile.as_deref())?;
    if args.coverage && !tui {
        return super::tighten::run_coverage(args, profile);
    }
    if tui {
        return run_tui(args, profile);
    }
    let options = Options {
        mode: args.mode.as_deref(),
        enforce: args.enforce,
        user: args.user.as_deref(),
        events: args.events.as_deref(),
        command: &args.command,
        sources: &args.source,
    };
    let outcome = execute(profile, &options)?;
    eprint!(
        "{}",
        outcome.summary.render(outcome.profile_file.as_deref())
    );
    if outcome.mode == Interception::Log {
        eprint!(
            "eperm: kernel log sources:\n{}",
            logs::render_health(&outcome.health)
        );
    }
    Ok(outcome.exit.code())
}

fn run_tui(args: &RunArgs, profile: Profile) -> Result<u8, CmdError> {
    let options = Options {
        mode: args.mode.as_deref(),
        enforce: args.enforce,
        user: args.user.as_deref(),
        events: None,
        command: &args.command,
        sources: &args.source,
    };
    let (mode, user, target) = prepare(&options)?;
    let command = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    // Coverage runs the workload as under the profile, through notify, never holding.
    let config = crate::app::Config {
        command,
        mode: if args.coverage { "notify" } else { mode.name() }.to_string(),
        enforce: args.enforce,
        hold: args.hold && !args.coverage,
        hold_timeout_ms: (args.hold_timeout.unwrap_or(30.0).max(0.0) * 1000.0) as u64,
        autosave: !args.no_autosave,
        rerun_on_save: args.rerun_on_save,
        watching: false,
        coverage: args.coverage,
        path: args.profile.clone(),
    };
    // Fail before the screen changes when the command cannot be found.
    crate::run::child::find_program(args.command[0].as_os_str()).ok_or_else(|| {
        CmdError::from(RunError::Spawn(crate::run::child::SpawnError::NotFound(
            args.command[0].to_string_lossy().into_owned(),
        )))
    })?;
    let events = args.events.as_deref().map(events_file).transpose()?;
    let setup = crate::tui::Setup {
        events,
        profile,
        config,
        mode,
        user,
        target,
        argv: args.command.clone(),
        sources: Wanted::from_names(&args.source).unwrap_or(Wanted::BOTH),
        container: None,
    };
    Ok(crate::tui::run(setup)?)
}

fn check_sources(sources: &[String]) -> Result<(), CmdError> {
    for s in sources {
        match s.trim() {
            "ptrace" | "notify" => {}
            "audit" | "kmsg" => {}
            other => {
                return Err(CmdError::BadInput(format!(
                    "--source: unknown source {other:?}\n  hint: ptrace, notify, audit or kmsg"
                )))
            }
        }
    }
    Ok(())
}

/// `-p FILE`, or the embedded default profile.
pub fn load_profile(path: Option<&Path>) -> Result<Profile, CmdError> {
    Ok(match path {
        Some(p) => load_file(p)?,
        None => load_str(DEFAULT_NAME, DEFAULT_PROFILE.to_string())?,
    })
}

/// How to run, shared by `run` and `record`.
pub struct Options<'a> {
    pub mode: Option<&'a str>,
    pub enforce: bool,
    pub user: Option<&'a str>,
    /// `--events FILE|-`.
    pub events: Option<&'a str>,
    pub command: &'a [OsString],
    /// `--source`: with `--mode log`, which kernel log sources to read (default: both).
    pub sources: &'a [String],
}

pub struct Outcome {
    pub exit: WorkloadExit,
    pub mode: Interception,
    pub summary: Summary,
    /// The profile's file, `None` for the embedded default.
    pub profile_file: Option<String>,
    /// `--mode log`: how each kernel log source did.
    pub health: Vec<Health>,
}

/// The interception mode, the user and the target a run gets from its options.
pub fn prepare(
    options: &Options,
) -> Result<(Interception, Option<crate::run::child::Credentials>, Target), CmdError> {
    let mode = match options.mode {
        None => Interception::best_available(),
        Some(name) => Interception::parse(name).ok_or_else(|| {
            CmdError::BadInput(format!(
                "--mode: unknown mode {name:?}\n  hint: trace, notify or log"
            ))
        })?,
    };
    if mode == Interception::Notify && !notify::available() {
        return Err(RunError::Unsupported(
            "this kernel cannot hand eperm a seccomp listener (SECCOMP_RET_USER_NOTIF needs Linux 5.0, pidfd_getfd 5.6)\n  hint: use --mode trace"
                .into(),
        )
        .into());
    }
    let user = options
        .user
        .map(session::credentials)
        .transpose()
        .map_err(CmdError::from)?;
    // After setuid to anyone but root the workload keeps no capabilities.
    let caps = match &user {
        Some(u) if u.uid != 0 => CapSet::none(),
        _ => CapSet::current(),
    };
    let target = Target {
        arch: Arch::native(),
        caps,
        kernel: KernelVersion::running(),
    };
    Ok((mode, user, target))
}

/// Runs the workload under `profile` and collects what it would have denied.
pub fn execute(profile: Profile, options: &Options) -> Result<Outcome, CmdError> {
    let (mode, user, target) = prepare(options)?;
    let profile_file = (profile.file != DEFAULT_NAME).then(|| profile.file.clone());
    let judge = Judge::new(profile, &target, mode.compile_mode())
        .map_err(|e| CmdError::BadInput(e.to_string()))?;
    let (tx, collector) = collect(options.events)?;
    let sup = Supervision {
        judge,
        policy: if options.enforce {
            Policy::Enforce
        } else {
            Policy::Permissive
        },
        events: tx,
        started: std::time::Instant::now(),
        own_exe: std::env::current_exe().ok(),
    };
    let spec = RunSpec {
        argv: options.command.to_vec(),
        mode,
        user,
    };
    let log_options = LogOptions {
        wanted: Wanted::from_names(options.sources).unwrap_or(Wanted::BOTH),
        ..LogOptions::default()
    };
    // `session::run` consumes the supervision; the channel closes when it returns.
    let exit = session::run_with_logs(spec, sup, &log_options);
    let (summary, health) = gather(collector, &log_options)?;
    Ok(Outcome {
        exit: exit?,
        mode,
        summary,
        profile_file,
        health,
    })
}

/// `--events FILE`, created (or emptied) for writing.
pub fn events_file(path: &str) -> Result<std::fs::File, CmdError> {
    std::fs::File::create(path).map_err(|e| {
        CmdError::Io(std::io::Error::new(
            e.kind(),
            format!("--events {path}: {e}"),
        ))
    })
}

/// Where a run's events go: a thread that writes them to `--events` (FILE, or `-`
/// for stdout) and sums them up; it ends when every sender is dropped.
pub fn collect(
    events: Option<&str>,
) -> Result<
    (
        std::sync::mpsc::Sender<Event>,
        std::thread::JoinHandle<std::io::Result<Summary>>,
    ),
    CmdError,
> {
    let mut sink: Option<Box<dyn Write + Send>> = match events {
        None => None,
        Some("-") => Some(Box::new(std::io::stdout())),
        Some(path) => Some(Box::new(events_file(path)?)),
    };
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let collector = std::thread::spawn(move || -> std::io::Result<Summary> {
        let mut summary = Summary::default();
        let mut out = sink.as_mut().map(std::io::BufWriter::new);
        // Polled, not blocked on: a blocked receiver costs the supervisor a wake-up
        // (a context switch) for every event; polling batches them.
        loop {
            let event = match rx.try_recv() {
                Ok(event) => event,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    // Unparked at once when the run ends (the caller may `unpark` it
                    // before joining): no 5 ms tail on every run.
                    std::thread::park_timeout(std::time::Duration::from_millis(5));
                    continue;
                }
                Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
            };
            if let Some(out) = out.as_mut() {
                serde_json::to_writer(&mut *out, &event)?;
                out.write_all(b"\n")?;
            }
            summary.add(&event);
        }
        if let Some(mut out) = out {
            out.flush()?;
        }
        Ok(summary)
    });
    Ok((tx, collector))
}

/// After a run (its supervision dropped, so the collector's channel is closed):
/// the collector's summary and the log sources' final health.
pub fn gather(
    collector: std::thread::JoinHandle<std::io::Result<Summary>>,
    logs: &LogOptions,
) -> Result<(Summary, Vec<Health>), CmdError> {
    collector.thread().unpark();
    let health = std::mem::take(&mut *logs.health.lock().unwrap_or_else(|p| p.into_inner()));
    let summary = collector
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok((summary, health))
}

/// One would-be-denied syscall, aggregated over a run.
#[derive(Clone, Debug)]
pub struct Entry {
    pub arch: String,
    pub syscall: String,
    pub count: u64,
    /// What the profile says: `EPERM`, `ENOSYS`, `KILL_PROCESS` …
    pub verdict: String,
    pub first_pid: u32,
    pub first_comm: String,
    pub example: String,
    /// Every call was made before the workload's exec.
    pub bootstrap: bool,
}

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
        });
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

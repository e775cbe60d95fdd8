//! `eperm watch`: no workload; streams the seccomp records of the whole machine
//! from the kernel log sources, filtered by process, name or executable. This is
//! how a container started elsewhere with a LOG profile is debugged.

use super::run::load_profile;
use super::{CmdError, EXIT_OK};
use crate::arch::Arch;
use crate::caps::CapSet;
use crate::cli::WatchArgs;
use crate::profile::{Action, KernelVersion, Target};
use crate::run::Judge;
use crate::sources::event::Event;
use crate::sources::logs::{self, Dedupe, Filter, Incoming, LogSources, Wanted};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub fn run(args: &WatchArgs) -> Result<u8, CmdError> {
    if !args.no_tui {
        eprintln!("eperm: the TUI is not written yet; running as with --no-tui");
    }
    for s in &args.source {
        if !matches!(s.trim(), "audit" | "kmsg") {
            return Err(CmdError::BadInput(format!(
                "--source: {s:?} is not a kernel log source\n  hint: audit, kmsg or audit,kmsg"
            )));
        }
    }
    let judge = match &args.profile {
        None => None,
        Some(path) => {
            let profile = load_profile(Some(path))?;
            // A container started elsewhere: Docker's capabilities are the best guess.
            let target = Target {
                arch: Arch::native(),
                caps: CapSet::docker_default(),
                kernel: KernelVersion::running(),
            };
            Some(
                Judge::new(profile, &target, crate::compile::Mode::Enforce)
                    .map_err(|e| CmdError::BadInput(e.to_string()))?,
            )
        }
    };
    let wanted = Wanted::from_names(&args.source).unwrap_or(Wanted::BOTH);
    let (tx, rx) = mpsc::channel::<Incoming>();
    let sources = LogSources::start(wanted, tx)?;
    for h in sources.health() {
        eprintln!("eperm: {}", h.render());
    }
    if !sources.any_active() {
        return Err(CmdError::Io(std::io::Error::other(
            "no kernel log source is available",
        )));
    }
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let mut filter = match args.pid {
        Some(pid) => Filter::tree(pid),
        None => Filter::default(),
    };
    filter.comm = args.comm.clone();
    filter.exe = args.exe.clone();
    let started = Instant::now();
    let deadline = args.duration.map(Duration::from_secs_f64);
    let mut dedupe = Dedupe::default();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut shown = 0u64;
    while !STOP.load(Ordering::SeqCst) && deadline.is_none_or(|d| started.elapsed() < d) {
        let incoming = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(i) => i,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                out.flush()?;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if !dedupe.first(&incoming.record) || !filter.matches(&incoming.record) {
            continue;
        }
        let judged = judge.as_ref().and_then(|j| {
            let r = &incoming.record;
            let arch = r.arch?;
            let judgement = j.judge(arch, r.nr, [0; 6]);
            let errno = (judgement.verdict.action == Action::Errno)
                .then(|| crate::errno::describe(judgement.verdict.data));
            Some((judgement.verdict.action.name(), errno, judgement.rule_path))
        });
        let event = logs::event(
            &incoming,
            judged.as_ref().map(|(a, e, p)| (*a, e.clone(), p.as_str())),
            started.elapsed().as_millis() as u64,
            None,
        );
        if args.json {
            serde_json::to_writer(&mut out, &event).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
        } else {
            writeln!(out, "{}", line(&event))?;
        }
        shown += 1;
    }
    out.flush()?;
    drop(out);
    let health = sources.stop();
    eprint!(
        "eperm: {shown} record{} shown\n{}",
        if shown == 1 { "" } else { "s" },
        logs::render_health(&health)
    );
    Ok(EXIT_OK)
}

/// `audit pid 1234 (curl /usr/bin/curl) x86_64 socket: SCMP_ACT_LOG [syscalls[3]]`
fn line(e: &Event) -> String {
    let mut s = format!(
        "{:<5} pid {} ({}{}) {} {}: {}",
        match e.source {
            crate::sources::event::Source::Audit => "audit",
            _ => "kmsg",
        },
        e.pid,
        e.comm,
        e.exe
            .as_deref()
            .map(|x| format!(" {x}"))
            .unwrap_or_default(),
        e.arch,
        e.syscall,
        e.action
    );
    if let Some(errno) = &e.errno {
        s += &format!(" ({errno})");
    }
    if !e.rule.is_empty() {
        s += &format!(" [{}]", e.rule);
    }
    s
}

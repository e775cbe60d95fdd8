//! `eperm watch`: no workload; streams the seccomp records of the whole machine
//! from the kernel log sources, filtered by process, name or executable. This is
//! how a container started elsewhere with a LOG profile is debugged.

use super::{CmdError, EXIT_OK};
use crate::arch::Arch;
use crate::caps::CapSet;
use crate::cli::{WatchArgs, WatchSource};
use crate::profile::load_or_default;
use crate::profile::{KernelVersion, Target};
use crate::run::Judge;
use crate::sources::event::Event;
use crate::sources::logs::{self, Dedupe, Filter, Incoming, LogSources};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

pub fn run(args: &WatchArgs) -> Result<u8, CmdError> {
    let (profile, judge) = profile_and_judge(args.profile.as_deref())?;
    let wanted = WatchSource::wanted(&args.source);
    let (tx, rx) = crate::sources::logs::channel();
    let sources = LogSources::start(wanted, tx).map_err(|source| CmdError::Os {
        op: "start the kernel log readers",
        source,
    })?;
    for h in sources.health() {
        eprintln!("eperm: {}", h.render());
    }
    if !sources.any_active() {
        return Err(CmdError::Unavailable(
            "no kernel log source is available".into(),
        ));
    }
    let mut filter = match args.pid {
        Some(pid) => Filter::tree(pid),
        None => Filter::default(),
    };
    filter.comm = args.comm.clone();
    filter.exe = args.exe.clone();
    let deadline = args.duration.map(Duration::from_secs_f64);
    let shown = if args.no_tui || !std::io::stdout().is_terminal() {
        // SAFETY: the handler only stores to an atomic.
        unsafe {
            libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
            libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        }
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let shown = pump(
            &rx,
            &mut filter,
            args.container.as_deref(),
            judge.as_ref(),
            deadline,
            &mut |event, flush| {
                if let Some(event) = event {
                    if args.json {
                        // io::Error::from keeps the kind (BrokenPipe) of a failed write.
                        serde_json::to_writer(&mut out, &event).map_err(std::io::Error::from)?;
                        out.write_all(b"\n")?;
                    } else {
                        writeln!(out, "{}", line(&event))?;
                    }
                }
                if flush {
                    out.flush()?;
                }
                Ok(())
            },
        )
        .and_then(|shown| out.flush().map(|()| shown))
        .map_err(CmdError::Stdout)?;
        // The record queue is bounded: unread, a full one would keep the readers
        // waiting in `stop`.
        drop(rx);
        shown
    } else {
        // The UI reads events from a channel; the pump stops when the UI has quit.
        let (events, ui_events) = mpsc::channel::<Event>();
        // The status bar's source health, every half second until the UI has quit.
        let (health, ui_health) = mpsc::channel();
        let handles = sources.handles();
        std::thread::spawn(move || loop {
            let now: Vec<_> = handles.iter().map(|h| h.get()).collect();
            if health.send(now).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        });
        let pumping = std::thread::scope(|scope| {
            let judge = judge.as_ref();
            let container = args.container.as_deref();
            let pumper = scope.spawn(move || {
                pump(
                    &rx,
                    &mut filter,
                    container,
                    judge,
                    deadline,
                    &mut |event, _| {
                        if let Some(event) = event {
                            events
                                .send(event)
                                .map_err(|_| std::io::Error::other("the UI has quit"))?;
                        }
                        Ok(())
                    },
                )
            });
            let ui = crate::tui::view(
                profile,
                view_config("eperm watch", args.profile.clone()),
                ui_events,
                Some(ui_health),
            );
            STOP.store(true, Ordering::SeqCst);
            let shown = pumper.join().expect("the pump does not panic");
            ui.map(|_| shown)
        })
        .map_err(|source| CmdError::Os {
            op: "run the terminal interface",
            source,
        })?;
        pumping.unwrap_or(0)
    };
    let health = sources.stop();
    eprint!(
        "eperm: {shown} record{} shown\n{}",
        if shown == 1 { "" } else { "s" },
        logs::render_health(&health)
    );
    Ok(EXIT_OK)
}

/// The UI's configuration when there is no workload to run.
pub fn view_config(what: &str, path: Option<std::path::PathBuf>) -> crate::app::Config {
    crate::app::Config {
        command: what.to_string(),
        mode: "log".to_string(),
        enforce: false,
        hold: false,
        hold_timeout_ms: 0,
        autosave: true,
        rerun_on_save: false,
        coverage: false,
        path,
        watching: true,
        runtime: None,
        report: None,
    }
}

/// The profile that explains records (`-p`, else the embedded one shown in the
/// UI), and its judge when one was given. Docker's capabilities are the best guess
/// for a container started elsewhere.
pub fn profile_and_judge(
    path: Option<&std::path::Path>,
) -> Result<(crate::profile::Profile, Option<Judge>), CmdError> {
    let profile = load_or_default(path)?;
    if path.is_none() {
        return Ok((profile, None));
    }
    let target = Target {
        arch: Arch::native(),
        caps: CapSet::docker_default(),
        kernel: KernelVersion::running(),
        runtime: None,
    };
    let judge = Judge::new(profile.clone(), &target, crate::compile::Mode::Enforce)
        .map_err(|e| CmdError::BadInput(e.to_string()))?;
    Ok((profile, Some(judge)))
}

/// The event for a record, with the deciding rule when a profile was given.
pub fn judged_event(incoming: &Incoming, judge: Option<&Judge>, time_ms: u64) -> Event {
    let judged = judge.and_then(|j| {
        let r = &incoming.record;
        let judgement = j.judge(r.arch?, r.nr, [0; 6]);
        Some((judgement.verdict, judgement.decider))
    });
    logs::event(incoming, judged, time_ms, None)
}

/// Moves records from the sources to `emit` (deduplicated and filtered) until STOP,
/// the deadline, or `emit` fails; `emit(None, true)` is a quiet moment to flush.
fn pump(
    rx: &mpsc::Receiver<Incoming>,
    filter: &mut Filter,
    container: Option<&str>,
    judge: Option<&Judge>,
    deadline: Option<Duration>,
    emit: &mut dyn FnMut(Option<Event>, bool) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let started = Instant::now();
    let mut dedupe = Dedupe::default();
    let mut shown = 0u64;
    while !STOP.load(Ordering::SeqCst) && deadline.is_none_or(|d| started.elapsed() < d) {
        let incoming = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(i) => i,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                emit(None, true)?;
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if !dedupe.first(&incoming.record) || !filter.matches(&incoming.record) {
            continue;
        }
        let event = judged_event(&incoming, judge, started.elapsed().as_millis() as u64);
        // `--container`: a record whose process is gone (or in no container) is not its.
        if container.is_some_and(|want| !event.container.as_ref().is_some_and(|c| c.matches(want)))
        {
            continue;
        }
        emit(Some(event), false)?;
        shown += 1;
    }
    Ok(shown)
}

/// `audit pid 1234 (curl /usr/bin/curl) x86_64 socket: SCMP_ACT_LOG [syscalls[3]] container docker web (3f2a9c1b7d04)`
pub fn line(e: &Event) -> String {
    let mut s = format!(
        "{:<5} pid {} ({}{}) {} {}: {}",
        match e.source {
            crate::sources::event::Source::Audit => "audit",
            crate::sources::event::Source::File => "file",
            _ => "kmsg",
        },
        e.pid,
        e.comm,
        e.exe.as_ref().map(|x| format!(" {x}")).unwrap_or_default(),
        e.arch,
        e.syscall,
        e.ruling.action_name()
    );
    if let Some(errno) = e.ruling.errno_text() {
        s += &format!(" ({errno})");
    }
    if let Some(rule) = e.rule {
        s += &format!(" [{rule}]");
    }
    if let Some(c) = &e.container {
        s += &format!(" container {} {}", c.runtime, c.label());
    }
    s
}

//! `eperm watch`: no workload; streams the seccomp records of the whole machine
//! from the kernel log sources, filtered by process, name or executable. This is
//! how a container started elsewhere with a LOG profile is debugged.

use crate::cli::{WatchArgs, WatchSource};
use crate::error::{Error, Unavailable, EXIT_OK};
use crate::metrics::{Endpoint, Metrics};
use crate::session::watch::{line, profile_and_judge, view_config, Shown, Watch, WatchOptions};
use crate::sources::event::Event;
use crate::sources::logs;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Set when the UI has quit: the pump stops.
static STOP: AtomicBool = AtomicBool::new(false);

pub fn run(args: &WatchArgs) -> Result<u8, Error> {
    let (profile, judge) = profile_and_judge(args.profile.as_deref())?;
    // Listening first: a bad address ends eperm before any source starts.
    let mut endpoint = args.metrics.map(Endpoint::bind).transpose()?;
    let metrics = endpoint
        .as_ref()
        .map(|_| Metrics::new(args.metrics_max_series));
    crate::sources::cgroup::set_state_dirs(args.containerd_state.clone(), args.crio_state.clone());
    let mut watch = Watch::start(WatchOptions {
        wanted: WatchSource::wanted(&args.source),
        pid: args.pid,
        comm: args.comm.clone(),
        exe: args.exe.clone(),
        container: args.container.clone(),
        pod: args.pod.clone(),
        namespace: args.namespace.clone(),
        judge,
        deadline: args.duration.map(Duration::from_secs_f64),
        metrics: metrics.clone(),
    })
    .map_err(|source| Error::Os {
        op: "start the kernel log readers",
        source,
    })?;
    for h in watch.health() {
        eprintln!("eperm: {}", h.render());
    }
    if !watch.any_active() {
        return Err(Unavailable("no kernel log source is available".into()).into());
    }
    if let (Some(endpoint), Some(metrics)) = (&mut endpoint, metrics) {
        endpoint.serve(metrics, watch.handles());
        eprintln!("eperm: metrics at http://{}/metrics", endpoint.addr());
    }
    let shown = if args.no_tui || !std::io::stdout().is_terminal() {
        print(&mut watch, args.json)?
    } else {
        view(&mut watch, profile, args.profile.clone())?
    };
    drop(endpoint);
    let health = watch.stop();
    eprint!(
        "eperm: {shown} record{} shown\n{}",
        if shown == 1 { "" } else { "s" },
        logs::render_health(&health)
    );
    Ok(EXIT_OK)
}

/// Every record on stdout, a line (or a JSON object) each, until SIGINT or SIGTERM.
fn print(watch: &mut Watch, json: bool) -> Result<u64, Error> {
    // SIGINT and SIGTERM stop the pump: the readers stop and report.
    let interrupted = crate::signals::catch_interrupts().map_err(|e| Error::Os {
        op: "catch SIGINT and SIGTERM",
        source: e.into(),
    })?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    watch
        .pump(interrupted, &mut |shown, flush| {
            if let Some(shown) = shown {
                write_shown(&mut out, &shown, json)?;
            }
            if flush {
                out.flush()?;
            }
            Ok(())
        })
        .and_then(|shown| out.flush().map(|()| shown))
        .map_err(Error::Stdout)
}

/// The terminal interface, fed by the pump on a thread of its own until the UI quits.
fn view(
    watch: &mut Watch,
    profile: crate::profile::Profile,
    path: Option<std::path::PathBuf>,
) -> Result<u64, Error> {
    // Bounded: a UI that falls behind holds the pump back (the kernel's
    // records it cannot keep are counted missing by the sources).
    let (events, ui_events) = mpsc::sync_channel::<Event>(crate::run::EVENT_QUEUE);
    // The status bar's source health, every half second until the UI has quit.
    let ui_health = watch.health_updates();
    let pumping = std::thread::scope(|scope| {
        let pumper = scope.spawn(move || {
            // The UI's rows are the profile's: LSM records are shown headless.
            watch.pump(&STOP, &mut |shown, _| {
                if let Some(Shown::Event(event)) = shown {
                    events
                        .send(event)
                        .map_err(|_| std::io::Error::other("the UI has quit"))?;
                }
                Ok(())
            })
        });
        let ui = crate::tui::view(
            profile,
            view_config("eperm watch", path),
            ui_events,
            Some(ui_health),
        );
        STOP.store(true, Ordering::SeqCst);
        let shown = pumper.join().expect("the pump does not panic");
        ui.map(|_| shown)
    })
    .map_err(|source| Error::Os {
        op: "run the terminal interface",
        source,
    })?;
    Ok(pumping.unwrap_or(0))
}

/// One line of headless output: the layer first (`seccomp` for the profile's
/// records, `lsm` for an LSM's), as JSON or text.
fn write_shown(out: &mut dyn Write, shown: &Shown, json: bool) -> std::io::Result<()> {
    match (shown, json) {
        (Shown::Event(event), true) => {
            #[derive(serde::Serialize)]
            struct Layered<'a> {
                #[serde(flatten)]
                event: &'a Event,
                layer: &'static str,
            }
            let layered = Layered {
                event,
                layer: crate::layer::Layer::Seccomp.word(),
            };
            // io::Error::from keeps the kind (BrokenPipe) of a failed write.
            serde_json::to_writer(&mut *out, &layered).map_err(std::io::Error::from)?;
            out.write_all(b"\n")
        }
        (Shown::Event(event), false) => writeln!(out, "seccomp: {}", line(event)),
        (Shown::Lsm(live), true) => {
            let value = crate::sources::lsm::json(&live.record, live.source);
            serde_json::to_writer(&mut *out, &value).map_err(std::io::Error::from)?;
            out.write_all(b"\n")
        }
        (Shown::Lsm(live), false) => writeln!(out, "{}", crate::sources::lsm::line(&live.record)),
    }
}

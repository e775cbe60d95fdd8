//! The TUI under a flood: 100 000 events per second into the App for 10 seconds
//! (EPERM_BENCH_SECS to change), drawn into a TestBackend every 16 ms, as the
//! real loop does. Prints frame times (draining the channel plus drawing) and the
//! App's memory bound; fails when a count differs from the events sent.

use eperm::app::{App, Config, EventLine, Msg, RING_CAPACITY};
use eperm::arch::Arch;
use eperm::profile::{load_str, Action, Verdict, DEFAULT_PROFILE};
use eperm::sources::event::{CallArch, Decider, Decision, Event, Rule, Ruling, Source};
use eperm::ui::{draw, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const RATE: u64 = 100_000;

fn main() {
    let secs: u64 = std::env::var("EPERM_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    let mut app = App::new(
        profile,
        Config {
            command: "bench".into(),
            autosave: false,
            path: Some("p.json".into()),
            ..Config::default()
        },
    );
    let names: Vec<&'static str> = eperm::arch::Arch::native()
        .syscalls()
        .iter()
        .map(|&(n, _)| n)
        .collect();
    let (tx, rx) = mpsc::channel::<Event>();
    let total = RATE * secs;
    // The sources: 1 000 events every 10 ms, 100 000 per second.
    let producer = std::thread::spawn(move || {
        let start = Instant::now();
        let mut sent = 0u64;
        let mut tick = 0u64;
        while sent < total {
            for _ in 0..RATE / 100 {
                let name = names[(sent % names.len() as u64) as usize];
                let pid = 1000 + (sent % 64) as u32;
                let e = Event {
                    time_ms: start.elapsed().as_millis() as u64,
                    source: Source::Notify,
                    pid,
                    tid: pid,
                    comm: "worker".into(),
                    exe: None,
                    arch: CallArch::Known(if sent % 3 == 0 {
                        Arch::X86
                    } else {
                        Arch::X86_64
                    }),
                    syscall: name.to_string(),
                    nr: (sent % 400) as u32,
                    args: Some([sent, 0x1ed, 0, 0, 0, 0]),
                    call: Some(format!("{name}(\"/var/lib/data/{sent}\", 0755)")),
                    ruling: Ruling::Profile(Verdict::of(Action::Errno, None)),
                    rule: Some(Decider::new(Rule::Default, "")),
                    bootstrap: false,
                    decision: Decision::Allowed,
                    container: None,
                    interference: None,
                    stack: None,
                };
                tx.send(e).unwrap();
                sent += 1;
            }
            tick += 1;
            let due = start + Duration::from_millis(10 * tick);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        (sent, start.elapsed())
    });

    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let theme = Theme::PLAIN;
    let mut frames: Vec<Duration> = Vec::new();
    let mut received = 0u64;
    let mut next_frame = Instant::now();
    loop {
        let frame_start = Instant::now();
        let mut done = false;
        loop {
            match rx.try_recv() {
                Ok(e) => {
                    app.update(Msg::Event(e));
                    received += 1;
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    done = true;
                    break;
                }
            }
        }
        terminal.draw(|f| draw(f, &app, &theme)).unwrap();
        frames.push(frame_start.elapsed());
        if done {
            break;
        }
        next_frame += Duration::from_millis(16);
        if let Some(wait) = next_frame.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        } else {
            next_frame = Instant::now();
        }
    }
    let (sent, took) = producer.join().unwrap();
    frames.sort();
    let pct = |p: usize| frames[(frames.len() * p / 100).min(frames.len() - 1)];
    let avg_line = app
        .ring
        .iter()
        .map(|l| std::mem::size_of::<EventLine>() + l.call.capacity() + l.comm.as_bytes().len())
        .sum::<usize>()
        / app.ring.len().max(1);
    let row_bytes = app
        .rows
        .iter()
        .map(|r| {
            std::mem::size_of_val(r)
                + r.example.capacity()
                + r.syscall.capacity()
                + r.pids.capacity() * 32
                + r.comms.capacity() * 24
        })
        .sum::<usize>();
    println!(
        "tui: {sent} events in {:.2}s ({:.0}/s), {} frames at 120x40",
        took.as_secs_f64(),
        sent as f64 / took.as_secs_f64(),
        frames.len()
    );
    println!(
        "tui: frame time (drain + draw) p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (goal: p99 <= 16 ms)",
        pct(50).as_secs_f64() * 1e3,
        pct(99).as_secs_f64() * 1e3,
        frames.last().unwrap().as_secs_f64() * 1e3
    );
    println!(
        "tui: memory bound: ring {RING_CAPACITY} x {avg_line} B = {} KiB, plus {} rows = {} KiB (does not grow with events)",
        RING_CAPACITY * avg_line / 1024,
        app.rows.len(),
        row_bytes / 1024
    );
    assert_eq!(
        received, sent,
        "events lost between the sources and the App"
    );
    assert_eq!(app.total_events, sent, "the App's count differs");
    assert_eq!(
        app.hits(),
        sent,
        "the rows' hits differ from the events sent"
    );
    assert_eq!(app.ring.len(), RING_CAPACITY);
    println!("tui: counts equal the events sent ({sent})");
}

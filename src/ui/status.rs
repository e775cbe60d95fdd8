//! The status bar: the run, the mode, the sources, the profile file; and the
//! message line at the bottom.

use super::Theme;
use crate::app::{App, FileState, RunState};
use crate::profile::lint::plural;
use crate::run::WorkloadExit;
use crate::sources::event::Source;
use crate::sources::health::Health;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let run = &app.run;
    let state = match &run.state {
        RunState::Watching => Span::styled("watching", theme.good()),
        RunState::Starting => Span::styled("starting", theme.warn()),
        RunState::Running => Span::styled("running", theme.good()),
        RunState::Exited(WorkloadExit::Exited(code)) => Span::styled(
            format!("exited {code}"),
            if *code == 0 {
                theme.good()
            } else {
                theme.bad()
            },
        ),
        RunState::Exited(WorkloadExit::Signaled(sig)) => {
            Span::styled(format!("killed by signal {sig}"), theme.bad())
        }
        RunState::Failed(_) => Span::styled("failed to start", theme.bad()),
    };
    let pid = run.pid.map_or_else(|| "-".to_string(), |p| p.to_string());
    let width = area.width as usize;
    let mut first = vec![
        Field::new(
            5,
            vec![
                Span::styled("eperm ", theme.title()),
                Span::raw(format!("run {}", run.number)),
            ],
        ),
        // The user's own command line, but it may name a file someone else named.
        Field::new(
            2,
            vec![Span::styled(
                crate::untrusted::escape(run.command.as_bytes()),
                theme.title(),
            )],
        )
        .shrinking(),
        Field::new(3, vec![Span::raw(format!("pid {pid}"))]),
        Field::new(5, vec![state]),
    ];
    let refused: u64 = run.refused.iter().map(|(_, hits)| hits).sum();
    if run.not_started.is_some() {
        first.push(Field::banner(
            4,
            Span::styled(" ⚠ the container did not start ", theme.bad()),
        ));
    } else if !run.interference.is_empty() {
        first.push(Field::banner(
            4,
            Span::styled(" ⚠ eperm made calls fail ", theme.bad()),
        ));
    } else if refused > 0 {
        // Not a clean run: calls failed that no profile allowance explains.
        first.push(Field::banner(
            4,
            Span::styled(
                format!(" ⚠ {refused} refused by other layers "),
                theme.bad(),
            ),
        ));
    } else if matches!(run.state, RunState::Exited(_)) && run.denials == 0 {
        first.push(Field::banner(
            4,
            Span::styled(" ✔ clean run ", theme.banner()),
        ));
    }
    let second = profile_line(app, theme);
    frame.render_widget(
        Paragraph::new(vec![fit(first, width), fit(second, width)]),
        area,
    );
}

/// The second line: the profile and how it is applied, the sources, the count.
fn profile_line(app: &App, theme: &Theme) -> Vec<Field> {
    let run = &app.run;
    let file = match (&app.path, app.path_pending) {
        (Some(p), false) => p.display().to_string(),
        _ => format!(
            "embedded default (first edit writes ./{})",
            crate::app::DEFAULT_SAVE_PATH
        ),
    };
    let (file_state, style) = match app.file_state {
        FileState::Saved => ("saved", theme.good()),
        FileState::Unsaved => ("unsaved", theme.warn()),
        FileState::ChangedOnDisk => ("changed on disk", theme.bad()),
    };
    let profile = vec![
        Span::raw("profile "),
        Span::styled(format!("[{file_state}]"), style),
        Span::raw(" "),
        Span::styled(file, theme.title()),
        Span::raw(if app.autosave() {
            ""
        } else {
            " (autosave off)"
        }),
    ];
    let mode = format!(
        "{}{} {}{}",
        run.mode,
        if run.coverage { " + coverage" } else { "" },
        if run.enforce || run.coverage {
            "enforcing"
        } else {
            "permissive"
        },
        match (app.collect, run.coverage) {
            (true, false) => " (next run: coverage)",
            (false, true) => " (next run: no coverage)",
            _ => "",
        },
    );
    // Dropped first to last when the line is too narrow: the events count
    // (the Events pane's title has it too), hold, the sources, the mode.
    let mut fields = vec![
        Field::new(5, profile).shrinking(),
        Field::new(4, vec![Span::raw(mode)]),
        Field::new(
            2,
            vec![Span::raw(format!(
                "hold {}",
                if run.hold { "on" } else { "off" }
            ))],
        ),
        Field::new(3, sources(app, theme)),
        Field::new(
            1,
            vec![Span::raw(plural(run.denials as usize, "event", "events"))],
        ),
    ];
    if let crate::app::layers::Layers::NotWatched(why) = &run.layers {
        fields.push(Field::new(
            2,
            vec![Span::styled(
                format!("other layers: not watched ({why})"),
                theme.warn(),
            )],
        ));
    }
    fields
}

/// One field of a status line, and how much it matters: when the line is too
/// narrow, whole fields go, the least important first, never a field cut
/// mid-word; a `shrinking` one (a command, a file name) is cut with `…` first.
struct Field {
    keep: u8,
    spans: Vec<Span<'static>>,
    shrinks: bool,
    /// What comes before it: ` · `, or one blank for a banner.
    before: &'static str,
}

/// What a shrinking field keeps at least before fields are dropped instead.
const SHRUNK: usize = 12;
const BETWEEN: &str = " · ";

impl Field {
    fn new(keep: u8, spans: Vec<Span<'static>>) -> Field {
        Field {
            keep,
            spans,
            shrinks: false,
            before: BETWEEN,
        }
    }

    /// A banner right after the field before it.
    fn banner(keep: u8, span: Span<'static>) -> Field {
        Field {
            before: " ",
            ..Field::new(keep, vec![span])
        }
    }

    fn shrinking(mut self) -> Field {
        self.shrinks = true;
        self
    }

    fn width(&self) -> usize {
        self.spans.iter().map(Span::width).sum()
    }

    /// Its width with what comes before it (nothing when it comes first).
    fn width_after(&self, first: bool) -> usize {
        self.width()
            + if first {
                0
            } else {
                self.before.chars().count()
            }
    }
}

/// `fields` joined by ` · ` in at most `width` columns.
fn fit(mut fields: Vec<Field>, width: usize) -> Line<'static> {
    let total = |fields: &[Field]| {
        let widths = fields
            .iter()
            .enumerate()
            .map(|(i, f)| f.width_after(i == 0));
        widths.sum::<usize>()
    };
    loop {
        let over = total(&fields).saturating_sub(width);
        if over == 0 {
            break;
        }
        // The least important field goes, unless a field that may shrink (down
        // to SHRUNK columns) matters less.
        let least = fields
            .iter()
            .enumerate()
            .filter(|(_, f)| f.keep < 5)
            .min_by_key(|(i, f)| (f.keep, usize::MAX - i))
            .map(|(i, f)| (i, f.keep));
        let shrinking = fields
            .iter_mut()
            .filter(|f| f.shrinks && f.width() > SHRUNK)
            .find(|f| least.is_none_or(|(_, keep)| f.keep <= keep));
        if let Some(f) = shrinking {
            let to = f.width().saturating_sub(over).max(SHRUNK);
            f.spans = shrink(std::mem::take(&mut f.spans), to);
            continue;
        }
        match least {
            Some((i, _)) => {
                fields.remove(i);
            }
            None => break, // what must stay stays; the terminal cuts the rest
        }
    }
    let mut spans = Vec::new();
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(f.before));
        }
        spans.extend(f.spans);
    }
    Line::from(spans)
}

/// `spans` cut to `width` columns, the last kept one ending in `…`.
fn shrink(spans: Vec<Span<'static>>, width: usize) -> Vec<Span<'static>> {
    let mut out = Vec::new();
    let mut room = width.saturating_sub(1);
    for span in spans {
        if span.width() <= room {
            room -= span.width();
            out.push(span);
            continue;
        }
        let mut cut = String::new();
        for c in span.content.chars() {
            let w = Span::raw(c.to_string()).width();
            if w > room {
                break;
            }
            room -= w;
            cut.push(c);
        }
        cut.push('…');
        out.push(Span::styled(cut, span.style));
        break;
    }
    out
}

/// The bottom line: the filter being typed, or what happened last, and the run history.
pub fn message(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    if app.filtering || !app.filter.is_empty() {
        spans.push(Span::styled(format!("/{}", app.filter), theme.warn()));
        if app.filtering {
            spans.push(Span::raw("▏"));
        }
        spans.push(Span::raw("  "));
    }
    if app.paused {
        spans.push(Span::styled("[paused] ", theme.warn()));
    }
    spans.push(Span::raw(app.message.clone()));
    if !app.past_runs.is_empty() {
        let history: Vec<String> = app
            .past_runs
            .iter()
            .map(|r| {
                let denials = plural(r.denials as usize, "denial", "denials");
                format!("#{}: {denials}", r.number)
            })
            .collect();
        spans.push(Span::styled(
            format!("  · earlier runs {}", history.join(", ")),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Each source with its health: `audit ok · kmsg suppressed 12`. Without kernel
/// log sources, the run's own interception (notify or trace) is the source.
fn sources(app: &App, theme: &Theme) -> Vec<Span<'static>> {
    if app.sources.is_empty() {
        let (health, style) = if matches!(app.run.state, RunState::Failed(_)) {
            ("down", theme.bad())
        } else {
            ("ok", theme.good())
        };
        return vec![
            Span::raw(format!("{} ", app.run.mode)),
            Span::styled(health, style),
        ];
    }
    let mut spans = Vec::new();
    for (i, h) in app.sources.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" · "));
        }
        let (text, style) = health(h);
        spans.push(Span::raw(format!("{} ", source_name(h.source))));
        spans.push(Span::styled(text, style(theme)));
    }
    spans
}

fn source_name(source: Source) -> &'static str {
    match source {
        Source::Audit => "audit",
        Source::Kmsg => "kmsg",
        Source::Ptrace => "ptrace",
        Source::Notify => "notify",
        Source::File => "file",
    }
}

/// `ok`, `off`, or what the source knows it missed.
fn health(h: &Health) -> (String, fn(&Theme) -> ratatui::style::Style) {
    if h.unavailable.is_some() {
        return ("off".into(), Theme::bad);
    }
    let mut missed = Vec::new();
    if !h.missed_nothing() {
        missed.push(format!("lost {}", h.lost_text()));
    }
    if h.suppressed > 0 {
        missed.push(format!("suppressed {}", h.suppressed));
    }
    if h.overflows > 0 {
        missed.push(format!("overflowed {}×", h.overflows));
    }
    if let Some(k) = h.kernel_lost.filter(|&k| k > 0) {
        missed.push(format!("kernel dropped {k}"));
    }
    if missed.is_empty() {
        ("ok".into(), Theme::good)
    } else {
        (missed.join(", "), Theme::warn)
    }
}

/// The last line: the keys that act where the user is, as many as fit.
pub fn hints(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let mut spans = Vec::new();
    for (i, h) in app
        .hints_fitting(area.width as usize)
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            spans.push(Span::styled(crate::app::hints::SEPARATOR, theme.dim()));
        }
        spans.push(Span::styled(h.key, theme.title()));
        spans.push(Span::raw(format!(" {}", h.what)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

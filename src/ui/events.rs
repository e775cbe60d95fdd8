//! The live stream of would-be-denied calls, following the tail unless scrolled.

use super::{block, seconds, Theme};
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool) {
    let body = area.height.saturating_sub(2) as usize;
    let end = app.ring.len().saturating_sub(app.events_back);
    let start = end.saturating_sub(body);
    let state = if app.paused {
        "paused"
    } else if app.events_back > 0 {
        "scrolled"
    } else {
        "following"
    };
    let title = format!(" Events ({} total, {state}) ", app.run.denials);
    // The names on screen set the column: `runc:[2:INIT]` whole, up to 16.
    let comm = app
        .ring
        .range(start..end)
        .map(|e| e.comm.to_string().chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, 16);
    let lines: Vec<Line> = app
        .ring
        .range(start..end)
        .map(|e| {
            if area.width < 60 {
                return Line::from(vec![
                    Span::styled(format!("{:>6} ", e.pid), theme.dim()),
                    Span::raw(e.call.clone()),
                ]);
            }
            Line::from(vec![
                Span::styled(format!("{:>9} ", seconds(e.time_ms)), theme.dim()),
                Span::raw(format!("{:>6} {:<comm$.comm$} ", e.pid, e.comm.to_string())),
                Span::raw(e.call.clone()),
                Span::styled(format!("  [{}]", source_name(e.source)), theme.dim()),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(block(title, focused, theme)),
        area,
    );
}

fn source_name(s: crate::sources::event::Source) -> &'static str {
    use crate::sources::event::Source;
    match s {
        Source::Ptrace => "ptrace",
        Source::Notify => "notify",
        Source::Audit => "audit",
        Source::Kmsg => "kmsg",
        Source::File => "file",
    }
}

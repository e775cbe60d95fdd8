//! The session's diff (`D`): the profile now against the session's start or the
//! last save, coloured, scrolled as `app.diff_view` says.

use super::{centered, Theme};
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let Some(view) = app.diff_view else { return };
    let r = centered(
        area,
        area.width.saturating_sub(4).min(110),
        area.height.saturating_sub(2),
    );
    let since = if view.since_save {
        "the last save"
    } else {
        "the session's start"
    };
    let diff = app.session_diff(view.since_save);
    let total = diff.lines().count();
    let mut lines = Vec::new();
    // Borders and the footer take three lines.
    let room = (r.height as usize).saturating_sub(4);
    if diff.is_empty() {
        lines.push(Line::styled(
            format!("The profile is as it was at {since}."),
            theme.dim(),
        ));
    }
    lines.extend(
        diff.lines()
            .skip(view.scroll)
            .take(room)
            .map(|change| diff_line(change, theme)),
    );
    while lines.len() < room {
        lines.push(Line::raw(""));
    }
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        "lines {}-{} of {total} · Tab: since {} · Esc close",
        (view.scroll + 1).min(total),
        (view.scroll + room).min(total),
        if view.since_save {
            "the session's start"
        } else {
            "the last save"
        }
    )));
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(format!(" The profile since {since} "))
                .title_style(theme.title()),
        ),
        r,
    );
}

/// One line of a unified diff, coloured by what it is: added, removed, a hunk's
/// header, or context.
pub(super) fn diff_line(change: &str, theme: &Theme) -> Line<'static> {
    let style = match change.chars().next() {
        Some('+') => theme.good(),
        Some('-') => theme.bad(),
        Some('@') => theme.title(),
        _ => theme.dim(),
    };
    Line::styled(change.to_string(), style)
}

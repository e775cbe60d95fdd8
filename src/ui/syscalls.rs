//! The main table: one row per would-be-denied syscall and arch.

use super::{seconds, Theme};
use crate::app::{layout, App, RunState, Sort, UserDecision};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool) {
    let visible = app.visible();
    let sort = match app.sort {
        Sort::FirstSeen => "first seen",
        Sort::Hits => "hits",
    };
    let title = format!(" Syscalls ({}) · by {sort} ", visible.len());
    let b = super::block(title, focused, theme);
    if visible.is_empty() {
        let clean = matches!(app.run.state, RunState::Exited(_)) && app.run.denials == 0;
        let line = if clean {
            Line::styled(
                format!(
                    " ✔ clean run {}: the profile would have denied nothing ",
                    app.run.number
                ),
                theme.banner(),
            )
        } else if app.rows.is_empty() {
            Line::styled("nothing the profile would deny, so far", theme.dim())
        } else {
            Line::styled("no syscall matches the filter", theme.dim())
        };
        frame.render_widget(Paragraph::new(line).block(b), area);
        return;
    }
    // Only the rows on screen are built: thousands of rows cost nothing to draw.
    let body = area.height.saturating_sub(3) as usize;
    let wide = area.width >= 60;
    let offset = layout::offset(app.selected, body);
    let rows = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(body)
        .map(|(pos, &i)| {
            let r = &app.rows[i];
            let decision_style = match r.decision {
                UserDecision::AllowedNow => theme.good(),
                UserDecision::StillDenied => theme.bad(),
                UserDecision::Errno(_) => theme.warn(),
            };
            let procs = r
                .pids
                .iter()
                .map(|(_, c)| c.to_string())
                .fold(Vec::<String>::new(), |mut v, c| {
                    if !v.contains(&c) {
                        v.push(c);
                    }
                    v
                })
                .join(",");
            let marker = if pos == app.selected { "▶" } else { " " };
            let row = Row::new(if wide {
                vec![
                    Cell::from(marker),
                    Cell::from(r.syscall.clone()),
                    Cell::from(r.arch.clone()),
                    Cell::from(r.hits.to_string()),
                    Cell::from(r.verdict.clone()).style(theme.bad()),
                    Cell::from(r.decision.label()).style(decision_style),
                    Cell::from(procs),
                    Cell::from(seconds(r.last_ms)),
                ]
            } else {
                vec![
                    Cell::from(marker),
                    Cell::from(r.syscall.clone()),
                    Cell::from(r.hits.to_string()),
                    Cell::from(r.verdict.clone()).style(theme.bad()),
                    Cell::from(r.decision.short()).style(decision_style),
                ]
            });
            if pos == app.selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let widths: &[Constraint] = if wide {
        &[
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Min(5),
            Constraint::Length(7),
        ]
    } else {
        &[
            Constraint::Length(1),
            Constraint::Min(8),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(8),
        ]
    };
    let names: &[&str] = if wide {
        &[
            "", "syscall", "arch", "hits", "profile", "you", "procs", "last",
        ]
    } else {
        &["", "syscall", "hits", "profile", "you"]
    };
    let header = Row::new(names.iter().copied()).style(theme.title());
    frame.render_widget(
        Table::new(rows, widths.iter().copied())
            .header(header)
            .column_spacing(1)
            .block(b),
        area,
    );
}

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
    let mut b = super::block(title, focused, theme);
    if let Some(group) = app.bootstrap_group() {
        let room = area.width.saturating_sub(2) as usize;
        b = b.title_bottom(Line::styled(
            bootstrap_line(&group, app.show_bootstrap, room),
            theme.dim(),
        ));
    }
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
        } else if app.filter.is_empty() {
            Line::styled(
                "only the runtime's start-up so far: b lists it",
                theme.dim(),
            )
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
    let shown: Vec<(usize, &crate::app::Row)> = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(body)
        .map(|(pos, &i)| (pos, &app.rows[i]))
        .collect();
    // Widths from the rows on screen, so that the processes get the room left.
    let widest = |f: &dyn Fn(&crate::app::Row) -> usize, header: usize| {
        shown
            .iter()
            .map(|(_, r)| f(r))
            .max()
            .unwrap_or(0)
            .max(header) as u16
    };
    let syscall = widest(&|r| r.syscall.chars().count(), 7);
    let arch = widest(&|r| r.arch.to_string().chars().count(), 4);
    let hits = widest(&|r| r.hits.to_string().len(), 4);
    let verdict = widest(&|r| r.verdict().chars().count(), 7);
    let you = widest(&|r| r.decision.label().chars().count(), 3);
    let procs = widest(&|r| procs_of(r).chars().count(), 5);
    // Six gaps between seven columns, seven for the time of the last call: the
    // processes keep the time's room when both do not fit.
    let fixed = 1 + syscall + arch + hits + verdict + you + 6;
    let last = fixed + procs + 8 <= area.width.saturating_sub(2);
    let rows = shown.iter().map(|&(pos, r)| {
        let decision_style = match r.decision {
            UserDecision::AllowedNow => theme.good(),
            UserDecision::StillDenied => theme.bad(),
            UserDecision::Errno(_) => theme.warn(),
        };
        let marker = if pos == app.selected { "▶" } else { " " };
        let mut cells = vec![Cell::from(marker), Cell::from(r.syscall.clone())];
        if wide {
            cells.extend([
                Cell::from(r.arch.to_string()),
                Cell::from(r.hits.to_string()),
                Cell::from(r.verdict()).style(theme.bad()),
                Cell::from(r.decision.label()).style(decision_style),
                Cell::from(procs_of(r)),
            ]);
            if last {
                cells.push(Cell::from(seconds(r.last_ms)));
            }
        } else {
            cells.extend([
                Cell::from(r.hits.to_string()),
                Cell::from(r.verdict()).style(theme.bad()),
                Cell::from(r.decision.short()).style(decision_style),
            ]);
        }
        let row = Row::new(cells);
        if pos == app.selected {
            row.style(theme.selected())
        } else if r.bootstrap {
            row.style(theme.dim())
        } else {
            row
        }
    });
    let mut widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(1),
            Constraint::Length(syscall),
            Constraint::Length(arch),
            Constraint::Length(hits),
            Constraint::Length(verdict),
            Constraint::Length(you),
            Constraint::Min(5),
        ]
    } else {
        vec![
            Constraint::Length(1),
            Constraint::Min(syscall.min(16)),
            Constraint::Length(hits),
            Constraint::Length(verdict),
            Constraint::Length(widest(&|r| r.decision.short().chars().count(), 3)),
        ]
    };
    if wide && last {
        widths.push(Constraint::Length(7));
    }
    let names: &[&str] = match (wide, last) {
        (true, true) => &[
            "", "syscall", "arch", "hits", "profile", "you", "procs", "last",
        ],
        (true, false) => &["", "syscall", "arch", "hits", "profile", "you", "procs"],
        (false, _) => &["", "syscall", "hits", "profile", "you"],
    };
    let header = Row::new(names.iter().copied()).style(theme.title());
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(1)
            .block(b),
        area,
    );
}

/// The runtime's start-up rows, folded or listed after the workload's: as much
/// of the line as `room` columns hold, the key to press always.
fn bootstrap_line(group: &crate::app::BootstrapGroup, shown: bool, room: usize) -> String {
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    let decided = if group.allowed == group.syscalls {
        "all allowed".to_string()
    } else {
        format!("{} denied", group.syscalls - group.allowed)
    };
    let (mark, key, place) = if shown {
        ("▾", "b folds", ", listed last")
    } else {
        ("▸", "b lists", ", before the workload's exec")
    };
    let mut line = format!(
        " {mark} runtime start-up: {} syscall{} ({} call{})",
        group.syscalls,
        plural(group.syscalls as u64),
        group.calls,
        plural(group.calls),
    );
    let end = format!(" · {key} ");
    for part in [format!(", {decided}"), place.to_string()] {
        if line.chars().count() + part.chars().count() + end.chars().count() <= room {
            line += &part;
        }
    }
    line + &end
}

/// The names of the processes seen making the row's call, each once.
fn procs_of(r: &crate::app::Row) -> String {
    let mut names: Vec<String> = Vec::new();
    for (_, comm) in &r.pids {
        let name = comm.to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.join(",")
}

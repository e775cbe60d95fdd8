//! The Coverage view: each allowance of the profile with its use, unused ones
//! marked; and the detail of the selected one with the narrower rule proposed.

use super::{block, Theme};
use crate::app::coverage::Allowance;
use crate::app::{describe::describe, layout, App, RunState, Sort};
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

pub fn draw_table(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool) {
    let visible = app.coverage_visible();
    let used = app.allowances.iter().filter(|a| !a.unused).count();
    let collecting = app.run.coverage && app.run.state == RunState::Running;
    let title = format!(
        " Coverage · {used}/{} used · {} run{}{} ",
        app.allowances.len(),
        app.coverage.runs,
        if app.coverage.runs == 1 { "" } else { "s" },
        if collecting {
            format!(" · run {} collecting", app.run.number)
        } else {
            String::new()
        },
    );
    let b = block(title, focused, theme);
    if visible.is_empty() || app.coverage.runs == 0 {
        frame.render_widget(
            Paragraph::new(Line::styled(empty_line(app), theme.dim())).block(b),
            area,
        );
        return;
    }
    let body = area.height.saturating_sub(3) as usize;
    let wide = area.width >= 60;
    let procs = wide && counts_processes(app);
    let offset = layout::offset(app.cov_selected, body);
    let rows = visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(body)
        .map(|(pos, &i)| {
            let a = &app.allowances[i];
            let (note, style) = note(app, a, theme);
            let marker = if pos == app.cov_selected { "▶" } else { " " };
            let mut cells = vec![
                Cell::from(marker),
                Cell::from(a.name.clone()).style(if a.unused { theme.bad() } else { style }),
            ];
            if wide {
                cells.push(Cell::from(format!("syscalls[{}]", a.rule)));
            }
            cells.push(Cell::from(a.count.to_string()));
            if procs {
                cells.push(Cell::from(a.pids.to_string()));
            }
            cells.push(Cell::from(note).style(style));
            let row = Row::new(cells);
            if pos == app.cov_selected {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let (widths, names) = columns(app, wide, procs);
    frame.render_widget(
        Table::new(rows, widths.iter().copied())
            .header(Row::new(names.iter().copied()).style(theme.title()))
            .column_spacing(1)
            .block(b),
        area,
    );
}

/// What the table says when it has no row to show.
fn empty_line(app: &App) -> &'static str {
    if app.coverage.runs == 0 && app.run.coverage {
        "collecting: the counts come when the run ends"
    } else if app.coverage.runs == 0 {
        "no coverage yet: m then r runs the workload collecting it (or eperm run --coverage)"
    } else if app.allowances.is_empty() {
        "the profile has no ALLOW rule"
    } else {
        "no allowance matches the filter"
    }
}

/// The columns' widths and headers: narrow panes drop the rule and processes.
fn columns(app: &App, wide: bool, procs: bool) -> (&'static [Constraint], Vec<&'static str>) {
    // `s` sorts by uses: the column says so.
    let uses = match app.sort {
        Sort::FirstSeen => "uses",
        Sort::Hits => "uses▼",
    };
    if procs {
        let widths = &[
            Constraint::Length(1),
            Constraint::Min(12),
            Constraint::Length(13),
            Constraint::Length(7),
            Constraint::Length(5),
            Constraint::Min(10),
        ];
        (widths, vec!["", "allowance", "rule", uses, "procs", ""])
    } else if wide {
        let widths = &[
            Constraint::Length(1),
            Constraint::Min(12),
            Constraint::Length(13),
            Constraint::Length(7),
            Constraint::Min(10),
        ];
        (widths, vec!["", "allowance", "rule", uses, ""])
    } else {
        let widths = &[
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(6),
            Constraint::Min(8),
        ];
        (widths, vec!["", "allowance", uses, ""])
    }
}

/// Whether the coverage counted processes: eBPF counting counts calls only
/// (every pid set empty), and then the view has no processes to show.
fn counts_processes(app: &App) -> bool {
    app.coverage.tallies.iter().any(|t| !t.pids.is_empty())
}

/// The last column: unused (and whether pruning keeps it), narrowable, conditional.
fn note(app: &App, a: &Allowance, theme: &Theme) -> (String, ratatui::style::Style) {
    if a.unused && !crate::arch::is_known_anywhere(&a.name) {
        return ("no syscall".into(), theme.bad());
    }
    if a.unused {
        return match a.kept {
            Some(_) => ("unused · kept".into(), theme.warn()),
            None => ("UNUSED".into(), theme.bad()),
        };
    }
    if app.proposal(&a.name).is_some() {
        return ("narrower: n".into(), theme.good());
    }
    if a.count == 0 {
        // Used, but through another rule (or denied): this rule let nothing through.
        return ("not via this rule".into(), theme.dim());
    }
    let s = if a.conditional { "conditional" } else { "" };
    (s.into(), theme.dim())
}

pub fn draw_detail(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let b = block(" Allowance ".into(), false, theme);
    let Some(a) = app.selected_allowance() else {
        frame.render_widget(
            Paragraph::new(Line::styled("select an allowance", theme.dim())).block(b),
            area,
        );
        return;
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(a.name.clone(), theme.title()),
            Span::raw(" — "),
            Span::raw(describe(&a.name).unwrap_or("no description yet")),
        ]),
        Line::from(vec![
            Span::raw("allowed by "),
            Span::styled(a.path.clone(), theme.title()),
            Span::raw(if a.conditional {
                " (with conditions)"
            } else {
                ""
            }),
        ]),
    ];
    let uses = if a.unused {
        Span::styled(
            format!(
                "never used in {} run{}",
                app.coverage.runs,
                plural(app.coverage.runs, "s")
            ),
            theme.bad(),
        )
    } else {
        let by = match counts_processes(app) {
            true => format!(" by {} process{}", a.pids, plural(a.pids as u64, "es")),
            false => String::new(),
        };
        Span::raw(format!(
            "{} use{} through this rule{by}, over {} run{}",
            a.count,
            plural(a.count, "s"),
            app.coverage.runs,
            plural(app.coverage.runs, "s"),
        ))
    };
    lines.push(Line::from(uses));
    if a.unused && !crate::arch::is_known_anywhere(&a.name) {
        lines.push(Line::styled(
            format!("{} is no syscall on any architecture (a bad import?): p prunes it with the unused ones", a.name),
            theme.bad(),
        ));
    } else if let Some(why) = a.kept {
        lines.push(Line::styled(format!("prune keeps it: {why}"), theme.warn()));
    } else if a.unused {
        lines.push(Line::styled(
            "p prunes it with the other unused ones",
            theme.dim(),
        ));
    }
    for (i, values) in &a.values {
        lines.push(Line::raw(format!("arg{i} seen: {}", values.join(", "))));
    }
    match app.proposal(&a.name) {
        Some(p) => {
            lines.push(Line::from(vec![
                Span::styled("narrower (n): ", theme.good()),
                Span::raw(p.explanation.clone()),
            ]));
            for rule in p.rules_text() {
                lines.push(Line::raw(format!("  {rule}")));
            }
            lines.push(Line::styled(format!("  {}", p.semantics), theme.dim()));
        }
        None if !a.values.is_empty() => lines.push(Line::styled(
            "no narrower rule proposed for these values",
            theme.dim(),
        )),
        None => {}
    }
    lines.push(Line::styled("d denies it · u undoes", theme.dim()));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(b),
        area,
    );
}

fn plural(n: u64, ending: &'static str) -> &'static str {
    if n == 1 {
        ""
    } else {
        ending
    }
}

//! Detail of the selected syscall: the deciding rule, other rules naming it, the
//! risk of allowing it, what it does, what was seen, and a narrower rule.

use super::{block, seconds, Theme};
use crate::app::{describe::describe, narrowing::narrower, App, Row};
use crate::layer::Finding;
use crate::profile::lint::plural;
use crate::profile::risk::risk;
use crate::sources::event::Rule;
use crate::sources::refusal::Refusal;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let lines = match (app.selected_row(), app.selected_refusal()) {
        (Some(row), _) => row_lines(app, row, theme),
        (None, Some((r, hits))) => refusal_lines(app, r, hits, theme),
        (None, None) => {
            let mut lines = vec![Line::styled("select a syscall to see why", theme.dim())];
            lines.extend(other_layers(app, None, theme));
            lines
        }
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(" Detail ".into(), false, theme)),
        area,
    );
}

/// Everything about one row, top to bottom: what and why, who else says so,
/// the risk, the user's decision, what was seen, and a narrower rule.
fn row_lines(app: &App, row: &Row, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(row.syscall.clone(), theme.title()),
            Span::raw(format!(" ({}, nr {}) — ", row.arch, row.nr)),
            Span::raw(describe(&row.syscall).unwrap_or("no description yet")),
        ]),
        Line::from(vec![
            Span::raw("decided by "),
            Span::styled(row.rule_path(), theme.title()),
            Span::raw(": "),
            Span::styled(row.ruling.describe(), theme.bad()),
        ]),
    ];
    if let Some(note) = app.runtime_note(row) {
        lines.push(Line::styled(format!("  {note}"), theme.warn()));
    }
    lines.extend(also_refused(app, row, theme));
    let index = match row.rule.map(|r| r.rule) {
        Some(Rule::Index(i)) => Some(i),
        _ => None,
    };
    let deciding = index.and_then(|i| app.profile.rules.get(i));
    if let Some(c) = deciding.and_then(|rule| rule.comment.as_ref()) {
        lines.push(Line::styled(
            format!("  \"{}\"", crate::untrusted::escape(c.as_bytes())),
            theme.dim(),
        ));
    }
    lines.push(other_rules(app, row, index));
    lines.push(risk_line(&row.syscall, theme));
    lines.push(Line::from(vec![
        Span::raw("you: "),
        Span::styled(row.decision.label(), theme.title()),
        Span::raw(format!(
            " · {} · first {} · last {}{}",
            plural(row.hits as usize, "hit", "hits"),
            seconds(row.first_ms),
            seconds(row.last_ms),
            if row.bootstrap { " · bootstrap" } else { "" }
        )),
    ]));
    let procs: Vec<String> = row.pids.iter().map(|(p, c)| format!("{c}[{p}]")).collect();
    lines.push(Line::raw(format!("processes: {}", procs.join(" "))));
    if !row.pods.is_empty() {
        let pods: Vec<String> = row.pods.iter().map(|p| p.label()).collect();
        lines.push(Line::raw(format!("pods: {}", pods.join(" "))));
    }
    lines.push(Line::raw(format!("e.g. {}", row.example)));
    lines.extend(stack_lines(row, app.all_frames, theme));
    lines.push(match narrower(row) {
        Ok(rule) => Line::from(vec![
            Span::styled("narrower: ", theme.good()),
            Span::raw(rule),
        ]),
        Err(why) => Line::styled(format!("no narrower rule: {why}"), theme.dim()),
    });
    lines.extend(other_layers(app, Some(&row.syscall), theme));
    lines
}

/// Another layer refused the same call: a seccomp allowance alone will not do.
fn also_refused(app: &App, row: &Row, theme: &Theme) -> Vec<Line<'static>> {
    let Some(f) = app
        .also_refused(&row.syscall)
        .and_then(|r| r.finding.as_ref())
    else {
        return Vec::new();
    };
    finding_lines(
        f,
        "also refused by ",
        "a seccomp allowance will not be enough",
        theme,
    )
}

/// A layer's refusal: which layer and what that means, its evidence, its fix.
fn finding_lines(f: &Finding, head: &str, meaning: &str, theme: &Theme) -> Vec<Line<'static>> {
    vec![
        Line::from(vec![
            Span::styled(head.to_string(), theme.bad()),
            Span::styled(f.to_string(), theme.bad()),
            Span::raw(format!(": {meaning}")),
        ]),
        Line::raw(format!("  {}", f.evidence)),
        Line::raw(format!("  fix: {}", f.fix)),
    ]
}

/// A row only another layer refused: the call, that layer's evidence and fix,
/// what was seen, and the other layers' other refusals below.
fn refusal_lines(app: &App, r: &Refusal, hits: u64, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(vec![
        Span::styled(r.syscall.clone(), theme.title()),
        Span::raw(format!(" ({}, nr {}) — ", r.arch, r.nr)),
        Span::raw(describe(&r.syscall).unwrap_or("no description yet")),
    ])];
    if let Some(f) = r.finding.as_ref() {
        lines.extend(finding_lines(
            f,
            "refused by ",
            "not the profile's (it allows the call): a seccomp allowance will not help",
            theme,
        ));
    }
    lines.push(Line::raw(format!(
        "{} · {} · last {}",
        crate::errno::describe(r.failure.errno),
        plural(hits as usize, "hit", "hits"),
        seconds(r.time_ms)
    )));
    lines.push(Line::raw(format!("processes: {}[{}]", r.comm, r.pid)));
    lines.push(Line::styled(
        "a, d and e do not apply: the profile is not what refused it",
        theme.dim(),
    ));
    lines.extend(other_layers(app, Some(&r.syscall), theme));
    lines
}

/// The profile's other rules that name the row's syscall.
fn other_rules(app: &App, row: &Row, deciding: Option<usize>) -> Line<'static> {
    let others: Vec<String> = app
        .profile
        .rules
        .iter()
        .filter(|r| Some(r.index) != deciding && r.names.iter().any(|n| n.name == row.syscall))
        .map(|r| {
            let mut s = format!("syscalls[{}] {}", r.index, r.action.name());
            if !r.args.is_empty() {
                s += " when args match";
            }
            if !r.includes.is_empty() || !r.excludes.is_empty() {
                s += " (conditional)";
            }
            s
        })
        .collect();
    Line::raw(if others.is_empty() {
        "other rules: none mention it".to_string()
    } else {
        format!("other rules: {}", others.join("; "))
    })
}

fn risk_line(syscall: &str, theme: &Theme) -> Line<'static> {
    match risk(syscall) {
        Some(why) => Line::from(vec![Span::styled("risk: ", theme.warn()), Span::raw(why)]),
        None => Line::from(vec![
            Span::styled("risk: ", theme.good()),
            Span::raw("nothing special known; usually safe to allow"),
        ]),
    }
}

/// The calls other layers refused, below the row's detail or alone (those the
/// profile allows have no row of their own).
fn other_layers(app: &App, skip: Option<&str>, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let shown: Vec<_> = app
        .run
        .refused
        .iter()
        .filter(|(r, _)| Some(r.syscall.as_str()) != skip)
        .collect();
    if shown.is_empty() {
        return lines;
    }
    lines.push(Line::styled(
        "refused by other layers (not seccomp: the profile cannot help):",
        theme.bad(),
    ));
    for (r, hits) in shown {
        let Some(f) = r.finding.as_ref() else {
            continue;
        };
        lines.push(Line::raw(format!(
            "  {} {}× {}: {f}",
            r.syscall,
            hits,
            crate::errno::describe(r.failure.errno)
        )));
        lines.push(Line::raw(format!("    fix: {}", f.fix)));
    }
    lines
}

/// Where the row's calls came from. One call site: its frames, one a line, the
/// program's own first (libc and runtime frames folded unless `all`). Several:
/// each with its count and its stack in a line.
fn stack_lines(
    row: &crate::sources::aggregate::DeniedSyscall,
    all: bool,
    theme: &Theme,
) -> Vec<Line<'static>> {
    use crate::sources::stack::{own_frames, summary};
    let mut lines = Vec::new();
    match row.sites.as_slice() {
        [] => {}
        [site] => {
            let shown: Vec<&crate::sources::stack::Frame> = if all {
                site.stack.iter().collect()
            } else {
                own_frames(&site.stack)
            };
            lines.push(Line::styled("called from:", theme.title()));
            for f in &shown {
                // An unnamed frame's short form is its object+offset already.
                lines.push(Line::raw(match f.function {
                    Some(_) => format!("  {}  {}+{:#x}", f.short(), f.object_name(), f.offset),
                    None => format!("  {}", f.short()),
                }));
            }
            let folded = site.stack.len() - shown.len();
            if folded > 0 {
                lines.push(Line::styled(
                    format!("  (+{folded} libc/runtime frames: f shows them)"),
                    theme.dim(),
                ));
            }
        }
        many => {
            lines.push(Line::styled(
                format!("called from {} places:", many.len()),
                theme.title(),
            ));
            for site in many {
                let line = summary(&site.stack).unwrap_or_default();
                lines.push(Line::raw(format!("  {:>5}×  {line}", site.hits)));
            }
        }
    }
    lines
}

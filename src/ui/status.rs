//! The status bar: the run, the mode, the sources, the profile file; and the
//! message line at the bottom.

use super::Theme;
use crate::app::{App, FileState, RunState};
use crate::run::WorkloadExit;
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
    let mut first = vec![
        Span::styled("eperm ", theme.title()),
        Span::raw(format!("run {} · ", run.number)),
        Span::styled(run.command.clone(), theme.title()),
        Span::raw(format!(" · pid {pid} · ")),
        state,
    ];
    if matches!(run.state, RunState::Exited(_)) && run.denials == 0 {
        first.push(Span::raw(" "));
        first.push(Span::styled(" ✔ clean run ", theme.banner()));
    }
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
    let second = vec![
        Span::raw("profile "),
        Span::styled(format!("[{file_state}]"), style),
        Span::raw(" "),
        Span::styled(file, theme.title()),
        Span::raw(if app.autosave() {
            ""
        } else {
            " (autosave off)"
        }),
        Span::raw(format!(
            " · {} {} · hold {} · source {}: {} · {} events",
            run.mode,
            if run.enforce {
                "enforcing"
            } else {
                "permissive"
            },
            if run.hold { "on" } else { "off" },
            run.mode,
            if matches!(run.state, RunState::Failed(_)) {
                "down"
            } else {
                "ok"
            },
            run.denials,
        )),
    ];
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
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
            .map(|r| format!("#{}: {} denials", r.number, r.denials))
            .collect();
        spans.push(Span::styled(
            format!("  · earlier runs {}", history.join(", ")),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

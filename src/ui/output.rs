//! The workload's own stdout and stderr, captured so it never scribbles on the UI.

use super::{block, Theme};
use crate::app::App;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool) {
    let body = area.height.saturating_sub(2) as usize;
    let end = app.output.len().saturating_sub(app.output_back);
    let start = end.saturating_sub(body);
    let lines: Vec<Line> = if app.output.is_empty() {
        vec![Line::styled(
            "(no output yet; stdin is /dev/null)",
            theme.dim(),
        )]
    } else {
        app.output
            .range(start..end)
            .map(|(l, err)| {
                if *err {
                    Line::styled(l.to_string(), theme.warn())
                } else {
                    Line::raw(l.to_string())
                }
            })
            .collect()
    };
    frame.render_widget(
        Paragraph::new(lines).block(block(" Output ".into(), focused, theme)),
        area,
    );
}

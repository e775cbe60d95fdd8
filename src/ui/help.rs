//! The help overlay: every key, as the bindings table (`app::keys::BINDINGS`) tells.

use super::{centered, Theme};
use crate::app::keys;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut lines: Vec<Line> = keys::help_lines()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!("{k:>12}  "), theme.title()),
                Span::raw(what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        "The workload's stdin is /dev/null; its output goes to the Output pane.",
        theme.dim(),
    ));
    lines.push(Line::styled("Any key closes this help.", theme.dim()));
    let r = centered(area, 76, lines.len() as u16 + 2);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Keys ").title_style(theme.title())),
        r,
    );
}

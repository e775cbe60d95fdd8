//! Drawing: a pure function of the App. One file per pane; nothing here mutates.

mod coverage;
mod detail;
mod diff;
mod events;
mod help;
mod output;
mod prompt;
mod status;
mod syscalls;
#[cfg(test)]
mod tests;

use crate::app::{layout, App, Pane, View};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, BorderType};
use ratatui::Frame;

/// Colours, or none at all when `NO_COLOR` is set.
#[derive(Clone, Copy, Debug)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Honours `NO_COLOR` (any non-empty value), as no-color.org asks.
    pub fn from_env() -> Theme {
        Theme::from_no_color(std::env::var_os("NO_COLOR"))
    }

    /// From the value of `NO_COLOR`: set and not empty means no colour.
    pub fn from_no_color(value: Option<std::ffi::OsString>) -> Theme {
        Theme {
            color: value.is_none_or(|v| v.is_empty()),
        }
    }

    pub const PLAIN: Theme = Theme { color: false };

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn bad(&self) -> Style {
        self.fg(Color::Red)
    }
    pub fn good(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn dim(&self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }
    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn banner(&self) -> Style {
        if self.color {
            Style::new()
                .fg(Color::Black)
                .bg(Color::Green)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }
}

fn rect(r: layout::Rect) -> Rect {
    Rect::new(r.x, r.y, r.width, r.height)
}

/// A pane's frame: bold title and a double border when it has the focus.
fn block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    let b = Block::bordered().title(title).title_style(theme.title());
    if focused {
        b.border_type(BorderType::Double)
    } else {
        b.border_style(theme.dim())
    }
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    let areas = layout::areas(area.width, area.height);
    status::draw(frame, rect(areas.status), app, theme);
    let top = app.focus == Pane::Syscalls;
    match app.view {
        View::Syscalls => {
            syscalls::draw(frame, rect(areas.syscalls), app, theme, top);
            detail::draw(frame, rect(areas.detail), app, theme);
        }
        View::Coverage => {
            coverage::draw_table(frame, rect(areas.syscalls), app, theme, top);
            coverage::draw_detail(frame, rect(areas.detail), app, theme);
        }
    }
    events::draw(
        frame,
        rect(areas.events),
        app,
        theme,
        app.focus == Pane::Events,
    );
    output::draw(
        frame,
        rect(areas.output),
        app,
        theme,
        app.focus == Pane::Output,
    );
    status::message(frame, rect(areas.message), app, theme);
    status::hints(frame, rect(areas.hints), app, theme);
    if app.help {
        help::draw(frame, area, theme);
    }
    if app.diff_view.is_some() {
        diff::draw(frame, area, app, theme);
    }
    prompt::draw(frame, area, app, theme);
    inert(frame.buffer_mut());
}

/// What other processes wrote reaches the panes escaped ([`crate::untrusted`]); this
/// is the last guard for any text that was not: no cell may hold a character a
/// terminal would act on instead of showing.
fn inert(buffer: &mut ratatui::buffer::Buffer) {
    for cell in buffer.content.iter_mut() {
        if cell.symbol().chars().any(crate::untrusted::is_unsafe) {
            cell.set_symbol("?");
        }
    }
}

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// `12.345s` from milliseconds.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

//! Questions: a held call, the errno to give, quitting with unsaved edits, and a
//! file changed on disk under unsaved edits.

use super::diff::diff_line;
use super::{centered, Theme};
use crate::app::hints::prompt_line;
use crate::app::keys::KeyMode;
use crate::app::{App, Held, Prompt};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let (title, lines) = match &app.prompt {
        Some(Prompt::Prune {
            names,
            diff,
            scroll,
            ..
        }) => return prune(frame, area, app, theme, names, diff, *scroll),
        Some(Prompt::Errno { syscall, typing }) => errno(theme, syscall, typing.as_deref()),
        Some(Prompt::Quit) => quit(theme),
        Some(Prompt::Conflict {
            theirs,
            show_diff,
            error,
        }) => conflict(area, app, theme, theirs, *show_diff, error.as_deref()),
        None => match app.held.front() {
            Some(h) => held(app, theme, h),
            None => return,
        },
    };
    let width = area.width.saturating_sub(4).min(90);
    // Lines longer than the box wrap (a long path): room for every row they take,
    // and one more where a word break wastes some.
    let inner = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines
        .iter()
        .map(|l| match l.width() {
            w if w <= inner => 1,
            w => w.div_ceil(inner) + 1,
        })
        .sum();
    let height = u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2);
    let r = centered(area, width, height);
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(title).title_style(theme.title())),
        r,
    );
}

/// Which errno the selected syscall gets: the choices, or the one being typed.
fn errno(theme: &Theme, syscall: &str, typing: Option<&str>) -> (&'static str, Vec<Line<'static>>) {
    let lines = match typing {
        None => vec![
            Line::raw(format!("Which errno should {syscall} get?")),
            Line::raw(""),
            Line::raw(prompt_line(KeyMode::ErrnoPrompt)),
        ],
        Some(t) => vec![
            Line::raw(format!("Errno for {syscall} (name or number):")),
            Line::styled(format!("> {t}▏"), theme.title()),
            Line::raw("Enter accept · Esc cancel"),
        ],
    };
    (" Errno ", lines)
}

/// Quitting with unsaved edits.
fn quit(theme: &Theme) -> (&'static str, Vec<Line<'static>>) {
    (
        " Quit? ",
        vec![
            Line::styled("The profile has unsaved edits.", theme.warn()),
            Line::raw(""),
            Line::raw(prompt_line(KeyMode::QuitPrompt)),
        ],
    )
}

/// The file holds a change not loaded (under unsaved edits, or one that does
/// not load: `error`); with `show_diff`, how.
fn conflict(
    area: Rect,
    app: &App,
    theme: &Theme,
    theirs: &str,
    show_diff: bool,
    error: Option<&str>,
) -> (&'static str, Vec<Line<'static>>) {
    let mut lines = match error {
        // The parser's message quotes the file: someone else's text.
        Some(e) => vec![
            Line::styled(
                "The profile changed on disk and does not load:",
                theme.bad(),
            ),
            Line::raw(format!("  {}", crate::untrusted::escape(e.as_bytes()))),
            Line::raw("eperm saves nothing over it until you choose (or it loads)."),
        ],
        None => vec![Line::styled(
            "The profile changed on disk, and you have unsaved edits.",
            theme.bad(),
        )],
    };
    lines.push(Line::raw(prompt_line(KeyMode::ConflictPrompt)));
    if show_diff {
        lines.push(Line::raw(""));
        let diff = similar::TextDiff::from_lines(theirs, app.profile.text.as_str());
        for change in diff
            .unified_diff()
            .context_radius(1)
            .header("on disk", "yours")
            .to_string()
            .lines()
            .take(area.height.saturating_sub(8) as usize)
        {
            let style = match change.chars().next() {
                Some('+') => theme.good(),
                Some('-') => theme.bad(),
                _ => theme.dim(),
            };
            lines.push(Line::styled(change.to_string(), style));
        }
    }
    (" Changed on disk ", lines)
}

/// The first held call: what waits, and what applies when its time is up.
fn held(app: &App, theme: &Theme, h: &Held) -> (&'static str, Vec<Line<'static>>) {
    let e = &h.event;
    let left = h.deadline_ms.saturating_sub(app.now_ms).div_ceil(1000);
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("{} (pid {}) is waiting in ", e.comm, e.pid)),
        Span::styled(
            e.call.clone().unwrap_or_else(|| e.syscall.clone()),
            theme.title(),
        ),
    ])];
    if let Some(was) = &h.was {
        lines.push(Line::styled(
            "CHANGED since you allowed it: its memory was rewritten. You allowed",
            theme.bad(),
        ));
        lines.push(Line::from(vec![
            Span::raw("  "),
            Span::styled(was.clone(), theme.bad()),
        ]));
        lines.push(Line::styled(
            "and it now reads as above. Answer again for what it is now.",
            theme.bad(),
        ));
    }
    lines.extend([
        Line::styled(
            "Pointed-to arguments (paths, structs) can be rewritten until the kernel",
            theme.warn(),
        ),
        Line::styled(
            "reads them: eperm reads them again before it lets an allowed call run.",
            theme.warn(),
        ),
        Line::raw(format!(
            "the profile says {} ({}); in {left}s that applies{}",
            e.ruling.describe(),
            e.rule_path(),
            if app.held.len() > 1 {
                format!(" · {} more waiting", app.held.len() - 1)
            } else {
                String::new()
            }
        )),
        Line::raw(""),
        Line::raw(prompt_line(KeyMode::Held)),
    ]);
    (" Held ", lines)
}

/// The whole diff of pruning, scrollable, above the question.
fn prune(
    frame: &mut Frame,
    area: Rect,
    app: &App,
    theme: &Theme,
    names: &[String],
    diff: &str,
    scroll: usize,
) {
    let r = centered(
        area,
        area.width.saturating_sub(4).min(100),
        area.height.saturating_sub(2),
    );
    let total = diff.lines().count();
    let mut lines = vec![
        Line::styled(
            format!(
                "Remove {} allowance{} no coverage run used ({} run{} merged):",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                app.coverage.runs,
                if app.coverage.runs == 1 { "" } else { "s" }
            ),
            theme.warn(),
        ),
        Line::raw(fit(names, r.width.saturating_sub(2) as usize)),
    ];
    if app.run.coverage && matches!(app.run.state, crate::app::RunState::Running) {
        lines.push(Line::styled(
            "the run in progress is not counted yet: what it uses could go",
            theme.bad(),
        ));
    }
    lines.push(Line::raw(""));
    // Borders, the lines above and the footer take the rest.
    let room = (r.height as usize).saturating_sub(lines.len() + 4);
    lines.extend(
        diff.lines()
            .skip(scroll)
            .take(room)
            .map(|change| diff_line(change, theme)),
    );
    lines.push(Line::raw(""));
    lines.push(Line::raw(format!(
        "y write it (u undoes) · Esc keep the profile · j/k PgUp/PgDn scroll · lines {}-{} of {total}",
        (scroll + 1).min(total),
        (scroll + room).min(total)
    )));
    frame.render_widget(Clear, r);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" Prune unused allowances: the diff ")
                .title_style(theme.title()),
        ),
        r,
    );
}

/// As many names as fit in `width` columns, then how many more the diff shows.
pub(super) fn fit(names: &[String], width: usize) -> String {
    let all = names.join(", ");
    if all.chars().count() <= width {
        return all;
    }
    let mut shown = String::new();
    for (i, name) in names.iter().enumerate() {
        let more = format!(" … and {} more (in the diff)", names.len() - i);
        let next = if i == 0 {
            name.clone()
        } else {
            format!(", {name}")
        };
        if shown.chars().count() + next.chars().count() + more.chars().count() > width {
            return shown + &more;
        }
        shown += &next;
    }
    shown
}

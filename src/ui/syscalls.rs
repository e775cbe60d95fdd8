//! The main table: one row per would-be-denied syscall and arch.

use super::{seconds, Theme};
use crate::app::layers::short;
use crate::app::layers::TableLine;
use crate::app::{layout, App, RunState, Sort, UserDecision};
use crate::sources::aggregate::PODS;
use crate::sources::refusal::Refusal;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table};
use ratatui::Frame;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool) {
    let lines = app.table_lines();
    let block = titled_block(app, lines.len(), area, theme, focused);
    if lines.is_empty() {
        frame.render_widget(Paragraph::new(empty_line(app, theme)).block(block), area);
        return;
    }
    // Only the rows on screen are built: thousands of rows cost nothing to draw.
    let body = area.height.saturating_sub(3) as usize;
    let offset = layout::offset(app.selected, body);
    let shown: Vec<(usize, Shown)> = lines
        .iter()
        .enumerate()
        .skip(offset)
        .take(body)
        .map(|(pos, line)| (pos, Shown::of(app, *line)))
        .collect();
    // The layers of each row, once another layer than the profile refused a call.
    let others: Option<Vec<Vec<String>>> = shown
        .iter()
        .map(|(_, s)| match s {
            Shown::Profile(r) => app.row_layers(&r.syscall),
            Shown::Layer(..) => Some(Vec::new()),
        })
        .collect();
    let (columns, layers) = Columns::measure(&shown, others.as_deref(), area.width);
    let rows = shown.iter().enumerate().map(|(at, (pos, s))| {
        let layer = layers.as_ref().map(|l| l[at].as_str());
        let selected = *pos == app.selected;
        match s {
            Shown::Profile(r) => columns.row(r, layer, selected, theme),
            Shown::Layer(r, hits) => columns.layer_row(r, *hits, layer, selected, theme),
        }
    });
    frame.render_widget(
        Table::new(rows, columns.widths())
            .header(Row::new(columns.names()).style(theme.title()))
            .column_spacing(1)
            .block(block),
        area,
    );
}

/// A line of the table on screen: the profile's row, or a call only another
/// layer refused (with its hits), which the profile allows.
enum Shown<'a> {
    Profile(&'a crate::app::Row),
    Layer(&'a Refusal, u64),
}

/// What a row only another layer refused shows in the profile's column.
const ALLOWS: &str = "allows";

/// And in the user's: there is nothing to decide.
const NOTHING: &str = "—";

impl<'a> Shown<'a> {
    fn of(app: &'a App, line: TableLine) -> Shown<'a> {
        match line {
            TableLine::Profile(i) => Shown::Profile(&app.rows[i]),
            TableLine::Layer(i) => {
                let (r, hits) = &app.run.refused[i];
                Shown::Layer(r, *hits)
            }
        }
    }

    /// The widths of the cells the columns are measured by: syscall, arch,
    /// hits, profile, you, you in short, processes.
    fn widths(&self) -> [usize; 7] {
        match self {
            Shown::Profile(r) => [
                r.syscall.chars().count(),
                r.arch.to_string().chars().count(),
                r.hits.to_string().len(),
                r.verdict().chars().count(),
                r.decision.label().chars().count(),
                r.decision.short().chars().count(),
                procs_of(r).chars().count(),
            ],
            Shown::Layer(r, hits) => [
                r.syscall.chars().count(),
                r.arch.to_string().chars().count(),
                hits.to_string().len(),
                ALLOWS.len(),
                1,
                1,
                r.comm.to_string().chars().count(),
            ],
        }
    }
}

/// The pane's frame: how many rows, their order, and the start-up fold.
fn titled_block<'a>(
    app: &App,
    count: usize,
    area: Rect,
    theme: &Theme,
    focused: bool,
) -> ratatui::widgets::Block<'a> {
    let sort = match app.sort {
        Sort::FirstSeen => "first seen",
        Sort::Hits => "hits",
    };
    let title = format!(" Syscalls ({count}) · by {sort} ");
    let block = super::block(title, focused, theme);
    match app.bootstrap_group() {
        Some(group) => {
            let room = area.width.saturating_sub(2) as usize;
            block.title_bottom(Line::styled(
                bootstrap_line(&group, app.show_bootstrap, room),
                theme.dim(),
            ))
        }
        None => block,
    }
}

/// What an empty table says: a clean run, nothing yet, or a filter that hides all.
fn empty_line(app: &App, theme: &Theme) -> Line<'static> {
    let clean = matches!(app.run.state, RunState::Exited(_)) && app.run.denials == 0;
    if let Some(why) = &app.run.not_started {
        Line::styled(format!(" ⚠ {why} "), theme.bad())
    } else if let Some((_, line)) = app.run.interference.first() {
        Line::styled(format!(" ⚠ {line} "), theme.bad())
    } else if clean && !app.run.refused.is_empty() {
        // The profile is not the cause, but the run is not clean either.
        let calls: u64 = app.run.refused.iter().map(|(_, hits)| hits).sum();
        Line::styled(
            format!(
                " no seccomp denial; {} refused by other layers (Detail) ",
                crate::profile::lint::plural(calls as usize, "call", "calls")
            ),
            theme.bad(),
        )
    } else if clean {
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
    }
}

/// The pod column's widest: `namespace/pod/container` names run long, and the
/// processes keep some room.
const POD_MAX: u16 = 40;

/// The pod column's narrowest: narrower, it is left out.
const POD_MIN: u16 = 8;

/// The columns' widths, from the rows on screen, so that the processes get the
/// room left; narrow panes drop the arch, the layers, the pods and the processes.
struct Columns {
    wide: bool,
    /// The time of the last call fits too.
    last: bool,
    syscall: u16,
    arch: u16,
    hits: u16,
    verdict: u16,
    you: u16,
    you_short: u16,
    /// The layers column, when shown (another layer refused a call, and it fits).
    layer: Option<u16>,
    /// 0: no row on screen names a pod, or the pods do not fit (no pod column).
    pod: u16,
}

impl Columns {
    /// The columns, and the layers' cells when their column fits: in full
    /// (`seccomp+cap:SYS_ADMIN`), else with the profile's share left implied
    /// (`+cap:SYS_ADMIN`), else not at all.
    fn measure(
        shown: &[(usize, Shown)],
        others: Option<&[Vec<String>]>,
        width: u16,
    ) -> (Columns, Option<Vec<String>>) {
        let measured: Vec<[usize; 7]> = shown.iter().map(|(_, s)| s.widths()).collect();
        let widest = |at: usize, header: usize| {
            measured
                .iter()
                .map(|w| w[at])
                .max()
                .unwrap_or(0)
                .max(header) as u16
        };
        let profile_rows = || {
            shown.iter().filter_map(|(_, s)| match s {
                Shown::Profile(r) => Some(*r),
                Shown::Layer(..) => None,
            })
        };
        let mut c = Columns {
            wide: width >= 60,
            last: false,
            syscall: widest(0, 7),
            arch: widest(1, 4),
            hits: widest(2, 4),
            verdict: widest(3, 7),
            you: widest(4, 3),
            you_short: widest(5, 3),
            layer: None,
            pod: 0,
        };
        let procs = widest(6, 5);
        // Six gaps between seven columns, seven for the time of the last call: the
        // processes keep the time's room when both do not fit.
        let mut fixed = 1 + c.syscall + c.arch + c.hits + c.verdict + c.you + 6;
        let room = width.saturating_sub(2);
        let mut cells = None;
        for form in [full as fn(&[String]) -> String, compact] {
            let Some(others) = others.filter(|_| c.wide) else {
                break;
            };
            // A row only another layer refused names that layer alone.
            let layers: Vec<String> = shown
                .iter()
                .zip(others)
                .map(|((_, s), o)| match s {
                    Shown::Profile(_) => form(o),
                    Shown::Layer(r, _) => r.finding.as_ref().map(short).unwrap_or_default(),
                })
                .collect();
            let layer = layers
                .iter()
                .map(|l| l.chars().count())
                .max()
                .unwrap_or(0)
                .max(5) as u16;
            // Shown when the processes keep a few columns beside it.
            if fixed + layer + 1 + 5 <= room {
                c.layer = Some(layer);
                fixed += layer + 1;
                cells = Some(layers);
                break;
            }
        }
        if c.wide && profile_rows().any(|r| !r.pods.is_empty()) {
            // The pods take what the other columns leave (the processes keep 5),
            // or show nowhere but the Detail pane when that is too little.
            let left = room.saturating_sub(fixed + 5 + 1);
            let want = profile_rows()
                .map(|r| pods_of(r, usize::MAX).chars().count())
                .max()
                .unwrap_or(0)
                .max(3) as u16;
            if left >= POD_MIN {
                c.pod = want.min(POD_MAX).min(left);
                fixed += c.pod + 1;
            }
        }
        c.last = fixed + procs + 8 <= room;
        (c, cells)
    }

    fn widths(&self) -> Vec<Constraint> {
        let mut widths: Vec<Constraint> = if self.wide {
            vec![
                Constraint::Length(1),
                Constraint::Length(self.syscall),
                Constraint::Length(self.arch),
                Constraint::Length(self.hits),
                Constraint::Length(self.verdict),
                Constraint::Length(self.you),
            ]
            .into_iter()
            .chain(self.layer.map(Constraint::Length))
            .chain((self.pod > 0).then_some(Constraint::Length(self.pod)))
            .chain([Constraint::Min(5)])
            .collect()
        } else {
            vec![
                Constraint::Length(1),
                Constraint::Min(self.syscall.min(16)),
                Constraint::Length(self.hits),
                Constraint::Length(self.verdict),
                Constraint::Length(self.you_short),
            ]
        };
        if self.wide && self.last {
            widths.push(Constraint::Length(7));
        }
        widths
    }

    fn names(&self) -> Vec<&'static str> {
        if !self.wide {
            return vec!["", "syscall", "hits", "profile", "you"];
        }
        let mut names = vec!["", "syscall", "arch", "hits", "profile", "you"];
        names.extend(self.layer.map(|_| "layer"));
        names.extend((self.pod > 0).then_some("pod"));
        names.push("procs");
        names.extend(self.last.then_some("last"));
        names
    }

    fn row(
        &self,
        r: &crate::app::Row,
        layer: Option<&str>,
        selected: bool,
        theme: &Theme,
    ) -> Row<'static> {
        let decision_style = match r.decision {
            UserDecision::AllowedNow => theme.good(),
            UserDecision::StillDenied => theme.bad(),
            UserDecision::Errno(_) => theme.warn(),
        };
        let marker = if selected { "▶" } else { " " };
        let mut cells = vec![Cell::from(marker), Cell::from(r.syscall.clone())];
        if self.wide {
            cells.extend([
                Cell::from(r.arch.to_string()),
                Cell::from(r.hits.to_string()),
                Cell::from(r.verdict()).style(theme.bad()),
                Cell::from(r.decision.label()).style(decision_style),
            ]);
            if let (Some(_), Some(layer)) = (self.layer, layer) {
                let style = if layer.contains('+') {
                    theme.warn()
                } else {
                    theme.dim()
                };
                cells.push(Cell::from(layer.to_string()).style(style));
            }
            if self.pod > 0 {
                cells.push(Cell::from(pods_of(r, self.pod as usize)));
            }
            cells.push(Cell::from(procs_of(r)));
            if self.last {
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
        if selected {
            row.style(theme.selected())
        } else if r.bootstrap {
            row.style(theme.dim())
        } else {
            row
        }
    }
}

impl Columns {
    /// A row only another layer refused: the profile allows the call, the user
    /// has nothing to decide, and the layer column names the layer.
    fn layer_row(
        &self,
        r: &Refusal,
        hits: u64,
        layer: Option<&str>,
        selected: bool,
        theme: &Theme,
    ) -> Row<'static> {
        let marker = if selected { "▶" } else { " " };
        let mut cells = vec![Cell::from(marker), Cell::from(r.syscall.clone())];
        if self.wide {
            cells.extend([
                Cell::from(r.arch.to_string()),
                Cell::from(hits.to_string()),
                Cell::from(ALLOWS).style(theme.dim()),
                Cell::from(NOTHING).style(theme.dim()),
            ]);
            if let (Some(_), Some(layer)) = (self.layer, layer) {
                cells.push(Cell::from(layer.to_string()).style(theme.bad()));
            }
            if self.pod > 0 {
                cells.push(Cell::from(""));
            }
            cells.push(Cell::from(r.comm.to_string()));
            if self.last {
                cells.push(Cell::from(seconds(r.time_ms)));
            }
        } else {
            cells.extend([
                Cell::from(hits.to_string()),
                Cell::from(ALLOWS).style(theme.dim()),
                Cell::from(NOTHING).style(theme.dim()),
            ]);
        }
        let row = Row::new(cells);
        if selected {
            row.style(theme.selected())
        } else {
            row
        }
    }
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

/// A row's layers in full: `seccomp`, `seccomp+cap:SYS_ADMIN`.
fn full(others: &[String]) -> String {
    std::iter::once("seccomp")
        .chain(others.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("+")
}

/// A row's layers in short: `seccomp`, or what refuses it besides (`+cap:SYS_ADMIN`).
fn compact(others: &[String]) -> String {
    if others.is_empty() {
        "seccomp".into()
    } else {
        format!("+{}", others.join("+"))
    }
}

/// The pod of the row's first call (`namespace/pod/container`, escaped), and
/// how many others made it (`shop/web-1/app +2`), in at most `width`
/// characters: the name is cut (`shop/web… +2`), the count kept.
fn pods_of(r: &crate::app::Row, width: usize) -> String {
    let Some(first) = r.pods.first() else {
        return String::new();
    };
    // The row remembers the first few pods: past them, there may be more.
    let more = match r.pods.len() {
        1 => String::new(),
        n if n >= PODS => format!(" +{}…", n - 1),
        n => format!(" +{}", n - 1),
    };
    let label = first.label();
    if label.chars().count() + more.chars().count() <= width {
        return label + &more;
    }
    let keep = width.saturating_sub(more.chars().count() + 1);
    label.chars().take(keep).collect::<String>() + "…" + &more
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

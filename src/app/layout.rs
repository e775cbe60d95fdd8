//! Where the panes go: shared by the drawing and by mouse clicks.

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rect {
    pub x: u16,
    pub y: u16,
    pub width: u16,
    pub height: u16,
}

pub struct Areas {
    pub status: Rect,
    pub syscalls: Rect,
    pub detail: Rect,
    pub events: Rect,
    pub output: Rect,
    pub message: Rect,
    /// The keys that act where the user is.
    pub hints: Rect,
}

/// Status (2 lines) on top, a message line and the key hints at the bottom;
/// between them the syscalls table and the detail side by side, then events and
/// output.
pub fn areas(width: u16, height: u16) -> Areas {
    let status = Rect {
        x: 0,
        y: 0,
        width,
        height: 2.min(height),
    };
    let body_y = status.height;
    let body_h = height.saturating_sub(body_y + 2);
    let top_h = body_h * 55 / 100;
    let bottom_h = body_h - top_h;
    let left_w = if width >= 100 {
        width * 55 / 100
    } else {
        width / 2
    };
    let syscalls = Rect {
        x: 0,
        y: body_y,
        width: left_w,
        height: top_h,
    };
    let detail = Rect {
        x: left_w,
        y: body_y,
        width: width - left_w,
        height: top_h,
    };
    let events = Rect {
        x: 0,
        y: body_y + top_h,
        width: left_w,
        height: bottom_h,
    };
    let output = Rect {
        x: left_w,
        y: body_y + top_h,
        width: width - left_w,
        height: bottom_h,
    };
    let message = Rect {
        x: 0,
        y: height.saturating_sub(2),
        width,
        height: 1.min(height),
    };
    let hints = Rect {
        x: 0,
        y: height.saturating_sub(1),
        width,
        height: 1.min(height),
    };
    Areas {
        status,
        syscalls,
        detail,
        events,
        output,
        message,
        hints,
    }
}

/// The first row shown when `selected` must be visible in `body` rows.
pub fn offset(selected: usize, body: usize) -> usize {
    if body == 0 {
        return selected;
    }
    selected.saturating_sub(body - 1)
}

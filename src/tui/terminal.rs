//! The terminal in the TUI's state (raw, alternate screen, mouse on) and back,
//! also when any thread panics; and the thread that reads keys and the mouse.

use super::Incoming;
use crate::app::{Key, Mods, Msg};
use crossterm::event::{
    self as term, DisableMouseCapture, EnableMouseCapture, KeyCode, KeyEventKind, KeyModifiers,
    MouseButton, MouseEventKind,
};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

/// The terminal is in the TUI's state (raw, alternate screen, mouse on).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Some thread of eperm panicked: the terminal is restored, the UI must end.
pub(super) static PANICKED: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

/// Restores the terminal when dropped, whatever way the TUI ends.
pub(super) struct Screen;

impl Screen {
    pub(super) fn enter() -> std::io::Result<Screen> {
        HOOK.call_once(|| {
            // Restore first, then the usual report: on a restored screen it is readable.
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if ACTIVE.swap(false, Ordering::SeqCst) {
                    restore();
                }
                PANICKED.store(true, Ordering::SeqCst);
                previous(info);
            }));
        });
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // Made before the next step, so that raw mode is undone if it fails.
        let screen = Screen;
        execute!(std::io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
        Ok(screen)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        if ACTIVE.swap(false, Ordering::SeqCst) {
            restore();
        }
    }
}

/// Debug builds only: `EPERM_DEBUG_PANIC=main|thread` panics once the UI is up, on
/// the UI loop or on a helper thread, so that the end-to-end test sees the terminal
/// restored through the real code path. Release builds have no such switch.
#[cfg(debug_assertions)]
pub(super) fn debug_panic() {
    match std::env::var("EPERM_DEBUG_PANIC").as_deref() {
        Ok("main") => panic!("EPERM_DEBUG_PANIC: a panic in the UI loop"),
        Ok("thread") => {
            let _ = std::thread::spawn(|| panic!("EPERM_DEBUG_PANIC: a panic on a helper thread"))
                .join();
        }
        _ => {}
    }
}

#[cfg(not(debug_assertions))]
pub(super) fn debug_panic() {}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        LeaveAlternateScreen,
        DisableMouseCapture,
        crossterm::cursor::Show
    );
}

fn key_msg(k: crossterm::event::KeyEvent) -> Option<Msg> {
    if k.kind != KeyEventKind::Press {
        return None;
    }
    let mods = if k.modifiers.contains(KeyModifiers::CONTROL) {
        Mods::CTRL
    } else {
        Mods::NONE
    };
    let key = match k.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::Tab | KeyCode::BackTab => Key::Tab,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        _ => return None,
    };
    Some(Msg::Key(key, mods))
}

/// Reads the terminal until told to stop.
pub(super) fn input(tx: super::queue::Sender, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        if !term::poll(Duration::from_millis(100)).unwrap_or(false) {
            continue;
        }
        let msg = match term::read() {
            Ok(term::Event::Key(k)) => key_msg(k),
            Ok(term::Event::Mouse(m)) => match m.kind {
                MouseEventKind::ScrollDown => Some(Msg::Scroll(1)),
                MouseEventKind::ScrollUp => Some(Msg::Scroll(-1)),
                MouseEventKind::Down(MouseButton::Left) => Some(Msg::Click {
                    column: m.column,
                    row: m.row,
                }),
                _ => None,
            },
            Ok(term::Event::Resize(width, height)) => Some(Msg::Resize { width, height }),
            Ok(_) => None,
            Err(_) => break,
        };
        if let Some(msg) = msg {
            if tx.send(Incoming::Msg(msg)).is_err() {
                break;
            }
        }
    }
}

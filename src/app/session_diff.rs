//! The session's diff (`D`): what the profile now differs in from the text the
//! session began with, or from the last save, as a unified diff a reviewer
//! reads. The report and the end-of-session note use the same text.

use super::keys::{self, KeyAction, KeyMode};
use super::{App, Effect, Key, Mods};
use crate::report::unified;

/// The diff view on screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiffView {
    /// Against the last save (else: the session's start).
    pub since_save: bool,
    /// The first line shown.
    pub scroll: usize,
}

impl App {
    /// The profile's name as the diff's header shows it.
    pub fn diff_file(&self) -> String {
        match (&self.path, self.path_pending) {
            (Some(p), false) => p.display().to_string(),
            _ => "embedded default".into(),
        }
    }

    /// The session's diff: since the start, or (`since_save`) since the text last
    /// on disk (the start again when nothing was saved yet).
    pub fn session_diff(&self, since_save: bool) -> String {
        let before = match (&self.disk_text, since_save) {
            (Some(disk), true) if !self.path_pending => disk.as_str(),
            _ => self.start_text.as_str(),
        };
        let file = self.diff_file();
        unified(before, &self.profile.text, &file, &format!("{file} (now)"))
    }

    /// `D`: the diff view, since the session's start.
    pub(super) fn open_diff(&mut self) {
        self.diff_view = Some(DiffView {
            since_save: false,
            scroll: 0,
        });
    }

    /// Keys while the diff is on screen; `None`: not open.
    pub(super) fn diff_key(&mut self, key: Key) -> Option<Vec<Effect>> {
        let mut view = self.diff_view?;
        let lines = self.session_diff(view.since_save).lines().count();
        // The body is most of the screen; a page is what it shows.
        let page = (self.size.1 as usize).saturating_sub(8).max(1);
        let last = lines.saturating_sub(1);
        match keys::action(KeyMode::DiffView, key, Mods::NONE) {
            Some(KeyAction::Down) => view.scroll = (view.scroll + 1).min(last),
            Some(KeyAction::Up) => view.scroll = view.scroll.saturating_sub(1),
            Some(KeyAction::PageDown) => view.scroll = (view.scroll + page).min(last),
            Some(KeyAction::PageUp) => view.scroll = view.scroll.saturating_sub(page),
            Some(KeyAction::Home) => view.scroll = 0,
            Some(KeyAction::End) => view.scroll = last.saturating_sub(page.saturating_sub(1)),
            Some(KeyAction::DiffBase) => {
                view.since_save = !view.since_save;
                view.scroll = 0;
            }
            Some(KeyAction::Cancel) => {
                self.diff_view = None;
                return Some(vec![]);
            }
            _ => {}
        }
        self.diff_view = Some(view);
        Some(vec![])
    }
}

//! Held calls (`--hold`, `h`): the queue of calls waiting for the user, the
//! prompt's answers, the countdown that lets the profile's verdict apply when
//! nobody answers, and turning hold mode on and off.

use super::keys::{self, KeyAction, KeyMode};
use super::{App, Effect, Key, Mods, UserDecision};
use crate::profile::edit::Edit;
use crate::run::HoldAnswer;
use crate::sources::event::Event;
use std::collections::VecDeque;

/// A call held for the user's answer.
#[derive(Clone, Debug)]
pub struct Held {
    pub id: u64,
    pub event: Event,
    pub deadline_ms: u64,
    /// Asked again: the call as the user saw it when allowing it, before its
    /// pointer arguments were rewritten.
    pub was: Option<String>,
}

impl App {
    pub(super) fn tick(&mut self, now_ms: u64) -> Vec<Effect> {
        self.now_ms = now_ms;
        let mut effects = Vec::new();
        while let Some(h) = self.held.front() {
            if h.deadline_ms > now_ms {
                break;
            }
            let h = self.held.pop_front().expect("checked");
            let answer = verdict_answer(&h.event);
            self.message = format!(
                "held {} timed out: the profile's verdict applies",
                h.event.syscall
            );
            effects.push(Effect::AnswerHold { id: h.id, answer });
        }
        effects
    }

    pub(super) fn hold_request(
        &mut self,
        id: u64,
        event: Event,
        was: Option<String>,
    ) -> Vec<Effect> {
        // A call asked again because it changed is asked even when its syscall is
        // allowed now: the user allowed what it was, not what it has become.
        let allowed =
            self.decided.get(&event.syscall) == Some(&UserDecision::AllowedNow) && was.is_none();
        if !self.run.hold || allowed {
            // Not holding: the call runs, as in permissive mode.
            return vec![Effect::AnswerHold {
                id,
                answer: HoldAnswer::AllowOnce,
            }];
        }
        if was.is_some() {
            self.message = format!(
                "held {} changed after you allowed it: asked again",
                event.syscall
            );
        }
        self.held.push_back(Held {
            id,
            event,
            deadline_ms: self.now_ms + self.config.hold_timeout_ms,
            was,
        });
        vec![]
    }

    /// The hold prompt's keys, while a call waits; `None`: a key that reaches past
    /// it (quit, help, restart, Esc), as every other key is swallowed.
    pub(super) fn held_key(&mut self, key: Key) -> Option<Vec<Effect>> {
        let h = self.held.front().cloned()?;
        let answer = match keys::action(KeyMode::Held, key, Mods::NONE) {
            Some(KeyAction::AllowOnce) => HoldAnswer::AllowOnce,
            Some(KeyAction::AllowAlways) => HoldAnswer::AllowAlways,
            Some(KeyAction::Deny) => HoldAnswer::Deny,
            Some(KeyAction::Kill) => HoldAnswer::Kill,
            _ => {
                let through = matches!(
                    keys::action(KeyMode::Syscalls, key, Mods::NONE),
                    Some(
                        KeyAction::Quit
                            | KeyAction::Help
                            | KeyAction::Restart
                            | KeyAction::ClearFilter
                    )
                );
                return if through { None } else { Some(vec![]) };
            }
        };
        self.held.pop_front();
        let mut effects = vec![Effect::AnswerHold { id: h.id, answer }];
        if answer == HoldAnswer::AllowAlways {
            // By name: the call's row may not have arrived yet.
            let name = h.event.syscall.clone();
            self.select_syscall(&name, h.event.arch);
            // Others waiting in the same syscall are allowed now too.
            let (same, rest): (VecDeque<Held>, VecDeque<Held>) =
                self.held.drain(..).partition(|o| o.event.syscall == name);
            self.held = rest;
            effects.extend(same.into_iter().map(|o| Effect::AnswerHold {
                id: o.id,
                answer: HoldAnswer::AllowOnce,
            }));
            effects.extend(self.decide(Edit::Allow(name), UserDecision::AllowedNow));
        }
        Some(effects)
    }

    /// A held call whose caller is gone leaves the queue at once.
    pub(super) fn withdraw_held(&mut self, id: u64) {
        if let Some(i) = self.held.iter().position(|h| h.id == id) {
            let h = self.held.remove(i).expect("found");
            self.message = format!(
                "held {} withdrawn: its caller (pid {}) is gone",
                h.event.syscall, h.event.pid
            );
        }
    }

    /// `h`: hold mode on or off; turning it off lets whatever waits run.
    pub(super) fn toggle_hold(&mut self) -> Vec<Effect> {
        if self.run.enforce || self.run.coverage {
            self.message =
                "hold mode needs a permissive run (not --enforce, not --coverage)".into();
            return vec![];
        }
        self.run.hold = !self.run.hold;
        self.message = format!("hold mode {}", if self.run.hold { "on" } else { "off" });
        if self.run.hold {
            return vec![];
        }
        // Whatever waits runs now, as it would have without hold.
        self.answer_every_held(HoldAnswer::AllowOnce)
    }

    /// Answers every held call with `answer` (a restart or quit kills them).
    pub(super) fn answer_every_held(&mut self, answer: HoldAnswer) -> Vec<Effect> {
        self.held
            .drain(..)
            .map(|h| Effect::AnswerHold { id: h.id, answer })
            .collect()
    }
}

/// What the profile would do with a held call, as an answer.
fn verdict_answer(e: &Event) -> HoldAnswer {
    if e.ruling.kills() {
        HoldAnswer::Kill
    } else {
        HoldAnswer::Deny
    }
}

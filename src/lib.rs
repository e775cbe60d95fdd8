//! eperm: an interactive debugger for seccomp profiles.
//!
//! Data flows one way (docs/architecture.md has the whole map):
//!
//! - [`json`], [`arch`], [`caps`], [`errno`], [`target`], [`progress`]: the ground
//!   floor — positions-keeping JSON, architectures and syscall tables, capabilities,
//!   errno names, the runtime that loads a profile and its libseccomp, a status line
//!   for long work.
//! - [`profile`]: the model, loading with precise errors, resolution for a target,
//!   lints, minimal-diff edits and atomic saves.
//! - [`compile`]: a resolved profile to classic BPF, with its emulator.
//! - [`sources`]: the one `Event` type and everything that produces one.
//! - [`run`]: one local run (child, watchdog, tracer, listener, coverage).
//! - [`container`]: one container run (instrumented copy, agent, runtime client).
//! - [`session`]: what a run is, for every command and the TUI.
//! - [`metrics`]: `watch --metrics`, Prometheus counters served over HTTP.
//! - [`coverage`]: what a workload used of a profile, and the file it is kept in.
//! - [`tighten`]: pruning and narrowing a profile from coverage.
//! - [`app`]: the TUI's headless state (messages in, effects out); [`ui`] draws it;
//!   [`tui`] owns the terminal and the loop.
//! - [`untrusted`]: the one way text from other processes is shown (escaped).
//! - [`cli`] and [`cmd`]: the command line and one thin file per subcommand.
//! - [`error`]: the one error vocabulary (bad input, a named file's failed
//!   operation) and the one function that turns an error into an exit code.
//! - [`signals`]: the one signal handler eperm installs, behind a safe API.
//!
//! `app`, `ui`, `session` and `cmd` forbid `unsafe`: what touches the kernel
//! lives in `run`, `container`, `sources`, `bpf` and `signals`.

pub use eperm_core::{
    arch, caps, cgroup_path, compile, errno, files, json, layer, pods, profile, startup, suggest,
    syscalls, target, untrusted, verdicts,
};

#[forbid(unsafe_code)]
pub mod app;
pub mod bpf;
pub mod cli;
#[forbid(unsafe_code)]
pub mod cmd;
pub mod container;
pub mod coverage;
pub mod detect;
pub mod error;
#[forbid(unsafe_code)]
pub mod metrics;
pub mod progress;
pub mod report;
pub mod run;
#[forbid(unsafe_code)]
pub mod session;
pub mod signals;
pub mod sources;
pub mod tighten;
pub mod tui;
#[forbid(unsafe_code)]
pub mod ui;

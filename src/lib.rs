//! eperm: an interactive debugger for seccomp profiles.
//!
//! Data flows one way: a profile is loaded ([`profile`]), resolved for a
//! target into effective rules, compiled to BPF, and run; what the kernel
//! reports comes back as events. See `DESIGN.md` in the repository for the map.

pub mod app;
pub mod arch;
pub mod caps;
pub mod cli;
pub mod cmd;
pub mod compile;
pub mod container;
pub mod errno;
pub mod json;
pub mod profile;
pub mod run;
pub mod sources;
pub mod suggest;
pub mod tighten;
pub mod tui;
pub mod ui;

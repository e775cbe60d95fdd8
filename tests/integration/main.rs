//! The one integration test binary: each module tests one area end to end.

mod arch;
mod check;
mod cli;
mod clients;
mod compile;
mod container;
mod coverage;
mod decode;
mod default_profile;
mod edit;
mod events;
mod faults;
mod files;
mod hostile;
mod import;
mod install;
mod kubernetes;
mod layers;
mod load;
mod logs;
mod logsrc;
mod memory;
#[cfg(feature = "differential")]
mod narrow;
mod podman;
mod portable;
mod run;
mod stacks;
mod startup;
mod target;
mod tighten;
mod trace;
mod triage;
mod tui;
mod util;
mod vdiff;

//! The one integration test binary: each module tests one area end to end.

mod arch;
mod check;
mod cli;
mod compile;
mod container;
mod decode;
mod default_profile;
mod edit;
mod faults;
mod import;
mod load;
mod logs;
mod logsrc;
#[cfg(feature = "differential")]
mod narrow;
mod run;
mod tighten;
mod trace;
mod tui;
mod util;

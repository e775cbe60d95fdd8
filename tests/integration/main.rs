//! The one integration test binary: each module tests one area end to end.

mod arch;
mod check;
mod compile;
mod decode;
mod default_profile;
mod edit;
mod load;
mod run;
mod tui;
mod util;

//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The eperm binary cargo built for these tests.
pub fn eperm() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eperm"))
}

/// Runs eperm with `args`, returning its output.
pub fn run(args: &[&str]) -> Output {
    eperm().args(args).output().expect("eperm runs")
}

/// A fixture file under tests/fixtures.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

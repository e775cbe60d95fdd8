//! What more than one bench needs: its C workload compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The C program `source`, compiled with -O2 into `dir` as `name`.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    std::fs::write(&src, source).expect("write source");
    let bin = dir.join(name);
    let ok = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .status()
        .expect("cc runs")
        .success();
    assert!(ok, "cc failed");
    bin
}

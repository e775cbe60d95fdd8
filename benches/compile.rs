//! Compile speed: median time to resolve-free compile a large Docker-like profile.
//!
//! `cargo bench --bench compile`

use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::{compile, Mode};
use eperm::profile::{load_file, resolve, KernelVersion, Target};
use std::path::Path;
use std::time::Instant;

fn main() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compile/docker-like.json");
    let profile = load_file(&path).expect("fixture loads");
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let target = Target {
            arch,
            caps: CapSet::docker_default(),
            kernel: KernelVersion::parse("6.1"),
            runtime: None,
        };
        let resolved = resolve(&profile, &target);
        let mut times = Vec::new();
        let mut len = 0;
        for _ in 0..2000 {
            let t = Instant::now();
            let c = compile(&resolved, Mode::Enforce).expect("compiles");
            times.push(t.elapsed());
            len = c.program.len();
        }
        times.sort();
        let arches: Vec<_> = resolved.arches.iter().map(|a| a.name()).collect();
        println!(
            "compile docker-like ({}): median {:?}, min {:?} per compile ({} instructions)",
            arches.join("+"),
            times[times.len() / 2],
            times[0],
            len
        );
    }
}

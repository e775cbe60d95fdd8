//! Loading + resolving the embedded default profile (Docker-compatible, ~350 names).
//!
//! `cargo bench --bench profile` prints the median time per iteration of each
//! stage over several rounds; the target is "well under 1 ms" for load + resolve.

use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::profile::{load_str, resolve, KernelVersion, Target, DEFAULT_PROFILE};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn median_per_iter(rounds: usize, iters: u32, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iters {
                f();
            }
            start.elapsed() / iters
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let target = Target {
        arch: Arch::X86_64,
        caps: CapSet::docker_default(),
        kernel: KernelVersion::parse("6.1"),
        runtime: None,
    };
    let text = DEFAULT_PROFILE.to_string();
    // Build the syscall tables once, as a long-running eperm would have.
    let _ = Arch::X86_64.syscall_nr("read");

    let parse = median_per_iter(21, 200, || {
        black_box(eperm::json::parse(black_box(&text)).unwrap());
    });
    let load = median_per_iter(21, 200, || {
        black_box(load_str("default.json", black_box(text.clone())).unwrap());
    });
    let profile = load_str("default.json", text.clone()).unwrap();
    let resolve_only = median_per_iter(21, 200, || {
        black_box(resolve(black_box(&profile), &target));
    });
    let both = median_per_iter(21, 200, || {
        let p = load_str("default.json", black_box(text.clone())).unwrap();
        black_box(resolve(&p, &target));
    });
    // The same profile as a Kubernetes SeccompProfile (YAML, about 540 lines).
    let meta = eperm::profile::export::SpoMeta {
        name: "default".into(),
        namespace: None,
        api: eperm::profile::export::SpoApi::V1,
    };
    let yaml = eperm::profile::export::export(
        &profile,
        &target,
        eperm::profile::export::Format::Spo,
        &meta,
    )
    .expect("the default profile fits a SeccompProfile");
    let yaml_parse = median_per_iter(21, 50, || {
        black_box(eperm::profile::yaml::parse(black_box(&yaml)).unwrap());
    });
    let yaml_load = median_per_iter(21, 50, || {
        black_box(load_str("default.yaml", black_box(yaml.clone())).unwrap());
    });
    let rules = resolve(&profile, &target).rules.len();
    println!(
        "default profile: {} bytes, {} rules, {rules} effective rules for x86_64+x86+x32",
        text.len(),
        profile.rules.len()
    );
    println!(
        "json parse      median {:>9.1} µs/iter",
        parse.as_secs_f64() * 1e6
    );
    println!(
        "load            median {:>9.1} µs/iter",
        load.as_secs_f64() * 1e6
    );
    println!(
        "resolve         median {:>9.1} µs/iter",
        resolve_only.as_secs_f64() * 1e6
    );
    println!(
        "yaml parse      median {:>9.1} µs/iter  ({} bytes as a SeccompProfile)",
        yaml_parse.as_secs_f64() * 1e6,
        yaml.len()
    );
    println!(
        "yaml load       median {:>9.1} µs/iter  ({:.1}x the JSON load)",
        yaml_load.as_secs_f64() * 1e6,
        yaml_load.as_secs_f64() / load.as_secs_f64()
    );
    println!(
        "load + resolve  median {:>9.1} µs/iter  ({:.2} of the 1 ms budget)",
        both.as_secs_f64() * 1e6,
        both.as_secs_f64() / 1e-3
    );
}

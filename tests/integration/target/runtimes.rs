//! eperm's predictions held to the runtimes installed here: a probe in an OCI
//! bundle makes calls under `target/runtime-probe.json` (argument conditions
//! ANDed and ORed, a name libseccomp lacks, calls above runc's stub limit),
//! run by runc and by crun; each result must be what `eperm explain
//! --runtime` says that runtime gives.

use crate::util::{fixture, require_root, run, stderr, stdout, write_runc_config};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const PROBE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
/* Each argument is NR[:ARG0[:ARG1]]; prints NR:ARG0:ARG1=RET:ERRNO per call. */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        unsigned long v[3] = {0, 0, 0};
        char *p = argv[i];
        for (int j = 0; j < 3 && p; j++) {
            v[j] = strtoul(p, &p, 0);
            p = (*p == ':') ? p + 1 : NULL;
        }
        errno = 0;
        long r = syscall(v[0], v[1], v[2], 0L, 0L, 0L, 0L);
        printf("%s=%ld:%d\n", argv[i], r, r < 0 ? errno : 0);
    }
    return 0;
}
"#;

/// (nr, arg0, arg1) on x86_64: personality's and getpriority's conditions,
/// mseal (allowed by name, unknown to this libseccomp's table), 450 (above the
/// largest name libseccomp knows in the profile: futex_waitv, 449) and 300
/// (named nowhere, below it).
const CALLS: &[(u32, u64, u64)] = &[
    (135, 8, 2),
    (135, 8, 0),
    (135, 16, 0),
    (135, 32, 5),
    (135, 0xffff_ffff, 0),
    (140, 0x1_0000_0000, 1),
    (140, 0, 16),
    (140, 0x1_0000_0000, 16),
    (140, 0, 0),
    (462, 0, 0),
    (450, 0, 0),
    (300, 0, 0),
];

fn static_probe(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("probe.c");
    std::fs::write(&src, PROBE).unwrap();
    let exe = dir.join("probe");
    let out = Command::new("cc")
        .args(["-static", "-O2", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .expect("a C compiler (cc) with a static libc");
    assert!(out.status.success(), "cc -static: {}", stderr(&out));
    exe
}

/// A bundle whose process runs the probe on `CALLS` under the fixture.
fn bundle(dir: &Path) -> std::path::PathBuf {
    let bundle = dir.join("bundle");
    let rootfs = bundle.join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    for d in ["proc", "dev", "sys", "tmp"] {
        std::fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    std::fs::copy(static_probe(dir), rootfs.join("probe")).unwrap();
    let profile: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("target/runtime-probe.json")).unwrap(),
    )
    .unwrap();
    let mut args = vec![Value::from("/probe")];
    args.extend(
        CALLS
            .iter()
            .map(|(n, a, b)| Value::from(format!("{n}:{a:#x}:{b:#x}"))),
    );
    write_runc_config(&bundle, Value::Array(args), profile, false);
    bundle
}

/// What `eperm explain` predicts for `runtime`: `Some(errno)` for an ERRNO
/// verdict, `None` for ALLOW.
fn predicted(config: &Path, runtime: &str, (nr, a, b): (u32, u64, u64)) -> Option<u32> {
    let out = run(&[
        "explain",
        config.to_str().unwrap(),
        &nr.to_string(),
        &format!("{a:#x}"),
        &format!("{b:#x}"),
        "--runtime",
        runtime,
        "--json",
    ]);
    let v: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    match v["action"].as_str().unwrap() {
        "SCMP_ACT_ALLOW" => None,
        "SCMP_ACT_ERRNO" => {
            Some(u32::from_str_radix(&v["action_word"].as_str().unwrap()[6..], 16).unwrap())
        }
        other => panic!("the probe's profile has no {other}"),
    }
}

/// crun refuses cgroups in "hybrid" mode, which this kind of machine has with
/// `hugetlb` left on the v2 hierarchy: mount it on v1, as the podman tests do
/// (real hosts need nothing).
fn hugetlb_on_v1() {
    let dir = Path::new("/sys/fs/cgroup/hugetlb");
    if !Path::new("/sys/fs/cgroup/unified").exists() || dir.join("tasks").exists() {
        return;
    }
    let _ = std::fs::create_dir_all(dir);
    let out = Command::new("mount")
        .args(["-t", "cgroup", "-o", "hugetlb", "cgroup"])
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "mount hugetlb: {}", stderr(&out));
}

fn holds_for(runtime: &str) -> Vec<Option<u32>> {
    require_root("runc and crun run bundles as root");
    if runtime == "crun" {
        hugetlb_on_v1();
    }
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let id = format!("eperm-target-{runtime}-{}", std::process::id());
    let out = Command::new(runtime)
        .args(["run", "--bundle", bundle.to_str().unwrap(), &id])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{runtime} run: {}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), CALLS.len(), "{text}");
    let config = bundle.join("config.json");
    let mut wrong = Vec::new();
    let mut predictions = Vec::new();
    for (&call, line) in CALLS.iter().zip(&lines) {
        let (_, result) = line.split_once('=').unwrap();
        let (ret, errno) = result.split_once(':').unwrap();
        let (ret, errno): (i64, u32) = (ret.parse().unwrap(), errno.parse().unwrap());
        let prediction = predicted(&config, runtime, call);
        predictions.push(prediction);
        let ok = match prediction {
            Some(e) => ret == -1 && errno == e,
            // Allowed: the kernel answers, never with the profile's errnos.
            None => !(ret == -1 && [1, 38, 75].contains(&errno)),
        };
        if !ok {
            wrong.push(format!(
                "{line}: eperm predicts {:?}",
                predicted(&config, runtime, call)
            ));
        }
    }
    assert!(wrong.is_empty(), "{runtime}:\n{}\n{text}", wrong.join("\n"));
    predictions
}

/// The predictions for mseal, 450 and 300.
fn beyond(predictions: &[Option<u32>]) -> &[Option<u32>] {
    &predictions[CALLS.len() - 3..]
}

#[test]
fn runc_gives_what_eperm_predicts_for_it() {
    let p = holds_for("runc");
    // runc's stub: ENOSYS above futex_waitv; the default below.
    assert_eq!(beyond(&p), [Some(38), Some(38), Some(1)]);
    assert_eq!(p[..5], [None, Some(1), Some(38), Some(38), Some(1)]);
}

#[test]
fn crun_gives_what_eperm_predicts_for_it() {
    let p = holds_for("crun");
    assert_eq!(beyond(&p), [Some(1), Some(1), Some(1)]);
}

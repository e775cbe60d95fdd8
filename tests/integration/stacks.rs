//! The caller's stack with each intercepted call (`stack` in `--events`, the
//! summary's "from …" line): real programs built now with `-O2 -g
//! -fomit-frame-pointer` (no frame pointers: the unwind must come from CFI),
//! run under a profile that denies `mkdir`, in notify and trace modes.

use crate::util::{assert_has, assert_success, eperm, output_within, stderr};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// `main` → `do_setup` → `make_cache_dir` → `mkdir` (denied). `noinline`
/// keeps each a frame of its own; inlined calls are named too, but a test of
/// the unwinder needs real frames.
pub(super) const CACHE_C: &str = r#"#include <stdio.h>
#include <sys/stat.h>

__attribute__((noinline)) int make_cache_dir(const char *path) {
    int r = mkdir(path, 0755); /* THE CALL */
    __asm__ volatile("" ::: "memory");
    return r;
}

__attribute__((noinline)) int do_setup(const char *path) {
    int r = make_cache_dir(path);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

int main(int argc, char **argv) {
    return do_setup(argc > 1 ? argv[1] : "/nonexistent/cache") == 0 ? 0 : 0;
}
"#;

/// The same three functions, `make_cache_dir` in a shared library.
const LIB_C: &str = r#"#include <sys/stat.h>
__attribute__((noinline)) int make_cache_dir(const char *path) {
    int r = mkdir(path, 0755); /* THE CALL */
    __asm__ volatile("" ::: "memory");
    return r;
}
"#;

const LIB_MAIN_C: &str = r#"int make_cache_dir(const char *path);
__attribute__((noinline)) int do_setup(const char *path) {
    int r = make_cache_dir(path);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}
int main(int argc, char **argv) { return do_setup("/nonexistent/cache") == 0 ? 0 : 0; }
"#;

/// The main thread waits in `pthread_join`; only the worker calls `mkdir`.
const THREADS_C: &str = r#"#include <pthread.h>
#include <sys/stat.h>

__attribute__((noinline)) void *worker_mkdir(void *arg) {
    mkdir((const char *)arg, 0755); /* THE CALL */
    __asm__ volatile("" ::: "memory");
    return 0;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, 0, worker_mkdir, "/nonexistent/cache");
    pthread_join(t, 0);
    return 0;
}
"#;

const DENY_MKDIR: &str = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;

/// Compiles `sources` (name, text) in `dir` with `flags`, the first one's name
/// being the program's; the line of `/* THE CALL */` in each is where a
/// frame's line must point.
pub(super) fn build(dir: &Path, out: &str, sources: &[(&str, &str)], flags: &[&str]) -> PathBuf {
    let exe = dir.join(out);
    let mut cmd = Command::new("gcc");
    cmd.args(["-O2", "-g", "-fomit-frame-pointer", "-pthread"])
        .arg("-o")
        .arg(&exe);
    for (name, text) in sources {
        let src = dir.join(name);
        std::fs::write(&src, text).unwrap();
        cmd.arg(&src);
    }
    cmd.args(flags); // after the sources: libraries are linked in order
    let status = cmd
        .status()
        .expect("gcc is needed to build the test programs");
    assert!(status.success(), "gcc failed building {out}");
    exe
}

/// The line `/* THE CALL */` is on, in `text`.
pub(super) fn call_line(text: &str) -> u64 {
    text.lines().position(|l| l.contains("THE CALL")).unwrap() as u64 + 1
}

/// Runs `exe` under the mkdir-denying profile in `mode`; its `mkdir` and
/// `mkdirat` events, and its stderr.
fn run(mode: &str, exe: &Path, extra: &[&str]) -> (Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("deny-mkdir.json");
    std::fs::write(&profile, DENY_MKDIR).unwrap();
    let events = dir.path().join("events.jsonl");
    let out = output_within(
        eperm()
            .args(["run", "--no-tui", "--enforce", "--mode", mode, "-p"])
            .arg(&profile)
            .arg("--events")
            .arg(&events)
            .args(extra)
            .arg("--")
            .arg(exe),
        Duration::from_secs(60),
    );
    assert_success(&out);
    let events = crate::util::events(&events)
        .into_iter()
        .filter(|e| e["syscall"] == "mkdir" || e["syscall"] == "mkdirat")
        .collect();
    (events, stderr(&out))
}

/// `(function, object, file's last component, line)` of each frame.
fn frames(event: &Value) -> Vec<(String, String, String, u64)> {
    let stack = event["stack"]
        .as_array()
        .unwrap_or_else(|| panic!("no stack in {event}"));
    stack
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            let file = s("file");
            let file = file.rsplit('/').next().unwrap_or("").to_string();
            (
                s("function"),
                s("object"),
                file,
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// The functions of `frames` that are among `names`, in stack order.
fn among(frames: &[(String, String, String, u64)], names: &[&str]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| names.contains(&f.0.as_str()))
        .map(|f| f.0.clone())
        .collect()
}

/// The test program's callers, innermost first: make_cache_dir ← do_setup ← main.
fn assert_called_in_order(frames: &[(String, String, String, u64)]) {
    let chain = ["make_cache_dir", "do_setup", "main"];
    assert_eq!(among(frames, &chain), chain, "{frames:?}");
}

fn the_c_program_s_stack(mode: &str) {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "cache", &[("cache.c", CACHE_C)], &[]);
    let report = dir.path().join("report.md");
    let (events, summary) = run(mode, &exe, &["--report", report.to_str().unwrap()]);
    assert_eq!(events.len(), 1, "{events:?}");
    let frames = frames(&events[0]);
    assert_called_in_order(&frames);
    // The first frame is libc's mkdir wrapper, where the system call is made.
    assert!(frames[0].1.contains("libc"), "{frames:?}");
    let call = frames.iter().find(|f| f.0 == "make_cache_dir").unwrap();
    assert_eq!(call.1, exe.to_str().unwrap());
    assert_eq!((call.2.as_str(), call.3), ("cache.c", call_line(CACHE_C)));
    let line = call_line(CACHE_C);
    let site = format!("from make_cache_dir (cache.c:{line}) ← do_setup ← main");
    assert_has(&summary, &site);
    let report = std::fs::read_to_string(&report).unwrap();
    assert_has(&report, &format!("- `mkdir` 1×: `{site}`"));
}

#[test]
fn a_notified_call_carries_its_callers_in_order_with_file_and_line() {
    the_c_program_s_stack("notify");
}

#[test]
fn a_traced_call_carries_its_callers_in_order_with_file_and_line() {
    the_c_program_s_stack("trace");
}

/// The same program stripped: object and offset, the very offsets of the
/// unstripped build, and no name at all (never a guessed one).
#[test]
fn a_stripped_binary_gives_object_and_offset_without_names() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "cache", &[("cache.c", CACHE_C)], &[]);
    let stripped = dir.path().join("cache-stripped");
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&exe)
        .status()
        .unwrap();
    assert!(ok.success());
    for mode in ["notify", "trace"] {
        let (full, _) = run(mode, &exe, &[]);
        let (bare, _) = run(mode, &stripped, &[]);
        let offsets = |e: &Value, object: &Path| -> Vec<u64> {
            e["stack"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|f| f["object"] == object.to_str().unwrap())
                .map(|f| f["offset"].as_u64().unwrap())
                .collect()
        };
        let want = offsets(&full[0], &exe);
        assert!(want.len() >= 3, "{}", full[0]);
        assert_eq!(offsets(&bare[0], &stripped), want, "{}", bare[0]);
        for f in bare[0]["stack"].as_array().unwrap() {
            if f["object"] == stripped.to_str().unwrap() {
                assert_eq!(f["function"], Value::Null, "{f}");
                assert_eq!(f["file"], Value::Null, "{f}");
            }
        }
    }
}

/// `make_cache_dir` lives in a shared library: its frame names the library.
#[test]
fn a_call_from_a_shared_library_names_the_library() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let lib = build(
        dir.path(),
        "libcache.so",
        &[("lib.c", LIB_C)],
        &["-shared", "-fPIC"],
    );
    let rpath = format!("-Wl,-rpath,{}", dir.path().display());
    let exe = build(
        dir.path(),
        "uses-lib",
        &[("main.c", LIB_MAIN_C)],
        &[lib.to_str().unwrap(), &rpath],
    );
    for mode in ["notify", "trace"] {
        let (events, _) = run(mode, &exe, &[]);
        let frames = frames(&events[0]);
        assert_called_in_order(&frames);
        let in_lib = frames.iter().find(|f| f.0 == "make_cache_dir").unwrap();
        assert_eq!(in_lib.1, lib.to_str().unwrap());
        assert_eq!((in_lib.2.as_str(), in_lib.3), ("lib.c", call_line(LIB_C)));
        let in_exe = frames.iter().find(|f| f.0 == "do_setup").unwrap();
        assert_eq!(in_exe.1, exe.to_str().unwrap());
    }
}

/// A worker thread calls: the stack is the worker's (its function, not main's).
#[test]
fn a_thread_s_call_carries_that_thread_s_stack() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "threads", &[("threads.c", THREADS_C)], &[]);
    for mode in ["notify", "trace"] {
        let (events, _) = run(mode, &exe, &[]);
        assert_eq!(events.len(), 1);
        assert_ne!(events[0]["pid"], events[0]["tid"], "a worker thread called");
        let frames = frames(&events[0]);
        let worker = frames.iter().find(|f| f.0 == "worker_mkdir");
        let worker = worker.unwrap_or_else(|| panic!("{frames:?}"));
        assert_eq!(
            (worker.2.as_str(), worker.3),
            ("threads.c", call_line(THREADS_C))
        );
        assert!(
            among(&frames, &["main"]).is_empty(),
            "main's frames are another thread's: {frames:?}"
        );
    }
}

/// `--no-stacks`: no `stack` member, no "from …" line.
#[test]
fn no_stacks_leaves_them_out() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "cache", &[("cache.c", CACHE_C)], &[]);
    for mode in ["notify", "trace"] {
        let (events, summary) = run(mode, &exe, &["--no-stacks"]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].get("stack"), None, "{}", events[0]);
        assert!(!summary.contains("from make_cache_dir"), "{summary}");
    }
}

/// `main.main` → `main.doSetup` → `main.makeCacheDir` → `os.Mkdir`: a Go binary
/// has no `.eh_frame`; it is unwound from Go's own tables and named from its
/// DWARF (or Go's tables, without DWARF), Go's names in Go's spelling.
const CACHE_GO: &str = r#"package main

import (
	"fmt"
	"os"
)

//go:noinline
func makeCacheDir(path string) error {
	return os.Mkdir(path, 0o755) // THE CALL
}

//go:noinline
func doSetup() error {
	return makeCacheDir("/nonexistent/cache")
}

func main() {
	if err := doSetup(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}
"#;

/// Builds CACHE_GO in `dir` with `ldflags`.
fn build_go(dir: &Path, ldflags: &str) -> PathBuf {
    std::fs::write(dir.join("main.go"), CACHE_GO).unwrap();
    std::fs::write(dir.join("go.mod"), "module cachetest\n\ngo 1.18\n").unwrap();
    let exe = dir.join("cache-go");
    let built = Command::new("go")
        .args(["build", "-ldflags", ldflags, "-o"])
        .arg(&exe)
        .arg(".")
        .current_dir(dir)
        // Its own build cache: nothing of the user's is read or written.
        .env("GOCACHE", dir.join("gocache"))
        .env("GOFLAGS", "-mod=mod")
        .status()
        .expect("go is needed for this test (tests/run.sh installs golang-go)");
    assert!(built.success(), "go build failed");
    exe
}

/// The Go program's stack in both modes: Go's names in order, and the call's
/// file and line.
fn assert_go_stack(exe: &Path) {
    for mode in ["notify", "trace"] {
        let (events, summary) = run(mode, exe, &[]);
        assert_eq!(events.len(), 1, "{events:?}");
        let frames = frames(&events[0]);
        assert_eq!(
            among(
                &frames,
                &["os.Mkdir", "main.makeCacheDir", "main.doSetup", "main.main"]
            ),
            ["os.Mkdir", "main.makeCacheDir", "main.doSetup", "main.main"],
            "{frames:?}"
        );
        let call = frames.iter().find(|f| f.0 == "main.makeCacheDir").unwrap();
        assert_eq!((call.2.as_str(), call.3), ("main.go", call_line(CACHE_GO)));
        assert_eq!(call.1, exe.to_str().unwrap());
        let line = call_line(CACHE_GO);
        assert_has(
            &summary,
            &format!("from main.makeCacheDir (main.go:{line}) ← main.doSetup ← main.main"),
        );
    }
}

#[test]
fn a_go_program_s_stack_has_go_s_names_in_order() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    assert_go_stack(&build_go(dir.path(), ""));
}

/// Built with `-s -w`: no symbol table, no DWARF, no `.debug_frame`. Go's own
/// `.gopclntab` still unwinds it (frame sizes; notify mode knows no frame
/// pointer) and names its frames with file and line.
#[test]
fn a_stripped_go_program_is_unwound_and_named_from_go_s_own_tables() {
    use object::{Object as _, ObjectSection};
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let exe = build_go(dir.path(), "-s -w");
    let bytes = std::fs::read(&exe).unwrap();
    let elf = object::File::parse(&*bytes).unwrap();
    assert_eq!(elf.symbols().count(), 0, "-s leaves no symbol table");
    assert!(
        elf.sections()
            .all(|s| !s.name().unwrap_or("").starts_with(".debug")
                && !s.name().unwrap_or("").starts_with(".zdebug")),
        "-w leaves no DWARF"
    );
    assert_go_stack(&exe);
}

/// Removes the files and the directories it made when dropped.
struct Installed(Vec<PathBuf>);

impl Drop for Installed {
    fn drop(&mut self) {
        for path in self.0.iter().rev() {
            let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir(path));
        }
    }
}

/// A stripped binary whose debug info is installed apart, by build-id, where
/// Debian's -dbgsym packages put it: its frames get their names and lines back.
#[test]
fn a_separate_debug_file_is_found_by_build_id() {
    use object::Object as _;
    crate::util::require_root("it installs filters and writes under /usr/lib/debug");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "cache", &[("cache.c", CACHE_C)], &[]);
    let debug = dir.path().join("cache.debug");
    let ok = |cmd: &mut Command| assert!(cmd.status().unwrap().success(), "{cmd:?}");
    ok(Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&exe)
        .arg(&debug));
    ok(Command::new("strip").arg(&exe));
    let bytes = std::fs::read(&exe).unwrap();
    let id = object::File::parse(&*bytes)
        .unwrap()
        .build_id()
        .unwrap()
        .expect("gcc gives a build-id");
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let store = Path::new("/usr/lib/debug/.build-id").join(&hex[..2]);
    let mut made = Vec::new();
    for d in [
        Path::new("/usr/lib/debug"),
        Path::new("/usr/lib/debug/.build-id"),
        &store,
    ] {
        if std::fs::create_dir(d).is_ok() {
            made.push(d.to_path_buf());
        }
    }
    let target = store.join(format!("{}.debug", &hex[2..]));
    assert!(!target.exists(), "{} exists already", target.display());
    std::fs::copy(&debug, &target).unwrap();
    made.push(target);
    let _installed = Installed(made);
    for mode in ["notify", "trace"] {
        let (events, _) = run(mode, &exe, &[]);
        let frames = frames(&events[0]);
        assert_called_in_order(&frames);
        let call = frames.iter().find(|f| f.0 == "make_cache_dir").unwrap();
        assert_eq!((call.2.as_str(), call.3), ("cache.c", call_line(CACHE_C)));
    }
}

/// The workload chooses its stack pointer: here one in no mapping at all while it
/// calls `mkdir`. The call is still reported, with the one frame its instruction
/// pointer gives, and eperm neither hangs nor fails.
const WILD_SP_C: &str = r#"#include <sys/syscall.h>
int main(void) {
    static const char path[] = "/nonexistent/wild";
    long ret;
    __asm__ volatile(
        "mov %%rsp, %%r12\n\t"
        "mov $0x10, %%rsp\n\t"
        "syscall\n\t"
        "mov %%r12, %%rsp\n\t"
        : "=a"(ret)
        : "a"((long)SYS_mkdir), "D"(path), "S"(0755L)
        : "r12", "rcx", "r11", "memory");
    return ret == 0;
}
"#;

#[cfg(target_arch = "x86_64")]
#[test]
fn a_wild_stack_pointer_gives_a_short_stack() {
    crate::util::require_root("it installs filters");
    let dir = tempfile::tempdir().unwrap();
    let exe = build(dir.path(), "wild", &[("wild.c", WILD_SP_C)], &[]);
    for mode in ["notify", "trace"] {
        let (events, _) = run(mode, &exe, &[]);
        assert_eq!(events.len(), 1, "{events:?}");
        let frames = frames(&events[0]);
        assert_eq!(frames.len(), 1, "{frames:?}");
        assert_eq!(frames[0].0, "main", "{frames:?}");
        assert_eq!(frames[0].1, exe.to_str().unwrap());
    }
}

//! Workloads that attack eperm through their own memory, which eperm reads to show
//! pointer arguments (root, as in CI):
//!
//! - a page registered with userfaultfd that nobody serves, passed to a call the
//!   profile denies: reading it blocks for good, and the supervisor must still
//!   answer that call and every later one (notify and trace modes);
//! - a path rewritten by another thread while the call is held (`--hold`): the
//!   user allowed what it was, so eperm asks again, and the event carries the
//!   path the kernel was given.

use crate::util::{cc, eperm, in_pane, output_within, require_root, stderr, stdout, Tmux};
use std::path::Path;
use std::time::{Duration, Instant};

/// argv[1]: a directory. Three mkdirs of a path in a userfaultfd page no thread
/// serves (the kernel would block in them too, were they run: the run must
/// enforce), then one of `argv[1]/after`; each result on stdout.
const UFFD: &str = r#"
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long ps = sysconf(_SC_PAGESIZE);
    int uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
    struct uffdio_api api = { .api = UFFD_API };
    char *page = mmap(0, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct uffdio_register reg = {
        .range = { (unsigned long)page, ps }, .mode = UFFDIO_REGISTER_MODE_MISSING };
    if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg)) {
        perror("userfaultfd");
        return 2;
    }
    for (int i = 0; i < 3; i++) {
        errno = 0;
        long r = syscall(SYS_mkdir, page, 0777);
        printf("uffd-mkdir %ld %s\n", r, strerror(errno));
        fflush(stdout);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/after", argv[1]);
    errno = 0;
    long r = syscall(SYS_mkdir, path, 0777);
    printf("after-mkdir %ld %s\n", r, strerror(errno));
    return 0;
}
"#;

/// Without eperm's deadline this run never ends: the supervisor (or tracer)
/// waits in the first read for good, and with it the workload.
#[test]
fn a_userfaultfd_page_does_not_stop_the_supervisor() {
    require_root("userfaultfd without UFFD_USER_MODE_ONLY, and tracing");
    let helper = cc("uffd-mkdir", UFFD);
    let dir = tempfile::tempdir().unwrap();
    // Docker's default denies userfaultfd itself: allow all but mkdir.
    let profile = dir.path().join("p.json");
    std::fs::write(&profile, crate::util::container_profiles::DENY_MKDIR).unwrap();
    for mode in ["notify", "trace"] {
        let events = dir.path().join(format!("{mode}.jsonl"));
        let start = Instant::now();
        let out = output_within(
            eperm()
                .args(["run", "--no-tui", "--enforce", "--mode", mode, "--events"])
                .arg(&events)
                .arg("-p")
                .arg(&profile)
                .arg("--")
                .arg(&helper)
                .arg(dir.path()),
            Duration::from_secs(60),
        );
        let took = start.elapsed();
        let said = stdout(&out);
        assert!(out.status.success(), "{mode}: {}\n{said}", stderr(&out));
        // Each stalled read costs the deadline (250 ms), not more.
        assert!(took < Duration::from_secs(20), "{mode}: took {took:?}");
        // Every call was answered as the profile says.
        assert_eq!(
            said.matches("uffd-mkdir -1 Operation not permitted")
                .count(),
            3,
            "{mode}:\n{said}"
        );
        assert!(
            said.contains("after-mkdir -1 Operation not permitted"),
            "{mode}:\n{said}"
        );
        let mkdirs: Vec<String> = crate::util::events(&events)
            .into_iter()
            .filter(|e| e["syscall"] == "mkdir")
            .map(|e| e["call"].as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(mkdirs.len(), 4, "{mode}: {mkdirs:?}");
        // The stalled reads show the argument unread (its address)...
        for call in &mkdirs[..3] {
            assert!(call.starts_with("mkdir(0x"), "{mode}: {call}");
        }
        // ... and the call after them is read again in full.
        let after = format!("mkdir(\"{}/after\", 0777)", dir.path().display());
        assert_eq!(mkdirs[3], after, "{mode}");
    }
}

/// argv[1]: a directory. The main thread makes `mkdir(argv[1]/toctou-safe)`; a
/// second thread, once `argv[1]/go` exists, rewrites that path in place to
/// `…/toctou-EVIL` and then creates `argv[1]/flipped`.
const TOCTOU: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
static char path[4096];
static char go[4096], flipped[4096];
static void *flip(void *arg) {
    (void)arg;
    struct timespec tick = { 0, 20 * 1000 * 1000 };
    while (access(go, F_OK) != 0)
        nanosleep(&tick, 0);
    memcpy(strstr(path, "toctou-safe") + 7, "EVIL", 4);
    close(open(flipped, O_CREAT | O_WRONLY, 0600));
    return 0;
}
int main(int argc, char **argv) {
    snprintf(path, sizeof path, "%s/toctou-safe", argv[1]);
    snprintf(go, sizeof go, "%s/go", argv[1]);
    snprintf(flipped, sizeof flipped, "%s/flipped", argv[1]);
    pthread_t t;
    pthread_create(&t, 0, flip, 0);
    errno = 0;
    long r = syscall(SYS_mkdir, path, 0777);
    printf("toctou-mkdir %ld %s\n", r, strerror(errno));
    fflush(stdout);
    pthread_join(t, 0);
    return 0;
}
"#;

/// Polls for `path` for up to `secs`.
fn until_exists(path: &Path, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The held call is allowed after its path was rewritten: eperm reads it again,
/// shows what the user allowed and what it is now, and asks again; the event
/// (and `--events`) say what the kernel was given.
#[test]
fn a_held_call_rewritten_before_the_answer_is_asked_again() {
    require_root("the workload is supervised");
    let helper = cc("toctou-mkdir", TOCTOU);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let profile = crate::tui::default_without(d, &["mkdir", "mkdirat"]);
    let events = d.join("events.jsonl");
    let command = in_pane(&format!(
        "run --hold --hold-timeout 120 --mode notify --events {} -p {} -- {} {}",
        events.display(),
        profile.display(),
        helper.display(),
        d.display()
    ));
    let tmux = Tmux::start(d, &command);
    let safe = format!("mkdir(\"{}/toctou-safe\", 0777)", d.display());
    let evil = format!("mkdir(\"{}/toctou-EVIL\", 0777)", d.display());
    let screen = tmux.wait_for("o allow once", 30);
    assert!(screen.contains("toctou-safe"), "{screen}");
    assert!(screen.contains("can be rewritten"), "{screen}");
    // The other thread rewrites the path while the call waits for the user.
    std::fs::write(d.join("go"), "").unwrap();
    until_exists(&d.join("flipped"), 30);
    tmux.keys("o");
    let screen = tmux.wait_for("CHANGED", 30);
    assert!(screen.contains("toctou-safe"), "{screen}");
    assert!(screen.contains("toctou-EVIL"), "{screen}");
    // Not let through on the stale confirmation: nothing made yet.
    assert!(!d.join("toctou-EVIL").exists());
    assert!(!d.join("toctou-safe").exists());
    tmux.keys("o");
    tmux.wait_for("toctou-mkdir 0 Success", 30);
    tmux.steps(&[("q", "EPERM-EXIT=0", 10)]);
    assert!(d.join("toctou-EVIL").is_dir());
    assert!(!d.join("toctou-safe").exists());
    let mkdir = crate::util::events(&events)
        .into_iter()
        .find(|e| e["syscall"] == "mkdir")
        .expect("a mkdir event");
    assert_eq!(mkdir["call"], evil.as_str(), "{mkdir}");
    assert_ne!(mkdir["call"], safe.as_str());
    assert_eq!(mkdir["decision"], "allowed", "{mkdir}");
}

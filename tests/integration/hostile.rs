//! Hostile names never reach the operator's terminal raw (root, as in CI): a
//! workload renames itself to an escape sequence that retitles the terminal and
//! turns it red, runs from a file whose name holds control bytes, writes them to
//! its output and makes a denied mkdir of a path full of them. The `--no-tui`
//! summary (notify, trace and log modes), `watch --no-tui` and the TUI in a real
//! terminal show all of it escaped; `--events` keeps the exact text.

use crate::util::{assert_has, cc, eperm, output_within, require_root, stderr, Tmux};
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// ESC ] 0 ; PW BEL ESC [ 31 m: retitle the terminal, then turn it red.
const COMM: &[u8] = b"\x1b]0;PW\x07\x1b[31m";
/// How the summary, watch and the TUI show it.
const COMM_SHOWN: &str = "\\33]0;PW\\7\\33[31m";
/// The mkdir's path under the run's directory: OSC 2, CSI as U+009B, not UTF-8.
const LEAF: &[u8] = b"\x1b]2;PATH\x07\xc2\x9b31m\xff";
const LEAF_SHOWN: &str = "\\33]2;PATH\\7\\302\\23331m\\377";
/// The executable's file name: OSC 0 and CSI as U+009B.
const EXE: &[u8] = b"evil\x1b]0;EXE\x07\xc2\x9b";
const EXE_SHOWN: &str = "evil\\33]0;EXE\\7\\302\\233";

const HELPER: &str = r#"
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
/* argv[1]: where to mkdir; "print" as argv[2] writes control bytes to stdout
   and stderr first. */
int main(int argc, char **argv) {
    char path[4096];
    prctl(PR_SET_NAME, "\033]0;PW\007\033[31m", 0, 0, 0);
    snprintf(path, sizeof path, "%s/\033]2;PATH\007\302\233" "31m\377", argv[1]);
    if (argc > 2 && strcmp(argv[2], "print") == 0) {
        printf("out \033]0;OUT\007\033[2J\302\233" "1m\n");
        fflush(stdout);
        fprintf(stderr, "err \033]0;ERR\007\n");
    }
    syscall(SYS_mkdir, path, 0777);
    syscall(SYS_rmdir, path);
    return 0;
}
"#;

/// Fails unless `out` is text a terminal only shows: UTF-8 (so no raw C1 byte),
/// no C0 control but the newline, no DEL, no C1 character (U+0080–U+009F).
fn assert_inert(what: &str, out: &[u8]) {
    let text =
        std::str::from_utf8(out).unwrap_or_else(|e| panic!("{what} is not UTF-8 ({e}): {out:?}"));
    let bad = text
        .char_indices()
        .find(|&(_, c)| c != '\n' && (c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)));
    if let Some((at, c)) = bad {
        panic!("{what} holds {c:?} at byte {at}:\n{text}");
    }
}

/// A directory with the helper copied under its hostile name, and the default
/// profile without mkdir.
struct Workload {
    dir: tempfile::TempDir,
    exe: PathBuf,
    profile: PathBuf,
}

fn workload() -> Workload {
    require_root("the workload is traced and its audit records read");
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join(std::ffi::OsStr::from_bytes(EXE));
    std::fs::copy(cc("hostile", HELPER), &exe).unwrap();
    let profile = crate::tui::default_without(dir.path(), &["mkdir", "mkdirat"]);
    Workload { dir, exe, profile }
}

impl Workload {
    /// What the summary shows as the example call.
    fn call_shown(&self) -> String {
        format!(
            "mkdir(\"{}/{LEAF_SHOWN}\", 0777)",
            self.dir.path().display()
        )
    }

    fn leaf(&self) -> PathBuf {
        self.dir.path().join(std::ffi::OsStr::from_bytes(LEAF))
    }
}

#[test]
fn the_summary_shows_hostile_names_and_paths_escaped_and_events_keep_them_exact() {
    let w = workload();
    for mode in ["notify", "trace"] {
        let events = w.dir.path().join(format!("{mode}.jsonl"));
        let out = output_within(
            eperm()
                .args(["run", "--no-tui", "--mode", mode, "--events"])
                .arg(&events)
                .arg("-p")
                .arg(&w.profile)
                .arg("--")
                .arg(&w.exe)
                .arg(w.dir.path()),
            Duration::from_secs(60),
        );
        assert!(out.status.success(), "{mode}: {}", stderr(&out));
        assert_inert(&format!("{mode}: stdout"), &out.stdout);
        assert_inert(&format!("{mode}: stderr"), &out.stderr);
        let text = stderr(&out);
        assert!(text.contains(&format!("({COMM_SHOWN})")), "{mode}:\n{text}");
        assert!(text.contains(&w.call_shown()), "{mode}:\n{text}");
        assert!(!w.leaf().exists(), "{mode}: the workload did not clean up");
        // JSON escapes control characters itself: the text is exact there.
        let mkdir = crate::util::events(&events)
            .into_iter()
            .find(|e| e["syscall"] == "mkdir")
            .unwrap_or_else(|| panic!("{mode}: no mkdir event:\n{text}"));
        assert_eq!(mkdir["comm"].as_str().map(str::as_bytes), Some(COMM));
        let exe = mkdir["exe"]
            .as_str()
            .unwrap_or_else(|| panic!("{mode}: {mkdir}"));
        assert_eq!(exe.as_bytes(), w.exe.as_os_str().as_bytes());
    }
}

#[test]
fn replay_shows_hex_encoded_audit_fields_escaped_and_json_keeps_them_exact() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.log");
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
    let exe = [b"/tmp/".as_slice(), EXE].concat();
    std::fs::write(
        &log,
        format!(
            "type=SECCOMP msg=audit(1795377834.144:84): auid=4294967295 uid=0 gid=0 \
             ses=4294967295 pid=30252 comm={} exe={} sig=0 arch=c000003e syscall=83 \
             compat=0 ip=0x7fd1f3c3b829 code=0x7ffc0000\n",
            hex(COMM),
            hex(&exe)
        ),
    )
    .unwrap();
    let out = output_within(
        eperm().args(["replay", "--no-tui"]).arg(&log),
        Duration::from_secs(20),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_inert("replay's stdout", &out.stdout);
    assert_inert("replay's stderr", &out.stderr);
    let text = crate::util::stdout(&out);
    assert!(
        text.contains(&format!(
            "pid 30252 ({COMM_SHOWN} /tmp/{EXE_SHOWN}) x86_64 mkdir"
        )),
        "{text}"
    );
    let out = output_within(
        eperm().args(["replay", "--no-tui", "--json"]).arg(&log),
        Duration::from_secs(20),
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["comm"].as_str().map(str::as_bytes), Some(COMM));
    assert_eq!(
        event["exe"].as_str().map(str::as_bytes),
        Some(exe.as_slice())
    );
}

/// Lines of `reader`, on a channel, read by a thread of their own.
fn lines(reader: impl std::io::Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// Lines from `rx` until one contains `text`, failing after `limit` with all read.
fn until(rx: &mpsc::Receiver<Vec<u8>>, text: &str, limit: Duration, seen: &mut Vec<u8>) {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.extend_from_slice(&line);
                if String::from_utf8_lossy(&line).contains(text) {
                    return;
                }
            }
            Err(_) => panic!(
                "{text:?} did not come within {limit:?}; read:\n{}",
                String::from_utf8_lossy(seen)
            ),
        }
    }
}

#[test]
fn watch_and_the_log_mode_summary_escape_what_audit_records_carry() {
    let w = workload();
    let _one = crate::logsrc::KERNEL_LOG
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(why) = eperm::sources::audit::unavailable_reason() {
        panic!("the audit source is unavailable on this machine: {why}");
    }
    // The kernel hex-encodes the comm and exe of these records; --exe takes the
    // raw path, compared with what the records decode to.
    let exe = w.exe.to_str().expect("the hostile name is UTF-8");
    let mut watch = eperm()
        .args(["watch", "--no-tui", "--source", "audit", "--duration", "60"])
        .args(["--exe", exe])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = lines(watch.stdout.take().unwrap());
    let err = lines(watch.stderr.take().unwrap());
    let (mut shown, mut said) = (Vec::new(), Vec::new());
    // Its sources' health comes once they listen.
    until(&err, "audit: active", Duration::from_secs(20), &mut said);
    let run = output_within(
        eperm()
            .args([
                "run", "--no-tui", "--mode", "log", "--source", "audit", "-p",
            ])
            .arg(&w.profile)
            .arg("--")
            .arg(&w.exe)
            .arg(w.dir.path()),
        Duration::from_secs(60),
    );
    until(&out, " mkdir: ", Duration::from_secs(30), &mut shown);
    // SAFETY: a plain kill of the child this test started.
    unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) };
    assert!(watch.wait().unwrap().success());
    shown.extend(out.iter().flatten());
    said.extend(err.iter().flatten());
    assert_inert("watch's stdout", &shown);
    assert_inert("watch's stderr", &said);
    let text = String::from_utf8_lossy(&shown);
    let line = format!("({COMM_SHOWN} {}/{EXE_SHOWN}) ", w.dir.path().display());
    assert!(text.contains(&line), "{line}\n{text}");
    assert!(run.status.success(), "{}", stderr(&run));
    assert_inert("the log run's stdout", &run.stdout);
    assert_inert("the log run's stderr", &run.stderr);
    let summary = stderr(&run);
    assert!(summary.contains(&format!("({COMM_SHOWN})")), "{summary}");
}

#[test]
fn the_tui_shows_hostile_names_output_and_paths_escaped_and_the_title_stays() {
    let w = workload();
    // NO_COLOR: eperm draws no colour, so any colour on screen would be the
    // workload's. The glob names the hostile file without writing its bytes here.
    let command = format!(
        "NO_COLOR=1 {} run --hold -p {} -- ./evil* {} print; sleep 60",
        env!("CARGO_BIN_EXE_eperm"),
        w.profile.display(),
        w.dir.path().display()
    );
    let tmux = Tmux::start(w.dir.path(), &command);
    let title = tmux.display("#{pane_title}");
    let screen = tmux.wait_for("is waiting in", 30);
    assert!(
        screen.contains(&format!("{COMM_SHOWN} (pid")),
        "the held call's question:\n{screen}"
    );
    // Allowed once, the call joins the table (and the detail pane).
    tmux.keys("o");
    let screen = tmux.wait_for(&format!("processes: {COMM_SHOWN}["), 20);
    assert_has(&screen, "out \\33]0;OUT\\7\\33[2J\\302\\2331m");
    assert_has(&screen, "err \\33]0;ERR\\7");
    assert_has(&screen, &format!("./{EXE_SHOWN}"));
    assert_has(&screen, LEAF_SHOWN);
    assert_inert("the screen", screen.as_bytes());
    // With its attributes: bold and reverse only, as SGR; nothing else.
    let escapes = tmux.screen_with_escapes();
    let rest = escapes.split('\x1b').skip(1);
    for esc in rest {
        let sgr = esc
            .strip_prefix('[')
            .and_then(|r| r.split_once('m'))
            .is_some_and(|(params, _)| params.bytes().all(|b| b.is_ascii_digit() || b == b';'));
        assert!(sgr, "not an attribute escape: {esc:?}\n{escapes:?}");
        let params = &esc[1..esc.find('m').unwrap()];
        let colour = params
            .split(';')
            .filter_map(|p| p.parse::<u32>().ok())
            .any(|p| matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107));
        assert!(
            !colour,
            "a colour, which NO_COLOR forbids eperm: the workload's? {esc:?}"
        );
    }
    assert_inert(
        "the screen with attributes",
        escapes.replace('\x1b', "").as_bytes(),
    );
    for word in ["PW", "OUT", "ERR", "EXE", "PATH"] {
        let now = tmux.display("#{pane_title}");
        assert!(
            !now.contains(word),
            "the pane's title became {now:?} (was {title:?})"
        );
    }
    tmux.keys("q");
}

//! Issue 26: root eperm never writes or reads where an untrusted party points
//! it. `nobody` plants links in a shared sticky directory and in a directory of
//! its own; FIFOs and `/dev/zero` stand at every input; a full disk meets every
//! `-o`. Each output must refuse the link (naming it) and leave its target
//! alone, each input must end quickly with a clear error, each `-o` must keep
//! the old file whole.
//!
//! `EPERM_TEST_BIN` runs these against another eperm binary (e.g. one built
//! from an older commit, to see them fail there).

use super::util::{fixture, require_root, stderr};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const NOBODY: u32 = 65534;
const PROFILE: &str = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["reboot"], "action": "SCMP_ACT_ERRNO"}]}
"#;

fn eperm() -> Command {
    match std::env::var_os("EPERM_TEST_BIN") {
        Some(bin) => Command::new(bin),
        None => super::util::eperm(),
    }
}

/// eperm with `args`, killed (and the test failed) if it takes over 20 s.
fn eperm_within(args: &[&str]) -> Output {
    super::util::output_within(eperm().args(args), Duration::from_secs(20))
}

/// A file only root can reach, and what it holds: what a planted link points at.
struct Victim {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

const PRECIOUS: &str = "root's, not to be touched\n";

impl Victim {
    fn new() -> Victim {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.path().join("victim");
        fs::write(&path, PRECIOUS).unwrap();
        Victim { _dir: dir, path }
    }

    /// Where a link to a file not there yet points (a file eperm must not create).
    fn absent(&self) -> PathBuf {
        self.path.with_file_name("created-through-a-link")
    }

    fn assert_untouched(&self, what: &str) {
        assert_eq!(
            fs::read_to_string(&self.path).unwrap(),
            PRECIOUS,
            "{what}: the victim was written"
        );
        assert!(
            !self.absent().exists(),
            "{what}: a file was created through a link"
        );
    }
}

/// The directories `nobody` can plant in: shared with the sticky bit (/tmp's
/// kind), and its own.
#[derive(Clone, Copy, Debug)]
enum Shared {
    Sticky,
    Nobodys,
}

fn shared(kind: Shared) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    match kind {
        Shared::Sticky => {
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o1777)).unwrap()
        }
        Shared::Nobodys => {
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
            fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    dir
}

/// `nobody` runs `args` (with `setpriv`).
fn as_nobody(args: &[&str]) {
    let out = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args(args)
        .output()
        .expect("setpriv runs");
    assert!(out.status.success(), "as nobody {args:?}: {}", stderr(&out));
}

/// `nobody` plants a link at `at` to `to`.
fn plant(at: &Path, to: &Path) {
    as_nobody(&["ln", "-s", to.to_str().unwrap(), at.to_str().unwrap()]);
}

/// `nobody`'s links at many names at once (the next pids' temporary files):
/// made by root and given to `nobody`, as `nobody` would have made them.
fn plant_many(dir: &Path, names: impl Iterator<Item = String>, to: &Path) {
    for name in names {
        let at = dir.join(name);
        std::os::unix::fs::symlink(to, &at).unwrap();
        std::os::unix::fs::lchown(&at, Some(NOBODY), Some(NOBODY)).unwrap();
    }
}

fn profile_in(dir: &Path) -> PathBuf {
    let p = dir.join("p.json");
    fs::write(&p, PROFILE).unwrap();
    p
}

/// Each output eperm writes, as (what, the command line with OUT for the output).
fn outputs(profile: &Path) -> Vec<(&'static str, Vec<String>)> {
    let p = profile.to_str().unwrap().to_string();
    let log = fixture("logs/audit.log").display().to_string();
    let lines: [(&str, &str); 8] = [
        ("compile -o", "compile P -o OUT"),
        ("export -o", "export --format oci P -o OUT"),
        ("merge -o", "merge -o OUT P P"),
        ("import -o", "import --format audit -o OUT LOG"),
        (
            "run --events",
            "run --no-tui --events OUT -p P -- /bin/true",
        ),
        (
            "run --report",
            "run --no-tui --report OUT -p P -- /bin/true",
        ),
        ("record -o", "record --empty -o OUT -- /bin/true"),
        ("tighten -o", "tighten -p P -o OUT -- /bin/true"),
    ];
    lines
        .iter()
        .map(|(what, line)| {
            let args = line
                .split(' ')
                .map(|a| match a {
                    "P" => p.clone(),
                    "LOG" => log.clone(),
                    other => other.to_string(),
                })
                .collect();
            (*what, args)
        })
        .collect()
}

fn with_out(args: &[String], out: &Path) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a == "OUT" {
                out.display().to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

fn run_args(args: &[String]) -> Output {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    eperm_within(&args)
}

fn links_planted_for_every_output(kind: Shared) {
    require_root("writes as root where nobody planted links");
    let victim = Victim::new();
    let work = tempfile::tempdir().unwrap();
    let profile = profile_in(work.path());
    for (what, args) in outputs(&profile) {
        for target in [victim.path.clone(), victim.absent()] {
            let dir = shared(kind);
            let out = dir.path().join("out.json");
            plant(&out, &target);
            let done = run_args(&with_out(&args, &out));
            let err = stderr(&done);
            assert_eq!(done.status.code(), Some(2), "{kind:?} {what}: {err}");
            assert!(
                err.contains(&format!("{}: it is a symbolic link", out.display())),
                "{kind:?} {what}: {err}"
            );
            assert!(
                fs::symlink_metadata(&out).unwrap().file_type().is_symlink(),
                "{what}"
            );
            victim.assert_untouched(&format!("{kind:?} {what}"));
        }
    }
}

#[test]
fn outputs_refuse_links_planted_in_a_sticky_shared_directory() {
    links_planted_for_every_output(Shared::Sticky);
}

#[test]
fn outputs_refuse_links_planted_in_a_directory_of_nobody_s() {
    links_planted_for_every_output(Shared::Nobodys);
}

/// Old eperm wrote coverage to `.p.coverage.json.tmp<PID>` through whatever
/// was there: links for the next pids, and one at the coverage file itself.
#[test]
fn the_coverage_save_never_follows_a_planted_link() {
    require_root("a coverage run counts in the kernel");
    let victim = Victim::new();
    let last: u32 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // In the sticky directory, links at every temporary name a pid could give:
    // the run succeeds (its temporary name is unpredictable) and writes its own file.
    let dir = shared(Shared::Sticky);
    let profile = profile_in(dir.path());
    let names = (last..last + 2000).map(|pid| format!(".p.coverage.json.tmp{pid}"));
    plant_many(dir.path(), names, &victim.path);
    let done = eperm_within(&[
        "run",
        "--coverage",
        "--no-tui",
        "-p",
        profile.to_str().unwrap(),
        "--",
        "/bin/true",
    ]);
    assert!(done.status.success(), "{}", stderr(&done));
    victim.assert_untouched("temporary names");
    let coverage = dir.path().join("p.coverage.json");
    let meta = fs::symlink_metadata(&coverage).unwrap();
    assert!(meta.file_type().is_file(), "{meta:?}");
    assert!(
        stderr(&done).contains("p.coverage.json"),
        "the summary names the file: {}",
        stderr(&done)
    );

    // A link at the coverage file itself, planted by nobody: refused, named.
    for kind in [Shared::Sticky, Shared::Nobodys] {
        let dir = shared(kind);
        let profile = profile_in(dir.path());
        plant(&dir.path().join("p.coverage.json"), &victim.path);
        let done = eperm_within(&[
            "run",
            "--coverage",
            "--no-tui",
            "-p",
            profile.to_str().unwrap(),
            "--",
            "/bin/true",
        ]);
        let err = stderr(&done);
        assert!(!done.status.success(), "{kind:?}: {err}");
        assert!(
            err.contains("p.coverage.json") && err.contains("could have planted it"),
            "{kind:?}: {err}"
        );
        victim.assert_untouched(&format!("{kind:?} coverage file"));
    }
}

/// Every input eperm reads, with IN for the file.
const INPUTS: &[&str] = &[
    "check IN",
    "compile IN --stats",
    "explain IN read",
    "edit IN --allow read",
    "export --format oci IN",
    "merge -o OUT IN IN",
    "run --no-tui -p IN -- /bin/true",
    "import --format audit -o OUT IN",
    "replay --no-tui IN",
];

fn reads_end_quickly_with_a_clear_error(input: &Path, what: &str) {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out.json");
    for line in INPUTS {
        let args: Vec<String> = line
            .split(' ')
            .map(|a| match a {
                "IN" => input.display().to_string(),
                "OUT" => out.display().to_string(),
                other => other.to_string(),
            })
            .collect();
        let done = run_args(&args);
        let err = stderr(&done);
        assert_eq!(done.status.code(), Some(2), "{line} on {what}: {err}");
        assert!(
            err.contains(&format!("{}: it is {what}", input.display()))
                && err.contains("eperm reads only regular files"),
            "{line} on {what}: {err}"
        );
        assert!(!out.exists(), "{line}: wrote an output");
    }
}

#[test]
fn a_fifo_at_any_input_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("p.json");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    reads_end_quickly_with_a_clear_error(&fifo, "a FIFO");
}

#[test]
fn dev_zero_at_any_input_is_refused_without_reading_it() {
    reads_end_quickly_with_a_clear_error(Path::new("/dev/zero"), "a character device");
}

/// The coverage file beside the profile is read too: a FIFO or `/dev/zero` there.
#[test]
fn the_coverage_file_is_read_safely() {
    require_root("a coverage run counts in the kernel");
    for what in ["fifo", "zero"] {
        let dir = tempfile::tempdir().unwrap();
        let profile = profile_in(dir.path());
        let coverage = dir.path().join("p.coverage.json");
        match what {
            "fifo" => assert!(Command::new("mkfifo")
                .arg(&coverage)
                .status()
                .unwrap()
                .success()),
            _ => std::os::unix::fs::symlink("/dev/zero", &coverage).unwrap(),
        }
        let p = profile.to_str().unwrap();
        for args in [
            vec!["run", "--coverage", "--no-tui", "-p", p, "--", "/bin/true"],
            vec!["tighten", "-p", p, "-o", "/dev/null/x", "--", "/bin/true"],
        ] {
            let done = eperm_within(&args);
            let err = stderr(&done);
            assert!(!done.status.success(), "{what} {args:?}: {err}");
            assert!(
                err.contains("eperm reads only regular files"),
                "{what} {args:?}: {err}"
            );
        }
    }
}

/// A tmpfs of 64 KiB, filled, unmounted when dropped.
struct FullDisk {
    dir: tempfile::TempDir,
}

impl FullDisk {
    fn new() -> FullDisk {
        let dir = tempfile::tempdir().unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(dir.path())
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a tmpfs");
        FullDisk { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn fill(&self) {
        use std::io::Write;
        let mut f = fs::File::create(self.path("filler")).unwrap();
        while f.write_all(&[0u8; 4096]).is_ok() {}
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[test]
fn a_full_disk_leaves_every_old_output_whole() {
    require_root("mounts a tmpfs");
    let work = tempfile::tempdir().unwrap();
    let profile = profile_in(work.path());
    let disk = FullDisk::new();
    let old = "the old output, kept whole\n".repeat(40);
    let out = disk.path("out.json");
    fs::write(&out, &old).unwrap();
    disk.fill();
    // (`--events` is a log written as the run goes: not replaced whole.)
    for (what, args) in outputs(&profile)
        .into_iter()
        .filter(|(w, _)| *w != "run --events")
    {
        let done = run_args(&with_out(&args, &out));
        let err = stderr(&done);
        assert!(!done.status.success(), "{what}: {err}");
        assert!(
            err.contains(&out.display().to_string()) && err.contains("No space left"),
            "{what}: {err}"
        );
        assert_eq!(fs::read_to_string(&out).unwrap(), old, "{what}");
        let left: Vec<_> = fs::read_dir(disk.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains(".eperm-tmp"))
            .collect();
        assert!(left.is_empty(), "{what}: {left:?}");
    }
}

#[test]
fn events_and_report_may_not_be_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let profile = profile_in(dir.path());
    let p = profile.to_str().unwrap();
    for flag in ["--events", "--report"] {
        let done = eperm_within(&["run", "--no-tui", flag, p, "-p", p, "--", "/bin/true"]);
        let err = stderr(&done);
        assert_eq!(done.status.code(), Some(2), "{flag}: {err}");
        assert!(err.contains("that is the profile"), "{flag}: {err}");
        assert_eq!(fs::read_to_string(&profile).unwrap(), PROFILE);
    }
}

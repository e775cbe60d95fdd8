//! The other layers: calls of a workload that fail with EPERM or EACCES for a
//! reason other than the profile are named — the capability, the file mode,
//! the sysctl gate, Landlock, a filter of the process's own — in `--events`
//! and in the summary, by the kernel's own evidence (eBPF on `sys_exit` and
//! `cap_capable`). Root only: the workload gets a cgroup, the watcher is BPF.

use super::util::{cc, events, require_root, stderr, stdout};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

/// `eperm run --no-tui --events FILE ARGS…`, with a PATH nobody may search
/// (root's would add `$PATH` lookups refused in /root to every run).
fn run_watched(dir: &Path, args: &[&str]) -> (Output, Vec<Value>) {
    let file = dir.join("events.jsonl");
    let out = super::util::eperm()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        // cargo points it into /root/.rustup: the loader, as nobody, is refused there.
        .env_remove("LD_LIBRARY_PATH")
        .args(["run", "--no-tui", "--events"])
        .arg(&file)
        .args(args)
        .output()
        .expect("eperm runs");
    (out, events(&file))
}

/// The `--events` lines of the layer watcher.
fn layered(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["source"] == "ebpf").collect()
}

fn one<'a>(events: &'a [Value], syscall: &str) -> &'a Value {
    let found: Vec<&Value> = layered(events)
        .into_iter()
        .filter(|e| e["syscall"] == syscall)
        .collect();
    assert_eq!(found.len(), 1, "one {syscall} refusal in {events:#?}");
    found[0]
}

#[test]
fn the_hostname_example_names_cap_sys_admin_the_file_mode_cap_kill_and_cap_chown() {
    require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    let owned = dir.path().join("root-owned");
    std::fs::write(&owned, "x").unwrap();
    // nobody must reach the file to be refused its chown, not the directory.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let script = format!(
        "hostname foo; cat /etc/shadow; kill -0 1; chown 65534 {}",
        owned.display()
    );
    let report = dir.path().join("triage.md");
    let report_arg = report.to_str().unwrap();
    let (out, events) = run_watched(
        dir.path(),
        &[
            "--report", report_arg, "--user", "nobody", "--", "sh", "-c", &script,
        ],
    );
    let err = stderr(&out);
    let triage = std::fs::read_to_string(&report).unwrap();
    for cell in [
        "## Other layers",
        "| `capability: CAP_SYS_ADMIN` |",
        "| `permissions: /etc/shadow` |",
    ] {
        assert!(triage.contains(cell), "{cell:?} in:\n{triage}");
    }
    let host = one(&events, "sethostname");
    assert_eq!(host["layer"], "capability", "{host}");
    assert_eq!(host["capabilities"], serde_json::json!(["CAP_SYS_ADMIN"]));
    assert_eq!(host["errno"], "EPERM");
    // The default profile denies sethostname without CAP_SYS_ADMIN too: both said.
    assert_eq!(host["also_seccomp"], true, "{host}");
    assert!(events
        .iter()
        .any(|e| e["source"] == "notify" && e["syscall"] == "sethostname"));
    let shadow = one(&events, "openat");
    assert_eq!(shadow["layer"], "permissions", "{shadow}");
    assert_eq!(shadow["errno"], "EACCES");
    assert_eq!(shadow["path"]["path"], "/etc/shadow");
    assert_eq!(shadow["path"]["uid"], 0);
    let kill = one(&events, "kill");
    assert_eq!(
        kill["capabilities"],
        serde_json::json!(["CAP_KILL"]),
        "{kill}"
    );
    let chown = one(&events, "fchownat");
    assert_eq!(
        chown["capabilities"],
        serde_json::json!(["CAP_CHOWN"]),
        "{chown}"
    );
    assert_eq!(layered(&events).len(), 4, "{events:#?}");
    for line in [
        "capability: CAP_SYS_ADMIN",
        "docker run --cap-add SYS_ADMIN",
        "note: sethostname also failed for another reason (below): allowing it in the profile is not enough",
        "permissions: /etc/shadow",
        "(mode 0640, owner 0:",
        "capability: CAP_KILL",
        "capability: CAP_CHOWN",
    ] {
        assert!(err.contains(line), "{line:?} in:\n{err}");
    }
}

#[test]
fn a_clean_run_reports_no_other_layer() {
    require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    let (out, events) = run_watched(dir.path(), &["--", "sh", "-c", "ls / >/dev/null; true"]);
    assert!(out.status.success());
    assert_eq!(layered(&events), Vec::<&Value>::new());
    let err = stderr(&out);
    assert_eq!(err, "eperm: the profile would have denied nothing\n");
}

/// Sets a sysctl for the test and puts the old value back when dropped.
struct Sysctl {
    path: &'static str,
    old: String,
}

impl Sysctl {
    fn set(path: &'static str, value: &str) -> Sysctl {
        let old = std::fs::read_to_string(path).unwrap();
        std::fs::write(path, value).unwrap();
        Sysctl { path, old }
    }
}

impl Drop for Sysctl {
    fn drop(&mut self) {
        std::fs::write(self.path, self.old.trim()).unwrap();
    }
}

const USERFAULTFD: &str = r#"
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    if (syscall(SYS_userfaultfd, 0) >= 0) return 3;
    perror("userfaultfd");
    return 0;
}
"#;

#[test]
fn userfaultfd_as_nobody_names_the_shut_sysctl_and_its_value() {
    require_root("a cgroup, BPF and a sysctl");
    let helper = cc("uffd", USERFAULTFD);
    let dir = tempfile::tempdir().unwrap();
    // The helper must be reachable by nobody.
    let exe = dir.path().join("uffd");
    std::fs::copy(&helper, &exe).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let _gate = Sysctl::set("/proc/sys/vm/unprivileged_userfaultfd", "0");
    let (out, events) = run_watched(
        dir.path(),
        &["--user", "nobody", "--", exe.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let uffd = one(&events, "userfaultfd");
    assert_eq!(uffd["layer"], "sysctl", "{uffd}");
    assert_eq!(
        uffd["sysctl"],
        serde_json::json!({"name": "vm.unprivileged_userfaultfd", "value": 0})
    );
    let err = stderr(&out);
    assert!(
        err.contains("sysctl: vm.unprivileged_userfaultfd = 0")
            && err.contains("sysctl -w vm.unprivileged_userfaultfd=1 (risk:"),
        "{err}"
    );
}

const LANDLOCK: &str = r#"
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_READ_FILE };
    int fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
    if (fd < 0) { perror("landlock_create_ruleset"); return 2; }
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (syscall(SYS_landlock_restrict_self, fd, 0)) { perror("landlock_restrict_self"); return 2; }
    if (open("/etc/hostname", O_RDONLY) >= 0) return 3;
    perror("open /etc/hostname");
    return 0;
}
"#;

#[test]
fn a_program_that_restricts_itself_with_landlock_is_refused_by_landlock() {
    require_root("a cgroup and BPF for the layer watcher");
    let helper = cc("landlocked", LANDLOCK);
    let dir = tempfile::tempdir().unwrap();
    let (out, events) = run_watched(dir.path(), &["--", helper.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let open = one(&events, "openat");
    assert_eq!(open["layer"], "lsm", "{open}");
    assert_eq!(open["lsm"]["lsm"], "landlock");
    assert_eq!(open["errno"], "EACCES");
    assert!(stderr(&out).contains("lsm: landlock"), "{}", stderr(&out));
    // Landlock writes its audit record (Linux 6.15) only while audit is enabled
    // (`auditctl -e 1`): then the record is the evidence, with its domain.
    if audit_enabled() {
        assert_eq!(open["lsm"]["operation"], "fs.read_file", "{open}");
        assert_ne!(open["lsm"]["subject"], "", "the domain: {open}");
        assert_eq!(open["lsm"]["object"], "/etc/hostname", "{open}");
    } else {
        println!(
            "audit is disabled here: Landlock wrote no record; the restriction was the evidence"
        );
        assert_eq!(open["lsm"]["record"], "", "{open}");
    }
}

/// The kernel's audit is enabled (eperm's own AUDIT_GET says).
fn audit_enabled() -> bool {
    eperm::sources::audit::status().is_ok_and(|s| s.enabled != 0)
}

const OWN_FILTER: &str = r#"
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
int main(void) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = 4, .filter = f };
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) { perror("seccomp"); return 2; }
    struct utsname u;
    if (uname(&u) == 0) return 3;
    perror("uname");
    return 0;
}
"#;

#[test]
fn a_filter_the_process_installed_itself_is_seccomp_other_not_the_profile() {
    require_root("a cgroup and BPF for the layer watcher");
    let helper = cc("ownfilter", OWN_FILTER);
    let dir = tempfile::tempdir().unwrap();
    let (out, events) = run_watched(dir.path(), &["--", helper.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let uname = one(&events, "uname");
    assert_eq!(uname["layer"], "seccomp-other", "{uname}");
    assert_eq!(uname["other_filters"], 1);
    assert!(
        stderr(&out).contains("the profile cannot help"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_enforced_seccomp_denial_is_the_profile_s_alone() {
    require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    let (out, events) = run_watched(
        dir.path(),
        &["--enforce", "--user", "nobody", "--", "hostname", "foo"],
    );
    assert!(!out.status.success());
    // The call never ran: no capability check, one seccomp event, no layer line.
    assert_eq!(layered(&events), Vec::<&Value>::new(), "{events:#?}");
    assert!(events
        .iter()
        .any(|e| e["syscall"] == "sethostname" && e["decision"] == "denied"));
}

/// AppArmor and SELinux are not active on this kernel: their records, written
/// as the public documentation shows them (and a Landlock one), go through the
/// file parser. The permissive SELinux grant is no refusal.
#[test]
fn replay_names_apparmor_selinux_and_landlock_records_as_the_lsm_layer() {
    let log = super::util::fixture("lsm/avc.log");
    let out = super::util::eperm()
        .args(["replay", "--no-tui", "--json"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let lsm: Vec<&Value> = lines.iter().filter(|l| l["layer"] == "lsm").collect();
    assert_eq!(lsm.len(), 3, "{lines:#?}");
    assert_eq!(lsm[0]["lsm"]["lsm"], "apparmor");
    assert_eq!(lsm[0]["lsm"]["subject"], "/usr/sbin/cupsd");
    assert_eq!(lsm[0]["pid"], 1234);
    assert_eq!(lsm[1]["lsm"]["lsm"], "selinux");
    assert_eq!(lsm[1]["lsm"]["operation"], "{ write }");
    assert_eq!(lsm[2]["lsm"]["lsm"], "landlock");
    // The seccomp record is still the profile's event.
    assert!(lines
        .iter()
        .any(|l| l["syscall"] == "mkdir" && l.get("layer").is_none()));
    assert!(
        stderr(&out).contains("3 LSM refusal records"),
        "{}",
        stderr(&out)
    );
    let text = super::util::eperm()
        .args(["replay", "--no-tui"])
        .arg(&log)
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("lsm: apparmor pid 1234    AppArmor profile \"/usr/sbin/cupsd\" denied open of \"/etc/shadow\""),
        "{text}"
    );
}

#[test]
fn import_says_lsm_records_are_not_the_profile_s_and_allows_only_seccomp_s() {
    let dir = tempfile::tempdir().unwrap();
    let out_profile = dir.path().join("p.json");
    let out = super::util::eperm()
        .args(["import", "--format", "audit", "-o"])
        .arg(&out_profile)
        .arg(super::util::fixture("lsm/avc.log"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("3 LSM refusal record(s) (AppArmor, SELinux, Landlock) are not seccomp's"),
        "{}",
        stderr(&out)
    );
    // Only the seccomp record is evidence for the profile.
    assert!(
        stderr(&out).contains("read 1 record naming 1 syscall"),
        "{}",
        stderr(&out)
    );
}

/// `watch --no-tui --source kmsg ARGS…` while the fixture's records are
/// written to the kernel log as the kernel prints them; its stdout lines until
/// `enough` says so.
fn watch_kmsg_fixture(args: &[&str], enough: &dyn Fn(&[String]) -> bool) -> Vec<String> {
    use std::io::{BufRead, Write};
    require_root("writing records to /dev/kmsg");
    let mut watch = super::util::eperm()
        .args(["watch", "--no-tui", "--source", "kmsg", "--duration", "120"])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Its first line says the source is open: every record from then on is read.
    let mut err = std::io::BufReader::new(watch.stderr.take().unwrap());
    let mut ready = String::new();
    err.read_line(&mut ready).unwrap();
    assert!(ready.contains("kmsg: active"), "{ready}");
    let fixture = std::fs::read_to_string(super::util::fixture("lsm/kmsg-avc.txt")).unwrap();
    let mut kmsg = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .unwrap();
    for line in fixture.lines() {
        // One write is one record of the kernel log; without its newline the
        // kernel holds the last one back for a continuation.
        kmsg.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
    let mut lines = Vec::new();
    for line in std::io::BufReader::new(watch.stdout.take().unwrap()).lines() {
        lines.push(line.unwrap());
        if enough(&lines) {
            break;
        }
    }
    // SAFETY: signalling our own child, which ends on SIGINT.
    unsafe { libc::kill(watch.id() as i32, libc::SIGINT) };
    assert!(watch.wait().unwrap().success());
    lines
}

/// `watch` names the layer of what it sees on the node: AVC records (AppArmor,
/// SELinux, modelled on their public documentation: neither is active on this
/// kernel) and a Landlock record with its event's SYSCALL record, written to
/// the kernel log as the kernel prints them, read back through /dev/kmsg by
/// `watch --json`. The permissive SELinux grant is no refusal; the seccomp
/// record among them is the profile's layer.
#[test]
fn watch_names_lsm_records_on_the_node_with_their_layer_and_evidence() {
    let parse = |lines: &[String]| -> (Vec<Value>, Option<Value>) {
        let (mut lsm, mut seccomp) = (Vec::new(), None);
        for line in lines {
            let v: Value = serde_json::from_str(line).expect("one JSON object per line");
            // Other tests' seccomp records on the node are the profile's layer too.
            if v["layer"] == "seccomp" {
                if v["pid"] == 31340 {
                    seccomp = Some(v);
                }
            } else {
                assert_eq!(v["layer"], "lsm", "{v}");
                lsm.push(v);
            }
        }
        (lsm, seccomp)
    };
    let lines = watch_kmsg_fixture(&["--json"], &|lines| {
        let (lsm, seccomp) = parse(lines);
        lsm.len() == 3 && seccomp.is_some()
    });
    let (lsm, seccomp) = parse(&lines);
    let seccomp = seccomp.unwrap();
    assert_eq!(seccomp["syscall"], "mkdir", "{seccomp}");
    let by_pid = |pid: u32| {
        lsm.iter()
            .find(|v| v["pid"] == pid)
            .unwrap_or_else(|| panic!("pid {pid} in {lsm:#?}"))
    };
    let apparmor = by_pid(31337);
    assert_eq!(apparmor["source"], "kmsg");
    assert_eq!(apparmor["lsm"]["lsm"], "apparmor");
    assert_eq!(apparmor["lsm"]["subject"], "docker-default");
    assert_eq!(apparmor["lsm"]["operation"], "mount");
    assert!(
        apparmor["fix"]
            .as_str()
            .unwrap()
            .contains("apparmor=unconfined"),
        "{apparmor}"
    );
    let selinux = by_pid(31338);
    assert_eq!(
        selinux["lsm"]["operation"], "{ write }",
        "the grant is none"
    );
    let landlock = by_pid(31339);
    assert_eq!(landlock["lsm"]["lsm"], "landlock");
    assert_eq!(landlock["lsm"]["subject"], "1a6fdc66f");
    assert_eq!(landlock["lsm"]["object"], "/etc/passwd");
}

/// `--enforce` runs name the other layers as permissive ones do: the calls the
/// profile allows still meet the capability and the file mode.
#[test]
fn an_enforced_run_names_the_other_layers_too() {
    require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    let (out, events) = run_watched(
        dir.path(),
        &[
            "--enforce",
            "--user",
            "nobody",
            "--",
            "sh",
            "-c",
            "cat /etc/shadow; kill -0 1",
        ],
    );
    let shadow = one(&events, "openat");
    assert_eq!(shadow["layer"], "permissions", "{shadow}");
    let kill = one(&events, "kill");
    assert_eq!(kill["layer"], "capability", "{kill}");
    assert_eq!(kill["capabilities"], serde_json::json!(["CAP_KILL"]));
    let err = stderr(&out);
    for line in ["permissions: /etc/shadow", "capability: CAP_KILL"] {
        assert!(err.contains(line), "{line:?} in:\n{err}");
    }
}

/// `--no-layers`: nothing is watched (no hook on every call's exit), and the
/// summary says so rather than calling the refused read clean.
#[test]
fn no_layers_watches_nothing_and_says_so() {
    require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--no-layers",
        "--user",
        "nobody",
        "--",
        "cat",
        "/etc/shadow",
    ];
    let (out, events) = run_watched(dir.path(), &args);
    assert!(!out.status.success());
    assert_eq!(layered(&events), Vec::<&Value>::new());
    let err = stderr(&out);
    assert!(
        err.contains("other layers: not watched (--no-layers)"),
        "{err}"
    );
    assert!(!err.contains("permissions: /etc/shadow"), "{err}");
}

/// Under `--mode trace --enforce` eperm fails a denied call by skipping it
/// (syscall number -1): that is the profile's refusal, never another layer's
/// (it was once "nr_3221225471 x32 … not seccomp").
#[test]
fn a_call_the_tracer_fails_is_the_profile_s_alone() {
    require_root("a cgroup and BPF for the layer watcher");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.json");
    let text = r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}"#;
    std::fs::write(&profile, text).unwrap();
    let target = dir.path().join("made");
    let script = format!("mkdir {} || echo refused", target.display());
    let p = profile.to_str().unwrap();
    let args = [
        "--mode",
        "trace",
        "--enforce",
        "-p",
        p,
        "--",
        "sh",
        "-c",
        &script,
    ];
    let (out, events) = run_watched(dir.path(), &args);
    assert_eq!(stdout(&out), "refused\n", "{}", stderr(&out));
    assert!(!target.exists());
    assert_eq!(layered(&events), Vec::<&Value>::new());
    let err = stderr(&out);
    assert!(err.contains("mkdir"), "{err}");
    assert!(
        !err.contains("another layer") && !err.contains("nr_"),
        "{err}"
    );
}

/// `watch`'s text lines lead with their layer; `--comm` picks LSM records by
/// the comm they name, as it picks seccomp records.
#[test]
fn watch_text_leads_with_the_layer_and_comm_filters_lsm_records() {
    let has = |lines: &[String], start: &str, pid: &str| {
        lines
            .iter()
            .any(|l| l.starts_with(start) && l.contains(&format!("pid {pid}")))
    };
    let lines = watch_kmsg_fixture(&[], &|lines| {
        has(lines, "lsm: apparmor", "31337")
            && has(lines, "lsm: landlock", "31339")
            && has(lines, "seccomp: kmsg", "31340")
    });
    let landlock = lines.iter().find(|l| l.contains("pid 31339")).unwrap();
    assert!(
        landlock.contains("Landlock domain 1a6fdc66f blocked fs.read_file on \"/etc/passwd\""),
        "{landlock}"
    );
    let seccomp = lines.iter().find(|l| l.contains("pid 31340")).unwrap();
    assert!(
        seccomp.contains("(lsm-fixture /usr/bin/mkdir) x86_64 mkdir"),
        "{seccomp}"
    );
    // The SELinux record is sent after the AppArmor one: by the time it is
    // shown, every other record the filter let through is shown too.
    let lines = watch_kmsg_fixture(&["--comm", "certwatch"], &|lines| {
        has(lines, "lsm: selinux", "31338")
    });
    assert_eq!(lines.len(), 1, "{lines:#?}");
}

//! Decoding a syscall whose arguments point into a real process's memory.

use eperm::arch::Arch;
use eperm::sources::memory::{ProcMem, ProcessMemory, TraceeMemory};
use eperm::syscalls::decode::decode;

/// This process stands in for a tracee: the path lives in a heap buffer and
/// is read back through process_vm_readv and through /proc/PID/mem.
#[test]
fn openat_path_read_from_a_live_process() {
    let path: Box<[u8]> = b"/etc/passwd\0".to_vec().into_boxed_slice();
    let arch = Arch::native();
    let nr = arch.syscall_nr("openat").expect("openat exists");
    // O_CLOEXEC: the same on x86, arm, aarch64 and riscv64.
    let cloexec = 0o2000000;
    let args = [(-100i64) as u64, path.as_ptr() as u64, cloexec, 0, 0, 0];
    let pid = std::process::id();
    let readers: [&dyn TraceeMemory; 2] = [&ProcessMemory { pid }, &ProcMem { pid }];
    for mem in readers {
        let d = decode(arch, nr, &args, Some(mem));
        assert_eq!(d.name, "openat");
        assert_eq!(
            d.text,
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)"
        );
        assert_eq!(d.paths, ["/etc/passwd"]);
    }
    // Without memory the pointer is shown, not guessed at.
    let d = decode(arch, nr, &args, None);
    assert_eq!(
        d.text,
        format!(
            "openat(AT_FDCWD, {:#x}, O_RDONLY|O_CLOEXEC)",
            path.as_ptr() as u64
        )
    );
    assert!(d.paths.is_empty());
}

/// A forked child stops itself holding a path in memory the parent never
/// wrote; the parent decodes a mkdirat that points at it.
#[test]
fn mkdirat_path_read_from_a_stopped_child() {
    use nix::sys::signal::{kill, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::{fork, ForkResult};
    let arch = Arch::native();
    // Every arch eperm knows has mkdirat (the new arches have no mkdir at all).
    let nr = arch
        .syscall_nr("mkdirat")
        .unwrap_or_else(|| panic!("{arch} has no mkdirat"));
    let mut buf = vec![0u8; 64].into_boxed_slice();
    let addr = buf.as_mut_ptr() as u64;
    // SAFETY: the child only copies bytes, raises SIGSTOP and _exits.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            buf[..17].copy_from_slice(b"/tmp/child\tdir\n!\0");
            let _ = kill(nix::unistd::getpid(), Signal::SIGSTOP);
            // SAFETY: ends the child without running the test harness's exit.
            unsafe { libc::_exit(0) };
        }
        ForkResult::Parent { child } => {
            let st = waitpid(child, Some(WaitPidFlag::WUNTRACED)).expect("waitpid");
            assert!(matches!(st, WaitStatus::Stopped(_, Signal::SIGSTOP)));
            let mem = ProcessMemory {
                pid: child.as_raw() as u32,
            };
            let d = decode(arch, nr, &[3, addr, 0o700, 0, 0, 0], Some(&mem));
            let _ = kill(child, Signal::SIGKILL);
            let _ = waitpid(child, None);
            assert_eq!(d.text, "mkdirat(3, \"/tmp/child\\tdir\\n!\", 0700)");
            assert_eq!(d.paths, ["/tmp/child\tdir\n!"]);
        }
    }
}

/// The top-level arguments of `name(a, b, ...)`: commas inside quotes, braces
/// and brackets do not split.
fn top_level_args(text: &str) -> Vec<String> {
    let inner = &text[text.find('(').unwrap() + 1..text.rfind(')').unwrap()];
    let (mut out, mut cur, mut depth, mut quoted, mut escaped) =
        (Vec::new(), String::new(), 0, false, false);
    for c in inner.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' | '[' if !quoted => depth += 1,
            '}' | ']' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// The workloads the tests run (mkdir, chmod, rmdir, ls -la, cat, echo through
/// sh), every call recorded under a profile that allows nothing: one recorded call
/// of each syscall decodes by the kinds of its table line, with its paths read
/// from the workload's memory.
#[test]
fn one_recorded_call_of_each_syscall_the_workloads_make_decodes_by_kind() {
    use eperm::syscalls::signatures::{self, ArgKind};
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("nothing.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}"#,
    )
    .unwrap();
    let events = dir.path().join("ev.jsonl");
    let d = dir.path().display();
    let script = format!(
        "mkdir {d}/x && chmod 700 {d}/x && rmdir {d}/x; ls -la /etc >/dev/null; \
         cat /etc/hostname >/dev/null; echo ok"
    );
    crate::util::ok(
        crate::util::eperm()
            .args(["run", "--no-tui", "--events"])
            .arg(&events)
            .arg("-p")
            .arg(&profile)
            .args(["--", "sh", "-c", &script]),
    );
    let mut seen = std::collections::BTreeMap::new();
    for e in crate::util::events(&events) {
        let name = e["syscall"].as_str().unwrap().to_string();
        seen.entry(name).or_insert(e);
    }
    for must in [
        "openat",
        "pread64",
        "getdents64",
        "mkdir",
        "fchmodat",
        "rmdir",
        "write",
    ] {
        assert!(
            seen.contains_key(must),
            "{must} not recorded: {:?}",
            seen.keys()
        );
    }
    // The kinds themselves, for calls whose meaning is plain: the file
    // descriptors, sizes and offsets strace prints in decimal.
    use ArgKind::*;
    let plain: [(&str, &[ArgKind]); 5] = [
        ("pread64", &[Fd, Ptr, UInt, Off]),
        ("getdents64", &[Fd, Ptr, UInt]),
        ("write", &[Fd, Ptr, UInt]),
        ("close", &[Fd]),
        ("mkdir", &[Path, Mode]),
    ];
    for (name, want) in plain {
        assert_eq!(signatures::signature(name).unwrap().kinds, want, "{name}");
    }
    for (name, e) in &seen {
        let arch = Arch::parse(e["arch"].as_str().unwrap()).unwrap();
        let sig = signatures::signature(name).unwrap_or_else(|| panic!("{name}: no table line"));
        assert!(!sig.description.is_empty());
        let kinds = signatures::kinds(arch, name).unwrap();
        let raw: Vec<u64> = e["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        let args: [u64; 6] = raw.try_into().unwrap();
        let nr = e["nr"].as_u64().unwrap() as u32;
        // Without memory every argument shows its raw value by kind.
        let bare = decode(arch, nr, &args, None).text;
        let shown = top_level_args(&bare);
        // open's mode means something (and is shown) only with O_CREAT or O_TMPFILE.
        let optional = usize::from(name == "open" || name == "openat");
        assert!(
            shown.len() <= kinds.len() && shown.len() + optional >= kinds.len(),
            "{bare}: {kinds:?}"
        );
        for ((kind, piece), &v) in kinds.iter().zip(&shown).zip(&args) {
            let int = (v as u32 as i32).to_string();
            let ok = match kind {
                Fd | Pid | Int | Opt => *piece == int,
                DirFd => *piece == int || piece == "AT_FDCWD",
                UInt => *piece == v.to_string(),
                // mmap's offset is printed in hex, as strace does.
                Off => *piece == (v as i64).to_string() || *piece == format!("{v:#x}"),
                Ptr | Path | Str | StrLen | SockAddr => {
                    *piece == format!("{v:#x}") || piece == "NULL"
                }
                Hex | Bits => *piece == format!("{v:#x}"),
                Mode => *piece == format!("0{:03o}", v & 0o7777_7777),
                Id => *piece == int || *piece == (v as u32).to_string(),
                // Symbolic: a name, or 0 for no flags.
                Signal | Flags(_) | Enum(_) => {
                    piece.chars().any(|c| c.is_ascii_uppercase()) || piece == "0"
                }
            };
            assert!(ok, "{name}: {piece:?} is not a {kind:?} of {v:#x} ({bare})");
        }
        // With the workload's memory (read by the notify supervisor) paths are text.
        let recorded = e["call"].as_str().unwrap();
        let with_memory = top_level_args(recorded);
        for (kind, piece) in kinds.iter().zip(&with_memory) {
            if *kind == Path && !piece.starts_with("NULL") {
                assert!(piece.starts_with('"'), "{name}: path not read: {recorded}");
            }
        }
    }
}

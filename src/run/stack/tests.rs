//! The stack module's pure parts, and the symbolizer fed with broken files.

use super::object::Object;
use super::*;
use std::process::Command;
use std::sync::Arc;

#[test]
fn a_blocked_thread_s_registers() {
    let line = "83 0x7ffd1000 0x1ed 0x0 0x0 0x0 0x0 0x7ffd4d8df318 0x7f4326c5c503\n";
    assert_eq!(
        parse_syscall_file(line),
        Some(Regs {
            ip: 0x7f43_26c5_c503,
            sp: 0x7ffd_4d8d_f318,
            bp: 0
        })
    );
    assert_eq!(parse_syscall_file("running\n"), None);
    assert_eq!(
        parse_syscall_file("-1 0x7ffd4d8df318 0x7f4326c5c503\n"),
        None
    );
}

#[test]
fn words_are_read_only_inside_the_window() {
    let w = Window {
        start: 0x1000,
        bytes: (0u8..16).collect(),
        ran_off: Default::default(),
    };
    assert_eq!(w.word(0x1000), Ok(0x0706_0504_0302_0100));
    assert_eq!(w.word(0x1008), Ok(0x0f0e_0d0c_0b0a_0908));
    assert!(!w.ran_off.get());
    assert_eq!(w.word(0x1009), Err(()));
    assert!(
        w.ran_off.get(),
        "a word past the end asks for a larger copy"
    );
    assert_eq!(w.word(0xff8), Err(()));
    assert_eq!(w.word(u64::MAX), Err(()));
}

/// A small C program with debug info, built now; `None` without gcc.
fn c_object() -> Option<(tempfile::TempDir, Vec<u8>)> {
    let dir = tempfile::tempdir().ok()?;
    let src = dir.path().join("f.c");
    std::fs::write(
        &src,
        "#include <stdio.h>\n__attribute__((noinline)) int add(int a, int b) { return a * 3 + b; }\nint main(int c, char **v) { printf(\"%d\\n\", add(c, 2)); return 0; }\n",
    )
    .ok()?;
    let out = dir.path().join("f");
    let mut gcc = Command::new("gcc");
    gcc.args(["-O2", "-g", "-fomit-frame-pointer", "-o"])
        .arg(&out)
        .arg(&src);
    built(gcc, dir, &out)
}

/// Runs the compiler `command` and reads what it wrote to `out` (in `dir`,
/// kept alive with it); `None` when it failed.
fn built(
    mut command: Command,
    dir: tempfile::TempDir,
    out: &std::path::Path,
) -> Option<(tempfile::TempDir, Vec<u8>)> {
    if !command.status().ok()?.success() {
        return None;
    }
    let bytes = std::fs::read(out).ok()?;
    Some((dir, bytes))
}

fn symbol_address(bytes: &[u8], name: &str) -> u64 {
    use ::object::{Object as _, ObjectSymbol};
    let elf = ::object::File::parse(bytes).unwrap();
    elf.symbols()
        .find(|s| s.name() == Ok(name))
        .map(|s| s.address())
        .unwrap()
}

#[test]
fn an_object_names_its_functions_with_file_and_line() {
    let Some((_dir, bytes)) = c_object() else {
        println!("gcc is not installed: skipped");
        return;
    };
    let add = symbol_address(&bytes, "add");
    let object = Object::parse(Arc::from(bytes)).expect("an ELF file");
    let named = object.name(add);
    assert_eq!(named[0].function.as_deref(), Some(&b"add"[..]));
    assert_eq!(
        named[0].file.as_deref().map(|f| f.ends_with(b"f.c")),
        Some(true)
    );
    assert_eq!(named[0].line, Some(2));
    assert!(object.eh_frame.data.is_some() && object.eh_frame_hdr.svma.is_some());
}

/// A tiny linear congruential generator: the same mutations on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Mutated and truncated ELF files: each gives frames with or without names,
/// never a panic out of the symbolizer (a hang would stall this test).
#[test]
fn mutated_objects_never_panic() {
    let Some((_dir, bytes)) = c_object() else {
        println!("gcc is not installed: skipped");
        return;
    };
    let add = symbol_address(&bytes, "add");
    let mut rng = Lcg(29);
    let mut parsed = 0;
    for round in 0..300 {
        let mut copy = bytes.clone();
        if round % 10 == 9 {
            copy.truncate(rng.next() as usize % bytes.len());
        }
        let flips = 1 + rng.next() % 64;
        for _ in 0..flips {
            if copy.is_empty() {
                break;
            }
            let at = rng.next() as usize % copy.len();
            // Mostly the headers and section tables, where a flip does most harm.
            let at = if round % 2 == 0 {
                at % copy.len().min(4096)
            } else {
                at
            };
            copy[at] = rng.next() as u8;
        }
        if let Some(object) = Object::parse(Arc::from(copy)) {
            parsed += 1;
            for probe in [add, add + 3, 0, u64::MAX] {
                let _ = object.name(probe);
                let _ = object.svma_of_offset(probe);
            }
        }
    }
    assert!(
        parsed > 0,
        "no mutated file parsed at all: the test tested nothing"
    );
}

/// A small Go program built now with `ldflags`; `None` without go.
fn go_object(ldflags: &str) -> Option<(tempfile::TempDir, Vec<u8>)> {
    let dir = tempfile::tempdir().ok()?;
    std::fs::write(
        dir.path().join("main.go"),
        "package main\n\nimport \"os\"\n\n//go:noinline\nfunc makeCacheDir(p string) error {\n\treturn os.Mkdir(p, 0o755)\n}\n\nfunc main() { _ = makeCacheDir(\"/nonexistent/x\") }\n",
    )
    .ok()?;
    std::fs::write(dir.path().join("go.mod"), "module gotab\n\ngo 1.18\n").ok()?;
    let out = dir.path().join("prog");
    let mut go = Command::new("go");
    go.args(["build", "-ldflags", ldflags, "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(dir.path())
        .env("GOCACHE", dir.path().join("cache"))
        .env("GOFLAGS", "-mod=mod");
    built(go, dir, &out)
}

/// Go's tables name every function as Go's own symbol table does (built
/// without DWARF, `-w`, so the names can only come from `.gopclntab`), and
/// give the file and line of a call.
#[test]
fn go_s_tables_name_functions_as_its_symbol_table_does() {
    let Some((_dir, bytes)) = go_object("-w") else {
        println!("go is not installed (tests/run.sh installs golang-go): skipped");
        return;
    };
    use ::object::{Object as _, ObjectSymbol, SymbolKind};
    let elf = ::object::File::parse(&*bytes).unwrap();
    let symbols: Vec<(u64, String)> = elf
        .symbols()
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .map(|s| (s.address(), s.name().unwrap().to_string()))
        .collect();
    let object = Object::parse(Arc::from(bytes.clone())).expect("an ELF file");
    let go = object.go.as_ref().expect("a .gopclntab");
    let mut checked = 0;
    for (addr, name) in &symbols {
        let Some(found) = go.name(*addr) else {
            continue; // a symbol of no Go function (the linker's, or C's)
        };
        // The symbol table marks assembly functions' ABI; Go's tables do not,
        // and shorten type arguments to `[...]`, as Go's tracebacks show them.
        let name = name.strip_suffix(".abi0").unwrap_or(name);
        let found = String::from_utf8_lossy(&found.function);
        if let Some((before, after)) = found.split_once("[...]") {
            assert!(
                name.starts_with(before) && name.ends_with(after),
                "{name} {found}"
            );
        } else {
            assert_eq!(found, name, "at {addr:#x}");
        }
        checked += 1;
    }
    assert!(checked > 500, "only {checked} of {} symbols", symbols.len());
    // Inside makeCacheDir: its name, main.go, and a line of its body (7).
    let at = symbols
        .iter()
        .find(|s| s.1 == "main.makeCacheDir")
        .unwrap()
        .0;
    let mut lines = Vec::new();
    for pc in at..at + 64 {
        let named = object.name(pc);
        assert_eq!(
            named[0].function.as_deref(),
            Some(&b"main.makeCacheDir"[..])
        );
        assert!(named[0].file.as_deref().unwrap().ends_with(b"/main.go"));
        lines.push(named[0].line.unwrap());
    }
    assert!(lines.contains(&7), "{lines:?}");
    assert!(lines.iter().all(|l| (6..=8).contains(l)), "{lines:?}");
    // At its entry nothing is pushed yet: the return address is at the stack pointer.
    assert_eq!(go.frame_size(at), Some(0));
    assert!(go.frame_size(at + 40).unwrap() > 0);
}

/// Mutated Go binaries, the flips falling in `.gopclntab`: names, frame sizes
/// or nothing, never a panic or a hang.
#[test]
fn mutated_go_tables_never_panic() {
    let Some((_dir, bytes)) = go_object("-s -w") else {
        println!("go is not installed (tests/run.sh installs golang-go): skipped");
        return;
    };
    use ::object::{Object as _, ObjectSection};
    let elf = ::object::File::parse(&*bytes).unwrap();
    let (start, size) = elf
        .section_by_name(".gopclntab")
        .and_then(|s| s.file_range())
        .expect("a -s -w Go binary keeps .gopclntab");
    let text = elf.section_by_name(".text").unwrap();
    let (text_start, text_size) = (text.address(), text.size());
    let (start, size) = (start as usize, size as usize);
    let mut rng = Lcg(1729);
    let mut tables = 0;
    for round in 0..300 {
        let mut copy = bytes.clone();
        let flips = 1 + rng.next() % 32;
        for _ in 0..flips {
            // Mostly the header and function table, where a flip does most harm.
            let span = if round % 2 == 0 { size.min(8192) } else { size };
            let at = start + rng.next() as usize % span;
            copy[at] = rng.next() as u8;
        }
        if round % 10 == 9 {
            copy.truncate(start + rng.next() as usize % size);
        }
        let Some(object) = Object::parse(Arc::from(copy)) else {
            continue;
        };
        let Some(go) = object.go.as_ref() else {
            continue;
        };
        tables += 1;
        for _ in 0..64 {
            let pc = text_start + rng.next() % text_size;
            let _ = object.name(pc);
            let _ = go.frame_size(pc);
            let _ = go.is_outermost(pc);
        }
        for pc in [0, u64::MAX, text_start, text_start + text_size] {
            let _ = object.name(pc);
            let _ = go.frame_size(pc);
        }
    }
    assert!(
        tables > 0,
        "no mutated table parsed: the test tested nothing"
    );
}

/// `/proc/TID/syscall` opened once: each read at offset 0 shows where the thread
/// waits now, and once the thread is gone the file fails rather than show another.
#[test]
fn a_kept_syscall_file_follows_its_thread_only() {
    use std::io::Write;
    let mut child = Command::new("sh")
        .args(["-c", "read x; sleep 30"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let file = std::fs::File::open(format!("/proc/{pid}/syscall")).unwrap();
    // Where it waits, once it waits: first in read, then in wait4 for its sleep.
    let blocked = |file: &std::fs::File| loop {
        if let Some(regs) = blocked_regs_in(file).unwrap() {
            return regs;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let reading = blocked(&file);
    assert_eq!(blocked_regs(pid), Some(reading));
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut waiting = blocked(&file);
    for _ in 0..1000 {
        if waiting != reading {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
        waiting = blocked(&file);
    }
    assert_ne!(waiting, reading, "the same file shows its new call");
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = blocked_regs_in(&file).unwrap_err();
    assert_eq!(gone.raw_os_error(), Some(libc::ESRCH));
}

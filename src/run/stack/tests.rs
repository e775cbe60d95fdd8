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
    let ok = Command::new("gcc")
        .args(["-O2", "-g", "-fomit-frame-pointer", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .ok()?
        .success();
    if !ok {
        return None;
    }
    let bytes = std::fs::read(&out).ok()?;
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

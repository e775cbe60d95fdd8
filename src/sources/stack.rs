//! The caller's stack as an event carries it: frames, innermost first, already
//! symbolized (see `run::stack` for how they are taken and named).
//!
//! Every name here comes from the workload's own files (its binaries, their
//! symbol tables and debug info), so each is [`Untrusted`] and shown escaped.

use crate::untrusted::Untrusted;
use serde::Serialize;

/// One frame of a caller's stack.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Frame {
    /// The function, from debug info or the symbol table; `None` for a stripped
    /// object (never a guess). JSON: `null`.
    pub function: Option<Untrusted>,
    /// The object (binary or shared library) as the process maps it.
    pub object: Untrusted,
    /// The address in the object as its ELF headers state it (what
    /// `addr2line -e OBJECT` takes): a return address for every frame but the
    /// first, which is where the call was made.
    pub offset: u64,
    /// Source file and line, where debug info has them.
    pub file: Option<Untrusted>,
    pub line: Option<u32>,
}

impl Frame {
    /// The object's last path component: `libc.so.6`.
    pub fn object_name(&self) -> Untrusted {
        let bytes = self.object.as_bytes();
        let base = bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes);
        Untrusted::new(base.to_vec())
    }

    /// Is the frame in the C library, the dynamic loader, or a language
    /// runtime: code the user did not write, folded away by default.
    pub fn is_runtime(&self) -> bool {
        let name = self.object_name();
        let name = name.as_bytes();
        let runtime_object = [
            &b"libc.so"[..],
            b"libc-",
            b"ld-linux",
            b"libpthread",
            b"libstdc++",
            b"libgcc_s",
            b"ld-musl",
            b"libc.musl",
        ]
        .iter()
        .any(|prefix| name.starts_with(prefix));
        let go_runtime = self.function.as_ref().is_some_and(|f| {
            let f = f.as_bytes();
            [
                &b"runtime."[..],
                b"runtime/",
                b"syscall.",
                b"internal/",
                b"os.",
                b"golang.org/x/sys/",
            ]
            .iter()
            .any(|p| f.starts_with(p))
        });
        let libc_start = self
            .function
            .as_ref()
            .is_some_and(|f| f.as_bytes().starts_with(b"_start"));
        runtime_object || go_runtime || libc_start
    }

    /// The frame in a few words: `make_cache_dir (cache.c:42)`, or
    /// `app+0x1139` when stripped. Escaped: safe to print.
    pub fn short(&self) -> String {
        let place = match (&self.file, self.line) {
            (Some(file), Some(line)) => {
                let file = file.as_bytes();
                let base = file.rsplit(|&b| b == b'/').next().unwrap_or(file);
                format!(" ({}:{line})", Untrusted::new(base.to_vec()))
            }
            _ => String::new(),
        };
        match &self.function {
            Some(function) => format!("{function}{place}"),
            None => format!("{}+{:#x}{place}", self.object_name(), self.offset),
        }
    }
}

/// The frames a person reads first: the workload's own code, with the runtime
/// frames it called through (libc's `mkdir`, Go's `syscall.Syscall6`) and the
/// ones that called it (`__libc_start_main`, `_start`) folded away. When every
/// frame is a runtime's, all of them.
pub fn own_frames(stack: &[Frame]) -> Vec<&Frame> {
    let own: Vec<&Frame> = stack.iter().filter(|f| !f.is_runtime()).collect();
    if own.is_empty() {
        stack.iter().collect()
    } else {
        own
    }
}

/// The stack in one line, innermost first, own code only:
/// `from make_cache_dir (cache.c:42) ← do_setup ← main`. Only the first frame
/// carries its file:line; `None` for an empty stack.
pub fn summary(stack: &[Frame]) -> Option<String> {
    let own = own_frames(stack);
    let (first, rest) = own.split_first()?;
    let mut line = format!("from {}", first.short());
    for frame in rest.iter().take(6) {
        let word = match &frame.function {
            Some(f) => f.to_string(),
            None => frame.short(),
        };
        line.push_str(" ← ");
        line.push_str(&word);
    }
    if rest.len() > 6 {
        line.push_str(" ← …");
    }
    Some(line)
}

/// The call site a stack stands for, to tell one syscall's callers apart: the
/// innermost own frame's object and address.
pub fn call_site(stack: &[Frame]) -> Option<(Untrusted, u64)> {
    own_frames(stack)
        .first()
        .map(|f| (f.object.clone(), f.offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(function: Option<&str>, object: &str, offset: u64, at: Option<(&str, u32)>) -> Frame {
        Frame {
            function: function.map(Untrusted::from),
            object: Untrusted::from(object),
            offset,
            file: at.map(|(f, _)| Untrusted::from(f)),
            line: at.map(|(_, l)| l),
        }
    }

    fn c_stack() -> Vec<Frame> {
        vec![
            frame(
                Some("mkdir"),
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                0xf6c7b,
                None,
            ),
            frame(
                Some("make_cache_dir"),
                "/tmp/app",
                0x1189,
                Some(("/src/cache.c", 42)),
            ),
            frame(
                Some("do_setup"),
                "/tmp/app",
                0x11a0,
                Some(("/src/cache.c", 50)),
            ),
            frame(Some("main"), "/tmp/app", 0x1060, Some(("/src/cache.c", 60))),
            frame(
                Some("__libc_start_call_main"),
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                0x271ca,
                None,
            ),
            frame(Some("_start"), "/tmp/app", 0x10a1, None),
        ]
    }

    #[test]
    fn the_summary_names_own_code_innermost_first() {
        assert_eq!(
            summary(&c_stack()).unwrap(),
            "from make_cache_dir (cache.c:42) ← do_setup ← main"
        );
        assert_eq!(summary(&[]), None);
    }

    #[test]
    fn a_stripped_frame_is_its_object_and_offset() {
        let f = frame(None, "/tmp/app-stripped", 0x1189, None);
        assert_eq!(f.short(), "app-stripped+0x1189");
        assert_eq!(summary(&[f]).unwrap(), "from app-stripped+0x1189");
    }

    #[test]
    fn a_name_with_control_characters_is_shown_escaped() {
        let f = frame(Some("evil\x1b[2J"), "/tmp/a\nb", 1, None);
        assert!(!f.short().contains('\x1b'));
        assert!(!f.object_name().to_string().contains('\n'));
    }

    #[test]
    fn when_every_frame_is_the_runtime_s_all_are_kept() {
        let stack = vec![frame(Some("mkdir"), "/lib/libc.so.6", 1, None)];
        assert_eq!(own_frames(&stack).len(), 1);
        assert_eq!(own_frames(&c_stack()).len(), 3);
        assert_eq!(
            call_site(&c_stack()),
            Some((Untrusted::from("/tmp/app"), 0x1189))
        );
    }
}

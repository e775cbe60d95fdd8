//! Just enough of the kernel's BTF (`/sys/kernel/btf/vmlinux`) to find where a
//! struct member sits and a typedef's id: the counter reads three members of
//! `task_struct` (to tell ia32 calls by `TS_COMPAT`, the bootstrap by its `comm`,
//! and calls before any filter by `seccomp.mode`) without guessing the layout of
//! this kernel's structs, and names `btf_trace_sys_enter` as its attach point.
//!
//! The format (Documentation/bpf/btf.rst): a header, then a run of type records
//! (`name_off`, `info` with the kind in bits 24–28 and `vlen` in 0–15, `size`)
//! each followed by a kind-dependent tail, then the string section.

use std::io;

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn bad(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("BTF: {why}"))
}

const STRUCT: u32 = 4;
const UNION: u32 = 5;
const TYPEDEF: u32 = 8;

/// The type records of a BTF blob with their ids (from 1), and its strings.
struct Types<'a> {
    types: &'a [u8],
    strings: &'a [u8],
}

/// One type record: its id, kind, name, `vlen`, `kflag`, and where it starts.
struct Record<'a> {
    id: u32,
    kind: u32,
    name: &'a [u8],
    vlen: usize,
    kflag: bool,
    at: usize,
}

impl<'a> Types<'a> {
    fn of(btf: &'a [u8]) -> io::Result<Types<'a>> {
        if btf.get(0..2) != Some(&0xeb9fu16.to_le_bytes()[..]) {
            return Err(bad("not little-endian BTF"));
        }
        let field = |at| u32_at(btf, at).ok_or_else(|| bad("header cut short"));
        let hdr_len = field(4)? as usize;
        let (type_off, type_len) = (field(8)? as usize, field(12)? as usize);
        let (str_off, str_len) = (field(16)? as usize, field(20)? as usize);
        let types = btf
            .get(hdr_len + type_off..hdr_len + type_off + type_len)
            .ok_or_else(|| bad("type section out of bounds"))?;
        let strings = btf
            .get(hdr_len + str_off..hdr_len + str_off + str_len)
            .ok_or_else(|| bad("string section out of bounds"))?;
        Ok(Types { types, strings })
    }

    fn name(&self, off: u32) -> &'a [u8] {
        let s = self.strings.get(off as usize..).unwrap_or_default();
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    }

    /// The first record `want` accepts.
    fn find(&self, mut want: impl FnMut(&Record<'a>) -> bool) -> Option<Record<'a>> {
        let (mut at, mut id) = (0, 1);
        while at + 12 <= self.types.len() {
            let name_off = u32_at(self.types, at).unwrap_or(0);
            let info = u32_at(self.types, at + 4).unwrap_or(0);
            let record = Record {
                id,
                kind: (info >> 24) & 0x1f,
                name: self.name(name_off),
                vlen: (info & 0xffff) as usize,
                kflag: info >> 31 == 1,
                at,
            };
            let tail = match record.kind {
                1 | 14 | 17 => 4,                    // INT, VAR, DECL_TAG
                3 => 12,                             // ARRAY
                4 | 5 | 15 | 19 => record.vlen * 12, // STRUCT, UNION, DATASEC, ENUM64
                6 | 13 => record.vlen * 8,           // ENUM, FUNC_PROTO
                _ => 0,
            };
            if want(&record) {
                return Some(record);
            }
            at += 12 + tail;
            id += 1;
        }
        None
    }
}

/// Byte offset of `member` in struct `owner`, both by name.
pub fn member_offset(btf: &[u8], owner: &str, member: &str) -> io::Result<usize> {
    let types = Types::of(btf)?;
    let record = types
        .find(|r| (r.kind == STRUCT || r.kind == UNION) && r.name == owner.as_bytes())
        .ok_or_else(|| bad(&format!("no struct {owner}")))?;
    for m in 0..record.vlen {
        let base = record.at + 12 + m * 12;
        if types.name(u32_at(types.types, base).unwrap_or(0)) == member.as_bytes() {
            let bits = u32_at(types.types, base + 8).unwrap_or(0);
            // With kflag set, the low 24 bits are the bit offset.
            let bits = if record.kflag {
                bits & 0x00ff_ffff
            } else {
                bits
            };
            return Ok(bits as usize / 8);
        }
    }
    Err(bad(&format!("no {owner}.{member}")))
}

/// The id of the typedef `name` (e.g. `btf_trace_sys_enter`, what a `tp_btf`
/// program names as its attach point).
pub fn typedef_id(btf: &[u8], name: &str) -> io::Result<u32> {
    Types::of(btf)?
        .find(|r| r.kind == TYPEDEF && r.name == name.as_bytes())
        .map(|r| r.id)
        .ok_or_else(|| bad(&format!("no typedef {name}")))
}

/// What the counter needs of this kernel's types, read once.
#[derive(Clone, Copy, Debug)]
pub struct Kernel {
    /// `task_struct.thread_info.status` (`TS_COMPAT` marks an ia32 call).
    pub thread_status: usize,
    /// `task_struct.seccomp.mode` (0 until a filter is installed).
    pub seccomp_mode: usize,
    /// `task_struct.comm`.
    pub comm: usize,
    /// The `btf_trace_sys_enter` typedef, for a `tp_btf` program.
    pub sys_enter: u32,
    /// The `btf_trace_sys_exit` typedef (the layer watcher).
    pub sys_exit: Option<u32>,
    /// The `btf_trace_cap_capable` typedef: the `capability:cap_capable`
    /// tracepoint (Linux 6.14) the layer watcher joins failed checks from.
    pub cap_capable: Option<u32>,
    /// `task_struct.seccomp.filter_count` (Linux 5.9): filters on the task.
    pub filter_count: Option<usize>,
}

/// This kernel's [`Kernel`] facts, from `/sys/kernel/btf/vmlinux` (read once).
pub fn kernel() -> io::Result<Kernel> {
    static KERNEL: std::sync::OnceLock<Result<Kernel, String>> = std::sync::OnceLock::new();
    KERNEL
        .get_or_init(|| {
            let btf = std::fs::read("/sys/kernel/btf/vmlinux")
                .map_err(|e| format!("/sys/kernel/btf/vmlinux: {e}"))?;
            let read = || -> io::Result<Kernel> {
                let off = |o, m, i, n| -> io::Result<usize> {
                    Ok(member_offset(&btf, o, m)? + member_offset(&btf, i, n)?)
                };
                Ok(Kernel {
                    thread_status: off("task_struct", "thread_info", "thread_info", "status")?,
                    seccomp_mode: off("task_struct", "seccomp", "seccomp", "mode")?,
                    comm: member_offset(&btf, "task_struct", "comm")?,
                    sys_enter: typedef_id(&btf, "btf_trace_sys_enter")?,
                    sys_exit: typedef_id(&btf, "btf_trace_sys_exit").ok(),
                    cap_capable: typedef_id(&btf, "btf_trace_cap_capable").ok(),
                    filter_count: off("task_struct", "seccomp", "seccomp", "filter_count").ok(),
                })
            };
            read().map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| io::Error::new(io::ErrorKind::NotFound, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A BTF blob with one struct `s { a; b at byte 8 }`.
    fn blob() -> Vec<u8> {
        let strings = b"\0s\0a\0b\0int\0".to_vec();
        let mut types = Vec::new();
        let mut word = |v: u32| types.extend_from_slice(&v.to_le_bytes());
        // [1] int (name 7), size 4, tail: encoding.
        word(7);
        word(1 << 24);
        word(4);
        word(32);
        // [2] struct s (name 1), 2 members, size 16.
        word(1);
        word((4 << 24) | 2);
        word(16);
        for (n, bits) in [(3, 0), (5, 64)] {
            word(n);
            word(1);
            word(bits);
        }
        let mut b = Vec::new();
        let mut put = |v: u32| b.extend_from_slice(&v.to_le_bytes());
        put(0x0001_eb9f); // magic, version 1, flags 0
        put(24);
        put(0);
        put(types.len() as u32);
        put(types.len() as u32);
        put(strings.len() as u32);
        b.extend(types);
        b.extend(strings);
        b
    }

    #[test]
    fn finds_a_member_s_byte_offset() {
        assert_eq!(member_offset(&blob(), "s", "b").unwrap(), 8);
        assert_eq!(member_offset(&blob(), "s", "a").unwrap(), 0);
        let err = |r: io::Result<usize>| r.map_err(|e| (e.kind(), e.to_string()));
        assert_eq!(
            err(member_offset(&blob(), "s", "c")),
            Err((io::ErrorKind::InvalidData, "BTF: no s.c".into()))
        );
        assert_eq!(
            err(member_offset(&blob(), "t", "a")),
            Err((io::ErrorKind::InvalidData, "BTF: no struct t".into()))
        );
        assert_eq!(
            err(member_offset(b"junk", "s", "a")),
            Err((
                io::ErrorKind::InvalidData,
                "BTF: not little-endian BTF".into()
            ))
        );
        let mut cut = blob();
        cut.truncate(30);
        assert_eq!(
            err(member_offset(&cut, "s", "a")),
            Err((
                io::ErrorKind::InvalidData,
                "BTF: type section out of bounds".into()
            ))
        );
    }

    #[test]
    fn this_kernel_s_task_struct_has_the_members_the_counter_reads() {
        let k = kernel().unwrap();
        // x86_64 keeps thread_info first in task_struct, status after two longs.
        assert_eq!(k.thread_status, 16);
        assert!(k.seccomp_mode > 16 && k.comm > 16, "{k:?}");
        assert!(k.sys_enter > 1, "{k:?}");
    }

    #[test]
    fn type_ids_count_records_from_one() {
        // "s" is a struct, not a typedef.
        assert_eq!(
            typedef_id(&blob(), "s").map_err(|e| e.to_string()),
            Err("BTF: no typedef s".to_string())
        );
        let blob = blob();
        let types = Types::of(&blob).unwrap();
        assert_eq!(types.find(|r| r.name == b"s").map(|r| r.id), Some(2));
    }
}

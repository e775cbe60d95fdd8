//! Just enough of the kernel's BTF (`/sys/kernel/btf/vmlinux`) to find where a
//! struct member sits: the counter asks where `task_struct.thread_info.status`
//! is, to tell ia32 calls (`TS_COMPAT`) from native ones without guessing the
//! layout of this kernel's structs.
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

/// Byte offset of `member` in struct `owner`, both by name.
pub fn member_offset(btf: &[u8], owner: &str, member: &str) -> io::Result<usize> {
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
    let name = |off: u32| -> &[u8] {
        let s = strings.get(off as usize..).unwrap_or_default();
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    };
    let mut at = 0;
    while at + 12 <= types.len() {
        let name_off = u32_at(types, at).unwrap_or(0);
        let info = u32_at(types, at + 4).unwrap_or(0);
        let (kind, vlen, kflag) = ((info >> 24) & 0x1f, (info & 0xffff) as usize, info >> 31);
        let tail = match kind {
            1 | 14 | 17 => 4,             // INT, VAR, DECL_TAG
            3 => 12,                      // ARRAY
            4 | 5 | 15 | 19 => vlen * 12, // STRUCT, UNION, DATASEC, ENUM64
            6 | 13 => vlen * 8,           // ENUM, FUNC_PROTO
            _ => 0,
        };
        if (kind == STRUCT || kind == UNION) && name(name_off) == owner.as_bytes() {
            for m in 0..vlen {
                let base = at + 12 + m * 12;
                if name(u32_at(types, base).unwrap_or(0)) == member.as_bytes() {
                    let bits = u32_at(types, base + 8).unwrap_or(0);
                    // With kflag set, the low 24 bits are the bit offset.
                    let bits = if kflag == 1 { bits & 0x00ff_ffff } else { bits };
                    return Ok(bits as usize / 8);
                }
            }
        }
        at += 12 + tail;
    }
    Err(bad(&format!("no {owner}.{member}")))
}

/// Offset of `owner.member.inner` in this kernel's structs.
fn nested(owner: &str, member: &str, of: &str, inner: &str) -> io::Result<usize> {
    let btf = std::fs::read("/sys/kernel/btf/vmlinux")?;
    Ok(member_offset(&btf, owner, member)? + member_offset(&btf, of, inner)?)
}

/// Offset of `task_struct.thread_info.status` (`TS_COMPAT` marks an ia32 call).
pub fn thread_status_offset() -> io::Result<usize> {
    nested("task_struct", "thread_info", "thread_info", "status")
}

/// Offset of `task_struct.seccomp.mode` (0 until a filter is installed).
pub fn seccomp_mode_offset() -> io::Result<usize> {
    nested("task_struct", "seccomp", "seccomp", "mode")
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
        assert!(member_offset(&blob(), "s", "c").is_err());
        assert!(member_offset(b"junk", "s", "a").is_err());
    }

    #[test]
    fn this_kernel_s_task_struct_has_the_members_the_counter_reads() {
        // x86_64 keeps thread_info first in task_struct, status after two longs.
        assert_eq!(thread_status_offset().unwrap(), 16);
        assert!(seccomp_mode_offset().unwrap() > 16);
    }
}

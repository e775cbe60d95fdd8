//! The memory behind pointer arguments, as the decoders see it: a trait, so
//! decoding stays pure and the kernel reads live with the sources.

/// Memory of a stopped (or at least alive) process.
pub trait TraceeMemory {
    /// Exactly `len` bytes at `addr`, or `None` if any of them is unreadable.
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>>;

    /// The C string at `addr` without its NUL; `max` bytes if no NUL comes
    /// first. `None` if the string runs into unreadable memory before either.
    fn read_cstr(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = addr;
        while out.len() < max {
            // Never ask for bytes across a page boundary in one read: the
            // next page may be unmapped while the string ends on this one.
            let room = (PAGE - (at % PAGE)) as usize;
            let want = room.min(max - out.len());
            let chunk = self.read(at, want)?;
            if let Some(nul) = chunk.iter().position(|&b| b == 0) {
                out.extend_from_slice(&chunk[..nul]);
                return Some(out);
            }
            out.extend_from_slice(&chunk);
            at = at.checked_add(want as u64)?;
        }
        Some(out)
    }
}

/// The smallest page size of the arches we decode; reads never cross a multiple of it.
const PAGE: u64 = 4096;

/// Memory given as bytes at a base address: for tests and recorded events.
pub struct SliceMemory<'a> {
    pub base: u64,
    pub bytes: &'a [u8],
}

impl TraceeMemory for SliceMemory<'_> {
    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        self.bytes
            .get(start..start.checked_add(len)?)
            .map(<[u8]>::to_vec)
    }

    /// Byte-exact: a slice ends where it ends, not at a page boundary.
    fn read_cstr(&self, addr: u64, max: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        let rest = self.bytes.get(start..)?;
        match rest.iter().take(max).position(|&b| b == 0) {
            Some(nul) => Some(rest[..nul].to_vec()),
            None if rest.len() >= max => Some(rest[..max].to_vec()),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_memory_bounds() {
        let m = SliceMemory {
            base: 0x1000,
            bytes: b"abc\0",
        };
        assert_eq!(m.read(0x1001, 2).as_deref(), Some(&b"bc"[..]));
        assert_eq!(m.read(0x1003, 2), None);
        assert_eq!(m.read(0xfff, 1), None);
        assert_eq!(m.read_cstr(0x1000, 10).as_deref(), Some(&b"abc"[..]));
        assert_eq!(m.read_cstr(0x1000, 2).as_deref(), Some(&b"ab"[..]));
        let unterminated = SliceMemory {
            base: 0,
            bytes: b"abc",
        };
        assert_eq!(unterminated.read_cstr(0, 10), None);
        assert_eq!(m.read(u64::MAX, 2), None);
    }
}

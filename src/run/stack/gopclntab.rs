//! Go's own tables (`.gopclntab`), read without Go's symbol table or DWARF:
//! a binary built with `-ldflags='-s -w'` keeps them, since Go's runtime needs
//! them for its own tracebacks. They give, for any program counter, its
//! function's name, the file and line, and the frame's size (`pcsp`), from
//! which Go code is unwound without `.eh_frame` or frame pointers.
//!
//! The layout read is Go 1.18's and later (magic `0xfffffff0`; 1.20 and later
//! write `0xfffffff1`, with the same header, function table and the `_func`
//! fields read here, `startLine` being after them). A header, a table of
//! `(entry offset, _func offset)` pairs sorted by entry, and per function
//! "pc-value" tables: pairs of zig-zag varint value deltas and pc deltas.
//!
//! The tables are the workload's and untrusted: every read is bounds-checked,
//! and every loop is bounded by the bytes it consumes.

use super::object::Bytes;

const MAGIC_118: u32 = 0xffff_fff0;
const MAGIC_120: u32 = 0xffff_fff1;

/// A function name or file name longer than this is cut (hostile tables).
const MAX_NAME: usize = 4096;

/// A frame larger than this is not believed (Go's largest are far smaller).
const MAX_FRAME: i64 = 64 << 20;

/// One module's `.gopclntab`.
pub struct GoTable {
    data: Bytes,
    ptr_size: usize,
    /// The pc quantum: 1 on x86, 4 on arm64.
    quantum: u64,
    nfunc: usize,
    text_start: u64,
    funcnames: usize,
    cutab: usize,
    filetab: usize,
    pctab: usize,
    functab: usize,
}

/// A function found for a pc: where its entry is and where its `_func` is.
#[derive(Clone, Copy)]
struct Func {
    entry: u64,
    at: usize,
}

/// What the tables say of a pc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoName {
    pub function: Vec<u8>,
    pub file: Option<Vec<u8>>,
    pub line: Option<u32>,
}

impl GoTable {
    /// Reads the header of a `.gopclntab` section; `None` when it is not one
    /// of a layout known here. `text` is where `.text` starts, used when the
    /// header leaves its text start 0 (position-independent binaries).
    pub fn parse(data: Bytes, text: u64) -> Option<GoTable> {
        let magic = u32::from_le_bytes(data.get(0..4)?.try_into().ok()?);
        if magic != MAGIC_118 && magic != MAGIC_120 {
            return None;
        }
        let (quantum, ptr_size) = (*data.get(6)?, *data.get(7)?);
        if !matches!(ptr_size, 4 | 8) || !matches!(quantum, 1 | 2 | 4) {
            return None;
        }
        let mut table = GoTable {
            data,
            ptr_size: ptr_size as usize,
            quantum: quantum as u64,
            nfunc: 0,
            text_start: 0,
            funcnames: 0,
            cutab: 0,
            filetab: 0,
            pctab: 0,
            functab: 0,
        };
        let word = |i: usize| usize::try_from(table.word(8 + i * table.ptr_size)?).ok();
        let nfunc = word(0)?;
        let text_start = table.word(8 + 2 * table.ptr_size)?;
        let (funcnames, cutab, filetab, pctab, functab) =
            (word(3)?, word(4)?, word(5)?, word(6)?, word(7)?);
        // The function table holds nfunc + 1 pairs of u32: all of it must be there.
        let pairs = nfunc.checked_add(1)?.checked_mul(8)?;
        if functab.checked_add(pairs)? > table.data.len() {
            return None;
        }
        table.nfunc = nfunc;
        table.text_start = if text_start == 0 { text } else { text_start };
        table.funcnames = funcnames;
        table.cutab = cutab;
        table.filetab = filetab;
        table.pctab = pctab;
        table.functab = functab;
        Some(table)
    }

    fn u32_at(&self, at: usize) -> Option<u32> {
        let bytes = self.data.get(at..at.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    }

    fn word(&self, at: usize) -> Option<u64> {
        let bytes = self.data.get(at..at.checked_add(self.ptr_size)?)?;
        Some(match self.ptr_size {
            8 => u64::from_le_bytes(bytes.try_into().ok()?),
            _ => u32::from_le_bytes(bytes.try_into().ok()?) as u64,
        })
    }

    /// The `i`th pair of the function table: (entry offset, `_func` offset).
    fn pair(&self, i: usize) -> Option<(u32, u32)> {
        let at = self.functab.checked_add(i.checked_mul(8)?)?;
        Some((self.u32_at(at)?, self.u32_at(at.checked_add(4)?)?))
    }

    /// The function `pc` (an address as the object states it) falls in.
    fn func(&self, pc: u64) -> Option<Func> {
        let off = u32::try_from(pc.checked_sub(self.text_start)?).ok()?;
        let end = self.pair(self.nfunc)?.0;
        if self.nfunc == 0 || off >= end {
            return None;
        }
        // The last entry at or below `off` (a corrupt table that is not
        // sorted gives a wrong function or none, never a loop).
        let (mut lo, mut hi) = (0, self.nfunc);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.pair(mid)?.0 <= off {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let (entry, at) = self.pair(lo)?;
        if entry > off {
            return None;
        }
        let at = self.functab.checked_add(at as usize)?;
        // `_func` begins with its own entry offset: a cross-check.
        (self.u32_at(at)? == entry).then_some(Func {
            entry: self.text_start + entry as u64,
            at,
        })
    }

    /// Field `n` (a u32, counted from 0) of a `_func`: 0 entry, 1 name, 4 pcsp,
    /// 5 pcfile, 6 pcln, 8 its compilation unit's index in the CU table.
    fn field(&self, f: Func, n: usize) -> Option<u32> {
        self.u32_at(f.at.checked_add(n * 4)?)
    }

    /// The value a pc-value table (at `off` in pctab) gives `pc`: Go's
    /// encoding, from -1 at the entry, of (zig-zag value delta, pc delta)
    /// varint pairs, the value holding up to the pc reached.
    fn pc_value(&self, f: Func, off: u32, pc: u64) -> Option<i64> {
        if off == 0 {
            return None;
        }
        let mut at = self.pctab.checked_add(off as usize)?;
        let (mut value, mut cur) = (-1i64, f.entry);
        let mut first = true;
        // Each step consumes at least two bytes: bounded by the table's length.
        loop {
            let (delta, n) = self.varint(at)?;
            if delta == 0 && !first {
                return None; // the table ended before reaching pc
            }
            first = false;
            at += n;
            let step = ((delta >> 1) as i64) ^ -((delta & 1) as i64);
            value = value.checked_add(step)?;
            let (pcdelta, n) = self.varint(at)?;
            at += n;
            cur = cur.checked_add(pcdelta as u64 * self.quantum)?;
            if pc < cur {
                return Some(value);
            }
        }
    }

    /// An unsigned LEB128 varint of at most 32 bits; its value and length.
    fn varint(&self, at: usize) -> Option<(u32, usize)> {
        let mut value = 0u32;
        for i in 0..5 {
            let b = *self.data.get(at.checked_add(i)?)?;
            value |= ((b & 0x7f) as u32).checked_shl(7 * i as u32)?;
            if b & 0x80 == 0 {
                return Some((value, i + 1));
            }
        }
        None
    }

    /// A NUL-terminated string at `at`, cut at [`MAX_NAME`].
    fn string(&self, at: usize) -> Option<Vec<u8>> {
        let rest = self.data.get(at..)?;
        let rest = &rest[..rest.len().min(MAX_NAME)];
        let len = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        (len > 0).then(|| rest[..len].to_vec())
    }

    /// The name, file and line of `pc` (a call site: a return address minus one).
    pub fn name(&self, pc: u64) -> Option<GoName> {
        let f = self.func(pc)?;
        let name_off = usize::try_from(self.field(f, 1)?).ok()?;
        let function = self.string(self.funcnames.checked_add(name_off)?)?;
        let line = self
            .pc_value(f, self.field(f, 6)?, pc)
            .and_then(|l| u32::try_from(l).ok())
            .filter(|&l| l > 0);
        let file = self.file(f, pc);
        Some(GoName {
            function,
            file,
            line,
        })
    }

    fn file(&self, f: Func, pc: u64) -> Option<Vec<u8>> {
        let fileno = usize::try_from(self.pc_value(f, self.field(f, 5)?, pc)?).ok()?;
        let cu = self.field(f, 8)? as usize;
        let index = cu.checked_add(fileno)?.checked_mul(4)?;
        let off = self.u32_at(self.cutab.checked_add(index)?)?;
        if off == u32::MAX {
            return None;
        }
        self.string(self.filetab.checked_add(off as usize)?)
    }

    /// How far the stack pointer at `pc` is below the frame's return address
    /// (Go's `pcsp`); `None` when the tables do not say.
    pub fn frame_size(&self, pc: u64) -> Option<u64> {
        let f = self.func(pc)?;
        let size = self.pc_value(f, self.field(f, 4)?, pc)?;
        (0..=MAX_FRAME).contains(&size).then_some(size as u64)
    }

    /// Is `pc` in a function no Go stack goes above (where a goroutine or a
    /// thread starts)? Named, since Go renumbers its function IDs.
    pub fn is_outermost(&self, pc: u64) -> bool {
        let Some(name) = self.func(pc).and_then(|f| {
            let off = usize::try_from(self.field(f, 1)?).ok()?;
            self.string(self.funcnames.checked_add(off)?)
        }) else {
            return false;
        };
        matches!(
            &name[..],
            b"runtime.goexit"
                | b"runtime.mstart"
                | b"runtime.rt0_go"
                | b"runtime.mcall"
                | b"runtime.morestack"
                | b"runtime.systemstack"
        )
    }
}

//! One mapped object (a binary or shared library), read once and kept: its
//! unwind sections for framehop, its symbols, and its DWARF line tables for
//! addr2line, parsed the first time a frame in it is named.
//!
//! The file is the workload's and untrusted: it is read whole into memory (not
//! mapped: a file truncated under a mapping would fault eperm), bounded in
//! size, and every parse of it may fail. A failure leaves a frame without a
//! name; a panic in a parser is caught and does the same.

use super::gopclntab::GoTable;
use object::{Object as _, ObjectSection, ObjectSegment, ObjectSymbol, SymbolKind};
use std::fs::File;
use std::io::Read;
use std::ops::{Deref, Range};
use std::os::unix::fs::OpenOptionsExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

/// Objects larger than this are not read: their frames show object+offset only.
pub const MAX_OBJECT: u64 = 512 << 20;

/// A window of an object's bytes, shared: what framehop reads sections through.
#[derive(Clone, Default)]
pub struct Bytes {
    file: Arc<[u8]>,
    range: Range<usize>,
}

impl Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.file.get(self.range.clone()).unwrap_or_default()
    }
}

/// A section as framehop wants it: where the object states it, and its bytes.
#[derive(Clone, Default)]
pub struct Section {
    pub svma: Option<Range<u64>>,
    pub data: Option<Bytes>,
}

/// A `PT_LOAD` segment: how file offsets become stated addresses.
#[derive(Clone, Copy, Debug)]
struct Load {
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

type Dwarf = addr2line::Context<gimli::EndianArcSlice<gimli::RunTimeEndian>>;

/// What is known of one object.
pub struct Object {
    file: Arc<[u8]>,
    loads: Vec<Load>,
    pub text: Section,
    pub eh_frame: Section,
    pub eh_frame_hdr: Section,
    pub got: Option<Range<u64>>,
    pub debug_frame: Option<Bytes>,
    /// Go's own tables, in a Go binary: names and frame sizes even when it
    /// was built without a symbol table and DWARF.
    pub go: Option<GoTable>,
    /// Its separate debug file, opened, until read by [`Object::names`].
    debug_file: Mutex<Option<File>>,
    /// Its symbols and separate debug file, read on first use.
    names: OnceLock<Names>,
    /// Its DWARF, parsed on first use; `None` inside: it has none, or it is bad.
    /// The lock is only tried: a parse that hangs on a hostile file leaves its
    /// frames unnamed instead of blocking the next one.
    dwarf: OnceLock<Mutex<Option<Dwarf>>>,
}

/// What naming reads of an object, once.
#[derive(Default)]
struct Names {
    /// Function symbols (`.symtab` and `.dynsym`, the debug file's too):
    /// start, size, name; by start.
    symbols: Vec<(u64, u64, Vec<u8>)>,
    /// The separate debug file, when the object's DWARF is there.
    debug: Option<Arc<[u8]>>,
}

/// What debug info says of one address: the innermost function first, then
/// the functions it was inlined into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Named {
    pub function: Option<Vec<u8>>,
    pub file: Option<Vec<u8>>,
    pub line: Option<u32>,
}

impl Object {
    /// Reads and parses the file; `None` when it cannot be read or is not an ELF
    /// file eperm can use.
    pub fn open(path: &str, pid: u32) -> Option<Object> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .ok()?;
        let file = read_regular(file)?;
        let mut object = catch_unwind(AssertUnwindSafe(|| Object::parse(file))).ok()??;
        // Opened now, while the process (and so its root) surely exists; read
        // when a frame is first named.
        object.debug_file = Mutex::new(object.separate_debug_file(pid));
        Some(object)
    }

    /// The separate debug file of an object that carries no DWARF itself,
    /// found by its build-id inside process `pid`'s root.
    fn separate_debug_file(&self, pid: u32) -> Option<File> {
        let elf = object::File::parse(&*self.file).ok()?;
        if elf.section_by_name(".debug_info").is_some() {
            return None;
        }
        let rel = super::debug_file::path_of(elf.build_id().ok()??)?;
        super::debug_file::open_in_root(pid, &rel)
    }

    /// What naming needs beyond unwinding, read the first time a frame in the
    /// object is named (after the call's answer): its symbols and its separate
    /// debug file's.
    fn names(&self) -> &Names {
        self.names.get_or_init(|| {
            catch_unwind(AssertUnwindSafe(|| {
                let file = self.debug_file.lock().ok().and_then(|mut f| f.take());
                let debug = file.and_then(read_regular);
                let mut symbols = object::File::parse(&*self.file)
                    .map(|elf| function_symbols(&elf))
                    .unwrap_or_default();
                if let Some(elf) = debug.as_ref().and_then(|d| object::File::parse(&**d).ok()) {
                    symbols.extend(function_symbols(&elf));
                    sort_symbols(&mut symbols);
                }
                Names { symbols, debug }
            }))
            .unwrap_or_default()
        })
    }

    /// Parses an object from its bytes (tests feed it mutated files).
    pub fn parse(file: Arc<[u8]>) -> Option<Object> {
        let elf = object::File::parse(&*file).ok()?;
        let window = |name: &str| -> Section {
            let Some(section) = elf.section_by_name(name) else {
                return Section::default();
            };
            let data = section.file_range().and_then(|(offset, size)| {
                let start = usize::try_from(offset).ok()?;
                let end = start.checked_add(usize::try_from(size).ok()?)?;
                (end <= file.len()).then(|| Bytes {
                    file: file.clone(),
                    range: start..end,
                })
            });
            let start = section.address();
            Section {
                svma: start.checked_add(section.size()).map(|end| start..end),
                data,
            }
        };
        let debug_frame = elf
            .section_by_name(".debug_frame")
            .and_then(|s| s.uncompressed_data().ok())
            .map(|data| {
                let file: Arc<[u8]> = Arc::from(&*data);
                let range = 0..file.len();
                Bytes { file, range }
            });
        let loads = elf
            .segments()
            .map(|s| {
                let (offset, filesz) = s.file_range();
                Load {
                    offset,
                    vaddr: s.address(),
                    filesz,
                }
            })
            .collect();
        let text = window(".text");
        let go = window(".gopclntab")
            .data
            .and_then(|data| GoTable::parse(data, text.svma.as_ref().map_or(0, |t| t.start)));
        Some(Object {
            text,
            go,
            eh_frame: window(".eh_frame"),
            eh_frame_hdr: window(".eh_frame_hdr"),
            got: window(".got").svma,
            debug_frame,
            loads,
            dwarf: OnceLock::new(),
            debug_file: Mutex::new(None),
            names: OnceLock::new(),
            file: file.clone(),
        })
    }

    /// The address the object states for a byte at `offset` in its file.
    pub fn svma_of_offset(&self, offset: u64) -> Option<u64> {
        self.loads
            .iter()
            .find(|l| offset >= l.offset && offset - l.offset < l.filesz.max(1))
            .map(|l| l.vaddr.wrapping_add(offset - l.offset))
    }

    /// Names an address stated in the object (a call site, not a return
    /// address): from DWARF when it has some, inlined callers included, else
    /// from Go's own tables, else from its symbol table; empty when it knows
    /// nothing.
    pub fn name(&self, svma: u64) -> Vec<Named> {
        let from_dwarf =
            catch_unwind(AssertUnwindSafe(|| self.dwarf_names(svma))).unwrap_or_default();
        if from_dwarf.iter().any(|n| n.function.is_some()) {
            return from_dwarf;
        }
        let from_go = self.go.as_ref().and_then(|go| {
            catch_unwind(AssertUnwindSafe(|| go.name(svma)))
                .ok()
                .flatten()
        });
        if let Some(go) = from_go {
            return vec![Named {
                function: Some(go.function),
                file: go.file,
                line: go.line,
            }];
        }
        let function = self.symbol(svma);
        let line = from_dwarf.first().cloned().unwrap_or_default();
        if function.is_none() && line.file.is_none() {
            return Vec::new();
        }
        vec![Named { function, ..line }]
    }

    fn symbol(&self, svma: u64) -> Option<Vec<u8>> {
        let symbols = &self.names().symbols;
        let i = symbols.partition_point(|(start, _, _)| *start <= svma);
        let (start, size, name) = symbols.get(i.checked_sub(1)?)?;
        (svma - start < *size).then(|| name.clone())
    }

    fn dwarf_names(&self, svma: u64) -> Vec<Named> {
        let source = self.names().debug.as_ref().unwrap_or(&self.file);
        let cell = self.dwarf.get_or_init(|| Mutex::new(load_dwarf(source)));
        let Ok(guard) = cell.try_lock() else {
            return Vec::new();
        };
        let Some(dwarf) = guard.as_ref() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let Ok(mut frames) = dwarf.find_frames(svma).skip_all_loads() else {
            return out;
        };
        // Bounded: a cycle in hostile DWARF must not spin forever.
        while let Ok(Some(frame)) = frames.next() {
            let function = frame
                .function
                .as_ref()
                .and_then(|f| f.demangle().ok())
                .map(|f| f.into_owned().into_bytes());
            let (file, line) = match frame.location {
                Some(l) => (l.file.map(|f| f.as_bytes().to_vec()), l.line),
                None => (None, None),
            };
            out.push(Named {
                function,
                file,
                line,
            });
            if out.len() >= 16 {
                break;
            }
        }
        out
    }
}

/// Reads a file that must be a regular one (a map_files link can only name a
/// mapped file, but a device can be mapped too), bounded.
fn read_regular(mut f: File) -> Option<Arc<[u8]>> {
    let meta = File::metadata(&f).ok()?;
    if !meta.is_file() || meta.len() > MAX_OBJECT {
        return None;
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    (&mut f).take(MAX_OBJECT).read_to_end(&mut data).ok()?;
    Some(Arc::from(data))
}

/// Function symbols of both tables, sorted by start, sized ones only: a
/// zero-sized symbol says nothing of where its function ends, and naming an
/// address after it would be a guess.
fn function_symbols(elf: &object::File<'_>) -> Vec<(u64, u64, Vec<u8>)> {
    let mut out: Vec<(u64, u64, Vec<u8>)> = elf
        .symbols()
        .chain(elf.dynamic_symbols())
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
        .filter_map(|s| Some((s.address(), s.size(), s.name_bytes().ok()?.to_vec())))
        .filter(|(_, _, name)| !name.is_empty())
        .collect();
    sort_symbols(&mut out);
    out
}

/// By start, one symbol per start (the largest).
fn sort_symbols(symbols: &mut Vec<(u64, u64, Vec<u8>)>) {
    symbols.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    symbols.dedup_by_key(|s| s.0);
}

/// The object's DWARF for addr2line; `None` when it has none or it is bad.
fn load_dwarf(file: &Arc<[u8]>) -> Option<Dwarf> {
    let elf = object::File::parse(&**file).ok()?;
    elf.section_by_name(".debug_info")?;
    let endian = if elf.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let load = |id: gimli::SectionId| -> Result<_, gimli::Error> {
        let data = elf
            .section_by_name(id.name())
            .filter(|_| !unused_for_names(id))
            .and_then(|s| s.uncompressed_data().ok())
            .map(|d| Arc::<[u8]>::from(&*d))
            .unwrap_or_else(|| Arc::from(&[][..]));
        Ok(gimli::EndianArcSlice::new(data, endian))
    };
    let dwarf = gimli::Dwarf::load(load).ok()?;
    addr2line::Context::from_dwarf(dwarf).ok()
}

/// Sections naming never reads (variables' locations, macros, type units),
/// left unloaded: in a distribution's debug file they are compressed, and
/// their decompression was a good part of the first stack's cost (glibc's
/// `.debug_loclists` is a sixth of its debug file).
fn unused_for_names(id: gimli::SectionId) -> bool {
    use gimli::SectionId::*;
    matches!(
        id,
        DebugLoc | DebugLocLists | DebugMacinfo | DebugMacro | DebugTypes
    )
}

//! A process's mappings, from `/proc/PID/maps`.

use std::fs;

/// One line of `/proc/PID/maps`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    pub start: u64,
    pub end: u64,
    pub exec: bool,
    /// Offset in the file of the mapping's first byte.
    pub offset: u64,
    /// `major:minor` of the file's device, as maps writes it.
    pub dev: String,
    pub inode: u64,
    /// The path as the process sees it (its own mount namespace and root):
    /// text to show, never a path to open (see [`Mapping::map_file`]).
    pub path: Vec<u8>,
}

impl Mapping {
    /// The file behind the mapping, through the kernel's own link to it: the
    /// object the process really maps, whatever its path says or now names.
    pub fn map_file(&self, pid: u32) -> String {
        format!("/proc/{pid}/map_files/{:x}-{:x}", self.start, self.end)
    }

    /// Is it backed by a file (not anonymous memory, the stack or the vdso)?
    pub fn is_file(&self) -> bool {
        self.inode != 0 && self.path.starts_with(b"/")
    }
}

/// The process's mappings in address order; `None` when it is gone.
pub fn read(pid: u32) -> Option<Vec<Mapping>> {
    let text = fs::read(format!("/proc/{pid}/maps")).ok()?;
    Some(text.split(|&b| b == b'\n').filter_map(parse).collect())
}

/// One line: `start-end perms offset dev inode   path`. The path is the rest
/// of the line after the inode and its padding (it may hold spaces).
pub fn parse(line: &[u8]) -> Option<Mapping> {
    let mut fields = line.splitn(6, |&b| b == b' ');
    let range = std::str::from_utf8(fields.next()?).ok()?;
    let perms = fields.next()?;
    let offset = std::str::from_utf8(fields.next()?).ok()?;
    let dev = std::str::from_utf8(fields.next()?).ok()?;
    let inode = std::str::from_utf8(fields.next()?).ok()?;
    let path = fields.next().unwrap_or_default();
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    let path_start = path.iter().position(|&b| b != b' ').unwrap_or(path.len());
    Some(Mapping {
        start,
        end,
        exec: perms.get(2) == Some(&b'x'),
        offset: u64::from_str_radix(offset, 16).ok()?,
        dev: dev.to_string(),
        inode: inode.parse().ok()?,
        path: path[path_start..].to_vec(),
    })
}

/// The mapping that holds `addr`.
pub fn containing(maps: &[Mapping], addr: u64) -> Option<&Mapping> {
    let i = maps.partition_point(|m| m.end <= addr);
    maps.get(i).filter(|m| m.start <= addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_with_spaces_in_its_path() {
        let m = parse(b"7f12a000-7f12c000 r-xp 00028000 fd:01 1048602                    /tmp/my lib.so (deleted)").unwrap();
        assert_eq!(
            (m.start, m.end, m.exec, m.offset),
            (0x7f12a000, 0x7f12c000, true, 0x28000)
        );
        assert_eq!((m.dev.as_str(), m.inode), ("fd:01", 1048602));
        assert_eq!(m.path, b"/tmp/my lib.so (deleted)");
        assert!(m.is_file());
        assert_eq!(m.map_file(7), "/proc/7/map_files/7f12a000-7f12c000");
    }

    #[test]
    fn anonymous_and_special_mappings_are_not_files() {
        let anon = parse(b"7ffd000-7ffe000 rw-p 00000000 00:00 0 ").unwrap();
        assert!(!anon.is_file());
        let stack =
            parse(b"7ffd000-7ffe000 rw-p 00000000 00:00 0                          [stack]")
                .unwrap();
        assert_eq!(stack.path, b"[stack]");
        assert!(!stack.is_file());
        assert_eq!(parse(b"garbage"), None);
        assert_eq!(parse(b""), None);
    }

    #[test]
    fn the_mapping_holding_an_address() {
        let maps: Vec<Mapping> = [
            &b"1000-2000 r--p 00000000 00:00 0"[..],
            b"3000-4000 r-xp 00000000 00:00 0",
        ]
        .iter()
        .filter_map(|l| parse(l))
        .collect();
        assert_eq!(containing(&maps, 0x3fff).map(|m| m.start), Some(0x3000));
        assert_eq!(containing(&maps, 0x2000), None);
        assert_eq!(containing(&maps, 0x1000).map(|m| m.start), Some(0x1000));
        assert_eq!(containing(&maps, 0x4000), None);
    }
}

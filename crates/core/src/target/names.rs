//! Which syscall names each libseccomp release knows, per architecture, and the
//! number it gives them. The table is `names.csv`, written by
//! tools/libseccomp-names.py from libseccomp's src/syscalls.csv at each release
//! tag (do not edit it by hand); `tests/integration/target.rs` checks it against
//! the libseccomp installed on the machine (feature `differential`).

use crate::arch::Arch;
use std::sync::OnceLock;

/// The releases, oldest first; rows index this list. The same as TAGS in
/// tools/libseccomp-names.py.
#[rustfmt::skip]
pub(super) const RELEASES: [(u8, u8, u8); 9] = [(2, 5, 0), (2, 5, 1), (2, 5, 2), (2, 5, 3), (2, 5, 4), (2, 5, 5), (2, 5, 6), (2, 6, 0), (2, 6, 1)];

/// The table's columns: the number each arch gives a name, as libseccomp's
/// CSV writes it (mips without its ABI's base, x32 without its bit).
pub(super) const COLUMNS: [Arch; 14] = [
    Arch::X86,
    Arch::X86_64,
    Arch::X32,
    Arch::Arm,
    Arch::Aarch64,
    Arch::Mips,
    Arch::Mips64,
    Arch::Mips64n32,
    Arch::Ppc,
    Arch::Ppc64,
    Arch::Riscv64,
    Arch::S390,
    Arch::S390x,
    Arch::Loongarch64,
];

/// The CSV's header: the row's fields, then [`COLUMNS`] as libseccomp names them.
const HEADER: &str = "name,since,until,x86,x86_64,x32,arm,aarch64,mips,mips64,mips64n32,ppc,ppc64,riscv64,s390,s390x,loongarch64";

/// One name's numbers for the releases from `since` up to, not including,
/// `until` (indices into [`RELEASES`]); a name whose numbers change has a row
/// for each. -1: the name is known but the arch has no such syscall
/// (libseccomp's PNR).
pub(super) type NameRow = (&'static str, u8, u8, [i32; 14]);

/// The rows of `names.csv`, read the first time they are asked for.
pub(super) fn rows() -> &'static [NameRow] {
    static ROWS: OnceLock<Vec<NameRow>> = OnceLock::new();
    ROWS.get_or_init(|| parse(include_str!("names.csv")))
}

/// The table is built into eperm: a line that does not read is a bug in the
/// generator, caught by any test that looks a name up.
fn parse(csv: &'static str) -> Vec<NameRow> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(HEADER), "names.csv: header");
    lines.map(row).collect()
}

fn row(line: &'static str) -> NameRow {
    let mut fields = line.split(',');
    let name = fields.next().unwrap_or_else(|| bad(line));
    let mut int = || {
        let field = fields.next().unwrap_or_else(|| bad(line));
        field.parse::<i32>().unwrap_or_else(|_| bad(line))
    };
    let since = int() as u8;
    let until = int() as u8;
    let nrs = std::array::from_fn(|_| int());
    if fields.next().is_some() {
        bad(line);
    }
    (name, since, until, nrs)
}

fn bad(line: &str) -> ! {
    panic!("names.csv: bad line {line:?}")
}

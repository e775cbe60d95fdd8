//! Name <-> number tables, built once from the `syscalls` crate.
//!
//! First cut: straight from the crate. Known gaps are fixed in `fixups`.

use super::{Arch, X32_SYSCALL_BIT};
use std::collections::HashMap;
use std::sync::OnceLock;

pub struct Table {
    by_nr: Vec<(&'static str, u32)>,
    by_name: HashMap<&'static str, u32>,
}

impl Table {
    fn new(mut entries: Vec<(&'static str, u32)>) -> Table {
        entries.sort_by_key(|&(name, nr)| (nr, name));
        entries.dedup();
        let by_name = entries.iter().copied().collect();
        Table {
            by_nr: entries,
            by_name,
        }
    }

    pub fn nr(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }

    pub fn name(&self, nr: u32) -> Option<&'static str> {
        let i = self.by_nr.partition_point(|&(_, n)| n < nr);
        self.by_nr
            .get(i)
            .filter(|&&(_, n)| n == nr)
            .map(|&(name, _)| name)
    }

    pub fn entries(&self) -> &[(&'static str, u32)] {
        &self.by_nr
    }
}

macro_rules! from_crate {
    ($module:ident) => {
        syscalls::$module::Sysno::iter()
            .map(|s| (s.name(), s.id() as u32))
            .collect::<Vec<_>>()
    };
}

fn build(arch: Arch) -> Table {
    let entries = match arch {
        Arch::X86_64 => from_crate!(x86_64),
        Arch::X32 => from_crate!(x86_64)
            .into_iter()
            .map(|(n, nr)| (n, nr | X32_SYSCALL_BIT))
            .collect(),
        Arch::X86 => from_crate!(x86),
        Arch::Aarch64 => from_crate!(aarch64),
        Arch::Arm => from_crate!(arm),
        Arch::Riscv64 => from_crate!(riscv64),
        Arch::S390x | Arch::S390 => from_crate!(s390x),
        Arch::Ppc64le | Arch::Ppc64 => from_crate!(powerpc64),
        Arch::Ppc => from_crate!(powerpc),
        Arch::Mips | Arch::Mipsel => from_crate!(mips),
        Arch::Mips64 | Arch::Mips64el | Arch::Mips64n32 | Arch::Mips64n32el => from_crate!(mips64),
        Arch::Loongarch64 => from_crate!(loongarch64),
    };
    Table::new(entries)
}

pub fn table(arch: Arch) -> &'static Table {
    static TABLES: OnceLock<Vec<Table>> = OnceLock::new();
    let tables = TABLES.get_or_init(|| Arch::ALL.iter().map(|&a| build(a)).collect());
    let i = Arch::ALL
        .iter()
        .position(|&a| a == arch)
        .expect("arch is in ALL");
    &tables[i]
}

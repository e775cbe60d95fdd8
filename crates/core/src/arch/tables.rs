//! Name <-> number tables.
//!
//! Most rows come from the `syscalls` crate, which is generated from the
//! kernel's syscall tables. Where the crate is wrong for an ABI, or has no
//! table for it at all (x32, mips n32, 31-bit s390), the short explicit lists
//! below correct it, each with the reason. The feature-gated test
//! `tests/integration/arch.rs` checks the result against libseccomp.
//!
//! Lists of names written as text use one format: a line `NNN: a b c` gives
//! `a` the number NNN, `b` NNN+1 and so on; `-` skips a number.

use super::{Arch, X32_SYSCALL_BIT};
use std::collections::HashMap;
use std::sync::OnceLock;

type Row = (&'static str, u32);

pub struct Table {
    by_nr: Vec<Row>,
    by_name: HashMap<&'static str, u32>,
}

impl Table {
    fn new(mut entries: Vec<Row>) -> Table {
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

    pub fn entries(&self) -> &[Row] {
        &self.by_nr
    }
}

/// Every syscall of one of the crate's arch modules.
///
/// Walks the number range with `Sysno::new`: the crate's `From<u32>` panics on
/// numbers it does not know, and its `Sysno::iter()` (0.8) stops one short of
/// the last syscall.
macro_rules! from_crate {
    ($module:ident) => {{
        use syscalls::$module::Sysno;
        let (first, last) = (Sysno::first().id(), Sysno::last().id());
        (first..=last)
            .filter_map(|nr| Sysno::new(nr as usize))
            .map(|s| (plain_name(s.name()), s.id() as u32))
            .filter(|&(name, _)| !is_placeholder(name))
            .collect::<Vec<Row>>()
    }};
}

/// The crate spells `break` (a Rust keyword) as the raw identifier `r#break`.
fn plain_name(name: &'static str) -> &'static str {
    name.strip_prefix("r#").unwrap_or(name)
}

/// The mips tables name their empty slots `unused18`, `reserved221` and so on.
/// Those are not syscalls and no profile should be able to name them.
fn is_placeholder(name: &str) -> bool {
    ["unused", "reserved"].iter().any(|prefix| {
        name.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Reads the `NNN: a b c` format described at the top of this file.
fn parse_block(block: &'static str) -> Vec<Row> {
    let mut rows = Vec::new();
    for line in block.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (start, names) = line.split_once(':').expect("block line has `NNN:`");
        let start: u32 = start
            .trim()
            .parse()
            .expect("block line starts with a number");
        for (nr, name) in (start..).zip(names.split_whitespace()) {
            if name != "-" {
                rows.push((name, nr));
            }
        }
    }
    rows
}

fn names_of(rows: &[Row]) -> Vec<&'static str> {
    rows.iter().map(|&(name, _)| name).collect()
}

/// Replaces rows by name: every name in `new` loses its old number, then `new` is added.
fn override_rows(rows: &mut Vec<Row>, new: Vec<Row>) {
    let names = names_of(&new);
    rows.retain(|(name, _)| !names.contains(name));
    rows.extend(new);
}

fn drop_names(rows: &mut Vec<Row>, names: &[&str]) {
    rows.retain(|(name, _)| !names.contains(name));
}

fn shift(rows: Vec<Row>, from_base: u32, to_base: u32) -> Vec<Row> {
    rows.into_iter()
        .map(|(name, nr)| (name, nr - from_base + to_base))
        .collect()
}

/// The 64-bit time calls that 32-bit ABIs got in 5.1 (numbers as in the
/// generic table; add the ABI's base).
const TIME64_CALLS: &str = "
    403: clock_gettime64 clock_settime64 clock_adjtime64 clock_getres_time64
    407: clock_nanosleep_time64 timer_gettime64 timer_settime64 timerfd_gettime64
    411: timerfd_settime64 utimensat_time64 pselect6_time64 ppoll_time64
    416: io_pgetevents_time64 recvmmsg_time64 mq_timedsend_time64 mq_timedreceive_time64
    420: semtimedop_time64 rt_sigtimedwait_time64 futex_time64 sched_rr_get_interval_time64
";

/// x32 has its own numbers for the calls whose arguments differ from x86_64
/// (`x32` rows of syscall_64.tbl). Their x86_64 numbers are `64` rows, which
/// x32 does not have.
const X32_OWN: &str = "
    512: rt_sigaction rt_sigreturn ioctl readv writev recvfrom sendmsg recvmsg
    520: execve ptrace rt_sigpending rt_sigtimedwait rt_sigqueueinfo sigaltstack
    526: timer_create mq_notify kexec_load waitid set_robust_list get_robust_list
    532: vmsplice move_pages preadv pwritev rt_tgsigqueueinfo recvmmsg sendmmsg
    539: process_vm_readv process_vm_writev setsockopt getsockopt io_setup io_submit
    545: execveat preadv2 pwritev2
";

/// The other `64` rows of syscall_64.tbl: x86_64 only, with no x32 counterpart.
const X86_64_ONLY: &[&str] = &[
    "uselib",
    "_sysctl",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "nfsservctl",
    "set_thread_area",
    "get_thread_area",
    "epoll_ctl_old",
    "epoll_wait_old",
    "vserver",
];

fn x32() -> Vec<Row> {
    let own = parse_block(X32_OWN);
    let mut rows = from_crate!(x86_64);
    drop_names(&mut rows, X86_64_ONLY);
    override_rows(&mut rows, own);
    rows.into_iter()
        .map(|(name, nr)| (name, nr | X32_SYSCALL_BIT))
        .collect()
}

/// ARM's private calls live at `__ARM_NR_BASE` (0x0f0000); the crate leaves them out.
const ARM_PRIVATE: &[Row] = &[
    ("breakpoint", 0x0f_0001),
    ("cacheflush", 0x0f_0002),
    ("usr26", 0x0f_0003),
    ("usr32", 0x0f_0004),
    ("set_tls", 0x0f_0005),
    ("get_tls", 0x0f_0006),
];

/// 64-bit arches on the generic table (scripts/syscall.tbl).
fn generic64(mut rows: Vec<Row>) -> Vec<Row> {
    // Row 79 is `fstatat64` on 32-bit ABIs and `newfstatat` on 64-bit ones;
    // the crate calls it `fstatat`, a name no kernel table uses.
    for row in rows.iter_mut().filter(|(name, _)| *name == "fstatat") {
        row.0 = "newfstatat";
    }
    // 403..=423 are `32` rows: 64-bit ABIs never had 32-bit time_t to replace.
    drop_names(&mut rows, &names_of(&parse_block(TIME64_CALLS)));
    rows
}

/// The crate's loongarch64 module is a copy of aarch64's, but loongarch
/// enables none of the optional ABIs of the generic table (as of 6.18): no
/// `renameat`, no `rlimit`, no `memfd_secret` rows.
const NOT_ON_LOONGARCH: &[&str] = &["renameat", "getrlimit", "setrlimit", "memfd_secret"];

/// 31-bit s390 shares s390x's `common` rows. These are its `32` rows: the old
/// 16-bit-uid calls under the plain names (s390x gives the plain names the
/// numbers that s390 uses for the `*32` calls), plus the usual 32-bit extras.
const S390_32BIT: &str = "
    13: time
    16: lchown
    23: setuid getuid stime
    46: setgid getgid - geteuid getegid
    70: setreuid setregid
    76: getrlimit
    80: getgroups setgroups
    95: fchown
    101: ioperm
    138: setfsuid setfsgid _llseek - _newselect
    164: setresuid getresuid
    170: setresgid getresgid
    182: chown
    191: ugetrlimit mmap2 truncate64 ftruncate64 stat64 lstat64 fstat64
    198: lchown32 getuid32 getgid32 geteuid32 getegid32 setreuid32 setregid32 getgroups32
    206: setgroups32 fchown32 setresuid32 getresuid32 setresgid32 getresgid32 chown32 setuid32
    214: setgid32 setfsuid32 setfsgid32
    221: fcntl64 - sendfile64
    264: fadvise64_64
    293: fstatat64
";

/// s390x's `64` rows, which 31-bit s390 does not have.
const S390X_ONLY: &[&str] = &["select", "newfstatat", "semtimedop"];

fn s390() -> Vec<Row> {
    let mut rows = from_crate!(s390x);
    drop_names(&mut rows, S390X_ONLY);
    override_rows(&mut rows, parse_block(S390_32BIT));
    rows.extend(parse_block(TIME64_CALLS));
    rows
}

const MIPS_N64_BASE: u32 = 5000;
const MIPS_N32_BASE: u32 = 6000;

fn mips_n64() -> Vec<Row> {
    let mut rows = from_crate!(mips64);
    // syscall_n64.tbl marks this row `common` instead of `n64`, so the crate's
    // generator skipped it.
    rows.push(("set_mempolicy_home_node", MIPS_N64_BASE + 450));
    rows
}

/// n32 numbers its calls like n64 below 212 and from 424 on. In between it
/// has the 32-bit extras (`fcntl64`, `statfs64`, ...), which shift the rest,
/// and `getdents64` sits elsewhere. Numbers relative to 6000, from syscall_n32.tbl.
const N32_MIDDLE: &str = "
    212: fcntl64 set_tid_address restart_syscall semtimedop fadvise64 statfs64 fstatfs64 sendfile64
    220: timer_create timer_settime timer_gettime timer_getoverrun timer_delete
    225: clock_settime clock_gettime clock_getres clock_nanosleep tgkill utimes mbind
    232: get_mempolicy set_mempolicy mq_open mq_unlink mq_timedsend mq_timedreceive
    238: mq_notify mq_getsetattr vserver waitid - add_key request_key keyctl
    246: set_thread_area inotify_init inotify_add_watch inotify_rm_watch migrate_pages
    251: openat mkdirat mknodat fchownat futimesat newfstatat unlinkat renameat linkat
    260: symlinkat readlinkat fchmodat faccessat pselect6 ppoll unshare splice
    268: sync_file_range tee vmsplice move_pages set_robust_list get_robust_list
    274: kexec_load getcpu epoll_pwait ioprio_set ioprio_get utimensat signalfd timerfd
    282: eventfd fallocate timerfd_create timerfd_gettime timerfd_settime signalfd4
    288: eventfd2 epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo
    296: perf_event_open accept4 recvmmsg getdents64 fanotify_init fanotify_mark prlimit64
    303: name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns
    309: process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr
    315: renameat2 seccomp getrandom memfd_create bpf execveat userfaultfd membarrier
    323: mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc pkey_free statx
    331: rseq io_pgetevents
";

fn mips_n32() -> Vec<Row> {
    let mut rows: Vec<Row> = shift(mips_n64(), MIPS_N64_BASE, 0)
        .into_iter()
        .filter(|&(_, nr)| !(212..424).contains(&nr))
        .collect();
    rows.extend(parse_block(N32_MIDDLE));
    rows.extend(parse_block(TIME64_CALLS));
    shift(rows, 0, MIPS_N32_BASE)
}

fn build(arch: Arch) -> Table {
    let entries = match arch {
        Arch::X86_64 => from_crate!(x86_64),
        Arch::X32 => x32(),
        Arch::X86 => from_crate!(x86),
        Arch::Aarch64 => generic64(from_crate!(aarch64)),
        Arch::Loongarch64 => {
            let mut rows = generic64(from_crate!(loongarch64));
            drop_names(&mut rows, NOT_ON_LOONGARCH);
            rows
        }
        Arch::Riscv64 => from_crate!(riscv64),
        Arch::Arm => {
            let mut rows = from_crate!(arm);
            rows.extend_from_slice(ARM_PRIVATE);
            rows
        }
        Arch::S390x => from_crate!(s390x),
        Arch::S390 => s390(),
        Arch::Ppc64le | Arch::Ppc64 => from_crate!(powerpc64),
        Arch::Ppc => from_crate!(powerpc),
        Arch::Mips | Arch::Mipsel => from_crate!(mips),
        Arch::Mips64 | Arch::Mips64el => mips_n64(),
        Arch::Mips64n32 | Arch::Mips64n32el => mips_n32(),
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

//! Symbolic names for syscall argument values: flag sets (`O_WRONLY|O_CREAT`),
//! enumerations (`PR_SET_NAME`, `TIOCGWINSZ`), signals and errno names.
//!
//! Values are those of the kernel's uapi headers. Most tables are the same on
//! every arch eperm decodes for people: x86_64, x32, x86, aarch64, arm,
//! riscv64, loongarch64, s390/s390x ("generic" below). Where an arch differs,
//! [`Set::table`] takes the [`Arch`]: `O_DIRECTORY` and its neighbours on
//! arm/aarch64, the size field of ioctl requests that carry a `long` on 32-bit
//! arches, `MAP_32BIT` and the extra ptrace requests on x86. mips, ppc, sparc
//! and alpha use different open/mmap/signal/ioctl values that are not
//! tabulated here: on those arches the generic tables are a best effort.

use crate::arch::Arch;

/// One name and its value.
pub type Sym = (&'static str, u64);

/// An argument's vocabulary on one arch.
///
/// A set is either an enumeration (`bits` empty) or a flag word whose
/// optional low `field` is an enumeration of its own (the access mode of
/// `open`, the socket type, the exit signal of `clone`).
pub struct FlagSet {
    /// The enumeration of the low field, and the field's mask.
    field: Option<(u64, Field)>,
    /// Flag bits; entries covering several bits come before their parts.
    bits: &'static [&'static [Sym]],
    /// The name printed for 0 when no field names it (`PROT_NONE`, `F_OK`).
    zero: Option<&'static str>,
}

#[derive(Clone, Copy)]
enum Field {
    Names(&'static [&'static [Sym]]),
    Signal,
}

/// Which argument vocabulary; [`Set::table`] picks the arch's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Set {
    /// `open`/`openat`/`openat2` flags, including the access mode.
    Open,
    /// `pipe2` and `dup3` flags: open's bits with no access mode, so 0 is `0`.
    OpenBits,
    /// `AT_SYMLINK_NOFOLLOW`, `AT_EMPTY_PATH`, … (stat family, chown, execveat, statx).
    At,
    /// `faccessat2` flags (`AT_EACCESS`).
    AccessAt,
    /// `unlinkat` flags (`AT_REMOVEDIR`).
    UnlinkAt,
    /// `access` mode: `F_OK`, `R_OK|W_OK`.
    Access,
    /// `renameat2` flags.
    Rename,
    /// `statx` mask.
    Statx,
    SocketFamily,
    /// Socket type plus `SOCK_NONBLOCK|SOCK_CLOEXEC`.
    SocketType,
    /// Protocols of `AF_INET`/`AF_INET6`.
    IpProto,
    /// Protocols of `AF_NETLINK`.
    NetlinkProto,
    /// `clone` flags, with the exit signal in the low byte.
    Clone,
    /// `clone3` flags (64-bit, no signal byte).
    Clone3,
    /// `unshare` and `setns` flags.
    Unshare,
    Mount,
    Umount,
    Prctl,
    Ioctl,
    Personality,
    Prot,
    Map,
    Signal,
    Ptrace,
    Bpf,
    Keyctl,
    /// `KEY_SPEC_*` keyring ids (negative numbers).
    KeySpec,
    RebootMagic,
    RebootCmd,
    Syslog,
    Quotactl,
    QuotaType,
    KexecFlags,
    PerfFlags,
    PerfType,
    IoUringSetup,
    Userfaultfd,
    FinitModule,
    /// `socketcall`'s call numbers (x86, s390, ppc…).
    SocketCall,
}

const fn set(field: Option<(u64, Field)>, bits: &'static [&'static [Sym]]) -> FlagSet {
    FlagSet {
        field,
        bits,
        zero: None,
    }
}

const fn enumeration(names: &'static [&'static [Sym]]) -> FlagSet {
    set(Some((u64::MAX, Field::Names(names))), &[])
}

// ---- open --------------------------------------------------------------------

const O_ACCMODE: &[Sym] = &[("O_RDONLY", 0), ("O_WRONLY", 1), ("O_RDWR", 2)];

/// Flags at the same value on every arch handled here.
const O_COMMON: &[Sym] = &[
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    // O_SYNC is __O_SYNC|O_DSYNC: it must be matched before O_DSYNC.
    ("O_SYNC", 0o4010000),
    ("O_DSYNC", 0o10000),
    ("FASYNC", 0o20000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000),
];

/// asm-generic: x86, x86_64, riscv64, loongarch, s390. O_TMPFILE includes O_DIRECTORY.
const O_GENERIC: &[Sym] = &[
    ("O_TMPFILE", 0o20200000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_DIRECTORY", 0o200000),
    ("O_NOFOLLOW", 0o400000),
];

/// arm and aarch64 move four flags.
const O_ARM: &[Sym] = &[
    ("O_TMPFILE", 0o20040000),
    ("O_DIRECTORY", 0o40000),
    ("O_NOFOLLOW", 0o100000),
    ("O_DIRECT", 0o200000),
    ("O_LARGEFILE", 0o400000),
];

static OPEN_GENERIC: FlagSet = set(
    Some((3, Field::Names(&[O_ACCMODE]))),
    &[O_GENERIC, O_COMMON],
);
static OPEN_ARM: FlagSet = set(Some((3, Field::Names(&[O_ACCMODE]))), &[O_ARM, O_COMMON]);
// pipe2 and dup3 have no access mode: their 0 is no flags, not O_RDONLY.
static OPEN_BITS_GENERIC: FlagSet = set(None, &[O_GENERIC, O_COMMON]);
static OPEN_BITS_ARM: FlagSet = set(None, &[O_ARM, O_COMMON]);

// ---- *at ---------------------------------------------------------------------

/// `AT_FDCWD` as the kernel sees an `int` argument.
pub const AT_FDCWD: i32 = -100;

const AT_COMMON: &[Sym] = &[
    ("AT_SYMLINK_NOFOLLOW", 0x100),
    ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800),
    ("AT_EMPTY_PATH", 0x1000),
    ("AT_STATX_FORCE_SYNC", 0x2000),
    ("AT_STATX_DONT_SYNC", 0x4000),
    ("AT_RECURSIVE", 0x8000),
];
static AT: FlagSet = set(None, &[AT_COMMON]);
static ACCESS_AT: FlagSet = set(None, &[&[("AT_EACCESS", 0x200)], AT_COMMON]);
static UNLINK_AT: FlagSet = set(None, &[&[("AT_REMOVEDIR", 0x200)]]);
static ACCESS: FlagSet = FlagSet {
    field: None,
    bits: &[&[("R_OK", 4), ("W_OK", 2), ("X_OK", 1)]],
    zero: Some("F_OK"),
};
static RENAME: FlagSet = set(
    None,
    &[&[
        ("RENAME_NOREPLACE", 1),
        ("RENAME_EXCHANGE", 2),
        ("RENAME_WHITEOUT", 4),
    ]],
);
static STATX: FlagSet = set(
    None,
    &[&[
        ("STATX_BASIC_STATS", 0x7ff),
        ("STATX_TYPE", 0x1),
        ("STATX_MODE", 0x2),
        ("STATX_NLINK", 0x4),
        ("STATX_UID", 0x8),
        ("STATX_GID", 0x10),
        ("STATX_ATIME", 0x20),
        ("STATX_MTIME", 0x40),
        ("STATX_CTIME", 0x80),
        ("STATX_INO", 0x100),
        ("STATX_SIZE", 0x200),
        ("STATX_BLOCKS", 0x400),
        ("STATX_BTIME", 0x800),
        ("STATX_MNT_ID", 0x1000),
        ("STATX_DIOALIGN", 0x2000),
        ("STATX_MNT_ID_UNIQUE", 0x4000),
    ]],
);

// ---- sockets -----------------------------------------------------------------

static SOCKET_FAMILY: FlagSet = enumeration(&[&[
    ("AF_UNSPEC", 0),
    ("AF_UNIX", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_MCTP", 45),
]]);

/// Accepted by `parse_value` only: printing uses the `AF_` spelling.
const FAMILY_ALIASES: &[Sym] = &[("AF_LOCAL", 1), ("AF_FILE", 1), ("AF_ROUTE", 16)];

const SOCK_TYPES: &[Sym] = &[
    ("SOCK_STREAM", 1),
    ("SOCK_DGRAM", 2),
    ("SOCK_RAW", 3),
    ("SOCK_RDM", 4),
    ("SOCK_SEQPACKET", 5),
    ("SOCK_DCCP", 6),
    ("SOCK_PACKET", 10),
];
// SOCK_NONBLOCK is O_NONBLOCK and SOCK_CLOEXEC is O_CLOEXEC (generic and arm alike).
static SOCKET_TYPE: FlagSet = set(
    Some((0xf, Field::Names(&[SOCK_TYPES]))),
    &[&[("SOCK_NONBLOCK", 0o4000), ("SOCK_CLOEXEC", 0o2000000)]],
);

static IPPROTO: FlagSet = enumeration(&[&[
    ("IPPROTO_IP", 0),
    ("IPPROTO_ICMP", 1),
    ("IPPROTO_IGMP", 2),
    ("IPPROTO_TCP", 6),
    ("IPPROTO_UDP", 17),
    ("IPPROTO_IPV6", 41),
    ("IPPROTO_GRE", 47),
    ("IPPROTO_ICMPV6", 58),
    ("IPPROTO_SCTP", 132),
    ("IPPROTO_UDPLITE", 136),
    ("IPPROTO_RAW", 255),
    ("IPPROTO_MPTCP", 262),
]]);

static NETLINK_PROTO: FlagSet = enumeration(&[&[
    ("NETLINK_ROUTE", 0),
    ("NETLINK_USERSOCK", 2),
    ("NETLINK_FIREWALL", 3),
    ("NETLINK_SOCK_DIAG", 4),
    ("NETLINK_NFLOG", 5),
    ("NETLINK_XFRM", 6),
    ("NETLINK_SELINUX", 7),
    ("NETLINK_ISCSI", 8),
    ("NETLINK_AUDIT", 9),
    ("NETLINK_FIB_LOOKUP", 10),
    ("NETLINK_CONNECTOR", 11),
    ("NETLINK_NETFILTER", 12),
    ("NETLINK_IP6_FW", 13),
    ("NETLINK_DNRTMSG", 14),
    ("NETLINK_KOBJECT_UEVENT", 15),
    ("NETLINK_GENERIC", 16),
    ("NETLINK_SCSITRANSPORT", 18),
    ("NETLINK_ECRYPTFS", 19),
    ("NETLINK_RDMA", 20),
    ("NETLINK_CRYPTO", 21),
    ("NETLINK_SMC", 22),
]]);

static SOCKETCALL: FlagSet = enumeration(&[&[
    ("SYS_SOCKET", 1),
    ("SYS_BIND", 2),
    ("SYS_CONNECT", 3),
    ("SYS_LISTEN", 4),
    ("SYS_ACCEPT", 5),
    ("SYS_GETSOCKNAME", 6),
    ("SYS_GETPEERNAME", 7),
    ("SYS_SOCKETPAIR", 8),
    ("SYS_SEND", 9),
    ("SYS_RECV", 10),
    ("SYS_SENDTO", 11),
    ("SYS_RECVFROM", 12),
    ("SYS_SHUTDOWN", 13),
    ("SYS_SETSOCKOPT", 14),
    ("SYS_GETSOCKOPT", 15),
    ("SYS_SENDMSG", 16),
    ("SYS_RECVMSG", 17),
    ("SYS_ACCEPT4", 18),
    ("SYS_RECVMMSG", 19),
    ("SYS_SENDMMSG", 20),
]]);

// ---- clone, namespaces ---------------------------------------------------------

/// The namespace flags, which `unshare` and `setns` take too.
const CLONE_NS: &[Sym] = &[
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_NEWCGROUP", 0x0200_0000),
    ("CLONE_NEWUTS", 0x0400_0000),
    ("CLONE_NEWIPC", 0x0800_0000),
    ("CLONE_NEWUSER", 0x1000_0000),
    ("CLONE_NEWPID", 0x2000_0000),
    ("CLONE_NEWNET", 0x4000_0000),
];

const CLONE_OTHER: &[Sym] = &[
    ("CLONE_VM", 0x100),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_SETTLS", 0x80000),
    ("CLONE_PARENT_SETTID", 0x10_0000),
    ("CLONE_CHILD_CLEARTID", 0x20_0000),
    ("CLONE_DETACHED", 0x40_0000),
    ("CLONE_UNTRACED", 0x80_0000),
    ("CLONE_CHILD_SETTID", 0x100_0000),
    ("CLONE_IO", 0x8000_0000),
];

/// Shares its bit with the exit-signal byte of `clone`: only `clone3` and `unshare`.
const CLONE_NEWTIME: Sym = ("CLONE_NEWTIME", 0x80);

/// CSIGNAL, the low byte of clone's flags, holds the exit signal.
static CLONE: FlagSet = set(Some((0xff, Field::Signal)), &[CLONE_NS, CLONE_OTHER]);
static CLONE3: FlagSet = set(
    None,
    &[
        CLONE_NS,
        CLONE_OTHER,
        &[
            CLONE_NEWTIME,
            ("CLONE_CLEAR_SIGHAND", 0x1_0000_0000),
            ("CLONE_INTO_CGROUP", 0x2_0000_0000),
        ],
    ],
);
static UNSHARE: FlagSet = set(None, &[CLONE_NS, &[CLONE_NEWTIME], CLONE_OTHER]);

// ---- mount -------------------------------------------------------------------

static MOUNT: FlagSet = set(
    None,
    &[&[
        ("MS_RDONLY", 1),
        ("MS_NOSUID", 2),
        ("MS_NODEV", 4),
        ("MS_NOEXEC", 8),
        ("MS_SYNCHRONOUS", 16),
        ("MS_REMOUNT", 32),
        ("MS_MANDLOCK", 64),
        ("MS_DIRSYNC", 128),
        ("MS_NOSYMFOLLOW", 256),
        ("MS_NOATIME", 1024),
        ("MS_NODIRATIME", 2048),
        ("MS_BIND", 4096),
        ("MS_MOVE", 8192),
        ("MS_REC", 16384),
        ("MS_SILENT", 32768),
        ("MS_POSIXACL", 1 << 16),
        ("MS_UNBINDABLE", 1 << 17),
        ("MS_PRIVATE", 1 << 18),
        ("MS_SLAVE", 1 << 19),
        ("MS_SHARED", 1 << 20),
        ("MS_RELATIME", 1 << 21),
        ("MS_KERNMOUNT", 1 << 22),
        ("MS_I_VERSION", 1 << 23),
        ("MS_STRICTATIME", 1 << 24),
        ("MS_LAZYTIME", 1 << 25),
        ("MS_SUBMOUNT", 1 << 26),
        ("MS_NOREMOTELOCK", 1 << 27),
        ("MS_NOSEC", 1 << 28),
        ("MS_BORN", 1 << 29),
        ("MS_ACTIVE", 1 << 30),
        ("MS_NOUSER", 1 << 31),
    ]],
);
/// The old magic in the high 16 bits of `mount`'s flags.
pub const MS_MGC_VAL: u64 = 0xC0ED_0000;
pub const MS_MGC_MSK: u64 = 0xffff_0000;

static UMOUNT: FlagSet = set(
    None,
    &[&[
        ("MNT_FORCE", 1),
        ("MNT_DETACH", 2),
        ("MNT_EXPIRE", 4),
        ("UMOUNT_NOFOLLOW", 8),
    ]],
);

// ---- prctl -------------------------------------------------------------------

static PRCTL: FlagSet = enumeration(&[&[
    ("PR_SET_PDEATHSIG", 1),
    ("PR_GET_PDEATHSIG", 2),
    ("PR_GET_DUMPABLE", 3),
    ("PR_SET_DUMPABLE", 4),
    ("PR_GET_UNALIGN", 5),
    ("PR_SET_UNALIGN", 6),
    ("PR_GET_KEEPCAPS", 7),
    ("PR_SET_KEEPCAPS", 8),
    ("PR_GET_FPEMU", 9),
    ("PR_SET_FPEMU", 10),
    ("PR_GET_FPEXC", 11),
    ("PR_SET_FPEXC", 12),
    ("PR_GET_TIMING", 13),
    ("PR_SET_TIMING", 14),
    ("PR_SET_NAME", 15),
    ("PR_GET_NAME", 16),
    ("PR_GET_ENDIAN", 19),
    ("PR_SET_ENDIAN", 20),
    ("PR_GET_SECCOMP", 21),
    ("PR_SET_SECCOMP", 22),
    ("PR_CAPBSET_READ", 23),
    ("PR_CAPBSET_DROP", 24),
    ("PR_GET_TSC", 25),
    ("PR_SET_TSC", 26),
    ("PR_GET_SECUREBITS", 27),
    ("PR_SET_SECUREBITS", 28),
    ("PR_SET_TIMERSLACK", 29),
    ("PR_GET_TIMERSLACK", 30),
    ("PR_TASK_PERF_EVENTS_DISABLE", 31),
    ("PR_TASK_PERF_EVENTS_ENABLE", 32),
    ("PR_MCE_KILL", 33),
    ("PR_MCE_KILL_GET", 34),
    ("PR_SET_MM", 35),
    ("PR_SET_CHILD_SUBREAPER", 36),
    ("PR_GET_CHILD_SUBREAPER", 37),
    ("PR_SET_NO_NEW_PRIVS", 38),
    ("PR_GET_NO_NEW_PRIVS", 39),
    ("PR_GET_TID_ADDRESS", 40),
    ("PR_SET_THP_DISABLE", 41),
    ("PR_GET_THP_DISABLE", 42),
    ("PR_MPX_ENABLE_MANAGEMENT", 43),
    ("PR_MPX_DISABLE_MANAGEMENT", 44),
    ("PR_SET_FP_MODE", 45),
    ("PR_GET_FP_MODE", 46),
    ("PR_CAP_AMBIENT", 47),
    ("PR_SVE_SET_VL", 50),
    ("PR_SVE_GET_VL", 51),
    ("PR_GET_SPECULATION_CTRL", 52),
    ("PR_SET_SPECULATION_CTRL", 53),
    ("PR_PAC_RESET_KEYS", 54),
    ("PR_SET_TAGGED_ADDR_CTRL", 55),
    ("PR_GET_TAGGED_ADDR_CTRL", 56),
    ("PR_SET_IO_FLUSHER", 57),
    ("PR_GET_IO_FLUSHER", 58),
    ("PR_SET_SYSCALL_USER_DISPATCH", 59),
    ("PR_PAC_SET_ENABLED_KEYS", 60),
    ("PR_PAC_GET_ENABLED_KEYS", 61),
    ("PR_SCHED_CORE", 62),
    ("PR_SME_SET_VL", 63),
    ("PR_SME_GET_VL", 64),
    ("PR_SET_MDWE", 65),
    ("PR_GET_MDWE", 66),
    ("PR_SET_MEMORY_MERGE", 67),
    ("PR_GET_MEMORY_MERGE", 68),
    ("PR_SET_VMA", 0x5356_4d41),
    ("PR_SET_PTRACER", 0x5961_6d61),
]]);

// ---- ioctl -------------------------------------------------------------------

const IOC_NONE: u64 = 0;
const IOC_WRITE: u64 = 1;
const IOC_READ: u64 = 2;

/// The generic `_IOC` encoding (x86, arm, aarch64, riscv, s390, loongarch):
/// nr in bits 0-7, type 8-15, size 16-29, direction 30-31.
const fn ioc(dir: u64, ty: u8, nr: u8, size: u64) -> u64 {
    (dir << 30) | (size << 16) | ((ty as u64) << 8) | nr as u64
}

/// Terminals and ptys, and the fd flags asm-generic/ioctls.h keeps beside them.
const IOCTL_TERMINAL: &[Sym] = &[
    ("TCGETS", 0x5401),
    ("TCSETS", 0x5402),
    ("TCSETSW", 0x5403),
    ("TCSETSF", 0x5404),
    ("TCGETA", 0x5405),
    ("TCSETA", 0x5406),
    ("TCSETAW", 0x5407),
    ("TCSETAF", 0x5408),
    ("TCSBRK", 0x5409),
    ("TCXONC", 0x540A),
    ("TCFLSH", 0x540B),
    ("TIOCEXCL", 0x540C),
    ("TIOCNXCL", 0x540D),
    ("TIOCSCTTY", 0x540E),
    ("TIOCGPGRP", 0x540F),
    ("TIOCSPGRP", 0x5410),
    ("TIOCOUTQ", 0x5411),
    ("TIOCSTI", 0x5412),
    ("TIOCGWINSZ", 0x5413),
    ("TIOCSWINSZ", 0x5414),
    ("TIOCMGET", 0x5415),
    ("TIOCMBIS", 0x5416),
    ("TIOCMBIC", 0x5417),
    ("TIOCMSET", 0x5418),
    ("TIOCGSOFTCAR", 0x5419),
    ("TIOCSSOFTCAR", 0x541A),
    ("FIONREAD", 0x541B),
    ("TIOCLINUX", 0x541C),
    ("TIOCCONS", 0x541D),
    ("TIOCGSERIAL", 0x541E),
    ("TIOCSSERIAL", 0x541F),
    ("TIOCPKT", 0x5420),
    ("FIONBIO", 0x5421),
    ("TIOCNOTTY", 0x5422),
    ("TIOCSETD", 0x5423),
    ("TIOCGETD", 0x5424),
    ("TCSBRKP", 0x5425),
    ("TIOCSBRK", 0x5427),
    ("TIOCCBRK", 0x5428),
    ("TIOCGSID", 0x5429),
    ("TCGETS2", ioc(IOC_READ, b'T', 0x2A, 44)),
    ("TCSETS2", ioc(IOC_WRITE, b'T', 0x2B, 44)),
    ("TIOCGPTN", ioc(IOC_READ, b'T', 0x30, 4)),
    ("TIOCSPTLCK", ioc(IOC_WRITE, b'T', 0x31, 4)),
    ("TIOCGDEV", ioc(IOC_READ, b'T', 0x32, 4)),
    ("TIOCSIG", ioc(IOC_WRITE, b'T', 0x36, 4)),
    ("TIOCVHANGUP", 0x5437),
    ("TIOCGPKT", ioc(IOC_READ, b'T', 0x38, 4)),
    ("TIOCGPTLCK", ioc(IOC_READ, b'T', 0x39, 4)),
    ("TIOCGEXCL", ioc(IOC_READ, b'T', 0x40, 4)),
    ("TIOCGPTPEER", ioc(IOC_NONE, b'T', 0x41, 0)),
    ("FIONCLEX", 0x5450),
    ("FIOCLEX", 0x5451),
    ("FIOASYNC", 0x5452),
];

/// Files, file systems and block devices.
const IOCTL_FILES: &[Sym] = &[
    // linux/fs.h
    ("FIBMAP", 1),
    ("FIGETBSZ", 2),
    ("FIFREEZE", ioc(IOC_READ | IOC_WRITE, b'X', 119, 4)),
    ("FITHAW", ioc(IOC_READ | IOC_WRITE, b'X', 120, 4)),
    ("FITRIM", ioc(IOC_READ | IOC_WRITE, b'X', 121, 24)),
    ("FICLONE", ioc(IOC_WRITE, 0x94, 9, 4)),
    ("FICLONERANGE", ioc(IOC_WRITE, 0x94, 13, 32)),
    ("FIDEDUPERANGE", ioc(IOC_READ | IOC_WRITE, 0x94, 54, 24)),
    ("FS_IOC_FIEMAP", ioc(IOC_READ | IOC_WRITE, b'f', 11, 32)),
    ("FS_IOC_FSGETXATTR", ioc(IOC_READ, b'X', 31, 28)),
    ("FS_IOC_FSSETXATTR", ioc(IOC_WRITE, b'X', 32, 28)),
    ("BLKROGET", ioc(IOC_NONE, 0x12, 94, 0)),
    ("BLKGETSIZE", ioc(IOC_NONE, 0x12, 96, 0)),
    ("BLKSSZGET", ioc(IOC_NONE, 0x12, 104, 0)),
    ("BLKPBSZGET", ioc(IOC_NONE, 0x12, 123, 0)),
];

/// Sockets, interfaces, routes, bridges and tun devices.
const IOCTL_SOCKETS: &[Sym] = &[
    // asm-generic/sockios.h and linux/sockios.h
    ("FIOSETOWN", 0x8901),
    ("SIOCSPGRP", 0x8902),
    ("FIOGETOWN", 0x8903),
    ("SIOCGPGRP", 0x8904),
    ("SIOCATMARK", 0x8905),
    ("SIOCADDRT", 0x890B),
    ("SIOCDELRT", 0x890C),
    ("SIOCGIFNAME", 0x8910),
    ("SIOCSIFLINK", 0x8911),
    ("SIOCGIFCONF", 0x8912),
    ("SIOCGIFFLAGS", 0x8913),
    ("SIOCSIFFLAGS", 0x8914),
    ("SIOCGIFADDR", 0x8915),
    ("SIOCSIFADDR", 0x8916),
    ("SIOCGIFDSTADDR", 0x8917),
    ("SIOCSIFDSTADDR", 0x8918),
    ("SIOCGIFBRDADDR", 0x8919),
    ("SIOCSIFBRDADDR", 0x891A),
    ("SIOCGIFNETMASK", 0x891B),
    ("SIOCSIFNETMASK", 0x891C),
    ("SIOCGIFMETRIC", 0x891D),
    ("SIOCSIFMETRIC", 0x891E),
    ("SIOCGIFMTU", 0x8921),
    ("SIOCSIFMTU", 0x8922),
    ("SIOCSIFNAME", 0x8923),
    ("SIOCSIFHWADDR", 0x8924),
    ("SIOCGIFHWADDR", 0x8927),
    ("SIOCGIFINDEX", 0x8933),
    ("SIOCGIFTXQLEN", 0x8942),
    ("SIOCETHTOOL", 0x8946),
    ("SIOCGMIIPHY", 0x8947),
    ("SIOCBRADDBR", 0x89A0),
    ("SIOCBRDELBR", 0x89A1),
    ("TUNSETIFF", ioc(IOC_WRITE, b'T', 202, 4)),
    ("TUNGETIFF", ioc(IOC_READ, b'T', 210, 4)),
];

/// Loop devices, namespaces, seccomp notification and perf events.
const IOCTL_KERNEL: &[Sym] = &[
    // linux/loop.h
    ("LOOP_SET_FD", 0x4C00),
    ("LOOP_CLR_FD", 0x4C01),
    ("LOOP_SET_STATUS64", 0x4C04),
    ("LOOP_GET_STATUS64", 0x4C05),
    ("LOOP_CONFIGURE", 0x4C0A),
    ("LOOP_CTL_GET_FREE", 0x4C82),
    // linux/nsfs.h
    ("NS_GET_USERNS", ioc(IOC_NONE, 0xb7, 1, 0)),
    ("NS_GET_PARENT", ioc(IOC_NONE, 0xb7, 2, 0)),
    ("NS_GET_NSTYPE", ioc(IOC_NONE, 0xb7, 3, 0)),
    ("NS_GET_OWNER_UID", ioc(IOC_NONE, 0xb7, 4, 0)),
    // linux/seccomp.h
    (
        "SECCOMP_IOCTL_NOTIF_RECV",
        ioc(IOC_READ | IOC_WRITE, b'!', 0, 80),
    ),
    (
        "SECCOMP_IOCTL_NOTIF_SEND",
        ioc(IOC_READ | IOC_WRITE, b'!', 1, 24),
    ),
    ("SECCOMP_IOCTL_NOTIF_ID_VALID", ioc(IOC_WRITE, b'!', 2, 8)),
    ("SECCOMP_IOCTL_NOTIF_ADDFD", ioc(IOC_WRITE, b'!', 3, 24)),
    ("SECCOMP_IOCTL_NOTIF_SET_FLAGS", ioc(IOC_WRITE, b'!', 4, 8)),
    // linux/perf_event.h
    ("PERF_EVENT_IOC_ENABLE", ioc(IOC_NONE, b'$', 0, 0)),
    ("PERF_EVENT_IOC_DISABLE", ioc(IOC_NONE, b'$', 1, 0)),
];

/// Requests whose size field is `sizeof(long)` or `sizeof(size_t)`.
const IOCTL_LONG64: &[Sym] = &[
    ("FS_IOC_GETFLAGS", ioc(IOC_READ, b'f', 1, 8)),
    ("FS_IOC_SETFLAGS", ioc(IOC_WRITE, b'f', 2, 8)),
    ("FS_IOC_GETVERSION", ioc(IOC_READ, b'v', 1, 8)),
    ("BLKGETSIZE64", ioc(IOC_READ, 0x12, 114, 8)),
];
const IOCTL_LONG32: &[Sym] = &[
    ("FS_IOC_GETFLAGS", ioc(IOC_READ, b'f', 1, 4)),
    ("FS_IOC_SETFLAGS", ioc(IOC_WRITE, b'f', 2, 4)),
    ("FS_IOC_GETVERSION", ioc(IOC_READ, b'v', 1, 4)),
    ("BLKGETSIZE64", ioc(IOC_READ, 0x12, 114, 4)),
];
static IOCTL_64: FlagSet = enumeration(&[
    IOCTL_TERMINAL,
    IOCTL_FILES,
    IOCTL_SOCKETS,
    IOCTL_KERNEL,
    IOCTL_LONG64,
]);
static IOCTL_32: FlagSet = enumeration(&[
    IOCTL_TERMINAL,
    IOCTL_FILES,
    IOCTL_SOCKETS,
    IOCTL_KERNEL,
    IOCTL_LONG32,
]);

/// strace's spelling of a request no table names: `_IOC(_IOC_READ, 0x94, 0x9, 0x4)`.
pub fn ioctl_request(arch: Arch, value: u64) -> String {
    if let Some(n) = enum_name(Set::Ioctl.table(arch), value) {
        return n.to_string();
    }
    let v = value & 0xffff_ffff;
    let (dir, size) = (v >> 30, (v >> 16) & 0x3fff);
    if value >> 32 != 0 || (dir == 0 && size == 0) {
        return format!("{value:#x}");
    }
    let dir = match dir {
        1 => "_IOC_WRITE",
        2 => "_IOC_READ",
        3 => "_IOC_READ|_IOC_WRITE",
        _ => "_IOC_NONE",
    };
    format!(
        "_IOC({dir}, {:#x}, {:#x}, {size:#x})",
        (v >> 8) & 0xff,
        v & 0xff
    )
}

// ---- personality ---------------------------------------------------------------

static PERSONALITY: FlagSet = set(
    Some((
        0xff,
        Field::Names(&[&[
            ("PER_LINUX", 0),
            ("PER_SVR4", 1),
            ("PER_SVR3", 2),
            ("PER_SCOSVR3", 3),
            ("PER_WYSEV386", 4),
            ("PER_ISCR4", 5),
            ("PER_BSD", 6),
            ("PER_XENIX", 7),
            ("PER_LINUX32", 8),
            ("PER_IRIX32", 9),
            ("PER_IRIXN32", 10),
            ("PER_IRIX64", 11),
            ("PER_RISCOS", 12),
            ("PER_SOLARIS", 13),
            ("PER_UW7", 14),
            ("PER_OSF4", 15),
            ("PER_HPUX", 16),
        ]]),
    )),
    &[&[
        ("UNAME26", 0x002_0000),
        ("ADDR_NO_RANDOMIZE", 0x004_0000),
        ("FDPIC_FUNCPTRS", 0x008_0000),
        ("MMAP_PAGE_ZERO", 0x010_0000),
        ("ADDR_COMPAT_LAYOUT", 0x020_0000),
        ("READ_IMPLIES_EXEC", 0x040_0000),
        ("ADDR_LIMIT_32BIT", 0x080_0000),
        ("SHORT_INODE", 0x100_0000),
        ("WHOLE_SECONDS", 0x200_0000),
        ("STICKY_TIMEOUTS", 0x400_0000),
        ("ADDR_LIMIT_3GB", 0x800_0000),
    ]],
);

// ---- mmap / mprotect -----------------------------------------------------------

const PROT_COMMON: &[Sym] = &[
    ("PROT_READ", 1),
    ("PROT_WRITE", 2),
    ("PROT_EXEC", 4),
    ("PROT_SEM", 8),
    ("PROT_GROWSDOWN", 0x0100_0000),
    ("PROT_GROWSUP", 0x0200_0000),
];
static PROT: FlagSet = FlagSet {
    field: None,
    bits: &[PROT_COMMON],
    zero: Some("PROT_NONE"),
};
static PROT_AARCH64: FlagSet = FlagSet {
    field: None,
    bits: &[PROT_COMMON, &[("PROT_BTI", 0x10), ("PROT_MTE", 0x20)]],
    zero: Some("PROT_NONE"),
};

const MAP_TYPES: &[Sym] = &[
    ("MAP_SHARED", 1),
    ("MAP_PRIVATE", 2),
    ("MAP_SHARED_VALIDATE", 3),
    ("MAP_DROPPABLE", 8),
];
const MAP_COMMON: &[Sym] = &[
    ("MAP_FIXED", 0x10),
    ("MAP_ANONYMOUS", 0x20),
    ("MAP_GROWSDOWN", 0x100),
    ("MAP_DENYWRITE", 0x800),
    ("MAP_EXECUTABLE", 0x1000),
    ("MAP_LOCKED", 0x2000),
    ("MAP_NORESERVE", 0x4000),
    ("MAP_POPULATE", 0x8000),
    ("MAP_NONBLOCK", 0x1_0000),
    ("MAP_STACK", 0x2_0000),
    ("MAP_HUGETLB", 0x4_0000),
    ("MAP_SYNC", 0x8_0000),
    ("MAP_FIXED_NOREPLACE", 0x10_0000),
    ("MAP_UNINITIALIZED", 0x400_0000),
];
static MAP: FlagSet = set(Some((0xf, Field::Names(&[MAP_TYPES]))), &[MAP_COMMON]);
static MAP_X86: FlagSet = set(
    Some((0xf, Field::Names(&[MAP_TYPES]))),
    &[MAP_COMMON, &[("MAP_32BIT", 0x40)]],
);

// ---- signals -------------------------------------------------------------------

/// Generic numbering (x86, arm, aarch64, riscv, s390, ppc, loongarch).
const SIGNALS: &[Sym] = &[
    ("SIGHUP", 1),
    ("SIGINT", 2),
    ("SIGQUIT", 3),
    ("SIGILL", 4),
    ("SIGTRAP", 5),
    ("SIGABRT", 6),
    ("SIGBUS", 7),
    ("SIGFPE", 8),
    ("SIGKILL", 9),
    ("SIGUSR1", 10),
    ("SIGSEGV", 11),
    ("SIGUSR2", 12),
    ("SIGPIPE", 13),
    ("SIGALRM", 14),
    ("SIGTERM", 15),
    ("SIGSTKFLT", 16),
    ("SIGCHLD", 17),
    ("SIGCONT", 18),
    ("SIGSTOP", 19),
    ("SIGTSTP", 20),
    ("SIGTTIN", 21),
    ("SIGTTOU", 22),
    ("SIGURG", 23),
    ("SIGXCPU", 24),
    ("SIGXFSZ", 25),
    ("SIGVTALRM", 26),
    ("SIGPROF", 27),
    ("SIGWINCH", 28),
    ("SIGIO", 29),
    ("SIGPWR", 30),
    ("SIGSYS", 31),
];
static SIGNAL: FlagSet = enumeration(&[SIGNALS]);

/// `9` -> `SIGKILL`, `34` -> `SIGRTMIN+2`, `0` -> `0`, others in decimal.
pub fn signal(value: u64) -> String {
    match value {
        32 => "SIGRTMIN".into(),
        33..=64 => format!("SIGRTMIN+{}", value - 32),
        _ => enum_name(&SIGNAL, value).map_or_else(|| value.to_string(), str::to_string),
    }
}

// ---- ptrace ------------------------------------------------------------------

const PTRACE_COMMON: &[Sym] = &[
    ("PTRACE_TRACEME", 0),
    ("PTRACE_PEEKTEXT", 1),
    ("PTRACE_PEEKDATA", 2),
    ("PTRACE_PEEKUSER", 3),
    ("PTRACE_POKETEXT", 4),
    ("PTRACE_POKEDATA", 5),
    ("PTRACE_POKEUSER", 6),
    ("PTRACE_CONT", 7),
    ("PTRACE_KILL", 8),
    ("PTRACE_SINGLESTEP", 9),
    ("PTRACE_ATTACH", 16),
    ("PTRACE_DETACH", 17),
    ("PTRACE_SYSCALL", 24),
    ("PTRACE_SETOPTIONS", 0x4200),
    ("PTRACE_GETEVENTMSG", 0x4201),
    ("PTRACE_GETSIGINFO", 0x4202),
    ("PTRACE_SETSIGINFO", 0x4203),
    ("PTRACE_GETREGSET", 0x4204),
    ("PTRACE_SETREGSET", 0x4205),
    ("PTRACE_SEIZE", 0x4206),
    ("PTRACE_INTERRUPT", 0x4207),
    ("PTRACE_LISTEN", 0x4208),
    ("PTRACE_PEEKSIGINFO", 0x4209),
    ("PTRACE_GETSIGMASK", 0x420a),
    ("PTRACE_SETSIGMASK", 0x420b),
    ("PTRACE_SECCOMP_GET_FILTER", 0x420c),
    ("PTRACE_SECCOMP_GET_METADATA", 0x420d),
    ("PTRACE_GET_SYSCALL_INFO", 0x420e),
    ("PTRACE_GET_RSEQ_CONFIGURATION", 0x420f),
    ("PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", 0x4210),
    ("PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG", 0x4211),
];
/// arch/x86/include/uapi/asm/ptrace-abi.h
const PTRACE_X86: &[Sym] = &[
    ("PTRACE_GETREGS", 12),
    ("PTRACE_SETREGS", 13),
    ("PTRACE_GETFPREGS", 14),
    ("PTRACE_SETFPREGS", 15),
    ("PTRACE_GETFPXREGS", 18),
    ("PTRACE_SETFPXREGS", 19),
    ("PTRACE_OLDSETOPTIONS", 21),
    ("PTRACE_GET_THREAD_AREA", 25),
    ("PTRACE_SET_THREAD_AREA", 26),
    ("PTRACE_ARCH_PRCTL", 30),
    ("PTRACE_SYSEMU", 31),
    ("PTRACE_SYSEMU_SINGLESTEP", 32),
    ("PTRACE_SINGLEBLOCK", 33),
];
/// arch/arm/include/uapi/asm/ptrace.h
const PTRACE_ARM: &[Sym] = &[
    ("PTRACE_GETREGS", 12),
    ("PTRACE_SETREGS", 13),
    ("PTRACE_GETFPREGS", 14),
    ("PTRACE_SETFPREGS", 15),
    ("PTRACE_GETWMMXREGS", 18),
    ("PTRACE_SETWMMXREGS", 19),
    ("PTRACE_OLDSETOPTIONS", 21),
    ("PTRACE_GET_THREAD_AREA", 22),
    ("PTRACE_SET_SYSCALL", 23),
    ("PTRACE_GETVFPREGS", 27),
    ("PTRACE_SETVFPREGS", 28),
];
static PTRACE: FlagSet = enumeration(&[PTRACE_COMMON]);
static PTRACE_ON_X86: FlagSet = enumeration(&[PTRACE_COMMON, PTRACE_X86]);
static PTRACE_ON_ARM: FlagSet = enumeration(&[PTRACE_COMMON, PTRACE_ARM]);

// ---- bpf, keys, perf, io_uring, modules -----------------------------------------

static BPF: FlagSet = enumeration(&[&[
    ("BPF_MAP_CREATE", 0),
    ("BPF_MAP_LOOKUP_ELEM", 1),
    ("BPF_MAP_UPDATE_ELEM", 2),
    ("BPF_MAP_DELETE_ELEM", 3),
    ("BPF_MAP_GET_NEXT_KEY", 4),
    ("BPF_PROG_LOAD", 5),
    ("BPF_OBJ_PIN", 6),
    ("BPF_OBJ_GET", 7),
    ("BPF_PROG_ATTACH", 8),
    ("BPF_PROG_DETACH", 9),
    ("BPF_PROG_TEST_RUN", 10),
    ("BPF_PROG_GET_NEXT_ID", 11),
    ("BPF_MAP_GET_NEXT_ID", 12),
    ("BPF_PROG_GET_FD_BY_ID", 13),
    ("BPF_MAP_GET_FD_BY_ID", 14),
    ("BPF_OBJ_GET_INFO_BY_FD", 15),
    ("BPF_PROG_QUERY", 16),
    ("BPF_RAW_TRACEPOINT_OPEN", 17),
    ("BPF_BTF_LOAD", 18),
    ("BPF_BTF_GET_FD_BY_ID", 19),
    ("BPF_TASK_FD_QUERY", 20),
    ("BPF_MAP_LOOKUP_AND_DELETE_ELEM", 21),
    ("BPF_MAP_FREEZE", 22),
    ("BPF_BTF_GET_NEXT_ID", 23),
    ("BPF_MAP_LOOKUP_BATCH", 24),
    ("BPF_MAP_LOOKUP_AND_DELETE_BATCH", 25),
    ("BPF_MAP_UPDATE_BATCH", 26),
    ("BPF_MAP_DELETE_BATCH", 27),
    ("BPF_LINK_CREATE", 28),
    ("BPF_LINK_UPDATE", 29),
    ("BPF_LINK_GET_FD_BY_ID", 30),
    ("BPF_LINK_GET_NEXT_ID", 31),
    ("BPF_ENABLE_STATS", 32),
    ("BPF_ITER_CREATE", 33),
    ("BPF_LINK_DETACH", 34),
    ("BPF_PROG_BIND_MAP", 35),
    ("BPF_TOKEN_CREATE", 36),
]]);

static KEYCTL: FlagSet = enumeration(&[&[
    ("KEYCTL_GET_KEYRING_ID", 0),
    ("KEYCTL_JOIN_SESSION_KEYRING", 1),
    ("KEYCTL_UPDATE", 2),
    ("KEYCTL_REVOKE", 3),
    ("KEYCTL_CHOWN", 4),
    ("KEYCTL_SETPERM", 5),
    ("KEYCTL_DESCRIBE", 6),
    ("KEYCTL_CLEAR", 7),
    ("KEYCTL_LINK", 8),
    ("KEYCTL_UNLINK", 9),
    ("KEYCTL_SEARCH", 10),
    ("KEYCTL_READ", 11),
    ("KEYCTL_INSTANTIATE", 12),
    ("KEYCTL_NEGATE", 13),
    ("KEYCTL_SET_REQKEY_KEYRING", 14),
    ("KEYCTL_SET_TIMEOUT", 15),
    ("KEYCTL_ASSUME_AUTHORITY", 16),
    ("KEYCTL_GET_SECURITY", 17),
    ("KEYCTL_SESSION_TO_PARENT", 18),
    ("KEYCTL_REJECT", 19),
    ("KEYCTL_INSTANTIATE_IOV", 20),
    ("KEYCTL_INVALIDATE", 21),
    ("KEYCTL_GET_PERSISTENT", 22),
    ("KEYCTL_DH_COMPUTE", 23),
    ("KEYCTL_PKEY_QUERY", 24),
    ("KEYCTL_PKEY_ENCRYPT", 25),
    ("KEYCTL_PKEY_DECRYPT", 26),
    ("KEYCTL_PKEY_SIGN", 27),
    ("KEYCTL_PKEY_VERIFY", 28),
    ("KEYCTL_RESTRICT_KEYRING", 29),
    ("KEYCTL_MOVE", 30),
    ("KEYCTL_CAPABILITIES", 31),
    ("KEYCTL_WATCH_KEY", 32),
]]);

/// Negative keyring ids, as 32-bit `key_serial_t` values.
static KEY_SPEC: FlagSet = enumeration(&[&[
    ("KEY_SPEC_THREAD_KEYRING", 0xffff_ffff),
    ("KEY_SPEC_PROCESS_KEYRING", 0xffff_fffe),
    ("KEY_SPEC_SESSION_KEYRING", 0xffff_fffd),
    ("KEY_SPEC_USER_KEYRING", 0xffff_fffc),
    ("KEY_SPEC_USER_SESSION_KEYRING", 0xffff_fffb),
    ("KEY_SPEC_GROUP_KEYRING", 0xffff_fffa),
    ("KEY_SPEC_REQKEY_AUTH_KEY", 0xffff_fff9),
    ("KEY_SPEC_REQUESTOR_KEYRING", 0xffff_fff8),
]]);

static REBOOT_MAGIC: FlagSet = enumeration(&[&[
    ("LINUX_REBOOT_MAGIC1", 0xfee1_dead),
    ("LINUX_REBOOT_MAGIC2", 0x2812_1969),
    ("LINUX_REBOOT_MAGIC2A", 0x0512_1996),
    ("LINUX_REBOOT_MAGIC2B", 0x1604_1998),
    ("LINUX_REBOOT_MAGIC2C", 0x2011_2000),
]]);

static REBOOT_CMD: FlagSet = enumeration(&[&[
    ("LINUX_REBOOT_CMD_CAD_OFF", 0),
    ("LINUX_REBOOT_CMD_RESTART", 0x0123_4567),
    ("LINUX_REBOOT_CMD_HALT", 0xCDEF_0123),
    ("LINUX_REBOOT_CMD_CAD_ON", 0x89AB_CDEF),
    ("LINUX_REBOOT_CMD_POWER_OFF", 0x4321_FEDC),
    ("LINUX_REBOOT_CMD_RESTART2", 0xA1B2_C3D4),
    ("LINUX_REBOOT_CMD_SW_SUSPEND", 0xD000_FCE2),
    ("LINUX_REBOOT_CMD_KEXEC", 0x4558_4543),
]]);

static SYSLOG: FlagSet = enumeration(&[&[
    ("SYSLOG_ACTION_CLOSE", 0),
    ("SYSLOG_ACTION_OPEN", 1),
    ("SYSLOG_ACTION_READ", 2),
    ("SYSLOG_ACTION_READ_ALL", 3),
    ("SYSLOG_ACTION_READ_CLEAR", 4),
    ("SYSLOG_ACTION_CLEAR", 5),
    ("SYSLOG_ACTION_CONSOLE_OFF", 6),
    ("SYSLOG_ACTION_CONSOLE_ON", 7),
    ("SYSLOG_ACTION_CONSOLE_LEVEL", 8),
    ("SYSLOG_ACTION_SIZE_UNREAD", 9),
    ("SYSLOG_ACTION_SIZE_BUFFER", 10),
]]);

/// The command half of `QCMD(cmd, type)` (`cmd << 8`).
static QUOTACTL: FlagSet = enumeration(&[&[
    ("Q_SYNC", 0x80_0001),
    ("Q_QUOTAON", 0x80_0002),
    ("Q_QUOTAOFF", 0x80_0003),
    ("Q_GETFMT", 0x80_0004),
    ("Q_GETINFO", 0x80_0005),
    ("Q_SETINFO", 0x80_0006),
    ("Q_GETQUOTA", 0x80_0007),
    ("Q_SETQUOTA", 0x80_0008),
    ("Q_GETNEXTQUOTA", 0x80_0009),
    ("Q_XQUOTAON", 0x5801),
    ("Q_XQUOTAOFF", 0x5802),
    ("Q_XGETQUOTA", 0x5803),
    ("Q_XSETQLIM", 0x5804),
    ("Q_XGETQSTAT", 0x5805),
    ("Q_XQUOTARM", 0x5806),
    ("Q_XQUOTASYNC", 0x5807),
    ("Q_XGETQSTATV", 0x5808),
    ("Q_XGETNEXTQUOTA", 0x5809),
]]);
static QUOTA_TYPE: FlagSet = enumeration(&[&[("USRQUOTA", 0), ("GRPQUOTA", 1), ("PRJQUOTA", 2)]]);

/// The low flags; the arch sits in the high 16 bits (`KEXEC_ARCH_MASK`).
static KEXEC: FlagSet = set(
    Some((
        0xffff_0000,
        Field::Names(&[&[
            ("KEXEC_ARCH_DEFAULT", 0),
            ("KEXEC_ARCH_386", 3 << 16),
            ("KEXEC_ARCH_ARM", 40 << 16),
            ("KEXEC_ARCH_X86_64", 62 << 16),
            ("KEXEC_ARCH_AARCH64", 183 << 16),
            ("KEXEC_ARCH_RISCV", 243 << 16),
        ]]),
    )),
    &[&[
        ("KEXEC_ON_CRASH", 1),
        ("KEXEC_PRESERVE_CONTEXT", 2),
        ("KEXEC_UPDATE_ELFCOREHDR", 4),
        ("KEXEC_CRASH_HOTPLUG_SUPPORT", 8),
    ]],
);

static PERF_FLAGS: FlagSet = set(
    None,
    &[&[
        ("PERF_FLAG_FD_NO_GROUP", 1),
        ("PERF_FLAG_FD_OUTPUT", 2),
        ("PERF_FLAG_PID_CGROUP", 4),
        ("PERF_FLAG_FD_CLOEXEC", 8),
    ]],
);
static PERF_TYPE: FlagSet = enumeration(&[&[
    ("PERF_TYPE_HARDWARE", 0),
    ("PERF_TYPE_SOFTWARE", 1),
    ("PERF_TYPE_TRACEPOINT", 2),
    ("PERF_TYPE_HW_CACHE", 3),
    ("PERF_TYPE_RAW", 4),
    ("PERF_TYPE_BREAKPOINT", 5),
]]);

static IO_URING_SETUP: FlagSet = set(
    None,
    &[&[
        ("IORING_SETUP_IOPOLL", 1),
        ("IORING_SETUP_SQPOLL", 1 << 1),
        ("IORING_SETUP_SQ_AFF", 1 << 2),
        ("IORING_SETUP_CQSIZE", 1 << 3),
        ("IORING_SETUP_CLAMP", 1 << 4),
        ("IORING_SETUP_ATTACH_WQ", 1 << 5),
        ("IORING_SETUP_R_DISABLED", 1 << 6),
        ("IORING_SETUP_SUBMIT_ALL", 1 << 7),
        ("IORING_SETUP_COOP_TASKRUN", 1 << 8),
        ("IORING_SETUP_TASKRUN_FLAG", 1 << 9),
        ("IORING_SETUP_SQE128", 1 << 10),
        ("IORING_SETUP_CQE32", 1 << 11),
        ("IORING_SETUP_SINGLE_ISSUER", 1 << 12),
        ("IORING_SETUP_DEFER_TASKRUN", 1 << 13),
        ("IORING_SETUP_NO_MMAP", 1 << 14),
        ("IORING_SETUP_REGISTERED_FD_ONLY", 1 << 15),
        ("IORING_SETUP_NO_SQARRAY", 1 << 16),
    ]],
);

static USERFAULTFD: FlagSet = set(
    None,
    &[&[
        ("O_NONBLOCK", 0o4000),
        ("O_CLOEXEC", 0o2000000),
        ("UFFD_USER_MODE_ONLY", 1),
    ]],
);

static FINIT_MODULE: FlagSet = set(
    None,
    &[&[
        ("MODULE_INIT_IGNORE_MODVERSIONS", 1),
        ("MODULE_INIT_IGNORE_VERMAGIC", 2),
        ("MODULE_INIT_COMPRESSED_FILE", 4),
    ]],
);

// ---- lookup ------------------------------------------------------------------

/// Arches whose C `long` and pointers are 32 bits wide.
pub fn is_ilp32(arch: Arch) -> bool {
    matches!(arch, Arch::X32 | Arch::Mips64n32 | Arch::Mips64n32el)
        || arch.audit_arch() & 0x8000_0000 == 0
}

impl Set {
    pub const ALL: [Set; 39] = [
        Set::Open,
        Set::OpenBits,
        Set::At,
        Set::AccessAt,
        Set::UnlinkAt,
        Set::Access,
        Set::Rename,
        Set::Statx,
        Set::SocketFamily,
        Set::SocketType,
        Set::IpProto,
        Set::NetlinkProto,
        Set::Clone,
        Set::Clone3,
        Set::Unshare,
        Set::Mount,
        Set::Umount,
        Set::Prctl,
        Set::Ioctl,
        Set::Personality,
        Set::Prot,
        Set::Map,
        Set::Signal,
        Set::Ptrace,
        Set::Bpf,
        Set::Keyctl,
        Set::KeySpec,
        Set::RebootMagic,
        Set::RebootCmd,
        Set::Syslog,
        Set::Quotactl,
        Set::QuotaType,
        Set::KexecFlags,
        Set::PerfFlags,
        Set::PerfType,
        Set::IoUringSetup,
        Set::Userfaultfd,
        Set::FinitModule,
        Set::SocketCall,
    ];

    /// The values this set has on `arch`.
    pub fn table(self, arch: Arch) -> &'static FlagSet {
        let arm = matches!(arch, Arch::Arm | Arch::Aarch64);
        let x86 = matches!(arch, Arch::X86 | Arch::X86_64 | Arch::X32);
        match self {
            Set::Open if arm => &OPEN_ARM,
            Set::Open => &OPEN_GENERIC,
            Set::OpenBits if arm => &OPEN_BITS_ARM,
            Set::OpenBits => &OPEN_BITS_GENERIC,
            Set::At => &AT,
            Set::AccessAt => &ACCESS_AT,
            Set::UnlinkAt => &UNLINK_AT,
            Set::Access => &ACCESS,
            Set::Rename => &RENAME,
            Set::Statx => &STATX,
            Set::SocketFamily => &SOCKET_FAMILY,
            Set::SocketType => &SOCKET_TYPE,
            Set::IpProto => &IPPROTO,
            Set::NetlinkProto => &NETLINK_PROTO,
            Set::Clone => &CLONE,
            Set::Clone3 => &CLONE3,
            Set::Unshare => &UNSHARE,
            Set::Mount => &MOUNT,
            Set::Umount => &UMOUNT,
            Set::Prctl => &PRCTL,
            Set::Ioctl if is_ilp32(arch) => &IOCTL_32,
            Set::Ioctl => &IOCTL_64,
            Set::Personality => &PERSONALITY,
            Set::Prot if arch == Arch::Aarch64 => &PROT_AARCH64,
            Set::Prot => &PROT,
            Set::Map if x86 => &MAP_X86,
            Set::Map => &MAP,
            Set::Signal => &SIGNAL,
            Set::Ptrace if x86 => &PTRACE_ON_X86,
            Set::Ptrace if arch == Arch::Arm => &PTRACE_ON_ARM,
            Set::Ptrace => &PTRACE,
            Set::Bpf => &BPF,
            Set::Keyctl => &KEYCTL,
            Set::KeySpec => &KEY_SPEC,
            Set::RebootMagic => &REBOOT_MAGIC,
            Set::RebootCmd => &REBOOT_CMD,
            Set::Syslog => &SYSLOG,
            Set::Quotactl => &QUOTACTL,
            Set::QuotaType => &QUOTA_TYPE,
            Set::KexecFlags => &KEXEC,
            Set::PerfFlags => &PERF_FLAGS,
            Set::PerfType => &PERF_TYPE,
            Set::IoUringSetup => &IO_URING_SETUP,
            Set::Userfaultfd => &USERFAULTFD,
            Set::FinitModule => &FINIT_MODULE,
            Set::SocketCall => &SOCKETCALL,
        }
    }
}

impl FlagSet {
    /// Every (name, value) this set can print or parse.
    pub fn symbols(&self) -> impl Iterator<Item = Sym> + '_ {
        let field: &'static [&'static [Sym]] = match self.field {
            Some((_, Field::Names(n))) => n,
            Some((_, Field::Signal)) => &[SIGNALS],
            None => &[],
        };
        field
            .iter()
            .chain(self.bits)
            .flat_map(|t| t.iter().copied())
            .chain(self.zero.map(|z| (z, 0)))
    }
}

fn lookup(tables: &[&'static [Sym]], value: u64) -> Option<&'static str> {
    tables
        .iter()
        .flat_map(|t| t.iter())
        .find(|&&(_, v)| v == value)
        .map(|&(n, _)| n)
}

/// The name of an enumerated value: `enum_name(Set::Prctl.table(a), 15) == Some("PR_SET_NAME")`.
pub fn enum_name(set: &FlagSet, value: u64) -> Option<&'static str> {
    match set.field {
        Some((_, Field::Names(names))) => lookup(names, value),
        Some((_, Field::Signal)) => lookup(&[SIGNALS], value),
        None => None,
    }
    .or_else(|| lookup(set.bits, value).filter(|_| value != 0))
    .or_else(|| set.zero.filter(|_| value == 0))
}

/// The name, or the value in decimal when it has none (`enum_name` for printing).
pub fn enum_or_number(set: &FlagSet, value: u64) -> String {
    enum_name(set, value).map_or_else(|| value.to_string(), str::to_string)
}

/// `O_WRONLY|O_CREAT|O_CLOEXEC`; bits no name covers are appended in hex
/// (`MS_BIND|0x80000000000`); 0 is `0` unless the set names it.
pub fn flags(set: &FlagSet, value: u64) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut rest = value;
    // strace's order: an access mode or type first, an exit signal last.
    let mut last = None;
    if let Some((mask, field)) = set.field {
        let f = value & mask;
        rest &= !mask;
        match field {
            Field::Names(names) => match lookup(names, f) {
                Some(n) => parts.push(n.to_string()),
                None if f != 0 => parts.push(format!("{f:#x}")),
                None => {}
            },
            Field::Signal if f != 0 => last = Some(signal(f)),
            Field::Signal => {}
        }
    }
    for &(name, bits) in set.bits.iter().flat_map(|t| t.iter()) {
        if bits != 0 && rest & bits == bits {
            parts.push(name.to_string());
            rest &= !bits;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    parts.extend(last);
    if parts.is_empty() {
        return set.zero.unwrap_or("0").to_string();
    }
    parts.join("|")
}

/// Names `parse_value` accepts besides those of the sets.
fn extra_symbol(arch: Arch, name: &str) -> Option<u64> {
    if name.eq_ignore_ascii_case("AT_FDCWD") {
        let v = AT_FDCWD as i64 as u64;
        return Some(if is_ilp32(arch) { v & 0xffff_ffff } else { v });
    }
    if name.eq_ignore_ascii_case("SIGRTMIN") {
        return Some(32);
    }
    if let Some(n) = name
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("SIGRTMIN+"))
        .and_then(|_| name[9..].parse::<u64>().ok())
        .filter(|n| *n <= 32)
    {
        return Some(32 + n);
    }
    if let Some(v) = FAMILY_ALIASES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Some(v.1);
    }
    if name.eq_ignore_ascii_case("MS_MGC_VAL") {
        return Some(MS_MGC_VAL);
    }
    if name.starts_with(['E', 'e']) && !name.starts_with(|c: char| c.is_ascii_digit()) {
        return crate::errno::parse(name).map(u64::from);
    }
    None
}

/// A symbol's value on `arch`, case-insensitively.
pub fn symbol(arch: Arch, name: &str) -> Option<u64> {
    Set::ALL
        .iter()
        .flat_map(|s| s.table(arch).symbols())
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .or_else(|| extra_symbol(arch, name))
}

/// `42`, `0x2a`, `0o17`, `-1`, `AF_NETLINK`, `O_WRONLY|O_CREAT` (x86_64 values).
pub fn parse_value(s: &str) -> Option<u64> {
    parse_value_for(Arch::X86_64, s)
}

/// [`parse_value`] with `arch`'s values (`O_DIRECTORY` differs on arm).
pub fn parse_value_for(arch: Arch, s: &str) -> Option<u64> {
    let mut value = 0u64;
    for part in s.split('|').map(str::trim) {
        let v = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            u64::from_str_radix(hex, 16).ok()
        } else if let Some(oct) = part.strip_prefix("0o") {
            u64::from_str_radix(oct, 8).ok()
        } else if let Some(neg) = part.strip_prefix('-') {
            neg.parse::<u64>().ok().map(u64::wrapping_neg)
        } else if part.starts_with(|c: char| c.is_ascii_digit()) {
            part.parse().ok()
        } else if part.is_empty() {
            None
        } else {
            symbol(arch, part)
        };
        value |= v?;
    }
    Some(value)
}

/// `value` of `set` written for `from`, as the same flags or choice read on
/// `to` (`O_DIRECTORY` is 0o200000 on x86_64 but 0o40000 on aarch64).
/// `None` when a flag or the choice has no name on `to` to carry it.
pub fn translate(set: Set, from: Arch, to: Arch, value: u64) -> Option<u64> {
    let (a, b) = (set.table(from), set.table(to));
    if std::ptr::eq(a, b) {
        return Some(value);
    }
    let on_to = |name: &str| b.symbols().find(|&(n, _)| n == name).map(|(_, v)| v);
    if a.bits.is_empty() {
        // An enumeration: the same choice by name.
        return match enum_name(a, value) {
            Some(name) => on_to(name),
            None => Some(value),
        };
    }
    // Flags: each single bit named on `from` moves to where `to` has the name.
    let (mut moved_out, mut moved_in) = (0u64, 0u64);
    for (name, bit) in a.symbols().filter(|&(_, v)| v.count_ones() == 1) {
        let there = on_to(name);
        if there == Some(bit) {
            continue;
        }
        moved_out |= bit;
        if value & bit != 0 {
            moved_in |= there?;
        }
    }
    Some(value & !moved_out | moved_in)
}

/// `13` -> `EACCES`; numbers without a name print as `errno N`.
pub fn errno(value: u64) -> String {
    u32::try_from(value).map_or_else(|_| format!("errno {value}"), crate::errno::describe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_move_to_their_places_on_arm() {
        let x86 = parse_value_for(Arch::X86_64, "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC");
        let arm = parse_value_for(Arch::Aarch64, "O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC");
        let t = |from, to, v| translate(Set::Open, from, to, v);
        assert_eq!(t(Arch::X86_64, Arch::Aarch64, x86.unwrap()), arm);
        assert_eq!(t(Arch::Aarch64, Arch::X86_64, arm.unwrap()), x86);
        // x86's O_DIRECT is arm's O_DIRECTORY bit: it moves, not stays.
        let direct = |a| parse_value_for(a, "O_DIRECT").unwrap();
        assert_eq!(
            t(Arch::X86_64, Arch::Arm, direct(Arch::X86_64)),
            Some(direct(Arch::Arm))
        );
        // O_TMPFILE carries O_DIRECTORY inside it.
        let tmp = |a| parse_value_for(a, "O_TMPFILE|O_RDWR").unwrap();
        assert_eq!(
            t(Arch::X86_64, Arch::Aarch64, tmp(Arch::X86_64)),
            Some(tmp(Arch::Aarch64))
        );
        // Same tables: nothing to do, unnamed bits included.
        assert_eq!(
            t(Arch::X86_64, Arch::Riscv64, 0x8000_0000_0000),
            Some(0x8000_0000_0000)
        );
        assert_eq!(
            translate(Set::Clone, Arch::X86_64, Arch::Aarch64, 0x11),
            Some(0x11)
        );
    }

    #[test]
    fn choices_move_by_name_and_a_choice_without_one_there_has_no_place() {
        let getregs = parse_value_for(Arch::X86_64, "PTRACE_GETREGS").unwrap();
        let on_arm = translate(Set::Ptrace, Arch::X86_64, Arch::Arm, getregs);
        assert_eq!(on_arm, parse_value_for(Arch::Arm, "PTRACE_GETREGS"));
        let arch_prctl = parse_value_for(Arch::X86_64, "PTRACE_ARCH_PRCTL").unwrap();
        assert_eq!(
            translate(Set::Ptrace, Arch::X86_64, Arch::Aarch64, arch_prctl),
            None
        );
    }

    fn fl(set: Set, arch: Arch, v: u64) -> String {
        flags(set.table(arch), v)
    }

    #[test]
    fn open_flags_with_access_mode() {
        let a = Arch::X86_64;
        assert_eq!(fl(Set::Open, a, 0), "O_RDONLY");
        assert_eq!(
            fl(Set::Open, a, 0o1 | 0o100 | 0o2000000),
            "O_WRONLY|O_CREAT|O_CLOEXEC"
        );
        assert_eq!(fl(Set::Open, a, 0o2 | 0o20200000), "O_RDWR|O_TMPFILE");
        assert_eq!(fl(Set::Open, a, 0o4010000), "O_RDONLY|O_SYNC");
        assert_eq!(fl(Set::Open, a, 0o10000), "O_RDONLY|O_DSYNC");
        assert_eq!(fl(Set::Open, a, 3), "0x3");
        assert_eq!(fl(Set::Open, a, 0x8000_0000), "O_RDONLY|0x80000000");
    }

    #[test]
    fn open_flags_differ_on_arm() {
        // 0o200000 is O_DIRECTORY on x86_64 but O_DIRECT on arm/aarch64.
        assert_eq!(
            fl(Set::Open, Arch::X86_64, 0o200000),
            "O_RDONLY|O_DIRECTORY"
        );
        assert_eq!(
            fl(Set::Open, Arch::Riscv64, 0o200000),
            "O_RDONLY|O_DIRECTORY"
        );
        assert_eq!(fl(Set::Open, Arch::Aarch64, 0o200000), "O_RDONLY|O_DIRECT");
        assert_eq!(fl(Set::Open, Arch::Arm, 0o40000), "O_RDONLY|O_DIRECTORY");
        assert_eq!(fl(Set::Open, Arch::X86, 0o40000), "O_RDONLY|O_DIRECT");
        assert_eq!(fl(Set::Open, Arch::Aarch64, 0o20040002), "O_RDWR|O_TMPFILE");
        assert_eq!(parse_value_for(Arch::Aarch64, "O_DIRECTORY"), Some(0o40000));
        assert_eq!(parse_value_for(Arch::X86_64, "O_DIRECTORY"), Some(0o200000));
    }

    #[test]
    fn socket_type_and_family() {
        let a = Arch::X86_64;
        assert_eq!(
            fl(Set::SocketType, a, 1 | 0o4000 | 0o2000000),
            "SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC"
        );
        assert_eq!(fl(Set::SocketType, a, 2), "SOCK_DGRAM");
        assert_eq!(
            enum_name(Set::SocketFamily.table(a), 16),
            Some("AF_NETLINK")
        );
        assert_eq!(enum_name(Set::SocketFamily.table(a), 99), None);
        assert_eq!(enum_or_number(Set::SocketFamily.table(a), 99), "99");
    }

    #[test]
    fn clone_flags_carry_the_exit_signal() {
        let a = Arch::X86_64;
        assert_eq!(
            fl(Set::Clone, a, 0x0120_0000 | 17),
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
        );
        assert_eq!(fl(Set::Clone, a, 0x1002_0000), "CLONE_NEWNS|CLONE_NEWUSER");
        assert_eq!(fl(Set::Unshare, a, 0x80), "CLONE_NEWTIME");
        assert_eq!(fl(Set::Clone, a, 0), "0");
    }

    #[test]
    fn enumerations_and_zero_names() {
        let a = Arch::X86_64;
        assert_eq!(enum_name(Set::Prctl.table(a), 15), Some("PR_SET_NAME"));
        assert_eq!(
            enum_name(Set::Prctl.table(a), 0x59616d61),
            Some("PR_SET_PTRACER")
        );
        assert_eq!(fl(Set::Prot, a, 0), "PROT_NONE");
        assert_eq!(fl(Set::Prot, a, 5), "PROT_READ|PROT_EXEC");
        assert_eq!(fl(Set::Access, a, 0), "F_OK");
        assert_eq!(fl(Set::Access, a, 6), "R_OK|W_OK");
        assert_eq!(fl(Set::Map, a, 0x22), "MAP_PRIVATE|MAP_ANONYMOUS");
        assert_eq!(fl(Set::Map, a, 0x40), "MAP_32BIT");
        assert_eq!(fl(Set::Map, Arch::Aarch64, 0x40), "0x40");
        assert_eq!(
            fl(Set::Personality, a, 0x0040_0008),
            "PER_LINUX32|READ_IMPLIES_EXEC"
        );
        assert_eq!(
            fl(Set::Personality, a, 0x0004_0000),
            "PER_LINUX|ADDR_NO_RANDOMIZE"
        );
        assert_eq!(signal(9), "SIGKILL");
        assert_eq!(signal(34), "SIGRTMIN+2");
        assert_eq!(signal(0), "0");
        assert_eq!(errno(13), "EACCES");
    }

    #[test]
    fn ioctl_names_depend_on_word_size() {
        assert_eq!(ioctl_request(Arch::X86_64, 0x5413), "TIOCGWINSZ");
        assert_eq!(ioctl_request(Arch::X86_64, 0x5401), "TCGETS");
        assert_eq!(ioctl_request(Arch::X86_64, 0x541B), "FIONREAD");
        assert_eq!(ioctl_request(Arch::X86_64, 0x40049409), "FICLONE");
        assert_eq!(ioctl_request(Arch::X86_64, 0x8912), "SIOCGIFCONF");
        assert_eq!(ioctl_request(Arch::X86_64, 0x80086601), "FS_IOC_GETFLAGS");
        assert_eq!(ioctl_request(Arch::Arm, 0x80046601), "FS_IOC_GETFLAGS");
        assert_eq!(
            ioctl_request(Arch::Arm, 0x80086601),
            "_IOC(_IOC_READ, 0x66, 0x1, 0x8)"
        );
        assert_eq!(ioctl_request(Arch::X86_64, 0x1234), "0x1234");
        assert_eq!(
            ioctl_request(Arch::X86_64, 0xC0502100),
            "SECCOMP_IOCTL_NOTIF_RECV"
        );
    }

    #[test]
    fn values_parse() {
        assert_eq!(parse_value("42"), Some(42));
        assert_eq!(parse_value("0x2a"), Some(42));
        assert_eq!(parse_value("-1"), Some(u64::MAX));
        assert_eq!(parse_value("AF_NETLINK"), Some(16));
        assert_eq!(parse_value("af_local"), Some(1));
        assert_eq!(parse_value("CLONE_NEWUSER|CLONE_NEWNS"), Some(0x1002_0000));
        assert_eq!(parse_value("O_WRONLY | O_CREAT"), Some(0o101));
        assert_eq!(parse_value("SOCK_STREAM|SOCK_CLOEXEC"), Some(0o2000001));
        assert_eq!(parse_value("AT_FDCWD"), Some(-100i64 as u64));
        assert_eq!(parse_value_for(Arch::X86, "AT_FDCWD"), Some(0xffff_ff9c));
        assert_eq!(parse_value("EPERM"), Some(1));
        assert_eq!(parse_value("SIGKILL"), Some(9));
        assert_eq!(parse_value("TIOCGWINSZ"), Some(0x5413));
        assert_eq!(parse_value("SIGRTMIN+3"), Some(35));
        assert_eq!(parse_value("AF_BOGUS"), None);
        assert_eq!(parse_value(""), None);
        assert_eq!(parse_value("1|"), None);
    }

    /// A name that two sets give different values would make `parse_value`
    /// depend on table order.
    #[test]
    fn no_name_has_two_values() {
        for arch in [
            Arch::X86_64,
            Arch::X86,
            Arch::Aarch64,
            Arch::Arm,
            Arch::Riscv64,
        ] {
            let mut seen = std::collections::HashMap::new();
            for s in Set::ALL {
                for (n, v) in s.table(arch).symbols() {
                    if let Some(old) = seen.insert(n, v) {
                        assert_eq!(old, v, "{n} on {arch}");
                    }
                }
            }
        }
    }

    #[test]
    fn flags_round_trip_through_parse() {
        for arch in [Arch::X86_64, Arch::Aarch64, Arch::Arm] {
            for (set, v) in [
                (Set::Open, 0o2 | 0o100 | 0o200 | 0o2000000 | 0o400000),
                (Set::Clone, 0x7e02_0000 | 17),
                (Set::Mount, 4096 | 16384),
                (Set::SocketType, 5 | 0o2000000),
            ] {
                let text = fl(set, arch, v);
                assert_eq!(parse_value_for(arch, &text), Some(v), "{text} on {arch}");
            }
        }
    }
}

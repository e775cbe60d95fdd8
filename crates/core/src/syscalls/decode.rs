//! A raw syscall (arch, nr, six argument words) as a person reads it:
//! `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)`.
//!
//! Each argument prints by its kind in [`super::signatures`] (fds and counts in
//! decimal, flags symbolic, …); the calls whose layout depends on their own
//! arguments or the arch (open's optional mode, clone, prctl, ioctl, …) are in
//! `special`. Pointers are followed only when tracee memory is given; what
//! cannot be read prints as the hex address. Nothing here panics on garbage.

use super::memory::TraceeMemory;
use super::symbols::{self, enum_name, flags, is_ilp32, Set};
use crate::arch::Arch;

/// What one syscall looked like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// The arch's name for the number (`openat`), or `syscall_N`.
    pub name: String,
    /// The call with its arguments: `openat(AT_FDCWD, "/etc/passwd", O_RDONLY)`.
    pub text: String,
    /// File system paths the call names, as read from the tracee.
    pub paths: Vec<String>,
}

/// Strings longer than this print their first `STRING_MAX` bytes and `...`.
pub const STRING_MAX: usize = 256;
/// How many `argv` entries of an exec are shown.
const ARGV_MAX: usize = 8;

use super::signatures::{self, ArgKind};
use ArgKind::*;

/// Decodes one call. `args` are the raw words as seccomp or ptrace reports them.
pub fn decode(arch: Arch, nr: u32, args: &[u64; 6], mem: Option<&dyn TraceeMemory>) -> Decoded {
    let name = arch
        .syscall_name(nr)
        .map_or_else(|| format!("syscall_{nr}"), str::to_string);
    let mut d = Decoder {
        arch,
        mem,
        args: *args,
        paths: Vec::new(),
    };
    let shown = d
        .special(&name)
        .unwrap_or_else(|| match signatures::kinds(arch, &name) {
            Some(kinds) => d.fields(&kinds),
            // A number no table names: all six words, raw.
            None => args.iter().map(|&v| format!("{v:#x}")).collect(),
        });
    Decoded {
        text: format!("{name}({})", shown.join(", ")),
        name,
        paths: d.paths,
    }
}

struct Decoder<'a> {
    arch: Arch,
    mem: Option<&'a dyn TraceeMemory>,
    args: [u64; 6],
    paths: Vec<String>,
}

impl Decoder<'_> {
    fn ilp32(&self) -> bool {
        is_ilp32(self.arch)
    }

    fn little_endian(&self) -> bool {
        self.arch.audit_arch() & 0x4000_0000 != 0
    }

    /// An address as the tracee's pointer width sees it.
    fn addr(&self, v: u64) -> u64 {
        if self.ilp32() {
            v & 0xffff_ffff
        } else {
            v
        }
    }

    fn ptr(&self, v: u64) -> String {
        match self.addr(v) {
            0 => "NULL".into(),
            a => format!("{a:#x}"),
        }
    }

    fn read(&self, addr: u64, len: usize) -> Option<Vec<u8>> {
        let addr = self.addr(addr);
        if addr == 0 {
            return None;
        }
        self.mem?.read(addr, len)
    }

    fn uint(&self, bytes: &[u8]) -> u64 {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        if self.little_endian() {
            b[..n].copy_from_slice(&bytes[..n]);
            u64::from_le_bytes(b)
        } else {
            b[8 - n..].copy_from_slice(&bytes[..n]);
            u64::from_be_bytes(b)
        }
    }

    /// A NUL-terminated string, quoted; `None` if there is none to read.
    fn cstr(&self, v: u64) -> Option<(Vec<u8>, String)> {
        let addr = self.addr(v);
        if addr == 0 {
            return None;
        }
        let bytes = self.mem?.read_cstr(addr, STRING_MAX + 1)?;
        let text = quote(&bytes);
        Some((bytes, text))
    }

    fn string(&self, v: u64) -> String {
        self.cstr(v).map(|(_, t)| t).unwrap_or_else(|| self.ptr(v))
    }

    fn path(&mut self, v: u64) -> String {
        match self.cstr(v) {
            Some((bytes, text)) => {
                if bytes.len() <= STRING_MAX {
                    self.paths
                        .push(String::from_utf8_lossy(&bytes).into_owned());
                }
                text
            }
            None => self.ptr(v),
        }
    }

    fn int(v: u64) -> String {
        (v as u32 as i32).to_string()
    }

    fn uint_text(&self, v: u64) -> String {
        self.addr(v).to_string()
    }

    fn fd(v: u64) -> String {
        Self::int(v)
    }

    fn dirfd(v: u64) -> String {
        if v as u32 as i32 == symbols::AT_FDCWD {
            "AT_FDCWD".into()
        } else {
            Self::int(v)
        }
    }

    fn id(v: u64) -> String {
        match v as u32 {
            u32::MAX => "-1".into(),
            n => n.to_string(),
        }
    }

    fn flags(&self, set: Set, v: u64) -> String {
        // Flag arguments are `int` or `unsigned long`: drop a sign extension.
        let v = if set == Set::Clone3 || !self.ilp32() && v >> 32 != 0xffff_ffff {
            v
        } else {
            v & 0xffff_ffff
        };
        flags(set.table(self.arch), v)
    }

    fn enumerated(&self, set: Set, v: u64) -> String {
        let table = set.table(self.arch);
        enum_name(table, v)
            .or_else(|| enum_name(table, v & 0xffff_ffff))
            .map_or_else(|| format!("{v:#x}"), str::to_string)
    }

    fn arg(&mut self, k: ArgKind, i: usize) -> String {
        let v = self.args[i];
        match k {
            Fd => Self::fd(v),
            DirFd => Self::dirfd(v),
            Path => self.path(v),
            Str => self.string(v),
            StrLen => {
                let len = (self.addr(self.args.get(i + 1).copied().unwrap_or(0)) as usize)
                    .min(STRING_MAX + 1);
                match self.read(v, len) {
                    Some(b) => quote(&b),
                    None => self.ptr(v),
                }
            }
            Int | Pid | Opt => Self::int(v),
            UInt => self.uint_text(v),
            Off if self.ilp32() => Self::int(v),
            Off => (v as i64).to_string(),
            Hex | Bits => format!("{v:#x}"),
            Ptr => self.ptr(v),
            Mode => format!("0{:03o}", v & 0o7777_7777),
            Flags(set) => self.flags(set, v),
            Enum(set) => self.enumerated(set, v),
            Signal => symbols::signal(v & 0xffff_ffff),
            SockAddr => {
                let len = self.args.get(i + 1).copied().unwrap_or(0);
                self.sockaddr(v, len)
            }
            Id => Self::id(v),
        }
    }

    fn fields(&mut self, kinds: &[ArgKind]) -> Vec<String> {
        kinds
            .iter()
            .enumerate()
            .map(|(i, &k)| self.arg(k, i))
            .collect()
    }

    fn sockaddr(&mut self, v: u64, len: u64) -> String {
        let len = (self.addr(len) as usize).min(128);
        let Some(b) = (len >= 2).then(|| self.read(v, len)).flatten() else {
            return self.ptr(v);
        };
        let family = self.uint(&b[..2]);
        let fam = enum_name(Set::SocketFamily.table(self.arch), family)
            .map_or_else(|| family.to_string(), str::to_string);
        let be16 = |o: usize| b.get(o..o + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
        let body = match family {
            1 => {
                let raw = &b[2..];
                if raw.first() == Some(&0) && raw.len() > 1 {
                    format!("sun_path=@{}", quote(&raw[1..]))
                } else if raw.is_empty() {
                    String::new()
                } else {
                    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
                    self.paths
                        .push(String::from_utf8_lossy(&raw[..end]).into_owned());
                    format!("sun_path={}", quote(&raw[..end]))
                }
            }
            2 if b.len() >= 8 => format!(
                "sin_port=htons({}), sin_addr=inet_addr(\"{}\")",
                be16(2).unwrap_or(0),
                std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7])
            ),
            10 if b.len() >= 24 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                let scope = b.get(24..28).map(|s| self.uint(s)).unwrap_or(0);
                format!(
                    "sin6_port=htons({}), sin6_addr=\"{}\", sin6_scope_id={scope}",
                    be16(2).unwrap_or(0),
                    std::net::Ipv6Addr::from(a)
                )
            }
            16 if b.len() >= 12 => format!(
                "nl_pid={}, nl_groups={:#010x}",
                self.uint(&b[4..8]),
                self.uint(&b[8..12])
            ),
            _ => format!("sa_data={}", quote(&b[2..])),
        };
        if body.is_empty() {
            format!("{{sa_family={fam}}}")
        } else {
            format!("{{sa_family={fam}, {body}}}")
        }
    }

    /// `["ls", "-l", ...]`: the first [`ARGV_MAX`] entries.
    fn argv(&self, v: u64) -> String {
        let word = if self.ilp32() { 4 } else { 8 };
        let mut items = Vec::new();
        for i in 0..=ARGV_MAX as u64 {
            let Some(p) = self
                .read(v.wrapping_add(i * word as u64), word)
                .map(|b| self.uint(&b))
            else {
                return if i == 0 {
                    self.ptr(v)
                } else {
                    format!("[{}, ...]", items.join(", "))
                };
            };
            if p == 0 {
                return format!("[{}]", items.join(", "));
            }
            if i as usize == ARGV_MAX {
                items.push("...".into());
                break;
            }
            items.push(self.string(p));
        }
        format!("[{}]", items.join(", "))
    }

    /// Calls whose layout depends on their own arguments or the arch.
    fn special(&mut self, name: &str) -> Option<Vec<String>> {
        let a = self.args;
        Some(match name {
            "open" => self.open_args(0),
            "openat" => self.open_args(1),
            "openat2" => self.openat2_args(),
            "execve" => vec![self.path(a[0]), self.argv(a[1]), self.ptr(a[2])],
            "execveat" => vec![
                Self::dirfd(a[0]),
                self.path(a[1]),
                self.argv(a[2]),
                self.ptr(a[3]),
                self.flags(Set::At, a[4]),
            ],
            "socket" => {
                let family = a[0] & 0xffff_ffff;
                vec![
                    self.enumerated(Set::SocketFamily, family),
                    self.flags(Set::SocketType, a[1]),
                    self.protocol(family, a[2]),
                ]
            }
            "socketcall" => self.socketcall(),
            "clone" => self.clone_args(),
            "clone3" => self.clone3_args(),
            "mount" => self.mount_args(),
            "prctl" => self.prctl(),
            "ioctl" => vec![
                Self::fd(a[0]),
                symbols::ioctl_request(self.arch, a[1] & 0xffff_ffff),
                self.ptr(a[2]),
            ],
            "personality" => vec![match a[0] & 0xffff_ffff {
                0xffff_ffff => "0xffffffff".into(),
                v => flags(Set::Personality.table(self.arch), v),
            }],
            "mmap" if self.arch == Arch::X86 => self.old_mmap_args(),
            "mmap" | "mmap2" => self.mmap_args(&a),
            "keyctl" => self.keyctl_args(),
            "reboot" => self.reboot_args(),
            "quotactl" => self.quotactl_args(),
            "perf_event_open" => self.perf_event_args(),
            "io_uring_setup" => self.io_uring_setup_args(),
            _ => return None,
        })
    }

    /// `open` (`at` 0) or `openat` (`at` 1, the dirfd first).
    fn open_args(&mut self, at: usize) -> Vec<String> {
        let a = self.args;
        let mut out = Vec::new();
        if at == 1 {
            out.push(Self::dirfd(a[0]));
        }
        out.push(self.path(a[at]));
        out.push(self.flags(Set::Open, a[at + 1]));
        // The mode matters only when a file may be created.
        let creates = a[at + 1] & 0o100 != 0 || a[at + 1] & 0o20000000 != 0;
        if creates {
            out.push(self.arg(Mode, at + 2));
        }
        out
    }

    fn openat2_args(&mut self) -> Vec<String> {
        let a = self.args;
        let mut out = vec![Self::dirfd(a[0]), self.path(a[1])];
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        out.push(match self.read(a[2], 24) {
            Some(b) if self.addr(a[3]) >= 24 => {
                let (f, m, r) = (
                    self.uint(&b[..8]),
                    self.uint(&b[8..16]),
                    self.uint(&b[16..]),
                );
                format!(
                    "{{flags={}, mode=0{m:03o}, resolve={r:#x}}}",
                    flags(Set::Open.table(self.arch), f)
                )
            }
            _ => self.ptr(a[2]),
        });
        out.push(self.uint_text(a[3]));
        out
    }

    fn clone_args(&self) -> Vec<String> {
        let a = self.args;
        // s390 passes the stack first (CLONE_BACKWARDS2).
        let (f, s) = if matches!(self.arch, Arch::S390 | Arch::S390x) {
            (1, 0)
        } else {
            (0, 1)
        };
        let mut out = vec![
            format!("flags={}", self.flags(Set::Clone, a[f])),
            format!("stack={}", self.ptr(a[s])),
        ];
        out.extend(a[2..5].iter().map(|&v| self.ptr(v)));
        out
    }

    fn clone3_args(&self) -> Vec<String> {
        let a = self.args;
        let size = self.addr(a[1]);
        let text = match self.read(a[0], 40) {
            Some(b) if size >= 64 => {
                // flags, pidfd, child_tid, parent_tid, exit_signal, …
                let f = self.uint(&b[..8]);
                let sig = self.uint(&b[32..40]);
                format!(
                    "{{flags={}, exit_signal={}}}",
                    flags(Set::Clone3.table(self.arch), f),
                    symbols::signal(sig)
                )
            }
            _ => self.ptr(a[0]),
        };
        vec![text, size.to_string()]
    }

    fn mount_args(&mut self) -> Vec<String> {
        let a = self.args;
        let mut f = a[3] & 0xffff_ffff;
        let mut fl = Vec::new();
        if f & symbols::MS_MGC_MSK == symbols::MS_MGC_VAL {
            fl.push("MS_MGC_VAL".to_string());
            f &= !symbols::MS_MGC_MSK;
        }
        if f != 0 || fl.is_empty() {
            fl.push(flags(Set::Mount.table(self.arch), f));
        }
        vec![
            self.path(a[0]),
            self.path(a[1]),
            self.string(a[2]),
            fl.join("|"),
            self.string(a[4]),
        ]
    }

    /// i386's old mmap takes one pointer to its six arguments.
    fn old_mmap_args(&self) -> Vec<String> {
        let a = self.args;
        match self.read(a[0], 24) {
            Some(b) => {
                let mut inner = [0u64; 6];
                for (i, w) in inner.iter_mut().enumerate() {
                    *w = self.uint(&b[i * 4..i * 4 + 4]);
                }
                vec![format!("[{}]", self.mmap_args(&inner).join(", "))]
            }
            None => vec![self.ptr(a[0])],
        }
    }

    fn keyctl_args(&self) -> Vec<String> {
        let a = self.args;
        let op = a[0] & 0xffff_ffff;
        let mut out = vec![self.enumerated(Set::Keyctl, op)];
        out.push(match op {
            1 => self.string(a[1]),
            _ => self.enumerated_or_int(Set::KeySpec, a[1]),
        });
        out.extend(a[2..5].iter().map(|&v| format!("{v:#x}")));
        out
    }

    fn reboot_args(&self) -> Vec<String> {
        let a = self.args;
        vec![
            self.enumerated(Set::RebootMagic, a[0] & 0xffff_ffff),
            self.enumerated(Set::RebootMagic, a[1] & 0xffff_ffff),
            self.enumerated(Set::RebootCmd, a[2] & 0xffff_ffff),
            if a[2] & 0xffff_ffff == 0xA1B2_C3D4 {
                self.string(a[3])
            } else {
                self.ptr(a[3])
            },
        ]
    }

    fn quotactl_args(&mut self) -> Vec<String> {
        let a = self.args;
        let cmd = a[0] & 0xffff_ffff;
        let (c, t) = (cmd & !0xff, cmd & 0xff);
        let q = match enum_name(Set::Quotactl.table(self.arch), c >> 8) {
            Some(n) => format!(
                "QCMD({n}, {})",
                symbols::enum_or_number(Set::QuotaType.table(self.arch), t)
            ),
            None => format!("{cmd:#x}"),
        };
        vec![q, self.path(a[1]), Self::int(a[2]), self.ptr(a[3])]
    }

    fn perf_event_args(&mut self) -> Vec<String> {
        let a = self.args;
        let mut out = self.fields(&[Ptr, Int, Int, Fd, Flags(Set::PerfFlags)]);
        if let Some(b) = self.read(a[0], 16) {
            let t = self.uint(&b[..4]);
            out[0] = format!(
                "{{type={}, size={}, config={:#x}}}",
                self.enumerated(Set::PerfType, t),
                self.uint(&b[4..8]),
                self.uint(&b[8..16])
            );
        }
        out
    }

    fn io_uring_setup_args(&self) -> Vec<String> {
        let a = self.args;
        let params = match self.read(a[1], 12) {
            // struct io_uring_params { u32 sq_entries, cq_entries, flags; … }
            Some(b) => format!(
                "{{flags={}, cq_entries={}}}",
                flags(Set::IoUringSetup.table(self.arch), self.uint(&b[8..12])),
                self.uint(&b[4..8])
            ),
            None => self.ptr(a[1]),
        };
        vec![self.uint_text(a[0]), params]
    }

    fn enumerated_or_int(&self, set: Set, v: u64) -> String {
        enum_name(set.table(self.arch), v & 0xffff_ffff)
            .map_or_else(|| Self::int(v), str::to_string)
    }

    fn protocol(&self, family: u64, v: u64) -> String {
        let v = v & 0xffff_ffff;
        let set = match family {
            2 | 10 => Set::IpProto,
            16 => Set::NetlinkProto,
            17 if v <= 0xffff => {
                // AF_PACKET takes an ethertype in network byte order.
                let host = (v as u16).swap_bytes();
                return match host {
                    3 => "htons(ETH_P_ALL)".into(),
                    0x0800 => "htons(ETH_P_IP)".into(),
                    0x0806 => "htons(ETH_P_ARP)".into(),
                    0x86DD => "htons(ETH_P_IPV6)".into(),
                    h => format!("htons({h:#x})"),
                };
            }
            _ => return v.to_string(),
        };
        symbols::enum_or_number(set.table(self.arch), v)
    }

    fn mmap_args(&self, a: &[u64; 6]) -> Vec<String> {
        vec![
            self.ptr(a[0]),
            self.uint_text(a[1]),
            self.flags(Set::Prot, a[2]),
            self.flags(Set::Map, a[3]),
            Self::fd(a[4]),
            format!("{:#x}", self.addr(a[5])),
        ]
    }

    fn prctl(&mut self) -> Vec<String> {
        let a = self.args;
        let op = a[0] & 0xffff_ffff;
        let mut out = vec![self.enumerated(Set::Prctl, op)];
        let second = match op {
            1 => symbols::signal(a[1] & 0xffff_ffff), // PR_SET_PDEATHSIG
            15 => self.string(a[1]),                  // PR_SET_NAME
            22 => match a[1] {
                // PR_SET_SECCOMP
                1 => "SECCOMP_MODE_STRICT".into(),
                2 => "SECCOMP_MODE_FILTER".into(),
                v => v.to_string(),
            },
            23 | 24 => cap(a[1]), // PR_CAPBSET_*
            47 => {
                // PR_CAP_AMBIENT: a sub-operation, then (usually) a capability.
                let sub = match a[1] {
                    1 => "PR_CAP_AMBIENT_IS_SET".into(),
                    2 => "PR_CAP_AMBIENT_RAISE".into(),
                    3 => "PR_CAP_AMBIENT_LOWER".into(),
                    4 => "PR_CAP_AMBIENT_CLEAR_ALL".into(),
                    v => v.to_string(),
                };
                out.push(sub);
                if a[1] != 4 {
                    out.push(cap(a[2]));
                }
                return out;
            }
            0x5961_6d61 => match self.addr(a[1]) {
                // PR_SET_PTRACER
                v if v == self.addr(u64::MAX) => "PR_SET_PTRACER_ANY".into(),
                v => v.to_string(),
            },
            0x5356_4d41 if a[1] == 0 => {
                // PR_SET_VMA
                out.push("PR_SET_VMA_ANON_NAME".into());
                out.push(self.ptr(a[2]));
                out.push(self.uint_text(a[3]));
                out.push(self.string(a[4]));
                return out;
            }
            4 | 8 | 36 | 38 | 41 | 57 => self.uint_text(a[1]),
            16 | 2 | 37 => self.ptr(a[1]),
            // Options without arguments.
            3 | 7 | 21 | 27 | 30 | 31 | 32 | 39 | 42 | 58 | 66 => return out,
            _ => {
                out.extend(a[1..5].iter().map(|&v| format!("{v:#x}")));
                return out;
            }
        };
        out.push(second);
        out
    }

    fn socketcall(&mut self) -> Vec<String> {
        let a = self.args;
        let call = a[0] & 0xffff_ffff;
        let name = self.enumerated(Set::SocketCall, call);
        // The arguments sit in the tracee's memory as an array of longs.
        let inner_layout: Option<&[ArgKind]> = match call {
            1 => Some(&[Enum(Set::SocketFamily), Flags(Set::SocketType), Int]),
            2 | 3 => Some(&[Fd, SockAddr, UInt]),
            8 => Some(&[Enum(Set::SocketFamily), Flags(Set::SocketType), Int, Ptr]),
            _ => None,
        };
        let word = if self.ilp32() { 4 } else { 8 };
        let count = inner_layout.map_or(0, <[ArgKind]>::len);
        let words = self
            .read(a[1], count * word)
            .filter(|_| count > 0)
            .map(|b| b.chunks(word).map(|c| self.uint(c)).collect::<Vec<_>>());
        let (Some(kinds), Some(words)) = (inner_layout, words) else {
            return vec![name, self.ptr(a[1])];
        };
        let saved = self.args;
        let mut inner = [0u64; 6];
        inner[..words.len()].copy_from_slice(&words);
        self.args = inner;
        let mut shown = self.fields(kinds);
        if call == 1 {
            shown[2] = self.protocol(inner[0] & 0xffff_ffff, inner[2]);
        }
        self.args = saved;
        vec![name, format!("[{}]", shown.join(", "))]
    }
}

/// `21` -> `CAP_SYS_ADMIN`; numbers Linux has no name for print in decimal.
fn cap(v: u64) -> String {
    let named = (v < 64)
        .then(|| crate::caps::CapSet::none().with(v as u32).names().next())
        .flatten();
    named.map_or_else(|| v.to_string(), str::to_string)
}

/// Quotes bytes as strace does: `"a\nb\33"`, escaped by the one escaping
/// function for untrusted text ([`crate::untrusted::escape_into`]). More than
/// [`STRING_MAX`] bytes print their first [`STRING_MAX`] and `...` after the
/// closing quote.
pub fn quote(bytes: &[u8]) -> String {
    let (shown, cut) = match bytes.get(..STRING_MAX) {
        Some(s) if bytes.len() > STRING_MAX => (s, true),
        _ => (bytes, false),
    };
    let mut out = String::with_capacity(shown.len() + 2);
    out.push('"');
    crate::untrusted::escape_into(&mut out, shown, true, usize::MAX);
    out.push('"');
    if cut {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::memory::SliceMemory;

    const BASE: u64 = 0x10_0000;

    fn nr(arch: Arch, name: &str) -> u32 {
        arch.syscall_nr(name)
            .unwrap_or_else(|| panic!("{name} on {arch}"))
    }

    fn text(arch: Arch, name: &str, args: [u64; 6], mem: Option<&dyn TraceeMemory>) -> String {
        decode(arch, nr(arch, name), &args, mem).text
    }

    fn x(name: &str, args: [u64; 6]) -> String {
        text(Arch::X86_64, name, args, None)
    }

    /// Memory holding `bytes` at BASE.
    fn at_base(bytes: &[u8]) -> SliceMemory<'_> {
        SliceMemory { base: BASE, bytes }
    }

    /// `name(args)` on x86_64, decoded with `mem`.
    fn x_decoded(name: &str, args: [u64; 6], mem: &dyn TraceeMemory) -> Decoded {
        decode(Arch::X86_64, nr(Arch::X86_64, name), &args, Some(mem))
    }

    /// Each `(name, args, text)`: `name(args)` on x86_64, decoded with `mem`, is `text`.
    fn assert_x_texts(mem: &dyn TraceeMemory, cases: &[(&str, [u64; 6], &str)]) {
        for &(name, args, want) in cases {
            assert_eq!(x_decoded(name, args, mem).text, want, "{name}");
        }
    }

    /// Memory holding NUL-separated strings at BASE; returns it and their addresses.
    fn strings(parts: &[&[u8]]) -> (Vec<u8>, Vec<u64>) {
        let mut bytes = Vec::new();
        let mut at = Vec::new();
        for p in parts {
            at.push(BASE + bytes.len() as u64);
            bytes.extend_from_slice(p);
            bytes.push(0);
        }
        (bytes, at)
    }

    #[test]
    fn quoting_matches_strace() {
        assert_eq!(quote(b"a\nb"), "\"a\\nb\"");
        assert_eq!(quote(b"a\nb\"\\"), "\"a\\nb\\\"\\\\\"");
        assert_eq!(quote(b"\x1b[0m"), "\"\\33[0m\"");
        assert_eq!(quote(b"\x011"), "\"\\0011\"");
        assert_eq!(quote(b"\t\r\x0b\x0c\xff"), "\"\\t\\r\\v\\f\\377\"");
        let long = vec![b'a'; 300];
        let q = quote(&long);
        assert_eq!(q.len(), 256 + 2 + 3);
        assert!(q.ends_with("\"..."));
        assert_eq!(quote(&long[..256]).len(), 258);
    }

    #[test]
    fn pipe2_and_dup3_flags_of_zero_are_zero_not_o_rdonly() {
        // They take open's flag bits but no access mode: strace prints 0.
        assert_eq!(x("pipe2", [0x1000, 0, 0, 0, 0, 0]), "pipe2(0x1000, 0)");
        assert_eq!(
            x("pipe2", [0x1000, 0o2004000, 0, 0, 0, 0]),
            "pipe2(0x1000, O_NONBLOCK|O_CLOEXEC)"
        );
        assert_eq!(x("dup3", [3, 4, 0, 0, 0, 0]), "dup3(3, 4, 0)");
        assert_eq!(
            text(Arch::Aarch64, "dup3", [3, 4, 0o2000000, 0, 0, 0], None),
            "dup3(3, 4, O_CLOEXEC)"
        );
    }

    #[test]
    fn openat_with_and_without_memory() {
        let (bytes, at) = strings(&[b"/etc/passwd"]);
        let mem = at_base(&bytes);
        let fdcwd = (-100i64) as u64;
        let d = x_decoded("openat", [fdcwd, at[0], 0o2000000, 0, 0, 0], &mem);
        assert_eq!(d.name, "openat");
        assert_eq!(
            d.text,
            "openat(AT_FDCWD, \"/etc/passwd\", O_RDONLY|O_CLOEXEC)"
        );
        assert_eq!(d.paths, vec!["/etc/passwd".to_string()]);
        assert_eq!(
            x("openat", [3, 0x1234, 0o101, 0o644, 0, 0]),
            "openat(3, 0x1234, O_WRONLY|O_CREAT, 0644)"
        );
        // aarch64 has no open; its O_DIRECTORY is 0o40000.
        assert_eq!(
            text(Arch::Aarch64, "openat", [fdcwd, 0, 0o40000, 0, 0, 0], None),
            "openat(AT_FDCWD, NULL, O_RDONLY|O_DIRECTORY)"
        );
        // On a 32-bit arch the int arrives zero-extended.
        assert_eq!(
            text(Arch::X86, "open", [0, 0o2, 0, 0, 0, 0], None),
            "open(NULL, O_RDWR)"
        );
        assert_eq!(
            text(Arch::Arm, "openat", [0xffff_ff9c, 0, 0, 0, 0, 0], None),
            "openat(AT_FDCWD, NULL, O_RDONLY)"
        );
    }

    #[test]
    fn files_and_paths() {
        let (bytes, at) = strings(&[b"/a", b"/b", b"x\ny"]);
        let mem = at_base(&bytes);
        let fdcwd = (-100i64) as u64;
        assert_x_texts(
            &mem,
            &[
                ("mkdir", [at[0], 0o755, 0, 0, 0, 0], "mkdir(\"/a\", 0755)"),
                (
                    "unlinkat",
                    [5, at[2], 0x200, 0, 0, 0],
                    "unlinkat(5, \"x\\ny\", AT_REMOVEDIR)",
                ),
                (
                    "faccessat2",
                    [fdcwd, at[0], 4 | 2, 0x200, 0, 0],
                    "faccessat2(AT_FDCWD, \"/a\", R_OK|W_OK, AT_EACCESS)",
                ),
                ("access", [at[0], 0, 0, 0, 0, 0], "access(\"/a\", F_OK)"),
                (
                    "fchownat",
                    [fdcwd, at[0], 0xffff_ffff, 0, 0x100, 0],
                    "fchownat(AT_FDCWD, \"/a\", -1, 0, AT_SYMLINK_NOFOLLOW)",
                ),
                (
                    "statx",
                    [fdcwd, at[0], 0x1000, 0x7ff, 0x99, 0],
                    "statx(AT_FDCWD, \"/a\", AT_EMPTY_PATH, STATX_BASIC_STATS, 0x99)",
                ),
                (
                    "newfstatat",
                    [fdcwd, at[1], 0, 0, 0, 0],
                    "newfstatat(AT_FDCWD, \"/b\", NULL, 0)",
                ),
                ("chroot", [at[0], 0, 0, 0, 0, 0], "chroot(\"/a\")"),
                (
                    "mount",
                    [at[0], at[1], 0, 0xC0ED_0000 | 4096 | 16384, 0, 0],
                    "mount(\"/a\", \"/b\", NULL, MS_MGC_VAL|MS_BIND|MS_REC, NULL)",
                ),
                (
                    "umount2",
                    [at[1], 2, 0, 0, 0, 0],
                    "umount2(\"/b\", MNT_DETACH)",
                ),
            ],
        );
        let d = x_decoded("renameat2", [fdcwd, at[0], fdcwd, at[1], 1, 0], &mem);
        assert_eq!(
            d.text,
            "renameat2(AT_FDCWD, \"/a\", AT_FDCWD, \"/b\", RENAME_NOREPLACE)"
        );
        assert_eq!(d.paths, ["/a", "/b"]);
        // An unreadable path is its address, and names no path.
        let d = x_decoded("chmod", [0xdead, 0o4755, 0, 0, 0, 0], &mem);
        assert_eq!(d.text, "chmod(0xdead, 04755)");
        assert!(d.paths.is_empty());
    }

    #[test]
    fn execve_shows_argv() {
        let (mut bytes, at) = strings(&[b"/bin/sh", b"sh", b"-c", b"true"]);
        let argv_at = BASE + bytes.len() as u64;
        for p in [at[1], at[2], at[3], 0] {
            bytes.extend_from_slice(&p.to_le_bytes());
        }
        let mem = at_base(&bytes);
        let d = x_decoded("execve", [at[0], argv_at, 0x7ff0, 0, 0, 0], &mem);
        assert_eq!(
            d.text,
            "execve(\"/bin/sh\", [\"sh\", \"-c\", \"true\"], 0x7ff0)"
        );
        assert_eq!(d.paths, ["/bin/sh"]);
        // Nine pointers to "sh", no terminator in reach: the list is cut.
        let mut many = bytes.clone();
        let long_at = BASE + many.len() as u64;
        for _ in 0..9 {
            many.extend_from_slice(&at[1].to_le_bytes());
        }
        let mem = at_base(&many);
        let d = x_decoded("execve", [at[0], long_at, 0, 0, 0, 0], &mem);
        assert!(d.text.ends_with("\"sh\", ...], NULL)"), "{}", d.text);
    }

    #[test]
    fn hostile_argv_and_paths_read_from_memory_are_escaped() {
        let (mut bytes, at) = strings(&[
            b"/tmp/\x1b]0;PW\x07\xc2\x9b31m",
            b"\x1b[2J\x9b",
            b"caf\xc3\xa9\x7f\xe2\x80\xae",
        ]);
        let argv_at = BASE + bytes.len() as u64;
        for p in [at[1], at[2], 0] {
            bytes.extend_from_slice(&p.to_le_bytes());
        }
        let mem = at_base(&bytes);
        let d = x_decoded("execve", [at[0], argv_at, 0, 0, 0, 0], &mem);
        assert_eq!(
            d.text,
            "execve(\"/tmp/\\33]0;PW\\7\\302\\23331m\", [\"\\33[2J\\233\", \"café\\177\\342\\200\\256\"], NULL)"
        );
        assert!(
            !d.text.chars().any(crate::untrusted::is_unsafe),
            "{}",
            d.text
        );
    }

    #[test]
    fn sockets() {
        assert_eq!(
            x("socket", [2, 1 | 0o2000000, 6, 0, 0, 0]),
            "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_TCP)"
        );
        assert_eq!(
            x("socket", [16, 3, 9, 0, 0, 0]),
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)"
        );
        assert_eq!(
            x("socket", [17, 3, 0x300, 0, 0, 0]),
            "socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))"
        );
        assert_eq!(
            x("socketpair", [1, 1, 0, 0x50, 0, 0]),
            "socketpair(AF_UNIX, SOCK_STREAM, 0, 0x50)"
        );
        let mut un = 1u16.to_le_bytes().to_vec();
        un.extend_from_slice(b"/run/x.sock\0");
        let mut inet = 2u16.to_le_bytes().to_vec();
        inet.extend_from_slice(&443u16.to_be_bytes());
        inet.extend_from_slice(&[10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut inet6 = 10u16.to_le_bytes().to_vec();
        inet6.extend_from_slice(&53u16.to_be_bytes());
        inet6.extend_from_slice(&[0; 4]);
        inet6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        inet6.extend_from_slice(&[0; 4]);
        let mut abs = 1u16.to_le_bytes().to_vec();
        abs.extend_from_slice(b"\0bus");
        for (sa, want, path) in [
            (
                un,
                "{sa_family=AF_UNIX, sun_path=\"/run/x.sock\"}",
                Some("/run/x.sock"),
            ),
            (
                inet,
                "{sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr(\"10.0.0.1\")}",
                None,
            ),
            (
                inet6,
                "{sa_family=AF_INET6, sin6_port=htons(53), sin6_addr=\"::1\", sin6_scope_id=0}",
                None,
            ),
            (abs, "{sa_family=AF_UNIX, sun_path=@\"bus\"}", None),
        ] {
            let mem = at_base(&sa);
            let d = x_decoded("connect", [3, BASE, sa.len() as u64, 0, 0, 0], &mem);
            assert_eq!(d.text, format!("connect(3, {want}, {})", sa.len()));
            assert_eq!(d.paths.first().map(String::as_str), path);
        }
        assert_eq!(x("bind", [3, 0x1000, 16, 0, 0, 0]), "bind(3, 0x1000, 16)");
    }

    #[test]
    fn socketcall_on_i386() {
        let words: Vec<u8> = [2u32, 2, 17].iter().flat_map(|w| w.to_le_bytes()).collect();
        let mem = at_base(&words);
        assert_eq!(
            text(Arch::X86, "socketcall", [1, BASE, 0, 0, 0, 0], Some(&mem)),
            "socketcall(SYS_SOCKET, [AF_INET, SOCK_DGRAM, IPPROTO_UDP])"
        );
        assert_eq!(
            text(Arch::X86, "socketcall", [3, 0x99, 0, 0, 0, 0], None),
            "socketcall(SYS_CONNECT, 0x99)"
        );
    }

    #[test]
    fn processes_and_namespaces() {
        assert_eq!(
            x("clone", [0x0120_0011, 0, 0, 0x7f00, 0, 0]),
            "clone(flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, stack=NULL, NULL, 0x7f00, NULL)"
        );
        assert_eq!(
            text(
                Arch::S390x,
                "clone",
                [0x1000, 0x1002_0000, 0, 0, 0, 0],
                None
            ),
            "clone(flags=CLONE_NEWNS|CLONE_NEWUSER, stack=0x1000, NULL, NULL, NULL)"
        );
        let mut args = Vec::new();
        for w in [0x2_0000_0000u64 | 0x2000_0000, 0, 0, 0, 17] {
            args.extend_from_slice(&w.to_le_bytes());
        }
        let mem = at_base(&args);
        assert_eq!(
            text(Arch::X86_64, "clone3", [BASE, 88, 0, 0, 0, 0], Some(&mem)),
            "clone3({flags=CLONE_NEWPID|CLONE_INTO_CGROUP, exit_signal=SIGCHLD}, 88)"
        );
        assert_eq!(x("clone3", [BASE, 88, 0, 0, 0, 0]), "clone3(0x100000, 88)");
        assert_eq!(
            x("unshare", [0x1000_0000 | 0x20000 | 0x80, 0, 0, 0, 0, 0]),
            "unshare(CLONE_NEWNS|CLONE_NEWUSER|CLONE_NEWTIME)"
        );
        assert_eq!(
            x("setns", [4, 0x4000_0000, 0, 0, 0, 0]),
            "setns(4, CLONE_NEWNET)"
        );
        assert_eq!(x("setns", [4, 0, 0, 0, 0, 0]), "setns(4, 0)");
        assert_eq!(x("kill", [1234, 9, 0, 0, 0, 0]), "kill(1234, SIGKILL)");
        assert_eq!(
            x("kill", [(-1i64) as u64, 15, 0, 0, 0, 0]),
            "kill(-1, SIGTERM)"
        );
        assert_eq!(x("tgkill", [10, 11, 6, 0, 0, 0]), "tgkill(10, 11, SIGABRT)");
        assert_eq!(
            x("ptrace", [0x4206, 42, 0, 0x80, 0, 0]),
            "ptrace(PTRACE_SEIZE, 42, NULL, 0x80)"
        );
        assert_eq!(
            x("personality", [0x0040_0000, 0, 0, 0, 0, 0]),
            "personality(PER_LINUX|READ_IMPLIES_EXEC)"
        );
        assert_eq!(
            x("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
            "personality(0xffffffff)"
        );
    }

    #[test]
    fn prctl_and_ioctl() {
        let (bytes, at) = strings(&[b"worker"]);
        let mem = at_base(&bytes);
        assert_eq!(
            x_decoded("prctl", [15, at[0], 0, 0, 0, 0], &mem).text,
            "prctl(PR_SET_NAME, \"worker\")"
        );
        assert_eq!(
            x("prctl", [38, 1, 0, 0, 0, 0]),
            "prctl(PR_SET_NO_NEW_PRIVS, 1)"
        );
        assert_eq!(
            x("prctl", [24, 21, 0, 0, 0, 0]),
            "prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN)"
        );
        assert_eq!(
            x("prctl", [47, 2, 12, 0, 0, 0]),
            "prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_ADMIN)"
        );
        assert_eq!(
            x("prctl", [1, 9, 0, 0, 0, 0]),
            "prctl(PR_SET_PDEATHSIG, SIGKILL)"
        );
        assert_eq!(
            x("prctl", [22, 2, 0x10, 0, 0, 0]),
            "prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER)"
        );
        assert_eq!(
            x("prctl", [39, 0, 0, 0, 0, 0]),
            "prctl(PR_GET_NO_NEW_PRIVS)"
        );
        assert_eq!(
            x("prctl", [0x5961_6d61, u64::MAX, 0, 0, 0, 0]),
            "prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY)"
        );
        assert_eq!(
            x("prctl", [9999, 1, 2, 3, 4, 0]),
            "prctl(0x270f, 0x1, 0x2, 0x3, 0x4)"
        );
        assert_eq!(
            x("ioctl", [1, 0x5413, 0x7ff0, 0, 0, 0]),
            "ioctl(1, TIOCGWINSZ, 0x7ff0)"
        );
        assert_eq!(
            x("ioctl", [4, 0x40049409, 3, 0, 0, 0]),
            "ioctl(4, FICLONE, 0x3)"
        );
        assert_eq!(
            x("ioctl", [4, 0xc0109999, 0, 0, 0, 0]),
            "ioctl(4, _IOC(_IOC_READ|_IOC_WRITE, 0x99, 0x99, 0x10), NULL)"
        );
    }

    #[test]
    fn memory_maps() {
        assert_eq!(
            x("mmap", [0, 4096, 3, 0x22, (-1i64) as u64, 0]),
            "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0)"
        );
        assert_eq!(
            x("mprotect", [0x7000, 4096, 0, 0, 0, 0]),
            "mprotect(0x7000, 4096, PROT_NONE)"
        );
        assert_eq!(
            text(
                Arch::Aarch64,
                "mprotect",
                [0x7000, 4096, 0x15, 0, 0, 0],
                None
            ),
            "mprotect(0x7000, 4096, PROT_READ|PROT_EXEC|PROT_BTI)"
        );
        let old: Vec<u8> = [0u32, 8192, 1, 0x22, 0xffff_ffff, 0]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        let mem = at_base(&old);
        assert_eq!(
            text(Arch::X86, "mmap", [BASE, 0, 0, 0, 0, 0], Some(&mem)),
            "mmap([NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0x0])"
        );
    }

    #[test]
    fn privileged_calls() {
        let (bytes, at) = strings(&[b"user", b"desc", b"box"]);
        let mem = at_base(&bytes);
        assert_x_texts(
            &mem,
            &[
                (
                    "add_key",
                    [at[0], at[1], 0, 0, 0xffff_fffe, 0],
                    "add_key(\"user\", \"desc\", NULL, 0, KEY_SPEC_PROCESS_KEYRING)",
                ),
                (
                    "sethostname",
                    [at[2], 3, 0, 0, 0, 0],
                    "sethostname(\"box\", 3)",
                ),
                (
                    "quotactl",
                    [0x80_0007 << 8 | 1, at[2], 1000, 0, 0, 0],
                    "quotactl(QCMD(Q_GETQUOTA, GRPQUOTA), \"box\", 1000, NULL)",
                ),
            ],
        );
        assert_eq!(
            x("bpf", [5, 0x1000, 0x90, 0, 0, 0]),
            "bpf(BPF_PROG_LOAD, 0x1000, 144)"
        );
        assert_eq!(
            x("keyctl", [0, 0xffff_fffd, 1, 0, 0, 0]),
            "keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0x1, 0x0, 0x0)"
        );
        assert_eq!(
            x("reboot", [0xfee1_dead, 0x2812_1969, 0x4321_FEDC, 0, 0, 0]),
            "reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, NULL)"
        );
        assert_eq!(
            x("syslog", [10, 0, 0, 0, 0, 0]),
            "syslog(SYSLOG_ACTION_SIZE_BUFFER, NULL, 0)"
        );
        assert_eq!(
            x("finit_module", [3, 0, 2, 0, 0, 0]),
            "finit_module(3, NULL, MODULE_INIT_IGNORE_VERMAGIC)"
        );
        assert_eq!(
            x("kexec_load", [0x1000, 2, 0x2000, (62 << 16) | 1, 0, 0]),
            "kexec_load(0x1000, 2, 0x2000, KEXEC_ARCH_X86_64|KEXEC_ON_CRASH)"
        );
        assert_eq!(
            x("userfaultfd", [0o2000000 | 1, 0, 0, 0, 0, 0]),
            "userfaultfd(O_CLOEXEC|UFFD_USER_MODE_ONLY)"
        );
        assert_eq!(
            x(
                "perf_event_open",
                [0, 0, (-1i64) as u64, (-1i64) as u64, 8, 0]
            ),
            "perf_event_open(NULL, 0, -1, -1, PERF_FLAG_FD_CLOEXEC)"
        );
        let params: Vec<u8> = [0u32, 64, 2].iter().flat_map(|w| w.to_le_bytes()).collect();
        let mem = at_base(&params);
        assert_eq!(
            text(
                Arch::X86_64,
                "io_uring_setup",
                [8, BASE, 0, 0, 0, 0],
                Some(&mem)
            ),
            "io_uring_setup(8, {flags=IORING_SETUP_SQPOLL, cq_entries=64})"
        );
    }

    #[test]
    fn every_call_prints_by_its_kinds_and_unknown_numbers_as_hex() {
        assert_eq!(x("getpid", [1, 2, 3, 4, 5, 6]), "getpid()");
        assert_eq!(
            x("futex", [1, 2, 3, 4, 5, 6]),
            "futex(0x1, 2, 3, 0x4, 0x5, 6)"
        );
        assert_eq!(x("lseek", [1, 2, 3, 4, 5, 6]), "lseek(1, 2, 3)");
        // The example: strace prints `pread64(3, ..., 784, 64)`.
        assert_eq!(
            x("pread64", [3, 0x7fff_4703_b190, 0x310, 0x40, 0, 0]),
            "pread64(3, 0x7fff4703b190, 784, 64)"
        );
        assert_eq!(
            x("getdents64", [3, 0x5555_0000, 32768, 0, 0, 0]),
            "getdents64(3, 0x55550000, 32768)"
        );
        assert_eq!(
            x("lseek", [3, (-8i64) as u64, 2, 0, 0, 0]),
            "lseek(3, -8, 2)"
        );
        let d = decode(Arch::X86_64, 4000, &[1, 2, 3, 4, 5, 6], None);
        assert_eq!(d.name, "syscall_4000");
        assert_eq!(d.text, "syscall_4000(0x1, 0x2, 0x3, 0x4, 0x5, 0x6)");
    }

    /// Every syscall of every arch, with hostile arguments and memory full of
    /// junk, decodes without panicking.
    #[test]
    fn garbage_never_panics() {
        let junk: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
        let mem = SliceMemory {
            base: 0x1000,
            bytes: &junk,
        };
        let hostile = [
            [u64::MAX; 6],
            [0; 6],
            [
                0x1000,
                0x1001,
                0x1ff0,
                0x7fff_ffff,
                0x1000,
                0x8000_0000_0000_0000,
            ],
            [0x1000, 4096, 200, 0x1000, 0x1000, 0x1000],
        ];
        for arch in Arch::ALL {
            for &(_, n) in arch.syscalls() {
                for args in &hostile {
                    let d = decode(arch, n, args, Some(&mem));
                    assert!(d.text.starts_with(&d.name));
                    decode(arch, n, args, None);
                }
            }
        }
    }
}

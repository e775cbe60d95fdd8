//! Linux capabilities, as Docker profiles name them in `includes.caps`.

/// Capability names by number (`CAP_CHOWN` is 0).
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The 14 capabilities Docker grants a container unless told otherwise.
const DOCKER_DEFAULT: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A set of capabilities, one bit per capability number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CapSet(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {name:?}{}", hint.as_ref().map(|h| format!(" (did you mean {h}?)")).unwrap_or_default())]
pub struct UnknownCap {
    pub name: String,
    pub hint: Option<String>,
}

impl CapSet {
    pub fn none() -> CapSet {
        CapSet(0)
    }

    pub fn all() -> CapSet {
        CapSet((1 << NAMES.len()) - 1)
    }

    pub fn docker_default() -> CapSet {
        DOCKER_DEFAULT.iter().fold(CapSet::none(), |set, name| {
            set.with(number(name).expect("known cap"))
        })
    }

    /// Parses `docker`, `all`, `none`, or a comma list such as `CAP_SYS_ADMIN,NET_RAW`.
    pub fn parse(spec: &str) -> Result<CapSet, UnknownCap> {
        match spec.trim().to_ascii_lowercase().as_str() {
            "docker" | "default" => return Ok(CapSet::docker_default()),
            "all" => return Ok(CapSet::all()),
            "none" | "" => return Ok(CapSet::none()),
            _ => {}
        }
        spec.split(',').try_fold(CapSet::none(), |set, name| {
            let n = number(name).ok_or_else(|| UnknownCap {
                name: name.trim().to_string(),
                hint: crate::suggest::closest(&canonical(name), NAMES.iter().copied())
                    .map(str::to_string),
            })?;
            Ok(set.with(n))
        })
    }

    /// The effective set of the calling process, from /proc/self/status.
    pub fn current() -> CapSet {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .map_or(CapSet::none(), |bits| CapSet(bits & CapSet::all().0))
    }

    pub fn with(self, n: u32) -> CapSet {
        CapSet(self.0 | (1 << n))
    }

    pub fn union(self, other: CapSet) -> CapSet {
        CapSet(self.0 | other.0)
    }

    pub fn minus(self, other: CapSet) -> CapSet {
        CapSet(self.0 & !other.0)
    }

    /// Does the set hold the capability called `name`? Unknown names are never held.
    pub fn has(self, name: &str) -> bool {
        number(name).is_some_and(|n| self.0 & (1 << n) != 0)
    }

    pub fn names(self) -> impl Iterator<Item = &'static str> {
        NAMES
            .iter()
            .enumerate()
            .filter(move |&(n, _)| self.0 & (1 << n) != 0)
            .map(|(_, name)| *name)
    }
}

/// The name of capability number `n`: `21` -> `CAP_SYS_ADMIN`.
pub fn name(n: u32) -> Option<&'static str> {
    NAMES.get(n as usize).copied()
}

impl CapSet {
    /// The set of these bits (capability n is bit n); unknown bits are dropped.
    pub fn from_bits(bits: u64) -> CapSet {
        CapSet(bits & CapSet::all().0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Is `name` a capability Linux knows (with or without the `CAP_` prefix)?
pub fn is_known(name: &str) -> bool {
    number(name).is_some()
}

fn canonical(name: &str) -> String {
    let upper = name.trim().to_ascii_uppercase();
    if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    }
}

fn number(name: &str) -> Option<u32> {
    let name = canonical(name);
    NAMES.iter().position(|&n| n == name).map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_has_fourteen() {
        let set = CapSet::docker_default();
        assert_eq!(set.names().count(), 14);
        assert!(set.has("CAP_NET_RAW") && set.has("net_raw"));
        assert!(!set.has("CAP_SYS_ADMIN"));
    }

    #[test]
    fn parses_lists_and_rejects_typos() {
        let set = CapSet::parse("CAP_SYS_ADMIN,bpf").unwrap();
        assert_eq!(
            set.names().collect::<Vec<_>>(),
            ["CAP_SYS_ADMIN", "CAP_BPF"]
        );
        let err = CapSet::parse("CAP_SYS_ADMN").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("CAP_SYS_ADMIN"));
        assert_eq!(CapSet::parse("all").unwrap(), CapSet::all());
    }
}

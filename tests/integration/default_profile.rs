//! The embedded default profile behaves as Docker's default does, verdict by verdict.
//!
//! Docker's own file is not read here (the tests use only their own material):
//! each assertion is a documented behaviour of Docker's default profile.

use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::{self, Mode};
use eperm::profile::{load_str, resolve, Action, KernelVersion, Target, Verdict, DEFAULT_PROFILE};

const ALLOW: Verdict = Verdict::ALLOW;
const EPERM: Verdict = Verdict {
    action: Action::Errno,
    data: 1,
};
const ENOSYS: Verdict = Verdict {
    action: Action::Errno,
    data: 38,
};

/// The action word the compiled default gives `name(args)` on `arch`.
fn verdict(
    arch: Arch,
    caps: &str,
    kernel: &str,
    call_arch: Arch,
    name: &str,
    args: [u64; 6],
) -> u32 {
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    let target = Target {
        arch,
        caps: CapSet::parse(caps).unwrap(),
        kernel: KernelVersion::parse(kernel),
        runtime: None,
    };
    let compiled = compile::compile(&resolve(&profile, &target), Mode::Enforce).unwrap();
    let nr = call_arch
        .syscall_nr(name)
        .unwrap_or_else(|| panic!("{name} on {call_arch}"));
    compiled.run(call_arch, nr, args).0
}

fn x86_64(caps: &str, name: &str, args: [u64; 6]) -> u32 {
    verdict(Arch::X86_64, caps, "6.1", Arch::X86_64, name, args)
}

const NONE: [u64; 6] = [0; 6];
const CLONE_NEWUSER: u64 = 0x1000_0000;
const SIGCHLD: u64 = 17;

#[test]
fn ordinary_calls_are_allowed_on_every_docker_arch() {
    let w = compile::action_word;
    for name in [
        "read",
        "write",
        "openat",
        "execve",
        "exit_group",
        "mmap",
        "futex",
        "epoll_wait",
    ] {
        assert_eq!(x86_64("docker", name, NONE), w(ALLOW), "{name}");
    }
    // archMap: 32-bit x86 and x32 calls on an x86_64 host, arm on aarch64.
    assert_eq!(
        verdict(Arch::X86_64, "docker", "6.1", Arch::X86, "socketcall", NONE),
        w(ALLOW)
    );
    assert_eq!(
        verdict(Arch::X86_64, "docker", "6.1", Arch::X32, "read", NONE),
        w(ALLOW)
    );
    assert_eq!(
        verdict(Arch::Aarch64, "docker", "6.1", Arch::Arm, "read", NONE),
        w(ALLOW)
    );
    assert_eq!(
        verdict(
            Arch::Aarch64,
            "docker",
            "6.1",
            Arch::Aarch64,
            "newfstatat",
            NONE
        ),
        w(ALLOW)
    );
}

#[test]
fn dangerous_calls_get_eperm_without_their_capability() {
    let w = compile::action_word;
    for name in [
        "mount",
        "umount2",
        "reboot",
        "kexec_load",
        "init_module",
        "bpf",
        "perf_event_open",
        "unshare",
        "setns",
        "keyctl",
        "open_by_handle_at",
        "swapon",
        "userfaultfd",
        "io_uring_setup",
    ] {
        assert_eq!(
            x86_64("docker", name, NONE),
            w(EPERM),
            "{name} must be denied with Docker's caps"
        );
    }
    assert_eq!(x86_64("CAP_SYS_BOOT", "reboot", NONE), w(ALLOW));
    assert_eq!(x86_64("CAP_SYS_ADMIN", "mount", NONE), w(ALLOW));
    assert_eq!(x86_64("CAP_BPF", "bpf", NONE), w(ALLOW));
    assert_eq!(
        x86_64("CAP_DAC_READ_SEARCH", "open_by_handle_at", NONE),
        w(ALLOW)
    );
}

#[test]
fn clone_is_filtered_by_namespace_flags_and_clone3_gets_enosys() {
    let w = compile::action_word;
    assert_eq!(
        x86_64("docker", "clone", [SIGCHLD, 0, 0, 0, 0, 0]),
        w(ALLOW)
    );
    assert_eq!(
        x86_64("docker", "clone", [SIGCHLD | CLONE_NEWUSER, 0, 0, 0, 0, 0]),
        w(EPERM)
    );
    assert_eq!(
        x86_64("CAP_SYS_ADMIN", "clone", [CLONE_NEWUSER, 0, 0, 0, 0, 0]),
        w(ALLOW)
    );
    // glibc falls back from clone3 to clone on ENOSYS, so threads keep working.
    assert_eq!(x86_64("docker", "clone3", NONE), w(ENOSYS));
    assert_eq!(x86_64("CAP_SYS_ADMIN", "clone3", NONE), w(ALLOW));
    // s390's clone takes its flags in argument 1.
    let s390x = |args| verdict(Arch::S390x, "docker", "6.1", Arch::S390x, "clone", args);
    assert_eq!(s390x([0, CLONE_NEWUSER, 0, 0, 0, 0]), w(EPERM));
    assert_eq!(s390x([CLONE_NEWUSER, 0, 0, 0, 0, 0]), w(ALLOW));
}

#[test]
fn socket_families_and_personalities_are_limited() {
    let w = compile::action_word;
    let socket = |family: u64| x86_64("docker", "socket", [family, 1, 0, 0, 0, 0]);
    for family in [1, 2, 10, 16, 17, 39, 41, 44] {
        assert_eq!(socket(family), w(ALLOW), "family {family}");
    }
    // AF_KCM (41) is above; 38 (AF_ALG) and 40 (AF_VSOCK) are refused, as Docker does.
    assert_eq!(socket(38), w(EPERM));
    assert_eq!(socket(40), w(EPERM));
    let personality = |p: u64| x86_64("docker", "personality", [p, 0, 0, 0, 0, 0]);
    for p in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(personality(p), w(ALLOW), "personality {p:#x}");
    }
    // ADDR_NO_RANDOMIZE would switch off ASLR.
    assert_eq!(personality(0x0040000), w(EPERM));
}

#[test]
fn ptrace_needs_a_kernel_without_the_seccomp_bypass() {
    let w = compile::action_word;
    let ptrace = |kernel| verdict(Arch::X86_64, "docker", kernel, Arch::X86_64, "ptrace", NONE);
    assert_eq!(ptrace("4.8"), w(ALLOW));
    assert_eq!(ptrace("4.7"), w(EPERM));
    assert_eq!(
        verdict(
            Arch::X86_64,
            "CAP_SYS_PTRACE",
            "4.7",
            Arch::X86_64,
            "ptrace",
            NONE
        ),
        w(ALLOW)
    );
}

#[test]
fn arch_specific_calls_follow_the_host() {
    let w = compile::action_word;
    assert_eq!(x86_64("docker", "arch_prctl", NONE), w(ALLOW));
    assert_eq!(x86_64("docker", "modify_ldt", NONE), w(ALLOW));
    let riscv = verdict(
        Arch::Riscv64,
        "docker",
        "6.1",
        Arch::Riscv64,
        "riscv_flush_icache",
        NONE,
    );
    assert_eq!(riscv, w(ALLOW));
    // An arch the filter does not cover is killed (libseccomp's bad-arch default).
    assert_eq!(
        verdict(Arch::X86_64, "docker", "6.1", Arch::Aarch64, "read", NONE),
        0
    );
}

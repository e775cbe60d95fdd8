//! Narrowing proposals against libseccomp (feature `differential`): for every kind
//! of proposal, the narrowed profile lets every value the workload used through and
//! refuses values it never used, and our compiler and libseccomp (built as runc
//! builds it) give the same verdict for each.

use crate::compile::differential::{assert_matches_libseccomp, libseccomp_program_for};
use eperm::arch::Arch;
use eperm::caps::CapSet;
use eperm::compile::{self, bpf, Mode, SeccompData};
use eperm::coverage::{Coverage, Tally};
use eperm::profile::{load_str, resolve, Action, KernelVersion, Profile, Target, DEFAULT_PROFILE};
use eperm::tighten::narrow;
use std::collections::{BTreeMap, BTreeSet};

/// One kind of proposal: the syscall, the values seen per argument, and argument
/// vectors the workload never used that the narrowed profile must refuse.
struct Case {
    syscall: &'static str,
    seen: &'static [(usize, &'static [u64])],
    unseen: &'static [[u64; 6]],
}

const CLONE_NEWNET: u64 = 0x4000_0000;
const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWNS: u64 = 0x20000;
/// fork()'s and pthread_create()'s flags (glibc, x86_64).
const FORK: u64 = 0x0120_0011;
const THREAD: u64 = 0x003d_0f00;

const CASES: &[Case] = &[
    Case {
        syscall: "clone",
        seen: &[(0, &[FORK, THREAD])],
        unseen: &[
            [CLONE_NEWNET | 17, 0, 0, 0, 0, 0],
            [CLONE_NEWUSER, 0, 0, 0, 0, 0],
            [CLONE_NEWNS | THREAD, 0, 0, 0, 0, 0],
        ],
    },
    Case {
        syscall: "socket",
        // AF_UNIX and AF_INET; SOCK_STREAM|SOCK_CLOEXEC and SOCK_DGRAM.
        seen: &[(0, &[1, 2]), (1, &[0x80001, 2])],
        unseen: &[
            [10, 1, 0, 0, 0, 0], // AF_INET6
            [16, 3, 0, 0, 0, 0], // AF_NETLINK, SOCK_RAW
            [2, 3, 0, 0, 0, 0],  // AF_INET, SOCK_RAW
            [1, 5, 0, 0, 0, 0],  // AF_UNIX, SOCK_SEQPACKET
        ],
    },
    Case {
        syscall: "personality",
        seen: &[(0, &[0xffff_ffff])],
        unseen: &[[0, 0, 0, 0, 0, 0], [8, 0, 0, 0, 0, 0]],
    },
    Case {
        syscall: "ioctl",
        // TCGETS, TIOCGWINSZ.
        seen: &[(1, &[0x5401, 0x5413])],
        // TIOCSTI, FIONBIO.
        unseen: &[[0, 0x5412, 0, 0, 0, 0], [0, 0x5421, 0, 0, 0, 0]],
    },
    Case {
        syscall: "prctl",
        // PR_SET_NAME.
        seen: &[(0, &[15])],
        // PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS.
        unseen: &[[4, 0, 0, 0, 0, 0], [38, 1, 0, 0, 0, 0]],
    },
    Case {
        syscall: "mmap",
        // PROT_READ, PROT_READ|PROT_WRITE, PROT_READ|PROT_EXEC.
        seen: &[(2, &[1, 3, 5])],
        unseen: &[[0, 4096, 7, 0, 0, 0], [0, 4096, 6, 0, 0, 0]],
    },
    Case {
        syscall: "mprotect",
        seen: &[(2, &[1])],
        unseen: &[
            [0, 4096, 3, 0, 0, 0],
            [0, 4096, 5, 0, 0, 0],
            [0, 4096, 7, 0, 0, 0],
        ],
    },
];

fn coverage(case: &Case) -> Coverage {
    let values: BTreeMap<String, BTreeSet<u64>> = case
        .seen
        .iter()
        .map(|&(i, vs)| (format!("arg{i}"), vs.iter().copied().collect()))
        .collect();
    Coverage {
        runs: 1,
        tallies: vec![Tally {
            count: 10,
            values,
            ..Tally::new(None, case.syscall, Arch::X86_64, Action::Allow)
        }],
    }
}

/// Every combination of the values seen, as argument vectors.
fn seen_vectors(case: &Case) -> Vec<[u64; 6]> {
    let mut out = vec![[0u64; 6]];
    for &(i, vs) in case.seen {
        out = out
            .into_iter()
            .flat_map(|v| {
                vs.iter().map(move |&x| {
                    let mut v = v;
                    v[i] = x;
                    v
                })
            })
            .collect();
    }
    out
}

pub fn target(caps: CapSet) -> Target {
    Target {
        arch: Arch::X86_64,
        caps,
        kernel: KernelVersion::parse("6.1"),
        runtime: None,
    }
}

/// Our verdict and libseccomp's for `name(args)` on x86_64 under `profile`.
pub fn verdicts(profile: &Profile, t: &Target, name: &str, args: [u64; 6]) -> (u32, u32) {
    let set = [Arch::X86_64];
    let mut p = profile.clone();
    p.architectures.clear();
    p.arch_map.clear();
    let ours = compile::compile(&resolve(&p, t), Mode::Enforce).unwrap();
    let theirs = libseccomp_program_for(&p, &set, &BTreeSet::new(), t)
        .expect("libseccomp accepts the narrowed profile");
    let data = SeccompData {
        nr: Arch::X86_64.syscall_nr(name).unwrap(),
        arch: Arch::X86_64.audit_arch(),
        ip: 0,
        args,
    };
    (bpf::run(&ours.program, &data).0, bpf::run(&theirs, &data).0)
}

/// The default profile narrowed for `case`: exactly one proposal, for its syscall.
fn narrowed(case: &Case) -> (Profile, narrow::Proposal) {
    let profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    let proposals = narrow::proposals_for(&profile, &coverage(case), Arch::X86_64);
    assert_eq!(proposals.len(), 1, "{}: {proposals:?}", case.syscall);
    let p = proposals.into_iter().next().unwrap();
    assert_eq!(p.syscall, case.syscall);
    let out = p.apply_commented(&profile, Some("narrowed")).unwrap();
    (out, p)
}

#[test]
fn every_proposal_kind_allows_what_was_seen_and_denies_the_rest_as_libseccomp_does() {
    for case in CASES {
        let (out, proposal) = narrowed(case);
        // Root's capabilities (the privileged rules) and Docker's default set.
        for caps in [CapSet::all(), CapSet::docker_default()] {
            let t = target(caps);
            for args in seen_vectors(case) {
                let (ours, theirs) = verdicts(&out, &t, case.syscall, args);
                assert_eq!(ours, bpf::RET_ALLOW, "{}({args:x?}) seen", case.syscall);
                assert_eq!(theirs, ours, "{}({args:x?}): libseccomp", case.syscall);
            }
            for &args in case.unseen {
                let (ours, theirs) = verdicts(&out, &t, case.syscall, args);
                assert_ne!(
                    ours,
                    bpf::RET_ALLOW,
                    "{}({args:x?}) never seen, still allowed:\n{}",
                    case.syscall,
                    proposal.rules_text().join("\n")
                );
                assert_eq!(theirs, ours, "{}({args:x?}): libseccomp", case.syscall);
            }
        }
    }
}

#[test]
fn the_profile_narrowed_every_way_matches_libseccomp_everywhere() {
    let mut profile = load_str("default.json", DEFAULT_PROFILE.to_string()).unwrap();
    for case in CASES {
        let proposals = narrow::proposals_for(&profile, &coverage(case), Arch::X86_64);
        for p in proposals {
            profile = p.apply(&profile).unwrap();
        }
    }
    // Every syscall of every arch set, every rule value and its neighbours.
    assert_matches_libseccomp(&profile.text);
}

//! A readable listing of a seccomp program, with syscall and action names.

use super::bpf::{self, SockFilter};
use crate::arch::Arch;
use std::fmt::Write;

/// What the accumulator holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acc {
    Nr,
    Arch,
    Word(u32),
    Masked(u32, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct State {
    acc: Option<Acc>,
    /// The AUDIT_ARCH known to hold on this path.
    arch: Option<u32>,
}

fn merge(a: Option<State>, b: State) -> State {
    match a {
        None => b,
        Some(a) => State {
            acc: if a.acc == b.acc { a.acc } else { None },
            arch: if a.arch == b.arch { a.arch } else { None },
        },
    }
}

fn arch_name(audit: u32) -> String {
    match Arch::ALL
        .iter()
        .find(|a| a.audit_arch() == audit && **a != Arch::X32)
    {
        Some(a) => a.name().to_string(),
        None => format!("{audit:#010x}"),
    }
}

fn word_name(off: u32) -> String {
    match off {
        bpf::OFF_NR => "nr".into(),
        bpf::OFF_ARCH => "arch".into(),
        8 | 12 => format!("ip[{}]", (off - 8) / 4),
        _ => {
            let i = (off - bpf::OFF_ARGS) / 8;
            let half = if (off - bpf::OFF_ARGS) % 8 == 0 {
                "lo"
            } else {
                "hi"
            };
            format!("args[{i}].{half}")
        }
    }
}

/// The first comparison that tests an accumulator whose content depends on the
/// path taken, or tests `arch` against something that is no AUDIT_ARCH value.
/// Our programs never do; libseccomp 2.5.4 sometimes does (a stale accumulator).
pub fn stale_accumulator(prog: &[SockFilter]) -> Option<usize> {
    let text = disassemble(prog);
    text.lines().position(|l| {
        let l = l.trim_start();
        let body = l.split_once("  ").map_or("", |(_, b)| b);
        (body.starts_with('j') && !body.starts_with("ja") && body.contains(" A "))
            || (body.starts_with("jeq  arch") && body.contains("== 0x"))
    })
}

/// The listing, one instruction a line: `  12  jge  nr >= 59 (execve)  -> 20 : 13`.
pub fn disassemble(prog: &[SockFilter]) -> String {
    let mut states: Vec<Option<State>> = vec![None; prog.len() + 1];
    if !prog.is_empty() {
        states[0] = Some(State {
            acc: None,
            arch: None,
        });
    }
    let width = prog.len().to_string().len().max(3);
    let mut out = String::new();
    for (pc, ins) in prog.iter().enumerate() {
        let st = states[pc].unwrap_or(State {
            acc: None,
            arch: None,
        });
        let mut flow = |to: usize, s: State| {
            if to < states.len() {
                states[to] = Some(merge(states[to], s));
            }
        };
        let target = |off: u8| pc + 1 + off as usize;
        let text = match ins.code {
            bpf::LD_ABS => {
                let acc = match ins.k {
                    bpf::OFF_NR => Acc::Nr,
                    bpf::OFF_ARCH => Acc::Arch,
                    k => Acc::Word(k),
                };
                flow(
                    pc + 1,
                    State {
                        acc: Some(acc),
                        ..st
                    },
                );
                format!("ld   {}", word_name(ins.k))
            }
            bpf::AND_K => {
                let acc = match st.acc {
                    Some(Acc::Word(o)) | Some(Acc::Masked(o, _)) => Some(Acc::Masked(o, ins.k)),
                    _ => None,
                };
                flow(pc + 1, State { acc, ..st });
                format!("and  {:#x}", ins.k)
            }
            bpf::RET_K => format!("ret  {}", bpf::action_name(ins.k)),
            bpf::JA => {
                let to = pc + 1 + ins.k as usize;
                flow(to, st);
                format!("ja   -> {to}")
            }
            code => {
                let op = match code {
                    bpf::JEQ_K => ("jeq ", "=="),
                    bpf::JGT_K => ("jgt ", ">"),
                    bpf::JGE_K => ("jge ", ">="),
                    bpf::JSET_K => ("jset", "&"),
                    _ => ("??? ", "?"),
                };
                let (what, value) = match st.acc {
                    Some(Acc::Arch) => ("arch".to_string(), arch_name(ins.k)),
                    Some(Acc::Nr) => {
                        let name = st
                            .arch
                            .and_then(|a| Arch::from_audit(a, ins.k))
                            .and_then(|a| a.syscall_name(ins.k));
                        let v = match name {
                            Some(n) => format!("{} ({n})", ins.k),
                            None if ins.k >= 0x1000 => format!("{:#x}", ins.k),
                            None => ins.k.to_string(),
                        };
                        ("nr".to_string(), v)
                    }
                    Some(Acc::Word(o)) => (word_name(o), format!("{:#x}", ins.k)),
                    Some(Acc::Masked(o, m)) => (
                        format!("{} & {m:#x}", word_name(o)),
                        format!("{:#x}", ins.k),
                    ),
                    None => ("A".to_string(), format!("{:#x}", ins.k)),
                };
                let mut t_state = st;
                if code == bpf::JEQ_K && st.acc == Some(Acc::Arch) {
                    t_state.arch = Some(ins.k);
                }
                flow(target(ins.jt), t_state);
                flow(target(ins.jf), st);
                format!(
                    "{} {what} {} {value}  -> {} : {}",
                    op.0,
                    op.1,
                    target(ins.jt),
                    target(ins.jf)
                )
            }
        };
        let _ = writeln!(out, "{pc:>width$}  {text}");
    }
    out
}

//! eBPF, as far as coverage needs it: an instruction encoder ([`insn`]), the
//! `bpf()` and `perf_event_open()` calls ([`sys`]), a BTF reader for two struct
//! offsets ([`btf`]), and the program that counts a cgroup's calls in the
//! kernel ([`counter`]), and the watcher of calls refused by other layers
//! ([`refusals`]). No C toolchain and no prebuilt object: the program is
//! assembled at run time.

pub mod btf;
pub mod counter;
pub mod insn;
pub mod refusals;
pub mod sys;

pub use counter::{CallTable, Counter, CounterError, Counts, Hook, Scope, Spec};

//! `exit_floor CMD [ARGS…]` runs CMD while a do-nothing eBPF program sits on
//! `sys_exit`, where the layer watcher's does, and exits as CMD did: the floor
//! benches/layers.sh puts beside watching (what any `sys_exit` hook costs
//! every call of the machine, before eperm's program does anything). Root.

use std::process::{exit, Command};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(cmd) = args.next() else {
        eprintln!("usage: exit_floor CMD [ARGS...]");
        exit(2);
    };
    let _attached = eperm::bpf::refusals::attach_empty_exit().unwrap_or_else(|e| {
        eprintln!("exit_floor: {e}");
        exit(1)
    });
    let status = Command::new(cmd).args(args).status().unwrap_or_else(|e| {
        eprintln!("exit_floor: {e}");
        exit(1)
    });
    exit(status.code().unwrap_or(1));
}

//! Syscalls whose allowance weakens a container, each with the reason in one line.
//!
//! Used by `check` today and by the TUI's detail pane later, so the words are
//! written for a person deciding whether to press `a`.

const RISKY: &[(&[&str], &str)] = &[
    (&["ptrace"], "reads and rewrites the memory and registers of other processes; before Linux 4.8 it could also step around seccomp"),
    (&["process_vm_readv", "process_vm_writev"], "reads or writes another process's memory without stopping it"),
    (&["mount", "umount", "umount2", "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "mount_setattr", "pivot_root"], "changes what the filesystem looks like; with CAP_SYS_ADMIN it is a classic way out of a container"),
    (&["bpf"], "loads programs into the kernel, a large attack surface that is shared with the host"),
    (&["kexec_load", "kexec_file_load"], "replaces the running kernel"),
    (&["init_module", "finit_module", "delete_module", "create_module"], "adds code to, or removes code from, the host's kernel"),
    (&["open_by_handle_at"], "opens files by handle, skipping the path walk that confines a container to its root: the 2014 \"shocker\" escape"),
    (&["keyctl", "add_key", "request_key"], "the kernel keyring is not namespaced, so keys can leak between containers"),
    (&["userfaultfd"], "lets a process pause the kernel's page-fault handling at will, a favourite way to win kernel race conditions"),
    (&["perf_event_open"], "exposes hardware counters and kernel addresses, and has a long history of kernel bugs"),
    (&["unshare", "setns"], "creates or enters namespaces; a new user namespace opens kernel code to unprivileged users"),
    (&["io_uring_setup", "io_uring_enter", "io_uring_register"], "a second way to make system calls that seccomp cannot see into: requests submitted through io_uring are never filtered"),
    (&["reboot"], "restarts or halts the machine where the namespace permits it"),
    (&["swapon", "swapoff"], "changes the host's swap devices"),
    (&["syslog"], "reads the kernel log, which can reveal kernel addresses and other containers' activity"),
    (&["settimeofday", "clock_settime", "clock_settime64", "stime"], "sets the clock, which is not namespaced: every container and the host see the change"),
    (&["iopl", "ioperm"], "gives direct access to hardware I/O ports"),
    (&["acct"], "switches process accounting for the whole host"),
    (&["lookup_dcookie", "quotactl", "quotactl_fd", "nfsservctl", "uselib", "vm86", "vm86old", "sysfs", "_sysctl"], "an old or rarely needed interface with a history of kernel bugs"),
];

/// Why allowing `name` is risky, or `None` for ordinary syscalls.
pub fn risk(name: &str) -> Option<&'static str> {
    RISKY
        .iter()
        .find(|(names, _)| names.contains(&name))
        .map(|&(_, why)| why)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_risky_name_is_a_real_syscall() {
        for (names, _) in super::RISKY {
            for name in *names {
                assert!(
                    crate::arch::is_known_anywhere(name),
                    "{name} is not a syscall on any arch"
                );
            }
        }
        // Each name is found with its own entry's reason: no name is listed twice.
        for (names, why) in super::RISKY {
            for name in *names {
                assert_eq!(super::risk(name), Some(*why), "{name}");
            }
        }
        assert!(super::risk("ptrace")
            .is_some_and(|why| why.starts_with("reads and rewrites the memory")));
        assert_eq!(super::risk("read"), None);
        assert_eq!(super::risk(""), None);
    }
}

//! What each syscall takes and does, one line per syscall: its name, the kind of
//! each argument, and a description in our own words. The decoder prints
//! arguments by kind, the Detail pane shows the description, and narrowing
//! suggestions pin only the kinds whose values are choices (flags, modes,
//! families, requests, options), never an fd, pointer, size, pid or timeout.
//!
//! Kinds, as written in [`TABLE`]:
//!
//! | word | argument | printed as | pinned? |
//! |---|---|---|---|
//! | `fd` / `dirfd` | a file descriptor (`dirfd`: or `AT_FDCWD`) | decimal | never |
//! | `path` / `str` | a NUL-terminated path / other string | read from memory, else the address | never |
//! | `strlen` | a string whose length is the next argument | read from memory | never |
//! | `ptr` / `sockaddr` | a pointer / a `struct sockaddr *` (length next) | the address / the family and address | never |
//! | `n` | a size or a count | unsigned decimal | never |
//! | `off` | a file offset | signed decimal | never |
//! | `int` / `pid` / `id` | a number, a pid or tid, a uid or gid | decimal | never |
//! | `sig` | a signal | `SIGTERM` | never |
//! | `hex` | an opaque word (a key, a handle, a timer id) | hex | never |
//! | `mode` | permission bits | octal | yes |
//! | `opt` | an option, command, request or policy without names here | decimal | yes |
//! | `bits` | flags without names here | hex | yes |
//! | `F:Set` / `E:Set` | flags / an enumeration named by [`Set`] | symbolic | yes |
//!
//! Timeouts are pointers or plain numbers (`int`): neither is ever pinned.
//! The layouts are the 64-bit ones; on 32-bit arches a 64-bit offset takes two
//! registers, which the table does not model (those words print by the kind of
//! the slot they land in).

use super::symbols::Set;
use crate::arch::Arch;
use std::collections::HashMap;
use std::sync::OnceLock;

/// How one argument is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Fd,
    DirFd,
    Path,
    Str,
    StrLen,
    Ptr,
    SockAddr,
    /// A size or a count.
    UInt,
    Off,
    Int,
    Pid,
    /// A uid or gid (`-1` means "unchanged").
    Id,
    Signal,
    Hex,
    Mode,
    /// An option, command, request or policy with no names in [`Set`].
    Opt,
    /// Flags with no names in [`Set`].
    Bits,
    Flags(Set),
    Enum(Set),
}

impl Kind {
    /// Is a value of this kind a choice the program makes, the same on every run
    /// (a flag, a mode, a family, a request, an option)? Only those are pinned.
    pub fn pinnable(self) -> bool {
        matches!(
            self,
            Kind::Mode | Kind::Opt | Kind::Bits | Kind::Flags(_) | Kind::Enum(_)
        )
    }

    /// What the argument is, for "never pinned: arg0 is an fd".
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Fd => "an fd",
            Kind::DirFd => "a directory fd",
            Kind::Path => "a path pointer",
            Kind::Str | Kind::StrLen => "a string pointer",
            Kind::Ptr | Kind::SockAddr => "a pointer",
            Kind::UInt => "a size or count",
            Kind::Off => "an offset",
            Kind::Int => "a number",
            Kind::Pid => "a pid",
            Kind::Id => "a uid or gid",
            Kind::Signal => "a signal",
            Kind::Hex => "an opaque value",
            Kind::Mode => "a mode",
            Kind::Opt => "an option",
            Kind::Bits | Kind::Flags(_) => "flags",
            Kind::Enum(_) => "a request or family",
        }
    }

    fn parse(word: &str) -> Option<Kind> {
        Some(match word {
            "fd" => Kind::Fd,
            "dirfd" => Kind::DirFd,
            "path" => Kind::Path,
            "str" => Kind::Str,
            "strlen" => Kind::StrLen,
            "ptr" => Kind::Ptr,
            "sockaddr" => Kind::SockAddr,
            "n" => Kind::UInt,
            "off" => Kind::Off,
            "int" => Kind::Int,
            "pid" => Kind::Pid,
            "id" => Kind::Id,
            "sig" => Kind::Signal,
            "hex" => Kind::Hex,
            "mode" => Kind::Mode,
            "opt" => Kind::Opt,
            "bits" => Kind::Bits,
            _ => {
                let (form, set) = word.split_once(':')?;
                let set = set_named(set)?;
                match form {
                    "F" => Kind::Flags(set),
                    "E" => Kind::Enum(set),
                    _ => return None,
                }
            }
        })
    }
}

/// The [`Set`]s the table names.
fn set_named(name: &str) -> Option<Set> {
    use Set::*;
    Some(match name {
        "Open" => Open,
        "At" => At,
        "AccessAt" => AccessAt,
        "UnlinkAt" => UnlinkAt,
        "Access" => Access,
        "Rename" => Rename,
        "Statx" => Statx,
        "SocketFamily" => SocketFamily,
        "SocketType" => SocketType,
        "Clone" => Clone,
        "Unshare" => Unshare,
        "Mount" => Mount,
        "Umount" => Umount,
        "Prctl" => Prctl,
        "Ioctl" => Ioctl,
        "Personality" => Personality,
        "Prot" => Prot,
        "Map" => Map,
        "Ptrace" => Ptrace,
        "Bpf" => Bpf,
        "Keyctl" => Keyctl,
        "KeySpec" => KeySpec,
        "RebootMagic" => RebootMagic,
        "RebootCmd" => RebootCmd,
        "Syslog" => Syslog,
        "KexecFlags" => KexecFlags,
        "PerfFlags" => PerfFlags,
        "Userfaultfd" => Userfaultfd,
        "FinitModule" => FinitModule,
        "SocketCall" => SocketCall,
        _ => return None,
    })
}

/// One syscall's line of [`TABLE`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub kinds: Vec<Kind>,
    pub description: &'static str,
}

/// `name: kinds | description`, one syscall a line; `-` for no arguments.
pub const TABLE: &str = "
_llseek: fd n n ptr opt | moves an fd's file position, the 64-bit offset given in two halves
_newselect: n ptr ptr ptr ptr | waits until some fds in three sets are ready (old select)
_sysctl: ptr | reads or sets a kernel tunable through the retired binary sysctl interface
accept: fd ptr ptr | takes the next pending connection on a listening socket
accept4: fd ptr ptr F:SocketType | takes the next pending connection, with flags for the new fd
access: path F:Access | checks whether the caller may read, write or run a path
acct: path | turns process accounting on (into a file) or off
add_key: str str ptr n E:KeySpec | adds a key to a kernel keyring
adjtimex: ptr | reads or tunes the kernel clock's discipline
afs_syscall: hex hex hex hex hex | reserved for AFS; not implemented
alarm: n | asks for SIGALRM after a number of seconds
arch_prctl: opt hex | reads or sets architecture-specific thread state (FS/GS bases)
arm_fadvise64_64: fd opt off off | tells the kernel how a file range will be read (ARM argument order)
arm_sync_file_range: fd bits off off | flushes part of a file to disk (ARM argument order)
atomic_barrier: - | orders memory accesses on CPUs without atomic instructions (m68k)
atomic_cmpxchg_32: hex int int int int ptr | compares and swaps a 32-bit word in one step (m68k)
bdflush: opt hex | tuned the old buffer-flush daemon; now does nothing
bind: fd sockaddr n | gives a socket a local address
bpf: E:Bpf ptr n | loads and manages eBPF programs and maps
break: - | an unimplemented historical call
breakpoint: - | raises a breakpoint trap (ARM)
brk: ptr | moves the end of the heap
cachectl: ptr n opt | controls the CPU caches for a range (MIPS)
cacheflush: ptr n bits | flushes the CPU caches for a range of memory
cachestat: fd ptr ptr bits | reports how much of a file sits in the page cache
capget: ptr ptr | reads a thread's capability sets
capset: ptr ptr | sets the process's capabilities
chdir: path | changes the working directory
chmod: path mode | changes a file's permission bits
chown: path id id | changes a file's owner
chown32: path id id | changes a file's owner (32-bit ids)
chroot: path | changes the root directory of the process
clock_adjtime: opt ptr | reads or tunes one clock's discipline
clock_adjtime64: opt ptr | reads or tunes one clock's discipline (64-bit time)
clock_getres: opt ptr | reads a clock's resolution
clock_getres_time64: opt ptr | reads a clock's resolution (64-bit time)
clock_gettime: opt ptr | reads a clock
clock_gettime64: opt ptr | reads a clock (64-bit time)
clock_nanosleep: opt bits ptr ptr | sleeps on a chosen clock, for a time or until a moment
clock_nanosleep_time64: opt bits ptr ptr | sleeps on a chosen clock (64-bit time)
clock_settime: opt ptr | sets a clock
clock_settime64: opt ptr | sets a clock (64-bit time)
clone: F:Clone ptr ptr ptr hex | creates a process or thread
clone3: ptr n | creates a process or thread (extensible arguments)
close: fd | closes a file descriptor
close_range: fd fd bits | closes or marks close-on-exec a whole range of fds
connect: fd sockaddr n | connects a socket to an address
copy_file_range: fd ptr fd ptr n bits | copies bytes between two files inside the kernel
creat: path mode | creates a file (or truncates it) and opens it for writing
create_module: str n | reserved a kernel module's memory; gone since Linux 2.6
delete_module: str bits | unloads a kernel module
dup: fd | duplicates a file descriptor on the lowest free number
dup2: fd fd | duplicates a file descriptor onto a chosen number
dup3: fd fd F:Open | duplicates a file descriptor onto a chosen number, with flags
epoll_create: n | creates an epoll instance
epoll_create1: bits | creates an epoll instance, with flags
epoll_ctl: fd opt fd ptr | adds, changes or removes an fd watched by an epoll instance
epoll_ctl_old: fd opt fd ptr | an early epoll_ctl (x86-64, unused)
epoll_pwait: fd ptr n int ptr n | waits for epoll events with a signal mask in place
epoll_pwait2: fd ptr n ptr ptr n | waits for epoll events, with a fine timeout and a signal mask
epoll_wait: fd ptr n int | waits for events on an epoll instance
epoll_wait_old: fd ptr n int | an early epoll_wait (x86-64, unused)
eventfd: n | creates an fd that works as an event counter
eventfd2: n bits | creates an event-counter fd, with flags
execve: path ptr ptr | replaces the process with a new program
execveat: dirfd path ptr ptr F:At | runs a program given by a directory fd and path
exit: int | ends the calling thread
exit_group: int | ends every thread of the process
faccessat: dirfd path F:Access | checks access to a path, relative to a directory fd
faccessat2: dirfd path F:Access F:AccessAt | checks access to a path, relative to a directory fd, with flags
fadvise64: fd off n opt | tells the kernel how a file range will be read
fadvise64_64: fd off off opt | tells the kernel how a file range will be read (64-bit lengths)
fallocate: fd bits off off | reserves, punches or zeroes a range of a file
fanotify_init: bits bits | creates a filesystem-wide notification group
fanotify_mark: fd bits bits dirfd path | picks what a fanotify group watches
fchdir: fd | changes the working directory to an open directory
fchmod: fd mode | changes an open file's permission bits
fchmodat: dirfd path mode | changes a file's permission bits, relative to a directory fd
fchmodat2: dirfd path mode F:At | changes permission bits relative to a directory fd, with flags
fchown: fd id id | changes an open file's owner
fchown32: fd id id | changes an open file's owner (32-bit ids)
fchownat: dirfd path id id F:At | changes a file's owner, relative to a directory fd
fcntl: fd opt hex | reads or changes an fd's properties (flags, locks, owner)
fcntl64: fd opt hex | reads or changes an fd's properties (64-bit locks)
fdatasync: fd | flushes a file's data (not all its metadata) to disk
fgetxattr: fd str ptr n | reads an extended attribute of an open file
file_getattr: dirfd path ptr n F:At | reads a file's inode attributes (project id, flags)
file_setattr: dirfd path ptr n F:At | sets a file's inode attributes (project id, flags)
finit_module: fd str F:FinitModule | loads a kernel module from a file descriptor
flistxattr: fd ptr n | lists the extended attributes of an open file
flock: fd opt | takes or drops an advisory lock on a whole file
fork: - | creates a child process
fremovexattr: fd str | removes an extended attribute of an open file
fsconfig: fd opt str ptr int | sets a parameter of a filesystem being configured
fsetxattr: fd str ptr n bits | sets an extended attribute of an open file
fsmount: fd bits bits | makes a mount from a configured filesystem
fsopen: str bits | starts configuring a new filesystem
fspick: dirfd path bits | opens an existing mount's filesystem for reconfiguring
fstat: fd ptr | reads an open file's metadata
fstat64: fd ptr | reads an open file's metadata (large-file layout)
fstatat64: dirfd path ptr F:At | reads a file's metadata, relative to a directory fd (large-file layout)
fstatfs: fd ptr | reads statistics of the filesystem holding an open file
fstatfs64: fd n ptr | reads filesystem statistics for an open file (64-bit layout)
fsync: fd | flushes a file's data and metadata to disk
ftime: ptr | an unimplemented historical time call
ftruncate: fd off | sets an open file's length
ftruncate64: fd off | sets an open file's length (64-bit length)
futex: ptr opt n ptr ptr n | waits on or wakes threads through a shared integer
futex_requeue: ptr bits n n | wakes waiters of one futex and moves others to a second
futex_time64: ptr opt n ptr ptr n | waits on or wakes threads through a shared integer (64-bit time)
futex_wait: ptr n n bits ptr opt | waits until a futex word changes
futex_waitv: ptr n bits ptr opt | waits on several futexes at once
futex_wake: ptr n n bits | wakes threads waiting on a futex
futimesat: dirfd path ptr | sets a file's access and change times, relative to a directory fd
get_kernel_syms: ptr | listed kernel symbols; gone since Linux 2.6
get_mempolicy: ptr ptr n ptr bits | reads the NUMA memory policy
get_robust_list: pid ptr ptr | reads a thread's list of robust futexes
get_thread_area: ptr | reads a TLS entry of the thread
get_tls: - | reads the thread's TLS pointer (ARM)
getcpu: ptr ptr ptr | says which CPU and NUMA node the thread runs on
getcwd: ptr n | reads the working directory's path
getdents: fd ptr n | reads directory entries (old layout)
getdents64: fd ptr n | reads directory entries from an open directory
getegid: - | returns the effective group id
getegid32: - | returns the effective group id (32-bit id)
geteuid: - | returns the effective user id
geteuid32: - | returns the effective user id (32-bit id)
getgid: - | returns the real group id
getgid32: - | returns the real group id (32-bit id)
getgroups: n ptr | reads the supplementary group list
getgroups32: n ptr | reads the supplementary group list (32-bit ids)
getitimer: opt ptr | reads an interval timer
getpagesize: - | returns the size of a memory page (m68k)
getpeername: fd ptr ptr | reads the address a socket is connected to
getpgid: pid | returns a process's group id
getpgrp: - | returns the caller's process group id
getpid: - | returns the process id
getpmsg: fd ptr ptr ptr ptr | a STREAMS call Linux never implemented
getppid: - | returns the parent's process id
getpriority: opt id | reads the scheduling priority of a process, group or user
getrandom: ptr n bits | fills a buffer with random bytes
getresgid: ptr ptr ptr | reads the real, effective and saved group ids
getresgid32: ptr ptr ptr | reads the real, effective and saved group ids (32-bit ids)
getresuid: ptr ptr ptr | reads the real, effective and saved user ids
getresuid32: ptr ptr ptr | reads the real, effective and saved user ids (32-bit ids)
getrlimit: opt ptr | reads a resource limit
getrusage: opt ptr | reads resource usage of the caller, its children or thread
getsid: pid | returns a process's session id
getsockname: fd ptr ptr | reads a socket's local address
getsockopt: fd opt opt ptr ptr | reads a socket option
gettid: - | returns the thread id
gettimeofday: ptr ptr | reads the wall-clock time
getuid: - | returns the real user id
getuid32: - | returns the real user id (32-bit id)
getxattr: path str ptr n | reads an extended attribute of a path
getxattrat: dirfd path F:At str ptr n | reads an extended attribute, relative to a directory fd
gtty: fd ptr | an unimplemented historical terminal call
idle: - | made the boot process the idle task; gone
init_module: ptr n str | loads a kernel module from memory
inotify_add_watch: fd path bits | watches a path for filesystem events
inotify_init: - | creates an inotify instance
inotify_init1: bits | creates an inotify instance, with flags
inotify_rm_watch: fd int | stops an inotify watch
io_cancel: hex ptr ptr | cancels an asynchronous I/O request
io_destroy: hex | tears down an asynchronous I/O context
io_getevents: hex n n ptr ptr | collects finished asynchronous I/O requests
io_pgetevents: hex n n ptr ptr ptr | collects finished asynchronous I/O with a signal mask in place
io_pgetevents_time64: hex n n ptr ptr ptr | collects finished asynchronous I/O (64-bit time)
io_setup: n ptr | creates an asynchronous I/O context
io_submit: hex n ptr | queues asynchronous I/O requests
io_uring_enter: fd n n bits ptr n | submits io_uring requests and waits for completions
io_uring_register: fd opt ptr n | registers buffers and files with an io_uring
io_uring_setup: n ptr | sets up an io_uring submission/completion queue
ioctl: fd E:Ioctl hex | sends a device- or driver-specific request to an fd
ioperm: hex n int | sets I/O port permissions
iopl: int | changes the I/O privilege level
ioprio_get: opt id | reads the I/O scheduling priority of a process, group or user
ioprio_set: opt id opt | sets the I/O scheduling priority of a process, group or user
ipc: opt hex hex hex ptr hex | multiplexes System V IPC calls on some 32-bit arches
kcmp: pid pid opt hex hex | checks whether two processes share a kernel resource
kexec_file_load: fd fd n str bits | loads a new kernel to boot into, from files
kexec_load: ptr n ptr F:KexecFlags | loads a new kernel to boot into
keyctl: E:Keyctl hex hex hex hex | manages the kernel keyring
kill: pid sig | sends a signal to a process
landlock_add_rule: fd opt ptr bits | adds an access rule to a Landlock ruleset
landlock_create_ruleset: ptr n bits | creates a Landlock ruleset
landlock_restrict_self: fd bits | confines the thread with a Landlock ruleset
lchown: path id id | changes a symlink's own owner
lchown32: path id id | changes a symlink's own owner (32-bit ids)
lgetxattr: path str ptr n | reads an extended attribute of a symlink itself
link: path path | makes a new hard link
linkat: dirfd path dirfd path F:At | makes a new hard link, relative to directory fds
listen: fd n | accepts connections on a socket
listmount: ptr ptr n bits | lists the mounts under a mount
listns: ptr ptr n bits | lists the namespaces the caller may see
listxattr: path ptr n | lists the extended attributes of a path
listxattrat: dirfd path F:At ptr n | lists extended attributes, relative to a directory fd
llistxattr: path ptr n | lists the extended attributes of a symlink itself
lock: - | an unimplemented historical call
lookup_dcookie: hex ptr n | returns a directory entry's path (profiling)
lremovexattr: path str | removes an extended attribute of a symlink itself
lseek: fd off opt | moves an fd's file position
lsetxattr: path str ptr n bits | sets an extended attribute of a symlink itself
lsm_get_self_attr: opt ptr ptr bits | reads the caller's security-module attributes
lsm_list_modules: ptr ptr bits | lists the active security modules
lsm_set_self_attr: opt ptr n bits | sets one of the caller's security-module attributes
lstat: path ptr | reads a path's metadata, not following a final symlink
lstat64: path ptr | reads a path's metadata without following symlinks (large-file layout)
madvise: ptr n opt | tells the kernel how a memory range will be used
map_shadow_stack: ptr n bits | maps a new shadow stack
mbind: ptr n opt ptr n bits | sets the NUMA memory policy of a range
membarrier: opt bits int | issues memory barriers on other threads or CPUs
memfd_create: str bits | creates an anonymous file in memory
memfd_secret: bits | creates a memory area hidden even from the kernel's direct map
migrate_pages: pid n ptr ptr | moves a process's pages between NUMA nodes
mincore: ptr n ptr | says which pages of a range are resident in memory
mkdir: path mode | creates a directory
mkdirat: dirfd path mode | creates a directory, relative to a directory fd
mknod: path mode hex | creates a device or special file
mknodat: dirfd path mode hex | creates a device or special file, relative to a directory fd
mlock: ptr n | locks a range of memory into RAM
mlock2: ptr n bits | locks a range of memory into RAM, with flags
mlockall: bits | locks all of the process's memory into RAM
mmap: ptr n F:Prot F:Map fd off | maps a file or anonymous memory
mmap2: ptr n F:Prot F:Map fd n | maps memory, the offset counted in pages (32-bit arches)
modify_ldt: opt ptr n | reads or changes the x86 local descriptor table
mount: path path str F:Mount ptr | attaches a filesystem to the tree
mount_setattr: dirfd path F:At ptr n | changes a mount's properties
move_mount: dirfd path dirfd path bits | moves a mount
move_pages: pid n ptr ptr ptr bits | moves pages between NUMA nodes
mprotect: ptr n F:Prot | changes the protection of a memory range
mpx: - | reserved for Intel MPX; never implemented
mq_getsetattr: fd ptr ptr | reads or sets a message queue's attributes
mq_notify: fd ptr | asks to be told when a message queue gets a message
mq_open: str F:Open mode ptr | opens or creates a POSIX message queue
mq_timedreceive: fd ptr n ptr ptr | takes a message from a POSIX message queue
mq_timedreceive_time64: fd ptr n ptr ptr | takes a message from a POSIX message queue (64-bit time)
mq_timedsend: fd ptr n n ptr | puts a message on a POSIX message queue
mq_timedsend_time64: fd ptr n n ptr | puts a message on a POSIX message queue (64-bit time)
mq_unlink: str | removes a POSIX message queue
mremap: ptr n n bits ptr | grows, shrinks or moves a memory mapping
mseal: ptr n bits | seals a memory range against later changes of its mapping
msgctl: int opt ptr | controls a System V message queue
msgget: hex bits | opens or creates a System V message queue
msgrcv: int ptr n int bits | takes a message from a System V message queue
msgsnd: int ptr n bits | puts a message on a System V message queue
msync: ptr n bits | writes a mapped file range back to disk
multiplexer: - | a PowerPC placeholder; not implemented
munlock: ptr n | unlocks a range of memory
munlockall: - | unlocks all of the process's memory
munmap: ptr n | removes a memory mapping
name_to_handle_at: dirfd path ptr ptr F:At | gets a file handle for a path
nanosleep: ptr ptr | sleeps for a time
newfstatat: dirfd path ptr F:At | reads a file's metadata, relative to a directory fd
nfsservctl: opt ptr ptr | controlled the kernel NFS server; gone since Linux 3.1
nice: int | changes the process's scheduling priority by an amount
oldfstat: fd ptr | reads an open file's metadata (oldest layout)
oldlstat: path ptr | reads a path's metadata without following symlinks (oldest layout)
oldolduname: ptr | reads the system's name and version (oldest layout)
oldstat: path ptr | reads a path's metadata (oldest layout)
olduname: ptr | reads the system's name and version (old layout)
open: path F:Open mode | opens a file by path
open_by_handle_at: fd ptr F:Open | opens a file from a file handle
open_tree: dirfd path bits | picks a mount tree to attach elsewhere
open_tree_attr: dirfd path bits ptr n | picks a mount tree and sets its properties
openat: dirfd path F:Open mode | opens a file by path, relative to a directory fd
openat2: dirfd path ptr n | opens a file with extra resolution controls
pause: - | sleeps until a signal arrives
pciconfig_iobase: opt n n | reads a PCI bus's I/O base (some arches)
pciconfig_read: n n n n ptr | reads PCI configuration space (some arches)
pciconfig_write: n n n n ptr | writes PCI configuration space (some arches)
perf_event_open: ptr pid int fd F:PerfFlags | opens a performance counter
personality: F:Personality | changes the process's execution domain
pidfd_getfd: fd fd bits | copies a file descriptor from another process
pidfd_open: pid bits | gets an fd that refers to a process
pidfd_send_signal: fd sig ptr bits | sends a signal to the process an fd refers to
pipe: ptr | creates a pipe
pipe2: ptr F:Open | creates a pipe, with flags
pivot_root: path path | changes the root filesystem
pkey_alloc: bits bits | allocates a memory protection key
pkey_free: int | frees a memory protection key
pkey_mprotect: ptr n F:Prot int | changes a range's protection and its protection key
poll: ptr n int | waits until some fds are ready
ppoll: ptr n ptr ptr n | waits until some fds are ready, with a signal mask in place
ppoll_time64: ptr n ptr ptr n | waits until some fds are ready (64-bit time)
prctl: E:Prctl hex hex hex hex | reads or sets a property of the process or thread
pread64: fd ptr n off | reads from an fd at an offset, leaving its position alone
preadv: fd ptr n off off | reads into several buffers at an offset
preadv2: fd ptr n off off bits | reads into several buffers at an offset, with flags
prlimit64: pid opt ptr ptr | reads or sets a resource limit of any process
process_madvise: fd ptr n opt bits | gives memory-use advice for another process
process_mrelease: fd bits | frees the memory of a dying process early
process_vm_readv: pid ptr n ptr n bits | reads another process's memory
process_vm_writev: pid ptr n ptr n bits | writes another process's memory
prof: - | an unimplemented historical call
profil: ptr n n n | an unimplemented historical profiling call
pselect6: n ptr ptr ptr ptr ptr | waits until some fds are ready, with a signal mask in place
pselect6_time64: n ptr ptr ptr ptr ptr | waits until some fds are ready (64-bit time)
ptrace: E:Ptrace pid ptr ptr | observes and controls another process
putpmsg: fd ptr ptr int bits | a STREAMS call Linux never implemented
pwrite64: fd ptr n off | writes to an fd at an offset, leaving its position alone
pwritev: fd ptr n off off | writes from several buffers at an offset
pwritev2: fd ptr n off off bits | writes from several buffers at an offset, with flags
query_module: str opt ptr n ptr | asked about loaded modules; gone since Linux 2.6
quotactl: opt path id ptr | manages disk quotas
quotactl_fd: fd opt id ptr | manages disk quotas of the filesystem holding an fd
read: fd ptr n | reads bytes from a file descriptor
readahead: fd off n | reads a file range into the page cache ahead of use
readdir: fd ptr n | reads one directory entry (old interface)
readlink: path ptr n | reads where a symbolic link points
readlinkat: dirfd path ptr n | reads where a symlink points, relative to a directory fd
readv: fd ptr n | reads into several buffers
reboot: E:RebootMagic E:RebootMagic E:RebootCmd ptr | reboots or halts the machine
recv: fd ptr n bits | receives data on a socket
recvfrom: fd ptr n bits ptr ptr | receives data on a socket, with the sender's address
recvmmsg: fd ptr n bits ptr | receives several messages on a socket
recvmmsg_time64: fd ptr n bits ptr | receives several messages on a socket (64-bit time)
recvmsg: fd ptr bits | receives a message, with control data, on a socket
remap_file_pages: ptr n bits n bits | rearranges a shared file mapping's pages (now emulated)
removexattr: path str | removes an extended attribute of a path
removexattrat: dirfd path F:At str | removes an extended attribute, relative to a directory fd
rename: path path | renames a file
renameat: dirfd path dirfd path | renames a file, relative to directory fds
renameat2: dirfd path dirfd path F:Rename | renames a file, with exchange / no-replace flags
request_key: str str str E:KeySpec | asks the kernel for a key
restart_syscall: - | resumes a call a stop signal interrupted
riscv_flush_icache: ptr ptr bits | makes the instruction cache see new code (RISC-V)
riscv_hwprobe: ptr n n ptr bits | asks which RISC-V extensions the CPUs have
rmdir: path | removes an empty directory
rseq: ptr n bits hex | registers the thread's restartable-sequence area
rseq_slice_yield: - | gives the CPU back at the end of an extended restartable-sequence time slice
rt_sigaction: sig ptr ptr n | reads or sets what a signal does
rt_sigpending: ptr n | reads which blocked signals are waiting
rt_sigprocmask: opt ptr ptr n | reads or changes the thread's blocked signals
rt_sigqueueinfo: pid sig ptr | sends a signal with data to a process
rt_sigreturn: - | returns from a signal handler
rt_sigsuspend: ptr n | waits for a signal with a temporary mask
rt_sigtimedwait: ptr ptr ptr n | waits for one of some signals, for a time at most
rt_sigtimedwait_time64: ptr ptr ptr n | waits for one of some signals (64-bit time)
rt_tgsigqueueinfo: pid pid sig ptr | sends a signal with data to one thread
rtas: ptr | calls the PowerPC firmware's runtime services
s390_guarded_storage: opt ptr | controls guarded storage (s390)
s390_pci_mmio_read: hex ptr n | reads PCI memory-mapped I/O (s390)
s390_pci_mmio_write: hex ptr n | writes PCI memory-mapped I/O (s390)
s390_runtime_instr: opt sig | turns runtime instrumentation on or off (s390)
s390_sthyi: opt ptr ptr bits | reads hypervisor information (s390)
sched_get_priority_max: opt | returns a scheduling policy's highest priority
sched_get_priority_min: opt | returns a scheduling policy's lowest priority
sched_getaffinity: pid n ptr | reads which CPUs a thread may run on
sched_getattr: pid ptr n bits | reads a thread's scheduling policy and attributes
sched_getparam: pid ptr | reads a thread's scheduling priority
sched_getscheduler: pid | reads a thread's scheduling policy
sched_rr_get_interval: pid ptr | reads a thread's round-robin time slice
sched_rr_get_interval_time64: pid ptr | reads a thread's round-robin time slice (64-bit time)
sched_setaffinity: pid n ptr | sets which CPUs a thread may run on
sched_setattr: pid ptr bits | sets a thread's scheduling policy and attributes
sched_setparam: pid ptr | sets a thread's scheduling priority
sched_setscheduler: pid opt ptr | sets a thread's scheduling policy and priority
sched_yield: - | gives up the CPU to other runnable threads
seccomp: opt bits ptr | installs a seccomp filter or asks what it supports
security: hex hex hex | reserved for security modules; not implemented
select: n ptr ptr ptr ptr | waits until some fds in three sets are ready
semctl: int n opt hex | controls a System V semaphore set
semget: hex n bits | opens or creates a System V semaphore set
semop: int ptr n | operates on System V semaphores
semtimedop: int ptr n ptr | operates on System V semaphores, for a time at most
semtimedop_time64: int ptr n ptr | operates on System V semaphores (64-bit time)
send: fd ptr n bits | sends data on a socket
sendfile: fd fd ptr n | copies data from a file to another fd inside the kernel
sendfile64: fd fd ptr n | copies data from a file to another fd (64-bit offset)
sendmmsg: fd ptr n bits | sends several messages on a socket
sendmsg: fd ptr bits | sends a message, with control data, on a socket
sendto: fd ptr n bits sockaddr n | sends data on a socket, to an address
set_mempolicy: opt ptr n | sets the NUMA memory policy
set_mempolicy_home_node: ptr n n bits | sets the home NUMA node of a memory range
set_robust_list: ptr n | registers the thread's list of robust futexes
set_thread_area: ptr | sets a TLS entry of the thread
set_tid_address: ptr | says where to clear the thread id when the thread ends
set_tls: ptr | sets the thread's TLS pointer
setdomainname: strlen n | sets the NIS domain name
setfsgid: id | sets the group id used for filesystem checks
setfsgid32: id | sets the group id used for filesystem checks (32-bit id)
setfsuid: id | sets the user id used for filesystem checks
setfsuid32: id | sets the user id used for filesystem checks (32-bit id)
setgid: id | sets the group id
setgid32: id | sets the group id (32-bit id)
setgroups: n ptr | sets the supplementary group list
setgroups32: n ptr | sets the supplementary group list (32-bit ids)
sethostname: strlen n | sets the host name
setitimer: opt ptr ptr | sets an interval timer
setns: fd F:Unshare | joins an existing namespace
setpgid: pid pid | moves a process into a process group
setpriority: opt id int | sets the scheduling priority of a process, group or user
setregid: id id | sets the real and effective group ids
setregid32: id id | sets the real and effective group ids (32-bit ids)
setresgid: id id id | sets the real, effective and saved group ids
setresgid32: id id id | sets the real, effective and saved group ids (32-bit ids)
setresuid: id id id | sets the real, effective and saved user ids
setresuid32: id id id | sets the real, effective and saved user ids (32-bit ids)
setreuid: id id | sets the real and effective user ids
setreuid32: id id | sets the real and effective user ids (32-bit ids)
setrlimit: opt ptr | sets a resource limit
setsid: - | starts a new session with the caller as its leader
setsockopt: fd opt opt ptr n | sets a socket option
settimeofday: ptr ptr | sets the system clock
setuid: id | sets the user id
setuid32: id | sets the user id (32-bit id)
setxattr: path str ptr n bits | sets an extended attribute of a path
setxattrat: dirfd path F:At str ptr n | sets an extended attribute, relative to a directory fd
sgetmask: - | reads the blocked-signal mask (oldest interface)
shmat: int ptr bits | attaches a System V shared memory segment
shmctl: int opt ptr | controls a System V shared memory segment
shmdt: ptr | detaches a System V shared memory segment
shmget: hex n bits | opens or creates a System V shared memory segment
shutdown: fd opt | shuts down part or all of a socket's connection
sigaction: sig ptr ptr | reads or sets what a signal does (old interface)
sigaltstack: ptr ptr | sets or reads the alternate stack for signal handlers
signal: sig ptr | sets a signal's handler (oldest interface)
signalfd: fd ptr n | creates or changes an fd that receives signals
signalfd4: fd ptr n bits | creates or changes an fd that receives signals, with flags
sigpending: ptr | reads which blocked signals are waiting (old interface)
sigprocmask: opt ptr ptr | changes the blocked signals (old interface)
sigreturn: - | returns from a signal handler (old interface)
sigsuspend: ptr | waits for a signal with a temporary mask (old interface)
socket: E:SocketFamily F:SocketType opt | creates a network or local socket
socketcall: E:SocketCall ptr | multiplexes socket calls on some 32-bit arches
socketpair: E:SocketFamily F:SocketType opt ptr | creates a pair of connected sockets
splice: fd ptr fd ptr n bits | moves data between an fd and a pipe inside the kernel
spu_create: path bits mode fd | creates a Cell SPU context (PowerPC)
spu_run: fd ptr ptr | runs a Cell SPU context (PowerPC)
ssetmask: hex | sets the blocked-signal mask (oldest interface)
stat: path ptr | reads a path's metadata
stat64: path ptr | reads a path's metadata (large-file layout)
statfs: path ptr | reads statistics of the filesystem holding a path
statfs64: path n ptr | reads filesystem statistics for a path (64-bit layout)
statmount: ptr ptr n bits | reads information about one mount
statx: dirfd path F:At F:Statx ptr | reads chosen metadata fields of a file
stime: ptr | sets the system clock in seconds
stty: fd ptr | an unimplemented historical terminal call
subpage_prot: ptr n ptr | protects 4 KiB pieces of 64 KiB pages (PowerPC)
swapcontext: ptr ptr n | saves and switches user contexts (PowerPC)
swapoff: path | turns off a swap device
swapon: path bits | turns on a swap device
switch_endian: - | switches the thread's byte order (PowerPC)
symlink: str path | makes a symbolic link
symlinkat: str dirfd path | makes a symbolic link, relative to a directory fd
sync: - | flushes every filesystem's pending writes to disk
sync_file_range: fd off off bits | flushes part of a file to disk
sync_file_range2: fd bits off off | flushes part of a file to disk (flags first)
syncfs: fd | flushes the filesystem holding an fd to disk
sys_debug_setcontext: ptr n ptr | sets a user context with debug flags (PowerPC)
syscall: opt hex hex hex hex hex | calls a syscall by its number (MIPS indirect call)
sysfs: opt hex hex | asks which filesystem types the kernel knows
sysinfo: ptr | reads memory, swap and load statistics
syslog: E:Syslog ptr n | reads or controls the kernel log buffer
sysmips: opt hex hex | machine-specific operations (MIPS)
tee: fd fd n bits | copies data between two pipes without consuming it
tgkill: pid pid sig | sends a signal to one thread of a process
time: ptr | reads the time in seconds
timer_create: opt ptr ptr | creates a POSIX per-process timer
timer_delete: hex | deletes a POSIX timer
timer_getoverrun: hex | counts a POSIX timer's missed expirations
timer_gettime: hex ptr | reads a POSIX timer's time left
timer_gettime64: hex ptr | reads a POSIX timer's time left (64-bit time)
timer_settime: hex bits ptr ptr | arms or disarms a POSIX timer
timer_settime64: hex bits ptr ptr | arms or disarms a POSIX timer (64-bit time)
timerfd: opt bits | an early timerfd interface; never in a release
timerfd_create: opt bits | creates a timer that ticks through an fd
timerfd_gettime: fd ptr | reads a timer fd's time left
timerfd_gettime64: fd ptr | reads a timer fd's time left (64-bit time)
timerfd_settime: fd bits ptr ptr | arms or disarms a timer fd
timerfd_settime64: fd bits ptr ptr | arms or disarms a timer fd (64-bit time)
times: ptr | reads the CPU time used by the process and its children
tkill: pid sig | sends a signal to one thread (old interface)
truncate: path off | sets a file's length by path
truncate64: path off | sets a file's length by path (64-bit length)
tuxcall: hex hex hex | reserved for the TUX web server; not implemented
ugetrlimit: opt ptr | reads a resource limit (unsigned layout)
ulimit: opt hex | reads or sets a limit (historical; not implemented)
umask: mode | sets the mask of permission bits new files never get
umount: path | detaches a filesystem (old interface)
umount2: path F:Umount | detaches a filesystem
uname: ptr | reads the system's name and kernel version
unlink: path | removes a name from the filesystem
unlinkat: dirfd path F:UnlinkAt | removes a file or directory, relative to a directory fd
unshare: F:Unshare | moves the process into new namespaces
uprobe: - | returns into a user-space probe (x86-64, kernel-internal)
uretprobe: - | returns from a user-space return probe (x86-64, kernel-internal)
uselib: path | loads a shared library (a.out era)
userfaultfd: F:Userfaultfd | handles page faults in user space
usr26: - | switches to 26-bit mode (old ARM); gone
usr32: - | switches to 32-bit mode (old ARM); gone
ustat: hex ptr | reads statistics of a mounted filesystem (old interface)
utime: path ptr | sets a file's access and change times in seconds
utimensat: dirfd path ptr F:At | sets a file's times in nanoseconds, relative to a directory fd
utimensat_time64: dirfd path ptr F:At | sets a file's times in nanoseconds (64-bit time)
utimes: path ptr | sets a file's access and change times in microseconds
vfork: - | creates a child that shares memory until it execs
vhangup: - | hangs up the current terminal
vm86: opt ptr | enters virtual 8086 mode (32-bit x86)
vm86old: ptr | enters virtual 8086 mode (old interface, 32-bit x86)
vmsplice: fd ptr n bits | moves user memory into a pipe
vserver: - | reserved for Linux-VServer; not implemented
wait4: pid ptr bits ptr | waits for a child to change state, with its resource usage
waitid: opt pid ptr bits ptr | waits for a chosen child to change state
waitpid: pid ptr bits | waits for a child to change state (old interface)
write: fd ptr n | writes bytes to a file descriptor
writev: fd ptr n | writes from several buffers
";

fn parsed() -> &'static HashMap<&'static str, Signature> {
    static MAP: OnceLock<HashMap<&'static str, Signature>> = OnceLock::new();
    MAP.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| parse_line(line).unwrap_or_else(|e| panic!("TABLE: {e}: {line}")))
            .collect()
    })
}

fn parse_line(line: &'static str) -> Result<(&'static str, Signature), &'static str> {
    let (name, rest) = line.split_once(':').ok_or("no ':'")?;
    let (kinds, description) = rest.split_once('|').ok_or("no '|'")?;
    let kinds = match kinds.trim() {
        "-" => Vec::new(),
        words => words
            .split_whitespace()
            .map(|w| Kind::parse(w).ok_or("unknown kind"))
            .collect::<Result<_, _>>()?,
    };
    if kinds.len() > 6 {
        return Err("more than six arguments");
    }
    let description = description.trim();
    if description.is_empty() {
        return Err("no description");
    }
    Ok((name.trim(), Signature { kinds, description }))
}

/// The line for `name`, as the table writes it (the common layout).
pub fn signature(name: &str) -> Option<&'static Signature> {
    parsed().get(name)
}

/// The kinds of `name`'s arguments on `arch`: s390's `clone` takes the stack
/// before the flags.
pub fn kinds(arch: Arch, name: &str) -> Option<Vec<Kind>> {
    let mut kinds = signature(name)?.kinds.clone();
    if name == "clone" && matches!(arch, Arch::S390 | Arch::S390x) {
        kinds.swap(0, 1);
    }
    Some(kinds)
}

/// What `name` does, in one line.
pub fn describe(name: &str) -> Option<&'static str> {
    signature(name).map(|s| s.description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_of_every_arch_has_a_line() {
        let mut missing: Vec<String> = Vec::new();
        for arch in Arch::ALL {
            for &(name, _) in arch.syscalls() {
                if signature(name).is_none() {
                    missing.push(format!("{name} ({})", arch.name()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "no line in TABLE: {}",
            missing.join(", ")
        );
    }

    #[test]
    fn every_line_parses_and_names_a_real_syscall_once() {
        let mut seen = std::collections::HashSet::new();
        for line in TABLE.lines().filter(|l| !l.trim().is_empty()) {
            let (name, _) = parse_line(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(seen.insert(name), "{name} twice");
            let libseccomp = crate::target::Runtime::newest(crate::target::Kind::Runc);
            assert!(
                crate::arch::is_known_anywhere(name) || libseccomp.knows(name),
                "{name}: neither an arch table nor libseccomp has it"
            );
        }
    }

    #[test]
    fn only_choices_are_pinnable() {
        let pread = &signature("pread64").unwrap().kinds;
        assert_eq!(pread, &[Kind::Fd, Kind::Ptr, Kind::UInt, Kind::Off]);
        assert!(pread.iter().all(|k| !k.pinnable()));
        let socket = &signature("socket").unwrap().kinds;
        assert!(socket.iter().all(|k| k.pinnable()));
        assert_eq!(
            kinds(Arch::S390x, "clone").unwrap()[1],
            Kind::Flags(Set::Clone)
        );
        assert_eq!(
            kinds(Arch::X86_64, "clone").unwrap()[0],
            Kind::Flags(Set::Clone)
        );
    }
}

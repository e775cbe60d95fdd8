#!/bin/sh
# Side-by-side ratios for `eperm run`, every variant run once per round, RUNS rounds,
# medians printed (this machine is shared and noisy: compare within one run only).
#
#   allowed: 1M getppid the profile allows: native, under a 1-instruction allow-all
#            filter (what any seccomp filter costs), under eperm   (goal ≤ 1.05× native)
#   denied:  100k uselib the profile denies, run permissively: eperm notify and trace
#            vs `strace -f -o /dev/null`         (goals: notify ≤ 0.15×, trace ≤ 0.6×),
#            with stacks (the default) and --no-stacks
#            and the floor: a bare C supervisor (poll + RECV + SEND per call, with
#            SYNC_WAKE_UP; and RECV + SEND only, as eperm waits; and the latter
#            with a do-nothing program on sys_exit, which eperm's layer watcher
#            puts on every call of the machine: the floor for a run that watches
#            the other layers, beside `--no-layers` on the bare floor) and a bare C tracer
#            (waitpid + PTRACE_CONT per stop), also with tracer and tracee pinned to
#            one CPU.
#   path:    the same calls of uselib("/nonexistent/lib.so"), notify and trace, --no-stacks:
#            the path read from the caller's memory and shown, as every decoded
#            argument is; beside a bare C supervisor that reads it too
#            (process_vm_readv per call)
#
# Usage: benches/run.sh [RUNS]   (root; needs cc and strace)
#   EPERM_BASE=path/to/older/eperm  also times that binary, for before/after in one run.
#   EXTRA=1  also times CPU placements eperm does not use: a supervisor pinned to one
#            CPU, a tracer that re-pins itself to the tracee's last CPU every stop, a
#            tracer alone pinned to CPU 0, a tracer that polls before it sleeps; and trace mode with the calls made by two
#            processes at once, beside the bare tracer's placements.
set -eu
RUNS=${1:-7}
N=${DENIED_CALLS:-100000}
# shellcheck source=benches/common/release.sh
. "$(dirname "$0")/common/release.sh"
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/calls.c" <<'C'
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
/* argv[1]: "allowed" (getppid, allowed by the default profile), "filtered" (getppid
   under a one-instruction allow-all filter: what any seccomp filter costs), "denied"
   (uselib, denied whatever the capabilities, of NULL: nothing to read), or "path"
   (uselib of a path, which eperm reads from the caller's memory to show it);
   argv[2]: how many calls. */
int main(int argc, char **argv) {
    long nr = argv[1][0] == 'd' || argv[1][0] == 'p' ? SYS_uselib : SYS_getppid;
    const char *arg = argv[1][0] == 'p' ? "/nonexistent/lib.so" : 0;
    if (argv[1][0] == 'f') {
        struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        struct sock_fprog p = { 1, f };
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p)) return 1;
    }
    long n = atol(argv[2]);
    /* argv[3]: that many processes (forked after the filter), n / argv[3] calls each. */
    int procs = argc > 3 ? atoi(argv[3]) : 1;
    for (int p = 1; p < procs; p++)
        if (fork() == 0) break;
    for (long i = 0; i < n / procs; i++) syscall(nr, arg);
    while (wait(0) > 0) {}
    return 0;
}
C

cat >"$TMP/floor.c" <<'C'
/* The least any supervisor or tracer can cost here: argv[1] "notify" (a child makes
   argv[2] uselib calls, each notified; the parent waits in poll, then RECV, and answers
   CONTINUE), "recv" (the same, waiting in RECV itself, as eperm does), "recvpath" (the
   same with uselib of a path, which the supervisor reads with process_vm_readv: what
   showing an argument costs at least), "recv0" (the
   same with only the supervisor pinned to CPU 0), "trace" (each uselib is a seccomp
   stop; the parent resumes it), "trace1" (the same, both pinned to CPU 0), "trace0"
   (only the tracer pinned to CPU 0), "spin" (the tracer polls waitpid up to 20 000
   times before it sleeps), "follow"
   (only the tracer pinned, at every stop to the CPU the tracee last ran on, read from
   /proc/PID/stat). No decoding, no events: only the kernel round trips. */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <stdio.h>
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS 0x40082104
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
static void pin(int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
}
/* The CPU `pid` last ran on: field 39 of /proc/PID/stat. */
static int last_cpu(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    for (int field = 2; p && *p; p++)
        if (*p == ' ' && ++field == 39) return atoi(p + 1);
    return -1;
}
static void filter(unsigned action, unsigned flags, int report) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uselib, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, action),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog p = { 4, f };
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &p);
    if (fd < 0) _exit(1);
    if (report >= 0) write(report, &fd, sizeof fd);
}
int main(int argc, char **argv) {
    if (argc < 3) return 2;
    long n = atol(argv[2]);
    if (!strcmp(argv[1], "notify") || !strncmp(argv[1], "recv", 4)) {
        int polling = !strcmp(argv[1], "notify"), path = !strcmp(argv[1], "recvpath");
        int pipefd[2], fd;
        if (pipe(pipefd)) return 1;
        pid_t child = fork();
        if (child == 0) {
            filter(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER, pipefd[1]);
            for (long i = 0; i < n; i++) syscall(SYS_uselib, path ? "/nonexistent/lib.so" : 0);
            _exit(0);
        }
        if (read(pipefd[0], &fd, sizeof fd) != sizeof fd) return 1;
        int listener = syscall(SYS_pidfd_getfd, syscall(SYS_pidfd_open, child, 0), fd, 0);
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
        if (!strcmp(argv[1], "recv0")) pin(0);
        for (;;) {
            struct pollfd p = { listener, POLLIN, 0 };
            if (polling && poll(&p, 1, -1) < 0) continue;
            if (polling && !(p.revents & POLLIN)) break; /* POLLHUP: the child is gone */
            /* Waiting in RECV: the last call's answer ends the loop instead. */
            if (!polling && --n < 0) break;
            struct seccomp_notif req;
            struct seccomp_notif_resp resp;
            memset(&req, 0, sizeof req);
            if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req)) continue;
            if (path) {
                char buf[256];
                struct iovec local = { buf, sizeof buf };
                struct iovec remote = { (void *)req.data.args[0], sizeof buf };
                process_vm_readv(req.pid, &local, 1, &remote, 1, 0);
            }
            memset(&resp, 0, sizeof resp);
            resp.id = req.id;
            resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
            ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
        waitpid(child, 0, 0);
        return 0;
    }
    /* argv[3]: the tracee forks into that many processes, all traced, n / argv[3]
       calls each. */
    int procs = argc > 3 ? atoi(argv[3]) : 1, alive = 1;
    if (!strcmp(argv[1], "trace1")) pin(0); /* the child inherits it */
    int follow = !strcmp(argv[1], "follow"), at = -1, moves = 0;
    pid_t child = fork();
    if (child == 0) {
        ptrace(PTRACE_TRACEME, 0, 0, 0);
        kill(getpid(), SIGSTOP);
        filter(SECCOMP_RET_TRACE, 0, -1);
        for (int p = 1; p < procs; p++)
            if (fork() == 0) break;
        for (long i = 0; i < n / procs; i++) syscall(SYS_uselib, 0);
        while (wait(0) > 0) {}
        _exit(0);
    }
    /* Only the tracer pinned, after the fork: the tracee keeps every CPU. */
    if (!strcmp(argv[1], "trace0")) pin(0);
    int status;
    waitpid(child, &status, 0);
    ptrace(PTRACE_SETOPTIONS, child, 0,
           PTRACE_O_TRACESECCOMP | PTRACE_O_TRACEFORK | PTRACE_O_EXITKILL);
    ptrace(PTRACE_CONT, child, 0, 0);
    pid_t who;
    int spin = !strcmp(argv[1], "spin");
    for (;;) {
        who = 0;
        /* "spin": polls a while before sleeping, so that the tracer's CPU does not
           go idle between stops (waking an idle CPU is what costs here). */
        for (int i = 0; spin && i < 20000 && who == 0; i++)
            who = waitpid(-1, &status, __WALL | WNOHANG);
        if (who == 0) who = waitpid(-1, &status, __WALL);
        if (alive <= 0 || who <= 0) break;
        if (!WIFSTOPPED(status)) {
            alive--;
            continue;
        }
        int sig = WSTOPSIG(status);
        if (status >> 16 == PTRACE_EVENT_FORK) alive++;
        if (follow) {
            int cpu = last_cpu(who);
            if (cpu >= 0 && cpu != at) {
                pin(cpu);
                at = cpu;
                moves++;
            }
        }
        /* A new process's first stop, and the event stops, deliver nothing. */
        ptrace(PTRACE_CONT, who, 0, sig == SIGTRAP || sig == SIGSTOP ? 0 : sig);
    }
    if (follow) fprintf(stderr, "the tracer moved %d times\n", moves);
    return 0;
}
C
cc -O2 -o "$TMP/calls" "$TMP/calls.c"
cc -O2 -o "$TMP/floor" "$TMP/floor.c"
# A do-nothing eBPF program on sys_exit, where eperm's layer watcher has its own:
# the floor of a run that watches the other layers (see benches/layers.sh).
EXIT_FLOOR=$(bench_binary exit_floor)

# Runs "$@" once and appends its wall time in microseconds to $TMP/$name.
# shellcheck source=benches/common/timing.sh
. "$(dirname "$0")/common/timing.sh"

round=0
while [ $round -lt "$RUNS" ]; do
    time_one native "$TMP/calls" allowed 1000000
    time_one filtered "$TMP/calls" filtered 1000000
    time_one eperm "$EPERM" run --no-tui -- "$TMP/calls" allowed 1000000
    time_one strace strace -f -o /dev/null "$TMP/calls" denied "$N"
    time_one notify "$EPERM" run --no-tui --mode notify -- "$TMP/calls" denied "$N"
    time_one trace "$EPERM" run --no-tui --mode trace -- "$TMP/calls" denied "$N"
    time_one notify_ns "$EPERM" run --no-tui --no-stacks --mode notify -- "$TMP/calls" denied "$N"
    time_one notify_nlns "$EPERM" run --no-tui --no-layers --no-stacks --mode notify -- "$TMP/calls" denied "$N"
    time_one trace_ns "$EPERM" run --no-tui --no-stacks --mode trace -- "$TMP/calls" denied "$N"
    time_one floor_notify "$TMP/floor" notify "$N"
    time_one floor_recv "$TMP/floor" recv "$N"
    time_one floor_recv_exit "$EXIT_FLOOR" "$TMP/floor" recv "$N"
    time_one floor_trace "$TMP/floor" trace "$N"
    time_one floor_trace1 "$TMP/floor" trace1 "$N"
    time_one notify_path "$EPERM" run --no-tui --no-stacks --mode notify -- "$TMP/calls" path "$N"
    time_one trace_path "$EPERM" run --no-tui --no-stacks --mode trace -- "$TMP/calls" path "$N"
    time_one floor_recvpath "$TMP/floor" recvpath "$N"
    if [ -n "${EXTRA:-}" ]; then
        time_one floor_recv0 "$TMP/floor" recv0 "$N"
        time_one floor_follow "$TMP/floor" follow "$N"
        time_one floor_trace0 "$TMP/floor" trace0 "$N"
        time_one floor_spin "$TMP/floor" spin "$N"
        # The same calls made by two processes at once (a multi-process workload).
        time_one trace_2p "$EPERM" run --no-tui --mode trace -- "$TMP/calls" denied "$N" 2
        time_one floor_trace_2p "$TMP/floor" trace "$N" 2
        time_one floor_trace1_2p "$TMP/floor" trace1 "$N" 2
        time_one floor_trace0_2p "$TMP/floor" trace0 "$N" 2
    fi
    if [ -n "${EPERM_BASE:-}" ]; then
        time_one base_eperm "$EPERM_BASE" run --no-tui -- "$TMP/calls" allowed 1000000
        time_one base_notify "$EPERM_BASE" run --no-tui --mode notify -- "$TMP/calls" denied "$N"
        time_one base_trace "$EPERM_BASE" run --no-tui --mode trace -- "$TMP/calls" denied "$N"
        time_one base_notify_path "$EPERM_BASE" run --no-tui --no-stacks --mode notify -- "$TMP/calls" path "$N"
    fi
    round=$((round + 1))
done

echo "median of $RUNS rounds, $(nproc) CPUs, kernel $(uname -r)"
echo "1M allowed getppid:"
echo "  native                        $(ms native)"
echo "  1-insn allow-all filter       $(ms filtered)  $(ratio filtered native) native  (any filter's kernel cost)"
echo "  eperm run (notify)            $(ms eperm)  $(ratio eperm native) native (goal ≤ 1.05×), $(ratio eperm filtered) the allow-all filter"
echo "$N would-be-denied uselib, permissive:"
echo "  strace -f -o /dev/null        $(ms strace)"
echo "  eperm --mode notify           $(ms notify)  $(ratio notify strace) strace (goal ≤ 0.15×)"
echo "  eperm --mode trace            $(ms trace)  $(ratio trace strace) strace (goal ≤ 0.6×)"
echo "  the same, --no-stacks         $(ms notify_ns) / $(ms trace_ns)  notify $(ratio notify_ns floor_recv) the RECV-only floor, trace $(ratio trace_ns floor_trace) the bare tracer"
echo "  floor: bare C supervisor      $(ms floor_notify)  $(ratio floor_notify strace) strace (poll, then RECV)"
echo "  floor: the same, RECV only    $(ms floor_recv)  $(ratio floor_recv strace) strace; eperm notify = $(ratio notify floor_recv) of it"
echo "  floor: RECV only + exit hook  $(ms floor_recv_exit)  eperm notify --no-stacks = $(ratio notify_ns floor_recv_exit) of it (goal ≤ 1.25×)"
echo "  notify --no-layers --no-stacks $(ms notify_nlns)  $(ratio notify_nlns floor_recv) the RECV-only floor (goal ≤ 1.25×)"
echo "  floor: bare C tracer          $(ms floor_trace)  $(ratio floor_trace strace) strace; eperm trace = $(ratio trace floor_trace) of it"
echo "  floor: bare C tracer, 1 CPU   $(ms floor_trace1)  $(ratio floor_trace1 strace) strace (tracer and tracee pinned together)"
echo "$N would-be-denied uselib of a path, shown decoded (--no-stacks):"
echo "  eperm --mode notify           $(ms notify_path)  $(ratio notify_path floor_recvpath) the floor reading the path, $(ratio notify_path floor_recv) the RECV-only floor"
echo "  eperm --mode trace            $(ms trace_path)  $(ratio trace_path floor_trace) the bare tracer"
echo "  floor: RECV only, path read   $(ms floor_recvpath)  $(ratio floor_recvpath floor_recv) the RECV-only floor (process_vm_readv per call)"
if [ -n "${EXTRA:-}" ]; then
    echo "  floor: RECV only, supervisor pinned to CPU 0  $(ms floor_recv0)  $(ratio floor_recv0 strace) strace"
    echo "  floor: tracer following the tracee's CPU      $(ms floor_follow)  $(ratio floor_follow strace) strace"
    echo "  floor: tracer alone pinned to CPU 0           $(ms floor_trace0)  $(ratio floor_trace0 strace) strace"
    echo "  floor: tracer polling before it sleeps        $(ms floor_spin)  $(ratio floor_spin strace) strace"
    echo "the same calls from 2 processes at once, traced:"
    echo "  eperm --mode trace            $(ms trace_2p)  $(ratio trace_2p floor_trace_2p) the bare tracer, $(ratio trace_2p floor_trace1_2p) the pinned one"
    echo "  floor: bare C tracer          $(ms floor_trace_2p)"
    echo "  floor: all pinned to one CPU  $(ms floor_trace1_2p)"
    echo "  floor: tracer alone on CPU 0  $(ms floor_trace0_2p)"
fi
if [ -n "${EPERM_BASE:-}" ]; then
    echo "EPERM_BASE ($EPERM_BASE), same rounds:"
    echo "  allowed                       $(ms base_eperm)  $(ratio base_eperm native) native"
    echo "  --mode notify                 $(ms base_notify)  $(ratio base_notify strace) strace"
    echo "  --mode trace                  $(ms base_trace)  $(ratio base_trace strace) strace"
    echo "  --mode notify, a path shown   $(ms base_notify_path)  $(ratio base_notify_path floor_recvpath) the floor reading the path"
fi

#!/bin/sh
# Side-by-side ratios for `eperm run` (notify mode), median of RUNS runs each:
#   allowed: 1M syscalls the profile allows, native vs under eperm   (goal ≤ 1.05×)
#   denied:  every call would be denied, eperm vs strace -f -o /dev/null (goal ≤ 0.15×)
# Usage: benches/run.sh [RUNS]   (root; needs cc and strace)
set -eu
RUNS=${1:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
EPERM=$CARGO_TARGET_DIR/release/eperm
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/calls.c" <<'C'
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
/* argv[1]: "allowed" (getppid, allowed by the default profile), "filtered" (getppid
   under a one-instruction allow-all filter: what any seccomp filter costs), or
   "denied" (uselib, denied whatever the capabilities); argv[2]: how many calls. */
int main(int argc, char **argv) {
    long nr = argv[1][0] == 'd' ? SYS_uselib : SYS_getppid;
    if (argv[1][0] == 'f') { /* "filtered": the cheapest filter there is, allow-all */
        struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
        struct sock_fprog p = { 1, f };
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p)) return 1;
    }
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) syscall(nr, 0);
    return 0;
}
C
cc -O2 -o "$TMP/calls" "$TMP/calls.c"

# Median wall time in microseconds of RUNS runs of "$@".
median() {
    i=0
    : >"$TMP/times"
    while [ $i -lt "$RUNS" ]; do
        start=$(date +%s%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        echo $(((end - start) / 1000)) >>"$TMP/times"
        i=$((i + 1))
    done
    sort -n "$TMP/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

native=$(median "$TMP/calls" allowed 1000000)
under=$(median "$EPERM" run --no-tui -- "$TMP/calls" allowed 1000000)
filtered=$(median "$TMP/calls" filtered 1000000)
echo "allowed, 1M getppid:   native ${native} µs   eperm ${under} µs   ratio $(ratio "$under" "$native")×  (goal ≤ 1.05)"
echo "  baseline: any filter (1-insn allow-all) ${filtered} µs = $(ratio "$filtered" "$native")× native; eperm vs it: $(ratio "$under" "$filtered")×"

N=${DENIED_CALLS:-100000}
strace_t=$(median strace -f -o /dev/null "$TMP/calls" denied "$N")
notify_t=$(median "$EPERM" run --no-tui --mode notify -- "$TMP/calls" denied "$N")
echo "denied, ${N} uselib: strace ${strace_t} µs   eperm notify ${notify_t} µs   ratio $(ratio "$notify_t" "$strace_t")×  (goal ≤ 0.15)"

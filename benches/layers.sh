#!/bin/sh
# What watching the other layers costs (the eBPF programs on sys_exit and
# cap_capable, see src/bpf/refusals.rs), side by side: every variant run once
# per round, RUNS rounds, medians of wall-clock time printed (this machine is
# shared and noisy: compare within one run only).
#
#   allowed: 1M getppid + 1M stat("/"), all succeeding: native, under `eperm run`
#            with EPERM_LAYERS=off, and under `eperm run` watching  (goal ≤ 1.10×
#            of the run without watching); the floor: the run without watching
#            while a do-nothing program sits on sys_exit (benches/exit_floor.rs)
#   refused: 100k open("/etc/shadow") as nobody, each EACCES and recorded: the
#            same two eperm runs
#
# Usage: benches/layers.sh [RUNS]   (root: BPF, cgroups, --user nobody; needs cc)
set -eu
RUNS=${1:-7}
# shellcheck source=benches/common/release.sh
. "$(dirname "$0")/common/release.sh"
trap 'rm -rf "$TMP"' EXIT

cat >"$TMP/calls.c" <<'C'
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = argc > 2 ? atol(argv[2]) : 0;
    struct stat st;
    if (strcmp(argv[1], "refused") == 0) {
        for (long i = 0; i < n; i++)
            open("/etc/shadow", O_RDONLY);
        return 0;
    }
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    for (long i = 0; i < n; i++)
        stat("/", &st);
    return 0;
}
C
cc -O2 -o "$TMP/calls" "$TMP/calls.c"
# The floor: a do-nothing program on sys_exit while eperm runs without watching.
FLOOR=$(bench_binary exit_floor)
chmod 755 "$TMP" "$TMP/calls"

# shellcheck source=benches/common/timing.sh
. "$(dirname "$0")/common/timing.sh"

round=0
while [ $round -lt "$RUNS" ]; do
    time_one native "$TMP/calls" allowed 1000000
    time_one off env EPERM_LAYERS=off "$EPERM" run --no-tui -- "$TMP/calls" allowed 1000000
    time_one on "$EPERM" run --no-tui -- "$TMP/calls" allowed 1000000
    time_one floor env EPERM_LAYERS=off "$FLOOR" "$EPERM" run --no-tui -- "$TMP/calls" allowed 1000000
    time_one refused_off env EPERM_LAYERS=off "$EPERM" run --no-tui --user nobody -- "$TMP/calls" refused 100000
    time_one refused_on "$EPERM" run --no-tui --user nobody -- "$TMP/calls" refused 100000
    round=$((round + 1))
done

echo "median of $RUNS rounds, $(nproc) CPUs, kernel $(uname -r)"
echo "allowed  native            $(ms native)"
echo "         eperm, not watched $(ms off)"
echo "         the same, a do-nothing program on sys_exit (the floor) $(ms floor)   $(ratio floor off) of not watched"
echo "         eperm, watched     $(ms on)   $(ratio on off) of not watched (goal ≤ 1.10×), $(ratio on floor) of the floor"
echo "refused  eperm, not watched $(ms refused_off)"
echo "         eperm, watched     $(ms refused_on)   $(ratio refused_on refused_off) of not watched"

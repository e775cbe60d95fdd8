#!/usr/bin/env bash
# What eperm (or its tests) made and nothing removed: run at the end of
# tests/run.sh, it fails when any is still there. An entry is eperm's when its
# name carries the pid of the eperm (or test binary) that made it —
# `eperm-PID`, `eperm-podman-PID-…`, `eperm-cov-PID-…` — and it is left over
# when that process is gone; entries of eperms still running (another suite on
# the machine) are not leftovers. run.sh's own dockerd states are removed by
# its exit trap, after this check.
set -uo pipefail

found=0
left() {
  echo "leftover: $*" >&2
  found=1
}

# The pid in an eperm name: eperm-123, eperm-podman-123-root, eperm-cov-123-1.
owner() {
  local name=${1##*/}
  name=${name#eperm-}
  name=${name#podman-}
  name=${name#cov-}
  name=${name%%[!0-9]*}
  echo "$name"
}
dead() {
  local pid
  pid=$(owner "$1")
  [ -n "$pid" ] && [ ! -e "/proc/$pid" ]
}

# Temporary directories: work dirs (agent sockets, profile copies), test stores.
for d in "${TMPDIR:-/tmp}"/eperm-*; do
  [ -e "$d" ] || continue
  case ${d##*/} in eperm-dockerd.*) continue ;; esac
  dead "$d" && left "directory $d"
done

# Processes that name one of those, whose eperm is gone.
#
# One is known and not fixed yet (issue 33, open): now and then the podman test
# whose runtime eperm does not know (`podman_in_the_tui_says_why_it_logs_when_it_ends`)
# leaves the OCI runtime's `create` process of a container that was created and
# never started, waiting on its exec.fifo. It is said, and killed so that the
# machine is left clean, but does not fail the suite until that issue is fixed;
# any other process left behind does.
for p in /proc/[0-9]*; do
  cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
  for word in $cmd; do
    case $word in
      */eperm-[0-9]* | */eperm-podman-* | */eperm-cov-*)
        rest=${word#*/eperm-}
        if dead "eperm-${rest%%/*}"; then
          case $cmd in
            *" create --bundle "*/eperm-podman-*)
              echo "known leftover (issue 33, open), killed: process ${p#/proc/}: $cmd" >&2
              kill -KILL "${p#/proc/}" 2>/dev/null || true
              ;;
            *) left "process ${p#/proc/}: $cmd" ;;
          esac
          break
        fi
        ;;
    esac
  done
done

# cgroups: a run's own (eperm-PID) and coverage parents (eperm-cov-PID-N).
while IFS= read -r cg; do
  dead "$cg" && left "cgroup $cg"
done < <(find /sys/fs/cgroup -maxdepth 8 -type d -name 'eperm-*' 2>/dev/null)

# Pinned eBPF objects (eperm pins none: any is a leftover).
while IFS= read -r pinned; do
  left "pinned BPF object $pinned"
done < <(find /sys/fs/bpf -name '*eperm*' 2>/dev/null)

if [ "$found" -ne 0 ]; then
  echo "eperm left the above behind (issue 33)" >&2
  exit 1
fi
echo "leftovers: none"

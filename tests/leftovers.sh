#!/usr/bin/env bash
# What eperm (or its tests) made and nothing removed: run at the end of
# tests/run.sh, it fails when any is still there. An entry is eperm's when its
# name carries the pid of the eperm (or test binary) that made it —
# `eperm-PID` (work directories in /run/eperm/work, cgroups), `podman-PID-…`
# (the tests' podman stores in /run/eperm-tests), `eperm-cov-PID-…` (coverage
# cgroups) — and it is left over when that process is gone; entries of eperms
# still running (another suite on the machine) are not leftovers. run.sh's own
# dockerd states are removed by its exit trap, after this check.
set -uo pipefail

found=0
left() {
  echo "leftover: $*" >&2
  found=1
}

# The pid in an eperm name: eperm-123, podman-123-root, eperm-cov-123-1.
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

# Work directories (agent sockets, profile copies, cidfiles) and test stores;
# /tmp too, where eperm kept them before (and keeps them for a user without
# XDG_RUNTIME_DIR).
for d in /run/eperm/work/eperm-* /run/eperm-tests/podman-* "${TMPDIR:-/tmp}"/eperm-*; do
  [ -e "$d" ] || continue
  case ${d##*/} in eperm-dockerd.*) continue ;; esac
  dead "$d" && left "directory $d"
done

# Wrapper sessions whose eperm is gone (`owner` holds its pid).
for s in /run/eperm/sessions/*; do
  [ -f "$s/owner" ] || continue
  read -r pid _ <"$s/owner" || continue
  [ -e "/proc/$pid" ] || left "session $s"
done

# Processes that name one of those, whose eperm is gone: among them the OCI
# runtime's `create` of a container that was created and never started.
for p in /proc/[0-9]*; do
  cmd=$( { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null) || continue
  for word in $cmd; do
    case $word in
      */eperm-[0-9]* | */eperm-tests/podman-* | */eperm-cov-* | */eperm-podman-*)
        rest=${word##*/eperm-}
        rest=${rest#tests/}
        if dead "eperm-${rest%%/*}"; then
          left "process ${p#/proc/}: $cmd"
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

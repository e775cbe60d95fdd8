#!/usr/bin/env bash
# What recording a container's profile costs (issue 30): `eperm docker -o` counting
# the container's calls in the kernel (eBPF) beside `--trap` (each call the base
# profile would deny trapped by seccomp notification), from a base that denies
# everything (the "make me a profile" case, as `eperm record --empty`), and the
# same container under plain docker with Docker's default profile as the floor.
#
# Needs: root; Debian's docker.io (dockerd, docker) and runc; cargo. It installs
# nothing and uses no network. Like container.sh it starts a private dockerd (own
# data-root, exec-root, pidfile and socket, no bridge, no iptables) with eperm's
# runc wrapper registered (so that --trap is notify, not log), and stops it at the end.
#
# Each round runs, interleaved (drift on a noisy machine hits every variant alike):
#   A  docker run --security-opt seccomp=DEFAULT …          the floor
#   B  eperm docker -p DENY-ALL -o OUT -- run …             recorded in the kernel
#   C  eperm docker -p DENY-ALL -o OUT --trap -- run …      recorded by trapping
# The workload lists the image's files and stats them, 30 times over (syscall-bound).
# Wall-clock times from starting the client to its exit; ratios against A.
#
# Usage: benches/record_container.sh [ROUNDS]   (default 9)
# EPERM_BENCH_BUILD=debug measures the debug build (no release build first).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-9}

# shellcheck source=benches/common/dockerd.sh
. benches/common/dockerd.sh
bench_dockerd record_container.sh

# The image: a few host programs and the libraries they load.
image=eperm-bench:record
bench_image "$image" /bin/sh /bin/ls /usr/bin/find /usr/bin/stat /usr/bin/xargs /usr/bin/seq

default=$work/default.json
"$eperm" default >"$default"
deny_all=$work/deny-all.json
cat >"$deny_all" <<'JSON'
{
  "defaultAction": "SCMP_ACT_ERRNO",
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "syscalls": []
}
JSON
workload=(sh -c 'for i in $(seq 30); do find / -xdev -type f | xargs stat -c %s; done >/dev/null')
run=(run --rm --network none)

variant_A() { docker "${run[@]}" --security-opt "seccomp=$default" "$image" "${workload[@]}"; }
variant_B() { "$eperm" docker -p "$deny_all" -o "$work/counted.json" -- "${run[@]}" "$image" "${workload[@]}"; }
variant_C() {
  "$eperm" docker -p "$deny_all" -o "$work/trapped.json" --trap -- "${run[@]}" "$image" "${workload[@]}"
}
variants=(A B C)
label_A="docker run, default profile"
label_B="eperm docker -o (in the kernel)"
label_C="eperm docker -o --trap (notify)"

# Checked once: each recording says how it recorded, and both write one profile.
variant_B >/dev/null 2>"$work/b.err" || { cat "$work/b.err"; exit 1; }
grep -q "recorded in the kernel" "$work/b.err" || { echo "B did not count:"; cat "$work/b.err"; exit 1; }
variant_C >/dev/null 2>"$work/c.err" || { cat "$work/c.err"; exit 1; }
grep -q "recorded by trapping each call (notify)" "$work/c.err" || { cat "$work/c.err"; exit 1; }
cmp -s "$work/counted.json" "$work/trapped.json" || echo "warning: the two recordings differ" >&2
variant_A >/dev/null 2>&1 || true

bench_rounds "$rounds" "${variants[@]}"
base=$(bench_median "$work/times.A")
echo "container start to exit, median of $rounds interleaved rounds (ms)"
for v in "${variants[@]}"; do
  label="label_$v"
  m=$(bench_median "$work/times.$v")
  printf '  %s  %-36s %7s ms  %5.2f×\n' "$v" "${!label}" "$m" \
    "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')"
done

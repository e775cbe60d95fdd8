#!/usr/bin/env bash
# Container start-to-exit time under eperm vs under the original profile, side by side
# (issue 7's goal: ≤ 1.2× in LOG mode).
#
# Needs: root; Debian's docker.io (dockerd, docker) and runc; cargo (the script builds
# eperm in release mode first). It installs nothing. It starts a private dockerd of its
# own (own data-root, exec-root, pidfile and socket, no bridge, no iptables) with
# eperm's runc wrapper registered as runtime `eperm`, and stops it when it ends; a
# dockerd already running elsewhere is left alone. No network is used: the image is
# made of host binaries with `docker import`.
#
# Each round runs, in this order (interleaved, so that drift on a noisy machine hits
# every variant alike), the same container and workload:
#   A  docker run --security-opt seccomp=ORIGINAL           the baseline
#   B  docker run --security-opt seccomp=LOG-COPY           eperm's LOG copy, without eperm
#   C  eperm docker --mode log    -p ORIGINAL -- run …      eperm end to end (the goal)
#   D  eperm docker --mode notify -p ORIGINAL -- run …      eperm as the seccomp agent
#   E  docker run --runtime eperm --security-opt seccomp=ORIGINAL   the wrapper alone
#   F  eperm docker --mode notify --coverage -p ORIGINAL -- run …   D counted in the kernel
#   G  eperm docker --mode log --coverage -p ORIGINAL -- run …      C counted in the kernel
# ORIGINAL is eperm's embedded default profile with mkdir/mkdirat denied; the workload
# runs `ls /` 200 times, then mkdir (denied by ORIGINAL, reported under eperm).
# The times are wall-clock, from starting the client to its exit. Coverage's own
# cost is F/D and G/C (issue 14's goal: ≤ 1.1×).
#
# Usage: benches/container.sh [ROUNDS]   (default 15)
# EPERM_BENCH_BUILD=debug measures the debug build (no release build first).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-15}

# shellcheck source=benches/common/dockerd.sh
. benches/common/dockerd.sh
bench_dockerd container.sh

# The image: a few host programs and the libraries they load.
image=eperm-bench:host
bench_image "$image" /bin/sh /bin/ls /bin/mkdir /usr/bin/seq

original=$work/original.json
"$eperm" default >"$original"
"$eperm" edit "$original" --deny mkdir,mkdirat >/dev/null 2>&1
workload=(sh -c 'for i in $(seq 200); do ls / >/dev/null; done; mkdir /tmp/x')
run=(run --rm --network none)

# B's copy is the very file `eperm docker --mode log` hands to docker: a `docker`
# first on PATH keeps a copy of the profile it is given, then runs the real one.
mkdir -p "$work/shim"
cat >"$work/shim/docker" <<SHIM
#!/bin/sh
for a in "\$@"; do
  case "\$a" in seccomp=*) cp "\${a#seccomp=}" "$work/logcopy.json" ;; esac
done
exec $(command -v docker) "\$@"
SHIM
chmod +x "$work/shim/docker"
PATH="$work/shim:$PATH" "$eperm" docker --mode log -p "$original" -- \
  "${run[@]}" "$image" ls / >/dev/null 2>"$work/shim.err" || { cat "$work/shim.err"; exit 1; }
[ -s "$work/logcopy.json" ] || { echo "container.sh: no LOG copy captured" >&2; exit 1; }
grep -q SCMP_ACT_LOG "$work/logcopy.json"

variant_A() { docker "${run[@]}" --security-opt "seccomp=$original" "$image" "${workload[@]}"; }
variant_B() { docker "${run[@]}" --security-opt "seccomp=$work/logcopy.json" "$image" "${workload[@]}"; }
variant_C() { "$eperm" docker --mode log -p "$original" -- "${run[@]}" "$image" "${workload[@]}"; }
variant_D() { "$eperm" docker --mode notify -p "$original" -- "${run[@]}" "$image" "${workload[@]}"; }
variant_E() {
  docker "${run[@]}" --runtime eperm --security-opt "seccomp=$original" "$image" "${workload[@]}"
}
variant_F() {
  "$eperm" docker --mode notify --coverage -p "$original" -- "${run[@]}" "$image" "${workload[@]}"
}
variant_G() {
  "$eperm" docker --mode log --coverage -p "$original" -- "${run[@]}" "$image" "${workload[@]}"
}
variants=(A B C D E F G)
label_A="docker run, original profile"
label_B="docker run, eperm's LOG copy"
label_C="eperm docker --mode log"
label_D="eperm docker --mode notify"
label_E="docker run --runtime eperm, original"
label_F="eperm docker --mode notify --coverage"
label_G="eperm docker --mode log --coverage"

# One warm-up of each (first runs pay for cold caches), then the rounds.
for v in "${variants[@]}"; do "variant_$v" >/dev/null 2>&1 || true; done
# The workload's mkdir fails under ORIGINAL (A, E): its status is not checked;
# under eperm it must succeed, so C and D are checked once here.
variant_C >/dev/null 2>"$work/c.err" || { cat "$work/c.err"; exit 1; }
grep -q mkdir "$work/c.err" || { echo "C did not report mkdir:"; cat "$work/c.err"; exit 1; }
variant_D >/dev/null 2>"$work/d.err" || { cat "$work/d.err"; exit 1; }
grep -q mkdir "$work/d.err" || { echo "D did not report mkdir:"; cat "$work/d.err"; exit 1; }
# F enforces the profile (its mkdir fails): checked for counting in the kernel.
variant_F >/dev/null 2>"$work/f.err" || true
grep -q "counted in the kernel" "$work/f.err" || { echo "F did not count:"; cat "$work/f.err"; exit 1; }

bench_rounds "$rounds" "${variants[@]}"
quartile() { sort -n "$1" | awk -v q="$2" '{ a[NR] = $1 } END { i = int(q * (NR - 1) + 1.5); print a[i] }'; }
base=$(bench_median "$work/times.A")
echo "container start to exit, median of $rounds interleaved rounds (ms; p25–p75 in brackets)"
for v in "${variants[@]}"; do
  label="label_$v"
  m=$(bench_median "$work/times.$v")
  printf '  %s  %-38s %6s ms  [%s–%s]  %5.2f×\n' "$v" "${!label}" "$m" \
    "$(quartile "$work/times.$v" 0.25)" "$(quartile "$work/times.$v" 0.75)" \
    "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')"
done
echo "goal: C (and D) ≤ 1.2× A"
ratio() { awk -v a="$(bench_median "$work/times.$1")" -v b="$(bench_median "$work/times.$2")" 'BEGIN { printf "%.2f", a / b }'; }
echo "coverage's cost: F/D $(ratio F D)×, G/C $(ratio G C)× (goal ≤ 1.1×)"

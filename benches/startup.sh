#!/bin/sh
# What the shipped binary costs before the workload runs: its size, and the
# wall time of `eperm --version`, `eperm check` on the default profile and a
# whole `eperm run --no-tui -- /bin/true` (profile load, filter compile, fork,
# supervisor, summary), beside /bin/true alone (the floor: one fork and exec).
# Two builds side by side: the release profile of Cargo.toml (LTO, one codegen
# unit, symbols but no debug info) and the same code built the way it was before (no LTO, 16
# codegen units, debug = 1), so the ratio says what the profile buys.
#
# Usage: benches/startup.sh [ROUNDS]   (root, for `eperm run`; default 31 rounds)
set -eu
ROUNDS=${1:-31}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  CARGO_PROFILE_RELEASE_DEBUG=1 CARGO_PROFILE_RELEASE_STRIP=none \
  CARGO_TARGET_DIR="$TARGET/startup-plain" \
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
TUNED=$TARGET/release/eperm
PLAIN=$TARGET/startup-plain/release/eperm
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$TUNED" default >"$TMP/default.json"

for b in "$TUNED" "$PLAIN"; do
  printf '%-60s %8d KiB\n' "size of $b" $(( $(stat -c %s "$b") / 1024 ))
done

# Rounds interleave the variants, so a busy moment hits all of them alike.
python3 - "$ROUNDS" "$TUNED" "$PLAIN" "$TMP/default.json" <<'PY'
import statistics, subprocess, sys, time
rounds, tuned, plain, profile = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
variants = [("/bin/true (floor)", ["/bin/true"])]
for label, binary in (("tuned", tuned), ("plain", plain)):
    variants += [
        (f"{label}: eperm --version", [binary, "--version"]),
        (f"{label}: eperm check default", [binary, "check", profile]),
        (f"{label}: eperm run --no-tui -- true", [binary, "run", "--no-tui", "--", "/bin/true"]),
    ]
times = {name: [] for name, _ in variants}
for _ in range(rounds):
    for name, argv in variants:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[name].append(time.perf_counter() - start)
floor = statistics.median(times["/bin/true (floor)"])
print(f"{'median of ' + str(rounds) + ' rounds':<42} {'ms':>8} {'x floor':>8} {'x plain':>8}")
for name, _ in variants:
    median = statistics.median(times[name])
    plain_name = name.replace("tuned:", "plain:")
    vs_plain = median / statistics.median(times[plain_name]) if name.startswith("tuned") else None
    print(f"{name:<42} {median * 1000:8.2f} {median / floor:8.1f}"
          + (f" {vs_plain:8.2f}" if vs_plain else ""))
PY

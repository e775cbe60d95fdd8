#!/bin/sh
# What `eperm record` costs on a syscall-heavy pipeline (issue 30): the pipeline
# alone, `eperm record --empty` counting in the kernel (eBPF), the same with
# `--trap` (each call trapped by seccomp notification), and `strace -f -o
# /dev/null`, each the median wall time of ROUNDS runs, interleaved so that a
# busy moment hits all of them alike; each ratio is against the pipeline alone.
#
# Usage: benches/record.sh [ROUNDS] (root; default 5). EPERM=path uses that
# binary instead of building the release one.
set -eu
ROUNDS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${EPERM:-}" ]; then
  cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
  EPERM=${CARGO_TARGET_DIR:-$ROOT/target}/release/eperm
fi
command -v strace >/dev/null || { echo "strace is needed" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
PIPELINE='find /usr/share -type f | head -50000 | xargs -n 200 stat -c %s'

python3 - "$ROUNDS" "$EPERM" "$TMP" "$PIPELINE" <<'PY'
import statistics, subprocess, sys, time
rounds, eperm, tmp, pipeline = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sh = ["sh", "-c", pipeline]
record = [eperm, "record", "--empty", "-o", f"{tmp}/recorded.json"]
variants = [
    ("the pipeline alone", sh),
    ("eperm record --empty (in the kernel)", record + ["--"] + sh),
    ("eperm record --empty --trap (notify)", record + ["--trap", "--"] + sh),
    ("strace -f -o /dev/null", ["strace", "-f", "-o", "/dev/null"] + sh),
]
times = {label: [] for label, _ in variants}
for _ in range(rounds):
    for label, argv in variants:
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # xargs says 123 when a stat fails
        times[label].append(time.perf_counter() - start)
floor = statistics.median(times[variants[0][0]])
print(f"{'median of ' + str(rounds) + ', interleaved':<40} {'seconds':>8} {'vs alone':>9}")
for label, _ in variants:
    m = statistics.median(times[label])
    print(f"{label:<40} {m:8.3f} {m / floor:8.2f}x")
PY

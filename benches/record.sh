#!/bin/sh
# What `eperm record` costs on a syscall-heavy pipeline (issue 30): the pipeline
# alone, `eperm record --empty` counting in the kernel (eBPF), the same with
# `--trap` (each call trapped by seccomp notification), and `strace -f -o
# /dev/null`, each the median wall time of ROUNDS runs, interleaved so that a
# busy moment hits all of them alike; each ratio is against the pipeline alone.
# The same for a multi-threaded program: `git status`, five times, in a repository
# of 20 000 files, whose index preload lstat()s them from 20 threads at once.
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
command -v git >/dev/null || { echo "git is needed" >&2; exit 2; }
REPO=$TMP/repo
mkdir "$REPO"
python3 - "$REPO" <<'PY'
import os, sys
for d in range(200):
    os.makedirs(f"{sys.argv[1]}/d{d}")
    for f in range(100):
        with open(f"{sys.argv[1]}/d{d}/f{f}", "w") as out:
            out.write(f"{d} {f}\n")
PY
git -C "$REPO" init -q
git -C "$REPO" add -A
git -C "$REPO" -c user.name=bench -c user.email=bench@localhost commit -qm files

python3 - "$ROUNDS" "$EPERM" "$TMP" "$PIPELINE" "$REPO" <<'PY'
import statistics, subprocess, sys, time
rounds, eperm, tmp, pipeline, repo = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
record = [eperm, "record", "--empty", "-o", f"{tmp}/recorded.json"]
workloads = [
    ("the pipeline", ["sh", "-c", pipeline]),
    ("git status x5, 20 threads", ["sh", "-c", f"for i in 1 2 3 4 5; do git -C {repo} status --porcelain; done"]),
]
for name, work in workloads:
    variants = [
        (f"{name} alone", work),
        ("eperm record --empty (in the kernel)", record + ["--"] + work),
        ("eperm record --empty --trap (notify)", record + ["--trap", "--"] + work),
        ("strace -f -o /dev/null", ["strace", "-f", "-o", "/dev/null"] + work),
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

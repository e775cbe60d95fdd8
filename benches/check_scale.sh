#!/bin/sh
# How `eperm check` and `eperm explain` grow with the number of rules, beside a
# floor: Python's json.load of the same file (reading the JSON at all, plus
# Python's start-up of some 20 ms). Profiles are generated: Docker's default
# (the embedded profile) plus N argument rules over 16 syscalls, one value of
# args[1] each, every fifth an ERRNO, every seventh with a second condition;
# "bare" is the same N rules alone, so each syscall's argument tree is huge
# (the shape where libseccomp's own rule merge is slowest: at 200000 rules,
# some 12,500 sibling nodes under one test of args[1] per syscall and arch).
#
# Usage: benches/check_scale.sh [ROUNDS] [SIZES]
#   default: 5 rounds, sizes "1000 4000 16000"; issue 34's goal is "16000
#   200000" (200000 rules are 46 MB indented, under eperm's 64 MiB cap for
#   profiles; above 250000 rules the file is written compact to stay under).
#   EPERM=path/to/eperm uses that binary instead of building the release one.
# Prints the median of ROUNDS wall times per (command, shape, size).
set -eu
ROUNDS=${1:-5}
SIZES=${2:-"1000 4000 16000"}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${EPERM:-}" ]; then
  cargo build --release --quiet --bin eperm --manifest-path "$ROOT/Cargo.toml"
  EPERM=${CARGO_TARGET_DIR:-$ROOT/target}/release/eperm
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$EPERM" default >"$TMP/default.json"

python3 - "$ROUNDS" "$EPERM" "$TMP" "$SIZES" <<'PY'
import json, os, statistics, subprocess, sys, time
rounds, eperm, tmp, sizes = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4].split()
base = json.load(open(os.path.join(tmp, "default.json")))
names = ["ioctl", "fcntl", "prctl", "socket", "setsockopt", "getsockopt", "clone", "mmap",
         "mprotect", "personality", "kill", "tgkill", "madvise", "futex", "openat", "sendto"]

def rules(n):
    out = []
    for i in range(n):
        k = i // len(names)
        action = "SCMP_ACT_ALLOW" if i % 5 else "SCMP_ACT_ERRNO"
        r = {"names": [names[i % len(names)]], "action": action,
             "args": [{"index": 1, "value": 0x1000 + k, "op": "SCMP_CMP_EQ"}]}
        if i % 7 == 0:
            r["args"].append({"index": 2, "value": k % 9, "op": "SCMP_CMP_LE"})
        if action == "SCMP_ACT_ERRNO":
            r["errnoRet"] = 1
        out.append(r)
    return out

def median(argv):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)

floor = [sys.executable, "-c", "import json, sys; json.load(open(sys.argv[1]))"]
print(f"{'shape':<8} {'rules':>7} {'MB':>6} {'json.load':>10} {'check':>9} {'explain':>9}  (median of {rounds}, seconds)")
for shape in ("docker", "bare"):
    for n in map(int, sizes):
        path = os.path.join(tmp, f"{shape}-{n}.json")
        profile = dict(base)
        profile["syscalls"] = (base["syscalls"] if shape == "docker" else []) + rules(n)
        with open(path, "w") as f:
            # Indented as people write them, unless that would pass eperm's
            # 64 MiB read cap for profiles (about 290000 rules): compact then.
            big = n > 250000
            json.dump(profile, f, indent=None if big else 2,
                      separators=(",", ":") if big else None)
        mb = os.path.getsize(path) / 1e6
        row = [median(floor + [path]),
               median([eperm, "check", path]),
               median([eperm, "explain", path, "ioctl", "3", "4096"])]
        print(f"{shape:<8} {n:>7} {mb:>6.1f} " + " ".join(f"{t:>9.2f}" for t in row), flush=True)
        os.remove(path)
PY

#!/usr/bin/env bash
# Importing a 1-million-record audit.log: eperm import vs ausearch, side by side.
# Needs ausearch (Debian: apt-get install auditd; the daemon need not run).
# Usage: benches/import_vs_ausearch.sh [RECORDS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
rounds=${2:-5}
command -v ausearch >/dev/null || { echo "ausearch is needed (apt-get install auditd)" >&2; exit 2; }
cargo build --release --quiet
eperm=${CARGO_TARGET_DIR:-target}/release/eperm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log=$work/audit.log
# Realistic records: SECCOMP lines of a few processes and syscalls, every tenth
# with hex-encoded names, interleaved with SYSCALL/PROCTITLE noise as auditd writes.
awk -v n="$records" 'BEGIN {
  split("41 59 101 165 272 321 425 435", nrs, " ");
  for (i = 0; i < n; i++) {
    s = 1700000000 + int(i / 1000); ms = i % 1000; serial = i + 1;
    nr = nrs[i % 8 + 1];
    if (i % 10 == 0) { comm = "6D792070726F67"; exe = "2F746D702F612062" }
    else { comm = "\"curl\""; exe = "\"/usr/bin/curl\"" }
    printf "type=SECCOMP msg=audit(%d.%03d:%d): auid=1000 uid=1000 gid=1000 ses=%d subj=unconfined pid=%d comm=%s exe=%s sig=0 arch=c000003e syscall=%d compat=0 ip=0x7f0011223344 code=0x7ffc0000\n", s, ms, serial, 3 + i % 5, 4000 + i % 300, comm, exe, nr;
    if (i % 100 == 0) printf "type=PROCTITLE msg=audit(%d.%03d:%d): proctitle=6375726C\n", s, ms, serial;
  }
}' > "$log"
echo "$(grep -c SECCOMP "$log") SECCOMP records, $(du -h "$log" | cut -f1)"
time_of() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
eperm_times=(); ausearch_times=()
for _ in $(seq "$rounds"); do
  eperm_times+=("$(time_of "$eperm" import --format audit -o "$work/out.json" "$log")")
  ausearch_times+=("$(time_of ausearch -m SECCOMP -i -if "$log")")
done
e=$(printf '%s\n' "${eperm_times[@]}" | median)
a=$(printf '%s\n' "${ausearch_times[@]}" | median)
printf 'eperm import:       median %.3f s  (%s)\n' "$e" "${eperm_times[*]}"
printf 'ausearch -m SECCOMP: median %.3f s  (%s)\n' "$a" "${ausearch_times[*]}"
printf 'ratio: %.1fx\n' "$(echo "$a / $e" | bc -l)"

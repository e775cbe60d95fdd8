# Timing for the shell benchmarks: `time_one NAME CMD…` appends CMD's wall time
# (µs) to $TMP/NAME; `median`, `ms` and `ratio` read those files. Needs $TMP.
time_one() {
    name=$1
    shift
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1 || echo "warning: $name failed" >&2
    end=$(date +%s%N)
    echo $(((end - start) / 1000)) >>"$TMP/$name"
}
median() { sort -n "$TMP/$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { awk -v a="$(median "$1")" 'BEGIN {printf "%9.1f ms", a / 1000}'; }
ratio() { awk -v a="$(median "$1")" -v b="$(median "$2")" 'BEGIN {printf "%.3f×", a / b}'; }

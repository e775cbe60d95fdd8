#!/usr/bin/env bash
# Runs every test of eperm, installing first what the tests need.
# Debian/Ubuntu: needs root (or sudo) the first time, for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages the tests use: libseccomp-dev is the referee of the differential tests;
# tmux is the real terminal of the TUI tests; docker.io and runc run the container tests,
# podman and crun the podman tests (which make their own private stores).
packages=(libseccomp-dev pkg-config tmux docker.io runc podman crun golang-go)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

# The container tests need dockerds of their own (own state, socket and containerd),
# stopped when the tests end: one with eperm's runc wrapper registered, and a plain
# one, as most users have.
cargo build --features differential "$@"
target="$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)"
ln -sf "$target/eperm" "$target/eperm-runc"
states=()
stop_dockerds() {
  for state in "${states[@]}"; do
    if [ -f "$state/pid" ]; then
      kill "$(cat "$state/pid")" 2>/dev/null || true
      for _ in $(seq 100); do [ -f "$state/pid" ] || break; sleep 0.1; done
    fi
    rm -rf "$state" 2>/dev/null || true
  done
}
trap stop_dockerds EXIT
start_dockerd() { # VAR [dockerd options]: start one, its DOCKER_HOST in VAR
  local var=$1 state
  shift
  state="$(mktemp -d /tmp/eperm-dockerd.XXXXXX)"
  states+=("$state")
  export "$var=unix://$state/docker.sock"
  dockerd --data-root "$state/data" --exec-root "$state/exec" --pidfile "$state/pid" \
    -H "unix://$state/docker.sock" --bridge none --iptables=false "$@" >"$state/log" 2>&1 &
  for _ in $(seq 150); do
    DOCKER_HOST="unix://$state/docker.sock" docker version >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  cat "$state/log"
  return 1
}
start_dockerd EPERM_TEST_DOCKER_HOST --add-runtime "eperm=$target/eperm-runc"
start_dockerd EPERM_TEST_PLAIN_DOCKER_HOST

# The LOG floods (up to a million kernel records each) run on their own, one at a
# time, after the rest: every log-mode run on the machine receives their records, so
# other tests would compete with them for the CPUs and their sockets' room
# (benches/logflood.sh measures throughput).
floods=(
  logsrc::a_flood_every_record_is_received_once_or_admitted_missing
  logsrc::a_flood_eperm_cannot_read_is_counted_missing_to_the_record
  faults::a_flood_of_denials_from_64_threads_does_not_grow_eperms_memory
)
skips=()
for f in "${floods[@]}"; do skips+=(--skip "$f"); done
cargo test --features differential "$@" -- "${skips[@]}"
cargo test --features differential --test integration "$@" -- --exact --test-threads 1 "${floods[@]}"

# The podman tests' private stores live as long as their test binary (podman's
# state is in them): the suite's own data, removed now that it has ended, like
# the dockerds' states. A process still using one is caught below.
for store in /run/eperm-tests/podman-*; do
  pid=${store##*/podman-}
  pid=${pid%%-*}
  if [ -e "$store" ] && [ ! -e "/proc/$pid" ]; then
    # A run that failed may have left a container's mounts (its shm) inside.
    awk -v s="$store/" 'index($2, s) == 1 { print $2 }' /proc/mounts | sort -r |
      xargs -r -n1 umount -l
    rm -rf "$store"
  fi
done
rmdir /run/eperm-tests 2>/dev/null || true

# Nothing eperm made may outlive the suite: processes, temporary directories,
# cgroups, pinned eBPF (issue 33).
bash tests/leftovers.sh

#!/usr/bin/env bash
# Runs every test of eperm, installing first what the tests need.
# Debian/Ubuntu: needs root (or sudo) the first time, for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages the tests use: libseccomp-dev is the referee of the differential tests;
# tmux is the real terminal of the TUI tests; docker.io and runc run the container tests,
# podman and crun the podman tests (which make their own private stores).
packages=(libseccomp-dev pkg-config tmux docker.io runc podman crun)
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

# The LOG flood (a million kernel records) runs on its own, after the rest, so that
# other tests do not compete with it for the CPUs (benches/logflood.sh measures it).
flood=logsrc::a_flood_every_record_is_received_once_or_admitted_missing
cargo test --features differential "$@" -- --skip "$flood"
cargo test --features differential --test integration "$@" -- --exact "$flood"

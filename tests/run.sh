#!/usr/bin/env bash
# Runs every test of eperm, installing first what the tests need.
# Debian/Ubuntu: needs root (or sudo) the first time, for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages the tests use: libseccomp-dev is the referee of the differential tests;
# tmux is the real terminal of the TUI tests; docker.io and runc run the container tests.
packages=(libseccomp-dev pkg-config tmux docker.io runc)
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

# The container tests need a dockerd with eperm's runc wrapper registered: a
# private one (own state, socket and containerd), stopped when the tests end.
cargo build --features differential "$@"
target="${CARGO_TARGET_DIR:-target}"
ln -sf "$(cd "$target/debug" && pwd)/eperm" "$target/debug/eperm-runc"
dockerd_state="$(mktemp -d /tmp/eperm-dockerd.XXXXXX)"
stop_dockerd() {
  if [ -f "$dockerd_state/pid" ]; then
    kill "$(cat "$dockerd_state/pid")" 2>/dev/null || true
    for _ in $(seq 100); do [ -f "$dockerd_state/pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$dockerd_state" 2>/dev/null || true
}
trap stop_dockerd EXIT
export EPERM_TEST_DOCKER_HOST="unix://$dockerd_state/docker.sock"
dockerd --data-root "$dockerd_state/data" --exec-root "$dockerd_state/exec" \
  --pidfile "$dockerd_state/pid" -H "$EPERM_TEST_DOCKER_HOST" --bridge none --iptables=false \
  --add-runtime "eperm=$(cd "$target/debug" && pwd)/eperm-runc" >"$dockerd_state/log" 2>&1 &
for _ in $(seq 150); do
  DOCKER_HOST="$EPERM_TEST_DOCKER_HOST" docker version >/dev/null 2>&1 && break
  sleep 0.2
done
DOCKER_HOST="$EPERM_TEST_DOCKER_HOST" docker version >/dev/null || { cat "$dockerd_state/log"; exit 1; }

# The LOG flood measures how many of a million kernel records the audit source gets:
# it runs on its own, after the rest, so that other tests do not compete with it.
flood=logsrc::a_flood_audit_gets_nearly_all_and_kmsg_says_it_was_suppressed
cargo test --features differential "$@" -- --skip "$flood"
cargo test --features differential --test integration "$@" -- --exact "$flood"

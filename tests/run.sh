#!/usr/bin/env bash
# Runs every test of eperm, installing first what the tests need.
# Debian/Ubuntu: needs root (or sudo) the first time, for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

# Packages the tests use: libseccomp-dev is the referee of the differential tests;
# tmux is the real terminal of the TUI tests.
packages=(libseccomp-dev pkg-config tmux)
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

# The LOG flood measures how many of a million kernel records the audit source gets:
# it runs on its own, after the rest, so that other tests do not compete with it.
flood=logsrc::a_flood_audit_gets_nearly_all_and_kmsg_says_it_was_suppressed
cargo test --features differential "$@" -- --skip "$flood"
cargo test --features differential --test integration "$@" -- --exact "$flood"

#!/usr/bin/env bash
# Captures PNGs of the real TUI: tmux runs eperm, capture-pane -e keeps the
# colours, aha turns the ANSI text into HTML, headless Chromium photographs it.
# The triage report is rendered as an issue tracker would (cmark-gfm, tables on).
#   screenshots/capture.sh            (uses target/release/eperm, building it if needed)
#   EPERM=path/to/eperm screenshots/capture.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out=$PWD/screenshots

need=()
command -v tmux >/dev/null || need+=(tmux)
command -v aha >/dev/null || need+=(aha)
command -v chromium >/dev/null || need+=(chromium)
command -v cmark-gfm >/dev/null || need+=(cmark-gfm)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi

if [ -z "${EPERM:-}" ]; then
  cargo build --release --quiet
  EPERM=${CARGO_TARGET_DIR:-$PWD/target}/release/eperm
fi

work=$(mktemp -d)
session=eperm-shot-$$
trap 'tmux kill-session -t $session 2>/dev/null || true; rm -rf "$work"' EXIT

# The default profile without mkdir: the workload's mkdir is denied.
"$EPERM" default | grep -v -e '"mkdir",' -e '"mkdirat",' >"$work/profile.json"

wait_for() { # TEXT: poll the pane until it shows TEXT (10 s at most)
  for _ in $(seq 100); do
    tmux capture-pane -p -t "$session" | grep -qF -- "$1" && return 0
    sleep 0.1
  done
  echo "capture.sh: \"$1\" never appeared" >&2
  tmux capture-pane -p -t "$session" >&2
  return 1
}

shoot() { # NAME: the pane as NAME.png
  tmux capture-pane -e -p -t "$session" >"$work/$1.ansi"
  {
    # line-height: the font's own (normal), as a terminal's cells are, so that
    # box-drawing glyphs meet from row to row (at 1.2 they left gaps, and the
    # focused pane's ║ looked like a second border). The bottom padding makes a
    # coloured cell's background reach the underscore, drawn at the glyph's very
    # bottom: without it `x86_64` lost its underscore in the selected row.
    printf '<!doctype html><meta charset="utf-8"><style>'
    printf 'body{margin:0;background:#1d1f21}pre{margin:8px;font:14px/normal "DejaVu Sans Mono",monospace;color:#d0d0d0}'
    printf 'pre span{padding-bottom:2px}'
    printf '</style><pre>'
    aha --no-header --black <"$work/$1.ansi"
    printf '</pre>'
  } >"$work/$1.html"
  photo "$1" 1040,700
}

photo() { # NAME WIDTH,HEIGHT: $work/NAME.html as NAME.png
  chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$2" --screenshot="$out/$1.png" "file://$work/$1.html" >/dev/null 2>&1
  echo "wrote screenshots/$1.png"
}

tmux new-session -d -s "$session" -x 120 -y 40 -c "$work" \
  "$EPERM run --enforce -p profile.json -- sh -c 'mkdir $work/made && echo made it'; sleep 60"
wait_for "mkdir("
wait_for "cannot create"
shoot denied
tmux send-keys -t "$session" a
wait_for "allowed now"
tmux send-keys -t "$session" r
wait_for "clean run"
shoot clean-run
tmux send-keys -t "$session" '?'
wait_for "hold mode on/off"
shoot help
tmux send-keys -t "$session" Escape
sleep 0.3 # apart, or the terminal reads Escape then D as Alt-D
tmux send-keys -t "$session" D
wait_for "The profile since the session's start"
shoot diff
tmux send-keys -t "$session" Escape
sleep 0.3
tmux send-keys -t "$session" R
wait_for "report written"
{
  printf '<!doctype html><meta charset="utf-8"><style>'
  printf 'body{margin:16px 24px;font:14px/1.5 "DejaVu Sans",sans-serif;color:#1f2328;background:#fff}'
  printf 'code,pre{font:12px "DejaVu Sans Mono",monospace;background:#f0f2f4;border-radius:4px}'
  printf 'code{padding:1px 4px}pre{padding:8px 12px}pre code{padding:0;background:none}'
  printf 'table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:3px 8px}'
  printf '</style>'
  cmark-gfm --extension table "$work/eperm-report.md"
} >"$work/report.html"
photo report 1040,1300

# A container, when a dockerd answers (DOCKER_HOST as docker reads it): an image of
# host binaries, run by `eperm docker` under a profile that denies everything.
if docker version >/dev/null 2>&1; then
  tmux kill-session -t "$session"
  root="$work/rootfs"
  for program in /bin/sh /bin/mkdir; do
    for file in "$program" $(ldd "$program" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$file")" && cp -L "$file" "$root$file"
    done
  done
  mkdir -p "$root/tmp" "$root/proc" "$root/dev" "$root/sys"
  tar -C "$root" -c . | docker import - eperm-shot:host >/dev/null
  printf '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}\n' >"$work/none.json"
  tmux new-session -d -s "$session" -x 120 -y 40 -c "$work" \
    "$EPERM docker -p none.json -- run --rm --network none eperm-shot:host sh -c 'mkdir /tmp/x && echo made it'; sleep 60"
  wait_for "made it"
  sleep 1
  shoot docker
  docker rmi eperm-shot:host >/dev/null
else
  echo "capture.sh: no dockerd answers: screenshots/docker.png not made" >&2
fi

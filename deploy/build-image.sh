#!/usr/bin/env bash
# Builds eperm's image with podman from this repository, with no base image:
# the binary (built here, on the host) and the shared libraries `ldd` says it
# links, in a root file system that deploy/Containerfile copies FROM scratch.
#
#   deploy/build-image.sh [--binary PATH] [--tag NAME]
#
# --binary: an eperm already built (default: `cargo build --release --locked`).
# --tag:    the image's name (default: localhost/eperm:VERSION, VERSION the
#           binary's own; deploy/kubernetes/daemonset.yaml names that one).
# podman's own environment applies (CONTAINERS_STORAGE_CONF, …). Prints the
# image's name.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; }
binary=""
tag=""
while [ $# -gt 0 ]; do
  case $1 in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --tag) tag=${2:?--tag needs a name}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build-image.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if [ -z "$binary" ]; then
  (cd "$repo" && cargo build --release --locked >&2)
  binary="${CARGO_TARGET_DIR:-$repo/target}/release/eperm"
fi
[ -x "$binary" ] || { echo "build-image.sh: '$binary' is not an executable" >&2; exit 2; }
if [ -z "$tag" ]; then
  version=$("$binary" --version) # "eperm 0.1.0"
  tag="localhost/eperm:${version#eperm }"
fi

context=$(mktemp -d "${TMPDIR:-/tmp}/eperm-image.XXXXXX")
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/rootfs/usr/bin" "$context/rootfs/tmp"
install -m 0755 "$binary" "$context/rootfs/usr/bin/eperm"
# Each library at the path the loader looks for it (the loader itself at the
# path written in the binary), its links resolved: `lib => /path (addr)` and
# `/lib64/ld-linux-x86-64.so.2 (addr)`; the vDSO has no file.
# A static binary (musl) links nothing: ldd says so and fails.
linked=$(ldd "$binary" 2>&1) || linked=""
if grep -q 'not found' <<<"$linked"; then
  echo "build-image.sh: '$binary' links libraries this host lacks:" >&2
  grep 'not found' <<<"$linked" >&2
  exit 1
fi
libs=$(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$linked")
for lib in $libs; do
  cp -L --parents "$lib" "$context/rootfs"
done
podman build --quiet --file "$repo/deploy/Containerfile" --tag "$tag" "$context" >&2
echo "$tag"

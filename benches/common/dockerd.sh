# Sourced by the container benches (bash). `bench_dockerd NAME` builds eperm
# (release, or the debug build with EPERM_BENCH_BUILD=debug) and starts a private
# dockerd: its own data-root, exec-root, pidfile and socket, no bridge, no
# iptables, eperm's runc wrapper registered as the runtime "eperm"; it is stopped
# and its directory removed when the bench exits. Sets eperm, target, work and
# DOCKER_HOST. `bench_image IMAGE PROGRAM…` imports an image of those host
# programs and the libraries they load. `bench_rounds ROUNDS V…` runs the
# functions variant_V once per round, interleaved, appending each wall time
# (ms) to $work/times.V; `bench_median FILE` prints a file's median.

bench_dockerd() {
  local me=$1
  need() { command -v "$1" >/dev/null || { echo "$me: $1 not found: $2" >&2; exit 2; }; }
  [ "$(id -u)" -eq 0 ] || { echo "$me: run as root (it starts a dockerd)" >&2; exit 2; }
  need dockerd "apt-get install docker.io"
  need docker "apt-get install docker.io"
  need runc "apt-get install runc"
  need cargo "install Rust (https://rustup.rs)"

  local build=${EPERM_BENCH_BUILD:-release}
  if [ "$build" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
  target=$(cd "${CARGO_TARGET_DIR:-target}/$build" && pwd)
  eperm=$target/eperm
  ln -sf "$eperm" "$target/eperm-runc"

  work=$(mktemp -d "/tmp/eperm-${me%.sh}.XXXXXX")
  trap bench_dockerd_stop EXIT
  export DOCKER_HOST="unix://$work/docker.sock"
  dockerd --data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/pid" \
    -H "$DOCKER_HOST" --bridge none --iptables=false \
    --add-runtime "eperm=$target/eperm-runc" >"$work/dockerd.log" 2>&1 &
  for _ in $(seq 150); do
    docker version >/dev/null 2>&1 && break
    sleep 0.2
  done
  docker version >/dev/null || { cat "$work/dockerd.log"; exit 1; }
}

bench_dockerd_stop() {
  if [ -f "$work/pid" ]; then
    kill "$(cat "$work/pid")" 2>/dev/null || true
    for _ in $(seq 100); do [ -f "$work/pid" ] || break; sleep 0.1; done
  fi
  rm -rf "$work" 2>/dev/null || true
}

bench_image() {
  local image=$1 root=$work/rootfs-${1//[^a-z0-9]/-} program file
  shift
  for program in "$@"; do
    for file in "$program" $(ldd "$program" | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$file")"
      cp "$file" "$root$file"
    done
  done
  mkdir -p "$root/proc" "$root/dev" "$root/sys" "$root/tmp" "$root/etc"
  tar -C "$root" -c . | docker import - "$image" >/dev/null
}

bench_rounds() {
  local rounds=$1 r v t0 t1
  shift
  for r in $(seq "$rounds"); do
    for v in "$@"; do
      t0=$(date +%s%N)
      "variant_$v" >/dev/null 2>&1 || true
      t1=$(date +%s%N)
      echo $(((t1 - t0) / 1000000)) >>"$work/times.$v"
    done
    printf '\rround %d/%d' "$r" "$rounds" >&2
  done
  echo >&2
}

bench_median() {
  sort -n "$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

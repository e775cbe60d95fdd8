# Sourced by the shell benches: builds eperm in release, and sets ROOT (the
# checkout), CARGO_TARGET_DIR, EPERM (the binary) and TMP (a scratch directory,
# which the bench removes when it exits).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
EPERM=$CARGO_TARGET_DIR/release/eperm
TMP=$(mktemp -d)

# The executable of bench target $1 (a `[[bench]]` of Cargo.toml), built in
# release. Picked by name: cargo also lists the eperm binary it builds.
bench_binary() {
    cargo bench --quiet --no-run --bench "$1" --manifest-path "$ROOT/Cargo.toml" \
        --message-format=json | grep -o "\"executable\":\"[^\"]*/$1-[^\"]*\"" |
        cut -d'"' -f4 | tail -1
}

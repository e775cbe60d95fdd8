# Sourced by the shell benches: builds eperm in release, and sets ROOT (the
# checkout), CARGO_TARGET_DIR, EPERM (the binary) and TMP (a scratch directory,
# which the bench removes when it exits).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml"
EPERM=$CARGO_TARGET_DIR/release/eperm
TMP=$(mktemp -d)

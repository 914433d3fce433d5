#!/usr/bin/env bash
# A short, bounded fuzz run of every target: `fuzz/run.sh [seconds per target]` (default 45).
# Uses cargo-fuzz (libFuzzer, coverage-guided) on the stable toolchain: no sanitizer (the project
# forbids unsafe code, so AddressSanitizer finds nothing the Rust checks don't), and RUSTC_BOOTSTRAP=1
# only because cargo-fuzz passes `-Z` flags that stable rustc refuses otherwise (the coverage
# instrumentation itself, `-C passes=sancov-module`, is stable). A crash, panic, stack overflow,
# 500, or an input that takes longer than the per-input timeout fails the run and leaves the input
# in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-45}"
CARGO_FUZZ_VERSION=0.13.1

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
bash seeds.sh
export RUSTC_BOOTSTRAP=1
# Its own target dir (instrumented builds share nothing with normal ones).
export CARGO_TARGET_DIR="$PWD/target"
FLAGS=(--dev --sanitizer none)
cargo fuzz build "${FLAGS[@]}"
for target in resource search scopes bundle; do
  echo "== fuzz $target (${SECONDS_PER_TARGET}s) =="
  mkdir -p "artifacts/$target"
  cargo fuzz run "${FLAGS[@]}" "$target" "corpus/$target" -- \
    -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/"
done
echo "fuzzing: no crash, panic, 500 or hang in any target"

#!/usr/bin/env bash
# Run every fuzz target for N seconds (default 30), starting from the seeds.
# Needs a nightly toolchain and cargo-fuzz; exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
for target in $(cargo +nightly fuzz list); do
  mkdir -p "fuzz/corpus/$target"
  echo "== fuzz $target for ${seconds}s"
  cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 2>&1 | tail -n 3
done

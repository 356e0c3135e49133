#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs each for
# FUZZ_SECONDS over its committed seed corpus (tests/fuzz/corpus/<name>/).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCHIME_FUZZ=ON \
  -DCHIME_SANITIZE=address,undefined >/dev/null
cmake --build "$build" -j "$(nproc)"
passed=0; failed=0
mkdir -p "$build/logs"
for bin in "$build"/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  seeds=tests/fuzz/corpus/$name
  work=$build/corpus/$name
  mkdir -p "$work"
  echo "fuzz: $name for ${seconds}s" >&2
  if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$build/" "$work" "$seeds" >"$build/logs/$name.log" 2>&1; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); tail -n 40 "$build/logs/$name.log" >&2
  fi
done
echo "fuzzers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

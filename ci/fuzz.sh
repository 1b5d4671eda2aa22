#!/usr/bin/env bash
# libFuzzer: builds the fuzz targets (QK_BUILD_FUZZ=ON: clang 14, libFuzzer + ASan + UBSan over
# the whole library) in build-fuzz, replays each committed corpus (fuzz/corpus/<target>/: seeds
# and regression inputs), then fuzzes each target for a fixed budget, one process per core:
#   fuzz_npy          the .npy reader of the CLI (tools/cli/npy.c)
#   fuzz_conv2d       descriptor -> create -> run: documented statuses, output range
#   fuzz_conv2d_isa   every ISA this CPU supports and thread pools against generic, byte for byte
#   fuzz_model        the model loader (runtime/): bytes -> load -> queries -> run
# A finding fails the script and leaves its input in BUILD_DIR/artifacts/<target>/ (reproduce
# with `BUILD_DIR/fuzz/<target> <file>`; QK_FUZZ_DESCRIBE=1 prints the decoded conv2d case).
# New corpus entries go to BUILD_DIR/corpus/<target>/, never into the committed corpus.
# Installs clang and libFuzzer (libclang-rt-14-dev) with apt-get (Debian 12) when missing.
# Usage: ci/fuzz.sh [SECONDS_PER_TARGET] [BUILD_DIR]   (default 60 s, build-fuzz;
#        QK_FUZZ_TARGETS="fuzz_npy" for a subset; docs/reliability.md for long runs)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/common.sh
seconds=${1:-60}
build=${2:-build-fuzz}
targets=${QK_FUZZ_TARGETS:-"fuzz_npy fuzz_conv2d fuzz_conv2d_isa fuzz_model"}
start=$(date +%s)
qk_ensure_packages "${QK_BUILD_PACKAGES[@]}" clang libclang-rt-14-dev
jobs=$(qk_jobs)

qk_log "fuzz build (clang, libFuzzer + ASan + UBSan) in $build"
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQK_BUILD_FUZZ=ON \
  -DQK_BUILD_TESTS=OFF -DQK_BUILD_BENCH=OFF -DQK_BUILD_CLI=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j"$jobs" --target $targets

export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
qk_log "replay of the committed corpora"
for t in $targets; do
  "$build/fuzz/$t" -runs=0 "fuzz/corpus/$t" >"$build/$t-replay.log" 2>&1 ||
    { tail -n 40 "$build/$t-replay.log" >&2; echo "fuzz: $t fails on its committed corpus" >&2; exit 1; }
  echo "  $t: $(ls "fuzz/corpus/$t" | wc -l) inputs pass"
done

# -max_len 4096: .npy headers of a few hundred bytes and the 40-byte conv2d encoding both fit
# (16384 for the model files);
# -rss_limit_mb 2048: a run that allocates more is a finding. Targets run $jobs at a time.
qk_log "fuzzing each target for $seconds s"
fuzz_one() {
  local t=$1 log="$build/$t.log"
  mkdir -p "$build/corpus/$t" "$build/artifacts/$t"
  local max_len=4096
  [ "$t" = fuzz_model ] && max_len=16384  # the seed models are about 10 KB
  "$build/fuzz/$t" -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=30 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t/" \
    "$build/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
}
pids=()
names=()
status=0
for t in $targets; do
  fuzz_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "$jobs" ]; then
    wait "${pids[0]}" || { status=1; echo "fuzz: ${names[0]} found something" >&2; }
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { status=1; echo "fuzz: ${names[$i]} found something" >&2; }
done
for t in $targets; do
  log="$build/$t.log"
  runs=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{print $2}' || true)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | awk '{print $2}' || true)
  printf '  %-16s %10s executions  cov %s  corpus %s\n' "$t" "${runs:-?}" "${cov:-?}" \
    "$(ls "$build/corpus/$t" | wc -l)"
  if grep -qE '==qk-fuzz== FINDING|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log"; then
    status=1
    grep -m1 -E '==qk-fuzz== FINDING|ERROR: |runtime error' "$log" >&2
    echo "  reproducer: $(ls "$build/artifacts/$t/"* 2>/dev/null | head -n 1) (log $log)" >&2
  fi
done
[ "$status" -eq 0 ] || { echo "fuzz: findings above" >&2; exit 1; }
qk_log "fuzzing passed in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# ThreadSanitizer: builds the library and the tests with -fsanitize=thread (QK_SANITIZE_THREAD=ON,
# clang 14) in build-tsan and runs what exercises threads and the global ISA selection:
#   concurrency_test   one operator from many threads, thread pools, qk_set_isa during creates
#   conv2d_test        only its threaded and concurrent-run tests (--gtest_filter)
#   api_test           (thread pool create/delete, ISA selection)
#   dispatch_*         the QK_ISA tests (detection behind pthread_once, atomic selection)
# TSAN_OPTIONS: halt_on_error=1 abort_on_error=1 (the first race fails the run), second_deadlock_stack=1;
# the ctest property of concurrency_test sets the same (test/CMakeLists.txt).
# Installs clang and its sanitizer runtimes with apt-get (Debian 12) when missing.
# Usage: ci/tsan.sh [BUILD_DIR]   (default build-tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/common.sh
build=${1:-build-tsan}
start=$(date +%s)
qk_ensure_packages "${QK_BUILD_PACKAGES[@]}" clang libclang-rt-14-dev
jobs=$(qk_jobs)

qk_log "ThreadSanitizer build (clang) in $build"
CC=clang CXX=clang++ cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DQK_SANITIZE_THREAD=ON -DQK_BUILD_BENCH=OFF -DQK_BUILD_CLI=OFF >/dev/null
cmake --build "$build" -j"$jobs" --target concurrency_test conv2d_test api_test dispatch_test

export TSAN_OPTIONS="halt_on_error=1:abort_on_error=1:second_deadlock_stack=1:report_signal_unsafe=1:allocator_may_return_null=1"
run() {  # name, command...
  local name=$1 log="$build/$1.log" t0=$SECONDS
  shift
  if ! "$@" >"$log" 2>&1; then
    grep -A40 -E 'WARNING: ThreadSanitizer|FAILED' "$log" | head -n 80 >&2 || tail -n 40 "$log" >&2
    echo "tsan: $name failed: full log in $log" >&2
    exit 1
  fi
  grep -q 'WARNING: ThreadSanitizer' "$log" && { echo "tsan: $name reported a race" >&2; exit 1; }
  echo "  $name: $(grep -E '\[  PASSED  \]' "$log" | head -n 1) ($((SECONDS - t0)) s)"
}
qk_log "tests under ThreadSanitizer"
run concurrency_test "$build/test/concurrency_test"
grep -E '^\[ concurrency \]' "$build/concurrency_test.log"
run conv2d_test_threads "$build/test/conv2d_test" \
  --gtest_filter='Conv2d.ThreadedRunsMatchTheReference:Conv2d.ConcurrentRunsOfOneOperator'
run api_test "$build/test/api_test"
run dispatch_default "$build/test/dispatch_test"
QK_ISA=generic QK_EXPECT_ISA=generic run dispatch_qk_isa_generic "$build/test/dispatch_test"
QK_ISA=avx9000 QK_EXPECT_ISA_ERROR="unknown ISA 'avx9000'" run dispatch_qk_isa_unknown \
  "$build/test/dispatch_test"
qk_log "ThreadSanitizer passed in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# Valgrind (memcheck) on a reduced suite of a Release build: api_test, dispatch_test, a filtered
# conv2d_test (small random shapes on every ISA, threaded runs) and `qk info`
# with QK_ISA=generic and with QK_ISA=avx2 (when this CPU has it). Every run uses
# --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect: an invalid read,
# a use of uninitialised memory or a definite leak fails it. (Valgrind 3.19 emulates AVX2 but not
# AVX-512: the avx512vnni / avxvnni kernels are not run here; the ASan build covers them.)
# ci/valgrind.supp suppresses open library defects only, each with its reason.
# Usage: ci/valgrind.sh BUILD_DIR   (a Release build with tests and CLI, e.g. build-ci)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/common.sh
build=${1:?usage: ci/valgrind.sh BUILD_DIR}
start=$(date +%s)
qk_ensure_packages valgrind
jobs=$(qk_jobs)
cmake --build "$build" -j"$jobs" --target api_test dispatch_test conv2d_test qk_cli >/dev/null
logs="$build/valgrind"
mkdir -p "$logs"
vg=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --track-origins=yes --quiet --suppressions=ci/valgrind.supp)
isas="generic"
"$build/qk" info | grep -q '^compiled isas:.*avx2' && grep -qw avx2 /proc/cpuinfo && isas+=" avx2"

run() {  # name, command... (env vars before the name are passed through by the caller)
  local name=$1 log="$logs/$1.log" t0=$SECONDS
  shift
  if ! "${vg[@]}" --log-file="$log.vg" "$@" >"$log" 2>&1; then
    cat "$log.vg" >&2
    tail -n 30 "$log" >&2
    echo "valgrind: $name failed (logs $log, $log.vg)" >&2
    exit 1
  fi
  echo "  $name: clean ($((SECONDS - t0)) s)"
}
qk_log "valgrind memcheck: reduced suite (ISAs: $isas)"
run api_test "$build/test/api_test" --gtest_filter='-Conv2dApi.CreateOutOfMemory'
run dispatch_test "$build/test/dispatch_test"
QK_ISA=generic QK_EXPECT_ISA=generic run dispatch_test_generic "$build/test/dispatch_test"
# SmallShapes draws 150 random convolutions per ISA; the filter keeps valgrind to a few minutes.
run conv2d_test "$build/test/conv2d_test" \
  --gtest_filter='*SmallShapes*:Conv2d.ThreadedRunsMatchTheReference:Conv2d.ConcurrentRunsOfOneOperator'
for isa in $isas; do
  QK_ISA=$isa run "qk_info_$isa" "$build/qk" info
  grep -q "selected isa: $isa" "$logs/qk_info_$isa.log" ||
    { echo "valgrind: qk info under QK_ISA=$isa did not select $isa" >&2; exit 1; }
done
qk_log "valgrind passed in $(( $(date +%s) - start )) s"

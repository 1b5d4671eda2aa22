#!/usr/bin/env bash
# arm64: cross-builds qk (library, tests, qk CLI, qk-bench) with aarch64-linux-gnu-gcc and runs the
# whole test suite under qemu-user once per CPU model (ci/aarch64-linux-gnu.cmake,
# test/arm64.cmake):
#   cortex-a53   ARMv8.0 NEON, no dotprod   default ISA neon      ISAs tested: generic neon
#   neoverse-n1  + dotprod, no i8mm         default ISA neondot   ISAs tested: generic neon neondot
#   max          + dotprod + i8mm           default ISA i8mm      ISAs tested: all four
# A run passes when every test passes, none is skipped, the model's default ISA is the expected
# one, and the tests of each ISA the model supports really ran (their "[ ukernel ]", "[ requant ]",
# "[ conv2d ]" and "[ golden ]" lines) while those of the others did not. It also checks that
# dotprod / i8mm instructions occur only in their own kernels of libqk.so, runs the microkernel
# testers under ASan + UBSan, and checks that qk-bench starts.
# Installs what it needs with apt-get (Debian 12) on first use.
# Usage: ci/test-arm64.sh [BUILD_DIR]   (default build-arm64; QK_ARM64_MODELS="max" for one model)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/common.sh
build=${1:-build-arm64}
start=$(date +%s)
jobs=$(qk_jobs)
ulimit -c 0  # a SIGILL under qemu would otherwise leave a 150 MB core per process
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

# ---- packages: the cross toolchain, qemu, and the arm64 multiarch libraries -------------------
# Headers come from the amd64 -dev packages (QK_BUILD_PACKAGES): libcpuinfo-dev:arm64 cannot be
# co-installed with them, so only the arm64 runtime library libcpuinfo0:arm64. (No pthreadpool:
# libpthreadpool0 is not Multi-Arch, so its arm64 package would REMOVE the amd64 one together with
# python3-torch and libxnnpack-dev; qk does not use it.)
qk_ensure_packages "${QK_BUILD_PACKAGES[@]}" gcc-aarch64-linux-gnu g++-aarch64-linux-gnu \
  binutils-aarch64-linux-gnu qemu-user
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  qk_log "dpkg --add-architecture arm64"
  $sudo dpkg --add-architecture arm64
fi
arm64_packages=(libgtest-dev:arm64 libgmock-dev:arm64 libbenchmark-dev:arm64 libcpuinfo0:arm64
                libcjson1:arm64)
# A foreign-architecture package that is not Multi-Arch: same silently replaces the native one (and
# everything depending on it) under apt-get -y: dry-run first and refuse any removal.
if ! dpkg-query -W -f='${Status}\n' "${arm64_packages[@]}" 2>/dev/null |
     grep -c 'install ok installed' | grep -qx "${#arm64_packages[@]}"; then
  $sudo apt-get update -qq
  removals=$(apt-get -s install --no-install-recommends "${arm64_packages[@]}" | grep '^Remv' || true)
  if [ -n "$removals" ]; then
    echo "installing the arm64 packages would remove:"$'\n'"$removals" >&2
    exit 1
  fi
fi
qk_ensure_packages "${arm64_packages[@]}"

# ---- build ------------------------------------------------------------------------------------
qk_log "arm64 cross build (Release, -Werror) in $build"
cmake -S . -B "$build" --no-warn-unused-cli -DCMAKE_TOOLCHAIN_FILE=ci/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DQK_WERROR=ON >/dev/null
cmake --build "$build" -j"$jobs"
for f in libqk.so qk test/ukernel_test bench/qk-bench; do
  readelf -h "$build/$f" | grep -q 'Machine: *AArch64' ||
    { echo "$build/$f is not an arm64 binary" >&2; exit 1; }
done

qk_log "extension instructions only in their kernels (aarch64-linux-gnu-objdump)"
found=$(aarch64-linux-gnu-objdump -d --no-show-raw-insn "$build/libqk.so" | awk '
  /^[0-9a-f]+ <[^>]+>:$/ { fn = $2; gsub(/[<>:]/, "", fn) }
  $2 ~ /^(sdot|udot|usdot|sudot|smmla|ummla|usmmla|bfdot|bfmmla)$/ { print fn, $2 }' | sort -u)
echo "$found"
expected=$'qk_gemm_u8s8_4x16c4__neondot sdot\nqk_gemm_u8s8_4x16c8__i8mm usmmla'
if [ "$found" != "$expected" ]; then
  echo "expected exactly:"$'\n'"$expected" >&2
  exit 1
fi

# ---- the suite under each CPU model -----------------------------------------------------------
all_isas="generic neon neondot i8mm"
emulator_only_skips="CliLarge\.PeakMemoryIsAboutInputPlusOutput"
count() { grep -cE "$1" "$2" || true; }  # grep -c exits 1 on zero matches
check_model() {  # model, expected default ISA, ISAs whose tests must run
  local model=$1 want=$2 run_isas=$3 log="$build/ctest-$1.log" t0=$SECONDS
  qk_log "test suite under qemu-aarch64 -cpu $model (expect $want; ISAs: $run_isas)"
  if ! QEMU_CPU=$model ctest --test-dir "$build" -j"$jobs" --timeout 900 -V -E '^arm_' \
       >"$log" 2>&1; then
    grep -E '^[0-9]+: .*(Failure|FAILED|Expected|Which is|error)' "$log" | head -n 60 >&2 || true
    grep -E 'tests passed|\*\*\*' "$log" >&2 || true
    echo "test suite failed under $model: full log in $log" >&2
    return 1
  fi
  grep -E '% tests passed' "$log"
  # One test cannot mean anything under an emulator (the peak RSS it measures is qemu's): it skips
  # itself there, and is reported here as not run. Any other skip fails the job.
  local skipped
  skipped=$(grep -E '\[  SKIPPED \]|Not Run|\*\*\*Skipped|Disabled' "$log" |
    grep -vE "$emulator_only_skips|\[  SKIPPED \] [0-9]+ tests?, listed below" || true)
  if [ -n "$skipped" ]; then
    echo "$skipped" >&2
    echo "$model: some tests were skipped" >&2
    return 1
  fi
  if grep -qE "\[  SKIPPED \] ($emulator_only_skips)" "$log"; then
    echo "  not run under qemu: ${emulator_only_skips//\\/} (it measures the process's peak RSS: qemu's here)"
  fi
  grep -q "\[ dispatch \] QK_ISA=(unset) -> $want (best ISA this CPU supports)" "$log" ||
    { echo "$model: the default ISA is not $want" >&2; grep '\[ dispatch \]' "$log" >&2; return 1; }
  local golden_files
  golden_files=$(count '\[ golden   \] .* on generic:' "$log")
  for isa in $all_isas; do
    local gemm requant promises dw edge conv golden
    gemm=$(count "\[ ukernel  \] qk_gemm_u8s8_[0-9a-z]+__$isa: [0-9]+ tail shapes bit-exact" "$log")
    requant=$(count "\[ requant  \] $isa random: [0-9]+ outputs" "$log")
    promises=$(count "\[ requant  \] $isa promises: " "$log")
    dw=$(count "\[ ukernel  \] qk_dwconv_[0-9a-z_]+ \(for $isa\): [0-9]+ shapes bit-exact" "$log")
    edge=$(count "\[ requant  \] $isa: [0-9]+ edge-case outputs" "$log")
    # generic is the specification: no comparison of it with itself, only its hand-worked promises
    if [ "$isa" = generic ] && [ "$promises" -ge 1 ]; then requant=1 edge=1; fi
    conv=$(count "\[ conv2d   \] .* on $isa: [0-9]+ random convolutions match" "$log")
    golden=$(count "\[ golden   \] .* on $isa: [0-9]+ cases bit-exact.* 0 bad cases" "$log")
    printf '  %-8s gemm %d  requant %d  dwconv %d  requant-edge %d  conv2d %d  golden %d/%d\n' \
      "$isa" "$gemm" "$requant" "$dw" "$edge" "$conv" "$golden" "$golden_files"
    if [[ " $run_isas " == *" $isa "* ]]; then
      if [ "$gemm" -lt 1 ] || [ "$requant" -lt 1 ] || [ "$dw" -lt 1 ] || [ "$edge" -lt 1 ] ||
         [ "$promises" -lt 1 ] ||
         [ "$conv" -lt 10 ] || [ "$golden_files" -lt 1 ] || [ "$golden" -ne "$golden_files" ]; then
        echo "$model: the $isa tests did not all run" >&2
        return 1
      fi
    elif [ $((gemm + requant + dw + edge + conv + golden)) -ne 0 ]; then
      echo "$model: $isa tests ran on a CPU model without $isa" >&2
      return 1
    fi
  done
  echo "  $model: $((SECONDS - t0)) s"
}

models=${QK_ARM64_MODELS:-"cortex-a53 neoverse-n1 max"}
for model in $models; do
  case $model in
    cortex-a53|cortex-a57|cortex-a72) check_model "$model" neon "generic neon" ;;
    cortex-a76|neoverse-n1) check_model "$model" neondot "generic neon neondot" ;;
    max) check_model "$model" i8mm "$all_isas" ;;
    *) echo "ci/test-arm64.sh: no expectations for CPU model $model" >&2; exit 2 ;;
  esac
done

qk_log "dispatch per model, QK_ISA forcing and refusals, qk info (test/arm64.cmake)"
if ! ctest --test-dir "$build" -j"$jobs" --timeout 300 --output-on-failure -R '^arm_' \
     >"$build/ctest-arm.log" 2>&1; then
  cat "$build/ctest-arm.log" >&2
  exit 1
fi
grep -E '% tests passed' "$build/ctest-arm.log"

# The x86 sanitizer build never compiles the ARM kernels: their tails (no byte read or written past
# a buffer; the testers allocate to the exact byte) and UB in NEON intrinsics that GCC implements
# as C vector arithmetic are checked here, on every ISA at once under "max".
qk_log "ASan + UBSan: microkernel testers under qemu-aarch64 -cpu max"
asan="$build-asan"
cmake -S . -B "$asan" --no-warn-unused-cli -DCMAKE_TOOLCHAIN_FILE=ci/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQK_SANITIZE=ON -DQK_BUILD_BENCH=OFF -DQK_BUILD_CLI=OFF \
  >/dev/null
cmake --build "$asan" -j"$jobs" --target ukernel_test requant_test
# The arm64 sanitizer runtimes live in the cross toolchain's directory; expose only them (the whole
# directory would pair its libc with the multiarch ld.so, see ci/aarch64-linux-gnu.cmake).
# LeakSanitizer cannot stop the world under qemu-user; leaks are the native ASan build's job.
libs="$(cd "$asan" && pwd)/sanitizer-libs"
mkdir -p "$libs"
ln -sf /usr/aarch64-linux-gnu/lib/libasan.so.* /usr/aarch64-linux-gnu/lib/libubsan.so.* "$libs/"
for t in ukernel_test requant_test; do
  ASAN_OPTIONS=detect_leaks=0 QEMU_CPU=max qemu-aarch64 -L / -E LD_LIBRARY_PATH="$libs" \
    "$asan/test/$t" >"$asan/$t.log" 2>&1 || { tail -n 40 "$asan/$t.log" >&2; exit 1; }
  echo "  $t: $(grep -E '\[  PASSED  \]' "$asan/$t.log")"
done

qk_log "qk-bench starts and registers every ARM ISA (no timing under emulation)"
listed=$(QEMU_CPU=max qemu-aarch64 -L / "$build/bench/qk-bench" --benchmark_list_tests 2>&1)
for isa in neon neondot i8mm; do
  echo "$listed" | grep -q "^conv/.*/$isa" || { echo "qk-bench lists no conv/*/$isa" >&2; exit 1; }
done
echo "  qk-bench lists $(echo "$listed" | grep -c '^conv/') conv benchmarks"

qk_log "arm64 passed in $(( $(date +%s) - start )) s"

#!/usr/bin/env bash
# x86-64: proves from a verbose ctest log (ctest -V) that the kernel tests of every ISA this CPU
# supports really ran natively, and that nothing was skipped unexpectedly, as ci/test-arm64.sh does
# per qemu CPU model. The ISAs expected come from /proc/cpuinfo, independently of qk's detection:
#   avx2 + fma                                 -> avx2
#   avx_vnni + avx2                            -> avxvnni
#   avx512f + avx512bw + avx512vl + avx512_vnni -> avx512vnni
# (restricted to the ISAs compiled in, `qk info`). For each expected ISA the native ukernel, requant,
# conv2d and golden tests must print their "... on <isa>" lines; for the others, none may appear in
# the native tests (qemu tests, label x86_qemu, are excluded: they emulate other CPUs). The default
# ISA of `qk info` must be the best expected one. The only skip allowed is avxvnni_evex_test on a
# CPU without AVX512-VNNI.
# Usage: ci/check-x86-isas.sh BUILD_DIR CTEST_VERBOSE_LOG
set -euo pipefail
build=${1:?usage: ci/check-x86-isas.sh BUILD_DIR LOG}
log=${2:?usage: ci/check-x86-isas.sh BUILD_DIR LOG}
fail() { echo "x86 ISA check: $*" >&2; exit 1; }

flags=$(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
compiled=$("$build/qk" info | sed -n 's/^compiled isas: //p')
expected="generic"
has avx2 fma && expected+=" avx2"
has avx_vnni avx2 && expected+=" avxvnni"
has avx512f avx512bw avx512vl avx512_vnni && expected+=" avx512vnni"
want=""
for isa in $expected; do [[ " $compiled " == *" $isa "* ]] && want+=" $isa"; done
want=${want# }
best=${want##* }
selected=$(env -u QK_ISA "$build/qk" info | sed -n 's/^selected isa: //p')
echo "  /proc/cpuinfo: ISAs expected to run: $want (compiled: $compiled); qk selects $selected"
[ "$selected" = "$best" ] || fail "qk info selects '$selected', /proc/cpuinfo says the best is '$best'"

# Numbers of the native (non-qemu) tests in the verbose log: "  Start  7: conv2d_test".
native=$(grep -oE 'Start +[0-9]+: [A-Za-z0-9_]+' "$log" | awk '$3 !~ /^x86_qemu_/ {sub(":", "", $2); print $2}' |
         sort -u | tr '\n' ' ')
[ -n "$native" ] || fail "no test starts in $log (not a ctest -V log?)"
native_lines() {  # the output lines of the native tests, without their "N: " prefix
  awk -v ids=" $native " 'match($0, /^[0-9]+: /) { id = substr($0, 1, RLENGTH - 2);
    if (index(ids, " " id " ")) print substr($0, RLENGTH + 1) }' "$log"
}
lines=$(native_lines)
count() { grep -cE "$1" <<<"$lines" || true; }
golden_files=$(count '^\[ golden   \] .* on generic:')
for isa in generic avx2 avxvnni avx512vnni; do
  gemm=$(count "^\[ ukernel  \] qk_gemm_u8s8_[0-9a-z_]+__$isa: [0-9]+ tail shapes bit-exact")
  requant=$(count "^\[ requant  \] $isa random: [0-9]+ outputs")
  # generic is the specification: not compared with itself, its hand-worked promises ran instead
  [ "$isa" = generic ] && requant=$(count "^\[ requant  \] generic promises: ")
  conv=$(count "^\[ conv2d   \] .* on $isa: [0-9]+ random convolutions match")
  golden=$(count "^\[ golden   \] .* on $isa: [0-9]+ cases bit-exact.* 0 bad cases")
  printf '  %-10s gemm %d  requant %d  conv2d %d  golden %d/%d\n' "$isa" "$gemm" "$requant" \
    "$conv" "$golden" "$golden_files"
  if [[ " $want " == *" $isa "* ]]; then
    if [ "$gemm" -lt 1 ] || [ "$requant" -lt 1 ] || [ "$conv" -lt 10 ] || [ "$golden_files" -lt 1 ] ||
       [ "$golden" -ne "$golden_files" ]; then
      fail "this CPU supports $isa but its tests did not all run"
    fi
  elif [ $((gemm + requant + conv + golden)) -ne 0 ]; then
    fail "$isa tests ran natively on a CPU whose /proc/cpuinfo lacks $isa"
  fi
done
skipped=$(grep -E '\[  SKIPPED \] [A-Za-z]' "$log" | grep -vE '^[0-9]+: \[  SKIPPED \] [0-9]+ test' |
          sed 's/^[0-9]*: \[  SKIPPED \] //; s/ (.*//' | sort -u || true)
allowed='^AvxvnniEvexTwin\.'
if [[ " $want " == *" avx512vnni "* ]]; then allowed='^$'; fi
unexpected=$(grep -vE "$allowed" <<<"$skipped" | grep . || true)
[ -z "$unexpected" ] || fail "unexpected skips:"$'\n'"$unexpected"
grep -qE 'Not Run|\*\*\*Skipped|Disabled' "$log" && fail "ctest reports tests not run"
echo "  x86: the tests of $want ran natively, no unexpected skip"

# x86 CPUs this machine is not, emulated with qemu-user (qemu-x86_64 -cpu <model>): the ISA each
# model selects, QK_ISA refusals, and the full kernel suites on an AVX2-only CPU so the avx2 kernels
# really run (and on a pre-AVX2 CPU, so no AVX instruction leaks out of the ISA folders).
# Included from test/CMakeLists.txt on x86-64 builds; every test has the label x86_qemu
# (ctest -L x86_qemu; ci/test.sh fails if none is registered).
#   qemu model       what it is                      qk default ISA
#   Nehalem          SSE4.2, no AVX                  generic
#   SandyBridge      AVX, no AVX2                    generic
#   Haswell          AVX2 + FMA (first AVX2 CPU)     avx2
#   Skylake-Client   AVX2                            avx2
#   EPYC-Rome        Zen 2, AVX2                     avx2
# qemu-user cannot emulate AVX-512 (and has no AVX-VNNI), so avxvnni / avx512vnni are only checked
# as refusals here; AVX2 emulation needs qemu >= 7.2 (older versions drop AVX from every model).
if(NOT QK_ARCH STREQUAL "x86_64" OR CMAKE_CROSSCOMPILING)
  return()
endif()
if(QK_SANITIZE) # ASan's multi-terabyte shadow mapping does not survive qemu-user (the run is killed)
  message(STATUS "qk: x86 CPU-model tests skipped in the sanitizer build")
  return()
endif()
find_program(QK_QEMU_X86_64 qemu-x86_64)
if(NOT QK_QEMU_X86_64)
  message(STATUS "qk: qemu-x86_64 not found; x86 CPU-model tests skipped "
                 "(apt-get install qemu-user)")
  return()
endif()
execute_process(COMMAND ${QK_QEMU_X86_64} --version OUTPUT_VARIABLE _qemu_version_text)
string(REGEX MATCH "version ([0-9]+\\.[0-9]+)" _qemu_version "${_qemu_version_text}")
if(CMAKE_MATCH_1 VERSION_LESS 7.2)
  message(STATUS "qk: ${QK_QEMU_X86_64} is '${CMAKE_MATCH_1}', AVX2 emulation needs >= 7.2; "
                 "x86 CPU-model tests skipped")
  return()
endif()

set(QK_QEMU_TIMEOUT 300)
# qk_x86_qemu_test(<name> <model> <test target> [ENV var=value...] [PASS regex])
function(qk_x86_qemu_test name model target)
  cmake_parse_arguments(arg "" "PASS" "ENV" ${ARGN})
  add_test(NAME x86_qemu_${name} COMMAND ${QK_QEMU_X86_64} -cpu ${model} $<TARGET_FILE:${target}>)
  set_tests_properties(x86_qemu_${name} PROPERTIES LABELS x86_qemu TIMEOUT ${QK_QEMU_TIMEOUT})
  if(arg_ENV)
    set_tests_properties(x86_qemu_${name} PROPERTIES ENVIRONMENT "${arg_ENV}")
  endif()
  if(arg_PASS) # the output must show what ran; the exit code alone would pass an empty run
    set_tests_properties(x86_qemu_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${arg_PASS}"
                         FAIL_REGULAR_EXPRESSION "\\[  FAILED  \\]")
  endif()
endfunction()

# Default choice per model, and QK_ISA forcing.
foreach(pair Nehalem:generic SandyBridge:generic Haswell:avx2 Skylake-Client:avx2 EPYC-Rome:avx2)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 model)
  list(GET pair 1 isa)
  qk_x86_qemu_test(dispatch_${model} ${model} dispatch_test ENV "QK_EXPECT_ISA=${isa}")
endforeach()
qk_x86_qemu_test(dispatch_Haswell_force_generic Haswell dispatch_test
                 ENV "QK_ISA=generic;QK_EXPECT_ISA=generic")

# An ISA the CPU cannot run is an error naming the CPU's features, never a silent fallback.
set(_refusals)
foreach(isa avx2 avxvnni avx512vnni)
  string(TOUPPER ${isa} ISA)
  if(";${QK_ISA_DEFINITIONS};" MATCHES ";QK_HAVE_${ISA};")
    if(isa STREQUAL "avx2")
      list(APPEND _refusals "Nehalem:avx2:none" "SandyBridge:avx2:none")
    else()
      list(APPEND _refusals "Haswell:${isa}:avx2")
    endif()
  endif()
endforeach()
foreach(refusal ${_refusals})
  string(REPLACE ":" ";" refusal "${refusal}")
  list(GET refusal 0 model)
  list(GET refusal 1 isa)
  list(GET refusal 2 features)
  qk_x86_qemu_test(dispatch_${model}_refuses_${isa} ${model} dispatch_test
    ENV "QK_ISA=${isa};QK_EXPECT_ISA_ERROR=ISA '${isa}' is compiled in but this CPU"
    PASS "features: ${features}\\) cannot run it.*\\[  PASSED  \\]")
endforeach()

# The kernel suites. On Haswell they run generic and avx2 (the printed lines prove avx2 ran); on
# Nehalem only generic, from a library whose baseline code must not contain any AVX instruction.
if(";${QK_ISA_DEFINITIONS};" MATCHES ";QK_HAVE_AVX2;")
  qk_x86_qemu_test(ukernel_Haswell Haswell ukernel_test
    PASS "qk_gemm_u8s8_[0-9a-z]+__avx2: [0-9]+ tail shapes bit-exact.*\\[  PASSED  \\]")
  qk_x86_qemu_test(requant_Haswell Haswell requant_test
    PASS "avx2 random: [0-9]+ outputs.*\\[  PASSED  \\]")
  qk_x86_qemu_test(conv2d_Haswell Haswell conv2d_test
    PASS "on avx2: [0-9]+ random convolutions match.*\\[  PASSED  \\]")
  qk_x86_qemu_test(golden_Haswell Haswell golden_test
    PASS "on avx2: [0-9]+ cases bit-exact.*\\[  PASSED  \\]")
  qk_x86_qemu_test(numerics_Haswell Haswell numerics_test PASS "\\[  PASSED  \\]")
endif()
qk_x86_qemu_test(ukernel_Nehalem Nehalem ukernel_test
  PASS "qk_gemm_u8s8_4x8c4__generic: [0-9]+ tail shapes bit-exact.*\\[  PASSED  \\]")
qk_x86_qemu_test(requant_Nehalem Nehalem requant_test
  PASS "generic promises: .*\\[  PASSED  \\]")
qk_x86_qemu_test(conv2d_Nehalem Nehalem conv2d_test PASS "\\[  PASSED  \\]")

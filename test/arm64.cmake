# ARM-only test registrations, included from test/CMakeLists.txt. Under qemu-user (the cross build
# of ci/aarch64-linux-gnu.cmake) each test below pins its own CPU model with QEMU_CPU, so a single
# ctest run checks dispatch on every model, whatever QEMU_CPU the rest of the suite runs under:
#   qemu model           features the guest sees      default ISA
#   cortex-a53           neon                         neon
#   cortex-a76           neon dotprod                 neondot
#   neoverse-n1          neon dotprod                 neondot
#   max                  neon dotprod i8mm (+SVE2)    i8mm
# On real ARM hardware (no emulator) the model cannot be chosen: only the generic checks in
# test/CMakeLists.txt apply there. ci/test-arm64.sh runs the whole suite under three models and
# checks which ISAs' tests ran.
if(NOT QK_ARCH STREQUAL "aarch64" OR NOT CMAKE_CROSSCOMPILING_EMULATOR MATCHES "qemu-aarch64")
  return()
endif()

# dispatch_test: the default choice per model, QK_ISA forcing each ISA, and refusals.
function(qk_arm_dispatch_test name model)
  add_test(NAME arm_dispatch_${name} COMMAND dispatch_test)
  set_tests_properties(arm_dispatch_${name} PROPERTIES ENVIRONMENT "QEMU_CPU=${model};${ARGN}"
    TIMEOUT 120)
endfunction()
qk_arm_dispatch_test(cortex-a53 cortex-a53 "QK_EXPECT_ISA=neon")
qk_arm_dispatch_test(cortex-a76 cortex-a76 "QK_EXPECT_ISA=neondot")
qk_arm_dispatch_test(neoverse-n1 neoverse-n1 "QK_EXPECT_ISA=neondot")
qk_arm_dispatch_test(max max "QK_EXPECT_ISA=i8mm")
foreach(isa generic neon neondot i8mm)
  qk_arm_dispatch_test(max_force_${isa} max "QK_ISA=${isa};QK_EXPECT_ISA=${isa}")
endforeach()
qk_arm_dispatch_test(cortex-a53_force_generic cortex-a53 "QK_ISA=generic;QK_EXPECT_ISA=generic")
qk_arm_dispatch_test(neoverse-n1_force_neon neoverse-n1 "QK_ISA=neon;QK_EXPECT_ISA=neon")
# An ISA the CPU lacks is an error naming the CPU's features, never a silent fallback.
qk_arm_dispatch_test(cortex-a53_refuses_neondot cortex-a53
  "QK_ISA=neondot;QK_EXPECT_ISA_ERROR=ISA 'neondot' is compiled in but this CPU (unknown; features: neon)")
qk_arm_dispatch_test(cortex-a53_refuses_i8mm cortex-a53
  "QK_ISA=i8mm;QK_EXPECT_ISA_ERROR=ISA 'i8mm' is compiled in but this CPU (unknown; features: neon)")
qk_arm_dispatch_test(neoverse-n1_refuses_i8mm neoverse-n1
  "QK_ISA=i8mm;QK_EXPECT_ISA_ERROR=ISA 'i8mm' is compiled in but this CPU (unknown; features: neon dotprod)")

# `qk info` shows the ARM features and the choice (the CLI under the emulator).
if(TARGET qk_cli)
  function(qk_arm_info_test model features isa)
    add_test(NAME arm_info_${model} COMMAND qk_cli info)
    set_tests_properties(arm_info_${model} PROPERTIES ENVIRONMENT "QEMU_CPU=${model}" TIMEOUT 120
      PASS_REGULAR_EXPRESSION "cpu features: ${features}\n.*selected isa: ${isa}\n")
  endfunction()
  qk_arm_info_test(cortex-a53 "neon" neon)
  qk_arm_info_test(neoverse-n1 "neon dotprod" neondot)
  qk_arm_info_test(max "neon dotprod i8mm" i8mm)
  add_test(NAME arm_info_cortex-a76_qk_isa_i8mm COMMAND qk_cli info)
  set_tests_properties(arm_info_cortex-a76_qk_isa_i8mm PROPERTIES TIMEOUT 120
    ENVIRONMENT "QEMU_CPU=cortex-a76;QK_ISA=i8mm" WILL_FAIL TRUE)
endif()


# ARMv8.6 int8 matrix-multiply kernels (docs/adding-an-isa.md). Only the microkernel gets
# -march=armv8.6-a+i8mm; config.c stays at the armv8-a baseline like the rest of libqk.
if(NOT QK_ENABLE_NEON)
  message(FATAL_ERROR "QK_ENABLE_I8MM needs QK_ENABLE_NEON: i8mm uses the NEON epilogues")
endif()
set(_dir ${CMAKE_CURRENT_LIST_DIR})
# GCC's pre-register-allocation scheduler hoists the weight loads of a whole unrolled k step and
# then spills accumulators or copies them (measured on gcc 12: neondot 4 spilled accumulators,
# i8mm 8 vector movs per 32 usmmla). The GEMM microkernels are ordered by hand in the source, so
# that pass is turned off for them (docs/performance-arm.md). GCC only: clang 14 warns about the
# flag, and its neondot / i8mm loops come out without spills or copies anyway.
set(_flags -march=armv8.6-a+i8mm)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND _flags -fno-schedule-insns)
endif()
set_source_files_properties(${_dir}/qk_gemm_u8s8_4x16c8__i8mm.c
  PROPERTIES COMPILE_OPTIONS "${_flags}")
list(APPEND QK_ISA_SOURCES
  ${_dir}/config.c
  ${_dir}/qk_gemm_u8s8_4x16c8__i8mm.c
)
list(APPEND QK_ISA_DEFINITIONS QK_HAVE_I8MM)

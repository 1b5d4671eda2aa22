# ARMv8.0 NEON kernels (docs/adding-an-isa.md). The baseline of AArch64: no extra -march flag, so
# these files build like the rest of the library (armv8-a). The epilogues, depthwise kernel and
# im2col here also serve neondot and i8mm.
set(_dir ${CMAKE_CURRENT_LIST_DIR})
# GCC's pre-register-allocation scheduler hoists the weight loads of a whole unrolled k step and
# then spills accumulators or copies them (measured on gcc 12: neondot 4 spilled accumulators,
# i8mm 8 vector movs per 32 usmmla). The GEMM microkernels are ordered by hand in the source, so
# that pass is turned off for them (docs/performance-arm.md). GCC only: clang 14 warns about the
# flag, and its neondot / i8mm loops come out without spills or copies anyway.
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  set_source_files_properties(${_dir}/qk_gemm_u8s8_4x16c1__neon.c
    PROPERTIES COMPILE_OPTIONS "-fno-schedule-insns")
endif()
list(APPEND QK_ISA_SOURCES
  ${_dir}/config.c
  ${_dir}/qk_gemm_u8s8_4x16c1__neon.c
  ${_dir}/qk_requant_fp32_cvt__neon.c
  ${_dir}/qk_requant_fp32_sat__neon.c
  ${_dir}/qk_requant_fp32_fzp__neon.c
  ${_dir}/qk_requant_gemmlowp__neon.c
  ${_dir}/qk_requant_fp32_cvt_fma__neon.c
  ${_dir}/qk_requant_fp32_sbfzp__neon.c
  ${_dir}/qk_dwconv_u8s8_c16__neon.c
  ${_dir}/qk_im2col_u8__neon.c

  # ---- linear ----

  # ---- eltwise ----
  ${_dir}/qk_vadd_fp32_fma_x8__neon.c
  ${_dir}/qk_vadd_fp32_x8__neon.c
  ${_dir}/qk_vadd_qnnpack_u8__neon.c
  ${_dir}/qk_vadd_xnnpack_s8__neon.c
  ${_dir}/qk_vmul_fp32_x8__neon.c

  # ---- pool ----
  ${_dir}/qk_maxpool_x8_c16__neon.c
  ${_dir}/qk_avgpool_x8_c16__neon.c

  # ---- act ----
  ${_dir}/qk_lut_u8__neon.c

)
list(APPEND QK_ISA_DEFINITIONS QK_HAVE_NEON)

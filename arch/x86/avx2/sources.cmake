# avx2: exact u8 x s8 GEMM with int16 vpmaddwd, AVX2 epilogues. Included by the top-level
# CMakeLists.txt when QK_ENABLE_AVX2 is ON (docs/adding-an-isa.md). The packing function is plain C
# but is only reached through this table, so it shares the flags.
set(_dir ${CMAKE_CURRENT_LIST_DIR})
set(_srcs
  ${_dir}/config.c
  ${_dir}/qk_gemm_u8s8_5x16c2__avx2.c
  ${_dir}/qk_pack_gemm_c2_i16__avx2.c
  ${_dir}/qk_requant_fp32_cvt__avx2.c
  ${_dir}/qk_requant_fp32_sat__avx2.c
  ${_dir}/qk_requant_fp32_fzp__avx2.c
  ${_dir}/qk_requant_gemmlowp__avx2.c
  ${_dir}/qk_im2col_u8__avx2.c
  ${_dir}/qk_dwconv_u8s8_c16__avx2.c
  ${_dir}/qk_requant_fp32_sbfzp__avx2.c
  ${_dir}/qk_gemm_u8s8_sat16_4x16c4__avx2.c

  # ---- linear ----

  # ---- eltwise ----
  ${_dir}/qk_vadd_fp32_fma_x8__avx2.c
  ${_dir}/qk_vadd_fp32_x8__avx2.c
  ${_dir}/qk_vadd_qnnpack_u8__avx2.c
  ${_dir}/qk_vadd_xnnpack_s8__avx2.c
  ${_dir}/qk_vmul_fp32_x8__avx2.c

  # ---- pool ----
  ${_dir}/qk_maxpool_x8_c32__avx2.c
  ${_dir}/qk_avgpool_x8_c32__avx2.c

  # ---- act ----
  ${_dir}/qk_lut_u8__avx2.c

)
set_source_files_properties(${_srcs} PROPERTIES COMPILE_OPTIONS "-mavx2")
# The fused epilogue is the one kernel that needs FMA: it reproduces an FMA (vfmadd231ps).
set(_fma_srcs ${_dir}/qk_requant_fp32_cvt_fma__avx2.c)
set_source_files_properties(${_fma_srcs} PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma")
list(APPEND _srcs ${_fma_srcs})
list(APPEND QK_ISA_SOURCES ${_srcs})
list(APPEND QK_ISA_DEFINITIONS QK_HAVE_AVX2)

# avx512vnni: EVEX vpdpbusd on zmm (AVX512 F + BW + VL + VNNI). Included by the top-level
# CMakeLists.txt when QK_ENABLE_AVX512VNNI is ON (docs/adding-an-isa.md).
set(_dir ${CMAKE_CURRENT_LIST_DIR})
set(_srcs
  ${_dir}/config.c
  ${_dir}/qk_gemm_u8s8_10x32c4__avx512vnni.c
  ${_dir}/qk_requant_fp32_cvt__avx512vnni.c
  ${_dir}/qk_requant_fp32_sat__avx512vnni.c
  ${_dir}/qk_requant_fp32_fzp__avx512vnni.c
  ${_dir}/qk_requant_gemmlowp__avx512vnni.c
  ${_dir}/qk_im2col_u8__avx512vnni.c
  ${_dir}/qk_dwconv_u8s8_c64__avx512vnni.c
  ${_dir}/qk_pack_dwconv_c64q4__avx512vnni.c

  # ---- linear ----

  # ---- eltwise ----
  ${_dir}/qk_vadd_fp32_fma_x16__avx512vnni.c
  ${_dir}/qk_vadd_fp32_x16__avx512vnni.c
  ${_dir}/qk_vadd_qnnpack_u8_x16__avx512vnni.c
  ${_dir}/qk_vadd_xnnpack_s8_x16__avx512vnni.c
  ${_dir}/qk_vmul_fp32_x16__avx512vnni.c

  # ---- pool ----
  ${_dir}/qk_maxpool_x8_c64__avx512vnni.c
  ${_dir}/qk_avgpool_x8_c64__avx512vnni.c

  # ---- act ----

)
set_source_files_properties(${_srcs} PROPERTIES
  COMPILE_OPTIONS "-mavx512f;-mavx512bw;-mavx512vl;-mavx512vnni")
list(APPEND QK_ISA_SOURCES ${_srcs})
list(APPEND QK_ISA_DEFINITIONS QK_HAVE_AVX512VNNI)

# avxvnni: VEX vpdpbusd on ymm (AVX2 + AVX-VNNI). Included by the top-level CMakeLists.txt when
# QK_ENABLE_AVXVNNI is ON (docs/adding-an-isa.md). Needs a compiler that knows -mavxvnni
# (GCC >= 11, Clang >= 12).
include(CheckCCompilerFlag)
check_c_compiler_flag(-mavxvnni QK_CC_HAS_MAVXVNNI)
if(QK_CC_HAS_MAVXVNNI)
  set(_dir ${CMAKE_CURRENT_LIST_DIR})
  set(_srcs
    ${_dir}/config.c
    ${_dir}/qk_gemm_u8s8_6x16c4__avxvnni.c
  )
  set_source_files_properties(${_srcs} PROPERTIES COMPILE_OPTIONS "-mavx2;-mavxvnni")
  # Test twin of the GEMM with EVEX ymm vpdpbusd, runnable on AVX-512 machines without AVX-VNNI
  # (test/avxvnni_evex_test.cc); in no dispatch table.
  set(_evex ${_dir}/qk_gemm_u8s8_6x16c4__avxvnni_evex.c)
  set_source_files_properties(${_evex} PROPERTIES
    COMPILE_OPTIONS "-mavx2;-mavx512f;-mavx512vl;-mavx512vnni")
  list(APPEND QK_ISA_SOURCES ${_srcs} ${_evex})
  list(APPEND QK_ISA_DEFINITIONS QK_HAVE_AVXVNNI)
else()
  message(STATUS "qk: the C compiler does not know -mavxvnni; avxvnni kernels left out")
endif()

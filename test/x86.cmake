# x86 ISA tests (arch/x86/*), included from test/CMakeLists.txt; one qk_add_test per file.
if(QK_ARCH STREQUAL "x86_64")
  # The AVX-VNNI GEMM through its EVEX twin (runs on AVX512-VNNI machines), and natively when the
  # CPU has AVX-VNNI.
  if(";${QK_ISA_DEFINITIONS};" MATCHES ";QK_HAVE_AVXVNNI;")
    qk_add_test(avxvnni_evex_test avxvnni_evex_test.cc)
  endif()
endif()

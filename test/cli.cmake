# Tests of the qk command-line tool, included from test/CMakeLists.txt:
#   npy_test  unit tests of the strict .npy reader/writer (tools/cli/npy.c)
#   cli_test  runs the real `qk` binary in a temporary directory and compares its outputs with the
#             library API called on the same data.
# cli_test finds qk through the environment variable QK_CLI: the command words to run it, i.e. the
# cross-compiling emulator's words (e.g. "qemu-aarch64 -L /") followed by the path of qk. It also
# accepts --qk="<words>" on its own command line.
if(NOT TARGET qk_cli OR NOT TARGET qk_npy)
  message(STATUS "qk: CLI tests skipped (QK_BUILD_CLI=OFF)")
  return()
endif()
if(NOT TARGET GTest::gtest)
  find_package(GTest REQUIRED)
endif()

if(NOT DEFINED QK_TEST_TIMEOUT)
  set(QK_TEST_TIMEOUT 600)
endif()

add_executable(npy_test ${CMAKE_CURRENT_LIST_DIR}/npy_test.cc)
target_link_libraries(npy_test PRIVATE qk_npy GTest::gtest_main)
target_compile_options(npy_test PRIVATE -Wall -Wextra)
add_test(NAME npy_test COMMAND npy_test)
set_tests_properties(npy_test PROPERTIES TIMEOUT ${QK_TEST_TIMEOUT})

# cli_test has its own main (it reads --qk=...), so it links gtest, not gtest_main.
add_executable(cli_test ${CMAKE_CURRENT_LIST_DIR}/cli_test.cc)
target_link_libraries(cli_test PRIVATE qk_static qk_npy GTest::gtest)
target_compile_options(cli_test PRIVATE -Wall -Wextra)
# The test runs the binary, so building the test must build the binary.
add_dependencies(cli_test qk_cli)
add_test(NAME cli_test COMMAND cli_test)

set(QK_CLI_COMMAND "$<TARGET_FILE:qk_cli>")
if(CMAKE_CROSSCOMPILING_EMULATOR)
  list(JOIN CMAKE_CROSSCOMPILING_EMULATOR " " _qk_cli_emulator)
  set(QK_CLI_COMMAND "${_qk_cli_emulator} ${QK_CLI_COMMAND}")
endif()
# Each case starts qk as a new process (about 100 of them): slow under an emulator.
set_tests_properties(cli_test PROPERTIES ENVIRONMENT "QK_CLI=${QK_CLI_COMMAND}"
  TIMEOUT ${QK_TEST_TIMEOUT})

# Operators beyond conv2d: CLI tests of each (one block each).

# ---- linear ----
add_executable(cli_linear_test ${CMAKE_CURRENT_LIST_DIR}/cli_linear_test.cc)
target_link_libraries(cli_linear_test PRIVATE qk_static qk_npy GTest::gtest)
target_compile_options(cli_linear_test PRIVATE -Wall -Wextra)
add_dependencies(cli_linear_test qk_cli)
add_test(NAME cli_linear_test COMMAND cli_linear_test)
set_tests_properties(cli_linear_test PROPERTIES ENVIRONMENT "QK_CLI=${QK_CLI_COMMAND}"
  TIMEOUT ${QK_TEST_TIMEOUT})

# ---- eltwise ----
add_executable(cli_eltwise_test ${CMAKE_CURRENT_LIST_DIR}/cli_eltwise_test.cc)
target_link_libraries(cli_eltwise_test PRIVATE qk_static qk_npy GTest::gtest)
target_compile_options(cli_eltwise_test PRIVATE -Wall -Wextra)
add_dependencies(cli_eltwise_test qk_cli)
add_test(NAME cli_eltwise_test COMMAND cli_eltwise_test)
set_tests_properties(cli_eltwise_test PROPERTIES ENVIRONMENT "QK_CLI=${QK_CLI_COMMAND}"
  TIMEOUT ${QK_TEST_TIMEOUT})

# ---- pool ----
add_executable(cli_pool_test ${CMAKE_CURRENT_LIST_DIR}/cli_pool_test.cc)
target_link_libraries(cli_pool_test PRIVATE qk_static qk_npy GTest::gtest)
target_compile_options(cli_pool_test PRIVATE -Wall -Wextra)
add_dependencies(cli_pool_test qk_cli)
add_test(NAME cli_pool_test COMMAND cli_pool_test)
set_tests_properties(cli_pool_test PROPERTIES ENVIRONMENT "QK_CLI=${QK_CLI_COMMAND}"
  TIMEOUT ${QK_TEST_TIMEOUT})

# ---- act ----
add_executable(cli_act_test ${CMAKE_CURRENT_LIST_DIR}/cli_act_test.cc)
target_link_libraries(cli_act_test PRIVATE qk_static qk_npy GTest::gtest_main)
target_compile_options(cli_act_test PRIVATE -Wall -Wextra)
add_dependencies(cli_act_test qk_cli)
add_test(NAME cli_act_test COMMAND cli_act_test)
set_tests_properties(cli_act_test PROPERTIES ENVIRONMENT "QK_CLI=${QK_CLI_COMMAND}"
  TIMEOUT ${QK_TEST_TIMEOUT})

# qk run: the model of test/data/models gives PyTorch's output file byte for byte (the writer is
# numpy.save's format), and a file that is not a model is one error line, exit 1, no output.
set(_qk_models ${CMAKE_CURRENT_SOURCE_DIR}/data/models)
add_test(NAME cli_run_model COMMAND sh -c
  "rm -f run.npy && ${QK_CLI_COMMAND} run ${_qk_models}/tiny-qnnpack.safetensors --input ${_qk_models}/tiny-qnnpack-input.npy --output run.npy --threads 2 && cmp run.npy ${_qk_models}/tiny-qnnpack-output.npy")
add_test(NAME cli_run_not_a_model COMMAND sh -c
  "rm -f bad.npy; ${QK_CLI_COMMAND} run ${_qk_models}/tiny-qnnpack-input.npy --input ${_qk_models}/tiny-qnnpack-input.npy --output bad.npy 2>err.txt; test $? -eq 1 && test ! -e bad.npy && test $(wc -l < err.txt) -eq 1 && grep -q 'qk_model_load' err.txt")
# qk run --compare: PyTorch's own layer outputs (tools/qk_export.py dump_layers) are identical to
# qk's; after one byte of one layer's file is changed, the report names that layer, exit 1.
set(_qk_mr ${_qk_models}/miniresnet-qnnpack)
add_test(NAME cli_run_compare COMMAND sh -c
  "${QK_CLI_COMMAND} run ${_qk_mr}.safetensors --input ${_qk_mr}-input.npy --compare ${_qk_mr}-layers > same.txt && grep -q 'compared 14 layers' same.txt && grep -q 'every compared layer is identical' same.txt")
add_test(NAME cli_run_compare_finds_the_layer COMMAND sh -c
  "rm -rf changed && cp -r ${_qk_mr}-layers changed && printf '\\377' | dd of=changed/layer1.0.conv2.npy bs=1 seek=130 conv=notrunc 2>/dev/null && ${QK_CLI_COMMAND} run ${_qk_mr}.safetensors --input ${_qk_mr}-input.npy --compare changed > diff.txt 2> err.txt; test $? -eq 1 && grep -q \"first difference at node 4 'layer1.0.conv2' (conv2d): 1 of 400\" diff.txt && test $(wc -l < err.txt) -eq 1")

# CMake toolchain file: cross-build qk for aarch64 Linux on an x86-64 Debian 12 host and run every
# test under qemu-user (ci/test-arm64.sh uses it; docs/performance-arm.md explains the ARM paths).
#
#   cmake -S . -B /tmp/arm-build -DCMAKE_TOOLCHAIN_FILE=ci/aarch64-linux-gnu.cmake
#   QEMU_CPU=cortex-a53 ctest --test-dir /tmp/arm-build --timeout 900
#
# Needs gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user, and for the test suite the arm64
# multiarch packages libgtest-dev:arm64 libgmock-dev:arm64 libcpuinfo0:arm64 (and
# libbenchmark-dev:arm64 for qk-bench). The library is compiled for the armv8-a baseline; only the
# files of arch/arm/neondot and arch/arm/i8mm get -march=...+dotprod / +i8mm (their sources.cmake).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# The arm64 libraries are Debian multiarch packages in the host's /usr/lib/aarch64-linux-gnu, not
# under the cross sysroot, so every find_* looks in both places ("ONLY" would miss GTest,
# benchmark and cpuinfo).
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# Without this pkg-config would hand out the x86-64 libraries.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)

# qemu's library root. Once any :arm64 package is installed, libc6:arm64 provides
# /lib/ld-linux-aarch64.so.1 and the root must be "/": pairing the cross toolchain's ld.so
# (/usr/aarch64-linux-gnu) with the multiarch libc makes every guest fork() spin forever (death
# tests, system(), the CLI test). No -cpu here: the QEMU_CPU environment variable picks the model
# per run (qemu's default is "max": dotprod and i8mm).
if(EXISTS /lib/ld-linux-aarch64.so.1)
  set(_qk_qemu_root /)
else()
  set(_qk_qemu_root /usr/aarch64-linux-gnu)
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${_qk_qemu_root})

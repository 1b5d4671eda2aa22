#!/usr/bin/env bash
# Installs a build into a temporary (non-system) prefix and uses it the ways a user would:
#   1. CMake: find_package(qk) -> qk::qk and qk::qk_static (examples/), find_package(qk COMPONENTS
#      static);
#   2. pkg-config: shared, then static with `pkg-config --static` alone from a prefix that has only
#      libqk.a (so qk.pc must name cpuinfo, pthread and m itself);
#   3. the installed qk CLI, run without LD_LIBRARY_PATH (its RUNPATH finds the prefix's libqk.so);
#   4. a fresh build of only the shared library (`cmake --build --target qk`), then install: no
#      libqk.a, no CLI, and find_package(qk) still works for qk::qk.
# Usage: ci/install_test.sh BUILD_DIR   (BUILD_DIR: a complete build, e.g. build-ci)
set -euo pipefail
build=${1:?usage: ci/install_test.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH
fail() { echo "install test: $*" >&2; exit 1; }

prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/qk.h" || fail "qk.h not installed"
pc=$(find "$prefix" -name qk.pc)
test -n "$pc" || fail "qk.pc not installed"
libdir=$(dirname "$(dirname "$pc")")
test -f "$libdir/libqk.a" || fail "libqk.a not installed from a complete build"

# 1. CMake package: shared and static consumers; the static one carries no libqk.so.
cmake -S "$root/examples" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
LD_LIBRARY_PATH="$libdir" "$tmp/cmake/conv2d_example" >/dev/null
"$tmp/cmake/conv2d_example_static" >/dev/null
if ldd "$tmp/cmake/conv2d_example_static" | grep -q libqk; then
  fail "conv2d_example_static is linked to the shared libqk"
fi
mkdir -p "$tmp/component"
cat >"$tmp/component/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(qk_component C)
find_package(qk 0.1 REQUIRED COMPONENTS static)
add_executable(app "$root/examples/conv2d_example.c")
target_link_libraries(app PRIVATE qk::qk_static)
EOF
cmake -S "$tmp/component" -B "$tmp/component/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/component/build" >/dev/null
"$tmp/component/build/app" >/dev/null

# 2. pkg-config. Shared: -lqk finds libqk.so. Static: from a copy of the prefix without libqk.so,
# `pkg-config --static --libs qk` must be all a static link needs.
export PKG_CONFIG_PATH="$(dirname "$pc")"
cc -o "$tmp/pc_shared" "$root/examples/conv2d_example.c" $(pkg-config --cflags --libs qk)
LD_LIBRARY_PATH="$libdir" "$tmp/pc_shared" >/dev/null
cp -a "$prefix" "$tmp/static-prefix"
rm -f "$tmp/static-prefix/${libdir#"$prefix"/}"/libqk.so*
export PKG_CONFIG_PATH="$tmp/static-prefix/${libdir#"$prefix"/}/pkgconfig"
if cc -o "$tmp/pc_nostatic" "$root/examples/conv2d_example.c" $(pkg-config --cflags --libs qk) \
     2>/dev/null; then
  fail "linking libqk.a without --static's private libraries succeeded: the static check proves nothing"
fi
cc -o "$tmp/pc_static" "$root/examples/conv2d_example.c" $(pkg-config --static --cflags --libs qk)
"$tmp/pc_static" >/dev/null
ldd "$tmp/pc_static" | grep -q libqk && fail "pc_static is linked to the shared libqk"
unset PKG_CONFIG_PATH

# 3. The CLI in a non-system prefix, without LD_LIBRARY_PATH.
if [ -x "$prefix/bin/qk" ]; then
  readelf -d "$prefix/bin/qk" | grep -E 'RUNPATH|RPATH' | grep -q 'ORIGIN' ||
    fail "installed qk has no \$ORIGIN RUNPATH"
  "$prefix/bin/qk" info >"$tmp/info.txt" || fail "installed qk info failed"
  cli_checked="the installed qk CLI ran 'qk info' without LD_LIBRARY_PATH"
else
  cli_checked="no CLI in this build (QK_BUILD_CLI=OFF)"
fi

# 4. Only the shared library built, then installed.
shared_build="$tmp/shared-only"
cmake -S "$root" -B "$shared_build" -DCMAKE_BUILD_TYPE=Release -DQK_BUILD_TESTS=OFF \
  -DQK_BUILD_BENCH=OFF >/dev/null
cmake --build "$shared_build" --target qk -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
cmake --install "$shared_build" --prefix "$tmp/shared-prefix" >/dev/null ||
  fail "install after building only the shared library failed"
find "$tmp/shared-prefix" -name 'libqk.so.0' | grep -q . || fail "libqk.so.0 not installed"
find "$tmp/shared-prefix" -name 'libqk.a' | grep -q . && fail "libqk.a installed but never built"
mkdir -p "$tmp/shared-consumer"
cat >"$tmp/shared-consumer/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(qk_shared_consumer C)
find_package(qk 0.1 REQUIRED)
if(TARGET qk::qk_static)
  message(FATAL_ERROR "qk::qk_static defined without libqk.a")
endif()
add_executable(app "$root/examples/conv2d_example.c")
target_link_libraries(app PRIVATE qk::qk)
EOF
cmake -S "$tmp/shared-consumer" -B "$tmp/shared-consumer/build" \
  -DCMAKE_PREFIX_PATH="$tmp/shared-prefix" >/dev/null
cmake --build "$tmp/shared-consumer/build" >/dev/null
"$tmp/shared-consumer/build/app" >/dev/null  # CMake's build RUNPATH points into the prefix
sed -i 's/REQUIRED)/REQUIRED COMPONENTS static)/' "$tmp/shared-consumer/CMakeLists.txt"
if cmake -S "$tmp/shared-consumer" -B "$tmp/shared-consumer/build2" \
     -DCMAKE_PREFIX_PATH="$tmp/shared-prefix" >/dev/null 2>&1; then
  fail "find_package(qk COMPONENTS static) succeeded without libqk.a"
fi

echo "install test: find_package (shared, static, COMPONENTS static) and pkg-config (shared," \
  "static-only prefix with --static) consumers built and ran; $cli_checked; install after" \
  "--target qk works"

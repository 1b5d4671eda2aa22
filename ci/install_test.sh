#!/usr/bin/env bash
# Installs a build into a temporary prefix and builds the example against it both ways a user
# would: CMake (find_package(qk) -> qk::qk and qk::qk_static) and pkg-config (shared and static).
# Usage: ci/install_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: ci/install_test.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
test -f "$tmp/prefix/include/qk.h"
pc=$(find "$tmp/prefix" -name qk.pc)
test -n "$pc" || { echo "qk.pc not installed" >&2; exit 1; }

# 1. CMake package
cmake -S "$root/examples" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake" >/dev/null
libdir=$(dirname "$(dirname "$pc")")
LD_LIBRARY_PATH="$libdir" "$tmp/cmake/conv2d_example"
"$tmp/cmake/conv2d_example_static"
if ldd "$tmp/cmake/conv2d_example_static" | grep -q libqk; then
  echo "conv2d_example_static is linked to the shared libqk" >&2; exit 1
fi

# 2. pkg-config, shared then static
export PKG_CONFIG_PATH="$(dirname "$pc")"
cc -o "$tmp/pc_shared" "$root/examples/conv2d_example.c" $(pkg-config --cflags --libs qk)
LD_LIBRARY_PATH="$libdir" "$tmp/pc_shared"
# Static: the archive itself, then the private dependencies qk.pc lists (cpuinfo, pthread, m).
cc -o "$tmp/pc_static" "$root/examples/conv2d_example.c" $(pkg-config --cflags qk) \
  "$libdir/libqk.a" $(pkg-config --static --libs qk | sed 's/ -lqk / /')
"$tmp/pc_static"
echo "install test: find_package and pkg-config consumers (shared + static) built and ran"

#!/usr/bin/env bash
# Installs the runtime from the build tree into a scratch prefix, then builds
# a C program against it twice: with pkg-config and with find_package.
#   install-consumer.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
source="$2"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cmake -DCMAKE_INSTALL_PREFIX="$scratch/prefix" -P "$build/runtime/cmake_install.cmake" > /dev/null
export PKG_CONFIG_PATH="$scratch/prefix/lib/pkgconfig"
cc "$source/test/runtime/Inputs/consumer.c" -o "$scratch/pc" \
  $(pkg-config --cflags --libs kopt-runtime) -Wl,-rpath,"$scratch/prefix/lib"
"$scratch/pc" | grep -q "kopt runtime consumer: ok"
mkdir -p "$scratch/cmake"
cat > "$scratch/cmake/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(koptRuntime REQUIRED)
add_executable(consumer "$source/test/runtime/Inputs/consumer.c")
target_link_libraries(consumer PRIVATE kopt::kopt_runtime)
CMAKE
cmake -S "$scratch/cmake" -B "$scratch/cmake/build" \
  -DCMAKE_PREFIX_PATH="$scratch/prefix" > /dev/null
cmake --build "$scratch/cmake/build" > /dev/null
LD_LIBRARY_PATH="$scratch/prefix/lib" "$scratch/cmake/build/consumer" |
  grep -q "kopt runtime consumer: ok"
echo "installed runtime: pkg-config and find_package consumers built and ran"

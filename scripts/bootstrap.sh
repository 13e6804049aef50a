#!/usr/bin/env bash
# Installs what kopt needs (scripts/setup.sh), then configures and builds it
# into build/ with Ninja. Re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
# Two parallel jobs: MLIR translation units need ~1-2 GiB each.
cmake --build build --parallel "${KOPT_BUILD_JOBS:-2}"

#!/usr/bin/env bash
# Configure and build the native libraries into the folder given as $1 (Maven passes
# java/target/native). Kept as a script so Maven, the launcher and a GPU machine without a JDK
# all build the same way.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/build/native}"
jobs="$(nproc 2>/dev/null || echo 2)"
cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release ${OVSEG_CMAKE_ARGS:-} >/dev/null
cmake --build "$out" -j "$jobs"

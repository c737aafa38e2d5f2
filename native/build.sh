#!/usr/bin/env bash
# Configure and build the native libraries into the folder given as $1 (Maven passes
# java/target/native). Kept as a script so Maven, the launcher and a GPU machine without a JDK
# all build the same way. Quiet on success; the full log on failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/build/native}"
jobs="$(nproc 2>/dev/null || echo 2)"
mkdir -p "$out"
log="$out/build.log"
# shellcheck disable=SC2086
if ! { cmake -S "$root" -B "$out" -DCMAKE_BUILD_TYPE=Release ${OVSEG_CMAKE_ARGS:-} && cmake --build "$out" -j "$jobs"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: native build failed (log: $log)" >&2
    exit 1
fi
grep -E "warning|ovseg:" "$log" >&2 || true

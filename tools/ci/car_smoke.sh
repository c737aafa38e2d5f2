#!/usr/bin/env bash
# Builds a small CaR bundle (random CLIP weights, no download) into java/target/car-smoke and prints
# its path: car_cam from a small random CLIP (seed 1) + the CaR classifier from a second one (seed 2),
# "pipeline": "car". Only the bundle is built (the checkpoints live in a temporary directory).
# Idempotent: the directory is rebuilt from scratch on every run. Override with OVSEG_CAR_SMOKE_DIR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/tools/python-setup.sh" >&2
PY="$root/.venv/bin/python"
out="${OVSEG_CAR_SMOKE_DIR:-$root/java/target/car-smoke}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out"
mkdir -p "$(dirname "$out")"
"$PY" tools/export/make_random_clip.py --small --seed 1 --out "$tmp/ck-cam" >&2
"$PY" tools/export/make_random_clip.py --small --seed 2 --out "$tmp/ck-classifier" >&2
if ! "$PY" tools/export/export_car.py --checkpoint "$tmp/ck-cam" --classifier-checkpoint "$tmp/ck-classifier" \
        --out "$tmp/bundle" >"$tmp/export.log" 2>&1; then
    cat "$tmp/export.log" >&2
    exit 1
fi
mv "$tmp/bundle" "$out"
echo "$out"

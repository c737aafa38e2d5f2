#!/usr/bin/env bash
# Builds a small CaR bundle (random CLIP weights, no download) into java/target/car-smoke and prints
# its path: car_cam from a small random CLIP (seed 1) + the CaR classifier from a second one (seed 2),
# "pipeline": "car". Only the bundle is built (the checkpoints live in a temporary directory).
# Idempotent: the directory is rebuilt from scratch on every run. Override with OVSEG_CAR_SMOKE_DIR.
# OVSEG_CAR_SMOKE_CKPT=DIR keeps the two checkpoints as DIR/ck-cam and DIR/ck-classifier (for the
# PyTorch reference, tools/reference/car_reference.py).
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
ck="${OVSEG_CAR_SMOKE_CKPT:-$tmp}"
mkdir -p "$ck"
rm -rf "$ck/ck-cam" "$ck/ck-classifier"
"$PY" tools/export/make_random_clip.py --small --seed 1 --out "$ck/ck-cam" >&2
"$PY" tools/export/make_random_clip.py --small --seed 2 --out "$ck/ck-classifier" >&2
if ! "$PY" tools/export/export_car.py --checkpoint "$ck/ck-cam" --classifier-checkpoint "$ck/ck-classifier" \
        --out "$tmp/bundle" >"$tmp/export.log" 2>&1; then
    cat "$tmp/export.log" >&2
    exit 1
fi
mv "$tmp/bundle" "$out"
echo "$out"

#!/usr/bin/env bash
# Creates (idempotently) the Python environment that tools/ need, at <repo>/.venv, from the
# local package index on disk (the public index is not reachable on these machines).
# Quiet when the environment is already set up; prints pip's errors otherwise.
#
#   tools/python-setup.sh            # create / complete .venv
#   .venv/bin/python tools/export/export_clip.py ...
#
# Environment overrides: OVSEG_VENV (venv path), OVSEG_PYTHON (interpreter, default python3),
# OVSEG_PIP_INDEX / OVSEG_PIP_EXTRA_INDEX / OVSEG_PIP_FIND_LINKS (package sources).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OVSEG_VENV:-$ROOT/.venv}"
PY="${OVSEG_PYTHON:-python3}"
INDEX="${OVSEG_PIP_INDEX:-file:///opt/pypi/simple}"
EXTRA="${OVSEG_PIP_EXTRA_INDEX:-file:///opt/pypi-more/simple}"
LINKS="${OVSEG_PIP_FIND_LINKS:-/opt/wheels}"

# Exact pins: all of these exist in the local index (torch from /opt/wheels).
REQS=(
    "torch==2.13.0+cpu"
    "transformers==5.18.0"
    "onnx==1.23.1"
    "onnxruntime==1.30.0"
    "onnxscript==0.7.2"
    "safetensors==0.8.0"
    "numpy==2.4.6"
    "opencv-python-headless==5.0.0.93"
    "pillow==12.3.0"
)
STAMP="$VENV/.ovseg-requirements"
WANT="$(printf '%s\n' "${REQS[@]}")"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip install -q \
        --index-url "$INDEX" --extra-index-url "$EXTRA" --find-links "$LINKS" \
        --retries 0 --timeout 10 --prefer-binary "${REQS[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: python-setup: pip install failed (venv: $VENV)" >&2
    exit 1
fi
# Import check (torchvision must not be needed; it is broken with this torch build).
if ! "$VENV/bin/python" -c "import torch, transformers, onnx, onnxruntime, onnxscript, safetensors, numpy, cv2, PIL" >"$log" 2>&1; then
    cat "$log" >&2
    echo "error: python-setup: import check failed (venv: $VENV)" >&2
    exit 1
fi
printf '%s\n' "$WANT" >"$STAMP"

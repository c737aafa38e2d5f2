#!/usr/bin/env bash
# `ovseg eval` against independent Python computations (run by `mvn verify`, phase integration-test):
# tiny generated datasets in every layout eval reads (VOC palette PNGs, Pascal Context 59 and ADE20K
# with reduce-zero-label, COCO-Stuff, Cityscapes' city folders, 16-bit masks with 300 classes, COCO
# panoptic with crowd and void), scored by `ovseg eval` with the built-in colour-world model, then
# recomputed by tools/reference/eval_reference.py from the ground truth and the prediction PNGs ovseg
# wrote: numpy histograms with mmsegmentation's IoUMetric semantics for mIoU/aAcc/mAcc and per-class
# IoU/Acc (tolerance 1e-12), a PQ computation following the COCO panoptic API's pq_compute for
# PQ/SQ/RQ (All, Things, Stuff; tolerance 1e-12) and per-category TP/FP/FN (exact).
# It also checks resumption: the COCO-Stuff run is cut after one image and resumed; its metrics.json
# must equal an uninterrupted run's byte for byte. ~1 min on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/tools/python-setup.sh"
PY="${OVSEG_VENV:-$root/.venv}/bin/python"
work="${OVSEG_EVAL_CHECK_DIR:-$root/java/target/eval-check}"
rm -rf "$work"
mkdir -p "$work"
t0=$(date +%s)
"$PY" tools/reference/make_eval_datasets.py --out "$work/data" --images 3
ovseg() {
    java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main "$@"
}
status=0
for layout in voc context ade coco-stuff cityscapes; do
    ovseg eval --dataset "$layout" --root "$work/data/$layout" --labels "$(cat "$work/data/$layout.labels")" --templates single \
        --cache-dir "$work/cache" --out "$work/out-$layout" >"$work/$layout.log" 2>&1 || { cat "$work/$layout.log"; status=1; continue; }
    "$PY" tools/reference/eval_reference.py --layout "$layout" --root "$work/data/$layout" --out "$work/out-$layout" || status=1
done
ovseg eval --images "$work/data/folders/images" --masks "$work/data/folders/masks" --labels "$(cat "$work/data/folders.labels")" \
    --ignore-index 65535 --templates single --cache-dir "$work/cache" --out "$work/out-folders" >"$work/folders.log" 2>&1 \
    || { cat "$work/folders.log"; status=1; }
"$PY" tools/reference/eval_reference.py --layout folders --classes 300 --ignore-index 65535 --root "$work/data/folders" \
    --out "$work/out-folders" || status=1
# The same 16-bit masks with reduce-zero-label (0 void, 65535 stays void, v -> v - 1).
ovseg eval --images "$work/data/folders/images" --masks "$work/data/folders/masks" --labels "$(cut -d, -f2- "$work/data/folders.labels"),extra" \
    --ignore-index 65535 --reduce-zero-label --templates single --cache-dir "$work/cache" --out "$work/out-folders-rz" >"$work/folders-rz.log" 2>&1 \
    || { cat "$work/folders-rz.log"; status=1; }
"$PY" tools/reference/eval_reference.py --layout folders --classes 300 --ignore-index 65535 --reduce-zero-label --root "$work/data/folders" \
    --out "$work/out-folders-rz" || status=1
ovseg eval --dataset coco-panoptic --root "$work/data/coco-panoptic" --templates single --cache-dir "$work/cache" \
    --out "$work/out-coco-panoptic" >"$work/coco-panoptic.log" 2>&1 || { cat "$work/coco-panoptic.log"; status=1; }
"$PY" tools/reference/eval_reference.py --layout coco-panoptic --root "$work/data/coco-panoptic" --out "$work/out-coco-panoptic" || status=1

# Resumption: keep one image's record plus half a line (what a kill mid-write leaves), rerun, compare.
cp -r "$work/out-coco-stuff" "$work/resume"
rm "$work/resume/metrics.json"
{ head -n 1 "$work/out-coco-stuff/per-image.jsonl"; sed -n 2p "$work/out-coco-stuff/per-image.jsonl" | cut -c1-40 | tr -d '\n'; } \
    >"$work/resume/per-image.jsonl"
ovseg eval --dataset coco-stuff --root "$work/data/coco-stuff" --labels "$(cat "$work/data/coco-stuff.labels")" --templates single \
    --cache-dir "$work/cache" --out "$work/resume" >"$work/resume.log" 2>&1 || { cat "$work/resume.log"; status=1; }
if grep -q "1 of 3 images already scored" "$work/resume.log" && cmp -s "$work/resume/metrics.json" "$work/out-coco-stuff/metrics.json"; then
    echo "eval resume: ok (1 of 3 kept, metrics.json identical)"
else
    echo "eval resume: FAILED"; cat "$work/resume.log"; status=1
fi
echo "eval check: $(( $(date +%s) - t0 )) s"
exit $status

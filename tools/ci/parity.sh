#!/usr/bin/env bash
# MaskCLIP parity with PyTorch on identical weights (run by `mvn verify`, phase integration-test):
# a randomly initialised CLIP ViT-B/16 (transformers, seeded) is exported with the project's
# exporter, segmented by ovseg on real photos, and compared with a PyTorch MaskCLIP reference
# written independently of the ONNX graphs (mean/std are the reference's own constants, never read
# from the bundle). compare_logits.py fails when max |logit error| > 1e-3 x the reference's spread,
# when pixel-label agreement < 99.9% where the reference's top-2 margin is clear of near-ties
# (> 1e-3 x spread), or when fewer than half the pixels are clear.
# Set OVSEG_PARITY_SMALL=1 for a 4-layer model (quick local runs); the MaskCLIP variants (sliding
# window, key smoothing, prompt denoising, presets, official ViT, RN50 keys) always use 4 layers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
"$root/tools/python-setup.sh"
PY="$root/.venv/bin/python"
# The comparators below must fail on a NaN anywhere (a fraction of a second).
"$PY" tools/reference/check_comparators.py
work="${OVSEG_PARITY_DIR:-$root/java/target/parity}"
rm -rf "$work"
mkdir -p "$work"
samples="$root/tools/data/voc-samples"
labels="cat,dog,person,sofa,sky,car,bird"
small=()
[[ "${OVSEG_PARITY_SMALL:-0}" == 1 ]] && small=(--small)

t0=$(date +%s)
# The comparison's own rules first (spread-scaled bounds, near-tie coverage), on synthetic logits.
"$PY" tools/reference/test_compare_logits.py >"$work/compare-selftest.log" 2>&1 || { cat "$work/compare-selftest.log"; exit 1; }
"$PY" tools/export/make_random_clip.py "${small[@]}" --out "$work/ckpt" >/dev/null
"$PY" tools/export/make_random_dino.py --small --out "$work/dino" >/dev/null  # ProxyCLIP's proxy (MaskCLIP family below)
dino=()
[[ "${OVSEG_PARITY_SMALL:-0}" == 1 ]] && dino=(--dino "$work/dino")
"$PY" tools/export/export_clip.py --checkpoint "$work/ckpt" --out "$work/bundle" "${dino[@]}" >"$work/export.log" 2>&1 || { cat "$work/export.log"; exit 1; }
# A non-square, up-scaled crop exercises padding to the patch grid and both resizes of the logits.
"$PY" - "$samples/1_image.png" "$work/crop.png" <<'PYEOF'
import sys, cv2
img = cv2.imread(sys.argv[1])
cv2.imwrite(sys.argv[2], img[50:425, 7:507])
PYEOF
images=("$samples/0_image.png" "$samples/8_image.png" "$work/crop.png")
"$PY" tools/reference/maskclip_reference.py --checkpoint "$work/ckpt" --labels "$labels" \
    --image "${images[@]}" --out "$work/ref" >"$work/reference.log" 2>&1 || { cat "$work/reference.log"; exit 1; }

java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
    segment --model "$work/bundle" --labels "$labels" --out "$work/ovseg" --save-logits "$work/ovseg" \
    --cache-dir "$work/cache" $(printf -- '--image %s ' "${images[@]}")
status=0
for img in "${images[@]}"; do
    stem="$(basename "${img%.*}")"
    echo "parity $stem:"
    "$PY" tools/reference/compare_logits.py "$work/ovseg/$stem.logits.npy" "$work/ref/$stem/logits.npy" --labels "$labels" || status=1
done

# ResNet path (attention-pool value/output projections folded at load time): a small random
# RN50-shaped model on the non-square crop (rescaled to 683x512: not a multiple of 32, so the
# official unpadded grid, 21x16, differs from a padded one, 22x16).
"$PY" tools/export/make_random_clip.py --arch rn50 --small --out "$work/rn50" >/dev/null
"$PY" tools/export/export_clip.py --checkpoint "$work/rn50" --out "$work/rn50-bundle" >"$work/export-rn50.log" 2>&1 || { cat "$work/export-rn50.log"; exit 1; }
"$PY" tools/reference/maskclip_reference.py --checkpoint "$work/rn50" --labels "$labels" \
    --image "$work/crop.png" --out "$work/ref-rn50" >"$work/reference-rn50.log" 2>&1 || { cat "$work/reference-rn50.log"; exit 1; }
java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
    segment --model "$work/rn50-bundle" --labels "$labels" --out "$work/ovseg-rn50" --save-logits "$work/ovseg-rn50/crop.logits.npy" \
    --cache-dir "$work/cache" --image "$work/crop.png"
echo "parity rn50 crop:"
"$PY" tools/reference/compare_logits.py "$work/ovseg-rn50/crop.logits.npy" "$work/ref-rn50/logits.npy" --labels "$labels" || status=1

# MaskCLIP variants, each through `ovseg segment` and the reference with the same settings on one
# image, on small (4-layer / width-16) random models:
#   slide+ks+pd  sliding window 224/160 (4x3 crops on the 683x512 crop), prompt denoising 0.5, key
#                smoothing 1.0 (the output is key-smoothed probabilities)
#   pd           whole image, prompt denoising 0.6 alone (absent classes at -100; checked below
#                that some, not all, classes were suppressed)
#   rn50-ks      ResNet, unpadded, key smoothing 1.0 with the attention pool's k projection
#   context      --preset context: ImageNet mean/std, 85 templates, long side 520 (crop -> 520x390)
#   official-voc --preset voc (ImageNet mean/std, 85 templates, img_scale (2048, 512)) on a bundle
#                exported with --official-maskclip-vit (exact GELU, LayerNorm eps 1e-6), against
#                the reference's --official-vit (on these weights the two variants' logits differ
#                by ~1.5e-3, three times the bound). coco-stuff's settings are voc's number for
#                number (MaskClipPresetTest), so one run holds both.
mc_case() { # name bundle checkpoint image "ovseg flags" "reference flags"
    local name="$1" bundle="$2" ckpt="$3" img="$4" oflags="$5" rflags="$6" out="$work/mc-$1"
    mkdir -p "$out"
    # shellcheck disable=SC2086 # the flag strings are meant to split
    java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
        segment --model "$bundle" --labels "$labels" --out "$out" --save-logits "$out/ovseg.logits.npy" \
        --cache-dir "$work/cache" --image "$img" $oflags || return 1
    # shellcheck disable=SC2086
    "$PY" tools/reference/maskclip_reference.py --checkpoint "$ckpt" --labels "$labels" --image "$img" \
        --out "$out/ref" $rflags >"$out/reference.log" 2>&1 || { cat "$out/reference.log"; return 1; }
    echo "parity maskclip $name: $(grep -m1 -- '->' "$out/reference.log")"
    "$PY" tools/reference/compare_logits.py "$out/ovseg.logits.npy" "$out/ref/logits.npy" --labels "$labels"
}
# The small bundle also gets an int8 image graph (--int8: the exporter fails unless, on 3 images it
# did not calibrate on, int8 dense features have mean per-patch cosine >= 0.99 with fp32 and >= 99%
# of labels agree outside near-ties). Random weights quantise differently from trained ones (no
# outlier channels, small activations), so this holds the plumbing and the bounds, not the figure a
# real checkpoint reaches.
if [[ "${OVSEG_PARITY_SMALL:-0}" == 1 ]]; then
    small_ckpt="$work/ckpt" small_bundle="$work/bundle"  # exported with --int8 above
    cp "$work/export.log" "$work/export-small.log"
else
    small_ckpt="$work/small-ckpt" small_bundle="$work/small-bundle"
    "$PY" tools/export/make_random_clip.py --small --out "$small_ckpt" >/dev/null
    "$PY" tools/export/export_clip.py --checkpoint "$small_ckpt" --out "$small_bundle" --no-fp16 --dino "$work/dino" --int8 \
        >"$work/export-small.log" 2>&1 || { cat "$work/export-small.log"; exit 1; }
fi
grep -E '^  int8 vs fp32' "$work/export-small.log"
# --precision int8 through ovseg: the int8 graph must be the one opened, and ovseg's labels must
# agree with its own fp32 run outside near-ties (the same rule as the exporter's, on the full
# pipeline: head, text embeddings, resize of the logits).
for prec in fp32 int8; do
    mkdir -p "$work/int8-$prec"
    OVSEG_LOG=info java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
        segment --model "$small_bundle" --labels "$labels" --out "$work/int8-$prec" --precision "$prec" --backend cpu \
        --save-logits "$work/int8-$prec/crop.logits.npy" --cache-dir "$work/cache" --image "$work/crop.png" \
        2>"$work/int8-$prec/stderr.log" || { cat "$work/int8-$prec/stderr.log"; status=1; }
done
grep -q 'image.int8.onnx (int8)' "$work/int8-int8/stderr.log" || { echo "--precision int8 did not open image.int8.onnx"; status=1; }
"$PY" - "$work/int8-fp32/crop.logits.npy" "$work/int8-int8/crop.logits.npy" <<'PYEOF' || status=1
import sys, numpy as np
a, b = (np.load(p).reshape(7, -1) for p in sys.argv[1:3])
top2 = np.sort(a, 0)[-2:]
clear = (top2[1] - top2[0]) > 0.01 * (a.max() - a.min())
agree = float((a.argmax(0) == b.argmax(0))[clear].mean())
print(f"ovseg --precision int8 vs fp32 (crop): labels agree {100 * agree:.2f}% outside near-ties ({100 * clear.mean():.0f}% clear)")
assert clear.mean() >= 0.5 and agree >= 0.99
PYEOF
"$PY" tools/export/export_clip.py --checkpoint "$small_ckpt" --out "$work/official-bundle" --no-fp16 --official-maskclip-vit \
    >"$work/export-official.log" 2>&1 || { cat "$work/export-official.log"; exit 1; }
grep -q '"vision_variant": "maskclip-official' "$work/official-bundle/bundle.json" || { echo "official variant not recorded"; status=1; }
mc_case slide-ks-pd "$small_bundle" "$small_ckpt" "$work/crop.png" \
    "--window 224 --stride 160 --key-smoothing 1.0 --prompt-denoising 0.5" \
    "--window 224 --stride 160 --key-smoothing 1.0 --prompt-denoising 0.5" || status=1
mc_case pd "$small_bundle" "$small_ckpt" "$samples/0_image.png" "--prompt-denoising 0.6" "--prompt-denoising 0.6" || status=1
"$PY" - "$work/mc-pd/ref/logits.npy" <<'PYEOF' || status=1
import sys, numpy as np
l = np.load(sys.argv[1]).reshape(7, -1)
n = int(np.all(l == -100, axis=1).sum())
print(f"prompt denoising suppressed {n} of 7 classes")
assert 0 < n < 7, "prompt denoising must suppress some but not all classes to test anything"
PYEOF
mc_case rn50-ks "$work/rn50-bundle" "$work/rn50" "$work/crop.png" "--key-smoothing 1.0" "--key-smoothing 1.0" || status=1
mc_case context "$small_bundle" "$small_ckpt" "$work/crop.png" "--preset context" "--preset context" || status=1
mc_case official-voc "$work/official-bundle" "$small_ckpt" "$samples/8_image.png" "--preset voc" "--preset voc --official-vit" || status=1

# The MaskCLIP family (pipeline/maskclip/FAMILY.md): each method whole-image, then NACLIP in the
# papers' protocol (short side 336, 224 windows, stride 112) with PAMR. One template keeps the
# text encoder out of the time budget.
for m in sclip clearclip naclip proxyclip; do
    mc_case "$m" "$small_bundle" "$small_ckpt" "$samples/0_image.png" "--method $m --size 224 --templates single" \
        "--method $m --img-scale 896,224 --templates single --dino $work/dino" || status=1
done
mc_case naclip-protocol-pamr "$small_bundle" "$small_ckpt" "$work/crop.png" \
    "--method naclip --preset sclip-protocol --pamr --templates single" \
    "--method naclip --norm clip --img-scale 2048,336 --window 224 --stride 112 --pamr --templates single" || status=1

# CaR parity: a small random car bundle (Grad-CAM graph from seed 1, classifier from seed 2; the
# export runs the graph's self-checks, finite differences included) through `ovseg segment`, against
# tools/reference/car_reference.py (PyTorch/cv2, the official clip_as_rnn semantics, written without
# the ONNX graphs) on the same checkpoints. compare_car.py: every step's queries and kept queries
# equal, scores within the tolerance, final proposals (before the CRF, --save-logits) within 1e-3.
# Labels/presets: with these random weights the classifier scores "dog,bird,car" at roughly
# 0.06 / 0.31-0.34 / 0.60-0.63. coco-object (confidence 0.3, prompts blur+gray, which ovseg
# reproduces bit-exactly) prunes "dog" in step 1; on 0_image "bird" falls to 0.27 in step 2 and is
# pruned too (3 steps), on 8_image bird and car survive (2 steps, two proposal maps compared).
# Nearest score to the threshold: 0.013 away, against an observed ovseg-reference score gap of
# ~1e-4 (a proposal pixel within 5e-7 of the mask threshold) -> score tolerance 1e-3. The voc run
# (confidence 0.6, prompts circle+blur) keeps "car" (0.61) alone; its scores differ by ~2.4e-3
# because ovseg samples the analytic ellipse where cv2.ellipse draws a polygon (with ovseg's
# rasterisation, --circle ovseg, they agree to 1e-6) -> tolerance 5e-3 there.
car_ckpt="$work/car-ckpt"
car_bundle="$(OVSEG_CAR_SMOKE_DIR="$work/car-bundle" OVSEG_CAR_SMOKE_CKPT="$car_ckpt" bash tools/ci/car_smoke.sh | tail -1)"
car_labels="dog,bird,car"
car_run() { # preset out-dir images...
    local preset="$1" out="$2" logits
    shift 2
    mkdir -p "$out"
    logits="$out"  # a directory for several images, a file for one
    [[ $# -eq 1 ]] && logits="$out/$(basename "${1%.*}").logits.npy"
    java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
        segment --model "$car_bundle" --labels "$car_labels" --out "$out" --cache-dir "$work/cache" --preset "$preset" \
        --save-logits "$logits" $(printf -- '--image %s ' "$@") || return 1
    "$PY" tools/reference/car_reference.py --cam-checkpoint "$car_ckpt/ck-cam" --classifier-checkpoint "$car_ckpt/ck-classifier" \
        --labels "$car_labels" --preset "$preset" --image "$@" --out "$out/ref" >"$out/reference.log" 2>&1 \
        || { cat "$out/reference.log"; return 1; }
}
# crop.png (500x375) exercises the classifier's non-square resize and centre crop (torchvision's rule).
car_run coco-object "$work/car" "$samples/0_image.png" "$samples/8_image.png" "$work/crop.png" || status=1
for stem in 0_image 8_image crop; do
    echo "car parity coco-object $stem:"
    "$PY" tools/reference/compare_car.py "$work/car/$stem.json" "$work/car/$stem.logits.npy" "$work/car/ref/$stem" \
        --score-tol 1e-3 --map-tol 1e-3 || status=1
done
car_run voc "$work/car-voc" "$samples/8_image.png" || status=1
echo "car parity voc 8_image:"
"$PY" tools/reference/compare_car.py "$work/car-voc/8_image.json" "$work/car-voc/8_image.logits.npy" "$work/car-voc/ref/8_image" \
    --score-tol 5e-3 --map-tol 1e-3 || status=1
"$PY" - "$work/car/0_image.json" <<'PYEOF' || status=1
import json, sys
d = json.load(open(sys.argv[1]))
assert d["pipeline"] == "car" and len(d["steps"]) >= 2, d
assert d["steps"][-1]["queries"] == d["steps"][-1]["kept"], "last step must be a fixed point"
assert any(len(s["kept"]) < len(s["queries"]) for s in d["steps"]), "no query was pruned: a degenerate run"
print("car smoke: steps", [s["kept"] for s in d["steps"]])
PYEOF
java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
    segment --model "$car_bundle" --labels "the cat on the sofa,a sleeping cat" --refer --out "$work/car-refer" \
    --cache-dir "$work/cache" --image "$samples/0_image.png"
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['pipeline']=='car' and d['request']=='refer' and len(d['labels'])==1, d; print('car refer smoke: ok')" \
    "$work/car-refer/0_image.json" || status=1
# Referring parity, refcoco preset (the official joint refer run): the three sentences are scored
# in one flat softmax of "a clean origami {}." (0.41 / 0.30 / 0.29 with these weights): "a dog" is
# dropped (<= 0.3); step 2 scores the two survivors against the official filter's single-character
# texts (0.68 / 0.31). Closest score to the threshold 1.8e-3 away; observed gap <= 3.1e-4 (circle
# rasterisation) -> tolerance 1e-3. Both sides shrink the classifier input 2.3x with Pillow's
# bicubic (ovseg: PilBicubic, bit-exact), as do the runs above (coco-object scores now agree to ~2e-5). Steps only: the referring output has no proposal maps.
refer_sentences="a sleeping cat,the red car,a dog"
java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
    segment --model "$car_bundle" --labels "$refer_sentences" --refer --preset refcoco --out "$work/car-refcoco" \
    --cache-dir "$work/cache" --image "$samples/0_image.png" || status=1
"$PY" tools/reference/car_reference.py --cam-checkpoint "$car_ckpt/ck-cam" --classifier-checkpoint "$car_ckpt/ck-classifier" \
    --labels "$refer_sentences" --preset refcoco --refer --image "$samples/0_image.png" --out "$work/car-refcoco/ref" \
    >"$work/car-refcoco/reference.log" 2>&1 || { cat "$work/car-refcoco/reference.log"; status=1; }
echo "car parity refcoco refer 0_image:"
"$PY" tools/reference/compare_car.py "$work/car-refcoco/0_image.json" none "$work/car-refcoco/ref/0_image" --steps-only \
    --score-tol 1e-3 || status=1
"$PY" -c "import json,sys; s=json.load(open(sys.argv[1]))['steps']; assert len(s[0]['kept']) < len(s[0]['queries']) and len(s[-1]['kept']) >= 2, s; print('car refcoco refer: a sentence dropped, two scored jointly: ok')" \
    "$work/car-refcoco/0_image.json" || status=1
java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
    segment --model "$car_bundle" --labels "cat,dog" --stuff "sky,wall,floor" --preset context --out "$work/car-stuff" \
    --cache-dir "$work/cache" --image "$samples/0_image.png"
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert [l['label'] for l in d['labels']]==['cat','dog','sky','wall','floor'], d; print('car stuff smoke: ok')" \
    "$work/car-stuff/0_image.json" || status=1

# SAM automatic masks (CaR's optional SAM merge): a small random SamModel (seed 0; tools/export/export_sam.py
# --random --small, which also self-checks both graphs against PyTorch) through `ovseg sam-masks`, against
# tools/reference/sam_reference.py (the transformers SamModel directly + segment-anything's generator
# semantics re-implemented, no ONNX) with 8 points per side. Random weights give image-wide masks of
# predicted IoU -0.2..0.8 and stability 0..0.75, so the thresholds are lowered until masks survive:
# pred_iou 0.3 and stability 0.5 keep 59 of 192 candidates on 0_image and 7 on crop.png (NMS off, 1.0,
# so every filtered mask is compared); with NMS 0.7 on 8_image the near-identical full-image boxes leave
# one mask (NMS itself is unit-tested on hand-made boxes). compare_sam.py: equal counts and order, mask
# IoU >= 0.99 and <= 0.1% differing pixels (observed: at most 1 pixel, a logit within float rounding of
# 0), predicted IoU within 1e-4 (observed ~1e-6), stability within 2e-3 (observed ~6e-6), boxes within 1px.
sam_ckpt="$work/sam-ckpt"
sam_bundle="$work/sam-bundle"
"$PY" tools/export/export_sam.py --random --small --seed 0 --save-checkpoint "$sam_ckpt" --out "$sam_bundle" \
    >"$work/export-sam.log" 2>&1 || { cat "$work/export-sam.log"; exit 1; }
sam_run() { # out-dir pred-iou stability nms images...
    local out="$1" pred="$2" stab="$3" nms="$4"
    shift 4
    java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
        sam-masks --model "$sam_bundle" --out "$out" --points-per-side 8 --pred-iou-thresh "$pred" --stability-thresh "$stab" \
        --nms "$nms" $(printf -- '--image %s ' "$@") || return 1
    "$PY" tools/reference/sam_reference.py --checkpoint "$sam_ckpt" --image "$@" --out "$out/ref" --points-per-side 8 \
        --pred-iou-thresh "$pred" --stability-thresh "$stab" --nms "$nms" >"$out/reference.log" 2>&1 \
        || { cat "$out/reference.log"; return 1; }
}
sam_run "$work/sam" 0.3 0.5 1.0 "$samples/0_image.png" "$work/crop.png" || status=1
echo "sam parity 0_image (pred_iou 0.3, stability 0.5, no NMS):"
"$PY" tools/reference/compare_sam.py "$work/sam/0_image" "$work/sam/ref/0_image" --min-masks 20 || status=1
echo "sam parity crop (pred_iou 0.3, stability 0.5, no NMS):"
"$PY" tools/reference/compare_sam.py "$work/sam/crop" "$work/sam/ref/crop" --min-masks 3 || status=1
sam_run "$work/sam-nms" 0.3 0.5 0.7 "$samples/8_image.png" || status=1
echo "sam parity 8_image (pred_iou 0.3, stability 0.5, NMS 0.7):"
"$PY" tools/reference/compare_sam.py "$work/sam-nms/8_image" "$work/sam-nms/ref/8_image" --min-masks 1 || status=1
# Smoke: CaR with the SAM merge (a 4x4 grid: the official filters leave few or no random masks; the run
# must complete, time "sam", and keep the label list).
java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
    segment --model "$car_bundle" --labels "$car_labels" --sam "$sam_bundle" --sam-points 4 --out "$work/car-sam" \
    --cache-dir "$work/cache" --image "$samples/0_image.png"
"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['pipeline']=='car' and 'sam' in d['timings_ms'] and len(d['labels'])==3, d; print('car sam smoke: ok')" \
    "$work/car-sam/0_image.json" || status=1

# OVSegmentor (issue 11): a small random checkpoint in the official key layout (width 64, 2+2 blocks,
# 16 group tokens -> 4 groups, 2-layer BERT with a local WordPiece vocabulary; export_ovsegmentor.py
# --make-random small) exported with its ORT self-check (fp32 and fp16 graphs, strict key loading),
# then `ovseg segment --pipeline ovsegmentor` against tools/reference/ovsegmentor_reference.py (a
# functional re-implementation on the raw state dict; BertTokenizer + BertModel from transformers)
# on two VOC photos (one 448 crop each) and the demo scene (597x448: two overlapping crops), default
# background threshold 0.95, and the demo scene once more with --preset ade (no background: ADE20K has
# no background class, so the official wrapper never applies its threshold). Checks: per crop, the hard group
# assignment identical at every patch clear of a near-tie (assignment-logit margin > 1e-4) and
# group-text cosines within 1e-3 (compare_ovsegmentor.py); the merged planes (background first)
# within 1e-3 and labels >= 99.9% equal away from near-ties (compare_logits.py).
ovsegmentor_parity() {
    local d="$work/ovsegmentor" rc=0
    local labels="cat,dog,person,sofa,sky,car,bird"
    mkdir -p "$d"
    "$PY" tools/export/export_ovsegmentor.py --make-random small --out "$d/ckpt" >"$d/make.log" 2>&1 || { cat "$d/make.log"; return 1; }
    "$PY" tools/export/export_ovsegmentor.py --checkpoint "$d/ckpt" --out "$d/bundle" >"$d/export.log" 2>&1 \
        || { cat "$d/export.log"; return 1; }
    local all=("$samples/0_image.png" "$samples/8_image.png" "$root/tools/data/demo/car-scene.png")
    local run flags ref_flags imgs save
    for run in default ade; do
        flags=() ref_flags=() imgs=("${all[@]}") save="$d/$run"
        [[ $run == ade ]] && { flags=(--preset ade); ref_flags=(--bg-threshold 0); imgs=("${all[2]}"); save="$d/$run/car-scene.logits.npy"; }
        java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
            segment --pipeline ovsegmentor --model "$d/bundle" --labels "$labels" "${flags[@]}" --out "$d/$run" \
            --save-logits "$save" --cache-dir "$work/cache" $(printf -- '--image %s ' "${imgs[@]}") || return 1
        "$PY" tools/reference/ovsegmentor_reference.py --checkpoint "$d/ckpt" --labels "$labels" "${ref_flags[@]}" \
            --image "${imgs[@]}" --out "$d/$run/ref" >"$d/$run/reference.log" 2>&1 || { cat "$d/$run/reference.log"; return 1; }
        for img in "${imgs[@]}"; do
            local stem
            stem="$(basename "${img%.*}")"
            echo "ovsegmentor parity $run $stem:"
            "$PY" tools/reference/compare_ovsegmentor.py "$d/$run/$stem.json" "$d/$run/ref/$stem/crops.json" || rc=1
            "$PY" tools/reference/compare_logits.py "$d/$run/$stem.logits.npy" "$d/$run/ref/$stem/logits.npy" \
                --labels "background,$labels" || rc=1
        done
    done
    return $rc
}
ovsegmentor_parity || status=1
# X-Decoder (issue 12): the expected official key/shape lists and strict loading (Focal-T, Focal-L, reduced
# configs), the FocalNet backbone against transformers' FocalNetModel, then a reduced-width "focal" model exported
# with tools/export/export_xdecoder.py (ONNX Runtime self-check inside), segmented by `ovseg segment` (generic and
# --refer, two sentences) on two photos and compared with tools/reference/xdecoder_reference.py (independent
# PyTorch inference on the saved state_dict): the reference's own run of the bundle's graphs first (class and mask
# logits within 1e-3 x spread, same referring queries), then ovseg's semantic maps with compare_logits.py (1e-3 x
# spread, labels identical outside near-ties) and its referring masks (identical outside |logit| < 1e-3 x spread).
xdecoder_parity() {
    local t=$(date +%s) d="$work/xdecoder" img
    mkdir -p "$d"
    "$PY" tools/export/xdecoder_keys.py --check || return 1
    "$PY" tools/reference/xdecoder_focalnet_hf.py --config tiny-focal --size 96x64 | tail -1 || return 1
    "$PY" tools/export/export_xdecoder.py --config tiny-focal --random 7 --save-checkpoint "$d/ckpt.pt" \
        --out "$d/bundle" --no-fp16 --check-sizes 64x96 >"$d/export.log" 2>&1 || { cat "$d/export.log"; return 1; }
    local xlabels="cat,dog,person,sofa,sky" s1="the cat" s2="a dog on the sofa"
    "$PY" tools/reference/xdecoder_reference.py --checkpoint "$d/ckpt.pt" --config tiny-focal --size 160 \
        --image "$samples/0_image.png" --image "$work/crop.png" --labels "$xlabels" \
        --refer "$s1" --refer "$s2" --out "$d/ref" --compare-bundle "$d/bundle" || return 1
    local run=(java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*"
        org.ovseg.cli.Main segment --model "$d/bundle" --size 160 --cache-dir "$work/cache")
    "${run[@]}" --labels "$xlabels" --out "$d/seg" --save-logits "$d/seg" --image "$samples/0_image.png" \
        --image "$work/crop.png" >/dev/null || return 1
    "${run[@]}" --refer --labels "$s1,$s2" --out "$d/refer" --save-logits "$d/refer" --image "$samples/0_image.png" \
        --image "$work/crop.png" >/dev/null || return 1
    for img in 0_image crop; do
        echo "xdecoder semantic $img:"
        "$PY" tools/reference/compare_logits.py "$d/seg/$img.logits.npy" "$d/ref/$img/semantic.npy" --labels "$xlabels" \
            --min-classes 3 || return 1
        "$PY" - "$d/refer/$img.logits.npy" "$d/ref/$img/refer.npy" "$img" "$d/refer/$img.labels.png" "$d/refer/$img.json" <<'PYEOF' || return 1
import json, sys, numpy as np
from PIL import Image
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.shape == b.shape, (a.shape, b.shape)
spread = float(b.max() - b.min())
clear = np.abs(b) > 1e-3 * spread
diff = int(((a > 0) != (b > 0))[clear].sum())
err = float(np.abs(a - b).max())
# One mask per sentence: label i where sentence i's logit is the largest and positive (first on ties).
meta = json.load(open(sys.argv[5]))
want = np.where(b.max(0) > 0, b.argmax(0), meta["unassigned_value"])
top2 = np.sort(b, 0)[-2:]
sure = (np.abs(top2[-1]) > 1e-3 * spread) & ((top2[-1] - top2[0]) > 1e-3 * spread)
ldiff = int((np.asarray(Image.open(sys.argv[4])) != want)[sure].sum())
labels = [l["label"] for l in meta["labels"]]
print(f"xdecoder referring {sys.argv[3]}: {a.shape[0]} masks, {diff} differing pixels outside near-ties, "
      f"max |logit err| {err:.2e} (spread {spread:.3g}); label map: {ldiff} differing pixels outside near-ties, labels {labels}")
sys.exit(0 if diff == 0 and err <= 1e-3 * spread and ldiff == 0 and len(labels) == a.shape[0] else 1)
PYEOF
    done
    echo "xdecoder parity: $(( $(date +%s) - t )) s"
}
xdecoder_parity || status=1
# CaR with the SAM merge (coco-object: iom 0.7, min_pred 0.01, replace IoU 0.9) against
# tools/reference/car_sam_merge_reference.py (the official get_sam_masks / match_masks / IoM / IoU,
# in torch). Its inputs: the no-SAM run's label map (CaR's CRF gives each pixel one label, so a painted
# query's post-CRF mask is its pixels there; the CRF and the steps are checked above) and
# `ovseg sam-masks` with the CaR run's generator settings (SAM itself is checked above). Random SAM
# weights give masks covering ~80-97% of the image each, so the filters are lowered (pred_iou 0.0,
# stability 0.2, no NMS: 128 masks on 114_image) to make the merge act: with dog,bird,car, "car"
# (96% of the image) is replaced by the union of the SAM masks it overlaps (IoU 0.96), "bird" (4%)
# is not (its union covers the image). The parity needs at least one replacement and equal label maps.
# (513x513 photos: the classifier input is shrunk 2.29x with PIL bicubic, as in every CaR case above.)
car_sam_parity() {
    local out="$work/car-sam-merge" img="$samples/114_image.png" stem=114_image
    local java=(java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main)
    local gen=(--pred-iou-thresh 0.0 --stability-thresh 0.2 --nms 1.0)
    "${java[@]}" segment --model "$car_bundle" --labels "$car_labels" --preset coco-object --out "$out/plain" \
        --cache-dir "$work/cache" --image "$img" || return 1
    "${java[@]}" sam-masks --model "$sam_bundle" --out "$out/sam" --points-per-side 8 "${gen[@]}" --image "$img" || return 1
    "${java[@]}" segment --model "$car_bundle" --labels "$car_labels" --preset coco-object --sam "$sam_bundle" --sam-points 8 \
        --sam-pred-iou 0.0 --sam-stability 0.2 --sam-nms 1.0 --out "$out/merged" --cache-dir "$work/cache" --image "$img" || return 1
    "$PY" tools/reference/car_sam_merge_reference.py --crf-labels "$out/plain/$stem.labels.png" --sam-masks "$out/sam/$stem.sam.npy" \
        --json "$out/plain/$stem.json" --iom 0.7 --min-pred 0.01 --matching 0.9 --out "$out/expected.npy" | tee "$out/reference.log" || return 1
    echo "car parity coco-object + SAM merge $stem:"
    "$PY" - "$out/merged/$stem.labels.png" "$out/expected.npy" "$out/plain/$stem.labels.png" "$out/reference.log" <<'PYEOF'
import re, sys
import numpy as np
from PIL import Image
got, want, plain = np.array(Image.open(sys.argv[1])), np.load(sys.argv[2]), np.array(Image.open(sys.argv[3]))
replaced = int(re.search(r"replaced=(\d+)", open(sys.argv[4]).read()).group(1))
diff, moved = int((got != want).sum()), int((got != plain).sum())
print(f"  pixels differing from the reference: {diff}; changed by the merge: {moved}; masks replaced: {replaced}")
assert replaced >= 1 and moved > 0, "the SAM merge did nothing: a degenerate parity"
assert diff == 0, "ovseg's SAM merge differs from the official one"
PYEOF
}
car_sam_parity || status=1
# fp16 variants of the CaR bundle (export_car.py; the TensorRT path runs them by default): listed for
# every network, the files present, and the exporter's ONNX Runtime fp16-vs-fp32 check passed.
car_fp16_manifest() {
    "$PY" - "$car_bundle" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "bundle.json")))
nets = m["networks"]
for role in ("text", "car_cam", "car_classifier_image", "car_classifier_text"):
    v = nets[role].get("variants", {}).get("fp16")
    assert v and os.path.isfile(os.path.join(d, v["file"])), f"{role}: no fp16 variant"
res = m["source"]["car_fp16"]["results"]
assert len(res) == 5 and all(r["ok"] for r in res.values()), res
print("car fp16 variants: " + ", ".join(f"{k} rel {r['rel_err']:.1e}" for k, r in res.items()))
PYEOF
}
car_fp16_manifest || status=1
# ODISE (issue 10): a reduced-width random ODISE (tools/export/odise_modules.py + sd_modules.py at the
# official key names: SD v1 UNet/VAE at 32 wide, implicit captioner, 8 taps, bottleneck projections) exported
# and self-checked in ONNX Runtime; the backbone graph also against the reference's own backbone walk,
# (seed 1: 3-4 person segments per photo; seed 0 left two photos without a segment), segmented by
# `ovseg segment --pipeline odise` and by tools/reference/odise_reference.py (PyTorch, the
# official inference re-implemented: PIL resize, slide tiling, hard mask pooling, MaskCLIP attention
# masks, ensemble, Mask2Former panoptic merge); before that, the official head's key/shape list
# (tools/export/odise_head_keys.txt) and the full SD v1 / backbone lists (odise_sd_keys.txt,
# odise_backbone_keys.txt, meta device) must load strictly into the modules. compare_odise.py: semantic maps within 1e-3 x spread,
# identical segments, panoptic ids equal outside near-ties. Short side 320 (crops 256: 2x2 tiles on
# the square photos, 2x2 shifted on the 500x375 crop, which also pads 427 -> 448). First the mask
# generator alone against transformers' Mask2FormerPixelDecoder + Mask2FormerTransformerModule with the
# checkpoint's weights mapped onto them (tools/reference/check_mask2former.py, 1e-4 relative).
odise_parity() {
    local ow="$work/odise" labels="person|man,cat,dog,car,bird,bottle,chair,horse" stuff="sky,wall,grass"
    mkdir -p "$ow/ovseg"
    "$PY" tools/export/test_odise_keys.py || return 1
    "$PY" tools/export/test_odise_backbone_keys.py || return 1
    "$PY" tools/export/test_odise_text_keys.py || return 1
    "$PY" tools/export/test_odise_captioner_resize.py || return 1
    # Through the official path: random stand-ins in the official files' formats (reduced widths), exported in
    # official mode; the reference runs on the state the maker recorded, not on what the exporter assembled.
    "$PY" tools/export/make_odise_official_files.py --config small --seed 1 --out "$ow/files" || return 1
    "$PY" tools/export/test_odise_official_files.py --files "$ow/files" || return 1
    "$PY" tools/export/export_odise.py --config small --sd-ckpt "$ow/files/sd-v1-3.ckpt" \
        --odise-ckpt "$ow/files/odise_label_coco_50e.pth" --clip "$ow/files/ViT-L-14-336px.pt" --out "$ow/bundle" \
        --fp16 >"$ow/export.log" 2>&1 || { cat "$ow/export.log"; return 1; }
    grep -E "self-check|  fp16 " "$ow/export.log" || true  # fp32 graphs vs the modules, fp16 variants vs fp32 (the exporter fails past its bounds)
    echo "odise mask generator vs transformers' Mask2Former (mapped weights):"
    "$PY" tools/reference/check_mask2former.py --checkpoint "$ow/files/reference/odise.pt" --image "$samples/0_image.png" || return 1
    local imgs=("$samples/0_image.png" "$samples/1_image.png" "$work/crop.png")
    java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main \
        segment --model "$ow/bundle" --labels "$labels" --stuff "$stuff" --out "$ow/ovseg" --save-logits "$ow/ovseg" \
        --cache-dir "$work/cache" $(printf -- '--image %s ' "${imgs[@]}") || return 1
    "$PY" tools/reference/odise_reference.py --checkpoint "$ow/files/reference/odise.pt" --labels "$labels" --stuff "$stuff" \
        --short 320 --max-size 640 --backbone-size 256 --image "${imgs[@]}" --out "$ow/ref" --bundle "$ow/bundle" \
        >"$ow/reference.log" 2>&1 || { cat "$ow/reference.log"; return 1; }
    grep "backbone graph vs reference" "$ow/reference.log"
    local rc=0 img stem
    for img in "${imgs[@]}"; do
        stem="$(basename "${img%.*}")"
        echo "odise parity $stem:"
        "$PY" tools/reference/compare_odise.py "$ow/ovseg/$stem.logits.npy" "$ow/ovseg/$stem.panoptic.png" "$ow/ovseg/$stem.json" \
            "$ow/ref/$stem" || rc=1
    done
    return $rc
}
odise_parity || status=1

# Graphs past 2 GiB (ONNX external data): the exporter helpers at a lowered threshold (both routes, fp16 streamed,
# manifest hashes), then ovseg's BundleLoader on the bundle they write (data file found, hashed, run-ready).
external_data_check() {
    local ew="$work/external-data"
    rm -rf "$ew"
    "$PY" tools/export/test_external_data.py --bundle "$ew/bundle" >"$ew.log" 2>&1 || { cat "$ew.log"; return 1; }
    tail -1 "$ew.log"
    java -cp "$root/java/target/ovseg.jar:$root/java/target/lib/*" org.ovseg.cli.Main models "$ew/bundle" >"$ew-models.log" 2>&1 \
        || { cat "$ew-models.log"; return 1; }
    grep -q "network g        g.onnx + g.onnx.data (fp32" "$ew-models.log" || { echo "ovseg models did not list g.onnx.data"; cat "$ew-models.log"; return 1; }
    echo "external data: ovseg models accepts the exported bundle ($(grep -c . "$ew-models.log") lines)"
}
external_data_check || status=1

echo "parity: $(( $(date +%s) - t0 )) s"
exit $status

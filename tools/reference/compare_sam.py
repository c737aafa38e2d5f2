#!/usr/bin/env python3
"""Compare ovseg's SAM automatic masks (`ovseg sam-masks`: <stem>.sam.npy + <stem>.sam.json) with
tools/reference/sam_reference.py's (<ref>/<stem>/masks.npz).

Passes when: the mask counts are equal; mask i of ovseg and mask i of the reference (both in NMS
order) have IoU >= --min-iou (default 0.99) and at most --max-diff-pixels differing pixels
(default: 0.1% of the image); their predicted IoUs agree to --iou-tol (1e-4), stability scores to
--stability-tol (2e-3) and boxes to --box-tol pixels (1). The differences come from float rounding
(ONNX Runtime vs PyTorch, ovseg's fused upsampling vs F.interpolate twice): a logit within ~1e-5
of 0 or of +-1 may fall on the other side.

  python tools/reference/compare_sam.py OVSEG_DIR/<stem> REF_DIR/<stem> [--min-masks 2]
"""
import argparse
import json
import sys

import numpy as np


def nan_max(a, b):
    """max() that keeps a NaN (the builtin returns its first argument when the second is NaN)."""
    return a if a != a else b if b != b else max(a, b)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ovseg", help="prefix of <stem>.sam.npy / <stem>.sam.json")
    ap.add_argument("ref", help="reference directory holding masks.npz")
    ap.add_argument("--min-iou", type=float, default=0.99)
    ap.add_argument("--max-diff-pixels", type=int, default=-1)
    ap.add_argument("--iou-tol", type=float, default=1e-4)
    ap.add_argument("--stability-tol", type=float, default=2e-3)
    ap.add_argument("--box-tol", type=int, default=1)
    ap.add_argument("--min-masks", type=int, default=1, help="fail when fewer masks survive (a degenerate test)")
    args = ap.parse_args(argv)

    masks = np.load(args.ovseg + ".sam.npy").astype(bool)
    with open(args.ovseg + ".sam.json") as f:
        meta = json.load(f)["masks"]
    ref = np.load(args.ref + "/masks.npz")
    rm = ref["masks"]
    problems = []
    if masks.shape[0] != rm.shape[0]:
        problems.append(f"mask count: ovseg {masks.shape[0]}, reference {rm.shape[0]}")
    if masks.shape[0] < args.min_masks:
        problems.append(f"only {masks.shape[0]} masks survive (< {args.min_masks}): thresholds too strict for this model")
    n = min(masks.shape[0], rm.shape[0])
    if n and masks.shape[1:] != rm.shape[1:]:
        problems.append(f"mask size: ovseg {masks.shape[1:]}, reference {rm.shape[1:]}")
        n = 0
    max_diff = args.max_diff_pixels if args.max_diff_pixels >= 0 else int(0.001 * rm.shape[1] * rm.shape[2]) if n else 0
    worst_iou, worst_diff, worst_pi, worst_st, worst_box = 1.0, 0, 0.0, 0.0, 0
    for i in range(n):
        a, b = masks[i], rm[i]
        union = np.logical_or(a, b).sum()
        iou = 1.0 if union == 0 else np.logical_and(a, b).sum() / union
        diff = int(np.logical_xor(a, b).sum())
        dpi = abs(meta[i]["predicted_iou"] - float(ref["iou_preds"][i]))
        dst = abs(meta[i]["stability_score"] - float(ref["stability"][i]))
        dbox = float(np.max(np.abs(np.array(meta[i]["box_xyxy"], dtype=np.float64) - ref["boxes"][i])))
        worst_iou, worst_diff = min(worst_iou, iou), max(worst_diff, diff)
        worst_pi, worst_st, worst_box = nan_max(worst_pi, dpi), nan_max(worst_st, dst), nan_max(worst_box, dbox)
        # Written as `not x <= tol`: a NaN (e.g. a NaN score in ovseg's JSON) compares false and fails.
        if iou < args.min_iou or diff > max_diff:
            problems.append(f"mask {i}: IoU {iou:.5f}, {diff} pixels differ")
        if not dpi <= args.iou_tol:
            problems.append(f"mask {i}: predicted IoU {meta[i]['predicted_iou']:.6f} vs {float(ref['iou_preds'][i]):.6f}")
        if not dst <= args.stability_tol:
            problems.append(f"mask {i}: stability {meta[i]['stability_score']:.6f} vs {float(ref['stability'][i]):.6f}")
        if not dbox <= args.box_tol:
            problems.append(f"mask {i}: box {meta[i]['box_xyxy']} vs {ref['boxes'][i].tolist()}")
    print(f"  {masks.shape[0]} masks (reference {rm.shape[0]}); worst mask IoU {worst_iou:.6f}, worst differing pixels "
          f"{worst_diff} (<= {max_diff}), max |pred IoU diff| {worst_pi:.2e}, max |stability diff| {worst_st:.2e}, "
          f"max box diff {worst_box:g}px")
    for p in problems[:20]:
        print("  FAIL " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare ovseg's ODISE outputs (logits.npy = semantic maps, panoptic.png, JSON) with odise_reference.py's.

Fails when: max |semantic error| > tol x the reference's spread (the semantic map Σ_q softmax(cls_q)·σ(mask_q)
carries both the class logits and the upsampled mask logits); the segment lists differ in id, category
or thing flag; or panoptic ids differ on more than --max-diff of the pixels that are not near-ties
(reference: top-2 of score·σ within 1e-4 relative, or the winner's σ within 1e-4 of 0.5)."""
import argparse
import json
import sys

import cv2
import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ovseg_logits")
    ap.add_argument("ovseg_panoptic_png")
    ap.add_argument("ovseg_json")
    ap.add_argument("ref_dir")
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--max-diff", type=float, default=1e-3)
    ap.add_argument("--min-segments", type=int, default=1)
    a = ap.parse_args()
    got = np.load(a.ovseg_logits)
    want = np.load(a.ref_dir + "/semantic.npy")
    ok = True
    if got.shape != want.shape or not np.isfinite(got).all():
        print(f"  semantic maps: shape {got.shape} vs {want.shape}, finite {np.isfinite(got).all()}")
        return 1
    spread = float(want.max() - want.min())
    err = float(np.abs(got - want).max())
    print(f"  semantic maps {got.shape}: max |err| {err:.3e} = {err / spread:.3e} x spread {spread:.3f} (tol {a.tol})")
    ok &= err <= a.tol * spread
    bgr = cv2.imread(a.ovseg_panoptic_png, cv2.IMREAD_COLOR)
    ids = bgr[..., 2].astype(np.int64) + 256 * bgr[..., 1].astype(np.int64) + 65536 * bgr[..., 0].astype(np.int64)
    ref_ids = np.load(a.ref_dir + "/panoptic_ids.npy")
    near = np.load(a.ref_dir + "/near_tie.npy")
    clear = ~near
    diff = float(((ids != ref_ids) & clear).sum() / max(1, clear.sum()))
    print(f"  panoptic ids: {diff:.2e} of {int(clear.sum())} clear pixels differ ({int(near.sum())} near-ties)")
    ok &= diff <= a.max_diff
    segs = [(s["id"], s["category_id"], int(s["isthing"])) for s in json.load(open(a.ovseg_json))["segments_info"]]
    ref = [(s["id"], s["category_id"], s["isthing"]) for s in json.load(open(a.ref_dir + "/segments.json"))]
    print(f"  segments ovseg {segs}\n           ref   {ref}")
    ok &= segs == ref and len(ref) >= a.min_segments
    print("  " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

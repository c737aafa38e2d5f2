#!/usr/bin/env python3
"""Compares ovseg's CaR run on one image with tools/reference/car_reference.py's.

  python tools/reference/compare_car.py OVSEG_JSON OVSEG_PROPOSALS.npy REF_DIR [--score-tol T] [--map-tol T]

OVSEG_JSON is `ovseg segment`'s <stem>.json (its "steps"), OVSEG_PROPOSALS.npy what
`--save-logits` writes for a car bundle (float32 [Q, H, W], the final proposals before the CRF in
the order of the last step's queries), REF_DIR the reference's <stem> directory (steps.json,
proposals.npy).

Checks, failing (exit 1) on any:
  * the same number of steps, and per step the same queries (in order) and the same kept queries;
  * per step, max |score_ovseg - score_ref| <= --score-tol (default 2e-3). The scores are softmax
    outputs in [0, 1]; what separates the two sides is float32 ONNX Runtime vs float64 torch
    (~1e-6), the proposals' float32 rounding at the mask threshold (a pixel in or out of a visual
    prompt) and the circle prompt's rasterisation (ovseg samples the analytic ellipse, cv2.ellipse
    draws a polygon: a few pixels differ on large ellipses), which moves the classifier's
    near-uniform scores by ~1e-4 on the random test models;
  * the final proposals: same shape, max |map_ovseg - map_ref| <= --map-tol (default 1e-3; the maps
    are min-max normalised to [0, 1]). Both sides resize the Grad-CAM input with PyTorch-style
    bicubic (ovseg's documented deviation from the official PIL resize; the reference follows it),
    so what remains is float32 vs float64 arithmetic (~1e-5).
A near tie at the confidence threshold (|score - threshold| < score tolerance) makes "kept" ill
defined; it is reported, and a kept-set mismatch at such a step fails all the same (pick other
labels or thresholds).
"""
import argparse
import json
import os
import sys

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ovseg_json")
    ap.add_argument("ovseg_proposals")
    ap.add_argument("ref_dir")
    ap.add_argument("--score-tol", type=float, default=2e-3)
    ap.add_argument("--map-tol", type=float, default=1e-3)
    ap.add_argument("--steps-only", action="store_true",
                    help="compare the steps only (referring runs: ovseg writes no proposal maps); OVSEG_PROPOSALS is ignored")
    args = ap.parse_args(argv)

    with open(args.ovseg_json) as f:
        ov = json.load(f)
    with open(os.path.join(args.ref_dir, "steps.json")) as f:
        ref = json.load(f)
    ok = True
    ov_steps, ref_steps = ov.get("steps", []), ref["steps"]
    conf = ref.get("confidence_threshold")
    if len(ov_steps) != len(ref_steps):
        print(f"  FAIL: {len(ov_steps)} steps in ovseg, {len(ref_steps)} in the reference")
        ok = False
    worst_score = 0.0
    pruned = 0
    for i, (a, b) in enumerate(zip(ov_steps, ref_steps)):
        same_q, same_k = a["queries"] == b["queries"], a["kept"] == b["kept"]
        d = float(np.abs(np.array(a["scores"]) - np.array(b["scores"])).max()) if same_q else float("inf")
        worst_score = d if d != d or worst_score != worst_score else max(worst_score, d)  # keeps a NaN
        pruned += len(b["queries"]) - len(b["kept"])
        tie = conf is not None and any(abs(s - conf) < args.score_tol for s in b["scores"])
        step_ok = same_q and same_k and d <= args.score_tol
        ok &= step_ok
        print(f"  step {i + 1}: queries {a['queries']}{'' if same_q else ' != ref ' + str(b['queries'])} | kept "
              f"{a['kept']}{'' if same_k else ' != ref ' + str(b['kept'])} | max|dscore| {d:.2e} "
              f"(ovseg {[round(s, 5) for s in a['scores']]}, ref {[round(s, 5) for s in b['scores']]})"
              f"{' | NEAR TIE at the threshold' if tie else ''} {'ok' if step_ok else 'FAIL'}")
    mo = None if args.steps_only else np.load(args.ovseg_proposals)
    mr = np.load(os.path.join(args.ref_dir, "proposals.npy"))
    if mo is None:
        dmap = float("nan")
        print(f"  final proposals: not compared (--steps-only; reference {list(mr.shape)})")
    elif mo.shape != mr.shape:
        print(f"  FAIL: proposals {mo.shape} (ovseg) vs {mr.shape} (reference)")
        ok = False
        dmap = float("inf")
    else:
        dmap = float(np.abs(mo.astype(np.float64) - mr).max())
        mean = float(np.abs(mo.astype(np.float64) - mr).mean())
        map_ok = dmap <= args.map_tol
        ok &= map_ok
        print(f"  final proposals {list(mo.shape)}: max|d| {dmap:.2e} (mean {mean:.1e}, tol {args.map_tol:g}) "
              f"{'ok' if map_ok else 'FAIL'}")
    print(f"  summary: {len(ref_steps)} steps, {pruned} queries pruned, max|dscore| {worst_score:.2e} "
          f"(tol {args.score_tol:g}), max|dmap| {dmap:.2e} (tol {args.map_tol:g}) -> {'ok' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

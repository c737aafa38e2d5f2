#!/usr/bin/env python3
"""Compare ovseg's OVSegmentor crop records with the reference's.

  python tools/reference/compare_ovsegmentor.py OVSEG_RESULT.json REFERENCE_CROPS.json

OVSEG_RESULT.json is `ovseg segment --pipeline ovsegmentor --save-logits ...`'s per-image JSON (its
"steps": one record per crop); REFERENCE_CROPS.json is tools/reference/ovsegmentor_reference.py's
crops.json. Per crop, in order:
  * windows and patch grids identical;
  * hard group assignment identical at every patch whose reference top-2 assignment-logit margin
    exceeds --tie (default 1e-4; closer ones may flip under float rounding and are reported);
  * group-text cosine similarities within --sim-err (default 1e-3).
Exit status 0 when all hold, 1 when a check fails, 2 on unusable input.
"""
import argparse
import json
import sys

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ovseg")
    ap.add_argument("reference")
    ap.add_argument("--tie", type=float, default=1e-4)
    ap.add_argument("--sim-err", type=float, default=1e-3)
    args = ap.parse_args(argv)
    ours = json.load(open(args.ovseg)).get("steps")
    ref = json.load(open(args.reference))
    if not ours:
        print("ovseg result has no crop records (run with --save-logits)")
        return 2
    ok = True
    if len(ours) != len(ref):
        print(f"crop count differs: ovseg {len(ours)}, reference {len(ref)}")
        return 1
    for i, (a, b) in enumerate(zip(ours, ref)):
        if a["window"] != b["window"] or a["grid"] != b["grid"]:
            print(f"crop {i}: window/grid {a['window']}/{a['grid']} vs reference {b['window']}/{b['grid']}")
            ok = False
            continue
        ga, gb, margin = np.array(a["groups"]), np.array(b["groups"]), np.array(b["margins"])
        sa, sb = np.array(a["similarities"], dtype=np.float64), np.array(b["similarities"], dtype=np.float64)
        if not (np.isfinite(sa).all() and np.isfinite(sb).all()) or ga.shape != gb.shape or sa.shape != sb.shape:
            print(f"crop {i}: unusable records (shapes {ga.shape}/{gb.shape}, {sa.shape}/{sb.shape} or NaN)")
            return 2
        clear = margin > args.tie
        diff = int(np.sum((ga != gb) & clear))
        err = float(np.max(np.abs(sa - sb)))
        used = len(set(gb.tolist()))
        good = diff == 0 and err <= args.sim_err and clear.mean() >= 0.5
        ok &= good
        print(f"crop {i} {a['window']}: groups differ at {diff} of {int(clear.sum())} clear patches "
              f"({int((~clear).sum())} near-ties left out, {used} groups used); max |cos err| {err:.2e} "
              f"(bound {args.sim_err:g}) {'OK' if good else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

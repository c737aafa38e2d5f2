#!/usr/bin/env python3
"""Self-test of the parity comparators: each passes a clean case and fails one with a NaN in the
middle (np.max of an array holding a NaN is NaN, and `nan > tol` is False: a check written as
`if err > tol: fail` lets it through). Numpy only, a fraction of a second; tools/ci/parity.sh
runs it first.

  python tools/reference/check_comparators.py
"""
import contextlib
import io
import json
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_car  # noqa: E402
import compare_logits  # noqa: E402
import compare_sam  # noqa: E402


def quiet(fn, argv):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(argv)


def logits_cases(d):
    rng = np.random.default_rng(0)
    ref = rng.standard_normal((3, 4, 5)).astype(np.float32)
    bad = ref.copy()
    bad[1, 2, 2] = np.nan
    np.save(f"{d}/ref.npy", ref)
    np.save(f"{d}/bad.npy", bad)
    return (quiet(compare_logits.main, [f"{d}/ref.npy", f"{d}/ref.npy"]) == 0,
            quiet(compare_logits.main, [f"{d}/bad.npy", f"{d}/ref.npy"]) != 0)


def sam_cases(d):
    masks = np.zeros((3, 4, 4), bool)
    for i in range(3):
        masks[i, i:i + 2, i:i + 2] = True
    boxes = np.array([[i, i, i + 1, i + 1] for i in range(3)], np.float64)
    ious, stab = np.array([0.9, 0.8, 0.7]), np.array([0.95, 0.94, 0.93])
    os.makedirs(f"{d}/ref", exist_ok=True)
    np.savez(f"{d}/ref/masks.npz", masks=masks, boxes=boxes, iou_preds=ious, stability=stab)
    np.save(f"{d}/ov.sam.npy", masks)

    def meta(nan_at):
        m = [{"predicted_iou": float(ious[i]), "stability_score": float(stab[i]), "box_xyxy": boxes[i].tolist()}
             for i in range(3)]
        if nan_at is not None:
            m[nan_at]["predicted_iou"] = float("nan")
        with open(f"{d}/ov.sam.json", "w") as f:
            json.dump({"masks": m}, f)  # json writes NaN as the bare token NaN, and reads it back

    meta(None)
    clean = quiet(compare_sam.main, [f"{d}/ov", f"{d}/ref"]) == 0
    meta(1)
    return clean, quiet(compare_sam.main, [f"{d}/ov", f"{d}/ref"]) != 0


def car_cases(d):
    steps = [{"queries": ["a", "b"], "kept": ["a"], "scores": [0.9, 0.1]}]
    os.makedirs(f"{d}/car", exist_ok=True)
    with open(f"{d}/car/steps.json", "w") as f:
        json.dump({"steps": steps}, f)
    maps = np.linspace(0, 1, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    np.save(f"{d}/car/proposals.npy", maps)
    with open(f"{d}/ov.json", "w") as f:
        json.dump({"steps": steps}, f)
    np.save(f"{d}/ov.npy", maps)
    clean = quiet(compare_car.main, [f"{d}/ov.json", f"{d}/ov.npy", f"{d}/car"]) == 0
    bad = maps.copy()
    bad[0, 1, 1] = np.nan
    np.save(f"{d}/ov.npy", bad)
    nan_map = quiet(compare_car.main, [f"{d}/ov.json", f"{d}/ov.npy", f"{d}/car"]) != 0
    np.save(f"{d}/ov.npy", maps)
    with open(f"{d}/ov.json", "w") as f:
        json.dump({"steps": [dict(steps[0], scores=[float("nan"), 0.1])]}, f)
    nan_score = quiet(compare_car.main, [f"{d}/ov.json", f"{d}/ov.npy", f"{d}/car"]) != 0
    return clean, nan_map and nan_score


def main():
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name, case in (("compare_logits", logits_cases), ("compare_sam", sam_cases), ("compare_car", car_cases)):
            os.makedirs(f"{d}/{name}")
            clean_ok, nan_fails = case(f"{d}/{name}")
            ok = clean_ok and nan_fails
            failed += not ok
            print(f"{'ok' if ok else 'FAIL'} {name}: clean case {'passes' if clean_ok else 'FAILS'}, "
                  f"NaN in the middle {'fails' if nan_fails else 'PASSES'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

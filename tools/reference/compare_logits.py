#!/usr/bin/env python3
"""Compare ovseg's full-resolution logits with the reference MaskCLIP's.

  python tools/reference/compare_logits.py OVSEG_LOGITS.npy REFERENCE_LOGITS.npy [--labels names]

Both files are [K, H, W] float32 (ovseg: `./ovseg segment --save-logits FILE`; reference:
tools/reference/maskclip_reference.py's logits.npy). Prints the max (and mean) absolute logit
error and the agreement of the per-pixel argmax labels, counted only over pixels whose reference
top-2 margin exceeds --margin (default 1e-4: a near tie there may flip either way under
float-rounding differences, so such pixels are left out and their count is reported).

Exit status: 0 when max abs error <= --max-err (default 1e-3) and agreement >= --min-agreement
(default 0.999, i.e. 99.9 %); 1 when a check fails; 2 on unusable input (shape mismatch, NaN).
"""
import argparse
import sys

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ovseg", help="ovseg logits .npy [K,H,W]")
    ap.add_argument("reference", help="reference logits .npy [K,H,W]")
    ap.add_argument("--max-err", type=float, default=1e-3, help="max abs logit error allowed (1e-3)")
    ap.add_argument("--min-agreement", type=float, default=0.999, help="min label agreement (0.999)")
    ap.add_argument("--margin", type=float, default=1e-4,
                    help="near-tie threshold: pixels whose reference top-2 margin <= this are not counted (1e-4)")
    ap.add_argument("--labels", help="comma-separated class names, for the per-class report")
    args = ap.parse_args(argv)

    a = np.load(args.ovseg)
    b = np.load(args.reference)
    if a.shape != b.shape or a.ndim != 3:
        print(f"error: shape mismatch or not [K,H,W]: ovseg {a.shape}, reference {b.shape}")
        return 2
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        print(f"error: non-finite values (ovseg {np.count_nonzero(~np.isfinite(a))}, "
              f"reference {np.count_nonzero(~np.isfinite(b))})")
        return 2
    k, h, w = a.shape
    diff = np.abs(a - b)
    max_err = float(diff.max())
    where = np.unravel_index(int(diff.argmax()), diff.shape)
    la, lb = a.argmax(0), b.argmax(0)
    if k > 1:
        top2 = np.sort(b, axis=0)[-2:]
        margin = top2[1] - top2[0]
    else:
        margin = np.full((h, w), np.inf)
    counted = margin > args.margin
    n = int(counted.sum())
    agree = float((la == lb)[counted].mean()) if n else 1.0
    agree_all = float((la == lb).mean())

    print(f"logits [{k},{h},{w}]: max |ovseg-ref| = {max_err:.3e} at (k={where[0]}, y={where[1]}, x={where[2]}), "
          f"mean {diff.mean():.3e}; reference range [{b.min():.4f}, {b.max():.4f}]")
    print(f"labels: agreement {100 * agree:.4f}% over {n} of {h * w} pixels with reference top-2 margin > "
          f"{args.margin:g} ({h * w - n} near-tie pixels left out); {100 * agree_all:.4f}% over all pixels")
    if args.labels:
        names = [s.strip() for s in args.labels.split(",")]
        if len(names) == k:
            ca, cb = np.bincount(la.ravel(), minlength=k), np.bincount(lb.ravel(), minlength=k)
            print("pixels per class (ovseg/ref): " + ", ".join(f"{nm}={x}/{y}" for nm, x, y in zip(names, ca, cb)))
    ok = True
    if max_err > args.max_err:
        print(f"FAIL: max abs logit error {max_err:.3e} > {args.max_err:g}")
        ok = False
    if agree < args.min_agreement:
        print(f"FAIL: label agreement {100 * agree:.4f}% < {100 * args.min_agreement:g}%")
        ok = False
    if ok:
        print(f"OK (max abs error <= {args.max_err:g}, agreement >= {100 * args.min_agreement:g}%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare ovseg's full-resolution logits with the reference MaskCLIP's.

  python tools/reference/compare_logits.py OVSEG_LOGITS.npy REFERENCE_LOGITS.npy [--labels names]

Both files are [K, H, W] float32 (ovseg: `./ovseg segment --save-logits FILE`; reference:
tools/reference/maskclip_reference.py's logits.npy).

Bounds scale with the reference's spread S: the range (max - min) of the reference over its
"live" class planes. A plane constant over the whole image (prompt denoising's -100 for an absent
class) carries no spread and is left out of S, but still counts in the error.
  * logits: max |ovseg - ref| <= --rel-err * S (default 1e-3), and <= --max-err if given.
    Random-weight CLIP cosines span ~0.05, trained ones ~0.1, key-smoothed probabilities ~1:
    a fixed absolute bound would be loose for the first and tight for the last.
  * labels: per-pixel argmax agreement >= --min-agreement (default 0.999) over the pixels whose
    reference top-2 margin exceeds --rel-margin * S (default 1e-3; a near tie may flip either
    way under float rounding, so such pixels are left out and their count reported).
  * coverage: at least --min-clear (default 0.5) of the pixels must be clear of near-ties, or the
    agreement check says too little and the comparison fails.
  * winners (--min-classes N, off by default): at least N classes each win --min-class-frac
    (default 0.02) of the reference's pixels, so a label check cannot pass on one class everywhere.

Exit status: 0 when all hold; 1 when a check fails; 2 on unusable input (shape mismatch, NaN,
no spread at all).
"""
import argparse
import sys

import numpy as np


def spread(b):
    """Range of the reference over its non-constant class planes (0 if every plane is constant)."""
    flat = b.reshape(b.shape[0], -1)
    live = flat.max(1) > flat.min(1)
    if not live.any():
        return 0.0
    return float(flat[live].max() - flat[live].min())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ovseg", help="ovseg logits .npy [K,H,W]")
    ap.add_argument("reference", help="reference logits .npy [K,H,W]")
    ap.add_argument("--rel-err", type=float, default=1e-3, help="max abs error as a fraction of the spread (1e-3)")
    ap.add_argument("--max-err", type=float, default=None, help="optional absolute cap on the max abs error")
    ap.add_argument("--min-agreement", type=float, default=0.999, help="min label agreement (0.999)")
    ap.add_argument("--rel-margin", type=float, default=1e-3,
                    help="near-tie threshold as a fraction of the spread: pixels whose reference top-2 "
                         "margin <= this * spread are not counted (1e-3)")
    ap.add_argument("--min-clear", type=float, default=0.5,
                    help="min fraction of pixels clear of near-ties (0.5)")
    ap.add_argument("--labels", help="comma-separated class names, for the per-class report")
    ap.add_argument("--min-classes", type=int, default=0,
                    help="fail unless at least this many classes each win --min-class-frac of the reference's "
                         "pixels (0: no such check); keeps a label check from degrading to one class everywhere")
    ap.add_argument("--min-class-frac", type=float, default=0.02, help="see --min-classes (0.02)")
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
    s = spread(b)
    if s <= 0:
        print("error: the reference has no spread (every class plane is constant): nothing to compare")
        return 2
    bound = args.rel_err * s
    if args.max_err is not None:
        bound = min(bound, args.max_err)
    margin_min = args.rel_margin * s
    diff = np.abs(a - b)
    max_err = float(diff.max())
    where = np.unravel_index(int(diff.argmax()), diff.shape)
    la, lb = a.argmax(0), b.argmax(0)
    if k > 1:
        top2 = np.sort(b, axis=0)[-2:]
        margin = top2[1] - top2[0]
    else:
        margin = np.full((h, w), np.inf)
    counted = margin > margin_min
    n = int(counted.sum())
    clear = n / (h * w)
    agree = float((la == lb)[counted].mean()) if n else 0.0
    agree_all = float((la == lb).mean())

    print(f"logits [{k},{h},{w}]: max |ovseg-ref| = {max_err:.3e} at (k={where[0]}, y={where[1]}, x={where[2]}), "
          f"mean {diff.mean():.3e}; reference range [{b.min():.4f}, {b.max():.4f}], spread {s:.4g} "
          f"-> bound {bound:.3e}")
    print(f"labels: agreement {100 * agree:.4f}% over {n} of {h * w} pixels ({100 * clear:.1f}%) with reference "
          f"top-2 margin > {margin_min:.3e} ({h * w - n} near-tie pixels left out); {100 * agree_all:.4f}% over all")
    if args.labels:
        names = [x.strip() for x in args.labels.split(",")]
        if len(names) == k:
            ca, cb = np.bincount(la.ravel(), minlength=k), np.bincount(lb.ravel(), minlength=k)
            print("pixels per class (ovseg/ref): " + ", ".join(f"{nm}={x}/{y}" for nm, x, y in zip(names, ca, cb)))
    ok = True
    if max_err > bound:
        print(f"FAIL: max abs logit error {max_err:.3e} > {bound:.3e} ({args.rel_err:g} x spread {s:.4g})")
        ok = False
    if clear < args.min_clear:
        print(f"FAIL: only {100 * clear:.1f}% of the pixels are clear of near-ties (< {100 * args.min_clear:g}%): "
              "the label check would say too little")
        ok = False
    if n and agree < args.min_agreement:
        print(f"FAIL: label agreement {100 * agree:.4f}% < {100 * args.min_agreement:g}%")
        ok = False
    if args.min_classes:
        frac = np.bincount(lb.ravel(), minlength=k) / (h * w)
        winners = int((frac >= args.min_class_frac).sum())
        print(f"classes winning >= {100 * args.min_class_frac:g}% of the reference's pixels: {winners} "
              f"(need {args.min_classes}; shares {', '.join(f'{x:.3f}' for x in sorted(frac, reverse=True)[:6])})")
        if winners < args.min_classes:
            print(f"FAIL: only {winners} classes win >= {100 * args.min_class_frac:g}% of the pixels "
                  f"(< {args.min_classes}): the label check would say too little")
            ok = False
    if ok:
        print(f"OK (max abs error <= {bound:.3e}, {100 * clear:.1f}% clear, agreement >= {100 * args.min_agreement:g}%)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Which random-weight seeds give the CI's X-Decoder semantic check several winning classes.

  python tools/reference/xdecoder_seed_search.py --seeds 0-7 --image A.png --image B.png

For each seed, builds the reduced-width model with xdecoder_modules.randomize (as
`export_xdecoder.py --random SEED` does), runs the independent reference's semantic inference at the
CI's size and labels, and prints per image how many classes win >= 2% of the pixels and the largest
shares. tools/ci/parity.sh uses a seed where every image has >= 3 such classes (its comparison
asserts it with compare_logits.py --min-classes 3). Run on 2026-12-06 with seeds 0-7:
seed 7 gave shares 0.763/0.120/0.089/0.028 (0_image) and 0.529/0.408/0.063 (the crop).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0-7", help="FIRST-LAST")
    ap.add_argument("--image", action="append", required=True)
    ap.add_argument("--labels", default="cat,dog,person,sofa,sky")
    ap.add_argument("--config", default="tiny-focal")
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--min-frac", type=float, default=0.02)
    a = ap.parse_args()
    import torch
    import xdecoder_modules as xm
    import xdecoder_reference as xr
    import maskclip_reference as mr
    tok = mr.clip_tokenizer()
    labels = [s.strip() for s in a.labels.split(",")]
    first, last = (int(v) for v in a.seeds.split("-"))
    for seed in range(first, last + 1):
        model = xm.randomize(xm.XDecoder(xm.CONFIGS[a.config]), seed)
        ref = xr.Ref(torch, model.state_dict(), xm.CONFIGS[a.config])
        with torch.no_grad():
            te = ref.class_embeddings(tok, labels)
        parts = []
        for path in a.image:
            res, _, _ = xr.run_image(torch, ref, tok, path, labels, [], a.size, 2048, te)
            frac = np.bincount(res["labels"].ravel(), minlength=len(labels)) / res["labels"].size
            shares = "/".join(f"{x:.3f}" for x in sorted(frac, reverse=True) if x > 0)
            parts.append(f"{os.path.basename(path)}: {int((frac >= a.min_frac).sum())} classes ({shares})")
        print(f"seed {seed}: " + "; ".join(parts), flush=True)


if __name__ == "__main__":
    main()

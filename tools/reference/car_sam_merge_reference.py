#!/usr/bin/env python3
"""CaR's SAM merge as the official code runs it, for the CI parity (tools/ci/parity.sh).

Written from google-research clip_as_rnn, not from ovseg: utils/inference_pipeline.py
get_sam_masks (only non-empty CaR masks; per mask the kept SAM masks are OR-ed and replace it when
IoU(union, mask) > matching_thresh), modeling/post_process/post_process.py match_masks (keep SAM
masks with IoM > iom_thres, the argmax when none passes) and utils/metrics.py IoM / IoU (IoM =
max(I/|sam|, I/|pred|) with I/|sam| zeroed where I/|pred| < min_pred_threshold; IoU of the masks
binarised at 0.5, union by boolean addition), all in torch as there. The merged masks are then
painted as ovseg paints CaR's masks (rising score, a higher score wins, 255 = unassigned), which
is what `ovseg segment --sam` writes to <stem>.labels.png.

Inputs (all from the same image):
  --crf-labels  ovseg's <stem>.labels.png of the run WITHOUT --sam: CaR's CRF assigns each pixel one
                label, so each painted query's post-CRF mask is exactly its pixels there
                (a pruned query, score 0, is neither merged into the output nor painted).
  --sam-masks   <stem>.sam.npy of `ovseg sam-masks` with the generator settings the CaR run used
                (checked against tools/reference/sam_reference.py in the SAM parity above it).
  --json        that run's <stem>.json (the final step's scores, label order).
Writes --out (a .npy uint8 label map) and prints how many masks SAM replaced (0 makes the parity
a weak one: the caller asserts a minimum).

  python tools/reference/car_sam_merge_reference.py --crf-labels A.labels.png --sam-masks S.sam.npy
      --json A.json --iom 0.7 --min-pred 0.01 [--matching 0.9] --out expected.npy
"""
import argparse
import json
import sys

import numpy as np


def iom(torch, pred, target, min_pred_threshold):
    """utils/metrics.py IoM: pred [m,H,W], target [n,H,W] -> [n]."""
    inter = torch.einsum("mij,nij->mn", pred, target)
    area_pred = torch.einsum("mij->m", pred)
    area_target = torch.einsum("nij->n", target)
    iom_target = torch.einsum("mn,n->mn", inter, 1 / area_target)
    iom_pred = torch.einsum("mn,m->mn", inter, 1 / area_pred)
    iom_target[iom_pred < min_pred_threshold] = 0
    return torch.max(iom_target, iom_pred).max(dim=0)[0]


def iou(torch, mask1, mask2, threshold=0.5):
    """utils/metrics.py IoU."""
    mask1, mask2 = (mask1 > threshold).to(torch.bool), (mask2 > threshold).to(torch.bool)
    inter = torch.sum(mask1 * (mask1 == mask2), dim=[-1, -2]).squeeze()
    union = torch.sum(mask1 + mask2, dim=[-1, -2]).squeeze()
    if union.sum() == 0:
        return 0
    return (inter.to(torch.float) / union).mean().item()


def merge(torch, masks, sam, iom_thres, min_pred, matching):
    """get_sam_masks + match_masks: masks [N,H,W] float (modified copy), sam [M,H,W] bool -> (masks, replaced)."""
    masks = masks.clone()
    sam_t = torch.from_numpy(sam).float()
    replaced = []
    for k in range(masks.shape[0]):
        if torch.sum(masks[k]) <= 0:
            continue
        score = iom(torch, masks[k][None], sam_t, min_pred)
        keep = [i for i in range(sam.shape[0]) if score[i] > iom_thres]
        if not keep:
            keep = [int(torch.argmax(score))]
        union = np.any(sam[keep], axis=0)
        if iou(torch, torch.from_numpy(union), masks[k]) > matching:
            masks[k] = torch.from_numpy(union).to(masks.dtype)
            replaced.append(k)
    return masks, replaced


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--crf-labels", required=True)
    ap.add_argument("--sam-masks", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--iom", type=float, required=True, help="car.iom_thres of the preset's config")
    ap.add_argument("--min-pred", type=float, required=True, help="min_pred_threshold")
    ap.add_argument("--matching", type=float, default=0.9, help="sam.matching_thresh (0.9)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    import torch
    from PIL import Image
    labels = np.array(Image.open(args.crf_labels))
    sam = np.load(args.sam_masks).astype(bool)
    d = json.load(open(args.json))
    names = [l["label"] for l in d["labels"]]
    last = d["steps"][-1]
    scores = dict(zip(last["queries"], last["scores"])) if "scores" in last else {}
    if not scores:
        print("error: the JSON's last step has no scores", file=sys.stderr)
        return 2
    painted = [i for i, n in enumerate(names) if scores.get(n, 0) > 0]
    masks = torch.stack([torch.from_numpy(labels == i).float() for i in painted]) if painted \
        else torch.zeros((0,) + labels.shape)
    merged, replaced = merge(torch, masks, sam, args.iom, args.min_pred, args.matching)
    out = np.full(labels.shape, 255, np.uint8)
    for k in sorted(range(len(painted)), key=lambda k: scores[names[painted[k]]]):  # stable: equal scores keep label order
        out[merged[k].numpy() > 0] = painted[k]
    np.save(args.out, out)
    print(f"sam merge reference: {len(painted)} painted masks, {sam.shape[0]} SAM masks, replaced "
          f"{[names[painted[k]] for k in replaced]}")
    print(f"replaced={len(replaced)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

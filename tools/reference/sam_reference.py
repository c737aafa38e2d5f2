#!/usr/bin/env python3
"""Independent PyTorch reference of SAM's automatic mask generator, for ovseg's parity check.

Runs the transformers SamModel directly (no ONNX graph, no transformers image processor or
mask-generation pipeline, no torchvision) and re-implements segment-anything's
SamAutomaticMaskGenerator semantics (crop_n_layers 0, one crop = the whole image):

  1. image: resize so the long side is 1024 (size from SAM's get_preprocess_shape:
     int(side * 1024 / long_side + 0.5)), bilinear with half-pixel centres and no antialiasing, in
     float (ovseg's resize; SAM resizes the uint8 image with PIL: see README-sam.md), normalised
     with the checkpoint's mean/std, zero-padded bottom-right to 1024 x 1024 -> vision encoder once;
  2. points: an n x n grid at ((i + 0.5) / n) of the image, x fastest, scaled to the original size,
     then to the 1024 frame by (new_w / w, new_h / h); one foreground click per prompt, batches of
     points_per_batch, multimask output (3 masks per point, point-major order);
  3. low-res logits [256, 256] -> bilinear to 1024 x 1024 -> crop [:new_h, :new_w] -> bilinear to
     the original size (align_corners=False both times);
  4. keep iou_pred > pred_iou_thresh (when > 0); stability = |logits > t + off| / |logits > t - off|
     (t = mask threshold 0, off = 1), keep stability >= stability_score_thresh (when > 0);
     mask = logits > 0;
  5. boxes [x0, y0, x1, y1] (inclusive max, zeros for an empty mask); greedy NMS by iou_pred
     (descending, ties by index), IoU = inter / (a + b - inter) with areas (x1-x0)(y1-y0) as
     torchvision computes them, drop when IoU > box_nms_thresh. Output in NMS order.

  python tools/reference/sam_reference.py --checkpoint CKPT --image IMG --out DIR
      [--points-per-side 8] [--pred-iou-thresh 0.88] [--stability-thresh 0.95] [--nms 0.7]

Writes DIR/<stem>/masks.npz: masks [M,H,W] bool, iou_preds [M], stability [M], boxes [M,4] int,
points [M,2] (original frame), and candidates.npz (every candidate's iou_pred and stability, before
the filters, in point-major order) for diagnosis.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def preprocess_shape(h, w, long_side):
    scale = long_side * 1.0 / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def point_grid(n):
    off = 1.0 / (2 * n)
    side = np.linspace(off, 1 - off, n)
    xs = np.tile(side[None, :], (n, 1))
    ys = np.tile(side[:, None], (1, n))
    return np.stack([xs, ys], axis=-1).reshape(-1, 2)


def mask_boxes(masks):
    """[M,H,W] bool -> [M,4] int (x0, y0, x1, y1), inclusive; zeros for empty masks."""
    out = np.zeros((len(masks), 4), dtype=np.int64)
    for i, m in enumerate(masks):
        rows, cols = np.where(m.any(axis=1))[0], np.where(m.any(axis=0))[0]
        if len(rows) == 0:
            continue
        out[i] = [cols[0], rows[0], cols[-1], rows[-1]]
    return out


def nms(boxes, scores, thresh):
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    b = boxes.astype(np.float32)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    keep, removed = [], np.zeros(len(scores), dtype=bool)
    for a, i in enumerate(order):
        if removed[i]:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            if removed[j]:
                continue
            iw = max(np.float32(0), min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0]))
            ih = max(np.float32(0), min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1]))
            inter = np.float32(iw * ih)
            with np.errstate(invalid="ignore", divide="ignore"):
                iou = np.float32(inter / np.float32(area[i] + area[j] - inter))
            if iou > thresh:
                removed[j] = True
    return keep


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--image", required=True, nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--points-per-side", type=int, default=32)
    ap.add_argument("--points-per-batch", type=int, default=64)
    ap.add_argument("--pred-iou-thresh", type=float, default=0.88)
    ap.add_argument("--stability-thresh", type=float, default=0.95)
    ap.add_argument("--stability-offset", type=float, default=1.0)
    ap.add_argument("--nms", type=float, default=0.7)
    args = ap.parse_args(argv)

    import cv2
    import torch
    import torch.nn.functional as F
    from transformers import SamModel
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_grad_enabled(False)

    model = SamModel.from_pretrained(args.checkpoint, attn_implementation="eager", dtype=torch.float32).eval()
    with open(os.path.join(args.checkpoint, "preprocessor_config.json")) as f:
        pc = json.load(f)
    mean = torch.tensor(pc.get("image_mean", [0.485, 0.456, 0.406]), dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(pc.get("image_std", [0.229, 0.224, 0.225]), dtype=torch.float32).view(1, 3, 1, 1)
    S = int(model.config.vision_config.image_size)
    for path in args.image:
        t0 = time.time()
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        if bgr is None:
            print(f"error: cannot read {path}")
            return 2
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        H, W = rgb.shape[:2]
        nh, nw = preprocess_shape(H, W, S)
        x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None]
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=False)
        x = (x / 255.0 - mean) / std
        px = torch.zeros(1, 3, S, S)
        px[:, :, :nh, :nw] = x
        emb = model.vision_encoder(px).last_hidden_state
        t_enc = time.time() - t0

        pts = point_grid(args.points_per_side) * np.array([W, H], dtype=np.float64)[None]
        pts1024 = pts * np.array([nw / W, nh / H], dtype=np.float64)[None]
        all_masks, all_iou, all_stab, all_pts = [], [], [], []
        cand_iou, cand_stab = [], []
        for s in range(0, len(pts), args.points_per_batch):
            p = torch.from_numpy(pts1024[s:s + args.points_per_batch].astype(np.float32))
            n = p.shape[0]
            r = model(image_embeddings=emb, input_points=p[None, :, None, :],
                      input_labels=torch.ones(1, n, 1, dtype=torch.int64), multimask_output=True)
            low = r.pred_masks[0]                      # [n, 3, 256, 256]
            iou = r.iou_scores[0].reshape(-1)          # [n*3]
            up = F.interpolate(low, size=(S, S), mode="bilinear", align_corners=False)[:, :, :nh, :nw]
            logits = F.interpolate(up, size=(H, W), mode="bilinear", align_corners=False).reshape(n * 3, H, W)
            inter = (logits > args.stability_offset).sum(dim=(1, 2)).double()
            union = (logits > -args.stability_offset).sum(dim=(1, 2)).double()
            stab = inter / union
            cand_iou.append(iou.numpy())
            cand_stab.append(stab.numpy())
            keep = torch.ones(n * 3, dtype=torch.bool)
            if args.pred_iou_thresh > 0:
                keep &= iou > args.pred_iou_thresh
            if args.stability_thresh > 0:
                keep &= stab >= args.stability_thresh
            idx = torch.nonzero(keep).flatten()
            for i in idx.tolist():
                all_masks.append((logits[i] > 0).numpy())
                all_iou.append(float(iou[i]))
                all_stab.append(float(stab[i]))
                all_pts.append(pts[s + i // 3])
        masks = np.array(all_masks, dtype=bool).reshape(-1, H, W)
        boxes = mask_boxes(masks)
        keep = nms(boxes, np.array(all_iou, dtype=np.float32), args.nms) if len(masks) else []
        stem = os.path.splitext(os.path.basename(path))[0]
        d = os.path.join(args.out, stem)
        os.makedirs(d, exist_ok=True)
        np.savez_compressed(os.path.join(d, "masks.npz"), masks=masks[keep], iou_preds=np.array(all_iou)[keep],
                            stability=np.array(all_stab)[keep], boxes=boxes[keep].reshape(-1, 4),
                            points=np.array(all_pts).reshape(-1, 2)[keep])
        np.savez_compressed(os.path.join(d, "candidates.npz"), iou_preds=np.concatenate(cand_iou),
                            stability=np.concatenate(cand_stab))
        print(f"{path}: {W}x{H} -> {nw}x{nh}, {len(pts)} points, {len(pts) * 3} candidates, "
              f"{len(masks)} after the IoU/stability filters, {len(keep)} after NMS "
              f"(encoder {t_enc:.2f}s, total {time.time() - t0:.2f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

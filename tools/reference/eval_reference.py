"""Independent check of `ovseg eval`'s metrics.json: recomputes them with numpy from the dataset's
ground truth and the prediction PNGs ovseg wrote (OUT/predictions, OUT/panoptic), with
mmsegmentation's IoUMetric semantics for mIoU (ignore index, reduce_zero_label in uint8
arithmetic, values outside [0, K) in no class's histogram, nan-means) and the COCO panoptic API's
pq_compute semantics for PQ (IoU > 0.5 with the prediction's void pixels out of the union, crowd
regions, unmatched predictions more than half on void/crowd not counted). Written from the
papers'/APIs' definitions, not from ovseg's Java code.

usage: eval_reference.py --layout voc|context|ade|coco-stuff|cityscapes|folders|coco-panoptic --root DIR --out OVSEG_OUT
                         [--classes K] [--ignore-index 255] [--reduce-zero-label] [--tol 1e-12]
Exit 1 when a figure differs by more than the tolerance."""
import argparse
import glob
import json
import math
import os
import sys

import numpy as np

import pngmini

SEMANTIC = {  # layout: (classes, reduce_zero_label, image glob, ground truth of an image stem)
    "voc": (21, False), "context": (59, True), "ade": (150, True), "coco-stuff": (171, False), "cityscapes": (19, False),
}


def gt_paths(layout, root):
    """stem -> ground-truth PNG, following each layout's naming."""
    if layout == "voc":
        base = f"{root}/VOCdevkit/VOC2012"
        ids = open(f"{base}/ImageSets/Segmentation/val.txt").read().split()
        return {i: f"{base}/SegmentationClass/{i}.png" for i in ids}
    if layout == "context":
        base = f"{root}/VOCdevkit/VOC2010"
        ids = open(f"{base}/ImageSets/SegmentationContext/val.txt").read().split()
        return {i: f"{base}/SegmentationClassContext/{i}.png" for i in ids}
    if layout == "ade":
        return {os.path.basename(p)[:-4]: p for p in glob.glob(f"{root}/ADEChallengeData2016/annotations/validation/*.png")}
    if layout == "coco-stuff":
        return {os.path.basename(p)[:-len("_labelTrainIds.png")]: p for p in glob.glob(f"{root}/coco_stuff164k/annotations/val2017/*.png")}
    if layout == "cityscapes":
        return {os.path.basename(p).replace("_gtFine_labelTrainIds.png", "_leftImg8bit"): p
                for p in glob.glob(f"{root}/gtFine/val/*/*_gtFine_labelTrainIds.png")}
    return {os.path.basename(p)[:-4]: p for p in glob.glob(f"{root}/masks/*.png")}


def semantic(args, metrics):
    k = args.classes
    inter = np.zeros(k, np.int64)
    area_pred = np.zeros(k, np.int64)
    area_gt = np.zeros(k, np.int64)
    paths = gt_paths(args.layout, args.root)
    assert paths, "no ground truth found"
    for stem, path in sorted(paths.items()):
        gt = pngmini.read(path)
        if args.reduce_zero_label and gt.dtype == np.uint8:  # mmseg: uint8 arithmetic
            gt = gt.copy()
            gt[gt == 0] = 255
            gt = gt - 1
            gt[gt == 254] = 255
        elif args.reduce_zero_label:  # 16-bit masks: the same with 65535 (ovseg's documented extension)
            gt = gt.copy()
            gt[gt == 0] = 65535
            gt = gt - 1
            gt[gt == 65534] = 65535
        gt = gt.astype(np.int64)
        pred = pngmini.read(f"{args.out}/predictions/{stem}.png").astype(np.int64)
        keep = gt != args.ignore_index
        p, g = pred[keep], gt[keep]
        area_pred += np.bincount(p[(p >= 0) & (p < k)], minlength=k)
        area_gt += np.bincount(g[(g >= 0) & (g < k)], minlength=k)
        same = p[(p == g) & (p >= 0) & (p < k)]
        inter += np.bincount(same, minlength=k)
    union = area_pred + area_gt - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
        acc = inter / area_gt
    ref = {"aAcc": inter.sum() / area_gt.sum(), "mIoU": np.nanmean(iou), "mAcc": np.nanmean(acc)}
    got = metrics["semantic"]
    bad = 0
    for name, v in ref.items():
        bad += compare(name, got[name], v, args.tol)
    for c in range(k):
        row = got["per_class"][c]
        bad += compare(f"IoU[{c}]", row["IoU"], iou[c], args.tol)
        bad += compare(f"Acc[{c}]", row["Acc"], acc[c], args.tol)
    assert got["classes_in_mIoU"] == int((~np.isnan(iou)).sum())
    print(f"{args.layout}: mIoU {100 * ref['mIoU']:.2f} aAcc {100 * ref['aAcc']:.2f} mAcc {100 * ref['mAcc']:.2f} over "
          f"{int((~np.isnan(iou)).sum())} classes, {len(paths)} images: {'ok' if bad == 0 else f'{bad} differences'}")
    return bad


def panoptic(args, metrics):
    OFFSET, VOID = 256 ** 3, 0
    gt_json = json.load(open(f"{args.root}/annotations/panoptic_val2017.json"))
    categories = {c["id"]: c for c in gt_json["categories"]}
    records = {}
    for line in open(f"{args.out}/per-image.jsonl"):
        r = json.loads(line)
        records[r["key"]] = r
    stat = {c: [0.0, 0, 0, 0] for c in categories}  # iou sum, tp, fp, fn
    for ann in gt_json["annotations"]:
        stem = ann["file_name"][:-4]
        to_id = lambda rgb: rgb[..., 0].astype(np.uint64) + 256 * rgb[..., 1].astype(np.uint64) + 65536 * rgb[..., 2].astype(np.uint64)
        pan_gt = to_id(pngmini.read(f"{args.root}/annotations/panoptic_val2017/{ann['file_name']}"))
        pan_pred = to_id(pngmini.read(f"{args.out}/panoptic/{stem}.png"))
        gt_segs = {s["id"]: dict(s) for s in ann["segments_info"]}
        pred_segs = {s["id"]: dict(s) for s in records[stem]["segments_info"]}
        ids, counts = np.unique(pan_pred, return_counts=True)
        for i, n in zip(ids, counts):
            if i == VOID:
                continue
            assert int(i) in pred_segs, f"{stem}: id {i} not in segments_info"
            pred_segs[int(i)]["area"] = int(n)
        pairs = {}
        ids, counts = np.unique(pan_gt * OFFSET + pan_pred, return_counts=True)
        for i, n in zip(ids, counts):
            pairs[(int(i) // OFFSET, int(i) % OFFSET)] = int(n)
        gt_hit, pred_hit = set(), set()
        for (g, p), n in pairs.items():
            if g not in gt_segs or p not in pred_segs or gt_segs[g]["iscrowd"] == 1:
                continue
            if gt_segs[g]["category_id"] != pred_segs[p]["category_id"]:
                continue
            u = pred_segs[p]["area"] + gt_segs[g]["area"] - n - pairs.get((VOID, p), 0)
            if n / u > 0.5:
                stat[gt_segs[g]["category_id"]][0] += n / u
                stat[gt_segs[g]["category_id"]][1] += 1
                gt_hit.add(g)
                pred_hit.add(p)
        crowd = {}
        for g, s in gt_segs.items():
            if g in gt_hit:
                continue
            if s["iscrowd"] == 1:
                crowd[s["category_id"]] = g
                continue
            stat[s["category_id"]][3] += 1
        for p, s in pred_segs.items():
            if p in pred_hit:
                continue
            ignored = pairs.get((VOID, p), 0)
            if s["category_id"] in crowd:
                ignored += pairs.get((crowd[s["category_id"]], p), 0)
            if ignored / s["area"] > 0.5:
                continue
            stat[s["category_id"]][2] += 1
    bad = 0
    got = metrics["panoptic"]
    for name, things in (("All", None), ("Things", True), ("Stuff", False)):
        pq = sq = rq = 0.0
        n = 0
        for c, info in categories.items():
            if things is not None and (info["isthing"] == 1) != things:
                continue
            iou, tp, fp, fn = stat[c]
            if tp + fp + fn == 0:
                continue
            n += 1
            pq += iou / (tp + 0.5 * fp + 0.5 * fn)
            sq += iou / tp if tp else 0
            rq += tp / (tp + 0.5 * fp + 0.5 * fn)
        ref = {"pq": pq / n, "sq": sq / n, "rq": rq / n} if n else {"pq": math.nan, "sq": math.nan, "rq": math.nan}
        for key, v in ref.items():
            bad += compare(f"{name}.{key}", got[name][key], v, args.tol)
        if got[name]["n"] != n:
            print(f"{name}.n: ovseg {got[name]['n']} reference {n}")
            bad += 1
        print(f"coco-panoptic {name}: PQ {100 * ref['pq']:.2f} SQ {100 * ref['sq']:.2f} RQ {100 * ref['rq']:.2f} N {n}")
    for row in got["per_class"]:
        iou, tp, fp, fn = stat[row["category_id"]]
        if (row["tp"], row["fp"], row["fn"]) != (tp, fp, fn):
            print(f"category {row['category_id']}: ovseg tp/fp/fn {row['tp']}/{row['fp']}/{row['fn']}, reference {tp}/{fp}/{fn}")
            bad += 1
    totals = np.array([v[1:] for v in stat.values()]).sum(axis=0)
    print(f"coco-panoptic: TP {totals[0]} FP {totals[1]} FN {totals[2]}: {'ok' if bad == 0 else f'{bad} differences'}")
    if min(totals) == 0:
        print("coco-panoptic: a degenerate test set (no TP, FP or FN at all)")
        bad += 1
    return bad


def compare(name, got, ref, tol):
    ref_nan = ref is None or (isinstance(ref, float) and math.isnan(ref)) or (np.isscalar(ref) and np.isnan(ref))
    if got is None or ref_nan:
        if (got is None) != ref_nan:
            print(f"{name}: ovseg {got} reference {ref}")
            return 1
        return 0
    if abs(got - float(ref)) > tol:
        print(f"{name}: ovseg {got!r} reference {float(ref)!r}")
        return 1
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--layout", required=True)
    p.add_argument("--root", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--classes", type=int)
    p.add_argument("--ignore-index", type=int, default=255)
    p.add_argument("--reduce-zero-label", action="store_true")
    p.add_argument("--tol", type=float, default=1e-12)
    a = p.parse_args()
    metrics = json.load(open(f"{a.out}/metrics.json"))
    if a.layout == "coco-panoptic":
        bad = panoptic(a, metrics)
    else:
        k, reduce = SEMANTIC.get(a.layout, (a.classes, a.reduce_zero_label))
        a.classes = a.classes or k
        a.reduce_zero_label = a.reduce_zero_label or reduce
        bad = semantic(a, metrics)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()

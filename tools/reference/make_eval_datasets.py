"""Generates tiny labelled datasets in each layout `ovseg eval` reads (mmsegmentation's for the
semantic benchmarks, COCO panoptic's), made of pure-colour scenes that the built-in colour-world
model recognises. The ground truth is the scene's colours mapped onto each dataset's class ids,
then deliberately disagreeing with the image in places (a shape annotated as another class, a
void border, values that name no class) so the scores are neither all 1 nor trivial. Writes
<out>/<layout>/ (the dataset root) and <out>/<layout>.labels (the prompts for --labels: colour
words at the classes used, filler words elsewhere).

usage: make_eval_datasets.py --out DIR [--images 3]"""
import argparse
import json
import os

import numpy as np

import pngmini

COLOURS = ["red", "green", "blue", "yellow", "cyan", "magenta", "white", "black"]
RGB = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255], [255, 255, 255], [0, 0, 0]], np.uint8)
W, H = 64, 48
# class count, reduce_zero_label, and the class id of each colour
LAYOUTS = {
    "voc": (21, False), "context": (59, True), "ade": (150, True), "coco-stuff": (171, False), "cityscapes": (19, False), "folders": (300, False),
}


def scene(rng, shapes=4):
    """Colour index per pixel and a list of shape masks (colour, bool mask)."""
    truth = np.full((H, W), rng.integers(0, 8), np.int32)
    parts = []
    for _ in range(shapes):
        c = int(rng.integers(0, 8))
        w, h = int(rng.integers(12, 28)), int(rng.integers(10, 22))
        x0, y0 = int(rng.integers(0, W - w)), int(rng.integers(0, H - h))
        m = np.zeros((H, W), bool)
        m[y0:y0 + h, x0:x0 + w] = True
        truth[m] = c
        parts.append((c, m))
    return truth, parts


def class_ids(k):
    """Where the 8 colours sit among k classes: spread out, the last class included."""
    return [(j * (k - 1)) // 7 for j in range(8)]


def labels_for(k, ids):
    names = [f"filler word {i}" for i in range(k)]
    for j, c in enumerate(ids):
        names[c] = COLOURS[j]
    return names


def semantic_truth(rng, truth, parts, k, ids, reduce, void):
    """Class value per pixel as stored in the PNG."""
    cls = np.array(ids)[truth]
    # One shape annotated as another class (a disagreement the metrics must see).
    c, m = parts[0]
    cls[m & (truth == c)] = ids[(c + 3) % 8]
    stored = cls + 1 if reduce else cls.copy()
    stored[:2, :] = 0 if reduce else void  # a void border
    stored[-3:, :5] = 255 if reduce else void
    if not reduce:
        stored[10, :7] = k  # values that name no class (not the ignore index): counted as ground-truth area of no class
    return stored


def write_semantic(out, layout, n, seed):
    k, reduce = LAYOUTS[layout]
    ids = class_ids(k)
    rng = np.random.default_rng(seed)
    root = os.path.join(out, layout)
    void = 65535 if layout == "folders" else 255
    keys = [f"{layout}_{i:03d}" for i in range(n)]
    if layout == "cityscapes":
        keys = [f"{city}_{i:06d}_000019" for i, city in zip(range(n), ["aachen", "bonn", "aachen", "bonn"] * n)]
    for i, key in enumerate(keys):
        truth, parts = scene(rng)
        img = RGB[truth]
        gt = semantic_truth(rng, truth, parts, k, ids, reduce, void)
        if layout == "voc":
            base = os.path.join(root, "VOCdevkit", "VOC2012")
            img_path, gt_path = f"{base}/JPEGImages/{key}.png", f"{base}/SegmentationClass/{key}.png"
            palette = [((c * 37) % 256, (c * 91) % 256, (c * 53) % 256) for c in range(256)]
        elif layout == "context":
            base = os.path.join(root, "VOCdevkit", "VOC2010")
            img_path, gt_path, palette = f"{base}/JPEGImages/{key}.png", f"{base}/SegmentationClassContext/{key}.png", None
        elif layout == "ade":
            base = os.path.join(root, "ADEChallengeData2016")
            img_path, gt_path, palette = f"{base}/images/validation/{key}.png", f"{base}/annotations/validation/{key}.png", None
        elif layout == "coco-stuff":
            base = os.path.join(root, "coco_stuff164k")
            img_path, gt_path, palette = f"{base}/images/val2017/{key}.png", f"{base}/annotations/val2017/{key}_labelTrainIds.png", None
        elif layout == "cityscapes":
            city = key.split("_")[0]
            img_path = f"{root}/leftImg8bit/val/{city}/{key}_leftImg8bit.png"
            gt_path, palette = f"{root}/gtFine/val/{city}/{key}_gtFine_labelTrainIds.png", None
        else:
            img_path, gt_path, palette = f"{root}/images/{key}.png", f"{root}/masks/{key}.png", None
        os.makedirs(os.path.dirname(img_path), exist_ok=True)
        os.makedirs(os.path.dirname(gt_path), exist_ok=True)
        pngmini.write(img_path, img)
        pngmini.write(gt_path, gt.astype(np.uint16 if layout == "folders" else np.uint8), palette)
    if layout in ("voc", "context"):
        sub = "Segmentation" if layout == "voc" else "SegmentationContext"
        base = os.path.join(root, "VOCdevkit", "VOC2012" if layout == "voc" else "VOC2010", "ImageSets", sub)
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, "val.txt"), "w") as f:
            f.write("\n".join(keys) + "\n")
    with open(os.path.join(out, layout + ".labels"), "w") as f:
        f.write(",".join(labels_for(k, ids)))


# COCO panoptic: category ids as sparse as COCO's; colours 0-3 things, 4-7 stuff; two categories never seen.
PAN_IDS = [1, 3, 17, 18, 92, 120, 149, 200]


def write_panoptic(out, n, seed):
    rng = np.random.default_rng(seed)
    root = os.path.join(out, "coco-panoptic")
    os.makedirs(f"{root}/val2017", exist_ok=True)
    os.makedirs(f"{root}/annotations/panoptic_val2017", exist_ok=True)
    cats = [{"id": PAN_IDS[j], "name": COLOURS[j], "isthing": 1 if j < 4 else 0, "supercategory": "colour"} for j in range(8)]
    cats += [{"id": 44, "name": "bottle", "isthing": 1, "supercategory": "kitchen"}, {"id": 184, "name": "tree", "isthing": 0, "supercategory": "plant"}]
    images, anns = [], []
    for i in range(n):
        key = f"{i + 139:012d}"
        truth, parts = scene(rng, shapes=6)
        pngmini.write(f"{root}/val2017/{key}.png", RGB[truth])
        ids = np.zeros((H, W), np.int64)
        segs = []
        next_id = 1 + i * 1000  # ids above 255: all three channels used
        # stuff: one segment per stuff colour present; things: one per shape (instances of a colour stay apart)
        shape_of = np.full((H, W), -1)
        for s, (c, m) in enumerate(parts):
            shape_of[m] = s
        for c in range(8):
            if c < 4:
                for s, (sc, m) in enumerate(parts):
                    px = (shape_of == s) & (truth == c)
                    if sc == c and px.any():
                        segs.append({"id": next_id, "category_id": PAN_IDS[c], "iscrowd": 0, "px": px})
                        next_id += 37
                bg = (shape_of == -1) & (truth == c)
                if bg.any():  # a thing colour as background: one crowd region
                    segs.append({"id": next_id, "category_id": PAN_IDS[c], "iscrowd": 1, "px": bg})
                    next_id += 37
            elif (truth == c).any():
                segs.append({"id": next_id, "category_id": PAN_IDS[c], "iscrowd": 0, "px": truth == c})
                next_id += 37
        for s in segs:
            ids[s["px"]] = s["id"]
        ids[:3, :] = 0  # void border
        ids[20:26, 30:40] = 0  # a void hole
        rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], axis=-1).astype(np.uint8)
        pngmini.write(f"{root}/annotations/panoptic_val2017/{key}.png", rgb)
        info = [{"id": s["id"], "category_id": s["category_id"], "iscrowd": s["iscrowd"], "area": int((ids == s["id"]).sum()),
                 "bbox": [0, 0, 0, 0]} for s in segs]
        images.append({"id": i + 139, "file_name": key + ".png", "width": W, "height": H})
        anns.append({"image_id": i + 139, "file_name": key + ".png", "segments_info": info})
    with open(f"{root}/annotations/panoptic_val2017.json", "w") as f:
        json.dump({"images": images, "annotations": anns, "categories": cats}, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--images", type=int, default=3)
    a = p.parse_args()
    for s, layout in enumerate(LAYOUTS):
        write_semantic(a.out, layout, a.images, 100 + s)
    write_panoptic(a.out, a.images + 1, 7)


if __name__ == "__main__":
    main()

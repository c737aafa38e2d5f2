#!/usr/bin/env python3
"""Reference CLIP-as-RNN (CaR) inference in PyTorch / numpy / OpenCV, for whole-loop parity checks of
ovseg's `car` pipeline on identical weights.

Written from the semantics of the official code (google-research/google-research, clip_as_rnn:
car.py, clipcam.py, cam.py, clip_wrapper.py, utils.py; summarised in
java/src/main/java/org/ovseg/pipeline/car/SEMANTICS.md) and independently of ovseg's ONNX graphs
and Java code. It reads the two transformers CLIP checkpoints directly (the Grad-CAM model and the
mask classifier, as tools/export/export_car.py --checkpoint / --classifier-checkpoint take them)
and runs everything in float64 unless noted:

  proposals  image (RGB, 0..1) resized bicubically to ceil(H/16)*16 x ceil(W/16)*16, CLIP mean/std;
             position table: class row kept, patch rows resized bilinearly (align_corners=False);
             ViT written out from the checkpoint's modules (explicit attention); the last block's
             ln_1 output a is the hooked activation: p = softmax(exp(logit_scale) * cos(proj(mean over
             patch tokens of ln_post(last block(x, a)))), [queries; background]) and one
             torch.autograd.grad of p[f] w.r.t. a per query f (as pytorch-grad-cam runs one backward
             per target); cam = ReLU(sum_c mean_p(g_c) a_c) on the grid, min-max
             ((x - min) / (1e-15 + max(x - min))), cast to float32 as the official numpy code does;
             all zero -> recomputed with the queries alone (no background texts).
  CLIP-ES    head-averaged attention of the last min(8, L) blocks (class row/column dropped),
             averaged; T = A / colsum, T = T / rowsum, twice more; T = (T + T^T) / 2; T = T T;
             columns outside the boxes zeroed: boxes = cv2.boundingRect of the cv2.findContours
             (RETR_TREE) of cv2.threshold(uint8(cam * 255), int(t * max), THRESH_BINARY), t lowered
             by 0.1 until something passes, x1/y1 = min(x + w, W - 1) / min(y + h, H - 1)
             (exclusive, the official quirk); cam' = T cam; min-max; cv2.resize (INTER_LINEAR) to
             the image size.
  prompts    sum(cam) <= 1: the image as is; else mask = cam > mask_threshold and, in the official
             order: blur = cv2.GaussianBlur(15x15, sigma 0) outside the mask; gray =
             cv2.cvtColor(BGR2GRAY) of the RGB array outside the mask; circle = cv2.ellipse on
             (int(mean col), int(mean row)) with axes (bbox width // 2, bbox height // 2), red,
             thickness 1. (An empty mask: blur/gray everywhere, no ellipse - the official code would
             fail in mask2chw; ovseg draws nothing.)
  classifier CLIP preprocessing: short side to 224 with torchvision's size rule (long side
             int(224 * long / short)), centre crop at int(round((size - 224) / 2)); image tower:
             embeddings, ln_pre, the first L - 1 blocks (the CLIPWrapper quirk), CLS -> ln_post ->
             proj; per template t of the official 15: P_t = softmax(s * cos) over the current
             queries, S = softmax(sum_t P_t); s = exp(logit_scale) of the classifier checkpoint
             (CLIPWrapper.forward_last_layer; 100 for OpenAI CLIP), --classifier-logit-scale to
             override.
  loop       CAM texts = the names at step 1, "a clean origami {name}." from step 2 (official
             quirk); keep i when S[i, i] > confidence (strict), else the argmax; stop when the
             number kept equals the previous step's; if a later step's proposals are all zero, that
             step is scored on the unprompted images and only then are its maps replaced by the
             previous step's full list (car.py _forward_car order; may hold more maps than queries,
             official bug kept). Output: the last step's proposals,
             before the dense CRF (not run here).

Deviations from the official code, chosen to match what ovseg documents so that the comparison is
tight (each is a documented ovseg deviation, not a reference choice):
  * the Grad-CAM input resize is PyTorch bicubic (a = -0.75, align_corners=False, no antialias) on
    the float 0..1 image, unclamped, as ovseg does (a slight enlargement to the patch grid). The
    classifier input follows the official code: Pillow's bicubic on the 8-bit image (Pillow is
    the reference; --classifier-resize torch for diagnosis).
  * mean/std: CLIP's (the official constants); the bundle's preprocessing block must agree.

Referring mode (--refer, official car.py seg_mode "refer"): the --labels are sentences of one object,
run jointly: one CAM per sentence (alone against the background), one classifier call over all
sentences (flat "a clean origami {}." list -> one softmax for refcoco; templates otherwise), keep >
confidence; from step 2 the official text filter turns a flat list into characters (kept). The
classifier input is resized with Pillow (official CLIP preprocessing).

Outputs, per image, in OUT/<image stem>/: steps.json ({"steps": [{"queries", "scores", "kept"}],
"final_queries": [...], "classifier_logit_scale", "cam_logit_scale", ...}) and proposals.npy (float32
[Q, H, W], the final proposals in the order of the last step's queries).

  python tools/reference/car_reference.py --cam-checkpoint DIR --classifier-checkpoint DIR \\
      --image IMG [IMG ...] --labels "cat,dog,sofa" [--preset voc] [--confidence T] --out DIR
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import maskclip_reference as mr  # noqa: E402  (CLIP tokenizer and image reading only)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# The official configs (configs/*.yaml): mask_threshold, confidence_threshold, clipes_threshold, prompts.
PRESETS = {
    "voc": (0.4, 0.6, 0.4, ("blur", "circle")),
    "coco-object": (0.5, 0.3, 0.5, ("blur", "gray")),
    "context": (0.6, 0.25, 0.4, ("blur", "circle")),
    "ade": (0.6, 0.25, 0.7, ("blur", "gray")),
    # configs/refcoco.yaml: no semantic_templates (flat "a clean origami {}." list, one softmax).
    "refcoco": (0.5, 0.3, 0.5, ("circle",)),
}
UNTEMPLATED = {"refcoco"}
# The official queries (clip_as_rnn data/voc.py VOC_CLASSES, COCO_OBJECT_CLASSES); used when --labels is left out.
CLASSES = {"voc": ["aeroplane", "bicycle", "bird avian", "boat", "bottle", "bus", "car", "cat", "chair seat", "cow",
                   "diningtable", "dog", "horse", "motorbike", "person with clothes,people,human", "pottedplant",
                   "sheep", "sofa", "train", "tvmonitor screen"],
           # COCO_OBJECT_CLASSES of the clip_as_rnn COCO data module (data/coco_stuff.py)
           "coco-object": ['person with clothes,people,human', 'bicycle', 'car', 'motorbike', 'aeroplane', 'bus',
                   'train', 'truck', 'boat', 'traffic light', 'fire hydrant', 'stop sign', 'parking meter',
                   'bench', 'bird avian', 'cat', 'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra',
                   'giraffe', 'backpack,bag', 'umbrella,parasol', 'handbag,purse', 'necktie', 'suitcase',
                   'frisbee', 'skis', 'sknowboard', 'sports ball', 'kite', 'baseball bat', 'glove', 'skateboard',
                   'surfboard', 'tennis racket', 'bottle', 'wine glass', 'cup', 'fork', 'knife', 'dessertspoon',
                   'bowl', 'banana', 'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza',
                   'donut', 'cake', 'chair seat', 'sofa', 'pottedplant', 'bed', 'diningtable', 'toilet',
                   'tvmonitor screen', 'laptop', 'mouse', 'remote control', 'keyboard', 'cell phone',
                   'microwave', 'oven', 'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors',
                   'teddy bear', 'hairdrier,blowdrier', 'toothbrush']}
BACKGROUND = ["ground", "land", "grass", "tree", "building", "wall", "sky", "lake", "water", "river", "sea",
              "railway", "railroad", "helmet", "cloud", "house", "mountain", "ocean", "road", "rock", "street",
              "valley", "bridge"]
TEMPLATES = ["a clean origami {}.", "a photo of a {}.", "This is a photo of a {}", "There is a {} in the scene",
             "There is the {} in the scene", "a photo of a {} in the scene", "a photo of a small {}.",
             "a photo of a medium {}.", "a photo of a large {}.", "This is a photo of a small {}.",
             "This is a photo of a medium {}.", "This is a photo of a large {}.",
             "There is a small {} in the scene.", "There is a medium {} in the scene.",
             "There is a large {} in the scene."]
CAM_TEMPLATE = "a clean origami {}."
EPS = 1e-15


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- models
class Clip:
    """A transformers CLIP checkpoint in float64, with the ViT written out (explicit attention)."""

    def __init__(self, torch, path):
        from transformers import CLIPModel
        self.torch = torch
        self.model = CLIPModel.from_pretrained(path, attn_implementation="eager").double().eval()
        vm = self.model.vision_model
        self.vm = getattr(vm, "vision_model", vm)
        self.patch = self.model.config.vision_config.patch_size
        self.layers = list(self.vm.encoder.layers)
        self.logit_scale = float(self.model.logit_scale.detach().exp())
        self._text = {}

    def text(self, tok, texts):
        """L2-normalised projected text embeddings [N, E] (cached per text)."""
        torch = self.torch
        todo = [t for t in dict.fromkeys(texts) if t not in self._text]
        if todo:
            ids = torch.from_numpy(mr.tokenize(tok, todo))
            with torch.no_grad():
                e = self.model.get_text_features(input_ids=ids)
                e = getattr(e, "pooler_output", e)
            e = e / e.norm(dim=-1, keepdim=True)
            for t, row in zip(todo, e):
                self._text[t] = row
        return torch.stack([self._text[t] for t in texts])

    def attention(self, layer, h):
        """(output, head-averaged probabilities [B, T, T]) of one block's attention on h = ln_1(x)."""
        torch = self.torch
        at = layer.self_attn
        b, t, d = h.shape
        nh = at.num_heads
        dh = d // nh

        def heads(v):
            return v.reshape(b, t, nh, dh).transpose(1, 2)

        q, k, v = heads(at.q_proj(h)) * dh ** -0.5, heads(at.k_proj(h)), heads(at.v_proj(h))
        w = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
        o = (w @ v).transpose(1, 2).reshape(b, t, d)
        return at.out_proj(o), w.mean(1)

    def block(self, layer, x, h=None):
        if h is None:
            h = layer.layer_norm1(x)
        o, w = self.attention(layer, h)
        x = x + o
        x = x + layer.mlp(layer.layer_norm2(x))
        return x, w

    def embed(self, px, pos):
        vm = self.vm
        x = vm.embeddings.patch_embedding(px).flatten(2).transpose(1, 2)
        cls = vm.embeddings.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, -1)
        return vm.pre_layrnorm(self.torch.cat([cls, x], 1) + pos)


# ----------------------------------------------------------------------------- image helpers
def bicubic(torch, rgb01, h, w):
    """[H, W, 3] float -> [1, 3, h, w] float64: PyTorch bicubic, align_corners=False, no antialias."""
    t = torch.from_numpy(np.ascontiguousarray(rgb01.transpose(2, 0, 1)))[None].double()
    if t.shape[-2:] == (h, w):
        return t
    return torch.nn.functional.interpolate(t, size=(h, w), mode="bicubic", align_corners=False)


def normalise(torch, t):
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float64).reshape(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=torch.float64).reshape(1, 3, 1, 1)
    return (t - mean) / std


def minmax(x):
    x = x - x.min()
    return x / (EPS + x.max())


# ----------------------------------------------------------------------------- Grad-CAM + CLIP-ES
class Proposals:
    def __init__(self, torch, clip, tok, clipes_threshold, n_attn=8):
        self.torch, self.clip, self.tok = torch, clip, tok
        self.t = clipes_threshold
        self.n_attn = min(n_attn, len(clip.layers))

    def __call__(self, rgb, queries, background):
        torch, clip = self.torch, self.clip
        H, W = rgb.shape[:2]
        P = clip.patch
        gh, gw = math.ceil(H / P), math.ceil(W / P)
        px = normalise(torch, bicubic(torch, rgb.astype(np.float32) / 255.0, gh * P, gw * P))
        table = clip.vm.embeddings.position_embedding.weight.detach()
        g = int(round((table.shape[0] - 1) ** 0.5))
        grid = table[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = torch.nn.functional.interpolate(grid, size=(gh, gw), mode="bilinear", align_corners=False)
        pos = torch.cat([table[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], 0)[None]
        fg = clip.text(self.tok, queries)
        bg = clip.text(self.tok, [CAM_TEMPLATE.format(b) for b in background]) if background else fg[:0]
        attn = []
        with torch.no_grad():
            x = clip.embed(px, pos)
            first = len(clip.layers) - self.n_attn
            for i, layer in enumerate(clip.layers[:-1]):
                x, w = clip.block(layer, x)
                if i >= first:
                    attn.append(w[0, 1:, 1:])
            last = clip.layers[-1]
            a0 = last.layer_norm1(x)
        cams = self._gradcam(x, a0, fg, bg, gh, gw, attn)
        empty = [f for f in range(len(queries)) if cams[f].max() == 0]
        if empty and bg.shape[0] > 0:
            again = self._gradcam(x, a0, fg, bg[:0], gh, gw, None)
            for f in empty:
                cams[f] = again[f]
        # CLIP-ES affinity (official: float32 torch; here float64)
        A = torch.stack(attn).mean(0).numpy()
        T = A / A.sum(0, keepdims=True)
        T = T / T.sum(1, keepdims=True)
        for _ in range(2):
            T = T / T.sum(0, keepdims=True)
            T = T / T.sum(1, keepdims=True)
        T = (T + T.T) / 2
        T = T @ T
        out = []
        for cam in cams:
            keep = self._box_mask(cam, self.t)
            refined = ((T * keep[None, :]) @ cam.reshape(-1).astype(np.float64)).reshape(gh, gw)
            refined = minmax(refined).astype(np.float32)
            import cv2
            out.append(cv2.resize(refined, (W, H), interpolation=cv2.INTER_LINEAR))
        return np.stack(out)

    def _gradcam(self, x, a0, fg, bg, gh, gw, attn):
        torch, clip = self.torch, self.clip
        last = clip.layers[-1]
        texts = torch.cat([fg, bg], 0)
        a = a0.detach().clone().requires_grad_(True)  # the hooked activation: ln_1 output of the last block
        with torch.enable_grad():
            y, w = clip.block(last, x, h=a)
            z = clip.model.visual_projection(clip.vm.post_layernorm(y)[:, 1:].mean(1))
            z = z / z.norm(dim=-1, keepdim=True)
            p = torch.softmax(clip.logit_scale * z @ texts.t(), dim=-1)[0]
            cams = []
            for f in range(fg.shape[0]):
                (g,) = torch.autograd.grad(p[f], a, retain_graph=True)
                g, act = g[0, 1:], a.detach()[0, 1:]  # [P, D], class token dropped
                cam = torch.relu(act @ g.mean(0)).numpy().reshape(gh, gw)
                cams.append(minmax(cam).astype(np.float32))
        if attn is not None:
            attn.append(w.detach()[0, 1:, 1:])
        return cams

    @staticmethod
    def _box_mask(cam, threshold):
        import cv2
        gh, gw = cam.shape
        u8 = (cam * 255).astype(np.uint8)
        t = threshold
        while True:
            _, binary = cv2.threshold(u8, int(t * u8.max()), 255, cv2.THRESH_BINARY)
            if binary.max() > 0 or t <= 0:
                break
            t -= 0.1
        contours = cv2.findContours(binary, cv2.RETR_TREE, cv2.CHAIN_APPROX_SIMPLE)[0]
        keep = np.zeros((gh, gw), np.float64)
        boxes = [cv2.boundingRect(c) for c in contours] if contours else [(0, 0, 0, 0)]
        for x, y, w, h in boxes:
            keep[y:min(y + h, gh - 1), x:min(x + w, gw - 1)] = 1
        return keep.reshape(-1)


# ----------------------------------------------------------------------------- prompts + classifier
def ellipse_sampled(img, cx, cy, a, b):
    """ovseg's circle rasterisation (native/src visual prompts): the analytic ellipse sampled at
    8*max(a, b) + 8 angles, each sample rounded half away from zero to a pixel. Only for
    --circle ovseg, to attribute score differences to cv2.ellipse's polygon rasterisation."""
    n = 8 * max(a, b) + 8
    th = 2 * np.pi * np.arange(n) / n

    def lround(v):
        return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)

    xs, ys = cx + lround(a * np.cos(th)), cy + lround(b * np.sin(th))
    ok = (xs >= 0) & (ys >= 0) & (xs < img.shape[1]) & (ys < img.shape[0])
    img[ys[ok], xs[ok]] = (255, 0, 0)


def visual_prompt(rgb, cam, threshold, effects, circle="cv2"):
    import cv2
    if float(cam.astype(np.float64).sum()) <= 1:
        return rgb.copy()
    mask = cam > threshold
    out = rgb.copy()
    if "blur" in effects:
        out = np.where(mask[..., None], out, cv2.GaussianBlur(out, (15, 15), 0))
    if "gray" in effects:
        gray = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)  # RGB data through BGR2GRAY: the official quirk
        out = np.where(mask[..., None], out, gray[..., None])
    if "black" in effects:
        out = np.where(mask[..., None], out, 0)
    out = np.ascontiguousarray(out.astype(np.uint8))
    if "circle" in effects and mask.any():
        rows, cols = np.nonzero(mask)
        cy, cx = int(np.mean(rows)), int(np.mean(cols))
        bh, bw = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        if circle == "cv2":
            cv2.ellipse(out, (cx, cy), (bw // 2, bh // 2), 0, 0, 360, (255, 0, 0), 1)
        else:
            ellipse_sampled(out, cx, cy, bw // 2, bh // 2)
    if "rectangle" in effects and mask.any():
        rows, cols = np.nonzero(mask)
        cy, cx = int(np.mean(rows)), int(np.mean(cols))
        bh, bw = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
        cv2.rectangle(out, (cx - bw // 2, cy - bh // 2), (cx + bw // 2, cy + bh // 2), (255, 0, 0), 1)
    if "contour" in effects:
        raise SystemExit("contour prompts are not implemented in this reference")
    return out


class Classifier:
    def __init__(self, torch, clip, tok, logit_scale, size_rule="torchvision", resize="pil"):
        self.torch, self.clip, self.tok, self.scale = torch, clip, tok, logit_scale
        self.size_rule, self.resize = size_rule, resize
        self.size = clip.model.config.vision_config.image_size

    def preprocess(self, rgb):
        torch, S = self.torch, self.size
        h, w = rgb.shape[:2]
        if self.size_rule == "torchvision":  # Resize(224): long side int(224 * long / short); CenterCrop: int(round(.))
            if w <= h:
                nw, nh = S, int(S * h / w)
            else:
                nh, nw = S, int(S * w / h)
            top, left = int(round((nh - S) / 2.0)), int(round((nw - S) / 2.0))
        else:  # "ovseg" (diagnosis only): both sides and the crop offset rounded half up
            s = S / min(w, h)
            nw, nh = max(S, math.floor(w * s + 0.5)), max(S, math.floor(h * s + 0.5))
            top, left = math.floor((nh - S) / 2 + 0.5), math.floor((nw - S) / 2 + 0.5)
        if self.resize == "pil":  # official: CLIP's preprocess = torchvision Resize on the PIL image
            from PIL import Image
            r = np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize((nw, nh), Image.BICUBIC))
            t = torch.from_numpy(np.ascontiguousarray(r.transpose(2, 0, 1)))[None].double() / 255.0
        else:  # "torch" (diagnosis): PyTorch bicubic in float, no antialiasing
            t = bicubic(torch, rgb.astype(np.float32) / 255.0, nh, nw).clamp(0, 1)
        return normalise(torch, t[:, :, top:top + S, left:left + S])

    def __call__(self, images, names):
        return self.texts(images, [[t.format(n) for n in names] for t in TEMPLATES])

    def texts(self, images, texts):
        """clip_wrapper.forward_clip: a flat list of strings -> one softmax; a list of lists ->
        softmax per inner list, summed, softmax."""
        torch, clip = self.torch, self.clip
        px = torch.cat([self.preprocess(im) for im in images], 0)
        with torch.no_grad():
            x = clip.embed(px, clip.vm.embeddings.position_embedding.weight[None])
            for layer in clip.layers[:-1]:  # CLIPWrapper: L - 1 blocks for the image
                x, _ = clip.block(layer, x)
            z = clip.model.visual_projection(clip.vm.post_layernorm(x[:, 0]))
            z = z / z.norm(dim=-1, keepdim=True)
            if isinstance(texts[0], str):
                return torch.softmax(self.scale * z @ clip.text(self.tok, texts).t(), dim=-1).numpy()
            total = 0
            for group in texts:
                total = total + torch.softmax(self.scale * z @ clip.text(self.tok, list(group)).t(), dim=-1)
            return torch.softmax(total, dim=-1).numpy()


# ----------------------------------------------------------------------------- the loop
def car(rgb, labels, proposals, classifier, mask_threshold, confidence, effects, background, circle="cv2"):
    alive = list(range(len(labels)))
    steps, previous, maps = [], None, None
    last_positive = 0
    step = 0
    while True:
        names = [labels[i] for i in alive]
        cam_texts = names if step == 0 else [CAM_TEMPLATE.format(n) for n in names]
        maps = proposals(rgb, cam_texts, background)
        prompted = [visual_prompt(rgb, m, mask_threshold, effects, circle) for m in maps]
        S = classifier(prompted, names)
        diag = np.diagonal(S).copy()
        keep = [i for i in range(len(names)) if diag[i] > confidence] or [int(np.argmax(diag))]
        margin = float(np.min(np.abs(diag - confidence)))
        steps.append({"queries": names, "scores": [float(v) for v in diag], "kept": [names[i] for i in keep],
                      "margin_to_threshold": margin})
        # Official car.py (_forward_car): an all-zero stage is scored unprompted above, and only now
        # takes the previous stage's full list (misaligned with the queries: official bug, kept).
        if step > 0 and maps.max() == 0:
            maps = previous
        previous = maps
        if len(keep) == last_positive:
            break
        last_positive = len(keep)
        alive = [alive[i] for i in keep]
        step += 1
    return steps, maps


def car_refer(rgb, sentences, proposals, classifier, mask_threshold, confidence, effects, background, templated):
    """Official refer mode (car.py, seg_mode "refer"): one recurrence over all sentences of one
    object; one CAM per sentence (alone against the background); one classifier call over all."""
    init_clip = [CAM_TEMPLATE.format(s) for s in sentences]
    cam_texts, clip_texts = list(sentences), list(init_clip)
    groups = [[t.format(s) for s in sentences] for t in TEMPLATES] if templated else list(init_clip)
    steps, previous, last_positive, step = [], None, 0, 0
    while True:
        maps = np.concatenate([proposals(rgb, [t], background) for t in cam_texts])
        prompted = [visual_prompt(rgb, m, mask_threshold, effects) for m in maps]
        S = classifier.texts(prompted, groups)
        diag = np.diagonal(S).copy()
        keep = [i for i in range(len(cam_texts)) if diag[i] > confidence] or [int(np.argmax(diag))]
        names = [sentences[init_clip.index(c)] for c in clip_texts]
        steps.append({"queries": names, "scores": [float(v) for v in diag], "kept": [names[i] for i in keep],
                      "margin_to_threshold": float(np.min(np.abs(diag - confidence)))})
        # The official text filter: on a flat list of strings g[i] is a character (quirk kept).
        groups = [[g[i] for i in keep] for g in groups]
        cam_texts = clip_texts = [clip_texts[i] for i in keep]
        if step > 0 and maps.max() == 0:
            maps = previous
        previous = maps
        if len(keep) == last_positive:
            break
        last_positive = len(keep)
        step += 1
    return steps, maps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cam-checkpoint", required=True, help="transformers CLIP directory of the Grad-CAM model")
    ap.add_argument("--classifier-checkpoint", required=True, help="transformers CLIP directory of the classifier")
    ap.add_argument("--image", nargs="+", required=True)
    ap.add_argument("--labels", help="comma-separated; default: the preset's official class list (voc)")
    ap.add_argument("--preset", default="voc", choices=sorted(PRESETS))
    ap.add_argument("--confidence", type=float, help="override the preset's confidence threshold")
    ap.add_argument("--classifier-logit-scale", default="checkpoint",
                    help="'checkpoint' (official: exp(logit_scale) of the classifier) or a number")
    ap.add_argument("--circle", default="cv2", choices=["cv2", "ovseg"],
                    help="circle prompt: cv2.ellipse (official, default) or ovseg's sampled ellipse (diagnosis)")
    ap.add_argument("--classifier-size-rule", default="torchvision", choices=["torchvision", "ovseg"],
                    help="classifier resize/crop sizes: torchvision's (official, default) or ovseg's rounding (diagnosis)")
    ap.add_argument("--classifier-resize", default="pil", choices=["pil", "torch"],
                    help="classifier resize: Pillow bicubic on 8 bits (official, default) or PyTorch bicubic (diagnosis)")
    ap.add_argument("--refer", action="store_true",
                    help="--labels are sentences describing one object: the official joint refer run")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)

    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    t0 = time.time()
    tok = mr.clip_tokenizer()
    cam_clip = Clip(torch, args.cam_checkpoint)
    cls_clip = Clip(torch, args.classifier_checkpoint)
    scale = cls_clip.logit_scale if args.classifier_logit_scale == "checkpoint" else float(args.classifier_logit_scale)
    mask_thr, conf, clipes_thr, effects = PRESETS[args.preset]
    if args.confidence is not None:
        conf = args.confidence
    if args.labels is None and args.preset not in CLASSES:
        ap.error(f"--labels is required with preset {args.preset} (no official class list shipped)")
    labels = CLASSES[args.preset] if args.labels is None else [l.strip() for l in args.labels.split(",") if l.strip()]
    proposals = Proposals(torch, cam_clip, tok, clipes_thr)
    classifier = Classifier(torch, cls_clip, tok, scale, args.classifier_size_rule, args.classifier_resize)
    log(f"models loaded in {time.time() - t0:.1f}s (cam logit scale {cam_clip.logit_scale:.4g}, "
        f"classifier logit scale {scale:.4g}); preset {args.preset}: mask {mask_thr}, confidence {conf}, "
        f"clipes {clipes_thr}, prompts {'+'.join(effects)}")
    for path in args.image:
        t1 = time.time()
        rgb = mr.read_rgb(path)
        if args.refer:
            steps, maps = car_refer(rgb, labels, proposals, classifier, mask_thr, conf, effects, BACKGROUND,
                                    args.preset not in UNTEMPLATED)
        else:
            steps, maps = car(rgb, labels, proposals, classifier, mask_thr, conf, effects, BACKGROUND, args.circle)
        stem = os.path.splitext(os.path.basename(path))[0]
        out = os.path.join(args.out, stem)
        os.makedirs(out, exist_ok=True)
        np.save(os.path.join(out, "proposals.npy"), np.ascontiguousarray(maps, dtype=np.float32))
        with open(os.path.join(out, "steps.json"), "w") as f:
            json.dump({"image": path, "labels": labels, "preset": args.preset, "confidence_threshold": conf,
                       "mask_threshold": mask_thr, "clipes_threshold": clipes_thr, "prompts": list(effects), "circle": args.circle,
                       "cam_logit_scale": cam_clip.logit_scale, "classifier_logit_scale": scale,
                       "steps": steps, "final_queries": steps[-1]["queries"]}, f, indent=2)
        log(f"{stem}: {len(steps)} steps, kept {[s['kept'] for s in steps]}, "
            f"scores {[[round(v, 4) for v in s['scores']] for s in steps]} ({time.time() - t1:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

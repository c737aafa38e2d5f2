#!/usr/bin/env python3
"""Reference MaskCLIP (training-free dense CLIP segmentation) in PyTorch, for parity checks of ovseg.

Runs on a Hugging Face transformers CLIP checkpoint (the same directory tools/export/export_clip.py
reads) with transformers' own modules, written from the MaskCLIP semantics and independently of
the exported ONNX graphs:

  image: RGB uint8 -> float 0..255 -> mmcv imrescale (keep ratio, s = min(2048/long, 512/short),
         size int(x*s+0.5)), bilinear align_corners=False, no antialias, no rounding
         -> (v/255 - mean)/std -> zero pad bottom/right to a multiple of the patch size
  dense: patch conv + class token + position table (patch rows resized bicubically,
         align_corners=False, to the patch grid) -> pre_layrnorm -> layers[:-1]; last block:
         v = x + out_proj(v_proj(ln_1(x))); v = v + mlp(ln_2(v)); f = post_layernorm(v)[1:]
  head:  z = visual_projection(f), L2-normalised; text: class x templates, CLIP BPE,
         get_text_features, L2-normalise, mean per class, renormalise; logits = cosines
  out:   [K, gh, gw] -> bilinear (align_corners=False) to the rescaled size (unpadded)
         -> bilinear to the original size; labels = argmax over K

ResNet (MaskCLIP RN50): --checkpoint an OpenAI CLIP RN .pt or a make_random_clip.py --arch rn50
directory (tools/export/resnet_clip.py's ModifiedResNet): dense features = the feature map before
the attention pool (stride 32, input padded to a multiple of 32), head z = c_proj(v_proj(f)) per
pixel with both biases (no attention, no attention-pool positional embedding); the rest as above.

Writes OUT/logits.npy ([K,H,W] float32) and OUT/labels.npy ([H,W] int32), and prints timings;
with several --image files, OUT/<file stem>/logits.npy etc. (the model and text run once).

  python tools/reference/maskclip_reference.py --checkpoint DIR --image IMG [IMG ...] \
      --labels "cat,dog,person" [--templates imagenet80|maskclip85|single|FILE] [--bundle BUNDLE] --out DIR

--engine onnx runs the text and image networks of --bundle (text.onnx, image.onnx, pos_embed.npy,
head_weight.npy) in ONNX Runtime instead of torch, with the same pre/post-processing: a check
of the bundle's graphs and arrays against the torch path (add --precision fp16 for the variants).

Mean/std: from --bundle's bundle.json when given (so the reference matches what ovseg runs),
else --imagenet-norm, else the checkpoint's preprocessor_config.json, else CLIP's.
"""
import argparse
import gzip
import html
import json
import os
import re
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TEXT_RES = os.path.join(ROOT, "java", "src", "main", "resources", "org", "ovseg", "text")
BPE_VOCAB = os.path.join(TEXT_RES, "bpe_simple_vocab_16e6.txt.gz")
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
SOT, EOT, CONTEXT = 49406, 49407, 77


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- text
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) \
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_tokenizer():
    """transformers' CLIPTokenizer with the vocabulary built as CLIP's simple_tokenizer builds it."""
    from transformers import CLIPTokenizer
    lines = gzip.open(BPE_VOCAB).read().decode("utf-8").split("\n")[1:49152 - 256 - 2 + 1]
    merges = [tuple(l.split()) for l in lines]
    base = list(bytes_to_unicode().values())
    vocab = base + [v + "</w>" for v in base] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    tok = CLIPTokenizer(vocab={v: i for i, v in enumerate(vocab)}, merges=merges)
    got = tok("a photo of a cat.")["input_ids"]
    want = [49406, 320, 1125, 539, 320, 2368, 269, 49407]
    if list(got) != want:
        raise RuntimeError(f"tokenizer self-check failed: {got} != {want}")
    return tok


def tokenize(tok, texts):
    """CLIP tokenisation: [SOT] bpe [EOT], truncated to 77 keeping EOT, zero padded to the longest."""
    rows = []
    for t in texts:
        # CLIP's basic_clean/whitespace_clean without ftfy (not installed; a no-op on ASCII text)
        t = re.sub(r"\s+", " ", html.unescape(html.unescape(t)).strip()).strip()
        ids = list(tok(t, add_special_tokens=False)["input_ids"])
        ids = [SOT] + ids + [EOT]
        if len(ids) > CONTEXT:
            ids = ids[:CONTEXT]
            ids[-1] = EOT
        rows.append(ids)
    # Causal attention + end-token pooling: trailing padding cannot change the result, so pad
    # to the longest prompt instead of 77 (much faster on CPU).
    length = max(len(r) for r in rows)
    out = np.zeros((len(rows), length), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def read_templates(name):
    if name in ("imagenet80", "maskclip85", "single"):
        path = os.path.join(TEXT_RES, f"templates-{name}.txt")
        if name == "single" and not os.path.exists(path):
            return ["a photo of a {}."]
    else:
        path = name
    with open(path, encoding="utf-8") as f:
        out = [l.strip() for l in f if l.strip() and not l.strip().startswith("#")]
    for t in out:
        assert t.count("{}") == 1, f"template without exactly one {{}}: {t!r}"
    return out


def text_classifier(torch, model, tok, labels, templates, batch=256):
    """[K, E] class embeddings: per-prompt L2 norm, mean over templates, renormalise."""
    out = []
    for label in labels:
        ids = tokenize(tok, [t.replace("{}", label) for t in templates])
        embs = []
        with torch.no_grad():
            for i in range(0, len(ids), batch):
                if isinstance(model, OnnxBundle):
                    e = torch.from_numpy(model.text_features(ids[i:i + batch]))
                else:
                    e = model.get_text_features(input_ids=torch.from_numpy(ids[i:i + batch]))
                    e = getattr(e, "pooler_output", e)  # transformers 5 returns an output object
                embs.append(e)
        e = torch.cat(embs, 0)
        e = e / e.norm(dim=-1, keepdim=True)
        c = e.mean(0)
        out.append(c / c.norm())
    return torch.stack(out, 0)


# ----------------------------------------------------------------------------- image
def read_rgb(path):
    import cv2
    # IMREAD_COLOR applies the EXIF orientation (as ovseg's decoder does) and converts gray /
    # palette / 16-bit images to 8-bit RGB (16-bit: value >> 8; ovseg may round differently).
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f"cannot read image {path}")
    return np.ascontiguousarray(img[:, :, ::-1])  # BGR -> RGB, uint8 [H, W, 3]


def rescale_size(h, w, short=512, long=2048):
    """mmcv.imrescale(keep_ratio) with scale (long, short)."""
    s = min(long / max(h, w), short / min(h, w))
    return int(h * s + 0.5), int(w * s + 0.5)


def preprocess(torch, rgb, mean, std, patch):
    F = torch.nn.functional
    h, w = rgb.shape[:2]
    nh, nw = rescale_size(h, w)
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).to(torch.float32)  # 0..255
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=False)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    x = (x / 255.0 - m) / s
    ph, pw = (-nh) % patch, (-nw) % patch
    x = F.pad(x, (0, pw, 0, ph), value=0.0)  # bottom / right, zeros after normalisation
    return x, (nh, nw)


# ----------------------------------------------------------------------------- dense features
def dense_features(torch, model, x):
    F = torch.nn.functional
    vm = model.vision_model
    vm = getattr(vm, "vision_model", vm)
    emb = vm.embeddings
    patch = emb.patch_embedding.kernel_size[0]
    gh, gw = x.shape[2] // patch, x.shape[3] // patch
    with torch.no_grad():
        t = emb.patch_embedding(x).flatten(2).transpose(1, 2)  # [1, P, D]
        table = emb.position_embedding.weight  # [1 + g*g, D]
        g = int(round((table.shape[0] - 1) ** 0.5))
        cls_pos, grid = table[:1], table[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], 0)
        h = torch.cat([emb.class_embedding.view(1, 1, -1), t], 1) + pos.unsqueeze(0)
        h = vm.pre_layrnorm(h)
        for layer in vm.encoder.layers[:-1]:
            h = layer(h, None)
        last = vm.encoder.layers[-1]
        y = last.layer_norm1(h)
        v = h + last.self_attn.out_proj(last.self_attn.v_proj(y))
        v = v + last.mlp(last.layer_norm2(v))
        f = vm.post_layernorm(v)[0, 1:]  # [P, D]
    return f, (gh, gw)


class OnnxBundle:
    """The bundle's networks in ONNX Runtime, standing in for the torch modules (--engine onnx)."""

    def __init__(self, bundle, precision):
        import onnxruntime as ort
        with open(os.path.join(bundle, "bundle.json")) as f:
            self.manifest = json.load(f)
        nets = self.manifest["networks"]

        def sess(kind):
            entry = nets[kind]
            if precision != "fp32":
                entry = entry["variants"][precision]
            so = ort.SessionOptions()
            so.log_severity_level = 3
            return ort.InferenceSession(os.path.join(bundle, entry["file"]), so, providers=["CPUExecutionProvider"])

        self.image, self.text = sess("image"), sess("text")
        arr = self.manifest["arrays"]
        self.patch = self.manifest["preprocessing"]["patch_size"]
        self.resnet = "pos_embed" not in arr
        if self.resnet:  # ResNet: head = c_proj(v_proj(f)), kept unfolded
            a = {k: np.load(os.path.join(bundle, arr[k]["file"])) for k in
                 ("attnpool_v_weight", "attnpool_v_bias", "attnpool_c_weight", "attnpool_c_bias")}
            self.rn_head = a
            self.head = None
        else:
            self.pos_table = np.load(os.path.join(bundle, arr["pos_embed"]["file"]))
            self.head = np.load(os.path.join(bundle, arr["head_weight"]["file"]))

    def text_features(self, ids):
        return self.text.run(["text_embeds"], {"input_ids": ids})[0]

    def head_fn(self, torch):
        if not self.resnet:
            w = torch.from_numpy(self.head)
            return lambda f: f @ w.T
        a = {k: torch.from_numpy(v) for k, v in self.rn_head.items()}
        return lambda f: (f @ a["attnpool_v_weight"].T + a["attnpool_v_bias"]) @ a["attnpool_c_weight"].T \
            + a["attnpool_c_bias"]

    def dense(self, torch, x):
        F = torch.nn.functional
        gh, gw = x.shape[2] // self.patch, x.shape[3] // self.patch
        if self.resnet:
            f = self.image.run(["dense_features"], {"pixel_values": x.numpy()})[0]
            return torch.from_numpy(f[0]), (gh, gw)
        table = torch.from_numpy(self.pos_table)
        g = int(round((table.shape[0] - 1) ** 0.5))
        grid = F.interpolate(table[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2), size=(gh, gw),
                             mode="bicubic", align_corners=False)
        pos = torch.cat([table[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], 0).unsqueeze(0)
        f = self.image.run(["dense_features"], {"pixel_values": x.numpy(), "pos_embed": pos.numpy()})[0]
        return torch.from_numpy(f[0]), (gh, gw)


def norm_from(args):
    if args.bundle:
        with open(os.path.join(args.bundle, "bundle.json")) as f:
            pre = json.load(f)["preprocessing"]
        return pre["mean"], pre["std"], "bundle.json"
    if args.imagenet_norm:
        return IMAGENET_MEAN, IMAGENET_STD, "imagenet"
    p = os.path.join(args.checkpoint, "preprocessor_config.json")
    if os.path.exists(p):
        with open(p) as f:
            cfg = json.load(f)
        if "image_mean" in cfg:
            return cfg["image_mean"], cfg["image_std"], "preprocessor_config.json"
    return CLIP_MEAN, CLIP_STD, "clip default"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True,
                    help="transformers CLIP directory, or an OpenAI CLIP ResNet .pt / make_random_clip --arch rn50 dir")
    ap.add_argument("--image", required=True, nargs="+",
                    help="image file(s); with several, outputs go to OUT/<file stem>/")
    ap.add_argument("--labels", required=True, help="comma-separated class names")
    ap.add_argument("--templates", default="imagenet80", help="imagenet80, maskclip85, single, or a file")
    ap.add_argument("--bundle", help="ovseg bundle directory: take mean/std from its bundle.json")
    ap.add_argument("--imagenet-norm", action="store_true", help="ImageNet mean/std (official MaskCLIP configs)")
    ap.add_argument("--out", default=".", help="directory for logits.npy and labels.npy")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                    help="torch: transformers modules (the reference); onnx: the --bundle's graphs in ONNX Runtime")
    ap.add_argument("--precision", choices=["fp32", "fp16"], default="fp32", help="bundle variant for --engine onnx")
    args = ap.parse_args(argv)

    t_all = time.time()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from transformers import CLIPModel
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()

    sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
    import resnet_clip
    visual = None
    labels = [l.strip() for l in args.labels.split(",") if l.strip()]
    templates = read_templates(args.templates)
    mean, std, norm_src = norm_from(args)

    t0 = time.time()
    if args.engine == "onnx":
        if not args.bundle:
            ap.error("--engine onnx needs --bundle")
        onnx_bundle = OnnxBundle(args.bundle, args.precision)
        patch = onnx_bundle.patch
        head = onnx_bundle.head_fn(torch)
        text_model = onnx_bundle
    elif resnet_clip.is_resnet_checkpoint(os.path.abspath(args.checkpoint)):
        visual, text_model = resnet_clip.load_checkpoint(os.path.abspath(args.checkpoint))
        patch = 32  # encoder stride
        ap_ = visual.attnpool
        head = lambda f: ap_.c_proj(ap_.v_proj(f))  # noqa: E731 - MaskCLIP RN head, both biases
    else:
        model = CLIPModel.from_pretrained(args.checkpoint, attn_implementation="eager", dtype=torch.float32).eval()
        patch = model.config.vision_config.patch_size
        head_weight = model.visual_projection.weight
        head = lambda f: f @ head_weight.T  # noqa: E731
        text_model = model
        visual = None
    t_load = time.time() - t0

    t0 = time.time()
    tok = clip_tokenizer()
    classes = text_classifier(torch, text_model, tok, labels, templates)  # [K, E]
    t_text = time.time() - t0

    t_image = 0.0
    for path in args.image:
        t0 = time.time()
        out_dir = args.out if len(args.image) == 1 else \
            os.path.join(args.out, os.path.splitext(os.path.basename(path))[0])
        rgb = read_rgb(path)
        H, W = rgb.shape[:2]
        x, (nh, nw) = preprocess(torch, rgb, mean, std, patch)
        if args.engine == "onnx":
            f, (gh, gw) = onnx_bundle.dense(torch, x)
        elif visual is not None:
            with torch.no_grad():
                fm = visual.features(x)[0]  # [D, gh, gw]
            gh, gw = fm.shape[1], fm.shape[2]
            f = fm.flatten(1).T  # [P, D], row-major over (h, w)
        else:
            f, (gh, gw) = dense_features(torch, model, x)
        with torch.no_grad():
            z = head(f)  # [P, E]
            z = z / z.norm(dim=-1, keepdim=True)
            logits = (z @ classes.T).T.reshape(1, len(labels), gh, gw)
            F = torch.nn.functional
            logits = F.interpolate(logits, size=(nh, nw), mode="bilinear", align_corners=False)
            if (nh, nw) != (H, W):  # (a same-size align_corners=False resize is the identity)
                logits = F.interpolate(logits, size=(H, W), mode="bilinear", align_corners=False)
            logits = logits[0].contiguous().numpy().astype(np.float32)  # [K, H, W]
        pred = logits.argmax(0).astype(np.int32)
        t_image += time.time() - t0

        os.makedirs(out_dir, exist_ok=True)
        np.save(os.path.join(out_dir, "logits.npy"), logits)
        np.save(os.path.join(out_dir, "labels.npy"), pred)
        counts = np.bincount(pred.ravel(), minlength=len(labels))
        log(f"{path}: {W}x{H} -> rescaled {nw}x{nh}, padded {x.shape[3]}x{x.shape[2]}, grid {gw}x{gh}; "
            f"{len(labels)} classes x {len(templates)} templates; mean/std from {norm_src}")
        log("  pixels per class: " + ", ".join(f"{l}={c}" for l, c in zip(labels, counts)))
        log(f"  logits [{len(labels)},{H},{W}] range [{logits.min():.4f}, {logits.max():.4f}] -> {out_dir}")
    log(f"time: load {t_load:.1f}s, text {t_text:.1f}s, image {t_image:.1f}s, total {time.time() - t_all:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

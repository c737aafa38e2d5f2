#!/usr/bin/env python3
"""Reference MaskCLIP (training-free dense CLIP segmentation) in PyTorch, for parity checks of ovseg.

Runs on a Hugging Face transformers CLIP checkpoint (the same directory tools/export/export_clip.py
reads) with transformers' own modules, written from the MaskCLIP semantics (chongzhou96/MaskCLIP:
mmseg's EncoderDecoder whole/slide inference, its VisionTransformer with return_qkv, ResNetClip and
MaskClipHead) and independently of the exported ONNX graphs:

  image: RGB uint8 -> float 0..255 -> mmcv imrescale with img_scale (long, short) (keep ratio,
         s = min(long/long side, short/short side), size int(x*s+0.5); (2048, 512) by default),
         bilinear align_corners=False, no antialias, no rounding -> (v/255 - mean)/std
  dense: ViT: zero pad bottom/right to a multiple of the patch size (PatchEmbed's corner padding);
         patch conv + class token + position table (patch rows resized bicubically,
         align_corners=False, to the patch grid) -> pre_layrnorm -> layers[:-1]; last block:
         v = x + out_proj(v_proj(ln_1(x))); v = v + mlp(ln_2(v)); f = post_layernorm(v)[1:];
         keys k = out_proj(k_proj(ln_1(x)))[1:] (the official backbone passes q, k, v through out_proj)
  head:  z = visual_projection(f), L2-normalised; text: class x templates, CLIP BPE,
         get_text_features, L2-normalise, mean per class, renormalise; logits = cosines [K, gh, gw]
  refine (MaskClipHead.refine_output, only when asked; both off in the official MaskCLIP configs):
         prompt denoising (pd > 0): p = softmax(100 logits) over classes; a class whose p never
         reaches pd anywhere in the crop gets logit -100 everywhere.
         key smoothing (ks > 0): p = softmax(100 logits); keys L2-normalised along the TOKEN axis
         (F.normalize's default dim=1 on the official [N, HW, C] tensor); A = k k^T [P, P]; at
         positions whose max_k p < ks, p := A p; the output is p (probabilities) everywhere.
  out:   whole: [K, gh, gw] -> bilinear (align_corners=False) to the rescaled size (unpadded)
         -> bilinear to the original size; labels = argmax over K.
         slide (--window W --stride S): mmseg's slide_inference on the rescaled image: crops of
         min(W, side), grid counts max(side - crop + stride - 1, 0) // stride + 1, the last crop
         flush with the edge; each crop's logits (refined per crop) resized to the crop, summed,
         divided by the per-pixel crop count, then resized to the original size.

ResNet (MaskCLIP RN50): --checkpoint an OpenAI CLIP RN .pt or a make_random_clip.py --arch rn50
directory (tools/export/resnet_clip.py's ModifiedResNet): NOT padded (the official ResNetClip
takes the rescaled image as is; its stride-2 conv and average pools give the feature grid),
dense features = the feature map before the attention pool, head z = c_proj(v_proj(f)) per pixel
with both biases (no attention, no attention-pool positional embedding), keys for key smoothing
k = k_proj(f) (the attention pool's key projection, with its bias); the rest as above.

--official-vit runs the vision tower as the official MaskCLIP ViT does (mmcv's VisionTransformer
on CLIP's weights): exact (erf) GELU instead of QuickGELU and LayerNorm eps 1e-6 instead of 1e-5
in every vision LayerNorm. The text tower stays CLIP's (the official text embeddings come from
the clip package).

--preset voc|context|coco-stuff applies the official MaskCLIP test settings (configs/_base_/
datasets): ImageNet mean/std, the 85 MaskCLIP templates, img_scale (2048, 512) for voc and
coco-stuff, (520, 520) for Pascal Context (keep ratio: the long side becomes 520); whole-image
inference, no refinement. Explicit --templates / --norm / --img-scale override it.

Mean/std never come from the bundle under test: --norm clip|imagenet (or a preset), else the
checkpoint's preprocessor_config.json, else CLIP's.

Writes OUT/logits.npy ([K,H,W] float32) and OUT/labels.npy ([H,W] int32), and prints timings;
with several --image files, OUT/<file stem>/logits.npy etc. (the model and text run once).

  python tools/reference/maskclip_reference.py --checkpoint DIR --image IMG [IMG ...] \
      --labels "cat,dog,person" [--templates imagenet80|maskclip85|single|FILE] [--preset NAME] \
      [--norm clip|imagenet] [--img-scale 2048,512] [--window 448 --stride 224] \
      [--key-smoothing 1.0] [--prompt-denoising 0.5] [--official-vit] --out DIR

--method sclip|clearclip|naclip|proxyclip re-runs CLIP's last block as that training-free method
does (written from the official repositories' inference code: wangf3014/SCLIP clip/model.py
custom_attn with csa=True; mc-lan/ClearCLIP open_clip/transformer.py custom_attn model_type
'ClearCLIP' with ignore_residual; sinahmr/NACLIP clip/model.py arch 'reduced', attn_strategy
'naclip', gaussian_std 5; mc-lan/ProxyCLIP open_clip/transformer.py custom_attn, beta 1.2, gamma
3.0, DINO's last-layer normalised patch tokens), on the last block's input x (after layers[:-1]),
per head (head dim d, scale d^-0.5), on the padded crop's gh x gw grid:
  sclip:     x + out_proj(softmax(q q^T s) v + softmax(k k^T s) v), then + mlp(ln_2(.)); post_layernorm
  clearclip: out_proj(softmax(q q^T s) v); post_layernorm (no residual, no FFN)
  naclip:    out_proj(softmax(k k^T s + G) v); G = a (2gh-1)x(2gw-1) Gaussian window (std 5)
             convolved ('same') over each patch's one-hot map, zero for the class token
  proxyclip: A = softmax((S - mean(S) beta) gamma, entries < 0 -> -inf), S the cosine similarity of
             DINO's patch features (--dino: a transformers ViTModel, last_hidden_state[1:], on the
             padded crop re-normalised from CLIP's to ImageNet's mean/std, grid I x J at DINO's
             patch); out_proj(A . bilinear(v patches, gh x gw -> I x J)); post_layernorm;
             the logits live on the I x J grid.
--pamr refines the final [K, H, W] logits with PAMR (NACLIP's pamr.py settings: 10 iterations,
dilations 8 and 16) guided by the normalised rescaled image resized bilinearly to H x W;
implemented here with shifted slices of a replicate-padded tensor, not convolutions.

--engine onnx runs the text and image networks of --bundle (text.onnx, image.onnx, pos_embed.npy,
head_weight.npy) in ONNX Runtime instead of torch, with the same pre/post-processing: a check
of the bundle's graphs and arrays against the torch path (add --precision fp16 for the variants).
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


def rescale_size(h, w, img_scale=(2048, 512)):
    """mmcv.imrescale(keep_ratio) with img_scale (long, short): both edges fit, the ratio kept."""
    long_, short = max(img_scale), min(img_scale)
    s = min(long_ / max(h, w), short / min(h, w))
    return int(h * s + 0.5), int(w * s + 0.5)


def preprocess(torch, rgb, mean, std, img_scale):
    """Rescaled, normalised image [1, 3, nh, nw] (not padded: padding is per crop and per tower)."""
    F = torch.nn.functional
    h, w = rgb.shape[:2]
    nh, nw = rescale_size(h, w, img_scale)
    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0).to(torch.float32)  # 0..255
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=False)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x / 255.0 - m) / s


def pad_to(torch, x, patch):
    ph, pw = (-x.shape[2]) % patch, (-x.shape[3]) % patch
    return torch.nn.functional.pad(x, (0, pw, 0, ph), value=0.0)  # bottom / right, zeros after normalisation


# ----------------------------------------------------------------------------- dense features
def make_official_vit(torch, model):
    """The official MaskCLIP ViT on CLIP's weights: exact GELU, LayerNorm eps 1e-6 (vision tower only)."""
    vm = model.vision_model
    vm = getattr(vm, "vision_model", vm)
    n_ln = 0
    for mod in vm.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            mod.eps = 1e-6
            n_ln += 1
    for layer in vm.encoder.layers:
        layer.mlp.activation_fn = torch.nn.GELU(approximate="none")
    return n_ln


def last_block_input(torch, model, x):
    """The input of the last ViT block on a zero-padded crop: ([1, 1 + P, D], (gh, gw), padded crop)."""
    F = torch.nn.functional
    vm = model.vision_model
    vm = getattr(vm, "vision_model", vm)
    emb = vm.embeddings
    patch = emb.patch_embedding.kernel_size[0]
    x = pad_to(torch, x, patch)
    gh, gw = x.shape[2] // patch, x.shape[3] // patch
    with torch.no_grad():
        t = emb.patch_embedding(x).flatten(2).transpose(1, 2)
        table = emb.position_embedding.weight
        g = int(round((table.shape[0] - 1) ** 0.5))
        cls_pos, grid = table[:1], table[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False)
        pos = torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], 0)
        h = torch.cat([emb.class_embedding.view(1, 1, -1), t], 1) + pos.unsqueeze(0)
        h = vm.pre_layrnorm(h)
        for layer in vm.encoder.layers[:-1]:
            h = layer(h, None)
    return h, (gh, gw), x


def naclip_addition(torch, gh, gw, std=5.0):
    """NACLIP's attention addition, built the way its get_attention_addition does: a Gaussian
    window of (2gh-1) x (2gw-1) convolved ('same') over every patch's one-hot map; [1+P, 1+P]
    with zeros for the class token."""
    F = torch.nn.functional
    c = 1.0 / (std * 2 ** 0.5)
    ys = torch.linspace(-(gh - 1) * c, (gh - 1) * c, 2 * gh - 1)
    xs = torch.linspace(-(gw - 1) * c, (gw - 1) * c, 2 * gw - 1)
    window = torch.exp(-(ys[:, None] ** 2 + xs[None, :] ** 2))
    onehot = torch.eye(gh * gw).view(gh * gw, 1, gh, gw)
    out = F.conv2d(onehot, window.view(1, 1, 2 * gh - 1, 2 * gw - 1), padding="same").view(gh * gw, gh * gw)
    full = torch.zeros(1 + gh * gw, 1 + gh * gw)
    full[1:, 1:] = out
    return full


def family_features(torch, model, x, method, dino=None, norm=None):
    """Patch features [N, D] (after post_layernorm) and their grid for a MaskCLIP-family method."""
    F = torch.nn.functional
    vm = model.vision_model
    vm = getattr(vm, "vision_model", vm)
    h, (gh, gw), xp = last_block_input(torch, model, x)
    last = vm.encoder.layers[-1]
    attn = last.self_attn
    D = h.shape[-1]
    nh = attn.num_heads
    hd = D // nh
    scale = hd ** -0.5
    with torch.no_grad():
        y = last.layer_norm1(h)[0]  # [T, D]

        def heads(t):
            return t.reshape(-1, nh, hd).transpose(0, 1)  # [nh, T, hd]

        def merge(t):
            return t.transpose(0, 1).reshape(-1, D)

        q, k, v = heads(attn.q_proj(y)), heads(attn.k_proj(y)), heads(attn.v_proj(y))
        grid = (gh, gw)
        if method == "sclip":
            w = F.softmax(torch.bmm(q, q.transpose(1, 2)) * scale, -1) + F.softmax(torch.bmm(k, k.transpose(1, 2)) * scale, -1)
            o = h[0] + attn.out_proj(merge(torch.bmm(w, v)))
            o = o + last.mlp(last.layer_norm2(o))
            o = o[1:]
        elif method == "clearclip":
            w = F.softmax(torch.bmm(q, q.transpose(1, 2)) * scale, -1)
            o = attn.out_proj(merge(torch.bmm(w, v)))[1:]
        elif method == "naclip":
            w = F.softmax(torch.bmm(k, k.transpose(1, 2)) * scale + naclip_addition(torch, gh, gw).unsqueeze(0), -1)
            o = attn.out_proj(merge(torch.bmm(w, v)))[1:]
        elif method == "proxyclip":
            mean, std = norm
            m = torch.tensor(mean).view(1, 3, 1, 1)
            s = torch.tensor(std).view(1, 3, 1, 1)
            im = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
            ist = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
            px = ((xp * s + m) - im) / ist
            dp = dino.config.patch_size
            I, J = xp.shape[2] // dp, xp.shape[3] // dp
            feats = dino(px, interpolate_pos_encoding=True).last_hidden_state[:, 1:]  # [1, I*J, C]
            qk = F.normalize(feats.reshape(1, I, J, -1).permute(0, 3, 1, 2).flatten(2), dim=1)  # [1, C, IJ]
            sim = torch.einsum("bcm,bcn->bmn", qk, qk)
            sim = (sim - torch.mean(sim) * 1.2) * 3.0
            sim[sim < 0.0] = float("-inf")
            w = F.softmax(sim, dim=-1).repeat(nh, 1, 1)  # [nh, IJ, IJ]
            vp = v[:, 1:, :].reshape(nh, gh, gw, hd).permute(0, 3, 1, 2)
            vp = F.interpolate(vp, size=(I, J), mode="bilinear", align_corners=False)
            vp = vp.permute(0, 2, 3, 1).reshape(nh, I * J, hd)
            o = attn.out_proj(merge(torch.bmm(w, vp)))
            grid = (I, J)
        else:
            raise ValueError(method)
        f = vm.post_layernorm(o)
    return f, None, grid


def pamr(torch, img, mask, iterations=10, dilations=(8, 16)):
    """PAMR on mask [1, K, H, W] guided by img [1, C, H, W] (semantics of NACLIP's pamr.py)."""
    F = torch.nn.functional
    H, W = img.shape[-2:]

    def shifted(t, d, centre):
        tp = F.pad(t, [d, d, d, d], mode="replicate")
        offs = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if centre or (a, b) != (0, 0)]
        return torch.stack([tp[..., d + a * d:d + a * d + H, d + b * d:d + b * d + W] for a, b in offs], 2)

    with torch.no_grad():
        std = torch.cat([shifted(img, d, True) for d in dilations], 2).std(2, keepdim=True)
        nb = torch.cat([shifted(img, d, False) for d in dilations], 2)  # [1, C, 8n, H, W]
        aff = (-(img.unsqueeze(2) - nb).abs() / (1e-8 + 0.1 * std)).mean(1, keepdim=True)
        aff = F.softmax(aff, 2)
        for _ in range(iterations):
            mask = (torch.cat([shifted(mask, d, False) for d in dilations], 2) * aff).sum(2)
    return mask


def dense_features(torch, model, x):
    """ViT dense features and keys on a zero-padded crop: ([P, D], [P, D], (gh, gw))."""
    F = torch.nn.functional
    vm = model.vision_model
    vm = getattr(vm, "vision_model", vm)
    emb = vm.embeddings
    patch = emb.patch_embedding.kernel_size[0]
    x = pad_to(torch, x, patch)
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
        attn = last.self_attn
        v = h + attn.out_proj(attn.v_proj(y))
        v = v + last.mlp(last.layer_norm2(v))
        f = vm.post_layernorm(v)[0, 1:]  # [P, D]
        k = attn.out_proj(attn.k_proj(y))[0, 1:]
    return f, k, (gh, gw)


def resnet_grid(side):
    """Feature-map side of CLIP's ModifiedResNet on an unpadded input: the stride-2 3x3 stem conv
    (padding 1) gives ceil(side/2), then four 2x2 average pools (stem, layers 2-4) floor."""
    g = (side + 1) // 2
    for _ in range(4):
        g //= 2
    return g


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
        self.outputs = [o.name for o in self.image.get_outputs()]
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
        names = ["dense_features"] + (["dense_keys"] if "dense_keys" in self.outputs else [])
        if self.resnet:
            outs = self.image.run(names, {"pixel_values": x.numpy()})
            gh, gw = resnet_grid(x.shape[2]), resnet_grid(x.shape[3])
        else:
            x = pad_to(torch, x, self.patch)
            gh, gw = x.shape[2] // self.patch, x.shape[3] // self.patch
            table = torch.from_numpy(self.pos_table)
            g = int(round((table.shape[0] - 1) ** 0.5))
            grid = F.interpolate(table[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2), size=(gh, gw),
                                 mode="bicubic", align_corners=False)
            pos = torch.cat([table[:1], grid.permute(0, 2, 3, 1).reshape(gh * gw, -1)], 0).unsqueeze(0)
            outs = self.image.run(names, {"pixel_values": x.numpy(), "pos_embed": pos.numpy()})
        f = torch.from_numpy(outs[0][0])
        k = torch.from_numpy(outs[1][0]) if len(outs) > 1 else None
        return f, k, (gh, gw)


# ----------------------------------------------------------------------------- refinement
def prompt_denoise(torch, logits, thresh):
    """[K, P] cosines -> classes whose softmax(100 cos) peak stays below thresh set to -100."""
    p = torch.softmax(logits * 100, dim=0)
    absent = p.max(dim=1).values < thresh
    out = logits.clone()
    out[absent] = -100.0
    return out


def key_smooth(torch, logits, keys, thresh):
    """[K, P] logits, [P, D] keys -> [K, P] probabilities, smoothed by key affinity where unsure."""
    p = torch.softmax(logits * 100, dim=0)  # [K, P]
    kn = keys / keys.norm(dim=0, keepdim=True).clamp_min(1e-12)  # along tokens, as the official code
    affinity = kn @ kn.T  # [P, P]
    smoothed = p @ affinity.T  # [K, P]: sum_q A[p, q] prob[:, q]
    unsure = p.max(dim=0).values < thresh
    return torch.where(unsure.unsqueeze(0), smoothed, p)


# ----------------------------------------------------------------------------- presets and norm
PRESETS = {  # the official test settings (configs/_base_/datasets/*.py, tools/maskclip_utils)
    "voc": dict(img_scale=(2048, 512), norm="imagenet", templates="maskclip85"),
    "context": dict(img_scale=(520, 520), norm="imagenet", templates="maskclip85"),
    "coco-stuff": dict(img_scale=(2048, 512), norm="imagenet", templates="maskclip85"),
}


def norm_from(args, preset):
    name = args.norm or ("imagenet" if args.imagenet_norm else None) or (preset or {}).get("norm")
    if name == "imagenet":
        return IMAGENET_MEAN, IMAGENET_STD, "imagenet"
    if name == "clip":
        return CLIP_MEAN, CLIP_STD, "clip"
    p = os.path.join(args.checkpoint, "preprocessor_config.json")
    if os.path.isdir(args.checkpoint) and os.path.exists(p):
        with open(p) as f:
            cfg = json.load(f)
        if "image_mean" in cfg:
            return cfg["image_mean"], cfg["image_std"], "preprocessor_config.json"
    return CLIP_MEAN, CLIP_STD, "clip default"


def crop_boxes(h, w, window, stride):
    """mmseg slide_inference's crops (y0, y1, x0, x1) on an h x w image."""
    ch, cw = min(window, h), min(window, w)
    ny = max(h - ch + stride - 1, 0) // stride + 1
    nx = max(w - cw + stride - 1, 0) // stride + 1
    boxes = []
    for iy in range(ny):
        for ix in range(nx):
            y1, x1 = min(iy * stride + ch, h), min(ix * stride + cw, w)
            boxes.append((max(y1 - ch, 0), y1, max(x1 - cw, 0), x1))
    return boxes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True,
                    help="transformers CLIP directory, or an OpenAI CLIP ResNet .pt / make_random_clip --arch rn50 dir")
    ap.add_argument("--image", required=True, nargs="+",
                    help="image file(s); with several, outputs go to OUT/<file stem>/")
    ap.add_argument("--labels", required=True, help="comma-separated class names")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="official MaskCLIP test settings")
    ap.add_argument("--templates", help="imagenet80 (default), maskclip85, single, or a file")
    ap.add_argument("--norm", choices=["clip", "imagenet"],
                    help="mean/std constants (default: the preset's, else the checkpoint's, else CLIP's)")
    ap.add_argument("--imagenet-norm", action="store_true", help="same as --norm imagenet")
    ap.add_argument("--img-scale", help="mmcv img_scale LONG,SHORT (default 2048,512; Pascal Context 520,520)")
    ap.add_argument("--window", type=int, default=0, help="sliding-window crop side (0: whole image)")
    ap.add_argument("--stride", type=int, default=0, help="sliding-window stride")
    ap.add_argument("--key-smoothing", type=float, default=0.0, help="ks_thresh (0: off)")
    ap.add_argument("--prompt-denoising", type=float, default=0.0, help="pd_thresh (0: off)")
    ap.add_argument("--official-vit", action="store_true",
                    help="vision tower with exact GELU and LayerNorm eps 1e-6 (the official MaskCLIP ViT)")
    ap.add_argument("--method", choices=["maskclip", "sclip", "clearclip", "naclip", "proxyclip"], default="maskclip",
                    help="how the last block is run (see above)")
    ap.add_argument("--dino", help="transformers ViTModel checkpoint for --method proxyclip")
    ap.add_argument("--pamr", action="store_true", help="refine the final logits with PAMR (10 iterations, dilations 8, 16)")
    ap.add_argument("--bundle", help="ovseg bundle directory (only for --engine onnx; never a source of mean/std)")
    ap.add_argument("--out", default=".", help="directory for logits.npy and labels.npy")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                    help="torch: transformers modules (the reference); onnx: the --bundle's graphs in ONNX Runtime")
    ap.add_argument("--precision", choices=["fp32", "fp16"], default="fp32", help="bundle variant for --engine onnx")
    args = ap.parse_args(argv)
    if args.window < 0 or (args.window > 0 and not 0 < args.stride <= args.window):
        ap.error("--window needs 0 < --stride <= --window")
    preset = PRESETS.get(args.preset)

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
    labels = [l.strip() for l in args.labels.split(",") if l.strip()]
    templates = read_templates(args.templates or (preset or {}).get("templates") or "imagenet80")
    mean, std, norm_src = norm_from(args, preset)
    img_scale = tuple(int(v) for v in args.img_scale.split(",")) if args.img_scale else \
        (preset or {}).get("img_scale", (2048, 512))

    t0 = time.time()
    resnet = False
    if args.engine == "onnx":
        if not args.bundle:
            ap.error("--engine onnx needs --bundle")
        onnx_bundle = OnnxBundle(args.bundle, args.precision)
        head = onnx_bundle.head_fn(torch)
        text_model = onnx_bundle

        def dense(x):
            return onnx_bundle.dense(torch, x)
    elif resnet_clip.is_resnet_checkpoint(os.path.abspath(args.checkpoint)):
        resnet = True
        if args.official_vit:
            ap.error("--official-vit applies to ViT checkpoints only")
        visual, text_model = resnet_clip.load_checkpoint(os.path.abspath(args.checkpoint))
        ap_ = visual.attnpool
        head = lambda f: ap_.c_proj(ap_.v_proj(f))  # noqa: E731 - MaskCLIP RN head, both biases

        def dense(x):  # unpadded, as the official ResNetClip
            with torch.no_grad():
                fm = visual.features(x)[0]  # [D, gh, gw]
                f = fm.flatten(1).T  # [P, D], row-major over (h, w)
                return f, ap_.k_proj(f), (fm.shape[1], fm.shape[2])
    else:
        model = CLIPModel.from_pretrained(args.checkpoint, attn_implementation="eager", dtype=torch.float32).eval()
        if args.official_vit:
            n = make_official_vit(torch, model)
            log(f"official MaskCLIP ViT: exact GELU, eps 1e-6 in {n} vision LayerNorms")
        head_weight = model.visual_projection.weight
        head = lambda f: f @ head_weight.T  # noqa: E731
        text_model = model

        if args.method != "maskclip":
            dino = None
            if args.method == "proxyclip":
                if not args.dino:
                    ap.error("--method proxyclip needs --dino")
                from transformers import ViTModel
                dino = ViTModel.from_pretrained(args.dino, attn_implementation="eager", dtype=torch.float32,
                                                add_pooling_layer=False).eval()

            def dense(x):
                return family_features(torch, model, x, args.method, dino, (mean, std))
        else:
            def dense(x):
                return dense_features(torch, model, x)
    if args.method != "maskclip" and (args.engine == "onnx" or resnet):
        ap.error("--method other than maskclip needs a ViT transformers checkpoint and --engine torch")
    t_load = time.time() - t0

    t0 = time.time()
    tok = clip_tokenizer()
    classes = text_classifier(torch, text_model, tok, labels, templates)  # [K, E]
    t_text = time.time() - t0
    F = torch.nn.functional
    K = len(labels)

    def crop_logits(x):
        """[K, h, w] logits of one (unpadded) crop at the crop's size."""
        f, k, (gh, gw) = dense(x)
        with torch.no_grad():
            z = head(f)  # [P, E]
            z = z / z.norm(dim=-1, keepdim=True)
            lg = classes @ z.T  # [K, P]
            if args.prompt_denoising > 0:
                lg = prompt_denoise(torch, lg, args.prompt_denoising)
            if args.key_smoothing > 0:
                if k is None:
                    raise RuntimeError("key smoothing needs dense keys; the bundle's image graph has none")
                lg = key_smooth(torch, lg, k, args.key_smoothing)
            lg = lg.reshape(1, K, gh, gw)
            return F.interpolate(lg, size=tuple(x.shape[2:]), mode="bilinear", align_corners=False)[0]

    t_image = 0.0
    for path in args.image:
        t0 = time.time()
        out_dir = args.out if len(args.image) == 1 else \
            os.path.join(args.out, os.path.splitext(os.path.basename(path))[0])
        rgb = read_rgb(path)
        H, W = rgb.shape[:2]
        x = preprocess(torch, rgb, mean, std, img_scale)
        nh, nw = x.shape[2], x.shape[3]
        with torch.no_grad():
            if args.window == 0:
                boxes = [(0, nh, 0, nw)]
                logits = crop_logits(x)
            else:
                boxes = crop_boxes(nh, nw, args.window, args.stride)
                acc = torch.zeros(K, nh, nw, dtype=torch.float32)
                count = torch.zeros(1, nh, nw, dtype=torch.float32)
                for (y0, y1, x0, x1) in boxes:
                    acc[:, y0:y1, x0:x1] += crop_logits(x[:, :, y0:y1, x0:x1])
                    count[:, y0:y1, x0:x1] += 1
                logits = acc / count
            logits = logits.unsqueeze(0)
            if (nh, nw) != (H, W):  # (a same-size align_corners=False resize is the identity)
                logits = F.interpolate(logits, size=(H, W), mode="bilinear", align_corners=False)
            if args.pamr:
                guide = x if (nh, nw) == (H, W) else F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)
                logits = pamr(torch, guide, logits)
            logits = logits[0].contiguous().numpy().astype(np.float32)  # [K, H, W]
        pred = logits.argmax(0).astype(np.int32)
        t_image += time.time() - t0

        os.makedirs(out_dir, exist_ok=True)
        np.save(os.path.join(out_dir, "logits.npy"), logits)
        np.save(os.path.join(out_dir, "labels.npy"), pred)
        counts = np.bincount(pred.ravel(), minlength=K)
        log(f"{path}: {W}x{H} -> rescaled {nw}x{nh} (img_scale {img_scale}), {len(boxes)} crop(s)"
            f"{' (resnet, unpadded)' if resnet else ''}; {K} classes x {len(templates)} templates; "
            f"mean/std from {norm_src}; ks {args.key_smoothing:g}, pd {args.prompt_denoising:g}; "
            f"method {args.method}{' + pamr' if args.pamr else ''}")
        log("  pixels per class: " + ", ".join(f"{l}={c}" for l, c in zip(labels, counts)))
        log(f"  logits [{K},{H},{W}] range [{logits.min():.4f}, {logits.max():.4f}] -> {out_dir}")
    log(f"time: load {t_load:.1f}s, text {t_text:.1f}s, image {t_image:.1f}s, total {time.time() - t_all:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

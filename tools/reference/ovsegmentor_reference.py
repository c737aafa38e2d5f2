#!/usr/bin/env python3
"""Independent PyTorch OVSegmentor inference, for parity with `ovseg segment --pipeline ovsegmentor`.

  python tools/reference/ovsegmentor_reference.py --checkpoint CKPT_DIR --labels a,b,c --image IMG... --out DIR
      [--bg-threshold 0.95] [--window 448 --stride 224] [--size 448]

CKPT_DIR holds checkpoint.pth (official key names, {"model": state_dict}) and bert/ (config.json,
vocab.txt). Written from the official inference (GroupViT's seg wrapper as OVSegmentor uses it),
functionally on the raw state dict: it shares no code with tools/export/export_ovsegmentor.py and
reads nothing from an ovseg bundle.

  image   RGB -> mmcv imrescale with img_scale (2048, size) -> /255, ImageNet mean/std
  crops   mmseg slide inference: window x window, stride apart, the last ones flush with the edge
  encoder patch conv, position table resized bicubically to the crop grid, 64 group tokens
          appended, 6 blocks; grouping block: norms, token MLP 64->8, post-norm cross-attention,
          assignment logits q.k/sqrt(C): hard one-hot over groups for the binding (divided by the
          token count + 1), soft (softmax over groups) for the pixel map; 6 blocks on the groups,
          final norm; projection MLP (BatchNorm in eval mode, unfolded) per group and on the mean
  text    BertTokenizer(vocab.txt, lower case) on "a photo of a {}.", padded batch with attention
          mask, BERT [CLS] of the last hidden state, projection MLP, mean over templates, L2 norm
  classes per crop: s = min(exp(logit_scale), 100); A = s cos(group, text) [G,K]; P = softmax_K A;
          image-level top-5 classes of softmax_K(s cos(image, text)); A restricted to them
          (-inf elsewhere), softmax_K, times P; pixel group = argmax over groups of the soft map
          resized bilinearly to the crop; class planes = that group's row; background plane 1
          where the row's max < min(bg_threshold, max A), else 0 (plane 0)
  merge   planes summed over crops, divided by the crop count, resized bilinearly to the image

Writes DIR/<stem>/logits.npy [1+K, H, W] (plane 0 background) and DIR/<stem>/crops.json (per
crop: window, grid, hard group per patch, top-2 logit margin per patch, group-text cosines).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


def read_rgb(path):
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"cannot read image {path}")
    return np.ascontiguousarray(img[:, :, ::-1])


def rescale(torch, rgb, short, long_=2048):
    F = torch.nn.functional
    h, w = rgb.shape[:2]
    s = min(long_ / max(h, w), short / min(h, w))
    nh, nw = int(h * s + 0.5), int(w * s + 0.5)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float()
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    m, sd = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    return (x / 255.0 - m) / sd


def crop_boxes(h, w, win, stride):
    ch, cw = min(win, h), min(win, w)
    ny = max(h - ch + stride - 1, 0) // stride + 1
    nx = max(w - cw + stride - 1, 0) // stride + 1
    out = []
    for iy in range(ny):
        for ix in range(nx):
            y1, x1 = min(iy * stride + ch, h), min(ix * stride + cw, w)
            out.append((max(y1 - ch, 0), y1, max(x1 - cw, 0), x1))
    return out


class Weights:
    def __init__(self, sd, prefix=""):
        self.sd, self.p = sd, prefix

    def __getitem__(self, k):
        return self.sd[self.p + k]

    def sub(self, k):
        return Weights(self.sd, self.p + k + ".")

    def count(self, k):
        n = 0
        while f"{self.p}{k}.{n}.norm1.weight" in self.sd:
            n += 1
        return n


def layer_norm(torch, x, w):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], w["weight"], w["bias"], eps=1e-5)


def linear(x, w):
    return x @ w["weight"].T + w["bias"]


def mlp(torch, x, w):
    return linear(torch.nn.functional.gelu(linear(x, w.sub("fc1"))), w.sub("fc2"))


def attention(torch, q, k, v, heads):
    b, n, c = q.shape
    d = c // heads
    qh = q.view(b, n, heads, d).permute(0, 2, 1, 3)
    kh = k.view(b, k.shape[1], heads, d).permute(0, 2, 1, 3)
    vh = v.view(b, v.shape[1], heads, d).permute(0, 2, 1, 3)
    a = torch.einsum("bhnd,bhmd->bhnm", qh, kh) / math.sqrt(d)
    return torch.einsum("bhnm,bhmd->bhnd", a.softmax(-1), vh).permute(0, 2, 1, 3).reshape(b, n, c)


def block(torch, x, w, heads):
    h = layer_norm(torch, x, w.sub("norm1"))
    c = x.shape[-1]
    qkv = linear(h, w.sub("attn.qkv"))
    x = x + linear(attention(torch, qkv[..., :c], qkv[..., c:2 * c], qkv[..., 2 * c:], heads), w.sub("attn.proj"))
    return x + mlp(torch, layer_norm(torch, x, w.sub("norm2")), w.sub("mlp"))


def project(torch, x, w):
    """ProjectMLP in eval mode: 1x1 conv, BatchNorm (running statistics), ReLU, 1x1 conv."""
    h = x @ w["linear_hidden.0.weight"][:, :, 0].T + w["linear_hidden.0.bias"]
    h = (h - w["linear_hidden.1.running_mean"]) / torch.sqrt(w["linear_hidden.1.running_var"] + 1e-5)
    h = torch.relu(h * w["linear_hidden.1.weight"] + w["linear_hidden.1.bias"])
    return h @ w["linear_out.weight"][:, :, 0].T + w["linear_out.bias"]


def encode_crop(torch, sd, px, heads):
    """(group embeddings [G,E], image embedding [E], soft map [G,gh,gw], assignment logits [G,P])."""
    F = torch.nn.functional
    enc = Weights(sd, "img_encoder.")
    x = F.conv2d(px, enc["patch_embed.proj.weight"], enc["patch_embed.proj.bias"], stride=enc["patch_embed.proj.weight"].shape[-1])
    gh, gw = x.shape[2:]
    x = x.flatten(2).transpose(1, 2)
    table = enc["pos_embed"]
    g = int(round(table.shape[0] ** 0.5))
    if (gh, gw) != (g, g):
        t = F.interpolate(table.T.reshape(1, -1, g, g), size=(gh, gw), mode="bicubic", align_corners=False)
        table = t.reshape(-1, gh * gw).T
    x = x + table
    l0 = enc.sub("layers.0")
    gt = l0["group_token"]
    s = gt.shape[1]
    z = torch.cat([x, gt], 1)
    for i in range(enc.count("layers.0.blocks")):
        z = block(torch, z, l0.sub(f"blocks.{i}"), heads)
    x, gt = z[:, :-s], z[:, -s:]
    d = l0.sub("downsample")
    gt, x = layer_norm(torch, gt, d.sub("norm_tokens")), layer_norm(torch, x, d.sub("norm_x"))
    grp = layer_norm(torch, mlp(torch, gt.transpose(1, 2), d.sub("mlp_inter")).transpose(1, 2), d.sub("norm_post_tokens"))
    pa = d.sub("pre_assign_attn")
    y = grp + linear(attention(torch, linear(grp, pa.sub("attn.q_proj")), linear(x, pa.sub("attn.k_proj")),
                               linear(x, pa.sub("attn.v_proj")), heads), pa.sub("attn.proj"))
    y = y + mlp(torch, layer_norm(torch, y, pa.sub("norm2")), pa.sub("mlp"))
    grp = layer_norm(torch, y, pa.sub("norm_post"))
    asg = d.sub("assign")
    q, k, v = linear(grp, asg.sub("q_proj")), linear(x, asg.sub("k_proj")), linear(x, asg.sub("v_proj"))
    logits = torch.einsum("bgc,bnc->bgn", q, k) / math.sqrt(q.shape[-1])
    hard = F.one_hot(logits.argmax(1), logits.shape[1]).permute(0, 2, 1).float()
    soft = logits.softmax(1)
    bound = torch.einsum("bgn,bnc->bgc", hard / (hard.sum(-1, keepdim=True) + 1.0), v)
    y = linear(bound, asg.sub("proj")) + grp
    y = y + mlp(torch, layer_norm(torch, y, d.sub("norm_new_x")), d.sub("mlp_channels"))
    for i in range(enc.count("layers.1.blocks")):
        y = block(torch, y, enc.sub(f"layers.1.blocks.{i}"), heads)
    y = layer_norm(torch, y, enc.sub("norm"))[0]
    pw = Weights(sd, "img_projector.")
    return project(torch, y, pw), project(torch, y.mean(0), pw), soft[0].reshape(-1, gh, gw), logits[0]


def text_embeddings(torch, sd, bert_dir, labels, templates):
    from transformers import BertConfig, BertModel, BertTokenizer
    tok = BertTokenizer(os.path.join(bert_dir, "vocab.txt"), do_lower_case=True)
    bert = BertModel(BertConfig.from_pretrained(bert_dir)).eval()
    own = {k[len("text_encoder.transformer."):]: v for k, v in sd.items() if k.startswith("text_encoder.transformer.")}
    bert.load_state_dict({k: v for k, v in own.items() if k != "embeddings.position_ids"}, strict=True)
    prompts = [t.format(label) for label in labels for t in templates]
    enc = tok(prompts, return_tensors="pt", padding=True, truncation=True)
    h = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state[:, 0]
    e = project(torch, h, Weights(sd, "text_projector.")).reshape(len(labels), len(templates), -1).mean(1)
    return torch.nn.functional.normalize(e, dim=-1)


def classify_crop(torch, groups, image, soft, text, scale, bg, ch, cw, top_k=5):
    F = torch.nn.functional
    groups, image = F.normalize(groups, dim=-1), F.normalize(image, dim=-1)
    aff = groups @ text.T * scale
    pre = aff.softmax(-1)
    img_p = (image @ text.T * scale).softmax(-1)
    keep = torch.zeros_like(img_p, dtype=torch.bool)
    keep[img_p.topk(min(top_k, text.shape[0])).indices] = True
    ga = aff.masked_fill(~keep[None], float("-inf")).softmax(-1) * pre
    soft_up = F.interpolate(soft[None], size=(ch, cw), mode="bilinear", align_corners=False)[0]
    pix_group = soft_up.argmax(0)
    rows = ga[pix_group]  # [ch, cw, K]
    planes = torch.zeros(1 + text.shape[0], ch, cw)
    planes[1:] = rows.permute(2, 0, 1)
    thr = min(bg, float(ga.max()))
    planes[0][rows.max(-1).values < thr] = 1.0
    return planes, (groups @ text.T)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--image", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--bg-threshold", type=float, default=0.95)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--window", type=int, default=448)
    ap.add_argument("--stride", type=int, default=224)
    ap.add_argument("--heads", type=int, default=None, help="image attention heads (default: the checkpoint's ovseg_config, else 8)")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    ck = torch.load(os.path.join(args.checkpoint, "checkpoint.pth"), map_location="cpu", weights_only=False)
    sd = {k: v.float() if v.is_floating_point() else v for k, v in ck["model"].items()}
    heads = args.heads or (ck.get("ovseg_config") or {}).get("heads", 8)
    labels = [s.strip() for s in args.labels.split(",")]
    scale = min(math.exp(float(sd["logit_scale"])), 100.0)
    with torch.no_grad():
        text = text_embeddings(torch, sd, os.path.join(args.checkpoint, "bert"), labels, ["a photo of a {}."])
        for path in args.image:
            rgb = read_rgb(path)
            H, W = rgb.shape[:2]
            x = rescale(torch, rgb, args.size)
            h, w = x.shape[2:]
            acc = torch.zeros(1 + len(labels), h, w)
            count = torch.zeros(h, w)
            crops = []
            for (y0, y1, x0, x1) in crop_boxes(h, w, args.window, args.stride):
                groups, image, soft, logits = encode_crop(torch, sd, x[:, :, y0:y1, x0:x1], heads)
                planes, cos = classify_crop(torch, groups, image, soft, text, scale, args.bg_threshold, y1 - y0, x1 - x0)
                acc[:, y0:y1, x0:x1] += planes
                count[y0:y1, x0:x1] += 1
                top2 = logits.topk(2, dim=0).values
                crops.append({"window": [x0, y0, x1, y1], "grid": [soft.shape[2], soft.shape[1]],
                              "groups": logits.argmax(0).tolist(), "margins": (top2[0] - top2[1]).tolist(),
                              "similarities": cos.tolist()})
            acc = acc / count
            if (h, w) != (H, W):
                acc = torch.nn.functional.interpolate(acc[None], size=(H, W), mode="bilinear", align_corners=False)[0]
            stem = os.path.splitext(os.path.basename(path))[0]
            d = os.path.join(args.out, stem)
            os.makedirs(d, exist_ok=True)
            np.save(os.path.join(d, "logits.npy"), acc.numpy().astype(np.float32))
            with open(os.path.join(d, "crops.json"), "w") as f:
                json.dump(crops, f)
            lab = acc.argmax(0).numpy() - 1
            print(f"{stem}: {H}x{W} -> {h}x{w}, {len(crops)} crops, background {np.mean(lab < 0):.3f}, "
                  f"labels present {sorted(set(np.unique(lab).tolist()) - {-1})}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Independent PyTorch ODISE inference for parity with `ovseg segment --pipeline odise`.

Written from the official code (NVlabs/ODISE: CategoryODISE.forward, FeatureExtractorBackbone
.slide_forward, PooledMaskEmbed/MaskPooling, PoolingCLIPHead, MaskCLIP; Mask2Former's
semantic_inference/panoptic_inference; detectron2's ResizeShortestEdge on a PIL image), not from
ovseg's Java or its ONNX graphs: the networks are the PyTorch modules of tools/export/odise_modules.py
loaded from the checkpoint that export_odise.py --save-checkpoint wrote (the backbone's forward is
re-walked in odise_backbone_reference.py, reading only the parameters); constants are the official
defaults, overridable by flags (the reduced configuration's short side 320 / max 640 / crops 256).

Writes OUT/<stem>/: semantic.npy [K,H,W] (Σ_q softmax·σ), panoptic_ids.npy [H,W] int32,
segments.json, near_tie.npy [H,W] bool (pixels whose panoptic assignment is within rounding of
changing), category_logits.npy [Q,K+1], clip_logits.npy [Q,K], mask_logits.npy [Q,H/4,W/4].
"""
import argparse
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export"))
sys.path.insert(0, HERE)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def resize_shortest_edge(h, w, short, max_size):
    scale = short / min(h, w)
    newh, neww = (short, scale * w) if h < w else (scale * h, short)
    if max(newh, neww) > max_size:
        s = max_size / max(newh, neww)
        newh, neww = newh * s, neww * s
    return int(newh + 0.5), int(neww + 0.5)


def slide_features(torch, backbone, img, crop_max):
    """FeatureExtractorBackbone.slide_forward with slide_training=True."""
    _, _, H, W = img.shape
    crop = min(crop_max, min(H, W))
    strides = [4, 8, 16, 32]
    outs = [None] * 4
    counts = [None] * 4
    hg = max(H - crop + crop - 1, 0) // crop + 1
    wg = max(W - crop + crop - 1, 0) // crop + 1
    for hi in range(hg):
        for wi in range(wg):
            y2, x2 = min(hi * crop + crop, H), min(wi * crop + crop, W)
            y1, x1 = max(y2 - crop, 0), max(x2 - crop, 0)
            feats = backbone(img[:, :, y1:y2, x1:x2])
            for k, (f, s) in enumerate(zip(feats, strides)):
                if outs[k] is None:
                    outs[k] = torch.zeros(1, f.shape[1], H // s, W // s)
                    counts[k] = torch.zeros(1, 1, H // s, W // s)
                outs[k][:, :, y1 // s:y2 // s, x1 // s:x2 // s] += f
                counts[k][:, :, y1 // s:y2 // s, x1 // s:x2 // s] += 1
    assert all((c == 0).sum() == 0 for c in counts)
    return [o / c for o, c in zip(outs, counts)]


def mask_clip(torch, F, visual, image, masks):
    """MaskCLIP.get_mask_embed + encode_image_with_mask + _mask_clip_forward, with the full boolean mask."""
    size = visual.positional_embedding.shape[0]
    g = int(round(math.sqrt(size - 1)))
    S = g * visual.conv1.kernel_size[0]
    image = F.interpolate(image, size=(S, S), mode="bilinear", align_corners=False)
    masks = F.interpolate(masks, size=(S, S), mode="bilinear", align_corners=False)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    image = (image - mean) / std
    patch = F.max_pool2d(masks.sigmoid(), kernel_size=visual.conv1.kernel_size, stride=visual.conv1.stride)
    masked_out = (patch < 0.5).reshape(1, masks.shape[1], -1)
    q, n_img = masks.shape[1], g * g
    total = q + n_img + 1
    attn = torch.zeros(total, total, dtype=torch.bool)
    attn[:, :q] = True
    attn = attn[None].clone()
    attn[:, :q, -n_img:] = masked_out
    x = visual.conv1(image).reshape(1, visual.conv1.out_channels, -1).permute(0, 2, 1)
    x = torch.cat([visual.class_embedding.view(1, 1, -1), x], 1) + visual.positional_embedding
    x = visual.ln_pre(x)
    x = torch.cat([x[:, :1].expand(-1, q, -1), x], 1)
    bias = torch.zeros(attn.shape).masked_fill(attn, float("-inf"))[:, None]
    for blk in visual.transformer.resblocks:  # a block: pre-norm attention + QuickGELU MLP (open_clip's OpenAI CLIP)
        h = blk.ln_1(x)
        c = h.shape[-1]
        heads = c // 64
        qkv = F.linear(h, blk.attn.in_proj_weight, blk.attn.in_proj_bias)
        qq, kk, vv = [t.view(1, total, heads, c // heads).transpose(1, 2) for t in qkv.split(c, -1)]
        a = torch.softmax(qq @ kk.transpose(-1, -2) / math.sqrt(c // heads) + bias, -1)
        x = x + blk.attn.out_proj((a @ vv).transpose(1, 2).reshape(1, total, c))
        m = blk.mlp.c_fc(blk.ln_2(x))
        x = x + blk.mlp.c_proj(m * torch.sigmoid(1.702 * m))
    return visual.ln_post(x[:, :q]) @ visual.proj


def ensemble_max(logits, groups):
    return np.stack([logits[..., g].max(-1) for g in groups], -1)


def run(args, torch, F, model, tok, mc, image_path, names, n_things):
    from PIL import Image
    pil = Image.open(image_path).convert("RGB")
    W0, H0 = pil.size
    h, w = resize_shortest_edge(H0, W0, args.short, args.max_size)
    arr = np.asarray(pil.resize((w, h), Image.BILINEAR), dtype=np.float32)
    img = torch.from_numpy(arr).permute(2, 0, 1)[None] / 255.0
    Hp, Wp = [int(math.ceil(s / 64) * 64) for s in (h, w)]
    padded = F.pad(img, (0, Wp - w, 0, Hp - h))
    feats = slide_features(torch, lambda c: br.backbone_features(model.backbone, c), padded, args.backbone_size)
    pd, pr = model.sem_seg_head.pixel_decoder, model.sem_seg_head.predictor
    mf, ms = pd({"s2": feats[0], "s3": feats[1], "s4": feats[2], "s5": feats[3]})
    masks, dec = pr(ms, mf)
    # MaskPooling (hard) then PooledMaskEmbed
    mk = (masks.sigmoid() > 0.5).float()
    pooled = torch.einsum("bchw,bqhw->bqc", mf, mk / (mk.sum(dim=(-1, -2), keepdim=True) + 1e-8))
    mask_embed = pr.post_mask_embed(pooled, dec)
    scale = min(math.exp(pr.post_mask_embed.logit_scale.item()), 100.0)

    groups, flat = [], []
    for n in names:
        syn = [s.strip() for s in n.split("|") if s.strip()]
        groups.append(list(range(len(flat), len(flat) + len(syn))))
        flat.extend(syn)
    text = lambda prompts: model.clip.text(torch.tensor(mc.tokenize(tok, prompts)))  # noqa: E731
    ch = model.category_head
    cat_text = F.normalize(ch.text_proj(text(flat)), dim=-1)
    null = F.normalize(ch.text_proj(ch.null_embed), dim=-1)
    me = F.normalize(mask_embed[0], dim=-1)
    cat = ensemble_max((scale * me @ cat_text.T).numpy(), groups)
    cat = np.concatenate([cat, (scale * me @ null.T).numpy()], -1)  # [Q, K+1]
    clip_embed = mask_clip(torch, F, model.clip.visual, img, masks)[0]
    clip_text = F.normalize(text([f"a photo of a {s}." for s in flat]), dim=-1)
    cscale = min(math.exp(model.clip.logit_scale.item()), 100.0)
    clip = ensemble_max((cscale * F.normalize(clip_embed, dim=-1) @ clip_text.T).numpy(), groups)

    K = len(names)
    seen = set(args.seen)
    overlap = torch.tensor([float(any(s in seen for s in n.split("|"))) for n in names])
    t_cat, t_clip = torch.from_numpy(cat).double(), torch.from_numpy(clip).double()
    p = t_cat[:, :K].softmax(-1)
    qprob = t_clip.softmax(-1)
    base = (p ** (1 - args.alpha) * qprob ** args.alpha).log() * overlap
    novel = (p ** (1 - args.beta) * qprob ** args.beta).log() * (1 - overlap)
    open_logits = base + novel
    p_void = t_cat.softmax(-1)[:, -1:]
    cls = torch.cat([open_logits.softmax(-1) * (1 - p_void), p_void], -1)
    cls = torch.log(cls + 1e-8)

    # sem_seg_postprocess: upsample to the padded size, crop, resize to the original size
    up = F.interpolate(masks, size=(Hp, Wp), mode="bilinear", align_corners=False)[:, :, :h, :w]
    up = F.interpolate(up, size=(H0, W0), mode="bilinear", align_corners=False)[0].double()
    prob = cls.softmax(-1)
    sig = up.sigmoid()
    semantic = torch.einsum("qc,qhw->chw", prob[:, :-1], sig)

    scores, labels = prob.max(-1)
    keep = (labels != K) & (scores > 0.0)
    cur_scores, cur_classes, cur_masks = scores[keep], labels[keep], sig[keep]
    prob_masks = cur_scores.view(-1, 1, 1) * cur_masks
    ids = torch.zeros(H0, W0, dtype=torch.int32)
    near = torch.zeros(H0, W0, dtype=torch.bool)
    segments = []
    if cur_masks.shape[0] > 0:
        mask_ids = prob_masks.argmax(0)
        top2 = prob_masks.topk(min(2, prob_masks.shape[0]), 0).values
        if top2.shape[0] == 2:
            near |= (top2[0] - top2[1]) <= 1e-4 * top2[0].clamp_min(1e-12)
        win_sig = cur_masks.gather(0, mask_ids[None])[0]
        near |= (win_sig - 0.5).abs() < 1e-4
        stuff_mem, current = {}, 0
        for k in range(cur_classes.shape[0]):
            c = int(cur_classes[k])
            thing = c < n_things
            area = int((mask_ids == k).sum())
            orig = int((cur_masks[k] >= 0.5).sum())
            m = (mask_ids == k) & (cur_masks[k] >= 0.5)
            if area > 0 and orig > 0 and int(m.sum()) > 0:
                if area / orig < 0.8:
                    continue
                if not thing:
                    if c in stuff_mem:
                        ids[m] = stuff_mem[c]
                        continue
                    stuff_mem[c] = current + 1
                current += 1
                ids[m] = current
                segments.append({"id": current, "category_id": c, "isthing": int(thing), "score": float(cur_scores[k])})
    out = os.path.join(args.out, os.path.splitext(os.path.basename(image_path))[0])
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "semantic.npy"), semantic.float().numpy())
    np.save(os.path.join(out, "panoptic_ids.npy"), ids.numpy())
    np.save(os.path.join(out, "near_tie.npy"), near.numpy())
    np.save(os.path.join(out, "category_logits.npy"), cat.astype(np.float32))
    np.save(os.path.join(out, "clip_logits.npy"), clip.astype(np.float32))
    np.save(os.path.join(out, "mask_logits.npy"), masks[0].numpy())
    with open(os.path.join(out, "segments.json"), "w") as f:
        json.dump(segments, f)
    print(f"{image_path}: {len(segments)} segments {[(s['id'], names[s['category_id']]) for s in segments]}")


def check_backbone_graph(torch, model, bundle, tol=1e-4):
    """The exported odise_backbone graph against backbone_features (not the exporter's modules)."""
    import onnxruntime as ort
    g = torch.Generator().manual_seed(7)
    for shape in ((2, 3, 256, 256), (1, 3, 192, 192), (1, 3, 128, 128)):  # square crops: the graph's interface
        x = torch.rand(shape, generator=g)
        want = br.backbone_features(model.backbone, x)
        sess = ort.InferenceSession(os.path.join(bundle, "backbone.onnx"), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"pixel_values": x.numpy()})
        err = max(float(np.abs(a - w.numpy()).max() / np.abs(w.numpy()).max()) for a, w in zip(got, want))
        print(f"backbone graph vs reference backbone {list(shape)}: max rel err {err:.2e}")
        if not err < tol:
            raise SystemExit(f"backbone graph differs from the reference: {err:.2e}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="state dict from export_odise.py --save-checkpoint (config beside it)")
    ap.add_argument("--labels", required=True, help="things, comma-separated ('|' between synonyms)")
    ap.add_argument("--stuff", default="")
    ap.add_argument("--image", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--short", type=int, default=1024)
    ap.add_argument("--max-size", type=int, default=2560)
    ap.add_argument("--backbone-size", type=int, default=512)
    ap.add_argument("--alpha", type=float, default=0.3)
    ap.add_argument("--beta", type=float, default=0.7)
    ap.add_argument("--bundle", help="also run the bundle's backbone graph in ONNX Runtime against this reference's backbone")
    args = ap.parse_args()
    import torch
    import torch.nn.functional as F
    import odise_modules as om
    import maskclip_reference as mc
    global br
    import odise_backbone_reference as br
    torch.set_grad_enabled(False)
    meta = json.load(open(args.checkpoint + ".json"))
    args.seen = meta["seen_labels"]
    model = om.Odise(meta["config"])
    model.load_state_dict(torch.load(args.checkpoint), strict=True)
    model.eval()
    if args.bundle:
        check_backbone_graph(torch, model, args.bundle)
    tok = mc.clip_tokenizer()
    things = [s.strip() for s in args.labels.split(",")]
    stuff = [s.strip() for s in args.stuff.split(",") if s.strip()]
    for p in args.image:
        run(args, torch, F, model, tok, mc, p, things + stuff, len(things))


if __name__ == "__main__":
    main()

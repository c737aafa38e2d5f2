#!/usr/bin/env python3
"""Independent PyTorch X-Decoder inference (generic semantic segmentation and referring/grounding)
on a state_dict with the official v2.0 keys. Written functionally against the official semantics,
NOT with the exporter's modules: the backbone is transformers' FocalNetModel (weights mapped, "focal"
variant only), attention is torch's F.multi_head_attention_forward with boolean masks repeated per
head, the attention-mask resize is F.interpolate(bicubic, antialias=True), the sine position
embedding is DETR's cumsum form, and the grounding loop appends/strips the grounding tokens as the
official decoder does.

  python tools/reference/xdecoder_reference.py --checkpoint CKPT.pt --config tiny-focal \
      --image a.png [--image b.png] --labels red,green,blue [--refer "the blue shape"]... --out DIR

Writes DIR/<stem>/semantic.npy ([K, h, w] per-class scores before argmax, the official
semantic_inference at the original size), labels.npy, and for each --refer sentence
refer.npy ([N, h, w]: per sentence, the chosen query's mask logits at the original size). Image preprocessing:
shorter side --size (default 512, longer side <= --max-size), bilinear (align_corners False, no
antialias) resize, mean/std in 0..255 units, zero padding bottom-right to a multiple of 32.

compare mode (--compare-bundle DIR): runs the bundle's ONNX graphs (as ovseg will drive them:
resampling matrices, class embeddings from text.onnx) on the same inputs and compares mask logits,
class logits, labels and referring masks; exits non-zero on a mismatch.
"""
import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export"))
sys.path.insert(0, HERE)

MEAN = (123.675, 116.280, 103.530)
STD = (58.395, 57.120, 57.375)


def templates():
    """The official 81 templates: "{}." then CLIP's 80 ImageNet templates (utils/prompt_engineering.py)."""
    import maskclip_reference as mr
    clip80 = mr.read_templates("imagenet80")
    return ["{}."] + list(clip80)


def tokenize(tok, texts, length=77):
    """HF CLIPTokenizer, padding='max_length' to 77 with the pad token <|endoftext|>, truncation."""
    enc = tok(texts, padding="max_length", truncation=True, max_length=length, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"]


class Ref:
    def __init__(self, torch, sd, cfg):
        self.t = torch
        self.F = torch.nn.functional
        self.sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
        self.cfg = cfg
        self.hf = self._hf_backbone()

    # -- helpers
    def w(self, k):
        return self.sd[k]

    def mha(self, prefix, q, k, v, heads, mask=None):
        """q/k/v [L, 1, D] (official seq-first layout)."""
        out, _ = self.F.multi_head_attention_forward(
            q, k, v, q.shape[-1], heads, self.w(prefix + ".in_proj_weight"), self.w(prefix + ".in_proj_bias"),
            None, None, False, 0.0, self.w(prefix + ".out_proj.weight"), self.w(prefix + ".out_proj.bias"),
            training=False, need_weights=False, attn_mask=mask)
        return out

    def ln(self, prefix, x, eps=1e-5):
        return self.F.layer_norm(x, (x.shape[-1],), self.w(prefix + ".weight"), self.w(prefix + ".bias"), eps)

    def lin(self, prefix, x):
        return self.F.linear(x, self.w(prefix + ".weight"), self.w(prefix + ".bias"))

    def pos_sine(self, x, num_pos_feats):
        t = self.t
        mask = t.zeros((x.size(0), x.size(2), x.size(3)), dtype=t.bool)
        not_mask = ~mask
        y_embed = not_mask.cumsum(1, dtype=t.float32)
        x_embed = not_mask.cumsum(2, dtype=t.float32)
        eps, scale = 1e-6, 2 * math.pi
        y_embed = y_embed / (y_embed[:, -1:, :] + eps) * scale
        x_embed = x_embed / (x_embed[:, :, -1:] + eps) * scale
        dim_t = t.arange(num_pos_feats, dtype=t.float32)
        dim_t = 10000 ** (2 * (dim_t // 2) / num_pos_feats)
        px = x_embed[:, :, :, None] / dim_t
        py = y_embed[:, :, :, None] / dim_t
        px = t.stack((px[:, :, :, 0::2].sin(), px[:, :, :, 1::2].cos()), dim=4).flatten(3)
        py = t.stack((py[:, :, :, 0::2].sin(), py[:, :, :, 1::2].cos()), dim=4).flatten(3)
        return t.cat((py, px), dim=3).permute(0, 3, 1, 2)

    # -- backbone: transformers' FocalNet
    def _hf_backbone(self):
        from transformers import FocalNetConfig, FocalNetModel
        import xdecoder_focalnet_hf as fh
        c = self.cfg
        if c.focal_dw:
            raise SystemExit("error: the reference's backbone is transformers' FocalNet ('focal' configs only)")
        n = len(c.depths)
        hc = FocalNetConfig(embed_dim=c.embed_dim, depths=list(c.depths), focal_levels=list(c.focal_levels),
                            focal_windows=list(c.focal_windows),
                            hidden_sizes=[c.embed_dim * 2 ** (i + 1) for i in range(n - 1)] + [c.embed_dim * 2 ** (n - 1)],
                            use_conv_embed=True, use_post_layernorm=True, use_layerscale=True,
                            normalize_modulator=True, drop_path_rate=0.0)
        m = FocalNetModel(hc, add_pooling_layer=False).eval()
        m.load_state_dict(fh.hf_state_dict(self.sd), strict=False)
        return m

    def backbone(self, x):
        captured = []
        hooks = [st.register_forward_hook(lambda mod, inp, out: captured.append(out[1])) for st in self.hf.encoder.stages]
        self.hf(x)
        for h in hooks:
            h.remove()
        feats = []
        h, w = x.shape[-2] // 4, x.shape[-1] // 4
        for i, c in enumerate(captured):
            f = self.ln(f"backbone.norm{i}", c)
            feats.append(f.transpose(1, 2).reshape(1, c.shape[-1], h >> i, w >> i))
        return feats

    # -- pixel decoder (transformer_encoder_fpn)
    def conv_gn(self, name, x, relu):
        wt = self.w(name + ".weight")
        y = self.F.conv2d(x, wt, None, padding=wt.shape[-1] // 2)
        y = self.F.group_norm(y, self.cfg.gn_groups, self.w(name + ".norm.weight"), self.w(name + ".norm.bias"))
        return self.F.relu(y) if relu else y

    def pixel_decoder(self, feats):
        F, t = self.F, self.t
        pd = "sem_seg_head.pixel_decoder"
        r5 = feats[3]
        src = F.conv2d(r5, self.w(pd + ".input_proj.weight"), self.w(pd + ".input_proj.bias"))
        pos = self.pos_sine(r5, self.cfg.conv_dim // 2)
        b, c, h, w = src.shape
        s = src.flatten(2).permute(2, 0, 1)
        p = pos.flatten(2).permute(2, 0, 1)
        for i in range(self.cfg.enc_layers):
            L = f"{pd}.transformer.encoder.layers.{i}"
            q = s + p
            s = self.ln(L + ".norm1", s + self.mha(L + ".self_attn", q, q, s, self.cfg.nheads))
            s = self.ln(L + ".norm2", s + self.lin(L + ".linear2", F.relu(self.lin(L + ".linear1", s))))
        y = self.conv_gn(pd + ".layer_4", s.permute(1, 2, 0).view(b, c, h, w), True)
        ms = [y]
        for idx, f in ((3, feats[2]), (2, feats[1]), (1, feats[0])):
            lat = self.conv_gn(f"{pd}.adapter_{idx}", f, False)
            y = self.conv_gn(f"{pd}.layer_{idx}", lat + F.interpolate(y, size=lat.shape[-2:], mode="nearest"), True)
            if len(ms) < 3:
                ms.append(y)
        mf = F.conv2d(y, self.w(pd + ".mask_features.weight"), self.w(pd + ".mask_features.bias"), padding=1)
        return mf, ms

    # -- language
    def language(self, ids):
        """token_x [N, L, P], class_x [N, P] (projected, not normalised)."""
        t, F = self.t, self.F
        le = "sem_seg_head.predictor.lang_encoder"
        c = self.cfg
        x = F.embedding(ids, self.w(le + ".lang_encoder.token_embedding.weight")) + self.w(le + ".lang_encoder.positional_embedding")
        L = ids.shape[1]
        causal = t.full((L, L), float("-inf")).triu_(1)
        x = x.permute(1, 0, 2)

        def tfln(name, v):
            u = v.mean(-1, keepdim=True)
            s = (v - u).pow(2).mean(-1, keepdim=True)
            return self.w(name + ".weight") * ((v - u) / t.sqrt(s + 1e-12)) + self.w(name + ".bias")

        for i in range(c.text_layers):
            B = f"{le}.lang_encoder.resblocks.{i}"
            h = tfln(B + ".ln_1", x)
            x = x + self.mha(B + ".attn", h, h, h, c.text_heads, mask=causal)
            h = tfln(B + ".ln_2", x)
            h = self.lin(B + ".mlp.c_fc", h)
            x = x + self.lin(B + ".mlp.c_proj", h * t.sigmoid(1.702 * h))
        x = tfln(le + ".lang_encoder.ln_final", x.permute(1, 0, 2))
        cls = x[t.arange(x.size(0)), ids.argmax(dim=-1)] @ self.w(le + ".lang_proj")
        return x @ self.w(le + ".lang_proj"), cls

    def class_embeddings(self, tok, labels):
        """The official evaluation embeddings: per class the 81 templates (after stripping
        -other/-merged/-stuff), each L2-normalised, averaged, renormalised; then 'A background in
        coco.' as the last class."""
        embs = []
        tpl = templates()

        def mean_emb(txts):
            ids, _ = tokenize(tok, txts)
            _, e = self.language(ids)
            e = e / (e.norm(dim=-1, keepdim=True) + 1e-7)
            e = e.mean(0)
            return e / e.norm()

        for name in labels:
            clean = name.replace("-other", "").replace("-merged", "").replace("-stuff", "")
            embs.append(mean_emb([tp.format(clean) for tp in tpl]))
        embs.append(mean_emb(["A background in coco."]))
        return self.t.stack(embs)

    # -- decoder
    def decoder(self, ms, mf, text_emb=None, grounding_tokens=None):
        t, F = self.t, self.F
        c = self.cfg
        pr = "sem_seg_head.predictor"
        Q, heads = c.num_queries, c.nheads
        src, pos, sizes = [], [], []
        for i in range(3):
            sizes.append(ms[i].shape[-2:])
            pos.append(self.pos_sine(ms[i], c.hidden_dim // 2).flatten(2).permute(2, 0, 1))
            src.append((ms[i].flatten(2) + self.w(pr + ".level_embed.weight")[i][None, :, None]).permute(2, 0, 1))
        qe = self.w(pr + ".query_embed.weight").unsqueeze(1)
        out = self.w(pr + ".query_feat.weight").unsqueeze(1)
        sam = self.w(pr + ".self_attn_mask")[:, :Q, :Q]
        grounding = grounding_tokens is not None
        if grounding:
            G = grounding_tokens.shape[0]
            pad = t.ones((1, Q + (Q - 1) + G, Q + (Q - 1) + G), dtype=t.bool)
            pad[:, :Q, :Q] = sam
            pad[:, Q:, Q:] = False
            sam = pad
            gt = grounding_tokens.clone()
            out = t.cat((out, out[:-1]), 0)
            qe = t.cat((qe, qe[:-1]), 0)
        self_mask = sam.repeat(heads, 1, 1)

        def heads_fn(o, size):
            d = self.ln(pr + ".decoder_norm", o).transpose(0, 1)
            nd = d / (d.norm(dim=-1, keepdim=True) + 1e-7)
            sim = (nd[:, Q - 1:Q] @ nd[:, :Q - 1].transpose(1, 2)).softmax(-1)[:, 0, :, None]
            cls_tok = (sim * d[:, :Q - 1]).sum(dim=1, keepdim=True)
            if grounding:
                d = t.cat((d[:, :Q - 1], cls_tok, d[:, Q:2 * Q - 1]), 1)
            else:
                d = t.cat((d[:, :Q - 1], cls_tok), 1)
            ce = d @ self.w(pr + ".class_embed")
            me = d
            for j in range(3):
                me = self.lin(f"{pr}.mask_embed.layers.{j}", me)
                me = F.relu(me) if j < 2 else me
            masks = t.einsum("bqc,bchw->bqhw", me, mf)
            am = F.interpolate(masks, size=size, mode="bicubic", align_corners=False, antialias=True)
            am = (am.sigmoid().flatten(2).unsqueeze(1).repeat(1, heads, 1, 1).flatten(0, 1) < 0.5).bool()
            am[:, Q:Q + 1] = False  # the official off-by-one
            return ce, masks, am

        ce, masks, am = heads_fn(out, sizes[0])
        n_layers = c.dec_layers - 1
        for i in range(n_layers):
            lvl = i % 3
            am[t.where(am.sum(-1) == am.shape[-1])] = False
            q = out + qe
            out = self.ln(f"{pr}.transformer_cross_attention_layers.{i}.norm",
                          out + self.mha(f"{pr}.transformer_cross_attention_layers.{i}.multihead_attn",
                                         q, src[lvl] + pos[lvl], src[lvl], heads, mask=am))
            qpos = qe
            if grounding:
                out = t.cat((out, gt), 0)
                qpos = t.cat((qe, grounding_tokens), 0)
            q = out + qpos
            out = self.ln(f"{pr}.transformer_self_attention_layers.{i}.norm",
                          out + self.mha(f"{pr}.transformer_self_attention_layers.{i}.self_attn", q, q, out, heads,
                                         mask=self_mask))
            L = f"{pr}.transformer_ffn_layers.{i}"
            out = self.ln(L + ".norm", out + self.lin(L + ".linear2", F.relu(self.lin(L + ".linear1", out))))
            if grounding:
                gt = out[-G:]
                out = out[:-G]
            ce, masks, am = heads_fn(out, sizes[(i + 1) % 3])
        logits = None
        if text_emb is not None:
            v = ce / (ce.norm(dim=-1, keepdim=True) + 1e-7)
            logits = self.w(pr + ".lang_encoder.logit_scale").exp() * v @ text_emb.t()
        return ce[0], (logits[0] if logits is not None else None), masks[0]


def read_rgb(path):
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"error: cannot read {path}")
    return img[:, :, ::-1].copy()


def preprocess(torch, rgb, size, max_size):
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    if max(h, w) * scale > max_size:
        scale = max_size / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    x = torch.from_numpy(rgb).permute(2, 0, 1).float()[None]
    x = torch.nn.functional.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    ph, pw = -(-nh // 32) * 32, -(-nw // 32) * 32
    x = torch.nn.functional.pad(x, (0, pw - nw, 0, ph - nh))
    return x, (nh, nw)


def to_original(torch, masks, padded, valid, orig):
    F = torch.nn.functional
    up = F.interpolate(masks[None], size=padded, mode="bicubic", align_corners=False, antialias=True)[0]
    up = up[:, :valid[0], :valid[1]]
    return F.interpolate(up[None], size=orig, mode="bilinear", align_corners=False)[0]


def run_image(torch, ref, tok, path, labels, refers, size, max_size, text_emb):
    rgb = read_rgb(path)
    x, valid = preprocess(torch, rgb, size, max_size)
    with torch.no_grad():
        mf, ms = ref.pixel_decoder(ref.backbone(x))
        _, logits, masks = ref.decoder(ms, mf, text_emb=text_emb)
        up = to_original(torch, masks, x.shape[-2:], valid, rgb.shape[:2])
        cls = logits.softmax(-1)[..., :-1]
        sem = torch.einsum("qc,qhw->chw", cls, up.sigmoid())
        res = {"pred_logits": logits.numpy(), "pred_masks": masks.numpy(), "semantic": sem.numpy(),
               "labels": sem.argmax(0).numpy().astype(np.int32), "refer": []}
        if refers:
            ids, att = tokenize(tok, refers)
            tok_emb, cls_emb = ref.language(ids)
            gtok = tok_emb[att.bool()]  # every sentence's real tokens, concatenated
            emb, _, gmasks = ref.decoder(ms, mf, grounding_tokens=gtok[:, None])
            Q = ref.cfg.num_queries
            v = emb[Q:2 * Q - 1]
            v = v / (v.norm(dim=-1, keepdim=True) + 1e-7)
            tt = cls_emb / (cls_emb.norm(dim=-1, keepdim=True) + 1e-7)
            scale = ref.w("sem_seg_head.predictor.lang_encoder.logit_scale").exp().clamp(max=100)
            prob = scale * v @ tt.t()
            ids_ = prob.max(0)[1]
            res["refer_scores"] = prob.numpy()
            gm = gmasks[Q:2 * Q - 1][ids_]
            res["refer"] = to_original(torch, gm, x.shape[-2:], valid, rgb.shape[:2]).numpy()
            res["refer_ids"] = ids_.numpy()
    return res, x, valid


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--config", default="tiny-focal")
    ap.add_argument("--image", action="append", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--refer", action="append", default=[])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--max-size", type=int, default=2048)
    ap.add_argument("--out")
    ap.add_argument("--compare-bundle")
    a = ap.parse_args()
    import torch
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    import xdecoder_modules as xm
    import maskclip_reference as mr
    cfg = xm.CONFIGS[a.config]
    sd = torch.load(a.checkpoint, map_location="cpu", weights_only=True)
    ref = Ref(torch, sd, cfg)
    tok = mr.clip_tokenizer()
    labels = [s.strip() for s in a.labels.split(",")]
    with torch.no_grad():
        text_emb = ref.class_embeddings(tok, labels)
    failures = 0
    for path in a.image:
        res, x, valid = run_image(torch, ref, tok, path, labels, a.refer, a.size, a.max_size, text_emb)
        stem = os.path.splitext(os.path.basename(path))[0]
        if a.out:
            d = os.path.join(a.out, stem)
            os.makedirs(d, exist_ok=True)
            np.save(os.path.join(d, "semantic.npy"), res["semantic"])
            np.save(os.path.join(d, "labels.npy"), res["labels"])
            if len(res["refer"]):
                np.save(os.path.join(d, "refer.npy"), np.stack(list(res["refer"])).astype(np.float32))
        if a.compare_bundle:
            failures += compare(torch, a.compare_bundle, tok, res, x, text_emb, a.refer, stem)
    sys.exit(1 if failures else 0)


def compare(torch, bundle, tok, res, x, text_emb, refers, stem):
    """The bundle's graphs driven as ovseg drives them vs the reference."""
    import onnxruntime as ort
    import export_xdecoder as ex
    so = ort.SessionOptions()
    so.log_severity_level = 3

    def sess(name):
        return ort.InferenceSession(os.path.join(bundle, name), so, providers=["CPUExecutionProvider"])

    mf, l0, l1, l2 = sess("backbone.onnx").run(None, {"pixel_values": x.numpy()})
    H4, W4 = mf.shape[-2:]
    mats = ex.resample_mats(torch, H4, W4, [l0.shape[-2:], l1.shape[-2:], l2.shape[-2:]])
    feeds = {"level0": l0, "level1": l1, "level2": l2, "mask_features": mf}
    for i, (ry, rx) in enumerate(mats):
        feeds[f"ry{i}"], feeds[f"rx{i}"] = ry.numpy(), rx.numpy()
    logits, masks, _ = sess("decoder.onnx").run(None, {**feeds, "text_emb": text_emb.numpy()})
    fails = 0

    def rel(name, got, want):
        nonlocal fails
        err = float(np.abs(got.astype(np.float64) - want).max())
        spread = float(want.max() - want.min())
        ok = err <= 1e-3 * max(spread, 1e-6)
        print(f"{stem} {name}: max abs err {err:.2e}, reference spread {spread:.3g} -> "
              f"{'ok' if ok else 'FAIL'} (bound 1e-3 x spread)")
        fails += 0 if ok else 1

    rel("class logits", logits, res["pred_logits"])
    rel("mask logits", masks, res["pred_masks"])
    if refers:
        ids, att = tokenize(tok, refers)
        tok_emb, cls_emb = sess("text.onnx").run(None, {"input_ids": ids.numpy()})
        gtok = tok_emb[att.numpy().astype(bool)]
        gm, ge = sess("grounding.onnx").run(None, {**feeds, "grounding_tokens": gtok})
        v = ge / (np.linalg.norm(ge, axis=-1, keepdims=True) + 1e-7)
        tt = cls_emb / (np.linalg.norm(cls_emb, axis=-1, keepdims=True) + 1e-7)
        chosen = (v @ tt.T).argmax(0)
        same = np.array_equal(chosen, res["refer_ids"])
        print(f"{stem} referring: chosen queries {chosen.tolist()} vs reference {res['refer_ids'].tolist()} -> "
              f"{'ok' if same else 'FAIL'}")
        fails += 0 if same else 1
    return fails


if __name__ == "__main__":
    main()

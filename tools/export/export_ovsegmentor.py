#!/usr/bin/env python3
"""Export an OVSegmentor checkpoint (Jazzcharles/OVSegmentor, GroupViT-based) to an ovseg bundle.

  python tools/export/export_ovsegmentor.py --checkpoint CKPT.pth --bert-dir BERT_DIR --out BUNDLE [--no-fp16]
  python tools/export/export_ovsegmentor.py --make-random small|full --out CKPT_DIR [--seed N]
  python tools/export/export_ovsegmentor.py --self-test-keys

CKPT.pth is the official training checkpoint ({"model": state_dict}, keys as the official
MultiLabelContrastive names them); BERT_DIR a transformers bert-base-uncased directory (its
config.json gives the text transformer's shape, its vocab.txt goes into the bundle: the official
code tokenizes with distilbert-base-uncased's tokenizer, whose vocab and rules are BERT uncased's).
The text transformer's weights come from the checkpoint (the official stage-1 training tunes it).

The image encoder is split at the grouping block's assignment, which ovseg runs on its slot
attention kernel between two graphs:

  stage1.onnx  pixel_values [1,3,H,W], pos_embed [1,P,C] (the 14x14 table resized bicubically to
               the crop's grid by the caller, as the official interpolate_pos_encoding)
               -> assign_q [1,G,C] (assignment query projection of the group tokens after the
                  token-mixing MLP and the pre-assignment cross-attention block),
                  assign_k, assign_v [1,P,C] (key/value projections of the normed patch tokens),
                  group_tokens [1,G,C] (the residual the assignment output is added to)
  kernel       logits = q.k / sqrt(C); hard one-hot argmax over groups (inference), bound[g] =
               sum_n a[n,g] v_n / (sum_n a[n,g] + 1)  (GroupViT's assign_eps = 1)
  stage2.onnx  bound [1,G,C], group_tokens [1,G,C] -> group_embeds [1,G,E] (output projection,
               residual, channel MLP, the 6 stage-2 blocks, final norm, projection MLP per group),
               image_embed [1,E] (the projection MLP of the groups' mean)
  text.onnx    input_ids, attention_mask [N,L] int64 -> text_embeds [N,E] (BERT [CLS] of the last
               hidden state through the projection MLP)

Both projection MLPs (Conv1d-BatchNorm-ReLU-Conv1d) are exported with the BatchNorm folded into the
first 1x1 convolution (eval-mode running statistics, so exact up to rounding).

Self-check: every graph in ONNX Runtime against the unsplit PyTorch modules (fp32 within 1e-4 *
max(1, max|torch|), fp16 within 2e-2 relative), and the kernel's formulation (done here in torch)
between the stages reproduces the unsplit encoder's group embeddings.
"""
import argparse
import copy
import json
import math
import os
import shutil
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_clip import (FP16_REL_TOL, FP32_TOL, IMAGENET_MEAN, IMAGENET_STD, array_entry, check_graph,  # noqa: E402
                         export_onnx, import_torch_quietly, log, network_entry, ort_session, sha256, tool_versions,
                         write_manifest)

# The official default.yml (model.img_encoder / model) and GroupViT's constructor defaults.
FULL = dict(embed_dim=768, heads=8, depths=[6, 6], group_tokens=64, output_groups=8, patch=16, pos_grid=14,
            mlp_ratio=4.0, token_mlp_ratio=0.5, proj_inner=4096, output_dim=256)
# A reduced configuration for CI (same structure, narrow).
SMALL = dict(embed_dim=64, heads=4, depths=[2, 2], group_tokens=16, output_groups=4, patch=16, pos_grid=14,
             mlp_ratio=4.0, token_mlp_ratio=0.5, proj_inner=128, output_dim=32)
BERT_SMALL = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                  max_position_embeddings=77)

# Keys of the official checkpoint that inference never reads: the entity (multimodal grouping)
# branch, the mask-loss momentum encoder, extra temperatures.
TRAINING_ONLY = ("img_encoder_momentum.", "multimodal_groupingblock.", "bridge_projector.", "align_proj_img.",
                 "align_proj_text.", "logit_scale_mask", "multi_label_logit_scale", "q_projector", "k_projector")
# A buffer older transformers versions saved and newer ones do not.
OPTIONAL = ("text_encoder.transformer.embeddings.position_ids",)


# ----------------------------------------------------------------------------- modules
def build_modules(torch):
    nn = torch.nn
    F = nn.functional

    class Mlp(nn.Module):
        def __init__(self, i, h, o):
            super().__init__()
            self.fc1, self.act, self.fc2 = nn.Linear(i, h), nn.GELU(), nn.Linear(h, o)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    def heads_split(t, h):
        b, n, c = t.shape
        return t.reshape(b, n, h, c // h).transpose(1, 2)

    def heads_merge(t):
        b, h, n, d = t.shape
        return t.transpose(1, 2).reshape(b, n, h * d)

    class SelfAttention(nn.Module):  # GroupViT's Attention with qkv_fuse=True
        def __init__(self, c, h):
            super().__init__()
            self.h, self.qkv, self.proj = h, nn.Linear(c, 3 * c), nn.Linear(c, c)

        def forward(self, x):
            q, k, v = self.qkv(x).chunk(3, dim=-1)
            q, k, v = (heads_split(t, self.h) for t in (q, k, v))
            a = torch.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), dim=-1)
            return self.proj(heads_merge(a @ v))

    class CrossAttention(nn.Module):  # GroupViT's Attention with separate projections
        def __init__(self, c, h):
            super().__init__()
            self.h = h
            self.q_proj, self.k_proj, self.v_proj, self.proj = (nn.Linear(c, c) for _ in range(4))

        def forward(self, q, kv):
            q, k, v = heads_split(self.q_proj(q), self.h), heads_split(self.k_proj(kv), self.h), heads_split(self.v_proj(kv), self.h)
            a = torch.softmax(q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5), dim=-1)
            return self.proj(heads_merge(a @ v))

    class Block(nn.Module):
        def __init__(self, c, h, r):
            super().__init__()
            self.norm1, self.attn, self.norm2, self.mlp = nn.LayerNorm(c), SelfAttention(c, h), nn.LayerNorm(c), Mlp(c, int(c * r), c)

        def forward(self, x):
            x = x + self.attn(self.norm1(x))
            return x + self.mlp(self.norm2(x))

    class PreAssign(nn.Module):  # CrossAttnBlock(post_norm=True): the q/k norms are identities
        def __init__(self, c, h):
            super().__init__()
            self.attn, self.norm2, self.mlp, self.norm_post = CrossAttention(c, h), nn.LayerNorm(c), Mlp(c, 4 * c, c), nn.LayerNorm(c)

        def forward(self, q, kv):
            x = q + self.attn(q, kv)
            return self.norm_post(x + self.mlp(self.norm2(x)))

    class Assign(nn.Module):  # AssignAttention, one head; its core runs on the slot attention kernel
        def __init__(self, c):
            super().__init__()
            self.q_proj, self.k_proj, self.v_proj, self.proj = (nn.Linear(c, c) for _ in range(4))

    class Grouping(nn.Module):
        def __init__(self, c, h, s_in, s_out, token_ratio):
            super().__init__()
            self.norm_tokens = nn.LayerNorm(c)
            self.mlp_inter = Mlp(s_in, int(token_ratio * c), s_out)  # mixes tokens, not channels
            self.norm_post_tokens = nn.LayerNorm(c)
            self.norm_x = nn.LayerNorm(c)
            self.pre_assign_attn = PreAssign(c, h)
            self.assign = Assign(c)
            self.norm_new_x = nn.LayerNorm(c)
            self.mlp_channels = Mlp(c, 4 * c, c)

        def before(self, x, groups):
            """Everything up to the assignment: (q, k, v, projected group tokens)."""
            groups, x = self.norm_tokens(groups), self.norm_x(x)
            g = self.norm_post_tokens(self.mlp_inter(groups.transpose(1, 2)).transpose(1, 2))
            g = self.pre_assign_attn(g, x)
            return self.assign.q_proj(g), self.assign.k_proj(x), self.assign.v_proj(x), g

        def after(self, bound, g):
            y = self.assign.proj(bound) + g
            return y + self.mlp_channels(self.norm_new_x(y))  # reduction is the identity (equal widths)

    class Layer(nn.Module):
        def __init__(self, c, h, depth, r, groups=0, grouping=None):
            super().__init__()
            if groups:
                self.group_token = nn.Parameter(torch.zeros(1, groups, c))
            self.blocks = nn.ModuleList(Block(c, h, r) for _ in range(depth))
            if grouping is not None:
                self.downsample = grouping

    class PatchEmbed(nn.Module):
        def __init__(self, c, p):
            super().__init__()
            self.proj = nn.Conv2d(3, c, p, p)

    class ImageEncoder(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            c, h = cfg["embed_dim"], cfg["heads"]
            self.patch_embed = PatchEmbed(c, cfg["patch"])
            # 2-D: the official code drops the DINO class row and keeps [P, C].
            self.pos_embed = nn.Parameter(torch.zeros(cfg["pos_grid"] ** 2, c))
            grouping = Grouping(c, h, cfg["group_tokens"], cfg["output_groups"], cfg["token_mlp_ratio"])
            self.layers = nn.ModuleList([Layer(c, h, cfg["depths"][0], cfg["mlp_ratio"], cfg["group_tokens"], grouping),
                                         Layer(c, h, cfg["depths"][1], cfg["mlp_ratio"])])
            self.norm = nn.LayerNorm(c)

        def stage1(self, px, pos):
            x = self.patch_embed.proj(px).flatten(2).transpose(1, 2) + pos
            l0 = self.layers[0]
            s = l0.group_token.shape[1]
            cat = torch.cat([x, l0.group_token.expand(x.shape[0], -1, -1)], dim=1)
            for b in l0.blocks:
                cat = b(cat)
            return l0.downsample.before(cat[:, :-s], cat[:, -s:])

        def stage2(self, bound, g):
            x = self.layers[0].downsample.after(bound, g)
            for b in self.layers[1].blocks:
                x = b(x)
            return self.norm(x)

    class ProjectMLP(nn.Module):  # the official ProjectMLP, two layers: 1x1 conv, BN, ReLU, 1x1 conv
        def __init__(self, i, inner, o):
            super().__init__()
            self.linear_hidden = nn.Sequential(nn.Conv1d(i, inner, 1), nn.BatchNorm1d(inner), nn.ReLU())
            self.linear_out = nn.Conv1d(inner, o, 1)

        def forward(self, x):  # [..., C] -> [..., E]
            shape = x.shape
            y = self.linear_out(self.linear_hidden(x.reshape(-1, shape[-1], 1)))
            return y.reshape(*shape[:-1], -1)

    class FoldedProjectMLP(nn.Module):
        """ProjectMLP with eval-mode BatchNorm folded into the first layer."""

        def __init__(self, p):
            super().__init__()
            conv, bn, out = p.linear_hidden[0], p.linear_hidden[1], p.linear_out
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            self.fc1 = nn.Linear(conv.in_channels, conv.out_channels)
            self.fc2 = nn.Linear(out.in_channels, out.out_channels)
            with torch.no_grad():
                self.fc1.weight.copy_(conv.weight[:, :, 0] * scale[:, None])
                self.fc1.bias.copy_((conv.bias - bn.running_mean) * scale + bn.bias)
                self.fc2.weight.copy_(out.weight[:, :, 0])
                self.fc2.bias.copy_(out.bias)

        def forward(self, x):
            return self.fc2(torch.relu(self.fc1(x)))

    class TextEncoder(nn.Module):
        def __init__(self, bert_config):
            super().__init__()
            from transformers import BertModel
            self.transformer = BertModel(bert_config)

    class OVSegmentor(nn.Module):
        """The official MultiLabelContrastive's inference parameters, under its key names."""

        def __init__(self, cfg, bert_config):
            super().__init__()
            self.cfg = cfg
            self.img_encoder = ImageEncoder(cfg)
            self.text_encoder = TextEncoder(bert_config)
            self.img_projector = ProjectMLP(cfg["embed_dim"], cfg["proj_inner"], cfg["output_dim"])
            self.text_projector = ProjectMLP(bert_config.hidden_size, cfg["proj_inner"], cfg["output_dim"])
            self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

        def unsplit_image(self, px, pos):
            """The whole image encoder with the assignment in torch (hard at inference, eps 1)."""
            q, k, v, g = self.img_encoder.stage1(px, pos)
            logits = q @ k.transpose(1, 2) * (q.shape[-1] ** -0.5)  # [B, G, P]
            hard = torch.nn.functional.one_hot(logits.argmax(dim=1), logits.shape[1]).transpose(1, 2).to(q.dtype)
            bound = (hard / (hard.sum(-1, keepdim=True) + 1.0)) @ v
            x = self.img_encoder.stage2(bound, g)
            return self.img_projector(x), self.img_projector(x.mean(1)), torch.softmax(logits, dim=1)

        def text(self, ids, mask):
            h = self.text_encoder.transformer(input_ids=ids, attention_mask=mask).last_hidden_state[:, 0]
            return self.text_projector(h)

    class Stage1(nn.Module):
        def __init__(self, m, dt):
            super().__init__()
            self.enc, self.dt = m.img_encoder, dt

        def forward(self, pixel_values, pos_embed):
            out = self.enc.stage1(pixel_values.to(self.dt), pos_embed.to(self.dt))
            return tuple(t.float() for t in out)

    class Stage2(nn.Module):
        def __init__(self, m, dt):
            super().__init__()
            self.enc, self.proj, self.dt = m.img_encoder, FoldedProjectMLP(m.img_projector).to(dt), dt

        def forward(self, bound, group_tokens):
            x = self.enc.stage2(bound.to(self.dt), group_tokens.to(self.dt))
            return self.proj(x).float(), self.proj(x.mean(1)).float()

    class Text(nn.Module):
        def __init__(self, m, dt):
            super().__init__()
            self.bert, self.proj, self.dt = m.text_encoder.transformer, FoldedProjectMLP(m.text_projector).to(dt), dt

        def forward(self, input_ids, attention_mask):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]
            return self.proj(h).float()

    return OVSegmentor, Stage1, Stage2, Text


# ----------------------------------------------------------------------------- checkpoint
def expected_keys(torch, cfg, bert_config):
    """Key -> shape of the official checkpoint's inference parameters for `cfg` (the module tree
    above mirrors the official one; this is what strict loading checks)."""
    OVSegmentor = build_modules(torch)[0]
    return {k: tuple(v.shape) for k, v in OVSegmentor(cfg, bert_config).state_dict().items()}


def read_checkpoint(torch, path):
    ck = torch.load(path, map_location="cpu", weights_only=False)
    sd = ck.get("model", ck) if isinstance(ck, dict) else ck
    sd = {(k[7:] if k.startswith("module.") else k): v for k, v in sd.items()}
    return sd, (ck.get("ovseg_config") if isinstance(ck, dict) else None)


def infer_config(sd, given):
    """The image-side configuration from the tensors' shapes (heads cannot be read off shapes:
    the official 8 unless the checkpoint carries ovseg_config)."""
    cfg = dict(FULL)
    if given:
        cfg.update(given)
        return cfg
    c = sd["img_encoder.patch_embed.proj.weight"].shape[0]
    cfg.update(embed_dim=c, patch=sd["img_encoder.patch_embed.proj.weight"].shape[-1],
               pos_grid=int(round(sd["img_encoder.pos_embed"].shape[0] ** 0.5)),
               group_tokens=sd["img_encoder.layers.0.group_token"].shape[1],
               output_groups=sd["img_encoder.layers.0.downsample.mlp_inter.fc2.weight"].shape[0],
               proj_inner=sd["img_projector.linear_hidden.0.weight"].shape[0],
               output_dim=sd["img_projector.linear_out.weight"].shape[0],
               depths=[len({k.split(".")[4] for k in sd if k.startswith(f"img_encoder.layers.{i}.blocks.")}) for i in (0, 1)])
    return cfg


def load_strict(torch, model, sd):
    """Loads `sd` into `model` strictly after dropping the training-only keys; raises naming
    every missing, unexpected or mis-shaped key."""
    keep = {k: v for k, v in sd.items() if not k.startswith(TRAINING_ONLY) and k not in OPTIONAL}
    own = model.state_dict()
    bad = [f"{k}: checkpoint {tuple(v.shape)}, model {tuple(own[k].shape)}" for k, v in keep.items()
           if k in own and tuple(v.shape) != tuple(own[k].shape)]
    missing = sorted(set(own) - set(keep))
    unexpected = sorted(set(keep) - set(own))
    if bad or missing or unexpected:
        raise SystemExit("checkpoint does not match the OVSegmentor layout: "
                         + "; ".join([f"missing {missing[:8]}{'...' if len(missing) > 8 else ''}" if missing else "",
                                      f"unexpected {unexpected[:8]}" if unexpected else "",
                                      f"shape {bad[:8]}" if bad else ""]).strip("; "))
    model.load_state_dict(keep, strict=True)


def pos_for_grid(torch, table, gh, gw):
    """interpolate_pos_encoding: the square table resized bicubically (align_corners=False) unless
    the grid already matches."""
    n, c = table.shape
    g = int(round(n ** 0.5))
    if (gh, gw) == (g, g):
        return table.unsqueeze(0)
    t = table.reshape(1, g, g, c).permute(0, 3, 1, 2)
    t = torch.nn.functional.interpolate(t, size=(gh, gw), mode="bicubic", align_corners=False)
    return t.permute(0, 2, 3, 1).reshape(1, gh * gw, c)


# ----------------------------------------------------------------------------- random checkpoints
SMALL_VOCAB_WORDS = ["a", "photo", "of", "the", "an", "and", "red", "green", "blue", "cat", "dog", "person", "sofa",
                     "sky", "car", "bird", "road", "tree", "wall", "floor", "building", "grass", "water"]


def small_vocab():
    """A small WordPiece vocabulary: specials, punctuation, letters, digits (whole and ## forms)
    and common words; every lower-case ASCII word can be spelled from it."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789")
    words = specials + punct + chars + ["##" + ch for ch in chars] + SMALL_VOCAB_WORDS + ["##s", "##ing", "##ed"]
    return list(dict.fromkeys(words))  # a vocabulary lists each token once


def make_random(torch, kind, out, seed):
    from transformers import BertConfig
    OVSegmentor = build_modules(torch)[0]
    torch.manual_seed(seed)
    os.makedirs(out, exist_ok=True)
    cfg = dict(SMALL if kind == "small" else FULL)
    bert_dir = os.path.join(out, "bert")
    os.makedirs(bert_dir, exist_ok=True)
    if kind == "small":
        vocab = small_vocab()
        bcfg = BertConfig(vocab_size=len(vocab), **BERT_SMALL)
    else:
        vocab = small_vocab()  # shape-only full model: the vocabulary size stays bert-base-uncased's
        vocab += [f"[unused{i}]" for i in range(30522 - len(vocab))]
        bcfg = BertConfig()
    with open(os.path.join(bert_dir, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    bcfg.save_pretrained(bert_dir)
    m = OVSegmentor(cfg, bcfg).eval()
    # Weights that keep activations O(1) through the narrow net, group tokens that differ, and
    # non-trivial LayerNorm / BatchNorm statistics so that folding is exercised.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith("bias"):
                p.normal_(0, 0.02)
            elif p.dim() >= 2:
                fan_in = p[0].numel()
                p.normal_(0, 1.0 / math.sqrt(fan_in))
            elif "norm" in name.lower() or "LayerNorm" in name or name.endswith("linear_hidden.1.weight"):
                p.uniform_(0.8, 1.2)
        for p in (m.img_projector, m.text_projector):
            bn = p.linear_hidden[1]
            bn.running_mean.normal_(0, 0.1)
            bn.running_var.uniform_(0.5, 2.0)
        m.img_encoder.layers[0].group_token.normal_(0, 1.0)
        m.img_encoder.pos_embed.normal_(0, 0.5)
        m.logit_scale.fill_(math.log(1 / 0.07))
    sd = m.state_dict()
    sd["text_encoder.transformer.embeddings.position_ids"] = torch.arange(bcfg.max_position_embeddings)[None]
    sd["logit_scale_mask"] = torch.tensor(2.0)  # a training-only key the exporter must skip
    torch.save({"model": sd, "ovseg_config": cfg}, os.path.join(out, "checkpoint.pth"))
    log(f"random {kind} OVSegmentor checkpoint -> {out}/checkpoint.pth (+ bert/)")


def self_test_keys(torch):
    """Strict loading on random state dicts with the expected keys: accepted as is, refused with
    one key missing, one extra, one mis-shaped."""
    from transformers import BertConfig
    OVSegmentor = build_modules(torch)[0]
    bcfg = BertConfig()
    keys = expected_keys(torch, FULL, bcfg)
    n_img = sum(1 for k in keys if k.startswith("img_encoder."))
    log(f"official layout: {len(keys)} keys ({n_img} image encoder, "
        f"{sum(1 for k in keys if k.startswith('text_encoder.'))} text encoder)")
    for k in ("img_encoder.pos_embed", "img_encoder.layers.0.group_token", "img_encoder.layers.0.downsample.mlp_inter.fc1.weight",
              "img_encoder.layers.0.downsample.mlp_inter.fc2.weight", "img_encoder.layers.0.blocks.5.attn.qkv.weight",
              "img_encoder.layers.1.blocks.5.mlp.fc2.weight", "img_projector.linear_hidden.0.weight",
              "text_projector.linear_out.weight", "logit_scale"):
        log(f"  {k}: {list(keys[k])}")
    sd = {k: torch.randn(s) if s else torch.tensor(1.0) for k, s in keys.items()}
    for k in sd:
        if k.endswith("num_batches_tracked"):
            sd[k] = torch.tensor(0)
    sd["img_encoder_momentum.norm.weight"] = torch.randn(768)
    m = OVSegmentor(infer_config(sd, None), bcfg)
    load_strict(torch, m, sd)
    failures = []
    for label, broken in (("missing", {k: v for k, v in sd.items() if k != "img_encoder.norm.weight"}),
                          ("unexpected", {**sd, "img_encoder.extra.weight": torch.zeros(1)}),
                          ("shape", {**sd, "img_encoder.norm.weight": torch.zeros(767)})):
        try:
            load_strict(torch, OVSegmentor(FULL, bcfg), broken)
            failures.append(label)
        except SystemExit as e:
            log(f"  refused ({label}): {str(e)[:160]}")
    if failures:
        raise SystemExit(f"strict loading accepted broken checkpoints: {failures}")
    log("strict loading: ok")


# ----------------------------------------------------------------------------- export
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", help="official checkpoint .pth (or a directory holding checkpoint.pth and bert/)")
    ap.add_argument("--bert-dir", help="transformers BERT directory (config.json, vocab.txt)")
    ap.add_argument("--out")
    ap.add_argument("--no-fp16", action="store_true")
    ap.add_argument("--crop", type=int, default=448, help="sliding-window side the bundle defaults to (official 448)")
    ap.add_argument("--make-random", choices=["small", "full"])
    ap.add_argument("--self-test-keys", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--route", default="auto", choices=["auto", "dynamo", "torchscript"])
    args = ap.parse_args(argv)
    torch = import_torch_quietly()
    if args.self_test_keys:
        self_test_keys(torch)
        return 0
    if args.make_random:
        if not args.out:
            ap.error("--out is required")
        make_random(torch, args.make_random, args.out, args.seed)
        return 0
    if not args.checkpoint or not args.out:
        ap.error("--checkpoint and --out are required")
    ckpt = args.checkpoint
    if os.path.isdir(ckpt):
        args.bert_dir = args.bert_dir or os.path.join(ckpt, "bert")
        ckpt = os.path.join(ckpt, "checkpoint.pth")
    if not args.bert_dir or not os.path.isfile(os.path.join(args.bert_dir, "vocab.txt")):
        ap.error("--bert-dir must hold vocab.txt and config.json")
    t_start = time.time()
    from transformers import BertConfig
    OVSegmentor, Stage1, Stage2, Text = build_modules(torch)
    sd, given = read_checkpoint(torch, ckpt)
    cfg = infer_config(sd, given)
    bcfg = BertConfig.from_pretrained(args.bert_dir)
    model = OVSegmentor(cfg, bcfg).eval()
    load_strict(torch, model, sd)
    C, G, E, patch = cfg["embed_dim"], cfg["output_groups"], cfg["output_dim"], cfg["patch"]
    logit_scale = float(min(math.exp(float(model.logit_scale.detach())), 100.0))  # clamp(exp, max=100) as the official inference
    log(f"loaded {ckpt}: width {C}, depths {cfg['depths']}, {cfg['group_tokens']} -> {G} groups, embed {E}, "
        f"text {bcfg.num_hidden_layers}x{bcfg.hidden_size}, logit scale {logit_scale:.3f}")

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    shutil.copyfile(os.path.join(args.bert_dir, "vocab.txt"), os.path.join(out, "vocab.txt"))
    np.save(os.path.join(out, "pos_embed.npy"), model.img_encoder.pos_embed.detach().numpy().astype(np.float32))
    from torch.export import Dim
    g0 = 448 // patch if patch == 16 else 28
    ex_px = torch.randn(1, 3, g0 * patch, (g0 - 2) * patch)
    ex_pos = pos_for_grid(torch, model.img_encoder.pos_embed.detach(), g0, g0 - 2)
    ex_bound, ex_g = torch.randn(1, G, C), torch.randn(1, G, C)
    ex_ids = torch.randint(5, bcfg.vocab_size, (2, 7))
    ex_mask = torch.ones(2, 7, dtype=torch.int64)
    files = {}
    precs = ["fp32"] + ([] if args.no_fp16 else ["fp16"])
    for prec in precs:
        dt = torch.float32 if prec == "fp32" else torch.float16
        m = model if prec == "fp32" else copy.deepcopy(model).to(dt)
        key = "" if prec == "fp32" else "_fp16"
        suffix = "" if prec == "fp32" else ".fp16"
        for kind, mod, ex, ins, outs, dyn_s, dyn_a, dims in (
                ("stage1", Stage1(m, dt), (ex_px, ex_pos), ["pixel_values", "pos_embed"],
                 ["assign_q", "assign_k", "assign_v", "group_tokens"],
                 {"pixel_values": {2: Dim.DYNAMIC, 3: Dim.DYNAMIC}, "pos_embed": {1: Dim.DYNAMIC}},
                 {"pixel_values": {2: "height", 3: "width"}, "pos_embed": {1: "patches"}, "assign_k": {1: "patches"},
                  "assign_v": {1: "patches"}},
                 {"pixel_values": [1, 3, "height", "width"], "pos_embed": [1, "patches", C], "assign_q": [1, G, C],
                  "assign_k": [1, "patches", C], "assign_v": [1, "patches", C], "group_tokens": [1, G, C]}),
                ("stage2", Stage2(m, dt), (ex_bound, ex_g), ["bound", "group_tokens"], ["group_embeds", "image_embed"],
                 None, None,
                 {"bound": [1, G, C], "group_tokens": [1, G, C], "group_embeds": [1, G, E], "image_embed": [1, E]}),
                ("text", Text(m, dt), (ex_ids, ex_mask), ["input_ids", "attention_mask"], ["text_embeds"],
                 {"input_ids": {0: Dim.DYNAMIC, 1: Dim.DYNAMIC}, "attention_mask": {0: Dim.DYNAMIC, 1: Dim.DYNAMIC}},
                 {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}, "text_embeds": {0: "batch"}},
                 {"input_ids": ["batch", "length"], "attention_mask": ["batch", "length"], "text_embeds": ["batch", E]})):
            name = f"{kind}{suffix}.onnx"
            t0 = time.time()
            path = os.path.join(out, name)
            route = export_onnx(torch, mod.eval(), ex, path, ins, outs, dyn_s, dyn_a, dims, args.route)
            check_graph(path)
            files[kind + key] = name
            log(f"exported {name} ({route}, {time.time() - t0:.1f}s, {os.path.getsize(path) / 1e6:.1f} MB)")

    check = self_check(torch, model, out, files, precs, cfg, bcfg)

    def spec(name, dtype, shape):
        return {"name": name, "dtype": dtype, "shape": shape}

    manifest = {
        "format_version": 1, "pipeline": "ovsegmentor",
        "family": "ovsegmentor-vit-b16-bert" if cfg["embed_dim"] == 768 else f"ovsegmentor-random-{cfg['embed_dim']}",
        "networks": {
            "stage1": network_entry(out, files, "stage1",
                                    [spec("pixel_values", "float32", [1, 3, "height", "width"]), spec("pos_embed", "float32", [1, "patches", C])],
                                    [spec("assign_q", "float32", [1, G, C]), spec("assign_k", "float32", [1, "patches", C]),
                                     spec("assign_v", "float32", [1, "patches", C]), spec("group_tokens", "float32", [1, G, C])]),
            "stage2": network_entry(out, files, "stage2",
                                    [spec("bound", "float32", [1, G, C]), spec("group_tokens", "float32", [1, G, C])],
                                    [spec("group_embeds", "float32", [1, G, E]), spec("image_embed", "float32", [1, E])]),
            "text": network_entry(out, files, "text",
                                  [spec("input_ids", "int64", ["batch", "length"]), spec("attention_mask", "int64", ["batch", "length"])],
                                  [spec("text_embeds", "float32", ["batch", E])]),
        },
        "arrays": {"pos_embed": array_entry(out, "pos_embed", [cfg["pos_grid"] ** 2, C])},
        "preprocessing": {"size_policy": "short-side", "size": 448, "max_long_side": 2048, "mean": IMAGENET_MEAN,
                          "std": IMAGENET_STD, "patch_size": patch, "position_grid": cfg["pos_grid"], "width": C,
                          "interpolation": "bilinear, align_corners=false", "pos_embed_interpolation": "bicubic",
                          "padding": "none (the patch convolution floors the grid)"},
        "text": {"tokenizer": "bert-wordpiece-uncased", "context_length": int(min(bcfg.max_position_embeddings, 512)),
                 "templates": ["a photo of a {}."]},
        "embed_dim": E, "logit_scale": logit_scale,
        "defaults": {"bg_threshold": 0.95, "window": args.crop, "stride": args.crop // 2, "assign_eps": 1.0,
                     "top_k": 5},
        "source": {"checkpoint": os.path.abspath(ckpt), "config": cfg, "versions": tool_versions(torch),
                   "export_seconds": round(time.time() - t_start, 1)},
    }
    write_manifest(out, manifest, check)
    log(f"bundle -> {out}/bundle.json")
    return 0


def self_check(torch, model, out, files, precs, cfg, bcfg):
    """ONNX Runtime vs the unsplit torch model; the stage boundary goes through a NumPy twin of
    the slot attention kernel (hard one-hot over groups, eps 1)."""
    rng = np.random.default_rng(1)
    results, worst = [], {}
    patch = cfg["patch"]

    def record(name, got, ref, fp16):
        scale = float(np.max(np.abs(ref)))
        err = float(np.max(np.abs(got.astype(np.float64) - ref)))
        bound = FP16_REL_TOL * max(scale, 1e-6) if fp16 else FP32_TOL * max(1.0, scale)
        ok = err <= bound and np.isfinite(got).all()
        results.append({"what": name, "max_abs_err": err, "bound": bound, "ok": bool(ok)})
        log(f"  {'ok ' if ok else 'BAD'} {name}: max |err| {err:.3g} (bound {bound:.3g})")
        worst[name] = ok

    def kernel(q, k, v):
        logits = np.einsum("gc,nc->gn", q[0], k[0]) / math.sqrt(q.shape[-1])
        a = np.zeros_like(logits)
        a[logits.argmax(0), np.arange(logits.shape[1])] = 1.0
        return ((a / (a.sum(1, keepdims=True) + 1.0)) @ v[0])[None].astype(np.float32), logits

    with torch.no_grad():
        for (h, w) in ((28 * patch, 28 * patch), (20 * patch + 5, 31 * patch + 3)):
            gh, gw = h // patch, w // patch
            px = torch.from_numpy(rng.standard_normal((1, 3, h, w)).astype(np.float32))
            pos = pos_for_grid(torch, model.img_encoder.pos_embed, gh, gw)
            ref_groups, ref_image, _ = model.unsplit_image(px, pos)
            q_ref, k_ref, v_ref, g_ref = model.img_encoder.stage1(px, pos)
            for prec in precs:
                key = "" if prec == "fp32" else "_fp16"
                s1, s2 = ort_session(os.path.join(out, files["stage1" + key])), ort_session(os.path.join(out, files["stage2" + key]))
                q, k, v, g = s1.run(None, {"pixel_values": px.numpy(), "pos_embed": pos.numpy()})
                for nm, a, b in (("assign_q", q, q_ref), ("assign_k", k, k_ref), ("assign_v", v, v_ref), ("group_tokens", g, g_ref)):
                    record(f"stage1 {prec} {h}x{w} {nm}", a, b.numpy(), prec == "fp16")
                # Stage 2 on the reference's own stage-1 tensors, so a flipped near-tie in an fp16
                # assignment cannot masquerade as a stage-2 error.
                bound, logits = kernel(q_ref.numpy(), k_ref.numpy(), v_ref.numpy())
                ge, ie = s2.run(None, {"bound": bound, "group_tokens": g_ref.numpy()})
                record(f"stage2 {prec} {h}x{w} group_embeds", ge, ref_groups.numpy(), prec == "fp16")
                record(f"stage2 {prec} {h}x{w} image_embed", ie, ref_image.numpy(), prec == "fp16")
        ids = torch.from_numpy(rng.integers(5, bcfg.vocab_size, (3, 9)))
        mask = torch.ones_like(ids)
        mask[1, 6:] = 0
        mask[2, 4:] = 0
        ref_t = model.text(ids, mask).numpy()
        for prec in precs:
            key = "" if prec == "fp32" else "_fp16"
            (t,) = ort_session(os.path.join(out, files["text" + key])).run(None, {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})
            record(f"text {prec} batch 3 (padded rows)", t, ref_t, prec == "fp16")
        # Padding is invisible through the attention mask: a row alone equals the padded batch's row.
        short = model.text(ids[1:2, :6], mask[1:2, :6]).numpy()
        record("text padded row == unpadded row (torch)", ref_t[1:2], short, False)
    if not all(worst.values()):
        raise SystemExit("self-check failed: " + ", ".join(k for k, ok in worst.items() if not ok))
    return {"fp32_tolerance": f"{FP32_TOL:g} * max(1, max|torch|)", "fp16_relative_tolerance": FP16_REL_TOL,
            "results": results}


if __name__ == "__main__":
    sys.exit(main())

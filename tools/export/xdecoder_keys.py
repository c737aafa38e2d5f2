#!/usr/bin/env python3
"""Expected state_dict keys and shapes of the official X-Decoder v2.0 checkpoints, written out from
the official configs and module definitions as explicit rules (independently of the nn.Module tree
in xdecoder_modules.py), and the committed lists tools/export/xdecoder_keys/{focalt,focall}.txt.

  python tools/export/xdecoder_keys.py --write      regenerate the lists
  python tools/export/xdecoder_keys.py --check      lists == rules == xdecoder_modules' state_dict,
                                                    and strict loading of a dict built from the list
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def expected(cfg):
    """[(key, shape)] in no particular order."""
    out = []

    def add(k, *shape):
        out.append((k, tuple(shape)))

    def ln(prefix, d):
        add(prefix + ".weight", d)
        add(prefix + ".bias", d)

    def linear(prefix, i, o, bias=True):
        add(prefix + ".weight", o, i)
        if bias:
            add(prefix + ".bias", o)

    def mha(prefix, d):
        add(prefix + ".in_proj_weight", 3 * d, d)
        add(prefix + ".in_proj_bias", 3 * d)
        linear(prefix + ".out_proj", d, d)

    # FocalNet (focal_dw for Focal-T, focal for Focal-L)
    e = cfg.embed_dim
    add("backbone.patch_embed.proj.weight", e, 3, 7, 7)
    add("backbone.patch_embed.proj.bias", e)
    ln("backbone.patch_embed.norm", e)
    for i, depth in enumerate(cfg.depths):
        d = e * 2 ** i
        lvl, win = cfg.focal_levels[i], cfg.focal_windows[i]
        for j in range(depth):
            p = f"backbone.layers.{i}.blocks.{j}"
            if cfg.focal_dw:
                for n in ("dw1", "dw2"):
                    add(f"{p}.{n}.weight", d, 1, 3, 3)
                    add(f"{p}.{n}.bias", d)
            ln(p + ".norm1", d)
            ln(p + ".norm2", d)
            linear(p + ".modulation.f", d, 2 * d + lvl + 1)
            add(p + ".modulation.h.weight", d, d, 1, 1)
            add(p + ".modulation.h.bias", d)
            linear(p + ".modulation.proj", d, d)
            for k in range(lvl):
                ks = 2 * k + win
                add(f"{p}.modulation.focal_layers.{k}.0.weight", d, 1, ks, ks)
            linear(p + ".mlp.fc1", d, 4 * d)
            linear(p + ".mlp.fc2", 4 * d, d)
            add(p + ".gamma_1", d)
            add(p + ".gamma_2", d)
        if i < len(cfg.depths) - 1:
            p = f"backbone.layers.{i}.downsample"
            add(p + ".proj.weight", 2 * d, d, 3, 3)
            add(p + ".proj.bias", 2 * d)
            ln(p + ".norm", 2 * d)
        ln(f"backbone.norm{i}", d)
    # pixel decoder (transformer_encoder_fpn, GN convs without bias)
    c = cfg.conv_dim
    pd = "sem_seg_head.pixel_decoder"
    for i in range(3):
        add(f"{pd}.adapter_{i + 1}.weight", c, e * 2 ** i, 1, 1)
        ln(f"{pd}.adapter_{i + 1}.norm", c)
    for i in range(4):
        add(f"{pd}.layer_{i + 1}.weight", c, c, 3, 3)
        ln(f"{pd}.layer_{i + 1}.norm", c)
    add(f"{pd}.mask_features.weight", cfg.mask_dim, c, 3, 3)
    add(f"{pd}.mask_features.bias", cfg.mask_dim)
    add(f"{pd}.input_proj.weight", c, e * 8, 1, 1)
    add(f"{pd}.input_proj.bias", c)
    for i in range(cfg.enc_layers):
        p = f"{pd}.transformer.encoder.layers.{i}"
        mha(p + ".self_attn", c)
        linear(p + ".linear1", c, cfg.dim_feedforward)
        linear(p + ".linear2", cfg.dim_feedforward, c)
        ln(p + ".norm1", c)
        ln(p + ".norm2", c)
    # decoder
    h = cfg.hidden_dim
    pr = "sem_seg_head.predictor"
    for i in range(cfg.dec_layers - 1):
        mha(f"{pr}.transformer_self_attention_layers.{i}.self_attn", h)
        ln(f"{pr}.transformer_self_attention_layers.{i}.norm", h)
        mha(f"{pr}.transformer_cross_attention_layers.{i}.multihead_attn", h)
        ln(f"{pr}.transformer_cross_attention_layers.{i}.norm", h)
        linear(f"{pr}.transformer_ffn_layers.{i}.linear1", h, cfg.dim_feedforward)
        linear(f"{pr}.transformer_ffn_layers.{i}.linear2", cfg.dim_feedforward, h)
        ln(f"{pr}.transformer_ffn_layers.{i}.norm", h)
    ln(f"{pr}.decoder_norm", h)
    add(f"{pr}.query_feat.weight", cfg.num_queries, h)
    add(f"{pr}.query_embed.weight", cfg.num_queries, h)
    add(f"{pr}.level_embed.weight", 3, h)
    for i in range(3):
        linear(f"{pr}.mask_embed.layers.{i}", h, cfg.mask_dim if i == 2 else h)
    add(f"{pr}.class_embed", h, cfg.dim_proj)
    add(f"{pr}.caping_embed", h, cfg.dim_proj)
    add(f"{pr}.pos_embed_caping.weight", cfg.context_length, h)
    n = cfg.num_queries + cfg.context_length
    add(f"{pr}.self_attn_mask", 1, n, n)
    # language encoder
    w = cfg.text_width
    le = f"{pr}.lang_encoder"
    add(f"{le}.lang_encoder.token_embedding.weight", cfg.vocab_size, w)
    add(f"{le}.lang_encoder.positional_embedding", cfg.context_length, w)
    for i in range(cfg.text_layers):
        p = f"{le}.lang_encoder.resblocks.{i}"
        mha(p + ".attn", w)
        ln(p + ".ln_1", w)
        ln(p + ".ln_2", w)
        linear(p + ".mlp.c_fc", w, 4 * w)
        linear(p + ".mlp.c_proj", 4 * w, w)
    ln(f"{le}.lang_encoder.ln_final", w)
    add(f"{le}.lang_proj", w, cfg.dim_proj)
    add(f"{le}.logit_scale")
    add("backbone_proj", cfg.backbone_dim, cfg.dim_proj)
    return out


def list_path(name):
    return os.path.join(HERE, "xdecoder_keys", name + ".txt")


def format_list(entries):
    return "".join(f"{k} {'x'.join(map(str, s)) or 'scalar'}\n" for k, s in sorted(entries))


def read_list(name):
    entries = []
    with open(list_path(name)) as f:
        for line in f:
            k, s = line.split()
            entries.append((k, () if s == "scalar" else tuple(int(v) for v in s.split("x"))))
    return entries


def check(names):
    import torch
    import xdecoder_modules as xm
    failures = 0
    for name in names:
        cfg = xm.CONFIGS[name]
        rules = sorted(expected(cfg))
        if name in ("focalt", "focall"):
            listed = sorted(read_list(name))
            if listed != rules:
                print(f"{name}: committed list differs from the rules ({len(listed)} vs {len(rules)} keys)")
                failures += 1
        model = xm.XDecoder(cfg)
        got = sorted((k, tuple(v.shape)) for k, v in model.state_dict().items())
        if got != rules:
            a, b = set(got), set(rules)
            print(f"{name}: module state_dict != expected: missing {sorted(b - a)[:5]}, extra {sorted(a - b)[:5]}")
            failures += 1
            continue
        # strict load of a dict holding exactly the expected keys/shapes
        sd = {k: (torch.zeros(s, dtype=torch.bool) if k.endswith("self_attn_mask") else torch.randn(s))
              for k, s in rules}
        model.load_state_dict(sd, strict=True)
        n = sum(v.numel() for k, v in sd.items() if not k.endswith("self_attn_mask"))
        print(f"{name}: {len(rules)} keys, {n / 1e6:.1f} M parameters, strict load ok")
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--configs", default="tiny,tiny-focal,focalt,focall")
    a = ap.parse_args()
    import xdecoder_modules as xm
    if a.write:
        os.makedirs(os.path.join(HERE, "xdecoder_keys"), exist_ok=True)
        for name in ("focalt", "focall"):
            with open(list_path(name), "w") as f:
                f.write(format_list(expected(xm.CONFIGS[name])))
    if a.check:
        sys.exit(1 if check(a.configs.split(",")) else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A random-weight transformers ViTModel in DINO's layout (no pooler), for ProxyCLIP tests.

  python tools/export/make_random_dino.py --out DIR [--small] [--seed 0]

Default: ViT-B/8 (dino-vitb8's shape: width 768, 12 layers, 12 heads, patch 8, LayerNorm eps
1e-6 as DINO's). --small: width 96, 2 layers, 3 heads, patch 8. The weights are random; what this
is for is holding ovseg's ProxyCLIP to an independent PyTorch reference on identical weights.
"""
import argparse
import os


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    import torch
    from transformers import ViTConfig, ViTModel
    torch.manual_seed(args.seed)
    if args.small:
        cfg = ViTConfig(hidden_size=96, num_hidden_layers=2, num_attention_heads=3, intermediate_size=384,
                        patch_size=8, image_size=224, layer_norm_eps=1e-6, hidden_act="gelu")
    else:
        cfg = ViTConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                        patch_size=8, image_size=224, layer_norm_eps=1e-6, hidden_act="gelu")
    model = ViTModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():  # the default init leaves LayerNorms at identity and biases at 0: perturb them
        for name, p in model.named_parameters():
            if name.endswith("bias") or "layernorm" in name.lower():
                p.add_(0.05 * torch.randn_like(p))
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    print(f"saved random DINO-shaped ViTModel ({'small' if args.small else 'ViT-B/8'}, seed {args.seed}) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""The project's FocalNet (tools/export/xdecoder_modules.py, "focal" variant = the Focal-L backbone
of X-Decoder) against transformers' FocalNetModel (an implementation written elsewhere) with the same
weights mapped onto it: conv stem/downsampling (use_conv_embed), post-LayerNorm blocks, layer scale,
normalised modulator. Compares every stage's output before downsampling, and the four backbone
outputs after X-Decoder's per-stage LayerNorms (applied here with F.layer_norm from the mapped
weights). The focal_dw variant (Focal-T: extra depthwise convs) has no transformers counterpart.

  python tools/reference/xdecoder_focalnet_hf.py [--config tiny-focal|focall] [--size 96x64]
Exits non-zero if max |difference| > 1e-4 x max(1, |hf|max) at any stage.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "export"))


def hf_state_dict(sd):
    """Our backbone.* keys -> FocalNetModel keys (norm0..3 dropped: no counterpart)."""
    out = {}
    for k, v in sd.items():
        if not k.startswith("backbone.") or k.startswith("backbone.norm"):
            continue
        k = k[len("backbone."):]
        k = k.replace("patch_embed.proj.", "embeddings.patch_embeddings.projection.")
        k = k.replace("patch_embed.norm.", "embeddings.norm.")
        k = k.replace("layers.", "encoder.stages.", 1)
        k = k.replace(".blocks.", ".layers.")
        k = k.replace(".downsample.proj.", ".downsample.projection.")
        k = k.replace("modulation.f.", "modulation.projection_in.")
        k = k.replace("modulation.h.", "modulation.projection_context.")
        k = k.replace("modulation.proj.", "modulation.projection_out.")
        out[k] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="tiny-focal")
    ap.add_argument("--size", default="96x64")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import torch
    import torch.nn.functional as F
    from transformers import FocalNetConfig, FocalNetModel
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    import xdecoder_modules as xm
    cfg = xm.CONFIGS[a.config]
    if cfg.focal_dw:
        sys.exit("error: the focal_dw variant has no transformers counterpart; use a 'focal' config")
    model = xm.randomize(xm.XDecoder(cfg).eval(), a.seed)
    n = len(cfg.depths)
    hcfg = FocalNetConfig(embed_dim=cfg.embed_dim, depths=list(cfg.depths), focal_levels=list(cfg.focal_levels),
                          focal_windows=list(cfg.focal_windows),
                          hidden_sizes=[cfg.embed_dim * 2 ** (i + 1) for i in range(n - 1)] + [cfg.embed_dim * 2 ** (n - 1)],
                          use_conv_embed=True, use_post_layernorm=True, use_layerscale=True,
                          normalize_modulator=True, use_post_layernorm_in_modulation=False,
                          drop_path_rate=0.0, layer_norm_eps=1e-5, image_size=224, patch_size=4)
    hf = FocalNetModel(hcfg, add_pooling_layer=False).eval()
    missing, unexpected = hf.load_state_dict(hf_state_dict(model.state_dict()), strict=False)
    missing = [k for k in missing if not k.startswith("layernorm.")]  # the classifier's final norm
    if missing or unexpected:
        sys.exit(f"error: mapping incomplete: missing {missing[:5]}, unexpected {unexpected[:5]}")
    H, W = (int(v) for v in a.size.split("x"))
    x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(a.seed + 1))
    with torch.no_grad():
        ours_pre = model.backbone(x, pre_norm=True)
        ours = model.backbone(x)
        # Each stage's output before its downsampling, captured with hooks (transformers' own
        # output_hidden_states_before_downsampling path reshapes with the downsampled size).
        captured = []
        hooks = [st.register_forward_hook(lambda mod, inp, out: captured.append(out[1])) for st in hf.encoder.stages]
        hf(x)
        for h in hooks:
            h.remove()
        theirs = [c.transpose(1, 2).reshape(1, c.shape[2], *o.shape[-2:]) for c, o in zip(captured, ours_pre)]
    worst = 0.0
    failures = 0
    for i in range(n):
        t = theirs[i]
        nw = getattr(model.backbone, f"norm{i}")
        normed = F.layer_norm(t.permute(0, 2, 3, 1), (t.shape[1],), nw.weight.detach(),
                              nw.bias.detach()).permute(0, 3, 1, 2)
        for label, mine, ref in (("stage", ours_pre[i], t), ("res", ours[i], normed)):
            if mine.shape != ref.shape:
                print(f"{label}{i}: shape {tuple(mine.shape)} vs transformers {tuple(ref.shape)}")
                failures += 1
                continue
            err = float((mine - ref).abs().max())
            scale = float(ref.abs().max())
            ok = err <= 1e-4 * max(1.0, scale)
            worst = max(worst, err / max(1.0, scale))
            print(f"{label}{i + (2 if label == 'res' else 0)} {tuple(ref.shape)}: max abs diff {err:.2e} "
                  f"(|ref| max {scale:.3g}){'' if ok else '  FAIL'}")
            failures += 0 if ok else 1
    print(f"FocalNet ({a.config}) vs transformers FocalNetModel at {H}x{W}: "
          f"{'ok' if not failures else 'FAILED'} (worst relative {worst:.2e})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

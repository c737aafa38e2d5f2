#!/usr/bin/env python3
"""Strict loading of ODISE's backbone at the official configuration, on the meta device (no memory).

odise_sd_keys.txt: every key and shape of sd-v1-3.ckpt's model.diffusion_model.* (UNet) and
first_stage_model.* (KL autoencoder), from the numbers of CompVis' v1-inference.yaml
(sd_modules.sd_v1_config()). odise_backbone_keys.txt: the ODISE label model's backbone.* outside
Stable Diffusion: the implicit captioner (clip_project, alpha_cond, time_embed_project,
alpha_cond_time_embed), the buffers uncond_inputs / shared_noise, the captioner's CLIP ViT-L/14-336
image tower (open_clip layout) and the eight per-tap bottleneck projections.
Each list must load strictly into sd_modules' modules; a missing, extra or reshaped key must fail.
Known figures the lists reproduce: the v1 UNet has 859.52 M parameters, the VAE 83.65 M.
With --write the lists are regenerated from the modules (review the diff before committing)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SD_LIST = os.path.join(HERE, "odise_sd_keys.txt")
BB_LIST = os.path.join(HERE, "odise_backbone_keys.txt")
SD_PREFIX = "feature_extractor.ldm_extractor.ldm.ldm."


def read(path):
    want = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        k, s = line.split()
        want[k] = () if s == "scalar" else tuple(int(d) for d in s.split("x"))
    return want


def write(path, header, items):
    with open(path, "w") as f:
        f.write(f"# {header} (see test_odise_backbone_keys.py)\n")
        for k, v in items:
            f.write(f"{k} {'x'.join(map(str, v.shape)) or 'scalar'}\n")


def strict(torch, module, want, name, drop, reshape):
    sd = {k: torch.empty(s, device="meta") for k, s in want.items()}
    module.load_state_dict(sd, strict=True)  # raises on a missing/unexpected key or a shape mismatch
    n = sum(torch.Size(s).numel() for s in want.values())
    print(f"{name}: {len(want)} official keys ({n / 1e6:.2f} M values) load strictly")
    bad_shape = tuple(reversed(want[reshape])) if len(want[reshape]) > 1 else (want[reshape][0] + 1,)
    for bad in ({k: v for k, v in sd.items() if k != drop}, {**sd, reshape: torch.empty(bad_shape, device="meta")},
                {**sd, "extra.weight": torch.empty(1, device="meta")}):
        try:
            module.load_state_dict(bad, strict=True)
        except RuntimeError:
            continue
        raise SystemExit(f"{name}: a broken state dict loaded")
    return n


def main():
    import torch
    import odise_modules as om
    import sd_modules as sm
    cfg = sm.sd_v1_config()
    with torch.device("meta"):
        sd = sm.StableDiffusion(cfg)
        visual = om.Visual(1024, 24, 14, 24, 768)  # ViT-L/14-336: width 1024, 24 layers, 24x24 patches, 768-d
        bb = sm.OdiseBackbone(cfg, visual)
    bb_items = [(k, v) for k, v in bb.state_dict().items() if not k.startswith(SD_PREFIX)]
    if "--write" in sys.argv:
        write(SD_LIST, "Stable Diffusion v1 (sd-v1-3.ckpt): model.diffusion_model.* and first_stage_model.* keys and shapes",
              sd.state_dict().items())
        write(BB_LIST, "ODISE label model backbone.* keys and shapes outside Stable Diffusion (" + SD_PREFIX + "* = odise_sd_keys.txt)",
              bb_items)
        return 0
    want_sd = read(SD_LIST)
    n_unet = sum(torch.Size(s).numel() for k, s in want_sd.items() if k.startswith("model.diffusion_model."))
    n_vae = sum(torch.Size(s).numel() for k, s in want_sd.items() if k.startswith("first_stage_model."))
    if round(n_unet / 1e6, 2) != 859.52 or round(n_vae / 1e6, 2) != 83.65:
        raise SystemExit(f"parameter counts {n_unet} / {n_vae} differ from SD v1's 859.52 M / 83.65 M")
    strict(torch, sd, want_sd, "stable diffusion v1", "model.diffusion_model.output_blocks.5.2.conv.weight",
           "first_stage_model.encoder.down.2.block.0.nin_shortcut.weight")
    want_bb = read(BB_LIST)
    full = {**want_bb, **{SD_PREFIX + k: s for k, s in want_sd.items()}}
    strict(torch, bb, full, "odise backbone", "feature_extractor.alpha_cond_time_embed",
           "feature_extractor.time_embed_project.linear.weight")
    return 0


if __name__ == "__main__":
    sys.exit(main())

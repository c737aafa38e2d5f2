#!/usr/bin/env python3
"""Random-weight stand-ins for ODISE's three official files, in their formats, for testing export_odise.py's
official mode without the real (6 GB) files:

  sd-v1-3.ckpt            ldm / Lightning checkpoint {"state_dict": {...}, "epoch", "global_step", ...}: the UNet
                          (model.diffusion_model.*), the VAE (first_stage_model.*), a random transformers
                          CLIPTextModel as cond_stage_model.transformer.* (transformers 4.x layout: text_model.*, with
                          the int64 position_ids buffer), and some of the extra keys real files hold (betas,
                          alphas_cumprod, model_ema.decay / num_updates, an EMA weight with the dots removed).
  odise_label_coco_50e.pth detectron2 checkpoint {"model": {...}, "iteration"}: the trained keys only (backbone's
                          captioner parts and projections, sem_seg_head.*, category_head.*) and the criterion's
                          empty_weight buffer, as the official file holds them (tools/export/README-odise.md).
  ViT-L-14-336px.pt       TorchScript archive as OpenAI's: open_clip-layout weights in float16 and the 0-dim int64
                          input_resolution / context_length / vocab_size attributes (OpenAI's clip.load calls
                          model.input_resolution.item()).

It also writes reference/odise.pt (+ .json): the state dict the export must end up with, for
tools/reference/odise_reference.py (the format of export_odise.py --save-checkpoint): the CLIP weights rounded through
fp16 and uncond_inputs = the text encoder's last_hidden_state on the empty prompt, computed here by calling the
transformers model directly.
"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# ldm's FrozenCLIPEmbedder on [""] with padding="max_length" (77) and openai/clip-vit-large-patch14's pad token
# <|endoftext|>: <|startoftext|> then <|endoftext|> x 76.
EMPTY_PROMPT_IDS = [49406] + [49407] * 76


def seen_labels(path):
    """Every synonym of the openseg COCO-panoptic list (id:name,name,...), invalid_class_id skipped."""
    out = []
    for line in open(path, encoding="utf-8"):
        names = line.strip().split(":", 1)[1]
        if names != "invalid_class_id":
            out += [n for n in names.split(",") if n not in out]
    return out


def clip_archive(torch, visual, text, logit_scale, resolution):
    """A scripted module holding OpenAI CLIP's parameters (fp16) at their names and the three int attributes."""
    class Clip(torch.nn.Module):
        def __init__(self):
            super().__init__()
            # plain containers: only the parameters' names matter (the archive's methods are never run)
            for name, t in visual.named_parameters():
                self._place("visual." + name, t)
            for name, t in text.named_parameters():
                self._place(name, t)
            self.logit_scale = torch.nn.Parameter(logit_scale.detach().clone())
            self.register_buffer("input_resolution", torch.tensor(resolution))
            self.register_buffer("context_length", torch.tensor(77))
            self.register_buffer("vocab_size", torch.tensor(49408))

        def _place(self, name, t):
            mod = self
            *path, leaf = name.split(".")
            for p in path:
                if not hasattr(mod, p):
                    mod.add_module(p, torch.nn.Module())
                mod = getattr(mod, p)
            mod.register_parameter(leaf, torch.nn.Parameter(t.detach().clone()))

        def forward(self, x):
            return x

    m = Clip().half()
    for b in ("input_resolution", "context_length", "vocab_size"):  # .half() leaves integer buffers alone
        assert getattr(m, b).dtype == torch.int64
    return torch.jit.script(m)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="small", choices=["small", "official"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    import torch
    from transformers import CLIPTextModel
    import odise_modules as om
    import odise_official as off
    cfg = om.small_config() if args.config == "small" else om.official_config()
    model = om.randomize(om.Odise(cfg), args.seed).eval()
    torch.manual_seed(args.seed + 1000)
    text_encoder = CLIPTextModel(off.sd_text_config_for(cfg)).eval()
    with torch.no_grad():
        # OpenAI's file is fp16: what the exporter reads back is the fp16 rounding of these weights.
        for p in list(model.clip.parameters()):
            p.copy_(p.half().float())
        uncond = text_encoder(input_ids=torch.tensor([EMPTY_PROMPT_IDS])).last_hidden_state
        model.backbone.feature_extractor.ldm_extractor.ldm.uncond_inputs.copy_(uncond)
    os.makedirs(os.path.join(args.out, "reference"), exist_ok=True)
    state = model.state_dict()

    sd = {k: v.clone() for k, v in model.backbone.feature_extractor.ldm_extractor.ldm.ldm.state_dict().items()}
    for k, v in text_encoder.state_dict().items():  # transformers 5 drops the text_model. level the 4.x files have
        sd[off.SD_TEXT_PREFIX + ("" if k.startswith("text_model.") else "text_model.") + k] = v.clone()
    sd[off.POSITION_IDS] = torch.arange(77, dtype=torch.int64)[None]
    betas = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float64) ** 2
    sd.update({"betas": betas.float(), "alphas_cumprod": torch.cumprod(1 - betas, 0).float(),
               "model_ema.decay": torch.tensor(0.9999), "model_ema.num_updates": torch.tensor(0, dtype=torch.int32),
               "model_ema.diffusion_modelout0weight": sd["model.diffusion_model.out.0.weight"].clone()})
    torch.save({"state_dict": sd, "epoch": 0, "global_step": 0, "pytorch-lightning_version": "1.4.2"},
               os.path.join(args.out, "sd-v1-3.ckpt"))

    trained = {k: v for k, v in state.items() if k.startswith(("sem_seg_head.", "category_head."))
               or (k.startswith("backbone.") and off.backbone_source(k[len("backbone."):]).startswith("odise"))}
    trained["criterion.empty_weight"] = torch.ones(134)  # SetCriterion's buffer (133 classes + void): ignored
    torch.save({"model": trained, "iteration": 92187}, os.path.join(args.out, "odise_label_coco_50e.pth"))

    clip_archive(torch, model.clip.visual, model.clip.text, model.clip.logit_scale,
                 cfg["clip_grid"] * cfg["clip_patch"]).save(os.path.join(args.out, "ViT-L-14-336px.pt"))
    torch.save(state, os.path.join(args.out, "reference", "odise.pt"))
    with open(os.path.join(args.out, "reference", "odise.pt.json"), "w") as f:
        json.dump({"config": cfg, "seen_labels": seen_labels(os.path.join(HERE, "odise_coco_panoptic_labels.txt"))}, f)
    print(f"wrote sd-v1-3.ckpt ({len(sd)} keys), odise_label_coco_50e.pth ({len(trained)} keys), ViT-L-14-336px.pt and "
          f"reference/odise.pt ({len(state)} keys) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

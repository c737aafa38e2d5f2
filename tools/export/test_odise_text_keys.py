#!/usr/bin/env python3
"""Strict loading of the two text encoders ODISE's pipeline needs, at the official configuration, on the
meta device (no memory):

odise_sd_text_keys.txt: sd-v1-3.ckpt's cond_stage_model.transformer.* (ldm's FrozenCLIPEmbedder = transformers'
CLIPTextModel of openai/clip-vit-large-patch14: width 768, 12 layers, 12 heads, context 77, vocab 49408), incl.
the int64 position_ids buffer that transformers < 4.31 saved (dropped by odise_official.sd_text_state).
odise_clip_text_keys.txt: the text tower of OpenAI's ViT-L-14-336px.pt in open_clip/OpenAI layout (width 768,
12 layers, 12 heads, embed 768) plus logit_scale; loaded into odise_modules.TextTower via clip_text_state.
Known figure: the ViT-L/14 CLIP text transformer has 123.06 M parameters (+0.59 M text_projection in CLIP).
A missing, extra or reshaped key must fail; the empty prompt's ids are checked against the hand-written
ldm tokenisation; the backbone's state dict assembled by odise_official.assemble_backbone_state from the
three files' lists (ODISE file: trained keys only) loads strictly. With --write the lists are regenerated from the modules (review the diff)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def check_refused(torch, load, sd, name, drop, reshape):
    bad_shape = (sd[reshape].shape[0] + 1,) + tuple(sd[reshape].shape[1:])  # reversing a square matrix changes nothing
    for bad in ({k: v for k, v in sd.items() if k != drop}, {**sd, reshape: torch.empty(bad_shape, device="meta")},
                {**sd, "extra.weight": torch.empty(1, device="meta")}):
        try:
            load(bad)
        except RuntimeError:
            continue
        raise SystemExit(f"{name}: a broken state dict loaded")


def main():
    import torch
    from transformers import CLIPTextModel
    import odise_modules as om
    import odise_official as off
    from test_odise_backbone_keys import read, write
    with torch.device("meta"):
        sd_text = CLIPTextModel(off.sd_text_config())
        clip_text = om.TextTower(768, 12, 768)
    if "--write" in sys.argv:
        # the checkpoint's layout (transformers 4.x): everything under text_model.
        items = [(off.SD_TEXT_PREFIX + ("" if k.startswith("text_model.") else "text_model.") + k, v) for k, v in sd_text.state_dict().items()]
        items.insert(2, (off.POSITION_IDS, torch.empty(1, 77, device="meta")))
        write(off.SD_TEXT_LIST, "sd-v1-3.ckpt cond_stage_model.transformer.* keys and shapes (position_ids: int64, dropped on load)", items)
        write(off.CLIP_TEXT_LIST, "OpenAI ViT-L-14-336px.pt text tower keys and shapes (visual.* = odise_backbone_keys.txt's feature_extractor.clip.clip.visual.*)",
              list(clip_text.state_dict().items()) + [("logit_scale", torch.empty((), device="meta"))])
        for path in (off.SD_TEXT_LIST, off.CLIP_TEXT_LIST):  # write() names the backbone test in the header
            lines = open(path).read().split("\n")
            lines[0] = lines[0].replace("test_odise_backbone_keys.py", "test_odise_text_keys.py")
            open(path, "w").write("\n".join(lines))
        return 0

    want = read(off.SD_TEXT_LIST)
    ckpt = {k: torch.empty(s, device="meta") for k, s in want.items()}
    ckpt["model.diffusion_model.out.0.weight"] = torch.empty(320, device="meta")  # other SD keys are ignored
    state = off.sd_text_state(ckpt, sd_text.state_dict().keys())
    sd_text.load_state_dict(state, strict=True)
    n = sum(v.numel() for v in state.values())
    if round(n / 1e6, 2) != 123.06 or off.POSITION_IDS not in want or want[off.POSITION_IDS] != (1, 77):
        raise SystemExit(f"SD text encoder: {n} parameters (want 123.06 M) / position_ids missing from the list")
    print(f"sd text encoder: {len(want)} official keys ({n / 1e6:.2f} M values) load strictly")
    check_refused(torch, lambda s: sd_text.load_state_dict(s, strict=True), state, "sd text encoder",
                  *[p + k for k in ("encoder.layers.11.mlp.fc2.bias", "encoder.layers.3.self_attn.q_proj.weight")
                    for p in ["text_model." if "text_model.final_layer_norm.weight" in state else ""]])

    want = read(off.CLIP_TEXT_LIST)
    openai = {k: torch.empty(s, device="meta") for k, s in want.items()}
    openai["visual.proj"] = torch.empty(1024, 768, device="meta")
    openai["input_resolution"] = torch.empty((), device="meta")
    text, scale = off.clip_text_state(openai)
    clip_text.load_state_dict(text, strict=True)
    n = sum(v.numel() for v in text.values())
    if scale is None or round((n - 768 * 768) / 1e6, 2) != 123.06:
        raise SystemExit(f"CLIP text tower: {n} parameters (want 123.06 M + 768x768 text_projection) / no logit_scale")
    print(f"clip ViT-L-14-336 text tower: {len(want)} official keys ({n / 1e6:.2f} M values + logit_scale) load strictly")
    check_refused(torch, lambda s: clip_text.load_state_dict(s, strict=True), text, "clip text tower",
                  "ln_final.bias", "transformer.resblocks.7.attn.in_proj_weight")

    ids = off.empty_prompt_ids()
    if len(ids) != 77 or ids[0] != 49406 or set(ids[1:]) != {49407}:
        raise SystemExit("empty prompt ids differ from <|startoftext|> + 76 x <|endoftext|>")
    with torch.device("meta"):
        out = sd_text(input_ids=torch.tensor([ids], device="meta")).last_hidden_state
    if tuple(out.shape) != (1, 77, 768):
        raise SystemExit(f"empty-prompt context shape {tuple(out.shape)} != uncond_inputs' (1, 77, 768)")
    print("empty-prompt context: ids <|startoftext|> + 76 x <|endoftext|> -> [1, 77, 768] = uncond_inputs")
    assemble(torch, off, out)
    try:
        off.sd_text_state({"model.diffusion_model.out.0.weight": ckpt["model.diffusion_model.out.0.weight"]}, ())
    except ValueError:
        return 0
    raise SystemExit("a checkpoint without a text encoder was accepted")


def assemble(torch, off, uncond):
    """The backbone's state dict assembled from the three files' key lists loads strictly; the ODISE file is
    expected to hold only the trained keys (a frozen SD/CLIP key in it is never read, a missing trained key fails)."""
    import sd_modules as sm
    import odise_modules as om
    from test_odise_backbone_keys import read, BB_LIST, SD_LIST
    meta = lambda want: {k: torch.empty(s, device="meta") for k, s in want.items()}
    with torch.device("meta"):
        bb = sm.OdiseBackbone(sm.sd_v1_config(), om.Visual(1024, 24, 14, 24, 768))
    keys = list(bb.state_dict().keys())
    trained = {"backbone." + k: torch.empty(s, device="meta") for k, s in read(BB_LIST).items()
               if off.backbone_source(k).startswith("odise")}
    sd_ckpt = meta(read(SD_LIST))
    openai = {"visual." + k[len("feature_extractor.clip.clip.visual."):]: torch.empty(s, device="meta")
              for k, s in read(BB_LIST).items() if k.startswith("feature_extractor.clip.clip.visual.")}
    openai.update(meta(read(off.CLIP_TEXT_LIST)))
    state = off.assemble_backbone_state(torch, keys, trained, sd_ckpt, openai, uncond)
    import warnings
    with warnings.catch_warnings():  # shared_noise is a real CPU tensor; copying it into the meta module is a no-op
        warnings.simplefilter("ignore", UserWarning)
        bb.load_state_dict(state, strict=True)
    prefixes = sorted({k.split(".")[1] if k.startswith("backbone.feature_extractor.") else k.split(".")[1] for k in trained})
    print(f"backbone assembled from the ODISE file ({len(trained)} trained keys: {', '.join(prefixes)}), "
          f"sd-v1-3.ckpt, ViT-L-14-336px.pt and the computed buffers: loads strictly")
    if any("ldm_extractor" in k or ".clip.clip." in k for k in trained):
        raise SystemExit("frozen keys counted as stored in the ODISE file")
    drop = next(k for k in trained if "alpha_cond" in k)
    try:
        off.assemble_backbone_state(torch, keys, {k: v for k, v in trained.items() if k != drop}, sd_ckpt, openai, uncond)
    except KeyError:
        return
    raise SystemExit("an ODISE file without " + drop + " was accepted")


if __name__ == "__main__":
    sys.exit(main())

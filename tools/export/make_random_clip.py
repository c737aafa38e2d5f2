#!/usr/bin/env python3
"""Build a randomly initialised Hugging Face transformers CLIPModel and save it like a real checkpoint.

The result (config.json + model.safetensors, from save_pretrained, plus a CLIP
preprocessor_config.json) is what tools/export/export_clip.py and
tools/reference/maskclip_reference.py read, so the parity pipeline can run without
downloading weights.

  python tools/export/make_random_clip.py --out /tmp/clip-b16            # ViT-B/16 shapes (~600 MB)
  python tools/export/make_random_clip.py --out /tmp/clip-small --small  # 4 layers, quick tests
  python tools/export/make_random_clip.py --out /tmp/clip-l14 --vit-l14  # ViT-L/14 shapes (~1.7 GB; CaR's classifier)
  python tools/export/make_random_clip.py --arch rn50 --out /tmp/rn50 [--small]  # OpenAI RN50 layout

--arch rn50 writes DIR/model.pt, an OpenAI-format CLIP RN50 state dict (the key names of OpenAI's
RN50.pt: visual.conv1.weight, ..., visual.attnpool.*, transformer.resblocks.*, text_projection;
saved with torch.save), plus preprocessor_config.json (CLIP mean/std). --small: ResNet width 16,
layers (1,1,2,1) (D = 512), E = 128, text width 192 with 4 layers. BN running statistics are
calibrated on random images so activations keep a sane scale. See tools/export/resnet_clip.py.

Deterministic: the same --seed gives bit-identical weights (CPU, same torch version).

Text config: eos_token_id = 49407 (<|endoftext|>), bos_token_id = 49406, pad_token_id = 1,
as in openai/clip-vit-base-patch16. With eos_token_id != 2, transformers pools the text
features at the FIRST occurrence of 49407; with CLIP tokenisation (ids < 49407 before the end
token, zero padding after it) that is the same position as argmax(input_ids), which is how
OpenAI CLIP and the exported text graph pool.
"""
import argparse
import json
import os
import sys

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def configs(small, large=False):
    if large:  # openai/clip-vit-large-patch14
        vision = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                      num_attention_heads=16, patch_size=14, image_size=224)
        text = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                    num_attention_heads=12)
        proj = 768
    elif small:
        # Different widths for vision (256), text (192) and the joint space (128), so a
        # transposed or misplaced matrix fails loudly instead of passing by coincidence.
        vision = dict(hidden_size=256, intermediate_size=1024, num_hidden_layers=4,
                      num_attention_heads=4, patch_size=16, image_size=224)
        # Heads = width / 64, as in OpenAI's CLIP (so OpenAI-format round trips are exact).
        text = dict(hidden_size=192, intermediate_size=768, num_hidden_layers=4,
                    num_attention_heads=3)
        proj = 128
    else:  # openai/clip-vit-base-patch16
        vision = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                      num_attention_heads=12, patch_size=16, image_size=224)
        text = dict(hidden_size=512, intermediate_size=2048, num_hidden_layers=12,
                    num_attention_heads=8)
        proj = 512
    vision.update(num_channels=3, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                  projection_dim=proj)
    text.update(vocab_size=49408, max_position_embeddings=77, hidden_act="quick_gelu",
                layer_norm_eps=1e-5, bos_token_id=49406, eos_token_id=49407, pad_token_id=1,
                projection_dim=proj)
    return vision, text, proj


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--small", action="store_true", help="small model (4 layers, widths 256/192/128, 4/3 heads)")
    ap.add_argument("--vit-l14", action="store_true",
                    help="ViT-L/14 shapes (openai/clip-vit-large-patch14: 24 layers, width 1024, E = 768)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--arch", choices=["vit", "rn50"], default="vit",
                    help="vit: transformers CLIPModel (ViT-B/16 shapes); rn50: OpenAI-format RN50 state dict")
    args = ap.parse_args(argv)
    if args.arch == "rn50":
        return main_rn50(args)

    import torch
    from transformers import CLIPConfig, CLIPModel
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()

    if args.small and args.vit_l14:
        ap.error("--small and --vit-l14 exclude each other")
    vision, text, proj = configs(args.small, args.vit_l14)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=proj,
                        logit_scale_init_value=2.6592)
    torch.manual_seed(args.seed)
    with torch.no_grad():
        model = CLIPModel(config).eval()
        # Random init leaves the class embedding and LayerNorms trivial enough; perturb the
        # LayerNorm affine parameters too, so the export is checked with non-identity norms.
        g = torch.Generator().manual_seed(args.seed + 1)
        for name, p in model.named_parameters():
            if "layer_norm" in name or "layrnorm" in name or "layernorm" in name:
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    pre = {
        "image_processor_type": "CLIPImageProcessor",
        "do_resize": True, "size": {"shortest_edge": vision["image_size"]}, "resample": 3,
        "do_center_crop": True, "crop_size": {"height": vision["image_size"], "width": vision["image_size"]},
        "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "do_convert_rgb": True,
    }
    with open(os.path.join(args.out, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    n = sum(p.numel() for p in model.parameters())
    print(f"saved random CLIP ({'small' if args.small else 'ViT-L/14' if args.vit_l14 else 'ViT-B/16'}, seed {args.seed}, "
          f"{n / 1e6:.1f} M parameters) to {args.out}")
    return 0


def main_rn50(args):
    import torch
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import resnet_clip
    sd = resnet_clip.build_random_state_dict(small=args.small, seed=args.seed)
    os.makedirs(args.out, exist_ok=True)
    torch.save(sd, os.path.join(args.out, "model.pt"))
    with open(os.path.join(args.out, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "CLIPImageProcessor", "image_mean": CLIP_MEAN, "image_std": CLIP_STD},
                  f, indent=2)
    n = sum(v.numel() for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    print(f"saved random CLIP RN50 ({'small' if args.small else 'RN50'}, seed {args.seed}, "
          f"{n / 1e6:.1f} M parameters, OpenAI key layout) to {os.path.join(args.out, 'model.pt')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks odise_memory_estimate.trace against hand-computed figures (meta device, a few seconds):
- weights: the ViT-L/14-336 text tower and image tower in fp16 read exactly 2 bytes x the values of their
  official key lists (odise_clip_text_keys.txt without logit_scale, plus the 77² causal mask; odise_backbone_keys.txt's clip visual.*);
- activations: one SD self-attention at 64² latent (4096 tokens, 320 wide, 8 heads) in fp16 has two
  8 x 4096 x 4096 matrices alive at once (q@k^T and its scaled copy, then the scaled copy and the softmax):
  512 MiB + the O(L x C) tensors (input, q, k, v, output: 2.5 MiB each); without the matrices the input and
q, k, v are alive together: 10 MiB, at most 6 such tensors."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
MIB = 2 ** 20


def main():
    import torch
    import odise_modules as om
    import sd_modules as sm
    import odise_official as off
    from odise_memory_estimate import trace
    from test_odise_backbone_keys import read, BB_LIST
    h = torch.float16
    with torch.device("meta"):
        text = om.TextTower(768, 12, 768).to(h).eval()
        w, _, _ = trace(torch, text, (torch.zeros(2, 77, dtype=torch.long),))
        # + the 77 x 77 causal mask: a non-persistent buffer, a constant of the engine
        want = (sum(torch.Size(s).numel() for k, s in read(off.CLIP_TEXT_LIST).items() if k != "logit_scale") + 77 * 77) * 2
        if w != want:
            raise SystemExit(f"text tower: traced {w} weight bytes, key list {want}")
        clip = om.MaskClipGraph(om.Visual(1024, 24, 14, 24, 768).to(h).eval())
        w, _, _ = trace(torch, clip, (torch.empty(1, 3, 336, 336, dtype=h), torch.empty(1, 100, 576, dtype=h)))
        want = sum(torch.Size(s).numel() for k, s in read(BB_LIST).items() if k.startswith("feature_extractor.clip.clip.visual.")) * 2
        if w != want:
            raise SystemExit(f"CLIP image tower: traced {w} weight bytes, key list {want}")
        attn = sm.CrossAttention(320, 320, 8).to(h).eval()
        _, peak, fused = trace(torch, attn, (torch.empty(1, 4096, 320, dtype=h),))
    if not (512 <= peak / MIB <= 512 + 6 * 2.5 + 1) or not (10 <= fused / MIB <= 15):
        raise SystemExit(f"64² self-attention: peak {peak / MIB:.1f} MiB (want 512..528), without matrices {fused / MIB:.1f} (want 10..15)")
    print(f"weights match the key lists; 64² attention peak {peak / MIB:.1f} MiB, fused {fused / MIB:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

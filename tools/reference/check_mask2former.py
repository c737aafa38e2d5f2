#!/usr/bin/env python3
"""The ODISE mask generator (tools/export/odise_modules.py) against transformers' Mask2Former.

transformers' Mask2FormerPixelDecoder and Mask2FormerTransformerModule are an implementation of
Mask2Former nobody here wrote. The checkpoint's sem_seg_head.pixel_decoder.* / .predictor.* weights
(official detectron2 key names) are mapped onto them; both run on the same multi-scale features (the
checkpoint's backbone on a photo, and random maps of a non-square size). Fails when the last layer's
mask logits or the mask features differ by more than --tol x their largest magnitude.
(PooledMaskEmbed and the class head are ODISE's own additions; transformers has no counterpart.)"""
import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "export"))


def mapped(sd, pre, dec_layers, enc_layers):
    pd, tm = {}, {}
    p = pre + "pixel_decoder."
    for i in range(3):
        for j in (0, 1):
            for t in ("weight", "bias"):
                pd[f"input_projections.{i}.{j}.{t}"] = sd[f"{p}input_proj.{i}.{j}.{t}"]
    pd["level_embed"] = sd[p + "transformer.level_embed"]
    names = {"norm1": "self_attn_layer_norm", "linear1": "fc1", "linear2": "fc2", "norm2": "final_layer_norm"}
    for i in range(enc_layers):
        src = f"{p}transformer.encoder.layers.{i}."
        for m in ("sampling_offsets", "attention_weights", "value_proj", "output_proj"):
            for t in ("weight", "bias"):
                pd[f"encoder.layers.{i}.self_attn.{m}.{t}"] = sd[f"{src}self_attn.{m}.{t}"]
        for a, b in names.items():
            for t in ("weight", "bias"):
                pd[f"encoder.layers.{i}.{b}.{t}"] = sd[f"{src}{a}.{t}"]
    for t in ("weight", "bias"):
        pd[f"mask_projection.{t}"] = sd[f"{p}mask_features.{t}"]
    pd["adapter_1.0.weight"] = sd[p + "adapter_1.weight"]
    pd["layer_1.0.weight"] = sd[p + "layer_1.weight"]
    for t in ("weight", "bias"):
        pd[f"adapter_1.1.{t}"] = sd[f"{p}adapter_1.norm.{t}"]
        pd[f"layer_1.1.{t}"] = sd[f"{p}layer_1.norm.{t}"]
    q = pre + "predictor."
    tm["queries_features.weight"] = sd[q + "query_feat.weight"]
    tm["queries_embedder.weight"] = sd[q + "query_embed.weight"]
    tm["level_embed.weight"] = sd[q + "level_embed.weight"]
    for i in range(dec_layers):
        d = f"decoder.layers.{i}."
        w, b = sd[f"{q}transformer_self_attention_layers.{i}.self_attn.in_proj_weight"], sd[f"{q}transformer_self_attention_layers.{i}.self_attn.in_proj_bias"]
        for k, n in enumerate(("q", "k", "v")):
            c = w.shape[1]
            tm[f"{d}self_attn.{n}_proj.weight"] = w[k * c:(k + 1) * c]
            tm[f"{d}self_attn.{n}_proj.bias"] = b[k * c:(k + 1) * c]
        for t in ("weight", "bias"):
            tm[f"{d}self_attn.out_proj.{t}"] = sd[f"{q}transformer_self_attention_layers.{i}.self_attn.out_proj.{t}"]
            tm[f"{d}self_attn_layer_norm.{t}"] = sd[f"{q}transformer_self_attention_layers.{i}.norm.{t}"]
            tm[f"{d}cross_attn.out_proj.{t}"] = sd[f"{q}transformer_cross_attention_layers.{i}.multihead_attn.out_proj.{t}"]
            tm[f"{d}cross_attn_layer_norm.{t}"] = sd[f"{q}transformer_cross_attention_layers.{i}.norm.{t}"]
            tm[f"{d}fc1.{t}"] = sd[f"{q}transformer_ffn_layers.{i}.linear1.{t}"]
            tm[f"{d}fc2.{t}"] = sd[f"{q}transformer_ffn_layers.{i}.linear2.{t}"]
            tm[f"{d}final_layer_norm.{t}"] = sd[f"{q}transformer_ffn_layers.{i}.norm.{t}"]
        tm[f"{d}cross_attn.in_proj_weight"] = sd[f"{q}transformer_cross_attention_layers.{i}.multihead_attn.in_proj_weight"]
        tm[f"{d}cross_attn.in_proj_bias"] = sd[f"{q}transformer_cross_attention_layers.{i}.multihead_attn.in_proj_bias"]
    for t in ("weight", "bias"):
        tm[f"decoder.layernorm.{t}"] = sd[f"{q}decoder_norm.{t}"]
        for j in range(3):
            tm[f"decoder.mask_predictor.mask_embedder.{j}.0.{t}"] = sd[f"{q}mask_embed.layers.{j}.{t}"]
    return pd, tm


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    a = ap.parse_args()
    import numpy as np
    import torch
    from PIL import Image
    from transformers import Mask2FormerConfig
    from transformers.models.mask2former.modeling_mask2former import Mask2FormerPixelDecoder, Mask2FormerTransformerModule
    import odise_modules as om
    torch.set_grad_enabled(False)
    meta = json.load(open(a.checkpoint + ".json"))
    cfg = meta["config"]
    sd = torch.load(a.checkpoint)
    model = om.Odise(cfg)
    model.load_state_dict(sd, strict=True)
    model.eval()
    hc = Mask2FormerConfig(feature_size=cfg["conv_dim"], mask_feature_size=cfg["mask_dim"], hidden_dim=cfg["conv_dim"],
                           encoder_feedforward_dim=cfg["enc_ff"], encoder_layers=cfg["enc_layers"], decoder_layers=cfg["dec_layers"] + 1,
                           num_attention_heads=cfg["dec_heads"], dim_feedforward=cfg["dec_ff"], num_queries=cfg["queries"],
                           common_stride=4, feature_strides=[4, 8, 16, 32], pre_norm=False, enforce_input_projection=False)
    hc.encoder_attention_heads = cfg["enc_heads"] if hasattr(hc, "encoder_attention_heads") else None
    pdh = Mask2FormerPixelDecoder(hc, feature_channels=[cfg["in_ch"][k] for k in ("s2", "s3", "s4", "s5")]).eval()
    tmh = Mask2FormerTransformerModule(in_features=cfg["conv_dim"], config=hc).eval()
    pd_sd, tm_sd = mapped(sd, "sem_seg_head.", cfg["dec_layers"], cfg["enc_layers"])
    pdh.load_state_dict(pd_sd, strict=True)
    tmh.load_state_dict(tm_sd, strict=True)
    img = np.asarray(Image.open(a.image).convert("RGB").resize((320, 256), Image.BILINEAR), dtype=np.float32) / 255
    photo = model.backbone(torch.from_numpy(img).permute(2, 0, 1)[None])
    g = torch.Generator().manual_seed(7)
    rand = [torch.randn(1, cfg["in_ch"][k], 24 // s, 40 // s, generator=g) for k, s in (("s2", 1), ("s3", 2), ("s4", 4), ("s5", 8))]
    ok = True
    for name, feats in (("photo features 64x80", photo), ("random maps 24x40", rand)):
        mf, ms = model.sem_seg_head.pixel_decoder(dict(zip(("s2", "s3", "s4", "s5"), feats)))
        masks, _ = model.sem_seg_head.predictor(ms, mf)
        ho = pdh(list(feats))
        hm = tmh(list(ho.multi_scale_features), ho.mask_features).masks_queries_logits[-1]
        e_f = float((mf - ho.mask_features).abs().max() / ho.mask_features.abs().max())
        e_m = float((masks - hm).abs().max() / hm.abs().max())
        print(f"  {name}: mask features {e_f:.2e}, last-layer mask logits {e_m:.2e} (relative to max |transformers|)")
        ok &= e_f <= a.tol and e_m <= a.tol
    print("  mask generator vs transformers Mask2Former: " + ("ok" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

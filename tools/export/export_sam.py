#!/usr/bin/env python3
"""Export a Segment Anything (SAM) checkpoint to an ovseg bundle (format v1, pipeline "sam").

Input: a transformers SamModel directory (config.json + model.safetensors, as save_pretrained
writes it, e.g. a download of facebook/sam-vit-huge), or --random: a randomly initialised SamModel
built here from a seed (--small for a tiny one, for tests), saved with --save-checkpoint so that
tools/reference/sam_reference.py can load exactly the same weights.

Output (--out DIR):
  sam_image.onnx    pixel_values [1,3,1024,1024] f32 (resized so the long side is 1024, normalised
                    with the bundle's mean/std, zero-padded bottom-right AFTER normalisation)
                    -> image_embeddings [1,C,64,64] f32 (the vision encoder's neck output).
  sam_decoder.onnx  image_embeddings [1,C,64,64] f32,
                    point_coords [points,1,2] f32 (x, y in the 1024-frame of the resized image,
                    NOT shifted by 0.5: the graph adds the half-pixel itself, as SAM does),
                    point_labels [points,1] int64 (1 = foreground)
                    -> low_res_masks [points,3,256,256] f32 (mask logits, multimask output),
                       iou_predictions [points,3] f32.
                    The prompt encoder (with SAM's padding point, label -1, since no box is given),
                    the two-way transformer and the mask/IoU heads; one single-point prompt per row.
  bundle.json       manifest ("pipeline": "sam"; no text section).

Upsampling the low-res logits (bilinear to 1024², crop to the resized image, bilinear to the
original size), thresholding at 0, the predicted-IoU and stability-score filters and box NMS are
ovseg's (org.ovseg.pipeline.sam.SamAutomaticMasks), as in segment-anything's
SamAutomaticMaskGenerator; see tools/export/README-sam.md.

Self-check: both graphs are run in ONNX Runtime and compared with the transformers SamModel
(vision_encoder, and the full SamModel forward from image embeddings with the same prompts, for
2 and 5 points); exits non-zero if max |ort - torch| > 1e-4 for image_embeddings and
iou_predictions, or > 1e-3 for low_res_masks (logits of magnitude up to ~100).

  python tools/export/export_sam.py --checkpoint DIR --out BUNDLE [--no-check]
  python tools/export/export_sam.py --random [--small] [--seed 0] --save-checkpoint CKPT --out BUNDLE
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_clip as ec  # noqa: E402  (sha256, single-file folding, dim renaming, ORT sessions)

OPSET = 18
IMAGENET_MEAN = [0.485, 0.456, 0.406]   # SAM's pixel_mean (123.675, 116.28, 103.53) / 255
IMAGENET_STD = [0.229, 0.224, 0.225]    # SAM's pixel_std (58.395, 57.12, 57.375) / 255
EMB_TOL = 1e-4
IOU_TOL = 1e-4
MASK_TOL = 1e-3
MASK_GAIN = 4.0  # random models: scale of the hypernetwork heads
log = ec.log


def random_config(small):
    from transformers import SamConfig
    if small:
        vision = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, mlp_dim=128,
                      global_attn_indexes=[1], window_size=14, output_channels=64, num_pos_feats=32)
        prompt = dict(hidden_size=64)
        decoder = dict(hidden_size=64, mlp_dim=256, num_hidden_layers=2, num_attention_heads=4,
                       iou_head_hidden_dim=64)
    else:  # vit_b-shaped encoder, the real decoder
        vision = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      global_attn_indexes=[2, 5, 8, 11])
        prompt, decoder = {}, {}
    return SamConfig(vision_config=vision, prompt_encoder_config=prompt, mask_decoder_config=decoder)


def make_random(torch, small, seed, save_dir):
    """A seeded random SamModel. transformers initialises the relative/absolute position tables to
    zero and the random-Fourier point encoding with std hidden/2; here they get unit-scale noise so
    every path of the graph carries signal (the parity check would miss a dropped zero table)."""
    from transformers import SamModel
    torch.manual_seed(seed)
    model = SamModel(random_config(small)).eval()
    g = torch.Generator().manual_seed(seed + 1)

    def randn(shape, std):
        return std * torch.randn(shape, generator=g)

    nn = torch.nn
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
                w = mod.weight
                fan_in = w.shape[1] * (w[0, 0].numel() if w.dim() > 2 else 1)
                if isinstance(mod, nn.ConvTranspose2d):
                    fan_in = w.shape[0]
                w.copy_(randn(w.shape, fan_in ** -0.5))
                if mod.bias is not None:
                    mod.bias.copy_(randn(mod.bias.shape, 0.05))
            elif isinstance(mod, nn.LayerNorm) or type(mod).__name__ == "SamLayerNorm":
                mod.weight.copy_(1 + randn(mod.weight.shape, 0.1))
                mod.bias.copy_(randn(mod.bias.shape, 0.1))
            elif isinstance(mod, nn.Embedding):
                mod.weight.copy_(randn(mod.weight.shape, 1.0))
        enc = model.vision_encoder
        if enc.pos_embed is not None:
            enc.pos_embed.copy_(randn(enc.pos_embed.shape, 0.1))
        for layer in enc.layers:
            a = layer.attn
            if getattr(a, "use_rel_pos", False):
                a.rel_pos_h.copy_(randn(a.rel_pos_h.shape, 0.1))
                a.rel_pos_w.copy_(randn(a.rel_pos_w.shape, 0.1))
        pe = randn(model.shared_image_embedding.positional_embedding.shape, 1.0)
        model.shared_image_embedding.positional_embedding.copy_(pe)
        model.prompt_encoder.shared_embedding.positional_embedding.copy_(pe)
        # Mask logits of magnitude ~10, so that thresholding at 0 +- 1 (the stability score) means something.
        for mlp in model.mask_decoder.output_hypernetworks_mlps:
            mlp.proj_out.weight.mul_(MASK_GAIN)
    os.makedirs(save_dir, exist_ok=True)
    model.save_pretrained(save_dir, safe_serialization=True)
    with open(os.path.join(save_dir, "preprocessor_config.json"), "w") as f:
        json.dump({"image_processor_type": "SamImageProcessor", "image_mean": IMAGENET_MEAN,
                   "image_std": IMAGENET_STD, "longest_edge": 1024, "pad_size": 1024}, f, indent=2)
    return save_dir


def load_model(torch, ckpt):
    from transformers import SamModel
    return SamModel.from_pretrained(ckpt, attn_implementation="eager", dtype=torch.float32).eval()


def read_norm(ckpt):
    p = os.path.join(ckpt, "preprocessor_config.json")
    if os.path.exists(p):
        with open(p) as f:
            c = json.load(f)
        if "image_mean" in c and "image_std" in c:
            return [float(x) for x in c["image_mean"]], [float(x) for x in c["image_std"]], "preprocessor_config.json"
    return IMAGENET_MEAN, IMAGENET_STD, "SAM default (ImageNet)"


def build_modules(torch):
    nn = torch.nn

    class SamImage(nn.Module):
        def __init__(self, model):
            super().__init__()
            self.encoder = model.vision_encoder

        def forward(self, pixel_values):
            return self.encoder(pixel_values).last_hidden_state

    class SamDecoder(nn.Module):
        """One single-point prompt per row: the SamModel forward from image embeddings with a
        point batch of N (the image batch stays 1)."""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, image_embeddings, point_coords, point_labels):
            out = self.model(image_embeddings=image_embeddings, input_points=point_coords.unsqueeze(0),
                             input_labels=point_labels.unsqueeze(0), multimask_output=True)
            return out.pred_masks[0], out.iou_scores[0]

    return SamImage, SamDecoder


def export_graph(torch, module, args, path, input_names, output_names, dynamic_shapes, dynamic_axes, dim_names, route):
    return ec.export_onnx(torch, module, args, path, input_names, output_names, dynamic_shapes, dynamic_axes,
                          dim_names, route)


def check_graph(path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    return opset, sorted({n.op_type for n in m.graph.node})


def self_check(torch, model, out, files, img_size, C, E):
    rng = np.random.default_rng(4321)
    results, failures = {}, []

    def record(name, o, ref, tol):
        err = float(np.max(np.abs(o - ref)))
        scale = float(np.max(np.abs(ref)))
        ok = err <= tol
        results[name] = {"max_abs_err": err, "max_abs_ref": scale, "ok": ok}
        log(f"  {name:44s} max|ort-torch| = {err:.3e} (max|torch| {scale:.3g}) <= {tol:g} {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)

    si = ec.ort_session(os.path.join(out, files["sam_image"]))
    sd = ec.ort_session(os.path.join(out, files["sam_decoder"]))
    px = rng.standard_normal((1, 3, img_size, img_size)).astype(np.float32)
    with torch.no_grad():
        ref_emb = model.vision_encoder(torch.from_numpy(px)).last_hidden_state.numpy()
    t0 = time.time()
    (emb,) = si.run(["image_embeddings"], {"pixel_values": px})
    record(f"sam_image ({time.time() - t0:.2f}s)", emb, ref_emb, EMB_TOL)
    for n in (2, 5):
        coords = (rng.random((n, 1, 2)) * img_size).astype(np.float32)
        labels = np.ones((n, 1), dtype=np.int64)
        if n == 5:
            labels[1, 0] = 0  # a background click too
        with torch.no_grad():
            r = model(image_embeddings=torch.from_numpy(ref_emb), input_points=torch.from_numpy(coords)[None],
                      input_labels=torch.from_numpy(labels)[None], multimask_output=True)
        ref_m, ref_i = r.pred_masks[0].numpy(), r.iou_scores[0].numpy()
        t0 = time.time()
        m, i = sd.run(["low_res_masks", "iou_predictions"],
                      {"image_embeddings": ref_emb, "point_coords": coords, "point_labels": labels})
        dt = time.time() - t0
        assert m.shape == ref_m.shape and i.shape == ref_i.shape, (m.shape, ref_m.shape, i.shape, ref_i.shape)
        record(f"sam_decoder {n} points low_res_masks ({dt:.2f}s)", m, ref_m, MASK_TOL)
        record(f"sam_decoder {n} points iou_predictions", i, ref_i, IOU_TOL)
    return results, failures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint", help="transformers SamModel directory (config.json + weights)")
    src.add_argument("--random", action="store_true", help="a randomly initialised SamModel (seeded)")
    ap.add_argument("--small", action="store_true", help="with --random: a tiny model (tests)")
    ap.add_argument("--seed", type=int, default=0, help="with --random: the seed (default 0)")
    ap.add_argument("--save-checkpoint", metavar="DIR",
                    help="with --random: where the checkpoint is saved (default OUT/../<out>-checkpoint)")
    ap.add_argument("--out", required=True, help="bundle directory to write (created)")
    ap.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime self-check")
    ap.add_argument("--route", choices=["auto", "dynamo", "torchscript"], default="auto",
                    help="torch.onnx exporter (auto: dynamo, then TorchScript if dynamo fails)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    args = ap.parse_args(argv)

    torch = ec.import_torch_quietly(args.threads)

    t_start = time.time()
    out = os.path.abspath(args.out)
    if args.random:
        ckpt = os.path.abspath(args.save_checkpoint or (out.rstrip("/") + "-checkpoint"))
        make_random(torch, args.small, args.seed, ckpt)
        log(f"random SamModel (seed {args.seed}{', small' if args.small else ''}) saved to {ckpt}")
    else:
        ckpt = os.path.abspath(args.checkpoint)
        if not os.path.exists(os.path.join(ckpt, "config.json")):
            log(f"error: {ckpt} is not a transformers SamModel directory (no config.json)")
            return 2
    model = load_model(torch, ckpt)
    cfg = model.config
    if cfg.model_type != "sam":
        log(f"error: {ckpt} holds a '{cfg.model_type}' model, not 'sam'")
        return 2
    vc, pc = cfg.vision_config, cfg.prompt_encoder_config
    img_size = int(vc.image_size)
    C = int(vc.output_channels)
    E = int(pc.image_embedding_size)  # 64
    low = 4 * E                         # 256: two 2x transposed convolutions
    mean, std, norm_src = read_norm(ckpt)
    os.makedirs(out, exist_ok=True)

    SamImage, SamDecoder = build_modules(torch)
    from torch.export import Dim
    files = {"sam_image": "sam_image.onnx", "sam_decoder": "sam_decoder.onnx"}
    routes, info = {}, {}
    t0 = time.time()
    p = os.path.join(out, files["sam_image"])
    routes["sam_image"] = export_graph(
        torch, SamImage(model), (torch.randn(1, 3, img_size, img_size),), p, ["pixel_values"], ["image_embeddings"],
        None, None, {"pixel_values": [1, 3, img_size, img_size], "image_embeddings": [1, C, E, E]}, args.route)
    info["sam_image"] = check_graph(p)
    log(f"exported {files['sam_image']} ({routes['sam_image']}, {time.time() - t0:.1f}s, {os.path.getsize(p) / 1e6:.1f} MB)")

    t0 = time.time()
    p = os.path.join(out, files["sam_decoder"])
    ex_n = 7
    ex = (torch.randn(1, C, E, E), torch.rand(ex_n, 1, 2) * img_size, torch.ones(ex_n, 1, dtype=torch.int64))
    routes["sam_decoder"] = export_graph(
        torch, SamDecoder(model), ex, p, ["image_embeddings", "point_coords", "point_labels"],
        ["low_res_masks", "iou_predictions"],
        {"image_embeddings": None, "point_coords": {0: Dim.DYNAMIC}, "point_labels": {0: Dim.DYNAMIC}},
        {"point_coords": {0: "points"}, "point_labels": {0: "points"}, "low_res_masks": {0: "points"},
         "iou_predictions": {0: "points"}},
        {"image_embeddings": [1, C, E, E], "point_coords": ["points", 1, 2], "point_labels": ["points", 1],
         "low_res_masks": ["points", 3, low, low], "iou_predictions": ["points", 3]}, args.route)
    info["sam_decoder"] = check_graph(p)
    log(f"exported {files['sam_decoder']} ({routes['sam_decoder']}, {time.time() - t0:.1f}s, {os.path.getsize(p) / 1e6:.1f} MB)")

    check = None
    if not args.no_check:
        t0 = time.time()
        log("self-check (ONNX Runtime vs torch):")
        results, failures = self_check(torch, model, out, files, img_size, C, E)
        check = {"embedding_tolerance": EMB_TOL, "mask_logit_tolerance": MASK_TOL, "iou_tolerance": IOU_TOL,
                 "results": results}
        log(f"self-check took {time.time() - t0:.1f}s")
        if failures:
            log(f"error: self-check failed: {', '.join(failures)}")
            return 1

    def net(kind, inputs, outputs):
        return ec.network_entry(out, files, kind, inputs, outputs)

    family = f"sam-{'random-' if args.random else ''}vit-d{vc.hidden_size}-l{vc.num_hidden_layers}"
    manifest = {
        "format_version": 1,
        "pipeline": "sam",
        "family": family,
        "networks": {
            "sam_image": net("sam_image",
                             [{"name": "pixel_values", "dtype": "float32", "shape": [1, 3, img_size, img_size]}],
                             [{"name": "image_embeddings", "dtype": "float32", "shape": [1, C, E, E]}]),
            "sam_decoder": net("sam_decoder",
                               [{"name": "image_embeddings", "dtype": "float32", "shape": [1, C, E, E]},
                                {"name": "point_coords", "dtype": "float32", "shape": ["points", 1, 2]},
                                {"name": "point_labels", "dtype": "int64", "shape": ["points", 1]}],
                               [{"name": "low_res_masks", "dtype": "float32", "shape": ["points", 3, low, low]},
                                {"name": "iou_predictions", "dtype": "float32", "shape": ["points", 3]}]),
        },
        "preprocessing": {
            "size_policy": "long-side", "size": img_size, "max_long_side": img_size,
            "mean": mean, "std": std, "patch_size": int(vc.patch_size), "position_grid": E, "width": C,
            "interpolation": "bilinear, align_corners=false",
            "pos_embed_interpolation": "none",
            "padding": f"zero after normalisation, bottom-right, to {img_size}x{img_size}",
        },
        "defaults": {"points_per_side": 32, "points_per_batch": 64, "pred_iou_thresh": 0.88,
                     "stability_score_thresh": 0.95, "stability_score_offset": 1.0, "box_nms_thresh": 0.7,
                     "mask_threshold": 0.0},
        "source": {
            "checkpoint": os.path.basename(ckpt.rstrip("/")),
            "random": bool(args.random), "seed": args.seed if args.random else None,
            "exporter": "tools/export/export_sam.py",
            **ec.tool_versions(torch),
            "opset": OPSET, "export_routes": routes,
            "operators": {k: v[1] for k, v in info.items()},
            "normalization": norm_src,
            "notes": ("SAM (transformers SamModel). Image: long side resized to 1024 (bilinear), normalised, "
                      "zero-padded bottom-right after normalisation. Decoder: single-point prompts in the 1024 "
                      "frame, label 1 = foreground, 0 = background; SAM's padding point (label -1) is added "
                      "inside the graph. Low-res logits are post-processed by ovseg (see README-sam.md)."),
        },
    }
    ec.write_manifest(out, manifest, check)
    log(f"wrote bundle {out} ({family}, C={C}, opset {info['sam_image'][0]}/{info['sam_decoder'][0]}) "
        f"in {time.time() - t_start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

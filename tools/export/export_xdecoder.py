#!/usr/bin/env python3
"""Export an X-Decoder checkpoint (official v2.0 key layout) to an ovseg bundle (pipeline "xdecoder").

  python tools/export/export_xdecoder.py --config focalt --checkpoint xdecoder_focalt_last.pt --out DIR
  python tools/export/export_xdecoder.py --config tiny --random 0 --save-checkpoint CKPT.pt --out DIR

--config focalt | focall (the released configs) | tiny | tiny-focal (reduced widths for CI, the
focal_dw and focal backbone variants; same code path). The checkpoint is loaded strictly into the
project's modules (tools/export/xdecoder_modules.py; expected keys in tools/export/xdecoder_keys/).
--random SEED builds deterministic random weights instead; --save-checkpoint writes them (a plain
state_dict with the official keys) for tools/reference/xdecoder_reference.py.

Graphs (opset 18, no Resize/GridSample: identical for ONNX Runtime and TensorRT):
  backbone.onnx   pixel_values [1,3,H,W] f32 (RGB, (v - PIXEL_MEAN)/PIXEL_STD in 0..255 units,
                  zero-padded bottom-right to a multiple of 32)
                  -> mask_features [1,M,H/4,W/4], level0 [1,D,H/32,W/32], level1 [1,D,H/16,W/16],
                     level2 [1,D,H/8,W/8]  (FocalNet + transformer_encoder_fpn pixel decoder)
  decoder.onnx    level0..2, mask_features, text_emb [K,P] (L2-normalised class embeddings, the
                  background class last), ry0 [H/32,H/4], rx0 [W/32,W/4], ry1, rx1, ry2, rx2
                  (the attention-mask resize: bicubic, antialias, align_corners False, as
                  row-resampling matrices; M_l = ry_l @ M @ rx_l^T)
                  -> pred_logits [Q,K] (logit_scale.exp() * cosine), pred_masks [Q,H/4,W/4],
                     class_emb [Q,P]
  grounding.onnx  the same inputs without text_emb, plus grounding_tokens [G,P] (the projected,
                  un-normalised token embeddings of every sentence's real tokens, sentences
                  concatenated) -> grounding_masks [Q-1,H/4,W/4], grounding_emb [Q-1,P] (the
                  decoder's copies of the object queries, which the official grounding evaluation
                  matches against each sentence's class embedding)
  text.onnx       input_ids [N,L] int64 -> token_emb [N,L,P], class_emb [N,P] (projected, not
                  normalised; class_emb at argmax(input_ids), CLIP's end token)
  *.fp16.onnx     backbone and text only: same interfaces (float32/int64 in and out), fp16 weights
                  and compute. The decoder and grounding graphs stay fp32: their masked attention
                  blocks where sigmoid(mask) < 0.5, and fp16 rounding flips 0.03-0.25% of those
                  decisions in 5 of 9 layers at Focal-T size (mask logits off by 0.51 of 14.1 with
                  random weights; replaying the fp32 block masks brings fp16 inside the bound), the
                  same reason ODISE's mask generator has no fp16 variant.

Self-check: every graph in ONNX Runtime against the torch modules at two image sizes (fp32: max
abs error <= 1e-4 x max(1, |ref|max); fp16: <= 2e-2 relative to |ref|max), and the matrix resize
against F.interpolate(bicubic, antialias=True) (<= 1e-5).
"""
import argparse
import copy
import hashlib
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

FP32_TOL = 1e-4
FP16_REL_TOL = 2e-2
# Graphs with an fp16 variant (see the module docstring for why the decoders have none).
FP16_KINDS = ("backbone", "text")


def log(msg):
    print(msg, flush=True)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def aa_bicubic_matrix(torch, n_in, n_out):
    """[n_out, n_in] matrix R with R @ v == F.interpolate(v, n_out, bicubic, antialias=True,
    align_corners=False) along one axis (the filter is separable; the other axis is kept at its
    size, where the antialiased filter is the identity)."""
    eye = torch.eye(n_in, dtype=torch.float64)[None, None]  # rows index the input sample
    r = torch.nn.functional.interpolate(eye, size=(n_out, n_in), mode="bicubic", align_corners=False,
                                        antialias=True)
    return r[0, 0].float()


def resample_mats(torch, H4, W4, sizes):
    return [(aa_bicubic_matrix(torch, H4, h), aa_bicubic_matrix(torch, W4, w)) for h, w in sizes]


def imagenet80():
    path = os.path.join(HERE, "..", "..", "java", "src", "main", "resources", "org", "ovseg", "text", "templates-imagenet80.txt")
    with open(path, encoding="utf-8") as f:
        return [t.strip() for t in f if t.strip() and not t.startswith("#")]


def load_model(torch, xm, args):
    cfg = xm.CONFIGS[args.config]
    model = xm.XDecoder(cfg).eval()
    if args.checkpoint:
        sd = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        if isinstance(sd, dict) and "model" in sd and isinstance(sd["model"], dict):
            sd = sd["model"]
        sd = {(k[6:] if k.startswith("model.") else k): v for k, v in sd.items()}
        model.load_state_dict(sd, strict=True)
        source = os.path.basename(args.checkpoint)
    else:
        xm.randomize(model, args.random)
        source = f"random seed {args.random}"
    if args.save_checkpoint:
        torch.save(model.state_dict(), args.save_checkpoint)
    return cfg, model, source


def build_wrappers(torch, model):
    nn = torch.nn
    pred = model.predictor

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, pixel_values):
            mf, lv = self.m.features(pixel_values)
            return mf, lv[0], lv[1], lv[2]

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = pred

        def forward(self, level0, level1, level2, mask_features, text_emb, ry0, rx0, ry1, rx1, ry2, rx2):
            emb, logits, masks = self.p([level0, level1, level2], mask_features,
                                        ((ry0, rx0), (ry1, rx1), (ry2, rx2)), text_emb=text_emb)
            return logits, masks, emb

    class Grounding(nn.Module):
        def __init__(self):
            super().__init__()
            self.p = pred

        def forward(self, level0, level1, level2, mask_features, grounding_tokens, ry0, rx0, ry1, rx1, ry2, rx2):
            emb, _, masks = self.p([level0, level1, level2], mask_features,
                                   ((ry0, rx0), (ry1, rx1), (ry2, rx2)), grounding_tokens=grounding_tokens)
            q = self.p.num_queries
            return masks[q:2 * q - 1], emb[q:2 * q - 1]

    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.le = pred.lang_encoder

        def forward(self, input_ids):
            return self.le(input_ids)

    return Backbone(), Decoder(), Grounding(), Text()


def example_inputs(torch, model, cfg, H, W, K=5, G=7, seed=1):
    g = torch.Generator().manual_seed(seed)
    pix = torch.randn(1, 3, H, W, generator=g)
    with torch.no_grad():
        mf, lv = model.features(pix)
    sizes = [tuple(x.shape[-2:]) for x in lv]
    mats = resample_mats(torch, mf.shape[-2], mf.shape[-1], sizes)
    flat = [m for pair in mats for m in pair]
    text = torch.randn(K, cfg.dim_proj, generator=g)
    text = text / text.norm(dim=-1, keepdim=True)
    gtok = torch.randn(G, cfg.dim_proj, generator=g) * 0.1
    ids = torch.randint(1, 49406, (3, 12), generator=g)
    ids[:, 0] = 49406
    ids[0, 5] = 49407
    ids[0, 6:] = 0
    ids[1, 11] = 49407
    ids[2, 8] = 49407
    ids[2, 9:] = 49407  # the official tokenizer pads with the end token
    return {"backbone": (pix,),
            "decoder": (lv[0], lv[1], lv[2], mf, text, *flat),
            "grounding": (lv[0], lv[1], lv[2], mf, gtok, *flat),
            "text": (ids,)}


NAMES = {
    "backbone": (["pixel_values"], ["mask_features", "level0", "level1", "level2"]),
    "decoder": (["level0", "level1", "level2", "mask_features", "text_emb", "ry0", "rx0", "ry1", "rx1", "ry2", "rx2"],
                ["pred_logits", "pred_masks", "class_emb"]),
    "grounding": (["level0", "level1", "level2", "mask_features", "grounding_tokens", "ry0", "rx0", "ry1", "rx1",
                   "ry2", "rx2"], ["grounding_masks", "grounding_emb"]),
    "text": (["input_ids"], ["token_emb", "class_emb"]),
}


def dynamic(torch, kind):
    D = torch.export.Dim
    h32, w32 = D("h32", min=1, max=128), D("w32", min=1, max=128)
    lv = [{2: h32, 3: w32}, {2: 2 * h32, 3: 2 * w32}, {2: 4 * h32, 3: 4 * w32}]
    mf = {2: 8 * h32, 3: 8 * w32}
    mats = [{0: h32, 1: 8 * h32}, {0: w32, 1: 8 * w32}, {0: 2 * h32, 1: 8 * h32}, {0: 2 * w32, 1: 8 * w32},
            {0: 4 * h32, 1: 8 * h32}, {0: 4 * w32, 1: 8 * w32}]
    if kind == "backbone":
        return ({2: 32 * h32, 3: 32 * w32},)
    if kind == "decoder":
        return (*lv, mf, {0: D("classes", min=2, max=4096)}, *mats)
    if kind == "grounding":
        return (*lv, mf, {0: D("tokens", min=1, max=1024)}, *mats)
    return ({0: D("batch", min=1, max=4096), 1: D("length", min=2, max=77)},)


def export_graph(torch, module, args_, path, kind):
    ins, outs = NAMES[kind]
    module.eval()
    with torch.no_grad():
        prog = torch.onnx.export(module, args_, None, dynamo=True, opset_version=18, input_names=ins,
                                 output_names=outs, verbose=False,
                                 dynamic_shapes=(dynamic(torch, kind),) if isinstance(module, _Cast) else dynamic(torch, kind))
    prog.save(path, external_data=False)
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    bad = [o for o in ops if o in ("Resize", "GridSample", "Upsample")]
    if bad:
        raise RuntimeError(f"{path}: unexpected ops {bad}")
    return ops


def ort_run(path, args_, names):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    return s.run(None, {n: a.numpy() for n, a in zip(names, args_)})


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, choices=["focalt", "focall", "tiny", "tiny-focal"])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint")
    src.add_argument("--random", type=int)
    ap.add_argument("--save-checkpoint")
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-fp16", action="store_true")
    ap.add_argument("--check-sizes", default="64x96,96x64", help="HxW image sizes for the self-check")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args(argv)
    import logging
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    import torch
    import xdecoder_modules as xm
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    os.makedirs(args.out, exist_ok=True)
    cfg, model, source = load_model(torch, xm, args)
    wrappers = dict(zip(("backbone", "decoder", "grounding", "text"), build_wrappers(torch, model)))
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.check_sizes.split(",")]
    for s in sizes:
        if s[0] % 32 or s[1] % 32:
            sys.exit(f"error: check size {s} is not a multiple of 32")
    # the matrix resize against torch's own antialiased bicubic
    g = torch.Generator().manual_seed(3)
    worst_resize = 0.0
    for (H4, W4, h, w) in ((16, 24, 2, 3), (24, 16, 6, 4), (200, 152, 25, 19)):
        m = torch.randn(5, H4, W4, generator=g) * 4
        ry, rx = aa_bicubic_matrix(torch, H4, h), aa_bicubic_matrix(torch, W4, w)
        ref = torch.nn.functional.interpolate(m[None], size=(h, w), mode="bicubic", align_corners=False,
                                              antialias=True)[0]
        worst_resize = max(worst_resize, float((ry @ m @ rx.t() - ref).abs().max()))
    failures = []
    if worst_resize > 1e-5:
        failures.append(f"matrix resize off by {worst_resize:.2e}")
    log(f"attention-mask resize as matrices vs F.interpolate(antialias): max abs err {worst_resize:.2e}")
    files, check = {}, {"resize_max_abs_err": worst_resize}
    precisions = ["fp32"] + ([] if args.no_fp16 else ["fp16"])
    ex0 = example_inputs(torch, model, cfg, *sizes[0])
    for prec in precisions:
        m = model if prec == "fp32" else copy.deepcopy(model).half()
        ws = dict(zip(("backbone", "decoder", "grounding", "text"), build_wrappers(torch, m)))
        for kind, mod in ws.items():
            if prec == "fp16":
                if kind not in FP16_KINDS:
                    continue
                mod = CastWrapper(torch, mod, kind)
            name = kind + ("" if prec == "fp32" else ".fp16") + ".onnx"
            path = os.path.join(args.out, name)
            t = time.time()
            export_graph(torch, mod, ex0[kind], path, kind)
            files[kind + ("" if prec == "fp32" else "_fp16")] = name
            log(f"exported {name} ({os.path.getsize(path) / 1e6:.1f} MB) in {time.time() - t:.1f}s")
    # self-check at every size: torch fp32 modules vs each graph
    for H, W in sizes:
        ex = example_inputs(torch, model, cfg, H, W)
        for kind, mod in wrappers.items():
            with torch.no_grad():
                ref = mod(*ex[kind])
            ref = [r.numpy() for r in ref]
            for prec in precisions:
                if prec == "fp16" and kind not in FP16_KINDS:
                    continue
                name = files[kind + ("" if prec == "fp32" else "_fp16")]
                got = ort_run(os.path.join(args.out, name), ex[kind], NAMES[kind][0])
                for oname, r, o in zip(NAMES[kind][1], ref, got):
                    err = float(np.abs(r.astype(np.float64) - o).max())
                    scale = float(np.abs(r).max())
                    ok = err <= FP32_TOL * max(1.0, scale) if prec == "fp32" else err <= FP16_REL_TOL * max(scale, 1e-6)
                    check[f"{kind}.{oname}.{prec}.{H}x{W}"] = {"max_abs_err": err, "ref_max": scale}
                    log(f"  {prec} {kind}.{oname} {H}x{W}: max abs err {err:.2e} (|ref| max {scale:.3g})"
                        + ("" if ok else "  FAIL"))
                    if not ok:
                        failures.append(f"{prec} {kind}.{oname} {H}x{W}")
    if failures:
        log("error: self-check failed: " + ", ".join(failures))
        return 1

    def net(kind, inputs, outputs):
        e = {"file": files[kind], "sha256": sha256(os.path.join(args.out, files[kind])), "precision": "fp32",
             "inputs": inputs, "outputs": outputs}
        if kind + "_fp16" in files:
            f16 = files[kind + "_fp16"]
            e["variants"] = {"fp16": {"file": f16, "sha256": sha256(os.path.join(args.out, f16))}}
        return e

    def spec(name, dtype, shape):
        return {"name": name, "dtype": dtype, "shape": shape}

    D, M, P, Q = cfg.hidden_dim, cfg.mask_dim, cfg.dim_proj, cfg.num_queries
    lv_specs = [spec("level0", "float32", [1, D, "h32", "w32"]), spec("level1", "float32", [1, D, "h16", "w16"]),
                spec("level2", "float32", [1, D, "h8", "w8"]), spec("mask_features", "float32", [1, M, "h4", "w4"])]
    mats = [spec(n, "float32", s) for n, s in (("ry0", ["h32", "h4"]), ("rx0", ["w32", "w4"]), ("ry1", ["h16", "h4"]),
                                               ("rx1", ["w16", "w4"]), ("ry2", ["h8", "h4"]), ("rx2", ["w8", "w4"]))]
    manifest = {
        "format_version": 1,
        "pipeline": "xdecoder",
        "family": f"xdecoder-{args.config}",
        "networks": {
            "backbone": net("backbone", [spec("pixel_values", "float32", [1, 3, "height", "width"])],
                            [lv_specs[3], *lv_specs[:3]]),
            "decoder": net("decoder", [*lv_specs, spec("text_emb", "float32", ["classes", P]), *mats],
                           [spec("pred_logits", "float32", [Q, "classes"]),
                            spec("pred_masks", "float32", [Q, "h4", "w4"]), spec("class_emb", "float32", [Q, P])]),
            "grounding": net("grounding", [*lv_specs, spec("grounding_tokens", "float32", ["tokens", P]), *mats],
                             [spec("grounding_masks", "float32", [Q - 1, "h4", "w4"]),
                              spec("grounding_emb", "float32", [Q - 1, P])]),
            "text": net("text", [spec("input_ids", "int64", ["batch", "length"])],
                        [spec("token_emb", "float32", ["batch", "length", P]), spec("class_emb", "float32", ["batch", P])]),
        },
        "preprocessing": {
            "size_policy": "short-side", "size": 512, "max_long_side": 2048,
            "mean": [v / 255 for v in xm.PIXEL_MEAN], "std": [v / 255 for v in xm.PIXEL_STD],
            "patch_size": 32, "position_grid": 0, "width": D,
            "interpolation": "bilinear, align_corners=false",
            "pos_embed_interpolation": "none",
            "padding": "zero, bottom-right, to a multiple of 32",
        },
        # The official evaluation's 81 templates: "{}." then CLIP's 80 ImageNet templates.
        "text": {"tokenizer": "clip-bpe", "context_length": cfg.context_length,
                 "templates": ["{}."] + imagenet80()},
        "embed_dim": P,
        "logit_scale": float(model.predictor.lang_encoder.logit_scale.detach().exp()),
        "defaults": {"background_text": "A background in coco.", "num_queries": Q, "object_mask_threshold": 0.8, "overlap_threshold": 0.8,
                     "detections_per_image": 100},
        "source": {"checkpoint": source, "config": args.config, "exporter": "tools/export/export_xdecoder.py",
                   "torch": torch.__version__, "opset": 18, "self_check": check},
    }
    path = os.path.join(args.out, "bundle.json")
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)
    log(f"wrote bundle {args.out} ({args.config}, {source}) in {time.time() - t0:.1f}s")
    return 0


import torch.nn as _nn  # noqa: E402


class _Cast(_nn.Module):
    """fp16 graph with the fp32 interface: float inputs cast to half, outputs back to float."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, *xs):
        xs = [x.half() if x.is_floating_point() else x for x in xs]
        return tuple(o.float() for o in self.inner(*xs))


def CastWrapper(torch, inner, kind):  # noqa: N802
    return _Cast(inner)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Export the CaR / CLIP-ES Grad-CAM proposal network of a CLIP ViT checkpoint to ONNX (cam.onnx).

Adds a `car_cam` network to an ovseg bundle written by export_clip.py (the bundle is created first
with export_clip.py when --out holds no bundle.json). "pipeline" stays "maskclip"; only the network
entry is added. See tools/export/README-car.md for the graph's interface.

cam.onnx (opset 18, fp32, single file):
  inputs  pixel_values [1,3,height,width] f32 (normalised; height, width multiples of the patch size)
          pos_embed    [1,tokens,D] f32 (class row + patch rows resized BILINEARLY by the caller)
          fg_embeds    [fg,E] f32  L2-normalised foreground text embeddings (fg >= 1)
          bg_embeds    [bg,E] f32  L2-normalised background text embeddings (bg >= 0)
  outputs activations [1,patches,D]      last block's layer_norm1 output, class token dropped
          gradients   [fg,1,patches,D]   d p_f / d activations, p = softmax over [fg; bg] of
                                         logit_scale * cos(proj(mean_patches(ln_post(block_out))), text)
          attention   [n_attn,patches,patches]  head-averaged softmax(QK^T/sqrt(d)) of the last
                                         min(8, layers) blocks, class row/column dropped (not renormalised)

Foreground and background are separate inputs so that the number of gradients (fg) is a plain
tensor dimension: no data-dependent shapes. All fg gradients come from ONE backward pass: the last
block is run on fg copies of its input (batch = fg), copy f scores p_f, and the gradient of
sum_f p_f(copy f) w.r.t. the copies is, row by row, d p_f / d activations.

Trace route (the one that exported, see /work/shared/BUILD-FACTS.md): torch.fx make_fx (symbolic
shapes) with the core ATen decompositions, attention written out as plain math, then
torch.onnx.export(dynamo=True) of the traced GraphModule.

  python tools/export/export_car.py --checkpoint DIR --out BUNDLE [--no-check] [--attn-blocks 8]
      [--classifier-checkpoint DIR_OR_PT [--no-as-car-bundle]] [--no-fp16]

fp16 variants (default; --no-fp16 skips them): cam.fp16.onnx, classifier_image.fp16.onnx,
classifier_text.fp16.onnx, the fp32 graphs converted with onnxruntime.transformers.float16
(weights and compute in fp16, float32 inputs and outputs through Cast nodes; LayerNormalization
kept in fp32, whose statistics outputs ONNX allows in float/bfloat16 only), listed in bundle.json as
each network's "fp16" variant; the bundle's image/text networks get theirs from export_clip.py
(run without --no-fp16). Why: the official CaR runs CLIP in fp16 on CUDA (clip.load on a CUDA
device keeps the fp16 weights), Grad-CAM backward included; ovseg's TensorRT path takes the fp16
variants by default, the CPU (ONNX Runtime) the fp32 ones. Self-check: ONNX Runtime fp16 against
ONNX Runtime fp32 on the same random inputs, every output within FP16_REL_TOL * max|fp32|.

With --classifier-checkpoint (a second CLIP ViT: ViT-L/14 officially; any transformers CLIP directory or
OpenAI ViT .pt) the CaR classifier is exported into the same bundle as two more networks:
  car_classifier_image (classifier_image.onnx): pixel_values [batch,3,S,S] f32 (S = the checkpoint's image
          size, 224; CLIP preprocessing) -> image_embeds [batch,E'] = visual_projection(post_layernorm(CLS
          token of the output of block L-1)); the QUIRK of CaR's CLIPWrapper: only layers-1 blocks run.
          Not normalised.
  car_classifier_text (classifier_text.onnx): input_ids [batch,length] int64 -> text_embeds [batch,E']
          (export_clip's text graph on the classifier: projected, pooled at argmax(ids), not normalised).
Preprocessing and the classifier's logit scale are recorded under source.car_classifier. With both car_cam
and the classifier in the bundle, "pipeline" becomes "car" (--as-car-bundle, the default with a classifier)
and the bundle's top-level "logit_scale" becomes the classifier's exp(logit_scale) (CLIPWrapper's
forward_last_layer multiplies the classifier's cosines by its own logit_scale.exp(): 100 for OpenAI
CLIP; ovseg's CaR classifier reads the top-level value). A maskclip bundle keeps 1.0 (raw cosines).
"""
import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_clip as ec  # noqa: E402  (reuse helpers: loading, sha256, dims, single-file, checks)

OPSET = ec.OPSET
ABS_TOL = 1e-4        # activations, attention: max abs error
GRAD_REL_TOL = 1e-4   # gradients: max abs error / max |gradient| (per image size)
# Finite-difference check of `gradients`: at each probed (patch, channel) coordinate, the graph's
# d p_f / d a against the float64 central difference (p_f(a + h e) - p_f(a - h e)) / 2h; fails when
# max |graph - fd| over the probes > FD_REL_TOL * max |gradient of query f| (whole map, from the graph).
# Expected: the graph's float32 error (~1e-6 relative); the float64 difference itself is good to
# ~1e-9 at this step (truncation ~h^2, rounding ~1e-16/h).
FD_REL_TOL = 1e-4
FD_STEP = 1e-5
# fp16 variants against the fp32 graphs (ONNX Runtime both): max |fp16 - fp32| <= FP16_REL_TOL *
# max |fp32| per output, export_clip.py's bound. Observed on the random small CLIP of the CI: 4e-4 to
# 1.4e-3 (the gradients, ~1e-4 in size, are the least precise).
FP16_REL_TOL = 2e-2
CAM_FILE = "cam.onnx"
log = ec.log


# ----------------------------------------------------------------------------- the computation
def attention_probs(torch, attn, h):
    """softmax(Q K^T * d^-0.5) per head: [B, heads, T, T] (explicit math, no SDPA)."""
    b, t, d = h.shape
    nh = attn.num_heads
    q = attn.q_proj(h).reshape(b, t, nh, d // nh).transpose(1, 2)
    k = attn.k_proj(h).reshape(b, t, nh, d // nh).transpose(1, 2)
    return torch.softmax(torch.matmul(q * attn.scale, k.transpose(-1, -2)), dim=-1)


def block(torch, layer, x, h=None):
    """One CLIP encoder layer, written out; h = layer_norm1(x) unless given. Returns (x, probs)."""
    attn = layer.self_attn
    if h is None:
        h = layer.layer_norm1(x)
    b, t, d = h.shape
    w = attention_probs(torch, attn, h)
    v = attn.v_proj(h).reshape(b, t, attn.num_heads, d // attn.num_heads).transpose(1, 2)
    o = torch.matmul(w, v).transpose(1, 2).reshape(b, t, d)
    x = x + attn.out_proj(o)
    x = x + layer.mlp(layer.layer_norm2(x))
    return x, w


def make_cam_fn(torch, model, n_attn):
    vm = ec.vision_tower(model)
    proj = model.visual_projection
    scale = float(model.logit_scale.detach().exp())
    layers = list(vm.encoder.layers)
    n_attn = min(n_attn, len(layers))
    first = len(layers) - n_attn

    def cam(pixel_values, pos_embed, fg_embeds, bg_embeds):
        with torch.no_grad():
            x = vm.embeddings.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
            cls = vm.embeddings.class_embedding.reshape(1, 1, -1)
            x = torch.cat([cls, x], dim=1) + pos_embed
            x = vm.pre_layrnorm(x)
            attns = []
            for i, layer in enumerate(layers[:-1]):
                x, w = block(torch, layer, x)
                if i >= first:
                    attns.append(w.mean(dim=1)[:, 1:, 1:])
            last = layers[-1]
            act = last.layer_norm1(x)  # [1, T, D]
            n_fg = fg_embeds.shape[0]
            texts = torch.cat([fg_embeds, bg_embeds], dim=0)  # [Q, E]
        with torch.enable_grad():
            a = act.detach().expand(n_fg, -1, -1).contiguous().requires_grad_(True)  # [F, T, D]
            y, w = block(torch, last, x.expand(n_fg, -1, -1), h=a)
            # mean over the patch tokens as a matmul with [0, 1/P, ..., 1/P]: the backward of a
            # [:, 1:] slice would be a ScatterND
            t = y.shape[1]
            wts = (torch.arange(t, device=y.device) > 0).to(y.dtype) / (t - 1)
            y = torch.matmul(wts, vm.post_layernorm(y))  # [F, D]
            z = proj(y)
            z = z / z.norm(dim=-1, keepdim=True)
            p = torch.softmax(scale * torch.matmul(z, texts.transpose(0, 1)), dim=-1)  # [F, Q]
            # sum_f p[f, f] as a masked sum (its backward is a Mul; gather's is a ScatterElements)
            rows = torch.arange(n_fg, device=p.device).unsqueeze(1)
            cols = torch.arange(p.shape[1], device=p.device).unsqueeze(0)
            s = (p * (rows == cols).to(p.dtype)).sum()
            (g,) = torch.autograd.grad(s, a)
        attns.append(w[:1].detach().mean(dim=1)[:, 1:, 1:])
        return act[:, 1:], g[:, 1:].unsqueeze(1), torch.cat(attns, dim=0)

    return cam, scale, n_attn


def trace_and_export(torch, model, n_attn, path, example):
    from torch._decomp import core_aten_decompositions
    from torch.export import Dim
    from torch.fx.experimental.proxy_tensor import make_fx

    cam, scale, n_attn = make_cam_fn(torch, model, n_attn)
    for p in model.parameters():
        p.requires_grad_(False)
    try:  # no duck sizing: equal example sizes must not share a symbol (fg == 3 channels would specialise)
        import torch.fx.experimental._config as fx_config
        fx_config.use_duck_shape = False
    except (ImportError, AttributeError):
        pass
    t0 = time.time()
    gm = make_fx(cam, decomposition_table=core_aten_decompositions(), tracing_mode="symbolic",
                 _allow_non_fake_inputs=True)(*example)
    log(f"  make_fx (symbolic, core ATen decompositions): {len(gm.graph.nodes)} nodes, {time.time() - t0:.1f}s")

    class Wrap(torch.nn.Module):
        def __init__(self, g):
            super().__init__()
            self.g = g

        def forward(self, pixel_values, pos_embed, fg_embeds, bg_embeds):
            return tuple(self.g(pixel_values, pos_embed, fg_embeds, bg_embeds))

    dyn = {"pixel_values": {2: Dim.DYNAMIC, 3: Dim.DYNAMIC}, "pos_embed": {1: Dim.DYNAMIC},
           "fg_embeds": {0: Dim.DYNAMIC}, "bg_embeds": {0: Dim.DYNAMIC}}
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(Wrap(gm).eval(), tuple(example), None, dynamo=True, opset_version=OPSET,
                                 input_names=["pixel_values", "pos_embed", "fg_embeds", "bg_embeds"],
                                 output_names=["activations", "gradients", "attention"],
                                 dynamic_shapes=dyn, verbose=False)
    prog.save(path, external_data=False)
    ec._single_file(path)
    D = example[1].shape[-1]
    E = example[2].shape[-1]
    ec._rename_dims(path, {"pixel_values": [1, 3, "height", "width"], "pos_embed": [1, "tokens", D],
                           "fg_embeds": ["fg", E], "bg_embeds": ["bg", E],
                           "activations": [1, "patches", D], "gradients": ["fg", 1, "patches", D],
                           "attention": [n_attn, "patches", "patches"]})
    opset, ops = ec.check_graph(path)
    log(f"  torch.onnx.export(dynamo) of the traced graph: {time.time() - t0:.1f}s, opset {opset}, "
        f"{os.path.getsize(path) / 1e6:.1f} MB, ops: {' '.join(ops)}")
    return scale, n_attn, opset, ops


# ----------------------------------------------------------------------------- reference + check
def resize_pos_bilinear(torch, table, gh, gw):
    """CaR's positional-embedding resize: class row kept, patch rows bilinear, align_corners=False."""
    return ec.resize_pos_embed(torch, table, gh, gw, mode="bilinear")


def reference(torch, model, px, pos, fg, bg, n_attn):
    """HF transformers modules (eager attention), a hook on the last layer_norm1, one
    torch.autograd.grad per foreground query; attention weights from HF's CLIPAttention."""
    vm = ec.vision_tower(model)
    layers = vm.encoder.layers
    first = len(layers) - n_attn
    attns = []
    with torch.no_grad():
        x = vm.embeddings.patch_embedding(px).flatten(2).transpose(1, 2)
        x = torch.cat([vm.embeddings.class_embedding.reshape(1, 1, -1), x], 1) + pos
        x = vm.pre_layrnorm(x)
        for i, layer in enumerate(layers):
            if i >= first:
                _, w = layer.self_attn(layer.layer_norm1(x))
                attns.append(w.mean(1)[0, 1:, 1:])
            if i < len(layers) - 1:
                x = layer(x, None)
    store = {}

    def hook(_m, _i, out):
        a = out.detach().requires_grad_(True)
        store["a"] = a
        return a

    h = layers[-1].layer_norm1.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            y = layers[-1](x, None)
            y = vm.post_layernorm(y)[:, 1:].mean(1)
            z = model.visual_projection(y)
            z = z / z.norm(dim=-1, keepdim=True)
            texts = torch.cat([fg, bg], 0)
            p = torch.softmax(model.logit_scale.exp() * z @ texts.t(), dim=-1)[0]
            grads = [torch.autograd.grad(p[f], store["a"], retain_graph=True)[0][:, 1:] for f in range(fg.shape[0])]
    finally:
        h.remove()
    return (store["a"].detach()[:, 1:].numpy(), torch.stack(grads).numpy(), torch.stack(attns).numpy(),
            p.detach().numpy())


def self_check(torch, model, path, pos_table, patch, n_attn, E):
    rng = np.random.default_rng(4321)
    sess = ec.ort_session(path)
    results, failures = {}, []

    def unit(n):
        v = rng.standard_normal((n, E)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    # the required cases (two sizes, 3 fg + 2 bg), then an empty background, a single foreground, more queries
    cases = [((224, 224), 3, 2), ((320, 464), 3, 2), ((224, 224), 2, 0), ((320, 464), 1, 3), ((256, 192), 4, 5)]
    for (hh, ww), nf, nb in cases:
        px = rng.standard_normal((1, 3, hh, ww)).astype(np.float32)
        pos = resize_pos_bilinear(torch, pos_table, hh // patch, ww // patch).numpy()
        fg, bg = unit(nf), unit(nb)
        ra, rg, rw, rp = reference(torch, model, *(torch.from_numpy(v) for v in (px, pos, fg, bg)), n_attn)
        t0 = time.time()
        oa, og, ow = sess.run(["activations", "gradients", "attention"],
                              {"pixel_values": px, "pos_embed": pos, "fg_embeds": fg, "bg_embeds": bg})
        dt = time.time() - t0
        name = f"{hh}x{ww} fg={nf} bg={nb}"
        assert oa.shape == ra.shape and og.shape == rg.shape and ow.shape == rw.shape, \
            (name, oa.shape, ra.shape, og.shape, rg.shape, ow.shape, rw.shape)
        ea, ew = float(np.abs(oa - ra).max()), float(np.abs(ow - rw).max())
        eg, sg = float(np.abs(og - rg).max()), float(np.abs(rg).max())
        rel = eg / max(sg, 1e-30)
        ok = ea <= ABS_TOL and ew <= ABS_TOL and rel <= GRAD_REL_TOL
        results[name] = {"activations_max_abs_err": ea, "attention_max_abs_err": ew,
                         "gradients_max_abs_err": eg, "gradients_max_abs": sg, "gradients_rel_err": rel,
                         "ort_seconds": round(dt, 3), "ok": ok}
        log(f"  {name:24s} ort {dt:.2f}s | activations {ea:.2e} | attention {ew:.2e} | gradients {eg:.2e} "
            f"(max|grad| {sg:.3g}, rel {rel:.2e}) | p_fg [{' '.join(f'{v:.3f}' for v in rp[:nf])}] "
            f"{'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)
    return results, failures


def fd_check(torch, model, path, pos_table, patch, E):
    """Central finite differences in float64 PyTorch against the graph's `gradients` output.

    The perturbed quantity is the hooked activation itself, a = layer_norm1(x) of the last block
    (float64 copies of the HF modules): a + h*e_(patch, channel) with the block's residual input x
    fixed, exactly the dependence the Grad-CAM gradient describes. From there the last block is
    written out here in float64 (HF's eager attention computes its softmax in float32, whose
    rounding, ~1e-7 of p, divided by 2h would swamp the difference), then
    p = softmax(logit_scale * cos(visual_projection(mean over patch tokens of
    post_layernorm(block output))), [fg; bg])). All probes of a case run as one batch (2 rows per
    probe). x itself comes from the HF layers (its float32 softmax only moves the base point)."""
    import copy
    vm = copy.deepcopy(ec.vision_tower(model)).double().eval()
    proj = copy.deepcopy(model.visual_projection).double().eval()
    scale = float(model.logit_scale.detach().exp())  # the value baked into the graph
    layers = vm.encoder.layers
    last = layers[-1]
    rng = np.random.default_rng(97531)
    sess = ec.ort_session(path)
    results, failures = {}, []

    def unit(n):
        v = rng.standard_normal((n, E)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    for (hh, ww), nf, nb, n_random in [((224, 288), 3, 2, 6), ((160, 192), 2, 0, 6)]:
        t0 = time.time()
        px = rng.standard_normal((1, 3, hh, ww)).astype(np.float32)
        pos = resize_pos_bilinear(torch, pos_table, hh // patch, ww // patch).numpy()
        fg, bg = unit(nf), unit(nb)
        (og,) = sess.run(["gradients"], {"pixel_values": px, "pos_embed": pos, "fg_embeds": fg, "bg_embeds": bg})
        og = og[:, 0].astype(np.float64)  # [F, P, D]
        P, D = og.shape[1], og.shape[2]
        texts = torch.from_numpy(np.concatenate([fg, bg], 0)).double()
        with torch.no_grad():
            x = vm.embeddings.patch_embedding(torch.from_numpy(px).double()).flatten(2).transpose(1, 2)
            x = torch.cat([vm.embeddings.class_embedding.reshape(1, 1, -1), x], 1) + torch.from_numpy(pos).double()
            x = vm.pre_layrnorm(x)
            for layer in layers[:-1]:
                x = layer(x, None)
                x = x[0] if isinstance(x, tuple) else x
            a0 = last.layer_norm1(x)  # [1, T, D], T = 1 + P
        # probes: each query's largest |gradient|, then random coordinates (patch index p, channel c)
        probes = [tuple(int(v) for v in np.unravel_index(np.abs(og[f]).argmax(), og[f].shape)) for f in range(nf)]
        probes += [(int(rng.integers(P)), int(rng.integers(D))) for _ in range(n_random)]
        a = a0.expand(2 * len(probes), -1, -1).clone()
        for k, (p_, c_) in enumerate(probes):
            a[2 * k, 1 + p_, c_] += FD_STEP
            a[2 * k + 1, 1 + p_, c_] -= FD_STEP
        with torch.no_grad():
            at = last.self_attn
            B, T, _ = a.shape
            nh = at.num_heads
            dh = D // nh

            def heads(t):
                return t.reshape(B, T, nh, dh).transpose(1, 2)

            q, k, v = heads(at.q_proj(a)) * dh ** -0.5, heads(at.k_proj(a)), heads(at.v_proj(a))
            o = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
            y = x + at.out_proj(o.transpose(1, 2).reshape(B, T, D))
            y = y + last.mlp.fc2(last.mlp.activation_fn(last.mlp.fc1(last.layer_norm2(y))))
            z = proj(vm.post_layernorm(y)[:, 1:].mean(1))
            z = z / z.norm(dim=-1, keepdim=True)
            prob = torch.softmax(scale * z @ texts.t(), dim=-1).numpy()  # [2 * probes, Q]
        fd = (prob[0::2, :nf] - prob[1::2, :nf]) / (2 * FD_STEP)  # [probes, F]
        graph = np.array([[og[f, p_, c_] for f in range(nf)] for p_, c_ in probes])
        err = np.abs(graph - fd).max(0)  # per query
        mag = np.abs(og).reshape(nf, -1).max(1)
        rel = err / np.maximum(mag, 1e-30)
        ok = bool((rel <= FD_REL_TOL).all())
        name = f"{hh}x{ww} fg={nf} bg={nb}"
        results[name] = {"probes": len(probes), "step": FD_STEP, "max_abs_err": float(err.max()),
                         "max_abs_gradient": [float(v) for v in mag], "rel_err": [float(v) for v in rel],
                         "seconds": round(time.time() - t0, 2), "ok": ok}
        log(f"  fd {name:22s} {len(probes)} probes x {nf} queries, h {FD_STEP:g} | max|graph - fd| "
            f"{err.max():.2e} | rel (per query) [{' '.join(f'{v:.1e}' for v in rel)}] "
            f"(tol {FD_REL_TOL:g}) {time.time() - t0:.2f}s {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append("fd " + name)
    return results, failures


# ----------------------------------------------------------------------------- CaR classifier
CLS_IMAGE_FILE = "classifier_image.onnx"
CLS_TEXT_FILE = "classifier_text.onnx"
CLS_REL_TOL = 1e-4    # image embeds: max abs error / max |embed|
CLS_TEXT_TOL = 1e-4   # text embeds: max abs error (as export_clip.py)


def classifier_image_module(torch, model):
    """CaR CLIPWrapper image path: blocks 1..L-1 only, CLS token -> ln_post -> proj (not normalised)."""
    vm = ec.vision_tower(model)

    class ClassifierImage(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vm, self.proj = vm, model.visual_projection

        def forward(self, pixel_values):
            v = self.vm
            x = v.embeddings.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
            cls = v.embeddings.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], dim=1) + v.embeddings.position_embedding.weight.unsqueeze(0)
            x = v.pre_layrnorm(x)
            for layer in v.encoder.layers[:-1]:  # QUIRK: layers - 1 blocks
                x = layer(x, None)
            return self.proj(v.post_layernorm(x[:, 0]))

    return ClassifierImage().eval()


def export_classifier(torch, model, out):
    from torch.export import Dim
    _, TextEmbeds = ec.build_modules(torch)
    vcfg = model.config.vision_config
    S, E = vcfg.image_size, model.config.projection_dim
    info = {}
    t0 = time.time()
    p = os.path.join(out, CLS_IMAGE_FILE)
    info["image_route"] = ec.export_onnx(
        torch, classifier_image_module(torch, model), (torch.randn(2, 3, S, S),), p, ["pixel_values"],
        ["image_embeds"], {"pixel_values": {0: Dim.DYNAMIC}}, {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}},
        {"pixel_values": ["batch", 3, S, S], "image_embeds": ["batch", E]}, "auto")
    opset, ops = ec.check_graph(p)
    log(f"exported {CLS_IMAGE_FILE} ({info['image_route']}, {time.time() - t0:.1f}s, "
        f"{os.path.getsize(p) / 1e6:.1f} MB, opset {opset})")
    t0 = time.time()
    p = os.path.join(out, CLS_TEXT_FILE)
    ex_ids = torch.from_numpy(ec.random_ids(np.random.default_rng(0), 2, 16))
    info["text_route"] = ec.export_onnx(
        torch, TextEmbeds(ec.text_tower(model), model.text_projection, torch.float32), (ex_ids,), p,
        ["input_ids"], ["text_embeds"], {"input_ids": {0: Dim.DYNAMIC, 1: Dim.DYNAMIC}},
        {"input_ids": {0: "batch", 1: "length"}, "text_embeds": {0: "batch"}},
        {"input_ids": ["batch", "length"], "text_embeds": ["batch", E]}, "auto")
    ec.check_graph(p)
    log(f"exported {CLS_TEXT_FILE} ({info['text_route']}, {time.time() - t0:.1f}s, "
        f"{os.path.getsize(p) / 1e6:.1f} MB)")
    return info


def classifier_check(torch, model, out):
    """ORT vs torch, batch 3: image reference from HF's own vision forward (hidden_states[-2] = output
    of block L-1), text reference from CLIPModel.get_text_features."""
    rng = np.random.default_rng(2468)
    S = model.config.vision_config.image_size
    results, failures = {}, []
    px = rng.standard_normal((3, 3, S, S)).astype(np.float32)
    with torch.no_grad():
        hs = ec.vision_tower(model)(pixel_values=torch.from_numpy(px), output_hidden_states=True).hidden_states
        ref = model.visual_projection(ec.vision_tower(model).post_layernorm(hs[-2][:, 0])).numpy()
    (o,) = ec.ort_session(os.path.join(out, CLS_IMAGE_FILE)).run(["image_embeds"], {"pixel_values": px})
    assert o.shape == ref.shape, (o.shape, ref.shape)
    err, mag = float(np.abs(o - ref).max()), float(np.abs(ref).max())
    ok = err <= CLS_REL_TOL * max(mag, 1e-30)
    results[f"image batch 3 {S}x{S}"] = {"max_abs_err": err, "max_abs_ref": mag, "rel_err": err / max(mag, 1e-30), "ok": ok}
    log(f"  classifier image batch 3 {S}x{S}: max|ort-torch| {err:.3e} (max|torch| {mag:.3g}, rel "
        f"{err / max(mag, 1e-30):.2e}) {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append("classifier image")
    sess = ec.ort_session(os.path.join(out, CLS_TEXT_FILE))
    for length in (77, 9):
        ids = ec.random_ids(rng, 3, length)
        with torch.no_grad():
            r = model.get_text_features(input_ids=torch.from_numpy(ids))
            r = getattr(r, "pooler_output", r).numpy()
        (o,) = sess.run(["text_embeds"], {"input_ids": ids})
        assert o.shape == r.shape, (o.shape, r.shape)
        err, mag = float(np.abs(o - r).max()), float(np.abs(r).max())
        ok = err <= CLS_TEXT_TOL
        results[f"text batch 3 length {length}"] = {"max_abs_err": err, "max_abs_ref": mag, "ok": ok}
        log(f"  classifier text batch 3 length {length}: max|ort-torch| {err:.3e} (max|torch| {mag:.3g}) "
            f"{'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"classifier text length {length}")
    return results, failures


# ----------------------------------------------------------------------------- fp16 variants
def fp16_file(name):
    return name[:-len(".onnx")] + ".fp16.onnx"


def write_fp16(out, name):
    """Converts out/name (fp32) to out/<stem>.fp16.onnx (with <stem>.fp16.onnx.data past 2 GiB); returns the new
    file's name."""
    ec.write_fp16(os.path.join(out, name), os.path.join(out, fp16_file(name)))
    return fp16_file(name)


def fp16_check(out, name, feeds):
    """ORT fp16 variant against ORT fp32 on feeds: (results, failures)."""
    s32, s16 = ec.ort_session(os.path.join(out, name)), ec.ort_session(os.path.join(out, fp16_file(name)))
    names = [o.name for o in s32.get_outputs()]
    results, failures = {}, []
    for n, a, b in zip(names, s32.run(names, feeds), s16.run(names, feeds)):
        err, mag = float(np.abs(a - b).max()), float(np.abs(a).max())
        ok = bool(np.isfinite(b).all()) and err <= FP16_REL_TOL * max(mag, 1e-30)
        results[f"{name} {n}"] = {"max_abs_err": err, "max_abs_fp32": mag, "rel_err": err / max(mag, 1e-30), "ok": ok}
        log(f"  fp16 {name} {n} {tuple(a.shape)}: max|fp16-fp32| {err:.3e} (max|fp32| {mag:.3g}, rel "
            f"{err / max(mag, 1e-30):.2e}) {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"fp16 {name} {n}")
    return results, failures


def add_fp16_variants(out, manifest, feeds_by_role, check):
    """Writes the fp16 variant of each role's network, checks it (unless check is False), lists it."""
    nets = manifest["networks"]
    results, failures = {}, []
    for role, feeds in feeds_by_role.items():
        name = nets[role]["file"]
        t0 = time.time()
        f16 = write_fp16(out, name)
        log(f"wrote {f16} ({time.time() - t0:.1f}s, {os.path.getsize(os.path.join(out, f16)) / 1e6:.1f} MB)")
        if check:
            r, f = fp16_check(out, name, feeds)
            results.update(r)
            failures += f
        nets[role].setdefault("variants", {})["fp16"] = ec.file_entry(out, f16)
    return results, failures


def fp16_feeds(torch, manifest, pos_table, patch, grid):
    """Random inputs for the fp16 checks, shaped from the manifest (a non-square grid for cam)."""
    rng = np.random.default_rng(1357)
    nets, feeds = manifest["networks"], {}
    if "car_cam" in nets:
        E = nets["car_cam"]["inputs"][2]["shape"][1]
        gh, gw = grid + 1, grid + 2
        pos = resize_pos_bilinear(torch, pos_table, gh, gw).numpy()
        unit = lambda n: (lambda a: a / np.linalg.norm(a, axis=1, keepdims=True))(rng.standard_normal((n, E)).astype(np.float32))
        feeds["car_cam"] = {"pixel_values": rng.standard_normal((1, 3, gh * patch, gw * patch)).astype(np.float32),
                            "pos_embed": pos.astype(np.float32), "fg_embeds": unit(3), "bg_embeds": unit(5)}
    if "car_classifier_image" in nets:
        S = nets["car_classifier_image"]["inputs"][0]["shape"][2]
        feeds["car_classifier_image"] = {"pixel_values": rng.standard_normal((2, 3, S, S)).astype(np.float32)}
    if "car_classifier_text" in nets:
        feeds["car_classifier_text"] = {"input_ids": ec.random_ids(rng, 3, 77)}
    return feeds


# ----------------------------------------------------------------------------- main
def load_model(torch, ckpt):
    from transformers import CLIPModel
    if os.path.isfile(ckpt):
        return ec.load_openai_vit(torch, ckpt)
    return CLIPModel.from_pretrained(ckpt, attn_implementation="eager", dtype=torch.float32).eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True,
                    help="transformers CLIP directory (config.json + weights), or an OpenAI CLIP ViT .pt file")
    ap.add_argument("--out", required=True,
                    help="bundle directory; export_clip.py is run first when it holds no bundle.json")
    ap.add_argument("--attn-blocks", type=int, default=8, help="CLIP-ES attention: last N blocks (default 8)")
    ap.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime vs autograd self-check")
    ap.add_argument("--clip-args", default="",
                    help="extra arguments for export_clip.py when the bundle is created (--no-fp16 adds --no-fp16)")
    ap.add_argument("--fp16", action=argparse.BooleanOptionalAction, default=True,
                    help="write and check the fp16 variants of the CaR graphs (default on; the TensorRT path runs them)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    ap.add_argument("--classifier-checkpoint", metavar="DIR_OR_PT",
                    help="CaR classifier CLIP (ViT-L/14 officially): adds car_classifier_image/_text")
    ap.add_argument("--as-car-bundle", action=argparse.BooleanOptionalAction, default=None,
                    help='set "pipeline": "car" when car_cam and the classifier are both present '
                         "(default: on with --classifier-checkpoint)")
    args = ap.parse_args(argv)
    if args.as_car_bundle is None:
        args.as_car_bundle = args.classifier_checkpoint is not None

    torch = ec.import_torch_quietly(args.threads)

    t_start = time.time()
    ckpt = os.path.abspath(args.checkpoint)
    out = os.path.abspath(args.out)
    manifest_path = os.path.join(out, "bundle.json")
    if not os.path.exists(manifest_path):
        clip_args = args.clip_args.split() + ([] if args.fp16 or "--no-fp16" in args.clip_args.split() else ["--no-fp16"])
        log(f"no bundle at {out}: running export_clip.py {' '.join(clip_args)}")
        rc = ec.main(["--checkpoint", ckpt, "--out", out] + clip_args)
        if rc:
            return rc
    with open(manifest_path) as f:
        manifest = json.load(f)

    model = load_model(torch, ckpt)
    vcfg = model.config.vision_config
    vm = ec.vision_tower(model)
    D, E, P = vcfg.hidden_size, model.config.projection_dim, vcfg.patch_size
    pos_table = vm.embeddings.position_embedding.weight.detach().float().numpy().copy()
    grid = int(round((pos_table.shape[0] - 1) ** 0.5))
    if manifest.get("preprocessing", {}).get("width") not in (None, D):
        log(f"error: bundle width {manifest['preprocessing']['width']} != checkpoint width {D}")
        return 2

    # example: non-square grid, 5 foreground + 7 background queries (sizes unlike any other dim)
    ex_h, ex_w = P * (grid + 3), P * (grid + 7)
    g = torch.Generator().manual_seed(0)
    fg = torch.nn.functional.normalize(torch.randn(5, E, generator=g), dim=-1)
    bg = torch.nn.functional.normalize(torch.randn(7, E, generator=g), dim=-1)
    example = [torch.randn(1, 3, ex_h, ex_w, generator=g), resize_pos_bilinear(torch, pos_table, ex_h // P, ex_w // P),
               fg, bg]
    path = os.path.join(out, CAM_FILE)
    t0 = time.time()
    log(f"exporting {CAM_FILE}:")
    scale, n_attn, opset, ops = trace_and_export(torch, model, args.attn_blocks, path, example)
    t_export = time.time() - t0
    log(f"exported {CAM_FILE} in {t_export:.1f}s (logit_scale {scale:.4g}, attention blocks {n_attn})")

    check = None
    if not args.no_check:
        t0 = time.time()
        log("self-check (ONNX Runtime vs HF modules + per-query torch.autograd.grad):")
        results, failures = self_check(torch, model, path, pos_table, P, n_attn, E)
        check = {"abs_tolerance": ABS_TOL, "gradient_relative_tolerance": GRAD_REL_TOL, "results": results}
        log(f"self-check took {time.time() - t0:.1f}s")
        t0 = time.time()
        log("finite-difference check of `gradients` (float64 central differences at the hooked activation):")
        fd_results, fd_failures = fd_check(torch, model, path, pos_table, P, E)
        check["finite_differences"] = {"relative_tolerance": FD_REL_TOL, "step": FD_STEP, "results": fd_results}
        log(f"finite-difference check took {time.time() - t0:.1f}s")
        failures += fd_failures
        if failures:
            log(f"error: self-check failed: {', '.join(failures)}")
            return 1

    manifest.setdefault("networks", {})["car_cam"] = {
        "file": CAM_FILE, "sha256": ec.sha256(path), "precision": "fp32",
        "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": [1, 3, "height", "width"]},
                   {"name": "pos_embed", "dtype": "float32", "shape": [1, "tokens", D]},
                   {"name": "fg_embeds", "dtype": "float32", "shape": ["fg", E]},
                   {"name": "bg_embeds", "dtype": "float32", "shape": ["bg", E]}],
        "outputs": [{"name": "activations", "dtype": "float32", "shape": [1, "patches", D]},
                    {"name": "gradients", "dtype": "float32", "shape": ["fg", 1, "patches", D]},
                    {"name": "attention", "dtype": "float32", "shape": [n_attn, "patches", "patches"]}],
    }
    # BundleLoader allows only file/sha256/precision/inputs/outputs/variants in a network entry;
    # the rest goes under "source" (free-form) as source.car_cam.
    manifest.setdefault("source", {})["car_cam"] = {
        "logit_scale": scale,
        "attention_blocks": n_attn,
        "pos_embed_interpolation": "bilinear, align_corners=false",
        "notes": ("CaR/CLIP-ES Grad-CAM: activations = last block's layer_norm1 output (class token "
                  "dropped); gradients[f] = d p_f / d activations, p = softmax over [fg; bg] of "
                  "logit_scale * cos(visual_projection(mean over patch tokens of post_layernorm(last "
                  "block output))), text); fg/bg embeddings must be L2-normalised; bg may be empty; "
                  "attention = head-averaged attention of the last blocks, class row/column dropped. "
                  "pos_embed resized bilinearly by the caller."),
        "exporter": "tools/export/export_car.py",
        "route": "make_fx(symbolic, core ATen decompositions) + torch.onnx.export(dynamo)",
        **ec.tool_versions(torch), "opset": opset,
        "export_seconds": round(t_export, 1),
        **({"self_check": check} if check is not None else {}),
    }
    if args.classifier_checkpoint:
        rc = add_classifier(torch, args, manifest, out)
        if rc:
            return rc
    if args.fp16:
        log("fp16 variants (onnxruntime.transformers.float16; ONNX Runtime fp16 vs fp32):")
        results, failures = add_fp16_variants(out, manifest, fp16_feeds(torch, manifest, pos_table, P, grid), not args.no_check)
        if not args.no_check:
            manifest["source"]["car_fp16"] = {
                "converter": "onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True, "
                             "LayerNormalization kept in fp32)",
                "relative_tolerance": FP16_REL_TOL, "results": results}
        if failures:
            log(f"error: fp16 check failed: {', '.join(failures)}")
            return 1
    nets = manifest.get("networks", {})
    if args.as_car_bundle:
        if all(k in nets for k in ("car_cam", "car_classifier_image", "car_classifier_text")):
            manifest["pipeline"] = "car"
            # ovseg's CaR classifier multiplies its cosines by the top-level logit_scale
            manifest["logit_scale"] = manifest["source"]["car_classifier"].get("logit_scale", manifest.get("logit_scale"))
        else:
            log("warning: --as-car-bundle without car_cam + car_classifier_*: pipeline left as "
                f"{manifest.get('pipeline')!r}")
    ec.write_manifest(out, manifest)
    log(f"added networks "
        f"{', '.join(k for k in nets if k.startswith('car_'))} to {manifest_path} "
        f"(pipeline {manifest.get('pipeline')}, {time.time() - t_start:.1f}s in all)")
    return 0


def add_classifier(torch, args, manifest, out):
    """Export the CaR classifier (image + text graphs), self-check them, add them to manifest."""
    ckpt = os.path.abspath(args.classifier_checkpoint)
    if not (os.path.isfile(ckpt) or os.path.exists(os.path.join(ckpt, "config.json"))):
        log(f"error: {ckpt} is neither a transformers CLIP directory (config.json) nor an OpenAI .pt file")
        return 2
    model = load_model(torch, ckpt)
    if getattr(model.visual_projection, "bias", None) is not None:
        log("error: classifier visual_projection has a bias")
        return 2
    vcfg = model.config.vision_config
    S, E = vcfg.image_size, model.config.projection_dim
    mean, std, norm_src = ec.read_norm(ckpt if os.path.isdir(ckpt) else os.path.dirname(ckpt), False)
    t0 = time.time()
    log(f"exporting the CaR classifier ({ec.family(vcfg)}, {vcfg.num_hidden_layers - 1} of "
        f"{vcfg.num_hidden_layers} image blocks, E' = {E}):")
    routes = export_classifier(torch, model, out)
    t_export = time.time() - t0
    check = None
    if not args.no_check:
        t0 = time.time()
        log("classifier self-check (ONNX Runtime vs HF transformers, batch 3):")
        results, failures = classifier_check(torch, model, out)
        check = {"image_relative_tolerance": CLS_REL_TOL, "text_abs_tolerance": CLS_TEXT_TOL, "results": results}
        log(f"classifier self-check took {time.time() - t0:.1f}s")
        if failures:
            log(f"error: classifier self-check failed: {', '.join(failures)}")
            return 1
    nets = manifest.setdefault("networks", {})
    nets["car_classifier_image"] = {
        "file": CLS_IMAGE_FILE, "sha256": ec.sha256(os.path.join(out, CLS_IMAGE_FILE)), "precision": "fp32",
        "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": ["batch", 3, S, S]}],  # fixed: pos table not resized
        "outputs": [{"name": "image_embeds", "dtype": "float32", "shape": ["batch", E]}],
    }
    nets["car_classifier_text"] = {
        "file": CLS_TEXT_FILE, "sha256": ec.sha256(os.path.join(out, CLS_TEXT_FILE)), "precision": "fp32",
        "inputs": [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "length"]}],
        "outputs": [{"name": "text_embeds", "dtype": "float32", "shape": ["batch", E]}],
    }
    manifest.setdefault("source", {})["car_classifier"] = {
        "checkpoint": os.path.basename(ckpt.rstrip("/")),
        "family": ec.family(vcfg),
        "image_size": S,
        "height": S, "width": S,
        "resize": "resize short side to image_size, bicubic, then center crop image_size x image_size",
        "mean": mean, "std": std, "normalization": norm_src,
        "embed_dim": E,
        "image_blocks": vcfg.num_hidden_layers - 1, "layers": vcfg.num_hidden_layers,
        "context_length": int(model.config.text_config.max_position_embeddings),
        "logit_scale": float(model.logit_scale.detach().exp()),
        "notes": ("CaR classifier (CLIPWrapper). car_classifier_image: the image graph is fixed at "
                  f"{S}x{S} (the position table is not resized; only batch is dynamic); image_embeds = "
                  "visual_projection(post_layernorm(CLS token of the output of block L-1)) - QUIRK: only "
                  "layers-1 blocks run - NOT normalised. car_classifier_text: projected text embeddings "
                  "pooled at argmax(input_ids), NOT normalised. Normalise both, then "
                  "P_t = softmax(logit_scale * cos) with the classifier checkpoint's logit_scale.exp() "
                  "(CLIPWrapper.forward_last_layer; 100 for OpenAI CLIP; also the car bundle's top-level "
                  "logit_scale), S = softmax(sum over the 15 templates of P_t)."),
        "exporter": "tools/export/export_car.py --classifier-checkpoint",
        "export_routes": routes, **ec.tool_versions(torch), "opset": OPSET,
        "export_seconds": round(t_export, 1),
        **({"self_check": check} if check is not None else {}),
    }
    return 0


if __name__ == "__main__":
    sys.exit(main())

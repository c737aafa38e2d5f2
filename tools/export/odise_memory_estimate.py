#!/usr/bin/env python3
"""ODISE at full size in fp16: weight bytes per graph and a peak-activation estimate, on the meta device
(no memory, no weights; seconds on a CPU). An ESTIMATE for the GPU goal (whole pipeline at 1024^2 in
<= 6 GB), not a measurement.

Weights: each graph's modules at the official configuration (sd_modules.sd_v1_config, the head of
odise_modules.official_head_config, ViT-L-14-336: width 1024, 24 layers, 768-d; text: width 768, 12 layers);
only parameters and buffers some op of the forward reads are counted (the export drops dead code: the UNet
past output_blocks.11's input, the VAE decoder past up[2].block[2]'s input), x 2 bytes. A TensorRT engine
carries its own copy of its weights, so the captioner's ViT-L (backbone engine) and the CLIP branch's
ViT-L (clip engine) are counted twice.

Activations: the forward runs on the meta device under a dispatch mode that adds every fresh output
tensor's bytes when created and subtracts them when Python frees it: the eager no-grad peak of live
tensors in fp16 at batch 1 (OdisePipeline runs the backbone one crop at a time). "fused" also drops the
attention matrices (3-D bmm products with >= 257 query and key rows, and their scaled/masked/softmaxed copies), which a
fused MHA kernel (TensorRT's fMHA / flash attention) never materialises. TensorRT reuses memory between
layers inside an engine, so its activation size is about the live peak of its own schedule (fusions can
only lower it); engines run one after another, so the pipeline needs all weights + the largest engine's
activations + the host-visible tensors between graphs (counted separately).
Usage: odise_memory_estimate.py [--size 1024] [--crop 512] [--markdown]"""
import argparse
import os
import sys
import weakref

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
MIB = 2 ** 20


def trace(torch, module, args):
    """(weights used, peak live bytes, peak live bytes without attention matrices)."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten, tree_map
    called = set()

    # the graph's inputs are live throughout
    n_in = sum(x.numel() * x.element_size() for x in args)
    state = {"live": n_in, "plain": n_in, "peak": n_in, "peak_plain": n_in}

    refs = {}  # storage -> [tensors alive on it, bytes, is an attention matrix]
    flagged = {}  # id(tensor) -> weakref, tensors on attention-matrix storage
    # views of weights (a transposed projection) and of the inputs are no new memory
    for t in list(module.parameters()) + list(module.buffers()) + list(args):
        refs[t.untyped_storage()._cdata] = [1 << 60, 0, False]

    def release(key):
        entry = refs[key]
        entry[0] -= 1
        if entry[0] == 0:
            state["live"] -= entry[1]
            state["plain"] -= 0 if entry[2] else entry[1]
            del refs[key]

    def is_flagged(x):
        r = flagged.get(id(x))
        return r is not None and r() is x

    class Live(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, a=(), kw=None):
            flat = [x for x in tree_flatten((a, kw))[0] if isinstance(x, torch.Tensor)]
            for x in flat:  # weights some op reads (CLIP's attention reads in_proj_weight directly)
                called.add(id(x))
                called.add(id(x._base))
            # every float tensor in fp16, as in the fp16 engine (constants ldm builds in float32 included)
            half = lambda x: x.half() if isinstance(x, torch.Tensor) and x.dtype == torch.float32 else x
            a, kw = tree_map(half, a), tree_map(half, kw or {})
            out = func(*a, **kw)
            name = func.__name__
            for t in (out if isinstance(out, (tuple, list)) else (out,)):
                if not isinstance(t, torch.Tensor):
                    continue
                # an attention matrix: a (b)mm product with >= 257 query and key rows, or an elementwise
                # successor of one (scale, mask, softmax, cast, reshape): same element count as a flagged input
                # (linear layers run as 2-D mm/addmm, attention products as 3-D bmm)
                attn = (name.split(".")[0] in ("bmm", "baddbmm") and t.dim() == 3 and min(t.shape[-2:]) >= 257) or any(
                    is_flagged(x) and x.numel() == t.numel() for x in flat)
                if attn:
                    flagged[id(t)] = weakref.ref(t)
                key = t.untyped_storage()._cdata  # views and _unsafe_view share their base's storage: counted once
                if key not in refs:
                    n = t.untyped_storage().nbytes()
                    refs[key] = [0, n, attn]
                    state["live"] += n
                    state["plain"] += 0 if attn else n
                    state["peak"] = max(state["peak"], state["live"])
                    state["peak_plain"] = max(state["peak_plain"], state["plain"])
                refs[key][0] += 1
                weakref.finalize(t, release, key)
            return out

    with torch.no_grad(), Live():
        out = module(*args)
    del out
    tensors = {id(t): t for t in list(module.parameters()) + list(module.buffers())}
    used = sum(t.numel() * t.element_size() for i, t in tensors.items() if i in called)
    return used, state["peak"], state["peak_plain"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=1024, help="image side after the test resize (square)")
    ap.add_argument("--crop", type=int, default=512, help="backbone crop (ODISE: 512)")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args(argv)
    import torch
    import odise_modules as om
    import sd_modules as sm
    h = torch.float16
    Hp = -(-a.size // 64) * 64
    tiles = (-(-Hp // a.crop)) ** 2
    rows = []
    with torch.device("meta"):
        visual = om.Visual(1024, 24, 14, 24, 768)
        bb = sm.OdiseBackbone(sm.sd_v1_config(), visual).to(h).eval()
        rows.append(("backbone (UNet + VAE + captioner ViT-L + projections), one %d² crop" % a.crop,
                     trace(torch, bb, (torch.empty(1, 3, a.crop, a.crop, dtype=h),)), "x %d crops, sequential" % tiles))
        del bb
        cfg = om.official_head_config()
        head = om.OdiseHead(cfg).to(h).eval()
        f = [torch.empty(1, 512, Hp // s, Hp // s, dtype=h) for s in (4, 8, 16, 32)]
        rows.append(("mask generator (MSDeformAttn pixel decoder + 9-layer decoder), %d² features at 1/4..1/32" % Hp,
                     trace(torch, om.MaskGenerator(head.sem_seg_head), f), ""))
        rows.append(("mask embed (PooledMaskEmbed)",
                     trace(torch, om.MaskEmbedGraph(head.sem_seg_head.predictor.post_mask_embed),
                           (torch.empty(1, 100, 256, dtype=h), torch.empty(1, 100, 256, dtype=h))), ""))
        del head
        visual2 = om.Visual(1024, 24, 14, 24, 768).to(h).eval()
        rows.append(("CLIP branch (MaskCLIP ViT-L/14-336, 100 mask tokens)",
                     trace(torch, om.MaskClipGraph(visual2), (torch.empty(1, 3, 336, 336, dtype=h), torch.empty(1, 100, 576, dtype=h))), ""))
        text = om.TextTower(768, 12, 768).to(h).eval()
        rows.append(("text (CLIP ViT-L/14-336 text tower), batch 64 prompts x 77",
                     trace(torch, text, (torch.zeros(64, 77, dtype=torch.long),)), "run once per vocabulary"))
    # Tensors the Java holds between graphs (host side, fp32) but that also pass through GPU buffers once.
    between = {"s2..s5 averaged (fp32)": 4 * 512 * sum((Hp // s) ** 2 for s in (4, 8, 16, 32)),
               "mask logits 100 x (H/4)² (fp32)": 4 * 100 * (Hp // 4) ** 2,
               "mask features 256 x (H/4)² (fp32)": 4 * 256 * (Hp // 4) ** 2}
    W = sum(r[1][0] for r in rows)
    A = max(r[1][1] for r in rows)
    Af = max(r[1][2] for r in rows)
    io = max(between.values()) * 2  # a graph's largest input + output buffers bound
    lines = ["| graph | fp16 weights (MiB) | peak activations, unfused attention (MiB) | with fused MHA (MiB) | note |",
             "| --- | ---: | ---: | ---: | --- |"]
    for name, (w, p, pf), note in rows:
        lines.append(f"| {name} | {w / MIB:,.0f} | {p / MIB:,.0f} | {pf / MIB:,.0f} | {note} |")
    lines.append(f"| **all engines resident** | **{W / MIB:,.0f}** | max {A / MIB:,.0f} | max {Af / MIB:,.0f} | engines run one after another |")
    print("\n".join(lines))
    print()
    for k, v in between.items():
        print(f"- between graphs: {k}: {v / MIB:,.0f} MiB")
    print(f"- estimate, unfused attention: weights {W / MIB:,.0f} + largest engine's activations {A / MIB:,.0f} + "
          f"I/O buffers <= {io / MIB:,.0f} = {(W + A + io) / 2 ** 30:.2f} GiB (+ CUDA context ~0.3-0.5 GiB, TensorRT workspace)")
    print(f"- estimate, fused MHA: {(W + Af + io) / 2 ** 30:.2f} GiB (same additions); goal <= 6 GB = 5.59 GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

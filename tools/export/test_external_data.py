#!/usr/bin/env python3
"""Graphs beyond protobuf's 2 GiB: export_clip.export_onnx / write_fp16 / network_entry with external data.

Default (CI, seconds): a chain of MatMul weights exported with the external-data threshold lowered to a few hundred
kB, both export routes: one <graph>.onnx.data beside the graph and nothing else, every external tensor pointing at
it, the dims renamed, ONNX Runtime equal to the torch module, network_entry's hashes equal to hashlib's; the fp16
writer's streamed conversion equal, weight by weight, to onnxruntime's converter run on the whole model in memory,
with an external and with an inline result; a small graph at the real threshold stays one self-contained file.

  python tools/export/test_external_data.py                 # the checks above
  python tools/export/test_external_data.py --bundle DIR    # and leave a bundle (fp32 + fp16 external) for `ovseg models DIR`
  python tools/export/test_external_data.py --big 2.2       # real threshold, ~2.2 GB of weights: peak RSS per step
"""
import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_clip as ec  # noqa: E402


def chain(torch, width, depth, seed=0):
    """x [batch, width] through depth bias-free Linear layers and tanh: MatMul initializers of width² floats."""
    g = torch.Generator().manual_seed(seed)

    class Chain(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(width, width, bias=False) for _ in range(depth))
            with torch.no_grad():
                for m in self.layers:
                    m.weight.normal_(0.0, width ** -0.5, generator=g)

        def forward(self, x):
            for m in self.layers:
                x = torch.tanh(m(x))
            return x

    return Chain().eval()


def export(torch, module, path, width, route, threshold):
    from torch.export import Dim
    ex = torch.randn(3, width)
    return ec.export_onnx(torch, module, (ex,), path, ["x"], ["y"], {"x": {0: Dim("batch", min=1, max=64)}},
                          {"x": {0: "batch"}, "y": {0: "batch"}}, {"x": ["batch", width], "y": ["batch", width]}, route,
                          threshold=threshold)


def locations(path):
    import onnx
    from onnx.external_data_helper import ExternalDataInfo
    m = onnx.load(path, load_external_data=False)
    return m, [ExternalDataInfo(t).location for t in ec._external_tensors(m)]


def file_sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)
    print("ok   " + what, flush=True)


def write_bundle(out, entry):
    """A minimal bundle around the graph (a "sam" manifest: no text side), for Java's BundleLoader to check."""
    manifest = {"format_version": 1, "pipeline": "sam", "family": "external-data-test", "networks": {"g": entry},
                "preprocessing": {"size_policy": "long-side", "size": 64, "mean": [0.5] * 3, "std": [0.5] * 3, "patch_size": 16,
                                  "interpolation": "bilinear", "pos_embed_interpolation": "none"},
                "source": {"generator": "tools/export/test_external_data.py"}}
    ec.write_manifest(out, manifest)


def run_checks(bundle=None):
    import onnx
    torch = ec.import_torch_quietly(1)
    width, depth = 192, 4  # 4 x 147 kB of weights
    module = chain(torch, width, depth)
    x = np.random.default_rng(5).standard_normal((5, width)).astype(np.float32)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    threshold = 200_000
    with tempfile.TemporaryDirectory() as out:
        for route in ("dynamo", "torchscript"):
            sub = os.path.join(out, route)
            os.makedirs(sub)
            path = os.path.join(sub, "g.onnx")
            used = export(torch, module, path, width, route, threshold)
            check(used == route, f"{route}: exported by that route")
            check(sorted(os.listdir(sub)) == ["g.onnx", "g.onnx.data"], f"{route}: g.onnx + g.onnx.data only ({sorted(os.listdir(sub))})")
            m, locs = locations(path)
            check(len(locs) >= depth and set(locs) == {"g.onnx.data"}, f"{route}: {len(locs)} external tensors, all in g.onnx.data")
            check(os.path.getsize(path) < 20_000 < os.path.getsize(path + ".data"), f"{route}: the graph file holds no weights")
            dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
            check(dims == ["batch", width], f"{route}: input dims renamed {dims}")
            got = ec.ort_session(path).run(None, {"x": x})[0]
            err = float(np.abs(got - want).max())
            check(err < 1e-5, f"{route}: ONNX Runtime vs torch max abs err {err:.2e} < 1e-5")
            opset, _ = ec.check_graph(path)
            check(opset == ec.OPSET, f"{route}: check_graph passes on the external-data graph")

        out_d = os.path.join(out, "dynamo")
        path = os.path.join(out_d, "g.onnx")
        # fp16: streamed conversion vs the converter on the whole model in memory
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16
        ref = convert_float_to_float16(onnx.load(path), keep_io_types=True,
                                       op_block_list=list(DEFAULT_OP_BLOCK_LIST) + ["LayerNormalization"])
        ref_w = {t.name: onnx.numpy_helper.to_array(t) for t in ref.graph.initializer}
        ec._FP16_CHUNK = 1000  # so that each weight (36,864 values) is converted in several chunks
        for label, limit, external in (("external result", 100_000, True), ("inline result", 10_000_000, False)):
            f16 = os.path.join(out_d, f"g-{external}.fp16.onnx")
            ec.write_fp16(path, f16, threshold=limit)
            check(os.path.exists(f16 + ".data") == external, f"fp16 {label}: data file {'written' if external else 'absent'}")
            got_m = onnx.load(f16)  # resolves the data file beside it
            got_w = {t.name: onnx.numpy_helper.to_array(t) for t in got_m.graph.initializer}
            same = got_w.keys() == ref_w.keys() and all(got_w[k].dtype == ref_w[k].dtype and np.array_equal(got_w[k], ref_w[k])
                                                        for k in ref_w)
            check(same, f"fp16 {label}: {len(got_w)} weights bit-equal to convert_float_to_float16 in memory")
            check([n.op_type for n in got_m.graph.node] == [n.op_type for n in ref.graph.node], f"fp16 {label}: same nodes")
            y16 = ec.ort_session(f16).run(None, {"x": x})[0]
            rel = float(np.abs(y16 - want).max() / np.abs(want).max())
            check(y16.dtype == np.float32 and rel < 2e-2, f"fp16 {label}: ORT vs torch rel err {rel:.2e} < 2e-2")

        files = {"g": "g.onnx", "g_fp16": "g-True.fp16.onnx"}
        entry = ec.network_entry(out_d, files, "g", [], [])
        check(entry["sha256"] == file_sha(path) and entry["data"] == {"file": "g.onnx.data", "sha256": file_sha(path + ".data")},
              "network_entry: file and data hashes equal hashlib's")
        v = entry["variants"]["fp16"]
        check(v["data"] == {"file": "g-True.fp16.onnx.data", "sha256": file_sha(os.path.join(out_d, "g-True.fp16.onnx.data"))}
              and v["sha256"] == file_sha(os.path.join(out_d, "g-True.fp16.onnx")), "network_entry: the fp16 variant's data hashed")
        json.dumps(entry)
        if bundle:
            import shutil
            os.makedirs(bundle, exist_ok=True)
            for f in ("g.onnx", "g.onnx.data", "g-True.fp16.onnx", "g-True.fp16.onnx.data"):
                shutil.copyfile(os.path.join(out_d, f), os.path.join(bundle, f))
            write_bundle(bundle, ec.network_entry(bundle, files, "g", [{"name": "x", "dtype": "float32", "shape": ["batch", width]}],
                                                  [{"name": "y", "dtype": "float32", "shape": ["batch", width]}]))
            print(f"bundle written to {bundle}")

        small = os.path.join(out, "small")
        os.makedirs(small)
        export(torch, module, os.path.join(small, "g.onnx"), width, "dynamo", None)
        check(os.listdir(small) == ["g.onnx"], "real threshold: a small graph stays one self-contained file")
        check("data" not in ec.network_entry(small, {"g": "g.onnx"}, "g", [], []), "real threshold: no data field")
    print("all external-data checks passed")


# ----------------------------------------------------------------------------- --big: peak RSS
def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1 << 20)


def rss_gib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / (1 << 20)
    return float("nan")


def big_step(step, out, gb):
    """One step in its own process, so ru_maxrss is that step's peak."""
    torch = ec.import_torch_quietly()
    width = 8192
    depth = max(1, round(gb * 1e9 / (width * width * 4)))
    path = os.path.join(out, "big.onnx")
    t0 = time.time()
    if step == "export":
        module = chain(torch, width, depth)
        base = rss_gib()
        route = export(torch, module, path, width, "dynamo", None)
        extra = f"route {route}, module {depth * width * width * 4 / 2**30:.2f} GiB, RSS with the module built {base:.2f} GiB"
    elif step == "fp16":
        ec.write_fp16(path, os.path.join(out, "big.fp16.onnx"))
        extra = "fp16 " + ("external" if os.path.exists(os.path.join(out, "big.fp16.onnx.data")) else "inline")
    else:  # entry
        e = ec.network_entry(out, {"big": "big.onnx", "big_fp16": "big.fp16.onnx"}, "big", [], [])
        extra = "data " + json.dumps(e.get("data"))
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    print(json.dumps({"step": step, "seconds": round(time.time() - t0, 1), "peak_rss_gib": round(peak_rss_gib(), 2),
                      "note": extra, "files": sizes}), flush=True)


def run_big(gb, out):
    os.makedirs(out, exist_ok=True)
    for step in ("export", "fp16", "entry"):
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--big-step", step, "--big", str(gb), "--out", out])
        if r.returncode:
            raise SystemExit(f"step {step} failed ({r.returncode})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--big", type=float, help="GB of weights for the peak-RSS run at the real threshold")
    ap.add_argument("--out", help="folder for --big (default: a temporary one)")
    ap.add_argument("--bundle", help="also write a bundle of the external-data graphs here")
    ap.add_argument("--big-step", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.big_step:
        big_step(a.big_step, a.out, a.big)
    elif a.big:
        if a.out:
            run_big(a.big, a.out)
        else:
            with tempfile.TemporaryDirectory() as d:
                run_big(a.big, d)
    else:
        run_checks(a.bundle)

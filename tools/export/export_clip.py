#!/usr/bin/env python3
"""Export a CLIP checkpoint to an ovseg bundle (format v1, pipeline "maskclip").

Input: a local Hugging Face transformers CLIP directory (config.json + model.safetensors or
pytorch_model.bin, as save_pretrained writes it), ViT image tower; e.g. a download of
openai/clip-vit-base-patch16, or tools/export/make_random_clip.py's output.

Output (--out DIR):
  image.onnx       MaskCLIP dense graph. inputs  pixel_values [1,3,height,width] f32 (normalised,
                   zero-padded to a multiple of the patch size), pos_embed [1,tokens,D] f32 (the
                   position table, class row first, patch rows already resized bicubically to the
                   patch grid by the caller; tokens = 1 + (height/p)*(width/p)).
                   outputs dense_features [1,patches,D] (post_layernorm of the last block's
                   value path, class token dropped) and dense_keys [1,patches,D]
                   (out_proj(k_proj(ln_1(x))) of the last block, for key smoothing).
  text.onnx        input_ids [batch,length] int64 -> text_embeds [batch,E] f32 (projected, NOT
                   normalised; pooled at argmax(input_ids) = the end token; causal mask built for
                   the actual length).
  image.fp16.onnx, text.fp16.onnx  same interface (float32/int64 in and out, Cast nodes inside),
                   fp16 weights and compute.
  image.int8.onnx  with --int8: same interface, MatMul weights int8 per channel and their inputs
                   uint8 (static quantisation calibrated on 4 images; tools/export/int8_clip.py).
                   bundle.json records it as the "int8" variant of the image network and, under
                   source.int8, how it was made and its accuracy against fp32 on the same weights.
  pos_embed.npy    [1+g*g, D] f32, the checkpoint's position table.
  head_weight.npy  [E, D] f32, visual_projection.weight (z = W f).
  bundle.json      manifest with sha256 of every file.

The bicubic resize of the position table is deliberately NOT in the graph (no Resize ops):
ovseg computes it and feeds pos_embed.

After export the ONNX files are run in ONNX Runtime at two image sizes and two text lengths
and compared with the torch modules (HF transformers' own forward for everything up to the last
block); the script exits non-zero if fp32 max abs error > 1e-4, or if an fp16 graph is off by
more than 2e-2 relative to the output's max magnitude (|ort-torch|max / |torch|max).

  python tools/export/export_clip.py --checkpoint DIR --out BUNDLE [--imagenet-norm] [--no-fp16] [--int8]
                                    [--official-maskclip-vit]

--official-maskclip-vit exports the vision tower as the official MaskCLIP runs it (mmcv's
VisionTransformer loaded with CLIP's weights): exact (erf) GELU instead of CLIP's QuickGELU and
LayerNorm eps 1e-6 instead of 1e-5 in every vision LayerNorm. Use it to reproduce the paper's
figures; the default keeps CLIP's own activations (what CLIP was trained with, and what every
later method in ovseg uses). bundle.json records the choice in source.vision_variant.

ResNet towers (MaskCLIP RN50): --checkpoint an OpenAI CLIP RN .pt (e.g. RN50.pt) or a directory
holding model.pt in the same key layout (tools/export/make_random_clip.py --arch rn50) exports
image.onnx with input pixel_values only (NOT padded, as the official ResNetClip) and outputs
dense_features [1,patches,D] (the ModifiedResNet feature map before the attention pool, row-major
over the gh x gw grid, g = ((side + 1) // 2) // 16) and dense_keys [1,patches,D] (attnpool.k_proj
of the features, with its bias: MaskCLIP's keys for key smoothing on ResNet), text.onnx as above,
and attnpool_v_weight [Dv,D] / attnpool_v_bias [Dv] / attnpool_c_weight [E,Dv] / attnpool_c_bias [E]
(ovseg folds them into z = C(V f + b_v) + b_c); no pos_embed, position_grid 0, patch_size 32 (the
encoder stride). See tools/export/resnet_clip.py and export_resnet() below.
"""
import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
OPSET = 18
FP32_TOL = 1e-4
FP16_REL_TOL = 2e-2


def write_manifest(out, manifest, check=None):
    """bundle.json into `out` (written to a temporary name, then renamed), with the export's
    self-check results under source.self_check when there are any."""
    if check is not None:
        manifest.setdefault("source", {})["self_check"] = check
    path = os.path.join(out, "bundle.json")
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp", path)


def log(msg):
    print(msg, flush=True)


# ----------------------------------------------------------------------------- torch modules
def import_torch_quietly(threads=0):
    """torch with the exporter's noise off (the ONNX exporter's torchvision-registration warnings,
    transformers' logging and progress bars) and, when given, its intra-op thread count."""
    import logging
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)  # torchvision absent
    import torch
    if threads:
        torch.set_num_threads(threads)
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return torch


def tool_versions(torch):
    """The library versions recorded under source in bundle.json."""
    import onnx
    import onnxruntime
    import transformers
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}


def array_entry(out, name, shape):
    """A bundle.json arrays entry for out/<name>.npy (float32)."""
    return {"file": name + ".npy", "sha256": sha256(os.path.join(out, name + ".npy")), "dtype": "float32",
            "shape": list(shape)}


def build_modules(torch):
    nn = torch.nn

    class DenseImage(nn.Module):
        """MaskCLIP dense path on a transformers CLIP vision tower."""

        def __init__(self, vision, dtype):
            super().__init__()
            self.vision = vision
            self.dtype_ = dtype

        def forward(self, pixel_values, pos_embed):
            vm = self.vision
            dt = self.dtype_
            x = vm.embeddings.patch_embedding(pixel_values.to(dt))  # [1, D, gh, gw], no bias
            x = x.flatten(2).transpose(1, 2)  # [1, P, D]
            cls = vm.embeddings.class_embedding.reshape(1, 1, -1).expand(x.shape[0], 1, -1)
            x = torch.cat([cls, x], dim=1) + pos_embed.to(dt)
            x = vm.pre_layrnorm(x)
            layers = vm.encoder.layers
            for layer in layers[:-1]:
                x = layer(x, None)
            last = layers[-1]
            h = last.layer_norm1(x)
            v = x + last.self_attn.out_proj(last.self_attn.v_proj(h))
            v = v + last.mlp(last.layer_norm2(v))
            feats = vm.post_layernorm(v)[:, 1:]
            keys = last.self_attn.out_proj(last.self_attn.k_proj(h))[:, 1:]
            # the MaskCLIP family (SCLIP, ClearCLIP, NACLIP, ProxyCLIP) re-runs the last block
            # its own way from here, with the last_* arrays
            return feats.to(torch.float32), keys.to(torch.float32), x.to(torch.float32)

    class TextEmbeds(nn.Module):
        """CLIP text tower + projection, pooled at argmax(input_ids)."""

        def __init__(self, text, projection, dtype):
            super().__init__()
            self.text = text
            self.projection = projection
            self.dtype_ = dtype

        def forward(self, input_ids):
            tm = self.text
            length = input_ids.shape[1]
            tok = tm.embeddings.token_embedding(input_ids)
            pos = tm.embeddings.position_embedding.weight[:length]
            x = (tok + pos.unsqueeze(0)).to(self.dtype_)
            # additive causal mask for the actual length: 0 on/below the diagonal, -inf above
            idx = torch.arange(length, device=input_ids.device)
            allowed = idx.unsqueeze(0) <= idx.unsqueeze(1)  # [L, L], row = query
            mask = torch.zeros((length, length), dtype=self.dtype_)
            mask = mask.masked_fill(~allowed, float("-inf")).reshape(1, 1, length, length)
            for layer in tm.encoder.layers:
                x = layer(x, mask)
            x = tm.final_layer_norm(x)
            eot = input_ids.to(torch.int32).argmax(dim=-1)  # first occurrence of the max id
            pooled = x[torch.arange(x.shape[0], device=x.device), eot]
            return self.projection(pooled).to(torch.float32)

    return DenseImage, TextEmbeds


def vision_tower(model):
    vm = model.vision_model
    return getattr(vm, "vision_model", vm)  # transformers 4.x: CLIPVisionTransformer; 5.x: same attrs


def text_tower(model):
    tm = model.text_model
    return getattr(tm, "text_model", tm)


def network_entry(out, files, kind, inputs, outputs):
    """A bundle.json network entry for files[kind], with its fp16 variant when one was written. A graph saved with
    external data (see EXTERNAL_DATA_THRESHOLD) gets "data": {"file", "sha256"} beside its own file and hash."""
    entry = {**file_entry(out, files[kind]), "precision": "fp32", "inputs": inputs, "outputs": outputs}
    for prec in ("fp16", "int8"):
        if kind + "_" + prec in files:
            entry.setdefault("variants", {})[prec] = file_entry(out, files[kind + "_" + prec])
    return entry


def file_entry(out, name):
    """{"file", "sha256"} of out/name, plus "data" when the graph keeps its weights in <name>.data."""
    path = os.path.join(out, name)
    entry = {"file": name, "sha256": sha256(path)}
    data = external_data_file(path)
    if data is not None:
        entry["data"] = {"file": os.path.relpath(data, out).replace(os.sep, "/"), "sha256": sha256(data)}
    return entry


def resize_pos_embed(torch, table, gh, gw, mode="bicubic"):
    """Class row kept, patch rows resized with align_corners=False: bicubic as MaskCLIP/mmseg's
    resize_pos_embed, bilinear as CaR's CLIP wrapper."""
    t = torch.as_tensor(table, dtype=torch.float32)
    n, d = t.shape
    g = int(round((n - 1) ** 0.5))
    cls, grid = t[:1], t[1:].reshape(1, g, g, d).permute(0, 3, 1, 2)
    if (gh, gw) != (g, g):
        grid = torch.nn.functional.interpolate(grid, size=(gh, gw), mode=mode, align_corners=False)
    grid = grid.permute(0, 2, 3, 1).reshape(gh * gw, d)
    return torch.cat([cls, grid], 0).unsqueeze(0)


# ----------------------------------------------------------------------------- export
# Protobuf caps a serialised message at 2 GiB, so a graph whose initializers pass this many bytes is written as
# <graph>.onnx (the graph, weights referenced by location/offset/length) plus ONE <graph>.onnx.data beside it;
# below it a bundle keeps one self-contained file per graph, written exactly as before this existed. 1.8 GiB
# leaves room for the graph itself and the inline small tensors. Read at call time, so a test can lower it.
EXTERNAL_DATA_THRESHOLD = int(1.8 * (1 << 30))
DATA_SUFFIX = ".data"
_INLINE_MAX = 1024  # smaller tensors stay in the graph file (onnx's own default size_threshold)
_DATA_ALIGN = 64  # offsets of tensors in a data file we write (aligned rows for SIMD loads; the format allows any)


def _apply_dim_names(m, names):
    for vi in list(m.graph.input) + list(m.graph.output):
        want = names.get(vi.name)
        if want is None:
            continue
        dims = vi.type.tensor_type.shape.dim
        for i, w in enumerate(want):
            if isinstance(w, str):
                dims[i].Clear()
                dims[i].dim_param = w
            else:
                dims[i].Clear()
                dims[i].dim_value = w


def _rename_dims(path, names):
    """Give the graph's dynamic input/output dims stable names (dim_param), in place. A graph with external data is
    loaded without its weights and written back as it is: the tensors keep their locations, nothing > 2 GiB is
    serialised and the data file is not rewritten."""
    import onnx
    if _has_external_data(path):
        m = onnx.load(path, load_external_data=False)
        _apply_dim_names(m, names)
        _write_proto(m, path)
        return m
    m = onnx.load(path)
    _apply_dim_names(m, names)
    onnx.save(m, path, save_as_external_data=False)
    return m


def _write_proto(m, path):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(m.SerializeToString())
    os.replace(tmp, path)


def _all_tensors(m):
    from onnx.external_data_helper import _get_all_tensors
    return _get_all_tensors(m)


def _external_tensors(m):
    from onnx.external_data_helper import uses_external_data
    return [t for t in _all_tensors(m) if uses_external_data(t)]


def _has_external_data(path):
    """Whether the graph at path references external data (only parsed when <path>.data exists: a graph written
    by export_onnx keeps its weights nowhere else)."""
    import onnx
    if not os.path.exists(path + DATA_SUFFIX):
        return False
    return bool(_external_tensors(onnx.load(path, load_external_data=False)))


def external_data_file(path):
    """The data file the graph at path keeps its weights in, or None when it is self-contained. Raises if the graph
    names any other location than <graph>.onnx.data (bundles allow one data file per graph)."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo
    if not os.path.exists(path + DATA_SUFFIX):
        return None
    locs = {ExternalDataInfo(t).location for t in _external_tensors(onnx.load(path, load_external_data=False))}
    if not locs:
        return None
    want = os.path.basename(path) + DATA_SUFFIX
    if locs != {want}:
        raise RuntimeError(f"{path}: external data in {sorted(locs)}, expected only {want}")
    return path + DATA_SUFFIX


def _tensor_nbytes(t):
    """Bytes of a tensor's payload without reading external data."""
    from onnx import helper
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data
    if uses_external_data(t):
        info = ExternalDataInfo(t)
        if info.length is not None:
            return int(info.length)
    if t.raw_data:
        return len(t.raw_data)
    n = 1
    for d in t.dims:
        n *= d
    return n * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize if t.data_type else 0


def initializer_bytes(path):
    """Total payload bytes of the graph's tensors (initializers and tensor attributes), external ones included."""
    import onnx
    return sum(_tensor_nbytes(t) for t in _all_tensors(onnx.load(path, load_external_data=False)))


def _program_bytes(prog):
    return sum(v.const_value.nbytes for v in prog.model.graph.initializers.values() if v.const_value is not None)


def _point_at(t, location, offset, length):
    """Make tensor t read its payload from location[offset:offset + length] (onnx's helper insists on raw_data
    being present, which it is not once the bytes have moved)."""
    import onnx
    del t.external_data[:]
    for k, v in (("location", location), ("offset", str(offset)), ("length", str(length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    t.data_location = onnx.TensorProto.EXTERNAL


def _consolidate(src, dst):
    """Writes the graph at src as dst + ONE dst.data (relative location), moving every external tensor of src
    (wherever its file is: TorchScript's exporter writes one file per tensor) and every inline one of
    _INLINE_MAX bytes or more into it, one tensor at a time."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data
    m = onnx.load(src, load_external_data=False)
    src_dir = os.path.dirname(os.path.abspath(src))
    data_name = os.path.basename(dst) + DATA_SUFFIX
    data_path = os.path.join(os.path.dirname(os.path.abspath(dst)), data_name)
    with open(data_path + ".tmp", "wb") as out:
        for t in _all_tensors(m):
            if not uses_external_data(t):
                if len(t.raw_data) >= _INLINE_MAX:  # the TorchScript exporter keeps all weights inline below 2 GiB
                    out.write(b"\0" * (-out.tell() % _DATA_ALIGN))
                    offset = out.tell()
                    out.write(t.raw_data)
                    length = len(t.raw_data)
                    t.ClearField("raw_data")
                    _point_at(t, data_name, offset, length)
                continue
            info = ExternalDataInfo(t)
            with open(os.path.join(src_dir, info.location), "rb") as f:
                f.seek(info.offset or 0)
                length = info.length if info.length is not None else os.fstat(f.fileno()).st_size - (info.offset or 0)
                out.write(b"\0" * (-out.tell() % _DATA_ALIGN))
                offset = out.tell()
                left = length
                while left > 0:
                    chunk = f.read(min(left, 64 << 20))
                    if not chunk:
                        raise RuntimeError(f"{src}: external data of {t.name} is truncated")
                    out.write(chunk)
                    left -= len(chunk)
            _point_at(t, data_name, offset, length)
    os.replace(data_path + ".tmp", data_path)
    _write_proto(m, dst)


def _single_file(path, threshold=None):
    """Fold any external data file back into the .onnx (bundles hold one file per network) when the weights fit
    under EXTERNAL_DATA_THRESHOLD; above it, gather them into ONE <path>.data instead (the per-tensor files the
    TorchScript exporter writes beyond 2 GiB, or the data file of an earlier save, are removed)."""
    import onnx
    from onnx.external_data_helper import ExternalDataInfo
    d = os.path.dirname(path)
    limit = EXTERNAL_DATA_THRESHOLD if threshold is None else threshold
    # (a self-contained file no bigger than the limit cannot hold more weights than that: no need to parse it)
    small = not os.path.exists(path + DATA_SUFFIX) and os.path.getsize(path) <= limit
    if not small and initializer_bytes(path) > limit:
        ext = {ExternalDataInfo(t).location for t in _external_tensors(onnx.load(path, load_external_data=False))}
        if ext == {os.path.basename(path) + DATA_SUFFIX}:
            return  # already the layout a bundle wants
        with tempfile.TemporaryDirectory(dir=d or ".", prefix=".consolidate-") as tmp:
            _consolidate(path, os.path.join(tmp, os.path.basename(path)))
            for f in ext:
                p = os.path.join(d, f)
                if os.path.exists(p):
                    os.remove(p)
            os.replace(os.path.join(tmp, os.path.basename(path)) + DATA_SUFFIX, path + DATA_SUFFIX)
            os.replace(os.path.join(tmp, os.path.basename(path)), path)
        return
    m = onnx.load(path, load_external_data=True)
    ext = {e.value for t in m.graph.initializer for e in t.external_data if e.key == "location"}
    onnx.save(m, path, save_as_external_data=False)
    for f in ext:
        p = os.path.join(d, f)
        if os.path.exists(p):
            os.remove(p)


def export_onnx(torch, module, args, path, input_names, output_names, dynamic_shapes, dynamic_axes,
                dim_names, route, threshold=None):
    """Export with the dynamo exporter (preferred) or the TorchScript one; returns the route used. Graphs whose
    weights pass threshold (default EXTERNAL_DATA_THRESHOLD) are written as path + path.data."""
    module.eval()
    errors = []
    limit = EXTERNAL_DATA_THRESHOLD if threshold is None else threshold
    routes = ["dynamo", "torchscript"] if route == "auto" else [route]
    for r in routes:
        try:
            if os.path.exists(path + DATA_SUFFIX):
                os.remove(path + DATA_SUFFIX)  # a stale data file would make a self-contained graph look external
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                if r == "dynamo":
                    prog = torch.onnx.export(module, args, None, dynamo=True, opset_version=OPSET,
                                             input_names=input_names, output_names=output_names,
                                             dynamic_shapes=dynamic_shapes, verbose=False)
                    # external_data=True streams the weights from the module's own tensors to <path>.data
                    prog.save(path, external_data=_program_bytes(prog) > limit)
                    del prog
                else:
                    # The TorchScript exporter spills one file per tensor beside the model past 2 GiB: export into
                    # a scratch folder so only the consolidated <path>.data reaches the bundle.
                    with tempfile.TemporaryDirectory(dir=os.path.dirname(path) or ".", prefix=".export-") as tmp:
                        scratch = os.path.join(tmp, os.path.basename(path))
                        torch.onnx.export(module, args, scratch, dynamo=False, opset_version=OPSET,
                                          input_names=input_names, output_names=output_names,
                                          dynamic_axes=dynamic_axes, do_constant_folding=True)
                        if len(os.listdir(tmp)) > 1 or initializer_bytes(scratch) > limit:  # spilled, or should be
                            _consolidate(scratch, path)
                        else:
                            os.replace(scratch, path)
            _single_file(path, limit)
            _rename_dims(path, dim_names)
            return r
        except Exception as e:  # noqa: BLE001 - report and try the next route
            errors.append(f"{r}: {type(e).__name__}: {str(e)[:2000]}")
            log(f"  export route {r} failed: {type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
    raise RuntimeError("all export routes failed:\n" + "\n".join(errors))


def write_fp16(src, dst, fix=None, threshold=None):
    """dst = src converted with onnxruntime.transformers.float16 (fp16 weights and compute, float32 inputs and
    outputs through Cast nodes, LayerNormalization kept in float32 as ORT's converter blocks it); fix(model), when
    given, edits the converted graph before it is saved. A self-contained src is converted in memory exactly as
    before; a src with external data is converted without loading its weights (the converter only rewrites the
    graph and types), then each weight is streamed from src's data file, converted by the converter's own
    convert_np_to_float16 and written to dst.data (or inline when the fp16 result fits under the threshold)."""
    import onnx
    from onnxruntime.transformers import float16
    blocks = list(float16.DEFAULT_OP_BLOCK_LIST) + ["LayerNormalization"]
    if not _has_external_data(src):
        m16 = float16.convert_float_to_float16(onnx.load(src), keep_io_types=True, op_block_list=blocks)
        if fix is not None:
            fix(m16)
        if os.path.exists(dst + DATA_SUFFIX):
            os.remove(dst + DATA_SUFFIX)
        onnx.save(m16, dst)
        return
    _write_fp16_external(src, dst, fix, blocks, EXTERNAL_DATA_THRESHOLD if threshold is None else threshold)


_FP16_CHUNK = 1 << 22  # elements per conversion step (16 MiB of float32)


def _to_fp16(float16, a):
    """The converter's own convert_np_to_float16, elementwise, in chunks: its np.where passes would otherwise make
    several float32 temporaries the size of the whole weight."""
    out = np.empty(a.shape, dtype=np.float16)
    for i in range(0, a.size, _FP16_CHUNK):
        out[i:i + _FP16_CHUNK] = float16.convert_np_to_float16(a[i:i + _FP16_CHUNK])
    return out


def _write_fp16_external(src, dst, fix, blocks, limit):
    import onnx
    from onnx.external_data_helper import ExternalDataInfo
    from onnxruntime.transformers import float16
    m = onnx.load(src, load_external_data=False)
    # Each external tensor's type before conversion, by its place in the data file.
    before = {(ExternalDataInfo(t).location, ExternalDataInfo(t).offset or 0): t.data_type for t in _external_tensors(m)}
    # The converter reads a converted initializer's values only for its shape (numpy_helper.to_array), which would
    # load external data relative to the working directory: the dims give the same shape without reading it.
    original = float16.make_value_info_from_tensor
    float16.make_value_info_from_tensor = lambda t: onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
    try:
        m16 = float16.convert_float_to_float16(m, keep_io_types=True, op_block_list=blocks)
    finally:
        float16.make_value_info_from_tensor = original
    del m
    if fix is not None:
        fix(m16)
    src_dir = os.path.dirname(os.path.abspath(src))

    def converted(t):  # an external float32 weight the converter retyped: its bytes halve
        info = ExternalDataInfo(t)
        return before[(info.location, info.offset or 0)] == onnx.TensorProto.FLOAT and t.data_type == onnx.TensorProto.FLOAT16

    from onnx.external_data_helper import uses_external_data
    total = sum(_tensor_nbytes(t) // (2 if uses_external_data(t) and converted(t) else 1) for t in _all_tensors(m16))
    external = total > limit
    data_name = os.path.basename(dst) + DATA_SUFFIX
    data_path = os.path.join(os.path.dirname(os.path.abspath(dst)), data_name)
    out = open(data_path + ".tmp", "wb") if external else None
    try:
        files = {}
        for t in _external_tensors(m16):
            info = ExternalDataInfo(t)
            f = files.get(info.location)
            if f is None:
                f = files[info.location] = open(os.path.join(src_dir, info.location), "rb")
            f.seek(info.offset or 0)
            raw = f.read(info.length)
            if len(raw) != info.length:
                raise RuntimeError(f"{src}: external data of {t.name} is truncated")
            if converted(t):
                raw = _to_fp16(float16, np.frombuffer(raw, dtype=np.float32)).tobytes()
            del t.external_data[:]
            if external:
                out.write(b"\0" * (-out.tell() % _DATA_ALIGN))
                _point_at(t, data_name, out.tell(), len(raw))
                out.write(raw)
            else:
                t.data_location = onnx.TensorProto.DEFAULT
                t.raw_data = raw
            del raw
        for f in files.values():
            f.close()
    finally:
        if out is not None:
            out.close()
    if external:
        os.replace(data_path + ".tmp", data_path)
    elif os.path.exists(data_path):
        os.remove(data_path)
    _write_proto(m16, dst)


def check_graph(path):
    import onnx
    if _has_external_data(path):
        onnx.checker.check_model(path)  # from the path: checks the data file's references without loading > 2 GiB
        m = onnx.load(path, load_external_data=False)
    else:
        m = onnx.load(path)
        onnx.checker.check_model(m)
    opset = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    ops = sorted({n.op_type for n in m.graph.node})
    if "Resize" in ops:
        raise RuntimeError(f"{path}: unexpected Resize op in graph")
    return opset, ops


# ----------------------------------------------------------------------------- self-check
def ort_session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def torch_dense_reference(torch, model, pixel_values):
    """Independent of DenseImage: HF embeddings with its own bicubic pos-embed interpolation."""
    vm = vision_tower(model)
    with torch.no_grad():
        x = vm.embeddings(pixel_values, interpolate_pos_encoding=True)
        x = vm.pre_layrnorm(x)
        layers = vm.encoder.layers
        for layer in layers[:-1]:
            x = layer(x, None)
        before_last = x
        last = layers[-1]
        ln1 = last.layer_norm1(x)
        attn = last.self_attn
        v = attn.out_proj(attn.v_proj(ln1)) + x
        v = v + last.mlp(last.layer_norm2(v))
        feats = vm.post_layernorm(v)[:, 1:]
        keys = attn.out_proj(attn.k_proj(ln1))[:, 1:]
    return feats.numpy(), keys.numpy(), before_last.numpy()


def random_ids(rng, batch, length, vocab=49408):
    ids = np.zeros((batch, length), dtype=np.int64)
    for b in range(batch):
        n = int(rng.integers(1, length - 1)) if length > 2 else 0
        n = min(n, length - 2)
        ids[b, 0] = 49406
        ids[b, 1:1 + n] = rng.integers(1, 49406, size=n)
        ids[b, 1 + n] = 49407
    return ids


def self_check(torch, model, bundle_dir, files, fp16, pos_table, patch):
    rng = np.random.default_rng(1234)
    results = {}
    failures = []

    def record(name, out, ref, fp16_graph):
        err = float(np.max(np.abs(out - ref)))
        scale = float(np.max(np.abs(ref)))
        if fp16_graph:
            ok = err <= FP16_REL_TOL * max(scale, 1e-6)
            bound = f"<= {FP16_REL_TOL:g} * max|ref| = {FP16_REL_TOL * scale:.3g}"
        else:
            ok = err <= FP32_TOL
            bound = f"<= {FP32_TOL:g}"
        results[name] = {"max_abs_err": err, "max_abs_ref": scale, "ok": ok}
        log(f"  {name:44s} max|ort-torch| = {err:.3e} (max|torch| {scale:.3g}) {bound} {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(name)

    img_sessions = {"fp32": ort_session(os.path.join(bundle_dir, files["image"]))}
    txt_sessions = {"fp32": ort_session(os.path.join(bundle_dir, files["text"]))}
    if fp16:
        img_sessions["fp16"] = ort_session(os.path.join(bundle_dir, files["image_fp16"]))
        txt_sessions["fp16"] = ort_session(os.path.join(bundle_dir, files["text_fp16"]))

    for (h, w) in [(224, 224), (512, 688)]:
        px = rng.standard_normal((1, 3, h, w)).astype(np.float32)
        pos = resize_pos_embed(torch, pos_table, h // patch, w // patch).numpy()
        ref_f, ref_k, ref_x = torch_dense_reference(torch, model, torch.from_numpy(px))
        for prec, sess in img_sessions.items():
            t0 = time.time()
            f, k, x = sess.run(["dense_features", "dense_keys", "last_block_input"], {"pixel_values": px, "pos_embed": pos})
            dt = time.time() - t0
            assert f.shape == ref_f.shape and k.shape == ref_k.shape, (f.shape, ref_f.shape)
            record(f"image {prec} {h}x{w} dense_features ({dt:.2f}s)", f, ref_f, prec == "fp16")
            record(f"image {prec} {h}x{w} dense_keys", k, ref_k, prec == "fp16")
            record(f"image {prec} {h}x{w} last_block_input", x, ref_x, prec == "fp16")

    for (batch, length) in [(3, 77), (2, 9)]:
        ids = random_ids(rng, batch, length)
        with torch.no_grad():
            ref = model.get_text_features(input_ids=torch.from_numpy(ids))
            ref = getattr(ref, "pooler_output", ref).numpy()  # transformers 5 returns an output object
        for prec, sess in txt_sessions.items():
            (out,) = sess.run(["text_embeds"], {"input_ids": ids})
            assert out.shape == ref.shape, (out.shape, ref.shape)
            record(f"text {prec} batch {batch} length {length}", out, ref, prec == "fp16")
    return results, failures


# ----------------------------------------------------------------------------- MaskCLIP family
def last_block_arrays(vm):
    """The last block's and the head's weights as the MaskCLIP family re-runs them (torch Linear
    layout: weight [out, in])."""
    last = vm.encoder.layers[-1]
    a = last.self_attn

    def t(p):
        return p.detach().float().numpy().astype(np.float32).copy()

    return {
        "last_ln1_weight": t(last.layer_norm1.weight), "last_ln1_bias": t(last.layer_norm1.bias),
        "last_q_weight": t(a.q_proj.weight), "last_q_bias": t(a.q_proj.bias),
        "last_k_weight": t(a.k_proj.weight), "last_k_bias": t(a.k_proj.bias),
        "last_v_weight": t(a.v_proj.weight), "last_v_bias": t(a.v_proj.bias),
        "last_out_weight": t(a.out_proj.weight), "last_out_bias": t(a.out_proj.bias),
        "last_ln2_weight": t(last.layer_norm2.weight), "last_ln2_bias": t(last.layer_norm2.bias),
        "last_fc1_weight": t(last.mlp.fc1.weight), "last_fc1_bias": t(last.mlp.fc1.bias),
        "last_fc2_weight": t(last.mlp.fc2.weight), "last_fc2_bias": t(last.mlp.fc2.bias),
        "post_ln_weight": t(vm.post_layernorm.weight), "post_ln_bias": t(vm.post_layernorm.bias),
    }


def export_dino(torch, ckpt, out, route):
    """ProxyCLIP's proxy: a transformers ViTModel (DINO) whose last_hidden_state patch rows (the
    final LayerNorm applied, as DINO's get_intermediate_layers returns them) give the patch
    similarities. Input ImageNet-normalised pixels [1,3,H,W] (H, W multiples of the patch), output
    dino_features [1, (H/p)(W/p), C]; the positional table is interpolated inside the graph
    (transformers' interpolate_pos_encoding)."""
    from transformers import ViTModel
    from torch.export import Dim
    model = ViTModel.from_pretrained(ckpt, attn_implementation="eager", dtype=torch.float32,
                                     add_pooling_layer=False).eval()
    p = int(model.config.patch_size)

    class Dino(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            return self.m(pixel_values, interpolate_pos_encoding=True).last_hidden_state[:, 1:]

    path = os.path.join(out, "dino.onnx")
    ex = torch.randn(1, 3, p * 9, p * 13)
    r = export_onnx(torch, Dino(model), (ex,), path, ["pixel_values"], ["dino_features"],
                    {"pixel_values": {2: Dim.DYNAMIC, 3: Dim.DYNAMIC}},
                    {"pixel_values": {2: "height", 3: "width"}, "dino_features": {1: "patches"}},
                    {"pixel_values": [1, 3, "height", "width"], "dino_features": [1, "patches", int(model.config.hidden_size)]},
                    route)
    px = np.random.default_rng(7).standard_normal((1, 3, p * 6, p * 10)).astype(np.float32)
    with torch.no_grad():
        ref = Dino(model)(torch.from_numpy(px)).numpy()
    (got,) = ort_session(path).run(["dino_features"], {"pixel_values": px})
    err = float(np.max(np.abs(got - ref)))
    log(f"exported dino.onnx ({r}); max|ort-torch| = {err:.3e}")
    if err > FP32_TOL * max(1.0, float(np.max(np.abs(ref)))):
        raise RuntimeError(f"dino.onnx differs from torch by {err}")
    C = int(model.config.hidden_size)
    entry = {"file": "dino.onnx", "sha256": sha256(path), "precision": "fp32",
             "inputs": [{"name": "pixel_values", "dtype": "float32", "shape": [1, 3, "height", "width"]}],
             "outputs": [{"name": "dino_features", "dtype": "float32", "shape": [1, "patches", C]}]}
    return {"entry": entry, "patch": p, "checkpoint": os.path.basename(os.path.abspath(ckpt).rstrip("/"))}


# ----------------------------------------------------------------------------- manifest
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def family(vcfg):
    d, n, p, s = vcfg.hidden_size, vcfg.num_hidden_layers, vcfg.patch_size, vcfg.image_size
    size = {(768, 12): "b", (1024, 24): "l", (1280, 32): "h", (1664, 48): "g"}.get((d, n))
    name = f"clip-vit-{size}{p}" if size else f"clip-vit-d{d}-l{n}-p{p}"
    if s != 224:
        name += f"-{s}"
    return name


def read_norm(ckpt, imagenet):
    if imagenet:
        return IMAGENET_MEAN, IMAGENET_STD, "imagenet (--imagenet-norm)"
    p = os.path.join(ckpt, "preprocessor_config.json")
    if os.path.exists(p):
        with open(p) as f:
            cfg = json.load(f)
        if "image_mean" in cfg and "image_std" in cfg:
            return [float(x) for x in cfg["image_mean"]], [float(x) for x in cfg["image_std"]], \
                "preprocessor_config.json"
    return CLIP_MEAN, CLIP_STD, "clip default"


# ----------------------------------------------------------------------------- OpenAI .pt (ViT)
def load_openai_vit(torch, path):
    """An OpenAI CLIP ViT checkpoint (.pt: TorchScript archive or state dict) as a transformers CLIPModel.

    Same key mapping as transformers' convert_clip_original_pytorch_to_hf.py. ModifiedResNet
    (RN50, RN101, ...) image towers are not supported by bundle v1's MaskCLIP ViT graph.
    """
    from transformers import CLIPConfig, CLIPModel
    try:
        sd = torch.jit.load(path, map_location="cpu").state_dict()
    except Exception:  # noqa: BLE001 - a plain state dict saved with torch.save
        sd = torch.load(path, map_location="cpu", weights_only=True)
        sd = sd.get("state_dict", sd)
    sd = {k: v.float() for k, v in sd.items()}
    if "visual.conv1.weight" not in sd:
        raise RuntimeError(f"{path}: not an OpenAI CLIP ViT checkpoint (ResNet image towers, e.g. RN50, "
                           "are not supported: bundle v1's dense graph is the ViT MaskCLIP path)")

    def count(prefix):
        return len({k.split(".")[len(prefix.split("."))] for k in sd if k.startswith(prefix)})

    vw, patch = sd["visual.conv1.weight"].shape[0], sd["visual.conv1.weight"].shape[-1]
    grid = int(round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5))
    tw = sd["ln_final.weight"].shape[0]
    embed = sd["text_projection"].shape[1]
    vision = dict(hidden_size=vw, intermediate_size=sd["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
                  num_hidden_layers=count("visual.transformer.resblocks."), num_attention_heads=vw // 64,
                  patch_size=patch, image_size=patch * grid, hidden_act="quick_gelu", projection_dim=embed)
    text = dict(hidden_size=tw, intermediate_size=sd["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
                num_hidden_layers=count("transformer.resblocks."), num_attention_heads=tw // 64,
                vocab_size=sd["token_embedding.weight"].shape[0],
                max_position_embeddings=sd["positional_embedding"].shape[0], hidden_act="quick_gelu",
                bos_token_id=49406, eos_token_id=49407, pad_token_id=1, projection_dim=embed)
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=embed)
    model = CLIPModel._from_config(config, attn_implementation="eager").eval()

    hf = {}

    from resnet_clip import move_block_to_hf

    def block(src, dst):
        move_block_to_hf(sd, src, dst, hf)

    for i in range(vision["num_hidden_layers"]):
        block(f"visual.transformer.resblocks.{i}.", f"vision_model.encoder.layers.{i}.")
    for i in range(text["num_hidden_layers"]):
        block(f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}.")
    hf["vision_model.embeddings.patch_embedding.weight"] = sd.pop("visual.conv1.weight")
    hf["vision_model.embeddings.class_embedding"] = sd.pop("visual.class_embedding")
    hf["vision_model.embeddings.position_embedding.weight"] = sd.pop("visual.positional_embedding")
    for a, c in (("visual.ln_pre", "vision_model.pre_layrnorm"), ("visual.ln_post", "vision_model.post_layernorm"),
                 ("ln_final", "text_model.final_layer_norm")):
        hf[c + ".weight"], hf[c + ".bias"] = sd.pop(a + ".weight"), sd.pop(a + ".bias")
    hf["visual_projection.weight"] = sd.pop("visual.proj").T.contiguous()
    hf["text_projection.weight"] = sd.pop("text_projection").T.contiguous()
    hf["text_model.embeddings.token_embedding.weight"] = sd.pop("token_embedding.weight")
    hf["text_model.embeddings.position_embedding.weight"] = sd.pop("positional_embedding")
    hf["logit_scale"] = sd.pop("logit_scale")
    left = sorted(k for k in sd if k not in ("input_resolution", "context_length", "vocab_size"))
    if left:
        raise RuntimeError(f"{path}: unmapped OpenAI keys: {left[:8]}{' ...' if len(left) > 8 else ''}")
    missing, unexpected = model.load_state_dict(hf, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"conversion mismatch: missing {missing[:8]}, unexpected {unexpected[:8]}")
    return model


# ----------------------------------------------------------------------------- ResNet (MaskCLIP RN50)
def export_resnet(args, torch, rc, ckpt, t_start):
    """Bundle for an OpenAI CLIP ResNet checkpoint: dense feature map graph + attention-pool v/c arrays."""
    import copy
    from torch.export import Dim
    visual, text = rc.load_checkpoint(ckpt)
    D = visual.conv3.weight.shape[0] * 32
    E = visual.attnpool.c_proj.weight.shape[0]
    P = 32
    ap_ = visual.attnpool
    arrays = {"attnpool_v_weight": ap_.v_proj.weight, "attnpool_v_bias": ap_.v_proj.bias,
              "attnpool_c_weight": ap_.c_proj.weight, "attnpool_c_bias": ap_.c_proj.bias}
    arrays = {k: v.detach().float().numpy().copy() for k, v in arrays.items()}
    Dv = arrays["attnpool_v_weight"].shape[0]
    assert arrays["attnpool_v_weight"].shape == (Dv, D) and arrays["attnpool_c_weight"].shape == (E, Dv)
    mean, std, norm_src = read_norm(ckpt if os.path.isdir(ckpt) else os.path.dirname(ckpt), args.imagenet_norm)
    if not args.imagenet_norm and not os.path.isdir(ckpt):
        mean, std, norm_src = CLIP_MEAN, CLIP_STD, "clip default"
    fam = rc.family(visual)

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    _, TextEmbeds = build_modules(torch)
    files = {"image": "image.onnx", "text": "text.onnx"}
    if not args.no_fp16:
        files.update(image_fp16="image.fp16.onnx", text_fp16="text.fp16.onnx")
    img_dims = {"pixel_values": [1, 3, "height", "width"], "dense_features": [1, "patches", D],
                "dense_keys": [1, "patches", D]}
    txt_dims = {"input_ids": ["batch", "length"], "text_embeds": ["batch", E]}
    ex_px = torch.randn(1, 3, P * 10 + 7, P * 14 + 21)  # not multiples of 32: the graph runs unpadded
    ex_ids = torch.from_numpy(random_ids(np.random.default_rng(0), 2, 16))
    img_dyn_shapes = {"pixel_values": {2: Dim.DYNAMIC, 3: Dim.DYNAMIC}}
    img_dyn_axes = {"pixel_values": {2: "height", 3: "width"}, "dense_features": {1: "patches"},
                    "dense_keys": {1: "patches"}}
    txt_dyn_shapes = {"input_ids": {0: Dim.DYNAMIC, 1: Dim.DYNAMIC}}
    txt_dyn_axes = {"input_ids": {0: "batch", 1: "length"}, "text_embeds": {0: "batch"}}

    routes, graph_info = {}, {}
    for prec in (["fp32"] + ([] if args.no_fp16 else ["fp16"])):
        dt = torch.float32 if prec == "fp32" else torch.float16
        vis = visual if prec == "fp32" else copy.deepcopy(visual).to(dt)
        txt = text if prec == "fp32" else copy.deepcopy(text).to(dt)
        key = "" if prec == "fp32" else "_fp16"
        t0 = time.time()
        p = os.path.join(out, files["image" + key])
        routes["image" + key] = export_onnx(torch, rc.DenseResNet(vis, dt), (ex_px,), p, ["pixel_values"],
                                            ["dense_features", "dense_keys"], img_dyn_shapes, img_dyn_axes, img_dims, args.route)
        graph_info["image" + key] = check_graph(p)
        log(f"exported {files['image' + key]} ({routes['image' + key]}, {time.time() - t0:.1f}s, "
            f"{os.path.getsize(p) / 1e6:.1f} MB)")
        t0 = time.time()
        p = os.path.join(out, files["text" + key])
        routes["text" + key] = export_onnx(torch, TextEmbeds(txt.text_model, txt.text_projection, dt), (ex_ids,), p,
                                           ["input_ids"], ["text_embeds"], txt_dyn_shapes, txt_dyn_axes,
                                           txt_dims, args.route)
        graph_info["text" + key] = check_graph(p)
        log(f"exported {files['text' + key]} ({routes['text' + key]}, {time.time() - t0:.1f}s, "
            f"{os.path.getsize(p) / 1e6:.1f} MB)")
    for k, a in arrays.items():
        np.save(os.path.join(out, k + ".npy"), a.astype(np.float32))

    check = None
    if not args.no_check:
        # fp32: max abs <= 1e-4 * max(1, max|torch|) (ResNet feature maps are not layer-normalised)
        t0 = time.time()
        log("self-check (ONNX Runtime vs torch):")
        rng = np.random.default_rng(1234)
        results, failures = {}, []

        def record(name, o, ref, fp16_graph):
            err, scale = float(np.max(np.abs(o - ref))), float(np.max(np.abs(ref)))
            bound = FP16_REL_TOL * max(scale, 1e-6) if fp16_graph else FP32_TOL * max(1.0, scale)
            ok = err <= bound
            results[name] = {"max_abs_err": err, "max_abs_ref": scale, "ok": ok}
            log(f"  {name:44s} max|ort-torch| = {err:.3e} (max|torch| {scale:.3g}) <= {bound:.3g} "
                f"{'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(name)

        sess = {k: ort_session(os.path.join(out, f)) for k, f in files.items()}
        for (h, w) in [(224, 224), (375, 500)]:  # the second unpadded (grid 11 x 15)
            px = rng.standard_normal((1, 3, h, w)).astype(np.float32)
            with torch.no_grad():
                ref = visual.features(torch.from_numpy(px)).flatten(2).transpose(1, 2)
                ref_k = visual.attnpool.k_proj(ref).numpy()
                ref = ref.numpy()
            assert ref.shape[1] == rc.grid_side(h) * rc.grid_side(w), (ref.shape, h, w)
            for prec in ["fp32"] + ([] if args.no_fp16 else ["fp16"]):
                t1 = time.time()
                f, k = sess["image" + ("" if prec == "fp32" else "_fp16")].run(["dense_features", "dense_keys"],
                                                                              {"pixel_values": px})
                assert f.shape == ref.shape, (f.shape, ref.shape)
                record(f"image {prec} {h}x{w} dense_features ({time.time() - t1:.2f}s)", f, ref, prec == "fp16")
                record(f"image {prec} {h}x{w} dense_keys", k, ref_k, prec == "fp16")
        for (batch, length) in [(3, 77), (2, 9)]:
            ids = random_ids(rng, batch, length)
            with torch.no_grad():
                ref = text.get_text_features(torch.from_numpy(ids)).numpy()
            for prec in ["fp32"] + ([] if args.no_fp16 else ["fp16"]):
                (o,) = sess["text" + ("" if prec == "fp32" else "_fp16")].run(["text_embeds"], {"input_ids": ids})
                record(f"text {prec} batch {batch} length {length}", o, ref, prec == "fp16")
        check = {"fp32_tolerance": f"{FP32_TOL:g} * max(1, max|torch|)", "fp16_relative_tolerance": FP16_REL_TOL,
                 "results": results}
        log(f"self-check took {time.time() - t0:.1f}s")
        if failures:
            log(f"error: self-check failed: {', '.join(failures)}")
            return 1

    def net(kind, inputs, outputs):
        return network_entry(out, files, kind, inputs, outputs)

    manifest = {
        "format_version": 1,
        "pipeline": "maskclip",
        "family": fam,
        "networks": {
            "image": net("image", [{"name": "pixel_values", "dtype": "float32", "shape": [1, 3, "height", "width"]}],
                         [{"name": "dense_features", "dtype": "float32", "shape": [1, "patches", D]},
                          {"name": "dense_keys", "dtype": "float32", "shape": [1, "patches", D]}]),
            "text": net("text", [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "length"]}],
                        [{"name": "text_embeds", "dtype": "float32", "shape": ["batch", E]}]),
        },
        "arrays": {k: array_entry(out, k, a.shape) for k, a in arrays.items()},
        "preprocessing": {
            "size_policy": "short-side", "size": 512, "max_long_side": 2048,
            "mean": mean, "std": std, "patch_size": P, "position_grid": 0, "width": D,
            "interpolation": "bilinear, align_corners=false",
            "pos_embed_interpolation": "none",
            "padding": "none (as the official ResNetClip: the stride-2 stem conv and four 2x2 average "
                       "pools give the grid, ((side + 1) // 2) // 16)",
        },
        "text": {"tokenizer": "clip-bpe", "context_length": int(text.config.max_position_embeddings),
                 "template_set": "imagenet80"},
        "embed_dim": E,
        "logit_scale": 1.0,
        "defaults": {"key_smoothing": 0.0, "prompt_denoising": 0.0},
        "source": {
            "checkpoint": os.path.basename(ckpt.rstrip("/")),
            "exporter": "tools/export/export_clip.py",
            **tool_versions(torch),
            "opset": OPSET,
            "export_routes": routes,
            "normalization": norm_src,
            "notes": ("MaskCLIP ResNet: dense_features is the ModifiedResNet feature map before the attention "
                      "pool (stride 32, row-major, input not padded); dense_keys = attnpool.k_proj(f) (key "
                      "smoothing); the head is z = c_proj(v_proj(f)) per pixel with both "
                      "biases (attnpool_* arrays; the attention-pool positional embedding is not used). "
                      "mean/std from " + norm_src + ". Text graph pools at argmax(input_ids). The checkpoint's "
                      "logit_scale is not used (raw cosines)."),
        },
    }
    write_manifest(out, manifest, check)
    log(f"wrote bundle {out} ({fam}, D={D}, E={E}, stride {P}, opset {graph_info['image'][0]}) "
        f"in {time.time() - t_start:.1f}s")
    return 0


# ----------------------------------------------------------------------------- main
def export_int8(args, torch, out, files, pos_table, head, mean, std, patch):
    """image.int8.onnx next to image.onnx, with its accuracy against fp32 on the same weights
    (unless --no-check); returns (source.int8 for bundle.json, failures)."""
    import int8_clip
    images = int8_clip.sample_images(args.int8_images)
    if len(images) < 2:
        raise RuntimeError(f"--int8 needs images in {args.int8_images}")
    calib, held_out = images[:4], images[4:7] or images[:1]
    files["image_int8"] = "image.int8.onnx"
    info = int8_clip.quantize(torch, resize_pos_embed, os.path.join(out, files["image"]),
                              os.path.join(out, files["image_int8"]), pos_table, calib, 320, mean, std, patch)
    failures = []
    if not args.no_check:
        log("int8 check (ONNX Runtime int8 vs fp32 graph, same weights, images not used to calibrate, short side 512):")
        per_image = int8_clip.accuracy(torch, resize_pos_embed, os.path.join(out, files["image"]),
                                       os.path.join(out, files["image_int8"]), os.path.join(out, files["text"]),
                                       head, pos_table, held_out, 512, mean, std, patch)
        failures = int8_clip.verdict(per_image)
        info["check"] = {"near_tie": f"fp32 top-2 margin < {int8_clip.NEAR_TIE:g} x the fp32 logits' spread",
                         "bounds": "cosine mean >= 0.99, label agreement outside near-ties >= 99%, >= 50% clear",
                         "labels": "12 random token prompts through the bundle's text graph", "results": per_image}
    return info, failures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True,
                    help="transformers CLIP directory (config.json + weights), or an OpenAI CLIP ViT .pt file")
    ap.add_argument("--save-hf", metavar="DIR",
                    help="with an OpenAI .pt: also save the converted transformers checkpoint here "
                         "(for tools/reference/maskclip_reference.py)")
    ap.add_argument("--out", required=True, help="bundle directory to write (created)")
    ap.add_argument("--imagenet-norm", action="store_true",
                    help="use ImageNet mean/std (as the official MaskCLIP configs do) instead of CLIP's")
    ap.add_argument("--no-fp16", action="store_true", help="skip the fp16 variants")
    ap.add_argument("--official-maskclip-vit", action="store_true",
                    help="vision tower as the official MaskCLIP ViT: exact GELU, LayerNorm eps 1e-6 "
                         "(default: CLIP's QuickGELU, eps 1e-5)")
    ap.add_argument("--dino", metavar="DIR",
                    help="a transformers ViTModel checkpoint (e.g. facebook/dino-vitb8) whose patch features "
                         "ProxyCLIP uses as its proxy attention; written as network 'dino'")
    ap.add_argument("--no-check", action="store_true", help="skip the ONNX Runtime self-check")
    ap.add_argument("--int8", action="store_true",
                    help="also write image.int8.onnx (static int8 quantisation, per-channel weights; "
                         "ViT only) and check it against fp32 (dense-feature cosine, label agreement)")
    ap.add_argument("--int8-images", metavar="DIR", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                                         "..", "data", "voc-samples"),
                    help="images for --int8: the first 4 calibrate, the next 3 check (default tools/data/voc-samples)")
    ap.add_argument("--route", choices=["auto", "dynamo", "torchscript"], default="auto",
                    help="torch.onnx exporter (auto: dynamo, then TorchScript if dynamo fails)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: default)")
    args = ap.parse_args(argv)

    torch = import_torch_quietly(args.threads)
    from transformers import CLIPModel

    t_start = time.time()
    ckpt = os.path.abspath(args.checkpoint)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import resnet_clip
    if resnet_clip.is_resnet_checkpoint(ckpt):
        if args.official_maskclip_vit or args.int8:
            log("error: --official-maskclip-vit and --int8 apply to ViT checkpoints only")
            return 2
        return export_resnet(args, torch, resnet_clip, ckpt, t_start)
    if os.path.isfile(ckpt):
        model = load_openai_vit(torch, ckpt)
        if args.save_hf:
            model.save_pretrained(args.save_hf, safe_serialization=True)
            with open(os.path.join(args.save_hf, "preprocessor_config.json"), "w") as f:
                json.dump({"image_processor_type": "CLIPImageProcessor", "image_mean": CLIP_MEAN,
                           "image_std": CLIP_STD}, f, indent=2)
            log(f"saved the converted transformers checkpoint to {args.save_hf}")
        model = CLIPModel.from_pretrained(args.save_hf, attn_implementation="eager", dtype=torch.float32).eval() \
            if args.save_hf else model
    elif os.path.exists(os.path.join(ckpt, "config.json")):
        model = CLIPModel.from_pretrained(ckpt, attn_implementation="eager", dtype=torch.float32).eval()
    else:
        log(f"error: {ckpt} is neither a transformers CLIP directory (config.json) nor an OpenAI .pt file")
        return 2
    vcfg, tcfg = model.config.vision_config, model.config.text_config
    vm, tm = vision_tower(model), text_tower(model)
    variant = "clip (QuickGELU, LayerNorm eps 1e-5)"
    if args.official_maskclip_vit:
        n_ln = 0
        for mod in vm.modules():
            if isinstance(mod, torch.nn.LayerNorm):
                mod.eps = 1e-6
                n_ln += 1
        for layer in vm.encoder.layers:
            layer.mlp.activation_fn = torch.nn.GELU()  # erf form, as mmcv's FFN
        variant = "maskclip-official (exact GELU, LayerNorm eps 1e-6)"
        log(f"vision tower: official MaskCLIP variant ({n_ln} LayerNorms at eps 1e-6, exact GELU)")
    D, E, P = vcfg.hidden_size, model.config.projection_dim, vcfg.patch_size
    pos_table = vm.embeddings.position_embedding.weight.detach().float().numpy().copy()
    grid = int(round((pos_table.shape[0] - 1) ** 0.5))
    assert grid * grid + 1 == pos_table.shape[0], pos_table.shape
    head = model.visual_projection.weight.detach().float().numpy().copy()  # [E, D]
    assert head.shape == (E, D), head.shape
    if getattr(model.visual_projection, "bias", None) is not None:
        raise RuntimeError("visual_projection has a bias; bundle v1 expects z = W f")
    if getattr(tcfg, "eos_token_id", None) not in (2, 49407):
        log(f"warning: text eos_token_id = {tcfg.eos_token_id}; the graph pools at argmax(input_ids)")
    mean, std, norm_src = read_norm(ckpt, args.imagenet_norm)

    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    DenseImage, TextEmbeds = build_modules(torch)
    from torch.export import Dim

    files = {"image": "image.onnx", "text": "text.onnx"}
    if not args.no_fp16:
        files.update(image_fp16="image.fp16.onnx", text_fp16="text.fp16.onnx")

    img_dims = {"pixel_values": [1, 3, "height", "width"], "pos_embed": [1, "tokens", D],
                "dense_features": [1, "patches", D], "dense_keys": [1, "patches", D],
                "last_block_input": [1, "tokens", D]}
    txt_dims = {"input_ids": ["batch", "length"], "text_embeds": ["batch", E]}
    # example shapes: non-square, larger than the checkpoint grid
    ex_h, ex_w = P * (grid + 3), P * (grid + 7)
    ex_px = torch.randn(1, 3, ex_h, ex_w)
    ex_pos = resize_pos_embed(torch, pos_table, ex_h // P, ex_w // P)
    ex_ids = torch.from_numpy(random_ids(np.random.default_rng(0), 2, 16))
    img_dyn_shapes = {"pixel_values": {2: Dim.DYNAMIC, 3: Dim.DYNAMIC}, "pos_embed": {1: Dim.DYNAMIC}}
    img_dyn_axes = {"pixel_values": {2: "height", 3: "width"}, "pos_embed": {1: "tokens"},
                    "dense_features": {1: "patches"}, "dense_keys": {1: "patches"},
                    "last_block_input": {1: "tokens"}}
    txt_dyn_shapes = {"input_ids": {0: Dim.DYNAMIC, 1: Dim.DYNAMIC}}
    txt_dyn_axes = {"input_ids": {0: "batch", 1: "length"}, "text_embeds": {0: "batch"}}

    routes = {}
    graph_info = {}
    for prec in (["fp32"] + ([] if args.no_fp16 else ["fp16"])):
        dt = torch.float32 if prec == "fp32" else torch.float16
        import copy
        m = model if prec == "fp32" else copy.deepcopy(model).to(torch.float16)
        vmp, tmp_ = vision_tower(m), text_tower(m)
        key = "" if prec == "fp32" else "_fp16"
        t0 = time.time()
        p = os.path.join(out, files["image" + key])
        routes["image" + key] = export_onnx(torch, DenseImage(vmp, dt), (ex_px, ex_pos), p,
                                            ["pixel_values", "pos_embed"],
                                            ["dense_features", "dense_keys", "last_block_input"],
                                            img_dyn_shapes, img_dyn_axes, img_dims, args.route)
        graph_info["image" + key] = check_graph(p)
        log(f"exported {files['image' + key]} ({routes['image' + key]}, {time.time() - t0:.1f}s, "
            f"{os.path.getsize(p) / 1e6:.1f} MB)")
        t0 = time.time()
        p = os.path.join(out, files["text" + key])
        routes["text" + key] = export_onnx(torch, TextEmbeds(tmp_, m.text_projection, dt), (ex_ids,), p,
                                           ["input_ids"], ["text_embeds"], txt_dyn_shapes, txt_dyn_axes,
                                           txt_dims, args.route)
        graph_info["text" + key] = check_graph(p)
        log(f"exported {files['text' + key]} ({routes['text' + key]}, {time.time() - t0:.1f}s, "
            f"{os.path.getsize(p) / 1e6:.1f} MB)")
        if m is not model:
            del m

    np.save(os.path.join(out, "pos_embed.npy"), pos_table.astype(np.float32))
    np.save(os.path.join(out, "head_weight.npy"), head.astype(np.float32))
    last_arrays = last_block_arrays(vm)
    for k, a in last_arrays.items():
        np.save(os.path.join(out, k + ".npy"), a)
    dino = export_dino(torch, args.dino, out, args.route) if args.dino else None

    int8_info, int8_failures = None, []
    if args.int8:
        int8_info, int8_failures = export_int8(args, torch, out, files, pos_table, head, mean, std, P)

    check = None
    if not args.no_check:
        t0 = time.time()
        log("self-check (ONNX Runtime vs torch):")
        results, failures = self_check(torch, model, out, files, not args.no_fp16, pos_table, P)
        check = {"fp32_tolerance": FP32_TOL, "fp16_relative_tolerance": FP16_REL_TOL,
                 "results": results}
        log(f"self-check took {time.time() - t0:.1f}s")
        if failures:
            log(f"error: self-check failed: {', '.join(failures)}")
            return 1
    if int8_failures:
        log(f"error: int8 check failed: {'; '.join(int8_failures)}")
        return 1

    def net(kind, inputs, outputs):
        return network_entry(out, files, kind, inputs, outputs)

    manifest = {
        "format_version": 1,
        "pipeline": "maskclip",
        "family": family(vcfg),
        "networks": {
            "image": net("image",
                         [{"name": "pixel_values", "dtype": "float32", "shape": [1, 3, "height", "width"]},
                          {"name": "pos_embed", "dtype": "float32", "shape": [1, "tokens", D]}],
                         [{"name": "dense_features", "dtype": "float32", "shape": [1, "patches", D]},
                          {"name": "dense_keys", "dtype": "float32", "shape": [1, "patches", D]},
                          {"name": "last_block_input", "dtype": "float32", "shape": [1, "tokens", D]}]),
            "text": net("text",
                        [{"name": "input_ids", "dtype": "int64", "shape": ["batch", "length"]}],
                        [{"name": "text_embeds", "dtype": "float32", "shape": ["batch", E]}]),
        },
        "arrays": {"pos_embed": array_entry(out, "pos_embed", pos_table.shape),
                   "head_weight": array_entry(out, "head_weight", head.shape),
                   **{k: array_entry(out, k, a.shape) for k, a in last_arrays.items()}},
        "preprocessing": {
            "size_policy": "short-side", "size": 512, "max_long_side": 2048,
            "mean": mean, "std": std, "patch_size": P, "position_grid": grid, "width": D,
            "interpolation": "bilinear, align_corners=false",
            "pos_embed_interpolation": "bicubic, align_corners=false",
            "padding": "zero, bottom-right, to a multiple of patch_size",
        },
        "text": {"tokenizer": "clip-bpe", "context_length": int(tcfg.max_position_embeddings),
                 "template_set": "imagenet80"},
        "embed_dim": E,
        "logit_scale": 1.0,
        "defaults": {"key_smoothing": 0.0, "prompt_denoising": 0.0,
                     # what the MaskCLIP family needs to re-run the last block (FAMILY.md)
                     "last_block_heads": int(vcfg.num_attention_heads),
                     "last_block_layer_norm_eps": float(vm.post_layernorm.eps),
                     "last_block_activation": "gelu" if args.official_maskclip_vit else "quick_gelu",
                     **({"dino_patch_size": dino["patch"]} if dino else {})},
        "source": {
            "checkpoint": os.path.basename(ckpt.rstrip("/")),
            "exporter": "tools/export/export_clip.py",
            **tool_versions(torch),
            "opset": OPSET,
            "export_routes": routes,
            "normalization": norm_src,
            "vision_variant": variant,
            **({"dino_checkpoint": dino["checkpoint"]} if dino else {}),
            **({"int8": int8_info} if int8_info else {}),
            "notes": ("mean/std from " + norm_src + "; official MaskCLIP configs normalise with ImageNet "
                      "mean/std (0.485,0.456,0.406)/(0.229,0.224,0.225) instead of CLIP's "
                      "(export with --imagenet-norm for that). Text graph pools at argmax(input_ids) "
                      "(the end token 49407) and is causal, so trailing padding does not change "
                      "text_embeds. The checkpoint's logit_scale is not used (raw cosines)."),
        },
    }
    if dino:
        manifest["networks"]["dino"] = dino["entry"]
    write_manifest(out, manifest, check)
    log(f"wrote bundle {out} ({family(vcfg)}, D={D}, E={E}, grid {grid}, opset "
        f"{graph_info['image'][0]}) in {time.time() - t_start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""int8 variant of a MaskCLIP image graph (used by export_clip.py --int8).

Static quantisation with ONNX Runtime (onnxruntime.quantization.quantize_static): QDQ format,
weights int8 per output channel (symmetric), activations uint8 per tensor (MinMax over a few
calibration images). Only MatMul/Gemm nodes whose second input is a weight (an initializer) are
quantised: the attention products (Q K^T, softmax x V) take two activations, and a per-tensor
uint8 softmax output cannot hold probabilities of ~1/tokens (they would round to 0). The patch
embedding Conv, LayerNorms, softmax and GELU stay fp32. ORT's CPU provider fuses each
DequantizeLinear -> MatMul <- DequantizeLinear(QuantizeLinear) group into its integer
MatMul kernels (U8S8), so QDQ runs as fast as the QOperator form and stays a plain ONNX graph.

accuracy() states the variant against the fp32 graph on the same weights: per-patch cosine of
dense_features, and agreement of per-patch labels (argmax over classes of cos(W f, t) for text
embeddings t from the bundle's own text graph) where the fp32 top-2 margin is not a near-tie.
"""
import glob
import os
import time

import numpy as np

# A label is a near-tie when the fp32 top-2 margin is below this fraction of the fp32 logits'
# spread (max - min over the image and the classes); int8 rounding may flip those either way.
NEAR_TIE = 0.01


def _log(msg):
    print(msg, flush=True)


def load_image(path, short_side, mean, std, patch):
    """CHW float32, resized (short side, bilinear), normalised, zero-padded to the patch grid."""
    import cv2
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise RuntimeError(f"cannot read {path}")
    img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    h, w = img.shape[:2]
    s = short_side / min(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255.0
    img = (img - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    ph, pw = -(-nh // patch) * patch, -(-nw // patch) * patch
    out = np.zeros((3, ph, pw), np.float32)
    out[:, :nh, :nw] = img.transpose(2, 0, 1)
    return out


def sample_images(folder):
    return sorted(glob.glob(os.path.join(folder, "*_image.png")) + glob.glob(os.path.join(folder, "*.jpg")))


def _feeds(torch, resize_pos_embed, pos_table, images, short_side, mean, std, patch):
    for p in images:
        px = load_image(p, short_side, mean, std, patch)[None]
        pos = resize_pos_embed(torch, pos_table, px.shape[2] // patch, px.shape[3] // patch).numpy()
        yield {"pixel_values": px, "pos_embed": pos}


def _weight_matmuls(model):
    """Names of MatMul/Gemm nodes whose B input is an initializer (possibly through a Transpose)."""
    inits = {t.name for t in model.graph.initializer}
    consts = set(inits)
    for n in model.graph.node:
        if n.op_type in ("Constant",):
            consts.update(n.output)
        if n.op_type == "Transpose" and n.input[0] in consts:
            consts.update(n.output)
    return [n.name for n in model.graph.node if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1
            and n.input[1] in consts]


def quantize(torch, resize_pos_embed, fp32_path, int8_path, pos_table, calib_images, short_side, mean, std, patch):
    """Writes int8_path; returns a description of what was quantised for bundle.json."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    t0 = time.time()
    work = int8_path + ".work"
    os.makedirs(work, exist_ok=True)
    pre = os.path.join(work, "pre.onnx")
    quant_pre_process(fp32_path, pre, skip_symbolic_shape=True)
    nodes = _weight_matmuls(onnx.load(pre, load_external_data=False))
    if not nodes:
        raise RuntimeError("no MatMul/Gemm with a weight input found to quantise")

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = _feeds(torch, resize_pos_embed, pos_table, calib_images, short_side, mean, std, patch)

        def get_next(self):
            return next(self.it, None)

    quantize_static(pre, int8_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    nodes_to_quantize=nodes, op_types_to_quantize=["MatMul", "Gemm"],
                    extra_options={"CalibTensorRangeSymmetric": False})
    for f in os.listdir(work):
        os.remove(os.path.join(work, f))
    os.rmdir(work)
    _log(f"quantised {len(nodes)} weight MatMul/Gemm nodes to int8 (QDQ, per-channel weights, "
         f"{len(calib_images)} calibration images at short side {short_side}) in {time.time() - t0:.1f}s")
    return {"format": "QDQ", "weights": "int8 symmetric per output channel",
            "activations": "uint8 per tensor, MinMax calibration",
            "calibration_images": [os.path.basename(p) for p in calib_images],
            "calibration_short_side": short_side, "quantized_nodes": len(nodes),
            "quantized_ops": "MatMul/Gemm with a weight input (attention products, Conv, norms stay fp32)"}


def accuracy(torch, resize_pos_embed, fp32_path, int8_path, text_path, head, pos_table, images, short_side,
             mean, std, patch, classes=12, seed=7):
    """Per-image cosine and label agreement of the int8 graph against the fp32 one."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s32 = ort.InferenceSession(fp32_path, so, providers=["CPUExecutionProvider"])
    s8 = ort.InferenceSession(int8_path, so, providers=["CPUExecutionProvider"])
    st = ort.InferenceSession(text_path, so, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    ids = np.zeros((classes, 12), np.int64)
    for c in range(classes):  # random "prompts": start token, 6 random tokens, end token
        ids[c, 0], ids[c, 1:7], ids[c, 7] = 49406, rng.integers(1, 49406, 6), 49407
    (t,) = st.run(["text_embeds"], {"input_ids": ids})
    t = t / np.linalg.norm(t, axis=1, keepdims=True)
    per_image = []
    for path, feed in zip(images, _feeds(torch, resize_pos_embed, pos_table, images, short_side, mean, std, patch)):
        t1 = time.time()
        (f32,) = s32.run(["dense_features"], feed)
        t2 = time.time()
        (f8,) = s8.run(["dense_features"], feed)
        t3 = time.time()
        f32, f8 = f32[0], f8[0]
        cos = np.sum(f32 * f8, 1) / (np.linalg.norm(f32, axis=1) * np.linalg.norm(f8, axis=1))
        l32 = _logits(f32, head, t)
        l8 = _logits(f8, head, t)
        top2 = np.sort(l32, 1)[:, -2:]
        margin = top2[:, 1] - top2[:, 0]
        clear = margin > NEAR_TIE * (l32.max() - l32.min())
        agree = np.argmax(l32, 1) == np.argmax(l8, 1)
        per_image.append({"image": os.path.basename(path), "patches": int(len(cos)),
                          "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                          "clear_fraction": float(clear.mean()),
                          "agreement_clear": float(agree[clear].mean()) if clear.any() else float("nan"),
                          "agreement_all": float(agree.mean()),
                          "fp32_s": round(t2 - t1, 3), "int8_s": round(t3 - t2, 3)})
        r = per_image[-1]
        _log(f"  int8 vs fp32 {r['image']:14s} {r['patches']} patches: cosine mean {r['cosine_mean']:.4f} "
             f"min {r['cosine_min']:.4f}; labels agree {100 * r['agreement_clear']:.2f}% outside near-ties "
             f"({100 * r['clear_fraction']:.0f}% clear), {100 * r['agreement_all']:.2f}% overall; "
             f"time fp32 {r['fp32_s']:.2f}s int8 {r['int8_s']:.2f}s")
    return per_image


def _logits(f, head, t):
    z = f @ head.T
    z = z / np.linalg.norm(z, axis=1, keepdims=True)
    return z @ t.T


def verdict(per_image, min_cosine=0.99, min_agreement=0.99, min_clear=0.5):
    """The check's failures (empty when it passes): mean cosine and clear-label agreement per image."""
    bad = []
    for r in per_image:
        if not r["cosine_mean"] >= min_cosine:
            bad.append(f"int8 {r['image']} cosine {r['cosine_mean']:.4f} < {min_cosine}")
        if not r["clear_fraction"] >= min_clear:
            bad.append(f"int8 {r['image']} only {100 * r['clear_fraction']:.0f}% of patches clear of near-ties")
        if not r["agreement_clear"] >= min_agreement:
            bad.append(f"int8 {r['image']} label agreement {100 * r['agreement_clear']:.2f}% < {100 * min_agreement:g}%")
    return bad

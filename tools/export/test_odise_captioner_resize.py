#!/usr/bin/env python3
"""Checks the captioner's crop resize (sd_modules.clip_resize) as it reaches the bundle: exported to
ONNX alone and run by onnxruntime on a 512² crop with fine detail, it must equal torch's
F.interpolate(bicubic, align_corners=False, antialias=False), the official semantics under ODISE's
pinned torchvision 0.14.1 (see clip_resize), within 1e-4 absolute (float32 rounding of the cubic weights on
detail that swings by 1 per pixel: ~5e-5 there), through both exporters export_clip tries (dynamo,
TorchScript); and it must differ from the antialiased resize (torchvision >= 0.17's default) by more than 0.05 somewhere, so the check tells
the two apart. A few seconds on the CPU."""
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main():
    import numpy as np
    import onnxruntime as ort
    import torch
    import torch.nn.functional as F
    import sd_modules as sm

    class Resize(torch.nn.Module):
        def forward(self, x):
            return sm.clip_resize(x, 336)

    g = torch.Generator().manual_seed(0)
    # a smooth image plus one-pixel checkerboard detail: the antialiasing filter removes the detail
    yy, xx = torch.meshgrid(torch.arange(512), torch.arange(512), indexing="ij")
    checker = ((yy + xx) % 2).float()
    img = (0.5 * torch.rand(1, 3, 512, 512, generator=g) + 0.5 * checker).clamp(0, 1)
    plain = F.interpolate(img, size=(336, 336), mode="bicubic", align_corners=False, antialias=False).numpy()
    aa = F.interpolate(img, size=(336, 336), mode="bicubic", align_corners=False, antialias=True).numpy()
    for dynamo in (True, False):
        if dynamo:
            model = torch.onnx.export(Resize(), (img,), None, dynamo=True, opset_version=17, input_names=["x"], output_names=["y"]).model_proto
            data = model.SerializeToString()
        else:
            buf = io.BytesIO()
            torch.onnx.export(Resize(), (img,), buf, input_names=["x"], output_names=["y"], opset_version=17, dynamo=False)
            data = buf.getvalue()
        got = ort.InferenceSession(data, providers=["CPUExecutionProvider"]).run(None, {"x": img.numpy()})[0]
        err, gap = float(np.abs(got - plain).max()), float(np.abs(got - aa).max())
        route = "dynamo" if dynamo else "torchscript"
        print(f"captioner resize 512->336 ({route}): onnx vs torch antialias=False max |d| {err:.2e}; vs antialias=True {gap:.3f}")
        if got.shape != (1, 3, 336, 336) or err > 1e-4:
            print("FAIL: the exported resize is not torch's bicubic without antialias")
            return 1
        if gap <= 0.05:
            print("FAIL: the test image does not separate antialiased from plain bicubic")
            return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

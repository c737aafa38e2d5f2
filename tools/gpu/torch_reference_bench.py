#!/usr/bin/env python3
"""Plain-PyTorch reference timings for the ovseg CUDA kernels.

Runs dense projection, mask pooling, slot attention, CaR's visual prompt (blur, blur+gray) and a
Gaussian-term-only dense CRF (the bilateral term has no plain-PyTorch formulation at these sizes)
at the same representative shapes as
kernels/harness/kernel_check.cu, written the way a PyTorch user would (F @ W.T + b, normalize,
@ T.T, argmax; einsum for mask pooling; softmax over the slot axis), timed the same way: CUDA
events around each call, 3 warm-ups, median of --reps, L2 flushed before every repetition by
writing a buffer twice the L2 size. Prints the same table columns as ovseg_kernel_check (the
cpu_ms column is left empty) so that both can be run in one device session and compared.

    python3 tools/gpu/torch_reference_bench.py [--reps 20] [--json FILE] [--tf32]

Without a CUDA device (or without torch) it prints "no GPU, skipped" and exits 0.
TF32 is off by default so that the GEMMs run the same fp32 arithmetic as the ovseg kernels;
--tf32 shows what cuBLAS reaches with tensor cores.
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json", default=None)
    ap.add_argument("--tf32", action="store_true")
    args = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as Fn
    except ImportError as e:
        print(f"no GPU, skipped: torch not importable ({e})")
        return 0
    if not torch.cuda.is_available():
        print("no GPU, skipped: torch.cuda.is_available() is False")
        return 0

    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    name = props.name
    l2 = getattr(props, "L2_cache_size", 0) or (50 << 20)
    # Peaks: no memory clock in torch's properties, so a table by name (as the harness falls
    # back to); fp32 = SMs * 128 lanes * 2 * ~1.98 GHz for Hopper.
    if "H200" in name:
        peak_bw = 4.8e12
    elif "H100" in name:
        peak_bw = 2.0e12 if "PCIe" in name else 3.35e12
    elif "A100" in name:
        peak_bw = 2.0e12
    else:
        peak_bw = 0.0
    peak_fp32 = 67e12 if ("H100" in name or "H200" in name) else (19.5e12 if "A100" in name else 0.0)

    flush = torch.empty(2 * l2, dtype=torch.uint8, device=dev)
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def time_us(fn):
        with torch.no_grad():
            for _ in range(3):
                fn()
            torch.cuda.synchronize()
            ts = []
            for r in range(args.reps):
                flush.fill_(r & 0xFF)
                start.record()
                fn()
                stop.record()
                stop.synchronize()
                ts.append(start.elapsed_time(stop) * 1e3)
        ts.sort()
        return ts[len(ts) // 2]

    rows = []
    print(f"\n{name}: peak DRAM {peak_bw / 1e9:.0f} GB/s, peak fp32 {peak_fp32 / 1e12:.1f} TFLOP/s "
          f"(non-tensor), L2 {l2 >> 20} MiB; median of {args.reps}, L2 flushed; torch {torch.__version__}"
          f"{', TF32 on' if args.tf32 else ''}")
    print(f"{'kernel':<15} {'dtype':<5} {'mode':<15} {'shape':<34} {'gpu_us':>10} {'GB/s':>9} "
          f"{'GFLOP/s':>9} {'%bw':>6} {'%fp32':>6} {'cpu_ms':>9}")

    def row(kernel, dt, mode, shape, us, nbytes, flops):
        gbs = nbytes / (us * 1e-6) / 1e9
        gfs = flops / (us * 1e-6) / 1e9
        fbw = 100 * gbs * 1e9 / peak_bw if peak_bw else 0.0
        ffp = 100 * gfs * 1e9 / peak_fp32 if peak_fp32 else 0.0
        print(f"{kernel:<15} {dt:<5} {mode:<15} {shape:<34} {us:10.1f} {gbs:9.1f} {gfs:9.1f} "
              f"{fbw:5.1f}% {ffp:5.1f}% {'':>9}")
        rows.append(dict(kernel=kernel, dtype=dt, mode=mode, shape=shape, gpu_us=us, gb_per_s=gbs,
                         gflop_per_s=gfs, frac_peak_bw=fbw / 100, frac_peak_fp32=ffp / 100,
                         bytes=nbytes, flops=flops))

    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    esize = {"fp32": 4, "fp16": 2, "bf16": 2}
    g = torch.Generator(device=dev).manual_seed(1234)

    def randn(*shape, sd=1.0):
        return torch.randn(*shape, generator=g, device=dev) * sd

    # Dense projection (MaskCLIP). Activations in dt, parameters fp32, math in fp32.
    for P, K, dt, mode in [(1024, 171, "fp32", "labels+scores"), (1024, 171, "fp16", "labels+scores"),
                           (1024, 171, "bf16", "labels+scores"), (1024, 171, "fp32", "logits"),
                           (784, 21, "fp32", "labels+scores"), (784, 21, "fp16", "labels+scores")]:
        B, D, E = 1, 768, 512
        F = randn(B, P, D).to(dtypes[dt])
        W, b, T = randn(E, D, sd=0.036), randn(E, sd=0.1), randn(K, E, sd=0.044)
        tau = 100.0

        def dense():
            z = F.float() @ W.t() + b                       # [B,P,E]
            zh = Fn.normalize(z, dim=-1, eps=1e-12)
            logits = tau * (zh @ T.t())                     # [B,P,K]
            if mode == "logits":
                return logits.transpose(1, 2).contiguous()  # [B,K,P], class-major like ovseg
            return logits.max(dim=-1)                       # scores, labels (first max)

        us = time_us(dense)
        nbytes = B * P * D * esize[dt] + 4 * (E * D + E + K * E) + (4 * B * K * P if mode == "logits" else 8 * B * P)
        row("dense_proj", dt, mode, f"B={B},P={P},D={D},E={E},K={K}", us, nbytes,
            2 * B * P * E * D + 2 * B * P * K * E)

    # Mask pooling (ODISE / X-Decoder), normalised rows.
    for dt in ["fp32", "fp16"]:
        for hard in [True, False]:
            B, C, Q, HW = 1, 768, 100, 64 * 64
            F = randn(B, C, HW).to(dtypes[dt])
            M = (randn(B, Q, HW, sd=3.0) - 2.0).to(dtypes[dt])

            def pool():
                m = (M > 0).float() if hard else torch.sigmoid(M.float())
                out = torch.einsum("bqp,bcp->bqc", m, F.float()) / (m.sum(-1, keepdim=True) + 1e-8)
                return Fn.normalize(out, dim=-1, eps=1e-12)

            us = time_us(pool)
            row("mask_pool", dt, "hard,norm" if hard else "soft,norm", f"B={B},C={C},Q={Q},HW={HW}", us,
                B * (C + Q) * HW * esize[dt] + 4 * B * Q * C, 2 * B * Q * C * HW)

    # Slot attention, one binding step, assignment returned.
    for S, hard, dt in [(8, False, "fp32"), (8, True, "fp32"), (64, False, "fp32"), (64, True, "fp32"),
                        (64, False, "fp16"), (64, False, "bf16")]:
        B, N, d, dv = 1, 784, 256, 256
        q, k, v = (randn(B, S, d).to(dtypes[dt]), randn(B, N, d).to(dtypes[dt]), randn(B, N, dv).to(dtypes[dt]))
        scale = d ** -0.5

        def slot():
            logits = scale * torch.einsum("bnd,bsd->bns", k.float(), q.float())
            if hard:
                a = Fn.one_hot(logits.argmax(-1), S).float()
            else:
                a = logits.softmax(dim=-1)                      # over slots
            w = a / (a.sum(dim=1, keepdim=True) + 1e-8)         # over tokens
            updates = torch.einsum("bns,bne->bse", w, v.float())
            return updates, a

        us = time_us(slot)
        row("slot_attention", dt, "hard,assign" if hard else "soft,assign", f"B={B},S={S},N={N},d={d},dv={dv}",
            us, B * (S * d + N * d + N * dv) * esize[dt] + 4 * B * (S * dv + N * S), 2 * B * N * S * (d + dv))

    # CaR visual prompt: blur outside the mask (15x15 Gaussian, sigma 2.6, reflect-101 borders,
    # separable, in float: OpenCV's 8-bit fixed-point path has no plain-PyTorch equivalent), then
    # gray, composited with the mask. Same shape and byte count as the harness's rows.
    H = W = 512
    rgb = torch.randint(0, 256, (1, 3, H, W), generator=g, device=dev, dtype=torch.uint8)
    yy, xx = torch.meshgrid(torch.arange(H, device=dev), torch.arange(W, device=dev), indexing="ij")
    cam = ((((yy - 0.45 * H) / (0.35 * H)) ** 2 + ((xx - 0.55 * W) / (0.35 * W)) ** 2) <= 1).float()
    taps = torch.exp(-((torch.arange(15, device=dev) - 7.0) ** 2) / (2 * 2.6 ** 2))
    taps = (taps / taps.sum()).float()
    kx, ky = taps.view(1, 1, 1, 15).repeat(3, 1, 1, 1), taps.view(1, 1, 15, 1).repeat(3, 1, 1, 1)
    gray_w = torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)
    for gray in [False, True]:
        def prompt():
            x = rgb.float()
            b = Fn.conv2d(Fn.pad(x, (7, 7, 0, 0), mode="reflect"), kx, groups=3)
            b = Fn.conv2d(Fn.pad(b, (0, 0, 7, 7), mode="reflect"), ky, groups=3)
            if gray:
                b = (b * gray_w).sum(1, keepdim=True).expand(-1, 3, -1, -1)
            inside = cam > 0.5
            return torch.where(inside, x, b).round().clamp(0, 255).to(torch.uint8)

        us = time_us(prompt)
        row("visual_prompt", "u8", "blur+gray" if gray else "blur", f"H={H},W={W}", us, 10.0 * H * W,
            2.0 * 2 * 15 * 3 * H * W)

    # Dense CRF, mean field with CaR's Gaussian (spatial) term only, as separable convolutions of
    # the marginals (sxy = 1 px: a 7-tap kernel). The bilateral term has no plain-PyTorch
    # formulation at this size (exact is N^2 = 3.5e10 pairs at 375x500), so this row is a lower
    # bound of what PyTorch would cost, not the same computation as the harness's "car" row.
    for L, H, W in [(21, 375, 500), (8, 512, 512)]:
        U = randn(1, L, H, W)
        t = torch.exp(-((torch.arange(7, device=dev) - 3.0) ** 2) / 2)
        gx, gy = t.view(1, 1, 1, 7).repeat(L, 1, 1, 1), t.view(1, 1, 7, 1).repeat(L, 1, 1, 1)

        def crf():
            q = (-U).softmax(1)
            for _ in range(10):
                m = Fn.conv2d(Fn.conv2d(q, gx, padding=(0, 3), groups=L), gy, padding=(3, 0), groups=L) - q
                q = (-U - 3.0 * m).softmax(1)
            return q

        us = time_us(crf)
        N = H * W
        row("dense_crf", "fp32", "gauss-only,10", f"L={L},H={H},W={W}", us, 8.0 * N * L + 3.0 * N,
            10 * N * L * (2 * 2 * 7 + 8))

    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=name, torch=torch.__version__, tf32=args.tf32, peak_bw_bytes_per_s=peak_bw,
                           peak_fp32_flop_per_s=peak_fp32, results=rows), f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ODISE's backbone on one crop, re-walked from the official description for the parity reference.

Independent of sd_modules' forward methods: only the parameters are read from its modules. The
block arithmetic (ldm ResBlock / ResnetBlock, SpatialTransformer with GEGLU, the VAE's single-head
attention, asymmetric downsampling pad), the q_sample constants (the ldm_linear schedule computed in
float64 as guided-diffusion does), the sinusoidal timestep embedding, the captioner and the detectron2
bottleneck projections are written out here with torch.nn.functional.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


def _gn(x, m):
    return F.group_norm(x, m.num_groups, m.weight, m.bias, m.eps)


def _conv(x, m, **kw):
    return F.conv2d(x, m.weight, m.bias, stride=m.stride, padding=m.padding, **kw)


def unet_res(m, x, emb):
    h = _conv(F.silu(_gn(x, m.in_layers[0])), m.in_layers[2])
    h = h + F.linear(F.silu(emb), m.emb_layers[1].weight, m.emb_layers[1].bias)[..., None, None]
    h = _conv(F.silu(_gn(h, m.out_layers[0])), m.out_layers[3])
    skip = x if isinstance(m.skip_connection, torch.nn.Identity) else _conv(x, m.skip_connection)
    return skip + h


def _attn(a, x, ctx, heads):
    q, k, v = x @ a.to_q.weight.T, ctx @ a.to_k.weight.T, ctx @ a.to_v.weight.T
    n, L, c = q.shape
    split = lambda t: t.reshape(n, t.shape[1], heads, c // heads).permute(0, 2, 1, 3)  # noqa: E731
    w = torch.softmax(split(q) @ split(k).transpose(-1, -2) / math.sqrt(c // heads), -1)
    o = (w @ split(v)).permute(0, 2, 1, 3).reshape(n, L, c)
    return F.linear(o, a.to_out[0].weight, a.to_out[0].bias)


def spatial_transformer(m, x, ctx, heads=8):
    n, c, H, W = x.shape
    h = _conv(_gn(x, m.norm), m.proj_in).reshape(n, c, H * W).permute(0, 2, 1)
    for b in m.transformer_blocks:
        ln = lambda t, l: F.layer_norm(t, (c,), l.weight, l.bias, l.eps)  # noqa: E731
        h = h + _attn(b.attn1, ln(h, b.norm1), ln(h, b.norm1), heads)
        h = h + _attn(b.attn2, ln(h, b.norm2), ctx, heads)
        p = F.linear(ln(h, b.norm3), b.ff.net[0].proj.weight, b.ff.net[0].proj.bias)
        half = p.shape[-1] // 2
        h = h + F.linear(p[..., :half] * F.gelu(p[..., half:]), b.ff.net[2].weight, b.ff.net[2].bias)
    return x + _conv(h.permute(0, 2, 1).reshape(n, c, H, W), m.proj_out)


def unet_block(blk, x, emb, ctx):
    for m in blk:
        name = type(m).__name__
        if hasattr(m, "in_layers"):
            x = unet_res(m, x, emb)
        elif hasattr(m, "transformer_blocks"):
            x = spatial_transformer(m, x, ctx)
        elif hasattr(m, "op"):
            x = _conv(x, m.op)
        elif name == "Upsample":
            x = _conv(F.interpolate(x, scale_factor=2.0, mode="nearest"), m.conv)
        else:  # the input convolution
            x = _conv(x, m)
    return x


def vae_res(m, x):
    h = _conv(F.silu(_gn(x, m.norm1)), m.conv1)
    h = _conv(F.silu(_gn(h, m.norm2)), m.conv2)
    return (_conv(x, m.nin_shortcut) if hasattr(m, "nin_shortcut") else x) + h


def vae_attn(m, x):
    n, c, H, W = x.shape
    h = _gn(x, m.norm)
    q, k, v = (_conv(h, t).reshape(n, c, H * W) for t in (m.q, m.k, m.v))
    w = torch.softmax(torch.einsum("nci,ncj->nij", q, k) / math.sqrt(c), -1)
    return x + _conv(torch.einsum("nij,ncj->nci", w, v).reshape(n, c, H, W), m.proj_out)


def vae_mid(mid, x):
    return vae_res(mid.block_2, vae_attn(mid.attn_1, vae_res(mid.block_1, x)))


def bottleneck(m, x):
    def cn(t, c):
        return _gn(F.conv2d(t, c.weight, None, padding=c.padding), c.norm)
    h = F.relu(cn(x, m.conv1))
    h = F.relu(cn(h, m.conv2))
    h = cn(h, m.conv3)
    return F.relu(h + (cn(x, m.shortcut) if hasattr(m, "shortcut") else x))


def clip_cls(v, img):
    side = v.conv1.kernel_size[0] * int(round(math.sqrt(v.positional_embedding.shape[0] - 1)))
    # torchvision 0.14.1's Resize on a float tensor (ODISE's pinned version): bicubic, no antialias.
    x = F.interpolate(img, size=(side, side), mode="bicubic", align_corners=False, antialias=False)
    x = (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    x = F.conv2d(x, v.conv1.weight, stride=v.conv1.stride).flatten(2).transpose(1, 2)
    x = torch.cat([v.class_embedding.expand(x.shape[0], 1, -1), x], 1) + v.positional_embedding
    c = x.shape[-1]
    ln = lambda t, l: F.layer_norm(t, (c,), l.weight, l.bias, l.eps)  # noqa: E731
    x = ln(x, v.ln_pre)
    heads = c // 64
    for b in v.transformer.resblocks:
        h = ln(x, b.ln_1)
        qkv = F.linear(h, b.attn.in_proj_weight, b.attn.in_proj_bias)
        q, k, vv = [t.reshape(x.shape[0], -1, heads, c // heads).transpose(1, 2) for t in qkv.split(c, -1)]
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // heads), -1)
        x = x + b.attn.out_proj((a @ vv).transpose(1, 2).reshape(x.shape[0], -1, c))
        m = b.mlp.c_fc(ln(x, b.ln_2))
        x = x + b.mlp.c_proj(m * torch.sigmoid(1.702 * m))
    return ln(x[:, 0], v.ln_post) @ v.proj


def backbone_features(bb, crop):
    """crop [N,3,h,w] in [0,1] -> (s2, s3, s4, s5) as FeatureExtractorBackbone.single_forward."""
    fe = bb.feature_extractor
    le = fe.ldm_extractor
    sd = le.ldm.ldm
    unet, enc, dec = sd.model.diffusion_model, sd.first_stage_model.encoder, sd.first_stage_model.decoder
    prefix = clip_cls(fe.clip.clip.visual, crop)
    pl = lambda m, t: F.linear(t, m.linear.weight, m.linear.bias)[:, None] + m.positional_embedding  # noqa: E731
    ctx = le.ldm.uncond_inputs + torch.tanh(fe.alpha_cond) * pl(fe.clip_project, prefix)
    cond = torch.tanh(fe.alpha_cond_time_embed) * pl(fe.time_embed_project, prefix)[:, 0]
    x = crop * 2 - 1
    taps = []
    # VAE encoder: taps before down[2].block[1] and down[3].block[1] (ODISE encoder indices 5, 7)
    h = _conv(x, enc.conv_in)
    for lv, level in enumerate(enc.down):
        for j, blk in enumerate(level.block):
            if (lv, j) in ((2, 1), (3, 1)):
                taps.append(h)
            h = vae_res(blk, h)
        if hasattr(level, "downsample"):
            h = _conv(F.pad(h, (0, 1, 0, 1)), level.downsample.conv)
    h = _conv(F.silu(_gn(vae_mid(enc.mid, h), enc.norm_out)), enc.conv_out)
    z = 0.18215 * _conv(h, sd.first_stage_model.quant_conv)[:, :4]
    betas = np.linspace(0.00085 ** 0.5, 0.0120 ** 0.5, 1000, dtype=np.float64) ** 2
    ac = np.cumprod(1.0 - betas)
    noise = F.interpolate(le.shared_noise, size=z.shape[-2:], mode="bicubic", align_corners=False)
    noisy = float(np.sqrt(ac[0])) * z + float(np.sqrt(1.0 - ac[0])) * noise
    mc = unet.model_channels
    freqs = torch.exp(-math.log(10000.0) * torch.arange(mc // 2, dtype=torch.float32) / (mc // 2))
    t = torch.zeros(crop.shape[0], 1) * freqs[None]
    te = torch.cat([torch.cos(t), torch.sin(t)], -1)
    emb = F.linear(F.silu(F.linear(te, unet.time_embed[0].weight, unet.time_embed[0].bias)), unet.time_embed[2].weight,
                   unet.time_embed[2].bias) + cond
    skips, h = [], noisy
    for blk in unet.input_blocks:
        h = unet_block(blk, h, emb, ctx)
        skips.append(h)
    h = unet_block(unet.middle_block, h, emb, ctx)
    for i, blk in enumerate(unet.output_blocks):
        h = torch.cat([h, skips.pop()], 1)
        if i in (2, 5, 8, 11):
            taps.append(h)
        if i == 11:
            break
        h = unet_block(blk, h, emb, ctx)
    # VAE decoder on the clean latent: taps before up[3].block[2] and up[2].block[2]
    h = vae_mid(dec.mid, _conv(_conv(z / 0.18215, sd.first_stage_model.post_quant_conv), dec.conv_in))
    for lv in (3, 2):
        for j, blk in enumerate(dec.up[lv].block):
            if j == 2:
                taps.append(h)
                if lv == 2:
                    break
            h = vae_res(blk, h)
        if lv == 3:
            h = _conv(F.interpolate(h, scale_factor=2.0, mode="nearest"), dec.up[lv].upsample.conv)
    # strides: encoder 4, 8; UNet 64 (clamped to 32), 32, 16, 8; decoder 8, 4
    strides = [4, 8, 32, 32, 16, 8, 8, 4]
    H, W = crop.shape[-2:]
    out = []
    for s in (4, 8, 16, 32):
        acc = 0
        for i, f in enumerate(taps):
            if strides[i] == s:
                acc = acc + bottleneck(bb.feature_projections[i][0], F.interpolate(f, size=(H // s, W // s), mode="nearest"))
        out.append(acc)
    return out

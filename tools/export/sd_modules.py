"""Stable Diffusion v1 (ldm layout) and ODISE's feature extractor as the project's own PyTorch modules.

Written to the key names and shapes of the official checkpoints, from reading CompVis/stable-diffusion
(configs/stable-diffusion/v1-inference.yaml; the UNet of openaimodel.py, the KL autoencoder of
model.py, SpatialTransformer of attention.py) and NVlabs/ODISE (LdmExtractor /
LdmImplicitCaptionerExtractor in odise/modeling/meta_arch/ldm.py, FeatureExtractorBackbone in
odise/modeling/backbone/feature_extractor.py, configs/common/models/odise_with_label.py). The ldm /
diffusers / detectron2 packages are not installable here, so nothing is imported from them.

Key layout (module tree == state-dict keys):
  UNet           -> sd-v1-3.ckpt  model.diffusion_model.*
  AutoencoderKL  -> sd-v1-3.ckpt  first_stage_model.*
  OdiseBackbone  -> the ODISE model's backbone.*: feature_extractor.{clip_project, alpha_cond,
                    time_embed_project, alpha_cond_time_embed, ldm_extractor.ldm.ldm.{model.diffusion_model,
                    first_stage_model}}, feature_projections.<i>.0.* (detectron2 BottleneckBlock, GN)
The SD text encoder (cond_stage_model.*) is not a module here: ODISE only uses it once, for the
empty prompt, whose encoding is the buffer ldm_extractor.ldm.uncond_inputs [1, 77, 768].
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

SCALE_FACTOR = 0.18215  # v1-inference.yaml scale_factor
LINEAR_START, LINEAR_END = 0.00085, 0.0120  # "ldm_linear" beta schedule


def sd_v1_config():
    """The numbers of v1-inference.yaml (UNet, first stage) and ODISE's label-model backbone."""
    return {"model_channels": 320, "channel_mult": (1, 2, 4, 4), "num_res_blocks": 2, "attention_ds": (4, 2, 1),
            "num_heads": 8, "context_dim": 768, "latent": 4, "vae_ch": 128, "vae_mult": (1, 2, 4, 4), "vae_res_blocks": 2,
            "projection_dim": 512, "clip_dim": 768, "noise_size": 64,
            "encoder_taps": (5, 7), "unet_taps": (2, 5, 8, 11), "decoder_taps": (2, 5)}


def sd_small_config(context_dim, clip_dim, projection_dim):
    """The same code with 32-wide UNet and VAE (GroupNorm(32) needs multiples of 32)."""
    cfg = sd_v1_config()
    cfg.update({"model_channels": 32, "vae_ch": 32, "context_dim": context_dim, "clip_dim": clip_dim,
                "projection_dim": projection_dim, "noise_size": 32})
    return cfg


def gn(c, eps=1e-5):
    return nn.GroupNorm(32, c, eps=eps)


# ------------------------------------------------------------------ UNet (openaimodel layout)
class TimestepBlock(nn.Sequential):
    """TimestepEmbedSequential: passes emb to ResBlocks and context to SpatialTransformers."""

    def forward(self, x, emb, context):
        for m in self:
            if isinstance(m, UResBlock):
                x = m(x, emb)
            elif isinstance(m, SpatialTransformer):
                x = m(x, context)
            else:
                x = m(x)
        return x


class UResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.channels = cin
        self.in_layers = nn.Sequential(gn(cin), nn.SiLU(), nn.Conv2d(cin, cout, 3, padding=1))
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb, cout))
        self.out_layers = nn.Sequential(gn(cout), nn.SiLU(), nn.Dropout(0.0), nn.Conv2d(cout, cout, 3, padding=1))
        self.skip_connection = nn.Identity() if cin == cout else nn.Conv2d(cin, cout, 1)

    def forward(self, x, emb):
        h = self.in_layers(x) + self.emb_layers(emb)[:, :, None, None]
        return self.skip_connection(x) + self.out_layers(h)


class CrossAttention(nn.Module):
    def __init__(self, dim, ctx, heads):
        super().__init__()
        self.heads = heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_k = nn.Linear(ctx, dim, bias=False)
        self.to_v = nn.Linear(ctx, dim, bias=False)
        self.to_out = nn.Sequential(nn.Linear(dim, dim), nn.Dropout(0.0))

    def forward(self, x, context=None):
        context = x if context is None else context
        n, lq, c = x.shape
        h, d = self.heads, c // self.heads
        q = self.to_q(x).view(n, lq, h, d).transpose(1, 2)
        k = self.to_k(context).view(context.shape[0], -1, h, d).transpose(1, 2)
        v = self.to_v(context).view(context.shape[0], -1, h, d).transpose(1, 2)
        a = ((q @ k.transpose(-1, -2)) * d ** -0.5).softmax(-1)
        return self.to_out((a @ v).transpose(1, 2).reshape(n, lq, c))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        a, gate = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.net = nn.Sequential(GEGLU(dim, 4 * dim), nn.Dropout(0.0), nn.Linear(4 * dim, dim))

    def forward(self, x):
        return self.net(x)


class TransformerBlock(nn.Module):
    def __init__(self, dim, ctx, heads):
        super().__init__()
        self.attn1 = CrossAttention(dim, dim, heads)
        self.ff = FeedForward(dim)
        self.attn2 = CrossAttention(dim, ctx, heads)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x, context):
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class SpatialTransformer(nn.Module):
    def __init__(self, c, ctx, heads):
        super().__init__()
        self.norm = gn(c, 1e-6)
        self.proj_in = nn.Conv2d(c, c, 1)
        self.transformer_blocks = nn.ModuleList([TransformerBlock(c, ctx, heads)])
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, context):
        n, c, hh, ww = x.shape
        h = self.proj_in(self.norm(x)).flatten(2).transpose(1, 2)
        for b in self.transformer_blocks:
            h = b(h, context)
        return x + self.proj_out(h.transpose(1, 2).reshape(n, c, hh, ww))


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.op = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.op(x)


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], -1)


class UNet(nn.Module):
    """UNetModel with use_spatial_transformer (v1: legacy=False, num_heads fixed, transformer_depth 1)."""

    def __init__(self, cfg):
        super().__init__()
        mc, nr, heads, ctx = cfg["model_channels"], cfg["num_res_blocks"], cfg["num_heads"], cfg["context_dim"]
        emb = 4 * mc
        self.model_channels = mc
        self.time_embed = nn.Sequential(nn.Linear(mc, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.input_blocks = nn.ModuleList([TimestepBlock(nn.Conv2d(cfg["latent"], mc, 3, padding=1))])
        chans, ch, ds = [mc], mc, 1
        mult = cfg["channel_mult"]
        for level, m in enumerate(mult):
            for _ in range(nr):
                layers = [UResBlock(ch, m * mc, emb)]
                ch = m * mc
                if ds in cfg["attention_ds"]:
                    layers.append(SpatialTransformer(ch, ctx, heads))
                self.input_blocks.append(TimestepBlock(*layers))
                chans.append(ch)
            if level != len(mult) - 1:
                self.input_blocks.append(TimestepBlock(Downsample(ch)))
                chans.append(ch)
                ds *= 2
        self.middle_block = TimestepBlock(UResBlock(ch, ch, emb), SpatialTransformer(ch, ctx, heads), UResBlock(ch, ch, emb))
        self.output_blocks = nn.ModuleList()
        for level, m in list(enumerate(mult))[::-1]:
            for i in range(nr + 1):
                layers = [UResBlock(ch + chans.pop(), m * mc, emb)]
                ch = m * mc
                if ds in cfg["attention_ds"]:
                    layers.append(SpatialTransformer(ch, ctx, heads))
                if level and i == nr:
                    layers.append(Upsample(ch))
                    ds //= 2
                self.output_blocks.append(TimestepBlock(*layers))
        self.out = nn.Sequential(gn(ch), nn.SiLU(), nn.Conv2d(mc, cfg["latent"], 3, padding=1))


# ------------------------------------------------------------------ KL autoencoder (model.py layout)
class VResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.in_channels = cin
        self.norm1 = gn(cin, 1e-6)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = gn(cout, 1e-6)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class VAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = gn(c, 1e-6)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        n, c, hh, ww = x.shape
        h = self.norm(x)
        q = self.q(h).flatten(2).transpose(1, 2)
        k = self.k(h).flatten(2)
        v = self.v(h).flatten(2)
        a = ((q @ k) * c ** -0.5).softmax(-1)
        return x + self.proj_out((v @ a.transpose(1, 2)).reshape(n, c, hh, ww))


class VDown(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # ldm's asymmetric padding


class VUp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Mid(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block_1, self.attn_1, self.block_2 = VResBlock(c, c), VAttn(c), VResBlock(c, c)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult, nr = cfg["vae_ch"], cfg["vae_mult"], cfg["vae_res_blocks"]
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.down = nn.ModuleList()
        cin = ch
        for i, m in enumerate(mult):
            level = nn.Module()
            level.block = nn.ModuleList()
            for _ in range(nr):
                level.block.append(VResBlock(cin, ch * m))
                cin = ch * m
            level.attn = nn.ModuleList()
            if i != len(mult) - 1:
                level.downsample = VDown(cin)
            self.down.append(level)
        self.mid = Mid(cin)
        self.norm_out = gn(cin, 1e-6)
        self.conv_out = nn.Conv2d(cin, 2 * cfg["latent"], 3, padding=1)

    def blocks(self):
        """(level, index, block) in run order: ODISE's encoder block indices count these."""
        return [(i, j, b) for i, lv in enumerate(self.down) for j, b in enumerate(lv.block)]


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        ch, mult, nr = cfg["vae_ch"], cfg["vae_mult"], cfg["vae_res_blocks"]
        cin = ch * mult[-1]
        self.conv_in = nn.Conv2d(cfg["latent"], cin, 3, padding=1)
        self.mid = Mid(cin)
        ups = []
        for i in reversed(range(len(mult))):
            level = nn.Module()
            level.block = nn.ModuleList()
            for _ in range(nr + 1):
                level.block.append(VResBlock(cin, ch * mult[i]))
                cin = ch * mult[i]
            level.attn = nn.ModuleList()
            if i != 0:
                level.upsample = VUp(cin)
            ups.insert(0, level)
        self.up = nn.ModuleList(ups)
        self.norm_out = gn(cin, 1e-6)
        self.conv_out = nn.Conv2d(cin, 3, 3, padding=1)

    def blocks(self):
        """(level, index, block) in run order (highest level first), as ODISE counts decoder blocks."""
        return [(i, j, b) for i in reversed(range(len(self.up))) for j, b in enumerate(self.up[i].block)]


class AutoencoderKL(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        z = cfg["latent"]
        self.quant_conv = nn.Conv2d(2 * z, 2 * z, 1)
        self.post_quant_conv = nn.Conv2d(z, z, 1)


class StableDiffusion(nn.Module):
    """The two parts of sd-v1-3.ckpt ODISE runs (model.diffusion_model, first_stage_model)."""

    def __init__(self, cfg):
        super().__init__()
        self.model = nn.Module()
        self.model.diffusion_model = UNet(cfg)
        self.first_stage_model = AutoencoderKL(cfg)


# ------------------------------------------------------------------ ODISE feature extractor
class PositionalLinear(nn.Module):
    def __init__(self, cin, cout, seq):
        super().__init__()
        self.linear = nn.Linear(cin, cout)
        self.positional_embedding = nn.Parameter(torch.zeros(1, seq, cout))

    def forward(self, x):
        return self.linear(x)[:, None] + self.positional_embedding


class Conv2dGN(nn.Conv2d):
    """detectron2 Conv2d(bias=False, norm=GN(32)) keys: weight, norm.weight, norm.bias."""

    def __init__(self, cin, cout, k, padding=0):
        super().__init__(cin, cout, k, padding=padding, bias=False)
        self.norm = nn.GroupNorm(32, cout)

    def forward(self, x):
        return self.norm(super().forward(x))


class Bottleneck(nn.Module):
    """detectron2 BottleneckBlock (stride 1, norm GN), one per tap."""

    def __init__(self, cin, cout):
        super().__init__()
        mid = cout // 4
        if cin != cout:
            self.shortcut = Conv2dGN(cin, cout, 1)
        self.conv1 = Conv2dGN(cin, mid, 1)
        self.conv2 = Conv2dGN(mid, mid, 3, padding=1)
        self.conv3 = Conv2dGN(mid, cout, 1)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        h = self.conv3(h)
        return F.relu(h + (self.shortcut(x) if hasattr(self, "shortcut") else x))


class LdmExtractor(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.ldm = nn.Module()
        self.ldm.ldm = StableDiffusion(cfg)
        self.ldm.register_buffer("uncond_inputs", torch.zeros(1, 77, cfg["context_dim"]))
        g = torch.Generator().manual_seed(42)  # ODISE: share_noise, "use seed 42 for now"
        self.register_buffer("shared_noise", torch.randn(1, cfg["latent"], cfg["noise_size"], cfg["noise_size"], generator=g))
        ac0 = 1.0 - LINEAR_START  # alphas_cumprod[0] of the ldm_linear schedule (beta_0 = linear_start)
        self.sqrt_ac0, self.sqrt_1m_ac0 = math.sqrt(ac0), math.sqrt(1.0 - ac0)

    @property
    def unet(self):
        return self.ldm.ldm.model.diffusion_model

    @property
    def vae(self):
        return self.ldm.ldm.first_stage_model

    def feature_layout(self):
        """(dims, strides) of the taps in ODISE's order (encoder, UNet, decoder)."""
        cfg, dims, strides = self.cfg, [], []
        eb, db = self.vae.encoder.blocks(), self.vae.decoder.blocks()
        for i in cfg["encoder_taps"]:
            lv, _, b = eb[i]
            dims.append(b.in_channels)
            strides.append(2 ** lv)
        for i in cfg["unet_taps"]:
            dims.append(self.unet.output_blocks[i][0].channels)
            strides.append(64 // 2 ** (i // 3))
        for i in cfg["decoder_taps"]:
            lv, _, b = db[i]
            dims.append(b.in_channels)
            strides.append(8 // 2 ** (i // 3))
        return dims, strides

    def forward(self, x, context, cond_emb):
        """x: [N,3,H,W] in [-1,1]. Returns the eight tap maps; stops after the last one."""
        cfg, enc, dec, unet = self.cfg, self.vae.encoder, self.vae.decoder, self.unet
        feats = []
        eb = enc.blocks()
        h = enc.conv_in(x)
        for k, (lv, j, b) in enumerate(eb):
            if k in cfg["encoder_taps"]:
                feats.append(h)
            h = b(h)
            if j == len(enc.down[lv].block) - 1 and hasattr(enc.down[lv], "downsample"):
                h = enc.down[lv].downsample(h)
        h = enc.conv_out(F.silu(enc.norm_out(enc.mid(h))))
        mean = self.vae.quant_conv(h)[:, :cfg["latent"]]  # posterior mean: deterministic, as ODISE
        latent = SCALE_FACTOR * mean
        noise = F.interpolate(self.shared_noise, size=latent.shape[-2:], mode="bicubic", align_corners=False)
        noisy = self.sqrt_ac0 * latent + self.sqrt_1m_ac0 * noise
        t = torch.zeros(x.shape[0], dtype=torch.float32)
        emb = unet.time_embed(timestep_embedding(t, unet.model_channels)) + cond_emb
        hs, h = [], noisy
        for m in unet.input_blocks:
            h = m(h, emb, context)
            hs.append(h)
        h = unet.middle_block(h, emb, context)
        last = max(cfg["unet_taps"])
        for i, m in enumerate(unet.output_blocks[:last + 1]):
            h = torch.cat([h, hs.pop()], 1)
            if i in cfg["unet_taps"]:
                feats.append(h)
            if i < last:
                h = m(h, emb, context)
        h = dec.mid(dec.conv_in(self.vae.post_quant_conv(latent / SCALE_FACTOR)))
        db = dec.blocks()
        last = max(cfg["decoder_taps"])
        for k, (lv, j, b) in enumerate(db[:last + 1]):
            if k in cfg["decoder_taps"]:
                feats.append(h)
            if k == last:
                break
            h = b(h)
            if j == len(dec.up[lv].block) - 1 and hasattr(dec.up[lv], "upsample"):
                h = dec.up[lv].upsample(h)
        return feats


def clip_resize(img, side):
    """The captioner's resize of a crop (float, [0, 1]) to side², as the official code runs it.

    ClipAdapter.embed_image applies open_clip's eval transforms to the tensor (NVlabs/ODISE
    odise/modeling/meta_arch/clip.py:94 and :227, commit 2b187e4b2ff4c3d5da342aec2cc234b537720a65):
    Resize(side, BICUBIC) and CenterCrop(side) (open_clip v2.0.2, the version ODISE's setup.py:85
    pins, src/open_clip/transform.py:78-79, commit 146fe70e20976dcb35912b8f94204fa842be2b00), then
    Normalize. A square crop makes the CenterCrop a no-op. ODISE installs torch 1.13.1 with
    torchvision 0.14.1 (its README.md:60, Dockerfile:11), where Resize's antialias defaults to None,
    which means False for tensors (torchvision's resize docs; pytorch/vision PR 7160 kept that meaning
    until 0.17 turned the default to True). So: F.interpolate bicubic, align_corners False, no
    antialias, no clamp (float input). test_odise_captioner_resize.py checks the exported graph."""
    return F.interpolate(img, size=(side, side), mode="bicubic", align_corners=False, antialias=False)


class ImplicitCaptionerExtractor(nn.Module):
    """LdmImplicitCaptionerExtractor (learnable_time_embed, one timestep). `clip_visual` is the
    open_clip-layout CLIP image tower; its keys live under feature_extractor.clip.clip.visual.*."""

    def __init__(self, cfg, clip_visual):
        super().__init__()
        self.ldm_extractor = LdmExtractor(cfg)
        self.clip = nn.Module()
        self.clip.clip = nn.Module()
        self.clip.clip.visual = clip_visual
        self.clip_project = PositionalLinear(cfg["clip_dim"], cfg["context_dim"], 77)
        self.alpha_cond = nn.Parameter(torch.zeros(1, 77, cfg["context_dim"]))
        emb = 4 * cfg["model_channels"]
        self.time_embed_project = PositionalLinear(cfg["clip_dim"], emb, 1)
        self.alpha_cond_time_embed = nn.Parameter(torch.zeros(emb))

    def image_embed(self, img):
        """ClipAdapter.embed_image: resize to the CLIP side (clip_resize), CLIP normalisation, class
        token through ln_post and proj (not normalised)."""
        v = self.clip.clip.visual
        side = v.conv1.kernel_size[0] * int(round(math.sqrt(v.positional_embedding.shape[0] - 1)))
        x = clip_resize(img, side)
        mean = torch.tensor([0.48145466, 0.4578275, 0.40821073]).view(1, 3, 1, 1)
        std = torch.tensor([0.26862954, 0.26130258, 0.27577711]).view(1, 3, 1, 1)
        x = v.conv1((x - mean) / std).flatten(2).transpose(1, 2)
        x = torch.cat([v.class_embedding.view(1, 1, -1).expand(x.shape[0], 1, -1), x], 1) + v.positional_embedding
        x = v.ln_pre(x)
        for b in v.transformer.resblocks:
            x = b(x, v.heads)
        return v.ln_post(x[:, 0]) @ v.proj

    def forward(self, img):
        prefix = self.image_embed(img)
        context = self.ldm_extractor.ldm.uncond_inputs + torch.tanh(self.alpha_cond) * self.clip_project(prefix)
        cond_emb = torch.tanh(self.alpha_cond_time_embed) * self.time_embed_project(prefix)[:, 0]
        return self.ldm_extractor(img * 2 - 1, context, cond_emb)  # LdmExtractor's pixel mean/std 0.5


class OdiseBackbone(nn.Module):
    """FeatureExtractorBackbone.single_forward on one crop: taps -> nearest resize to crop/stride ->
    per-tap bottleneck projection -> sum per stride (4, 8, 16, 32; strides clamped to [4, 32])."""

    def __init__(self, cfg, clip_visual):
        super().__init__()
        self.feature_extractor = ImplicitCaptionerExtractor(cfg, clip_visual)
        dims, strides = self.feature_extractor.ldm_extractor.feature_layout()
        self.strides = [min(max(s, 4), 32) for s in strides]
        self.feature_projections = nn.ModuleList(nn.Sequential(Bottleneck(d, cfg["projection_dim"])) for d in dims)

    def forward(self, pixel_values):
        H, W = pixel_values.shape[-2:]
        feats = self.feature_extractor(pixel_values)
        outs = []
        for s in (4, 8, 16, 32):
            acc = None
            for i, f in enumerate(feats):
                if self.strides[i] != s:
                    continue
                p = self.feature_projections[i](F.interpolate(f, size=(H // s, W // s), mode="nearest"))
                acc = p if acc is None else acc + p
            outs.append(acc)
        return tuple(outs)

"""The project's own PyTorch X-Decoder inference modules (FocalNet backbone, transformer-encoder FPN
pixel decoder, X-Decoder query decoder, language encoder), laid out so that their state_dict keys
and shapes are those of the official v2.0 checkpoints (microsoft/X-Decoder, configs
xdecoder/focalt_unicl_lang.yaml and focall_unicl_lang.yaml). Written from a reading of the official
code, not copied from it; only inference is implemented.

Official quirks reproduced on purpose are marked "QUIRK".

Key prefixes (as in the official checkpoint): backbone.*, sem_seg_head.pixel_decoder.*,
sem_seg_head.predictor.* (the decoder), sem_seg_head.predictor.lang_encoder.* (language encoder,
projection and logit_scale), backbone_proj (retrieval only; loaded, unused).
"""
import math
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class XDecoderConfig:
    # backbone (FocalNet)
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    focal_levels: tuple = (3, 3, 3, 3)
    focal_windows: tuple = (3, 3, 3, 3)
    # Focal-T's released config uses the "focal_dw" variant (depthwise convs around the modulation
    # and the FFN, a stem padded by 3); Focal-L uses "focal" (no depthwise convs, stem padded by 2).
    focal_dw: bool = True
    # pixel decoder / decoder
    conv_dim: int = 512
    mask_dim: int = 512
    hidden_dim: int = 512
    dim_proj: int = 512
    nheads: int = 8
    dim_feedforward: int = 2048
    enc_layers: int = 6
    dec_layers: int = 10          # DEC_LAYERS; the decoder builds DEC_LAYERS - 1 layers
    num_queries: int = 101        # NUM_OBJECT_QUERIES: object queries + 1 class token
    gn_groups: int = 32
    # language encoder
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 512
    text_heads: int = 8
    text_layers: int = 12
    # retrieval projection (present in the checkpoint, unused for segmentation)
    backbone_dim: int = 768

    @property
    def num_features(self):
        return [self.embed_dim * 2 ** i for i in range(len(self.depths))]


FOCAL_T = XDecoderConfig()
FOCAL_L = XDecoderConfig(embed_dim=192, depths=(2, 2, 18, 2), focal_levels=(4, 4, 4, 4), focal_dw=False,
                         num_queries=201, backbone_dim=1536)
# Reduced widths for CI; the same code path (focal_dw chosen per test). GroupNorm needs 32 | conv_dim.
TINY_DW = XDecoderConfig(embed_dim=16, depths=(1, 1, 2, 1), focal_levels=(2, 2, 2, 2), conv_dim=64, mask_dim=64,
                         hidden_dim=64, dim_proj=64, nheads=4, dim_feedforward=128, enc_layers=2, dec_layers=4,
                         num_queries=11, text_width=64, text_heads=4, text_layers=2, backbone_dim=128)
TINY = replace(TINY_DW, focal_dw=False)
CONFIGS = {"focalt": FOCAL_T, "focall": FOCAL_L, "tiny": TINY_DW, "tiny-focal": TINY}

PIXEL_MEAN = (123.675, 116.280, 103.530)  # 0..255 RGB, as INPUT.PIXEL_MEAN
PIXEL_STD = (58.395, 57.120, 57.375)


# ----------------------------------------------------------------------------- FocalNet
class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class FocalModulation(nn.Module):
    def __init__(self, dim, focal_level, focal_window):
        super().__init__()
        self.focal_level = focal_level
        self.f = nn.Linear(dim, 2 * dim + focal_level + 1)
        self.h = nn.Conv2d(dim, dim, 1)
        self.proj = nn.Linear(dim, dim)
        self.focal_layers = nn.ModuleList()
        for k in range(focal_level):
            ks = 2 * k + focal_window
            self.focal_layers.append(nn.Sequential(
                nn.Conv2d(dim, dim, ks, padding=ks // 2, groups=dim, bias=False), nn.GELU()))

    def forward(self, x):  # x: [B, H, W, C]
        C = x.shape[-1]
        x = self.f(x).permute(0, 3, 1, 2)
        q, ctx, gates = torch.split(x, (C, C, self.focal_level + 1), 1)
        acc = 0
        for lvl, layer in enumerate(self.focal_layers):
            ctx = layer(ctx)
            acc = acc + ctx * gates[:, lvl:lvl + 1]
        glob = F.gelu(ctx.mean((2, 3), keepdim=True))
        acc = acc + glob * gates[:, self.focal_level:]
        acc = acc / (self.focal_level + 1)  # SCALING_MODULATOR: True in both released configs
        return self.proj((q * self.h(acc)).permute(0, 2, 3, 1))


class FocalBlock(nn.Module):
    """Post-LN (USE_POSTLN: true) with layer scale (USE_LAYERSCALE: true, gamma_1/gamma_2).
    The two released variants place the post-norms differently; both are reproduced."""

    def __init__(self, dim, focal_level, focal_window, dw):
        super().__init__()
        self.dw = dw
        if dw:
            self.dw1 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
            self.dw2 = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)
        self.norm1 = nn.LayerNorm(dim)
        self.modulation = FocalModulation(dim, focal_level, focal_window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        self.gamma_1 = nn.Parameter(1e-4 * torch.ones(dim))
        self.gamma_2 = nn.Parameter(1e-4 * torch.ones(dim))

    def forward(self, x):  # x: [B, C, H, W] (kept channels-first between blocks)
        if self.dw:
            x = x + self.dw1(x)
            t = x.permute(0, 2, 3, 1)
            t = self.norm1(t + self.gamma_1 * self.modulation(t))
            x = t.permute(0, 3, 1, 2)
            x = x + self.dw2(x)
            t = x.permute(0, 2, 3, 1)
            t = self.norm2(t + self.gamma_2 * self.mlp(t))
            return t.permute(0, 3, 1, 2)
        t = x.permute(0, 2, 3, 1)
        t = t + self.gamma_1 * self.norm1(self.modulation(t))
        t = t + self.gamma_2 * self.norm2(self.mlp(t))
        return t.permute(0, 3, 1, 2)


class PatchEmbed(nn.Module):
    """USE_CONV_EMBED: overlapping convs (7x7 stride 4 stem, 3x3 stride 2 downsampling) + LayerNorm.
    Inputs are padded to a multiple of 32 by the caller (size divisibility), so the official
    right/bottom padding to the patch size never triggers and is not implemented."""

    def __init__(self, cin, cout, stem, stem_padding):
        super().__init__()
        if stem:
            self.proj = nn.Conv2d(cin, cout, 7, stride=4, padding=stem_padding)
        else:
            self.proj = nn.Conv2d(cin, cout, 3, stride=2, padding=1)
        self.norm = nn.LayerNorm(cout)

    def forward(self, x):
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class BasicLayer(nn.Module):
    def __init__(self, dim, depth, focal_level, focal_window, dw, downsample):
        super().__init__()
        self.blocks = nn.ModuleList([FocalBlock(dim, focal_level, focal_window, dw) for _ in range(depth)])
        self.downsample = PatchEmbed(dim, 2 * dim, False, 0) if downsample else None


class FocalNet(nn.Module):
    def __init__(self, cfg: XDecoderConfig):
        super().__init__()
        # QUIRK: the focal_dw stem pads by 3, the focal one by 2 (a 7x7/4 conv; both as released).
        self.patch_embed = PatchEmbed(3, cfg.embed_dim, True, 3 if cfg.focal_dw else 2)
        nf = cfg.num_features
        n = len(cfg.depths)
        self.layers = nn.ModuleList([
            BasicLayer(nf[i], cfg.depths[i], cfg.focal_levels[i], cfg.focal_windows[i], cfg.focal_dw, i < n - 1)
            for i in range(n)])
        for i in range(n):
            self.add_module(f"norm{i}", nn.LayerNorm(nf[i]))

    def forward(self, x, pre_norm=False):
        """res2..res5 [B, C_i, H/2^(i+2), W/2^(i+2)], each through its own output LayerNorm
        (or without it when pre_norm, for comparison with other implementations)."""
        x = self.patch_embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            for blk in layer.blocks:
                x = blk(x)
            y = x if pre_norm else getattr(self, f"norm{i}")(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            outs.append(y)
            if layer.downsample is not None:
                x = layer.downsample(x)
        return outs


# ----------------------------------------------------------------------------- shared pieces
def sine_position(h, w, num_pos_feats, dtype=torch.float32, device=None):
    """DETR's PositionEmbeddingSine(normalize=True, scale 2*pi, temperature 10000) for an unpadded
    h x w map: [1, 2*num_pos_feats, h, w] (y features first). The cumulative sums of an all-ones
    mask are the 1-based row/column indices."""
    eps = 1e-6
    scale = 2 * math.pi
    out_dtype, dtype = dtype, torch.float32  # computed in fp32 (also for fp16 graphs)
    y = torch.arange(1, h + 1, dtype=dtype, device=device)
    x = torch.arange(1, w + 1, dtype=dtype, device=device)
    y = y / (y[-1:] + eps) * scale
    x = x / (x[-1:] + eps) * scale
    dim_t = torch.arange(num_pos_feats, dtype=dtype, device=device)
    dim_t = 10000.0 ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / num_pos_feats)
    py = y[:, None] / dim_t  # [h, F]
    px = x[:, None] / dim_t  # [w, F]
    py = torch.stack((py[:, 0::2].sin(), py[:, 1::2].cos()), dim=2).flatten(1)
    px = torch.stack((px[:, 0::2].sin(), px[:, 1::2].cos()), dim=2).flatten(1)
    py = py[:, None, :].expand(h, w, num_pos_feats)
    px = px[None, :, :].expand(h, w, num_pos_feats)
    return torch.cat((py, px), dim=2).permute(2, 0, 1).unsqueeze(0).to(out_dtype)


class MHA(nn.Module):
    """nn.MultiheadAttention's parameters (in_proj_weight/bias, out_proj) with an explicit forward
    over [L, D] sequences (batch 1) so the exported graph holds plain MatMul/Softmax."""

    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)

    def forward(self, q, k, v, blocked=None, additive=None):
        """q [Lq, D], k/v [Lk, D]; blocked: bool [Lq, Lk] (True = may not attend) or additive
        float mask [Lq, Lk]."""
        d = q.shape[-1]
        hd = d // self.heads
        w, b = self.in_proj_weight, self.in_proj_bias
        q = F.linear(q, w[:d], b[:d])
        k = F.linear(k, w[d:2 * d], b[d:2 * d])
        v = F.linear(v, w[2 * d:], b[2 * d:])
        q = q.reshape(q.shape[0], self.heads, hd).transpose(0, 1) * (1.0 / math.sqrt(hd))
        k = k.reshape(k.shape[0], self.heads, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], self.heads, hd).transpose(0, 1)
        s = q @ k.transpose(1, 2)
        if blocked is not None:
            s = s.masked_fill(blocked, float("-inf"))
        if additive is not None:
            s = s + additive
        o = (s.softmax(-1) @ v).transpose(0, 1).reshape(-1, d)
        return self.out_proj(o)


class TransformerEncoderLayer(nn.Module):
    """Post-norm DETR encoder layer (PRE_NORM false), ReLU, keys self_attn/linear1/linear2/norm1/norm2."""

    def __init__(self, d, heads, ff):
        super().__init__()
        self.self_attn = MHA(d, heads)
        self.linear1 = nn.Linear(d, ff)
        self.linear2 = nn.Linear(ff, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)

    def forward(self, src, pos):
        qk = src + pos
        src = self.norm1(src + self.self_attn(qk, qk, src))
        return self.norm2(src + self.linear2(F.relu(self.linear1(src))))


class ConvGN(nn.Module):
    """detectron2 Conv2d(norm=GN) without bias (norm != ""): keys weight, norm.weight, norm.bias."""

    def __init__(self, cin, cout, k, groups, relu):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin, k, k))
        nn.init.kaiming_uniform_(self.weight, a=1)
        self.norm = nn.GroupNorm(groups, cout)
        self.relu = relu
        self.pad = k // 2

    def forward(self, x):
        x = self.norm(F.conv2d(x, self.weight, None, padding=self.pad))
        return F.relu(x) if self.relu else x


# ----------------------------------------------------------------------------- pixel decoder
def upsample2_nearest(y):
    """F.interpolate(nearest) to twice the size, exact for inputs padded to a multiple of 32 (every
    FPN level is then exactly twice the next); written as expand/reshape so no Resize op is exported."""
    b, c, h, w = y.shape
    return y[:, :, :, None, :, None].expand(b, c, h, 2, w, 2).reshape(b, c, 2 * h, 2 * w)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([TransformerEncoderLayer(cfg.conv_dim, cfg.nheads, cfg.dim_feedforward)
                                     for _ in range(cfg.enc_layers)])


class EncoderOnly(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.encoder = Encoder(cfg)


class TransformerEncoderPixelDecoder(nn.Module):
    """transformer_encoder_fpn: 1x1 input_proj + TRANSFORMER_ENC_LAYERS post-norm encoder layers on
    res5, then an FPN (adapter_i lateral 1x1 + GN, layer_i 3x3 + GN + ReLU, nearest upsampling) down
    to res2; mask_features is a 3x3 conv (with bias) on the res2 level. Returns the mask features
    and the three coarsest FPN levels, coarsest first (what the decoder cycles through)."""

    def __init__(self, cfg):
        super().__init__()
        nf, c, g = cfg.num_features, cfg.conv_dim, cfg.gn_groups
        for i in range(3):
            self.add_module(f"adapter_{i + 1}", ConvGN(nf[i], c, 1, g, relu=False))
        for i in range(3):
            self.add_module(f"layer_{i + 1}", ConvGN(c, c, 3, g, relu=True))
        self.layer_4 = ConvGN(c, c, 3, g, relu=True)
        self.input_proj = nn.Conv2d(nf[3], c, 1)
        self.transformer = EncoderOnly(cfg)
        self.mask_features = nn.Conv2d(c, cfg.mask_dim, 3, padding=1)
        self.conv_dim = c

    def forward(self, res):
        r2, r3, r4, r5 = res
        x = self.input_proj(r5)
        b, c, h, w = x.shape
        pos = sine_position(h, w, c // 2, x.dtype, x.device).flatten(2)[0].t()  # [hw, c]
        t = x.flatten(2)[0].t()
        for layer in self.transformer.encoder.layers:
            t = layer(t, pos)
        y = self.layer_4(t.t().reshape(1, c, h, w))
        levels = [y]
        for adapter, out, r in ((self.adapter_3, self.layer_3, r4), (self.adapter_2, self.layer_2, r3),
                                (self.adapter_1, self.layer_1, r2)):
            lat = adapter(r)
            y = out(lat + upsample2_nearest(y))
            levels.append(y)
        return self.mask_features(y), levels[:3]


# ----------------------------------------------------------------------------- decoder
class SelfAttentionLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.self_attn = MHA(d, heads)
        self.norm = nn.LayerNorm(d)

    def forward(self, x, qpos, blocked):
        qk = x + qpos
        return self.norm(x + self.self_attn(qk, qk, x, blocked=blocked))


class CrossAttentionLayer(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.multihead_attn = MHA(d, heads)
        self.norm = nn.LayerNorm(d)

    def forward(self, x, mem, pos, qpos, blocked):
        return self.norm(x + self.multihead_attn(x + qpos, mem + pos, mem, blocked=blocked))


class FFNLayer(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.linear1 = nn.Linear(d, ff)
        self.linear2 = nn.Linear(ff, d)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.linear2(F.relu(self.linear1(x))))


class MLP(nn.Module):
    def __init__(self, d, out, n=3):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(n - 1)] + [nn.Linear(d, out)])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class XDecoderPredictor(nn.Module):
    """The X-Decoder query decoder (segmentation and grounding inference). The attention-mask
    resize (official: F.interpolate bicubic, antialias, align_corners False) is applied as two
    resampling matrices per level, ry [h_l, H4] and rx [w_l, W4]: M_l = ry @ M @ rx^T."""

    def __init__(self, cfg: XDecoderConfig):
        super().__init__()
        d = cfg.hidden_dim
        self.cfg = cfg
        self.num_heads = cfg.nheads
        self.num_queries = cfg.num_queries
        self.num_layers = cfg.dec_layers - 1
        L = self.num_layers
        self.transformer_self_attention_layers = nn.ModuleList([SelfAttentionLayer(d, cfg.nheads) for _ in range(L)])
        self.transformer_cross_attention_layers = nn.ModuleList([CrossAttentionLayer(d, cfg.nheads) for _ in range(L)])
        self.transformer_ffn_layers = nn.ModuleList([FFNLayer(d, cfg.dim_feedforward) for _ in range(L)])
        self.decoder_norm = nn.LayerNorm(d)
        self.query_feat = nn.Embedding(cfg.num_queries, d)
        self.query_embed = nn.Embedding(cfg.num_queries, d)
        self.level_embed = nn.Embedding(3, d)
        # input_proj: empty nn.Sequential per level when conv_dim == hidden_dim (no keys); the
        # released configs have both 512, and the reduced ones keep them equal.
        assert cfg.conv_dim == cfg.hidden_dim
        self.mask_embed = MLP(d, cfg.mask_dim)
        self.class_embed = nn.Parameter(torch.empty(d, cfg.dim_proj))
        # Captioning head and its self-attention mask buffer: in the checkpoint, unused here.
        self.caping_embed = nn.Parameter(torch.empty(d, cfg.dim_proj))
        self.pos_embed_caping = nn.Embedding(cfg.context_length, d)
        n = cfg.num_queries + cfg.context_length
        self.register_buffer("self_attn_mask", torch.zeros(1, n, n, dtype=torch.bool))
        self.lang_encoder = LanguageEncoder(cfg)
        for p in (self.class_embed, self.caping_embed):
            nn.init.trunc_normal_(p, std=0.02)

    # -- masks
    def _self_mask(self, grounding_len):
        """Official self-attention mask (True = blocked): object queries and the class token (last
        query) do not see each other. In grounding mode the copies of the object queries and the
        grounding tokens see each other and nothing of the first num_queries rows/columns."""
        Q = self.num_queries
        base = torch.zeros(Q, Q, dtype=torch.bool)
        base[:Q - 1, Q - 1] = True
        base[Q - 1, :Q - 1] = True
        if grounding_len is None:
            return base
        n = Q + (Q - 1) + grounding_len
        m = torch.ones(n, n, dtype=torch.bool)
        m[:Q, :Q] = base
        m[Q:, Q:] = False
        return m

    def _heads(self, output, mask_features, ry, rx, grounding, text_emb):
        """Prediction heads on the current queries: class embeddings, class logits, mask logits,
        and the next layer's cross-attention block mask at the (ry, rx) level size."""
        Q = self.num_queries
        dec = self.decoder_norm(output)
        nrm = dec / (dec.norm(dim=-1, keepdim=True) + 1e-7)
        obj, cls = nrm[:Q - 1], nrm[Q - 1:Q]
        # The class token is replaced by an attention pool of the object queries (its similarity
        # to each, softmaxed), pooled from the un-normalised decoder outputs.
        sim = (cls @ obj.t()).softmax(-1)  # [1, Q-1]
        pooled = sim @ dec[:Q - 1]
        if grounding:
            dec = torch.cat((dec[:Q - 1], pooled, dec[Q:2 * Q - 1]), 0)
        else:
            dec = torch.cat((dec[:Q - 1], pooled), 0)
        class_emb = dec @ self.class_embed
        logits = None
        if text_emb is not None:
            v = class_emb / (class_emb.norm(dim=-1, keepdim=True) + 1e-7)
            logits = self.lang_encoder.logit_scale.exp() * (v @ text_emb.t())
        mask_embed = self.mask_embed(dec)
        c, H4, W4 = mask_features.shape[1:]
        masks = (mask_embed @ mask_features.reshape(c, H4 * W4)).reshape(-1, H4, W4)
        blocked = None
        if ry is not None:
            small = ry @ masks @ rx.t()  # bicubic antialias resize as two MatMuls
            blocked = small.sigmoid().flatten(1) < 0.5
            # QUIRK: the official code clears row num_queries (meant: the class token, row
            # num_queries-1). In segmentation mode that slice is empty and the class token's
            # cross-attention stays masked; in grounding mode it unblocks the first copy of the
            # object queries.
            if blocked.shape[0] > Q:
                keep = torch.ones(blocked.shape[0], 1, dtype=torch.bool)
                keep[Q] = False
                blocked = blocked & keep
        return class_emb, logits, masks, blocked

    def forward(self, levels, mask_features, resample, text_emb=None, grounding_tokens=None):
        """levels: three [1, D, h_l, w_l] maps (coarsest first); mask_features [1, M, H4, W4];
        resample: ((ry0, rx0), (ry1, rx1), (ry2, rx2)) for the three level sizes; text_emb [K, P]
        L2-normalised class embeddings (optional); grounding_tokens [G, P] (grounding mode).
        Returns class_emb [Q', P], logits [Q', K] or None, masks [Q', H4, W4] of the last layer
        (Q' = Q, or 2Q-1 in grounding mode)."""
        Q = self.num_queries
        grounding = grounding_tokens is not None
        src, pos = [], []
        for i, x in enumerate(levels):
            d, h, w = x.shape[1:]
            pos.append(sine_position(h, w, d // 2, x.dtype, x.device).flatten(2)[0].t())
            src.append(x.flatten(2)[0].t() + self.level_embed.weight[i][None, :])
        qpos = self.query_embed.weight
        out = self.query_feat.weight
        self_mask = self._self_mask(grounding_tokens.shape[0] if grounding else None).to(out.device)
        if grounding:
            out = torch.cat((out, out[:-1]), 0)
            qpos = torch.cat((qpos, qpos[:-1]), 0)
            gtok = grounding_tokens
        _, _, _, blocked = self._heads(out, mask_features, *resample[0], grounding, None)
        for i in range(self.num_layers):
            lvl = i % 3
            # Rows blocked everywhere are unblocked (attend to the whole level).
            blocked = blocked & ~blocked.all(-1, keepdim=True)
            out = self.transformer_cross_attention_layers[i](out, src[lvl], pos[lvl], qpos, blocked)
            if grounding:
                out = torch.cat((out, gtok), 0)
                qp = torch.cat((qpos, grounding_tokens), 0)
            else:
                qp = qpos
            out = self.transformer_self_attention_layers[i](out, qp, self_mask)
            out = self.transformer_ffn_layers[i](out)
            if grounding:
                gtok = out[-grounding_tokens.shape[0]:]
                out = out[:-grounding_tokens.shape[0]]
            last = i == self.num_layers - 1
            ry, rx = (None, None) if last else resample[(i + 1) % 3]
            class_emb, logits, masks, blocked = self._heads(out, mask_features, ry, rx, grounding,
                                                            text_emb if last else None)
        return class_emb, logits, masks


# ----------------------------------------------------------------------------- language
class TFLayerNorm(nn.Module):
    """The language encoder's LayerNorm: epsilon 1e-12 inside the square root, computed in fp32."""

    def __init__(self, d, eps=1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        dt = x.dtype
        x = x.float()
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight * x.to(dt) + self.bias


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attn = MHA(d, heads)
        self.ln_1 = TFLayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(d, 4 * d))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * d, d))
        self.ln_2 = TFLayerNorm(d)

    def forward(self, x, causal):
        return _batched_block(self, x, causal)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class TextTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(cfg.context_length, cfg.text_width))
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(cfg.text_width, cfg.text_heads)
                                        for _ in range(cfg.text_layers)])
        self.ln_final = TFLayerNorm(cfg.text_width)
        nn.init.trunc_normal_(self.positional_embedding, std=0.02)
        nn.init.trunc_normal_(self.token_embedding.weight, std=0.02)

    def forward(self, ids):
        """ids [N, L] (L <= context_length) -> [N, L, width]. AUTOGRESSIVE: causal mask and no key
        padding mask, so outputs at real tokens do not depend on the padding or on L."""
        n, L = ids.shape
        x = self.token_embedding(ids) + self.positional_embedding[:L]
        causal = torch.full((L, L), float("-inf"), dtype=x.dtype, device=x.device).triu(1)
        for blk in self.resblocks:
            x = _batched_block(blk, x, causal)
        return self.ln_final(x)


def _batched_block(blk, x, causal):
    """ResidualAttentionBlock over a batch [N, L, D] (MHA itself takes [L, D])."""
    n, L, d = x.shape
    heads = blk.attn.heads
    hd = d // heads
    h = blk.ln_1(x)
    w, b = blk.attn.in_proj_weight, blk.attn.in_proj_bias
    q = F.linear(h, w[:d], b[:d]).reshape(n, L, heads, hd).transpose(1, 2) * (1.0 / math.sqrt(hd))
    k = F.linear(h, w[d:2 * d], b[d:2 * d]).reshape(n, L, heads, hd).transpose(1, 2)
    v = F.linear(h, w[2 * d:], b[2 * d:]).reshape(n, L, heads, hd).transpose(1, 2)
    a = ((q @ k.transpose(2, 3) + causal).softmax(-1) @ v).transpose(1, 2).reshape(n, L, d)
    x = x + blk.attn.out_proj(a)
    return x + blk.mlp(blk.ln_2(x))


class LanguageEncoder(nn.Module):
    """Keys lang_encoder.* (the transformer), lang_proj [width, dim_proj], logit_scale []."""

    def __init__(self, cfg):
        super().__init__()
        self.lang_encoder = TextTransformer(cfg)
        self.lang_proj = nn.Parameter(torch.empty(cfg.text_width, cfg.dim_proj))
        self.logit_scale = nn.Parameter(torch.ones([]))
        nn.init.trunc_normal_(self.lang_proj, std=0.02)

    def forward(self, ids):
        """ids [N, L] int64 -> token_emb [N, L, P] (projected, not normalised) and class_emb [N, P]
        (projected, not normalised) at argmax(ids): CLIP's end token 49407, the largest id, whose
        first occurrence is the real end token whatever the padding id."""
        t = self.lang_encoder(ids)
        tok = t @ self.lang_proj
        idx = ids.argmax(-1)
        cls = torch.gather(tok, 1, idx[:, None, None].expand(-1, 1, tok.shape[-1]))[:, 0]
        return tok, cls


# ----------------------------------------------------------------------------- whole model
class XDecoder(nn.Module):
    """The official top-level layout: backbone, sem_seg_head.{pixel_decoder, predictor}, backbone_proj."""

    def __init__(self, cfg: XDecoderConfig):
        super().__init__()
        self.cfg = cfg
        self.backbone = FocalNet(cfg)
        self.sem_seg_head = nn.Module()
        self.sem_seg_head.pixel_decoder = TransformerEncoderPixelDecoder(cfg)
        self.sem_seg_head.predictor = XDecoderPredictor(cfg)
        self.backbone_proj = nn.Parameter(torch.empty(cfg.backbone_dim, cfg.dim_proj))
        nn.init.trunc_normal_(self.backbone_proj, std=0.02)

    @property
    def predictor(self):
        return self.sem_seg_head.predictor

    def features(self, pixels):
        return self.sem_seg_head.pixel_decoder(self.backbone(pixels))


def official_self_attn_mask(cfg):
    """The value of the checkpoint's self_attn_mask buffer (captioning layout), for random models."""
    Q, C = cfg.num_queries, cfg.context_length
    m = torch.zeros(1, Q + C, Q + C, dtype=torch.bool)
    m[:, :Q, Q:] = True
    m[:, Q:, Q:] = torch.triu(torch.ones(1, C, C), diagonal=1).bool()
    m[:, :Q - 1, Q - 1:Q] = True
    m[:, Q - 1:Q, :Q - 1] = True
    return m


def randomize(model, seed, gamma=0.5):
    """Deterministic random weights with magnitudes that keep every stage informative (layer scale
    and norms away from their identity initialisations), for parity tests."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma_1") or name.endswith("gamma_2"):
                p.copy_(gamma * (0.5 + torch.rand(p.shape, generator=g)))
            elif len(name.split(".")) > 1 and ("norm" in name.split(".")[-2] or "ln_" in name.split(".")[-2]):
                base = 1.0 if name.endswith("weight") else 0.0
                p.copy_(base + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("logit_scale"):
                # sharper than CLIP's initial 1/0.07, as trained models end up: each query then
                # prefers one class instead of spreading over all of them
                p.fill_(math.log(80))
            elif p.dim() == 1:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(max(fan_in, 1)))
        # Without these, every query converges to the same state (attention over the same memory
        # is near-uniform and the post-norm residuals wash out the query), every mask looks alike
        # and one class wins the whole image, which leaves the semantic label check toothless.
        # Queries at nn.Embedding's own N(0, 1) scale, sharper decoder attention (q, k rows x4)
        # and damped residual branches (x0.3) keep the queries, hence masks and classes, apart.
        pred = model.sem_seg_head.predictor
        for emb in (pred.query_feat, pred.query_embed):
            emb.weight.copy_(torch.randn(emb.weight.shape, generator=g))
        for name, p in pred.named_parameters():
            if name.startswith(("transformer_cross_attention_layers", "transformer_self_attention_layers")):
                if name.endswith("in_proj_weight"):
                    p[:2 * p.shape[1]].mul_(4.0)
                elif name.endswith("out_proj.weight"):
                    p.mul_(0.3)
            elif name.startswith("transformer_ffn_layers") and name.endswith("linear2.weight"):
                p.mul_(0.3)
        pred.self_attn_mask.copy_(official_self_attn_mask(model.cfg))
    return model

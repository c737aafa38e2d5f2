"""ODISE's networks as the project's own PyTorch modules, at the official state-dict key names.

Written from the official code (NVlabs/ODISE odise/modeling/meta_arch/odise.py, clip.py; Mask2Former's
MSDeformAttnPixelDecoder and MultiScaleMaskedTransformerDecoder, which ODISE configures in
configs/common/models/mask_generator_with_label.py) because detectron2, ldm and diffusers are not
installable here. Key names follow the official checkpoints:
  sem_seg_head.pixel_decoder.*, sem_seg_head.predictor.* (with .post_mask_embed.* = PooledMaskEmbed),
  category_head.text_proj.*, category_head.null_embed, and open_clip's CLIP layout (visual.*, transformer.*).

The backbone (Stable Diffusion v1 UNet + VAE, implicit captioner, taps, projections) is
sd_modules.OdiseBackbone, here in the reduced configuration (sd_modules.sd_small_config).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

import sd_modules as sm


# ------------------------------------------------------------------ Mask2Former building blocks
class Conv2dNorm(nn.Conv2d):
    """detectron2's Conv2d with a norm attribute (keys: weight[, bias], norm.weight, norm.bias)."""

    def __init__(self, cin, cout, k, padding=0, bias=False, groups=32, relu=False):
        super().__init__(cin, cout, k, padding=padding, bias=bias)
        self.norm = nn.GroupNorm(groups, cout)
        self.relu = relu

    def forward(self, x):
        x = self.norm(super().forward(x))
        return F.relu(x) if self.relu else x


def sine_position(x, num_pos_feats, temperature=10000.0):
    """PositionEmbeddingSine(normalize=True, scale=2*pi) of an [N, C, H, W] map, no padding mask."""
    n, _, h, w = x.shape
    y_embed = torch.arange(1, h + 1, dtype=torch.float32, device=x.device)[None, :, None].expand(n, h, w)
    x_embed = torch.arange(1, w + 1, dtype=torch.float32, device=x.device)[None, None, :].expand(n, h, w)
    eps, scale = 1e-6, 2 * math.pi
    y_embed = y_embed / (y_embed[:, -1:, :] + eps) * scale
    x_embed = x_embed / (x_embed[:, :, -1:] + eps) * scale
    dim_t = torch.arange(num_pos_feats, dtype=torch.float32, device=x.device)
    dim_t = temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / num_pos_feats)
    pos_x = x_embed[:, :, :, None] / dim_t
    pos_y = y_embed[:, :, :, None] / dim_t
    pos_x = torch.stack((pos_x[:, :, :, 0::2].sin(), pos_x[:, :, :, 1::2].cos()), dim=4).flatten(3)
    pos_y = torch.stack((pos_y[:, :, :, 0::2].sin(), pos_y[:, :, :, 1::2].cos()), dim=4).flatten(3)
    return torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2)


class MSDeformAttn(nn.Module):
    """Multi-scale deformable attention, the pure grid_sample form (ms_deform_attn_core_pytorch)."""

    def __init__(self, d_model, n_levels, n_heads, n_points):
        super().__init__()
        self.n_levels, self.n_heads, self.n_points = n_levels, n_heads, n_points
        self.sampling_offsets = nn.Linear(d_model, n_heads * n_levels * n_points * 2)
        self.attention_weights = nn.Linear(d_model, n_heads * n_levels * n_points)
        self.value_proj = nn.Linear(d_model, d_model)
        self.output_proj = nn.Linear(d_model, d_model)

    def forward(self, query, reference_points, value_in, shapes):
        n, lq, c = query.shape
        m, L, P = self.n_heads, self.n_levels, self.n_points
        value = self.value_proj(value_in).view(n, -1, m, c // m)
        off = self.sampling_offsets(query).view(n, lq, m, L, P, 2)
        aw = self.attention_weights(query).view(n, lq, m, L * P).softmax(-1).view(n, lq, m, L, P)
        sampled = []
        start = 0
        for lid, (h, w) in enumerate(shapes):
            v = value[:, start:start + h * w].flatten(2).transpose(1, 2).reshape(n * m, c // m, h, w)
            start = start + h * w
            # sampling location = reference + offset / (W, H) of the level, then grid_sample's [-1, 1]
            gx = 2 * (reference_points[:, :, None, lid, None, 0] + off[:, :, :, lid, :, 0] / w) - 1
            gy = 2 * (reference_points[:, :, None, lid, None, 1] + off[:, :, :, lid, :, 1] / h) - 1
            g = torch.stack((gx, gy), -1).transpose(1, 2).flatten(0, 1)
            sampled.append(F.grid_sample(v, g, mode="bilinear", padding_mode="zeros", align_corners=False))
        aw = aw.transpose(1, 2).reshape(n * m, 1, lq, L * P)
        out = (torch.stack(sampled, dim=-2).flatten(-2) * aw).sum(-1).view(n, m * (c // m), lq)
        return self.output_proj(out.transpose(1, 2))


class DeformEncoderLayer(nn.Module):
    def __init__(self, d, ff, n_levels, n_heads, n_points):
        super().__init__()
        self.self_attn = MSDeformAttn(d, n_levels, n_heads, n_points)
        self.norm1 = nn.LayerNorm(d)
        self.linear1 = nn.Linear(d, ff)
        self.linear2 = nn.Linear(ff, d)
        self.norm2 = nn.LayerNorm(d)

    def forward(self, src, pos, ref, shapes):
        src = self.norm1(src + self.self_attn(src + pos, ref, src, shapes))
        return self.norm2(src + self.linear2(F.relu(self.linear1(src))))


class DeformEncoder(nn.Module):
    def __init__(self, d, ff, layers, n_levels, n_heads, n_points):
        super().__init__()
        self.layers = nn.ModuleList([DeformEncoderLayer(d, ff, n_levels, n_heads, n_points) for _ in range(layers)])


class DeformTransformer(nn.Module):
    """MSDeformAttnTransformerEncoderOnly without padding masks (valid ratios 1)."""

    def __init__(self, d, ff, layers, n_levels, n_heads, n_points):
        super().__init__()
        self.level_embed = nn.Parameter(torch.zeros(n_levels, d))
        self.encoder = DeformEncoder(d, ff, layers, n_levels, n_heads, n_points)

    def forward(self, srcs, poss):
        shapes = [tuple(s.shape[-2:]) for s in srcs]
        src = torch.cat([s.flatten(2).transpose(1, 2) for s in srcs], 1)
        pos = torch.cat([p.flatten(2).transpose(1, 2) + self.level_embed[i].view(1, 1, -1) for i, p in enumerate(poss)], 1)
        refs = []
        for h, w in shapes:
            ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h  # linspace(0.5, H-0.5, H) / H
            xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w
            refs.append(torch.stack((xs[None, :].expand(h, w).reshape(-1), ys[:, None].expand(h, w).reshape(-1)), -1))
        ref = torch.cat(refs, 0)[None, :, None, :].expand(src.shape[0], -1, len(shapes), -1)
        for layer in self.encoder.layers:
            src = layer(src, pos, ref, shapes)
        return src, shapes


class PixelDecoder(nn.Module):
    """MSDeformAttnPixelDecoder: deformable encoder on s3..s5, one FPN level (s2), mask features."""

    def __init__(self, in_ch, conv_dim, mask_dim, ff, enc_layers, heads, points=4):
        super().__init__()
        self.conv_dim = conv_dim
        self.input_proj = nn.ModuleList([nn.Sequential(nn.Conv2d(in_ch[f], conv_dim, 1), nn.GroupNorm(32, conv_dim))
                                         for f in ("s5", "s4", "s3")])
        self.transformer = DeformTransformer(conv_dim, ff, enc_layers, 3, heads, points)
        self.mask_features = nn.Conv2d(conv_dim, mask_dim, 1)
        self.adapter_1 = Conv2dNorm(in_ch["s2"], conv_dim, 1)
        self.layer_1 = Conv2dNorm(conv_dim, conv_dim, 3, padding=1, relu=True)

    def forward(self, feats):
        srcs, poss = [], []
        for i, f in enumerate(("s5", "s4", "s3")):
            srcs.append(self.input_proj[i](feats[f]))
            poss.append(sine_position(feats[f], self.conv_dim // 2))
        y, shapes = self.transformer(srcs, poss)
        n = y.shape[0]
        out, start = [], 0
        for h, w in shapes:
            out.append(y[:, start:start + h * w].transpose(1, 2).reshape(n, -1, h, w))
            start += h * w
        cur = self.adapter_1(feats["s2"])
        top = cur + F.interpolate(out[-1], size=cur.shape[-2:], mode="bilinear", align_corners=False)
        out.append(self.layer_1(top))
        return self.mask_features(out[-1]), out[:3]


def mha(x_q, x_k, x_v, in_w, in_b, out, heads, mask=None):
    """nn.MultiheadAttention's math, batch-first [N, L, C]; mask: additive, 4-D, broadcast to [N, heads, Lq, Lk]."""
    n, lq, c = x_q.shape
    d = c // heads
    q = F.linear(x_q, in_w[:c], in_b[:c]).view(n, lq, heads, d).transpose(1, 2)
    k = F.linear(x_k, in_w[c:2 * c], in_b[c:2 * c]).view(n, -1, heads, d).transpose(1, 2)
    v = F.linear(x_v, in_w[2 * c:], in_b[2 * c:]).view(n, -1, heads, d).transpose(1, 2)
    s = (q * (d ** -0.5)) @ k.transpose(-1, -2)
    if mask is not None:
        s = s + mask
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(n, lq, c)
    return out(o)


class Attn(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        self.out_proj = nn.Linear(d, d)
        nn.init.xavier_uniform_(self.in_proj_weight)


class SelfLayer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.self_attn = Attn(d)
        self.norm = nn.LayerNorm(d)


class CrossLayer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.multihead_attn = Attn(d)
        self.norm = nn.LayerNorm(d)


class FFNLayer(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.linear1 = nn.Linear(d, ff)
        self.linear2 = nn.Linear(ff, d)
        self.norm = nn.LayerNorm(d)


class MLP(nn.Module):
    def __init__(self, i, h, o, n):
        super().__init__()
        dims = [i] + [h] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, [h] * (n - 1) + [o]))

    def forward(self, x):
        for j, layer in enumerate(self.layers):
            x = layer(x)
            if j < len(self.layers) - 1:
                x = F.relu(x)
        return x


class PooledMaskEmbed(nn.Module):
    def __init__(self, hidden, mask_dim, proj, temperature=0.07):
        super().__init__()
        self.pool_proj = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden))
        self.mask_embed = nn.Sequential(nn.LayerNorm(mask_dim), MLP(mask_dim, hidden, proj, 3))
        self.logit_scale = nn.Parameter(torch.ones([]) * math.log(1 / temperature))

    def forward(self, pooled, decoder_output):
        return self.mask_embed(self.pool_proj(pooled) + decoder_output)


class Predictor(nn.Module):
    """ODISEMultiScaleMaskedTransformerDecoder (post-norm, input_proj empty: in_channels == hidden)."""

    def __init__(self, hidden, heads, ff, layers, queries, mask_dim, proj):
        super().__init__()
        self.heads, self.layers_n = heads, layers
        self.query_feat = nn.Embedding(queries, hidden)
        self.query_embed = nn.Embedding(queries, hidden)
        self.level_embed = nn.Embedding(3, hidden)
        self.transformer_self_attention_layers = nn.ModuleList(SelfLayer(hidden) for _ in range(layers))
        self.transformer_cross_attention_layers = nn.ModuleList(CrossLayer(hidden) for _ in range(layers))
        self.transformer_ffn_layers = nn.ModuleList(FFNLayer(hidden, ff) for _ in range(layers))
        self.decoder_norm = nn.LayerNorm(hidden)
        self.mask_embed = MLP(hidden, hidden, mask_dim, 3)
        self.post_mask_embed = PooledMaskEmbed(hidden, mask_dim, proj)

    def heads_out(self, output, mask_features, size):
        dec = self.decoder_norm(output)
        masks = torch.einsum("bqc,bchw->bqhw", self.mask_embed(dec), mask_features)
        am = F.interpolate(masks, size=size, mode="bilinear", align_corners=False)
        am = (am.sigmoid().flatten(2) < 0.5)  # True: may not attend
        return dec, masks, am

    def forward(self, x, mask_features):
        """x: three maps, low to high resolution. Returns mask logits, normed decoder state."""
        n = mask_features.shape[0]
        src, pos, sizes = [], [], []
        for i in range(3):
            sizes.append(tuple(x[i].shape[-2:]))
            pos.append(sine_position(x[i], x[i].shape[1] // 2).flatten(2).transpose(1, 2))
            src.append((x[i].flatten(2) + self.level_embed.weight[i][None, :, None]).transpose(1, 2))
        qpos = self.query_embed.weight[None].expand(n, -1, -1)
        out = self.query_feat.weight[None].expand(n, -1, -1)
        dec, masks, am = self.heads_out(out, mask_features, sizes[0])
        for i in range(self.layers_n):
            lvl = i % 3
            full = am.all(-1, keepdim=True)
            am = am & ~full  # a query whose mask covers nothing attends everywhere
            bias = torch.zeros(am.shape, dtype=out.dtype).masked_fill(am, float("-inf"))
            bias = bias[:, None]
            c = self.transformer_cross_attention_layers[i]
            out = c.norm(out + mha(out + qpos, src[lvl] + pos[lvl], src[lvl], c.multihead_attn.in_proj_weight,
                                   c.multihead_attn.in_proj_bias, c.multihead_attn.out_proj, self.heads, bias))
            s = self.transformer_self_attention_layers[i]
            out = s.norm(out + mha(out + qpos, out + qpos, out, s.self_attn.in_proj_weight, s.self_attn.in_proj_bias,
                                   s.self_attn.out_proj, self.heads))
            f = self.transformer_ffn_layers[i]
            out = f.norm(out + f.linear2(F.relu(f.linear1(out))))
            dec, masks, am = self.heads_out(out, mask_features, sizes[(i + 1) % 3])
        return masks, dec


class SemSegHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.pixel_decoder = PixelDecoder(cfg["in_ch"], cfg["conv_dim"], cfg["mask_dim"], cfg["enc_ff"], cfg["enc_layers"],
                                          cfg["enc_heads"])
        self.predictor = Predictor(cfg["conv_dim"], cfg["dec_heads"], cfg["dec_ff"], cfg["dec_layers"], cfg["queries"],
                                   cfg["mask_dim"], cfg["proj"])


class MaskGenerator(nn.Module):
    """Graph odise_mask_generator: s2..s5 -> mask logits, mask features (1/4), normed decoder state."""

    def __init__(self, head):
        super().__init__()
        self.head = head

    def forward(self, s2, s3, s4, s5):
        mf, ms = self.head.pixel_decoder({"s2": s2, "s3": s3, "s4": s4, "s5": s5})
        masks, dec = self.head.predictor(ms, mf)
        return masks, mf, dec


class MaskEmbedGraph(nn.Module):
    def __init__(self, pme):
        super().__init__()
        self.pme = pme

    def forward(self, pooled_features, decoder_output):
        return self.pme(pooled_features, decoder_output)


# ------------------------------------------------------------------ CLIP (open_clip layout)
class ResBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = Attn(d)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(d, 4 * d))
        self.mlp.add_module("c_proj", nn.Linear(4 * d, d))

    def forward(self, x, heads, mask=None):
        h = self.ln_1(x)
        x = x + mha(h, h, h, self.attn.in_proj_weight, self.attn.in_proj_bias, self.attn.out_proj, heads, mask)
        h = self.mlp.c_fc(self.ln_2(x))
        return x + self.mlp.c_proj(h * torch.sigmoid(1.702 * h))  # OpenAI CLIP: QuickGELU


class Transformer(nn.Module):
    def __init__(self, d, layers):
        super().__init__()
        self.resblocks = nn.ModuleList(ResBlock(d) for _ in range(layers))


class Visual(nn.Module):
    def __init__(self, width, layers, patch, grid, embed):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.randn(width) * width ** -0.5)
        self.positional_embedding = nn.Parameter(torch.randn(grid * grid + 1, width) * width ** -0.5)
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(torch.randn(width, embed) * width ** -0.5)
        self.heads = width // 64  # open_clip: head width 64


class TextTower(nn.Module):
    def __init__(self, width, layers, embed, context=77, vocab=49408):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, width)
        self.positional_embedding = nn.Parameter(torch.randn(context, width) * 0.01)
        self.transformer = Transformer(width, layers)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.randn(width, embed) * width ** -0.5)
        self.heads = width // 64
        self.register_buffer("causal", torch.full((context, context), float("-inf")).triu(1), persistent=False)

    def forward(self, input_ids):
        n, L = input_ids.shape
        x = self.token_embedding(input_ids) + self.positional_embedding[:L]
        causal = self.causal[:L, :L][None, None]
        for b in self.transformer.resblocks:
            x = b(x, self.heads, causal)
        x = self.ln_final(x)
        eot = input_ids.argmax(-1)
        return x[torch.arange(n), eot] @ self.text_projection


class MaskClipGraph(nn.Module):
    """Graph odise_clip: MaskCLIP.encode_image_with_mask after the masks became patch flags.

    mask_attention [1, Q, G*G]: 1 where the query's mask covers the patch. The official attention
    mask: no token attends to the mask tokens; mask token q attends to the class token and to the
    patches it covers; class and patch tokens attend to every image token."""

    def __init__(self, visual):
        super().__init__()
        self.visual = visual

    def forward(self, pixel_values, mask_attention):
        v = self.visual
        x = v.conv1(pixel_values)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([v.class_embedding.view(1, 1, -1).expand(x.shape[0], 1, -1), x], 1) + v.positional_embedding
        x = v.ln_pre(x)
        q = mask_attention.shape[1]
        x = torch.cat([x[:, :1].expand(-1, q, -1), x], 1)
        t = x.shape[1]
        neg = torch.tensor(float("-inf"))
        blocked = torch.zeros(t, t)
        blocked[:, :q] = 1.0
        blocked = blocked[None].repeat(x.shape[0], 1, 1)
        rows = torch.cat([torch.zeros_like(mask_attention[:, :, :1]), 1.0 - mask_attention], 2)  # cls always visible
        top = torch.cat([blocked[:, :q, :q], rows], 2)
        blocked = torch.cat([top, blocked[:, q:]], 1)
        bias = torch.where(blocked > 0.5, neg, torch.zeros(()))[:, None]
        for b in v.transformer.resblocks:
            x = b(x, v.heads, bias)
        return v.ln_post(x[:, :q]) @ v.proj


class CategoryHead(nn.Module):
    def __init__(self, embed, proj):
        super().__init__()
        self.text_proj = nn.Linear(embed, proj)
        self.null_embed = nn.Parameter(torch.randn(1, embed))


def small_config():
    # backbone_ch: the projection width (the official 512); 128 keeps its bottleneck (width/4) at
    # GroupNorm(32)'s minimum. The Stable Diffusion part is sd_modules.sd_small_config (32 wide).
    return {"in_ch": {"s2": 128, "s3": 128, "s4": 128, "s5": 128}, "backbone_ch": 128, "conv_dim": 32, "mask_dim": 32, "enc_ff": 64,
            "enc_layers": 2, "enc_heads": 4, "dec_heads": 4, "dec_ff": 64, "dec_layers": 3, "queries": 10, "proj": 32,
            "clip_width": 64, "clip_layers": 2, "clip_patch": 14, "clip_grid": 24, "embed": 32, "text_width": 64, "text_layers": 2}


def official_config():
    """The whole label model at the official sizes: official_head_config() plus the backbone's 512-wide
    projections, open_clip ViT-L-14-336 (visual width 1024, 24 layers, patch 14 on a 24x24 grid, text width 768,
    12 layers, embedding 768) and Stable Diffusion v1 (sd_modules.sd_v1_config)."""
    cfg = official_head_config()
    cfg.update({"backbone_ch": 512, "clip_width": 1024, "clip_layers": 24, "clip_patch": 14, "clip_grid": 24,
                "text_width": 768, "text_layers": 12, "sd": "v1"})
    return cfg


def sd_config(cfg):
    """Stable Diffusion's configuration for an Odise config: v1-inference.yaml's, or the 32-wide reduced one."""
    if cfg.get("sd") == "v1":
        return sm.sd_v1_config()
    return sm.sd_small_config(cfg["text_width"], cfg["embed"], cfg["backbone_ch"])


class Odise(nn.Module):
    """Everything the bundle holds, under the official prefixes."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.clip = nn.Module()
        self.clip.visual = Visual(cfg["clip_width"], cfg["clip_layers"], cfg["clip_patch"], cfg["clip_grid"], cfg["embed"])
        # The implicit captioner runs the same (frozen, pretrained) CLIP image tower; shared here.
        self.backbone = sm.OdiseBackbone(sd_config(cfg), self.clip.visual)
        self.sem_seg_head = SemSegHead(cfg)
        self.category_head = CategoryHead(cfg["embed"], cfg["proj"])
        self.clip.text = TextTower(cfg["text_width"], cfg["text_layers"], cfg["embed"])
        self.clip.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


def randomize(model, seed):
    """Random weights with non-trivial norms and biases (defaults leave LayerNorm/GroupNorm at identity)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("logit_scale"):
                continue
            if p.dim() == 1 and ("norm" in name or name.split(".")[-2] in ("1", "0", "ln_pre", "ln_post", "ln_final", "ln_1", "ln_2")):
                if name.endswith("weight"):
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                    continue
            fan_in = p.shape[1] if p.dim() > 1 else p.shape[0]
            if p.dim() > 2:
                fan_in = p[0].numel()
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(max(fan_in, 1)))
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            # gates, positional tables and the empty-prompt context: O(1) values so the captioner matters
            if name.endswith(("alpha_cond", "alpha_cond_time_embed", "positional_embedding", "uncond_inputs")):
                t.copy_(0.5 * torch.randn(t.shape, generator=g))
    return model


def official_head_config():
    """The ODISE head as configs/common/models/mask_generator_with_label.py builds it (label model):
    MSDeformAttn pixel decoder conv_dim = mask_dim = 256, 6 encoder layers, 8 heads, FFN 1024, 4 points;
    masked-attention decoder hidden 256, 8 heads, FFN 2048, 9 layers, 100 queries; PooledMaskEmbed
    projection 256; backbone features of 512 channels (FeatureExtractorBackbone projection_dim);
    CategoryEmbed.text_proj from CLIP ViT-L/14-336's 768-d text space."""
    return {"in_ch": {"s2": 512, "s3": 512, "s4": 512, "s5": 512}, "conv_dim": 256, "mask_dim": 256, "enc_ff": 1024,
            "enc_layers": 6, "enc_heads": 8, "dec_heads": 8, "dec_ff": 2048, "dec_layers": 9, "queries": 100, "proj": 256,
            "embed": 768}


class OdiseHead(nn.Module):
    """The ODISE model file's trained part outside the backbone: sem_seg_head.* and category_head.*."""

    def __init__(self, cfg):
        super().__init__()
        self.sem_seg_head = SemSegHead(cfg)
        self.category_head = CategoryHead(cfg["embed"], cfg["proj"])

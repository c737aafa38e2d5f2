#!/usr/bin/env python3
"""OpenAI CLIP ResNet image tower (ModifiedResNet + AttentionPool2d) in plain PyTorch, for MaskCLIP RN50.

Written from the architecture of OpenAI CLIP's ModifiedResNet; parameter names match the
OpenAI state dict (visual.conv1.weight, visual.bn1.*, visual.layer1.0.conv1.weight, ...,
visual.attnpool.{positional_embedding,k_proj,q_proj,v_proj,c_proj}.*), so an OpenAI RN50 .pt
loads with no renaming.

  stem:       3x3 conv stride 2 (3 -> w/2) + BN + ReLU, 3x3 conv (w/2 -> w/2) + BN + ReLU,
              3x3 conv (w/2 -> w) + BN + ReLU, AvgPool 2
  layer1..4:  Bottlenecks (planes w, 2w, 4w, 8w; expansion 4; layers 2-4 stride 2). A strided
              Bottleneck average-pools after its 3x3 conv (before conv3); its downsample is
              AvgPool(stride) -> 1x1 conv (no bias) -> BN (keys downsample.0 / downsample.1).
  attnpool:   AttentionPool2d(D = 32w, heads, E): MaskCLIP's dense head ignores the attention and
              the positional embedding and uses feat = c_proj(v_proj(x)) per pixel (both biases);
              its key smoothing uses keys k_proj(x) per pixel.

The text tower of an OpenAI RN checkpoint is the same transformer as ViT CLIP's; it is converted
to transformers' CLIPTextModelWithProjection with the mapping export_clip.py uses for ViT .pt files.

Checkpoint forms accepted by load_checkpoint():
  * an OpenAI CLIP RN .pt file (TorchScript archive; torch.jit.load(...).state_dict()), or a plain
    state dict with the same keys saved with torch.save;
  * a directory holding model.pt (such a torch.save'd OpenAI-format state dict) and optionally
    preprocessor_config.json (mean/std) -- what `make_random_clip.py --arch rn50` writes.

Random checkpoints: build_random_state_dict(small, seed) (deterministic for a seed).
"""
import os
from collections import OrderedDict

import torch
from torch import nn
import torch.nn.functional as F

RN_CONFIGS = {  # name: (layers, width, output_dim(E), text width, text layers)
    "RN50": ((3, 4, 6, 3), 64, 1024, 512, 12),
    "RN101": ((3, 4, 23, 3), 64, 512, 512, 12),
    "RN50x4": ((4, 6, 10, 6), 80, 640, 640, 12),
    "RN50x16": ((6, 8, 18, 8), 96, 768, 768, 12),
    "RN50x64": ((3, 15, 36, 10), 128, 1024, 1024, 12),
}


# ----------------------------------------------------------------------------- image tower
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu1 = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu2 = nn.ReLU(inplace=False)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu3 = nn.ReLU(inplace=False)
        self.downsample = None
        if stride > 1 or inplanes != planes * self.expansion:
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride) if stride > 1 else nn.Identity()),
                ("0", nn.Conv2d(inplanes, planes * self.expansion, 1, stride=1, bias=False)),
                ("1", nn.BatchNorm2d(planes * self.expansion)),
            ]))

    def forward(self, x):
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.relu2(self.bn2(self.conv2(out)))
        out = self.avgpool(out)
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu3(out + identity)


class AttentionPool2d(nn.Module):
    def __init__(self, spacial_dim, embed_dim, num_heads, output_dim=None):
        super().__init__()
        self.positional_embedding = nn.Parameter(torch.randn(spacial_dim ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim or embed_dim)
        self.num_heads = num_heads

    def forward(self, x):
        """CLIP's global (attention-pooled) image embedding: [N, D, h, w] -> [N, E]."""
        x = x.flatten(2).permute(2, 0, 1)  # [hw, N, D]
        x = torch.cat([x.mean(dim=0, keepdim=True), x], 0)
        x = x + self.positional_embedding[:, None, :].to(x.dtype)  # only at the training grid
        out, _ = F.multi_head_attention_forward(
            query=x[:1], key=x, value=x, embed_dim_to_check=x.shape[-1], num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight, k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight, in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0,
            out_proj_weight=self.c_proj.weight, out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True, training=False, need_weights=False)
        return out[0]

    def dense(self, x):
        """MaskCLIP's dense head: c_proj(v_proj(x)) per pixel, [N, D, h, w] -> [N, E, h, w]."""
        f = x.permute(0, 2, 3, 1)
        f = self.c_proj(self.v_proj(f))
        return f.permute(0, 3, 1, 2)


class ModifiedResNet(nn.Module):
    def __init__(self, layers, output_dim, heads, input_resolution=224, width=64):
        super().__init__()
        self.output_dim = output_dim
        self.input_resolution = input_resolution
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.relu1 = nn.ReLU(inplace=False)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.relu2 = nn.ReLU(inplace=False)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu3 = nn.ReLU(inplace=False)
        self.avgpool = nn.AvgPool2d(2)
        self._inplanes = width
        self.layer1 = self._make_layer(width, layers[0])
        self.layer2 = self._make_layer(width * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(width * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(width * 8, layers[3], stride=2)
        embed_dim = width * 32
        self.attnpool = AttentionPool2d(input_resolution // 32, embed_dim, heads, output_dim)

    def _make_layer(self, planes, blocks, stride=1):
        mods = [Bottleneck(self._inplanes, planes, stride)]
        self._inplanes = planes * Bottleneck.expansion
        for _ in range(1, blocks):
            mods.append(Bottleneck(self._inplanes, planes))
        return nn.Sequential(*mods)

    def features(self, x):
        """Feature map before the attention pool: [N, 3, H, W] -> [N, D, H/32, W/32]."""
        x = x.to(self.conv1.weight.dtype)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        x = self.relu3(self.bn3(self.conv3(x)))
        x = self.avgpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def forward(self, x):
        return self.attnpool(self.features(x))


class DenseResNet(nn.Module):
    """Exported image graph: pixel_values [1,3,H,W] -> dense_features [1, gh*gw, D] (row-major) and
    dense_keys [1, gh*gw, D] = attnpool.k_proj(features) (with its bias; MaskCLIP's key smoothing on
    ResNet). The input is not padded: gh = grid_side(H), gw = grid_side(W)."""

    def __init__(self, visual, dtype=torch.float32):
        super().__init__()
        self.visual = visual
        self.dtype_ = dtype

    def forward(self, pixel_values):
        f = self.visual.features(pixel_values.to(self.dtype_)).flatten(2).transpose(1, 2)
        k = self.visual.attnpool.k_proj(f)
        return f.to(torch.float32), k.to(torch.float32)


def grid_side(side):
    """Feature-map side for an unpadded input side: the stride-2 stem conv (3x3, padding 1) gives
    ceil(side/2); the stem's and layers 2-4's 2x2 average pools each floor-halve it."""
    g = (side + 1) // 2
    for _ in range(4):
        g //= 2
    return g


# ----------------------------------------------------------------------------- state dicts
def is_resnet_state_dict(sd):
    return "visual.layer1.0.conv1.weight" in sd


def visual_config(sd):
    """(layers, width, output_dim, heads, input_resolution) from an OpenAI-format state dict."""
    layers = tuple(len({k.split(".")[2] for k in sd if k.startswith(f"visual.layer{i}.")}) for i in (1, 2, 3, 4))
    width = sd["visual.conv3.weight"].shape[0]  # stem output = width
    embed_dim = width * 32
    output_dim = sd["visual.attnpool.c_proj.weight"].shape[0]
    grid = int(round((sd["visual.attnpool.positional_embedding"].shape[0] - 1) ** 0.5))
    return layers, width, output_dim, embed_dim // 64, grid * 32


def build_visual(sd):
    layers, width, output_dim, heads, res = visual_config(sd)
    visual = ModifiedResNet(layers, output_dim, heads, res, width)
    vsd = {k[len("visual."):]: v.float() for k, v in sd.items() if k.startswith("visual.")}
    missing, unexpected = visual.load_state_dict(vsd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise RuntimeError(f"ResNet visual: missing {missing[:8]}, unexpected {unexpected[:8]}")
    return visual.eval()


class TextTower(nn.Module):
    """transformers CLIPTextModelWithProjection with CLIPModel's get_text_features interface."""

    def __init__(self, hf):
        super().__init__()
        self.hf = hf
        self.text_model = hf.text_model
        self.text_projection = hf.text_projection
        self.config = hf.config

    def get_text_features(self, input_ids):
        return self.hf(input_ids=input_ids).text_embeds


def move_block_to_hf(sd, src, dst, hf):
    """Moves one OpenAI CLIP residual attention block's tensors (prefix src) out of sd into hf under
    transformers' names (prefix dst): in_proj split into q/k/v, ln_1/ln_2, mlp c_fc/c_proj."""
    w, b = sd.pop(src + "attn.in_proj_weight"), sd.pop(src + "attn.in_proj_bias")
    for name, wi, bi in zip(("q", "k", "v"), w.chunk(3, 0), b.chunk(3, 0)):
        hf[f"{dst}self_attn.{name}_proj.weight"], hf[f"{dst}self_attn.{name}_proj.bias"] = wi, bi
    for a, c in (("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
                 ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2")):
        hf[f"{dst}{c}.weight"], hf[f"{dst}{c}.bias"] = sd.pop(f"{src}{a}.weight"), sd.pop(f"{src}{a}.bias")


def build_text(sd):
    """OpenAI text transformer -> transformers CLIPTextModelWithProjection (export_clip.py's ViT mapping)."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection
    sd = {k: v.float() for k, v in sd.items() if not k.startswith("visual.")}
    tw = sd["ln_final.weight"].shape[0]
    embed = sd["text_projection"].shape[1]
    n = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
    cfg = CLIPTextConfig(hidden_size=tw, intermediate_size=sd["transformer.resblocks.0.mlp.c_fc.weight"].shape[0],
                         num_hidden_layers=n, num_attention_heads=tw // 64,
                         vocab_size=sd["token_embedding.weight"].shape[0],
                         max_position_embeddings=sd["positional_embedding"].shape[0], hidden_act="quick_gelu",
                         bos_token_id=49406, eos_token_id=49407, pad_token_id=1, projection_dim=embed)
    model = CLIPTextModelWithProjection._from_config(cfg, attn_implementation="eager").eval()
    hf = {}
    for i in range(n):
        move_block_to_hf(sd, f"transformer.resblocks.{i}.", f"text_model.encoder.layers.{i}.", hf)
    hf["text_model.final_layer_norm.weight"] = sd.pop("ln_final.weight")
    hf["text_model.final_layer_norm.bias"] = sd.pop("ln_final.bias")
    hf["text_projection.weight"] = sd.pop("text_projection").T.contiguous()
    hf["text_model.embeddings.token_embedding.weight"] = sd.pop("token_embedding.weight")
    hf["text_model.embeddings.position_embedding.weight"] = sd.pop("positional_embedding")
    left = sorted(k for k in sd if k not in ("input_resolution", "context_length", "vocab_size", "logit_scale"))
    if left:
        raise RuntimeError(f"unmapped OpenAI text keys: {left[:8]}{' ...' if len(left) > 8 else ''}")
    missing, unexpected = model.load_state_dict(hf, strict=False)
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise RuntimeError(f"text conversion mismatch: missing {missing[:8]}, unexpected {unexpected[:8]}")
    return TextTower(model).eval()


def read_state_dict(path):
    """OpenAI-format state dict from a .pt file (TorchScript archive or torch.save) or a model.pt directory."""
    if os.path.isdir(path):
        path = os.path.join(path, "model.pt")
    try:
        sd = torch.jit.load(path, map_location="cpu").state_dict()
    except Exception:  # noqa: BLE001 - a plain state dict saved with torch.save
        sd = torch.load(path, map_location="cpu", weights_only=True)
        sd = sd.get("state_dict", sd)
    return dict(sd)


def is_resnet_checkpoint(path):
    if os.path.isdir(path):
        return os.path.exists(os.path.join(path, "model.pt")) and not os.path.exists(os.path.join(path, "config.json"))
    try:
        return is_resnet_state_dict(read_state_dict(path))
    except Exception:  # noqa: BLE001
        return False


def load_checkpoint(path):
    """(visual ModifiedResNet, TextTower) from an OpenAI RN .pt or a make_random_clip --arch rn50 directory."""
    sd = read_state_dict(path)
    if not is_resnet_state_dict(sd):
        raise RuntimeError(f"{path}: not an OpenAI CLIP ResNet checkpoint (no visual.layer1.0.conv1.weight)")
    return build_visual(sd), build_text(sd)


def family(visual):
    layers = tuple(len(getattr(visual, f"layer{i}")) for i in (1, 2, 3, 4))
    width = visual.conv3.weight.shape[0]
    for name, (l, w, *_rest) in RN_CONFIGS.items():
        if (l, w) == (layers, width):
            return "clip-" + name.lower()
    return f"clip-rn-w{width}-l{'-'.join(map(str, layers))}"


# ----------------------------------------------------------------------------- random init
def build_random_state_dict(small=False, seed=0):
    """OpenAI-format RN state dict with random weights (RN50 shapes, or a small one), deterministic."""
    if small:
        # widths differ everywhere (D = 512, E = 128, text 192) so transposes fail loudly
        layers, width, out_dim, tw, tl = (1, 1, 2, 1), 16, 128, 192, 4
    else:
        layers, width, out_dim, tw, tl = RN_CONFIGS["RN50"]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        visual = ModifiedResNet(layers, out_dim, width * 32 // 64, 224, width)
        for m in visual.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, generator=g)
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0, m.in_features ** -0.5, generator=g)
                m.bias.normal_(0, 0.1, generator=g)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1.0 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        # calibrate the BN running statistics on random images (cumulative average), so the
        # eval-mode activations keep a sane scale through the network
        for m in visual.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None
                m.reset_running_stats()
        visual.train()
        for _ in range(2):
            visual.features(torch.randn(2, 3, 224, 224, generator=g))
        visual.eval()
        for m in visual.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = 0.1
        # damp the residual branches (as trained ResNets are), so the random net does not amplify
        # rounding errors (keeps the fp16 self-check meaningful)
        for m in visual.modules():
            if isinstance(m, Bottleneck):
                m.bn3.weight.mul_(0.25)
                m.bn3.bias.mul_(0.25)
    sd = {"visual." + k: v.clone() for k, v in visual.state_dict().items()}

    def rn(*shape, std):
        return torch.randn(*shape, generator=g) * std

    sd["token_embedding.weight"] = rn(49408, tw, std=0.02)
    sd["positional_embedding"] = rn(77, tw, std=0.01)
    for i in range(tl):
        p = f"transformer.resblocks.{i}."
        sd[p + "attn.in_proj_weight"] = rn(3 * tw, tw, std=tw ** -0.5)
        sd[p + "attn.in_proj_bias"] = rn(3 * tw, std=0.02)
        sd[p + "attn.out_proj.weight"] = rn(tw, tw, std=tw ** -0.5)
        sd[p + "attn.out_proj.bias"] = rn(tw, std=0.02)
        for ln in ("ln_1", "ln_2"):
            sd[p + ln + ".weight"] = 1.0 + rn(tw, std=0.1)
            sd[p + ln + ".bias"] = rn(tw, std=0.1)
        sd[p + "mlp.c_fc.weight"] = rn(4 * tw, tw, std=tw ** -0.5)
        sd[p + "mlp.c_fc.bias"] = rn(4 * tw, std=0.02)
        sd[p + "mlp.c_proj.weight"] = rn(tw, 4 * tw, std=(4 * tw) ** -0.5)
        sd[p + "mlp.c_proj.bias"] = rn(tw, std=0.02)
    sd["ln_final.weight"] = 1.0 + rn(tw, std=0.1)
    sd["ln_final.bias"] = rn(tw, std=0.1)
    sd["text_projection"] = rn(tw, out_dim, std=tw ** -0.5)
    sd["logit_scale"] = torch.tensor(4.6052)
    return sd

"""Loading the official ODISE inputs: which file holds which key, and the empty-prompt context.

What the ODISE model file (odise_label_coco_50e.pth) holds, from NVlabs/ODISE's code (commit 2b187e4):
- LdmExtractor is a FeatureExtractor, whose state_dict() returns an empty dict (odise/modeling/meta_arch/
  helper.py:44-46, "don't save DDPM model"), so Stable Diffusion (UNet, VAE, text encoder) and the buffers
  ldm.uncond_inputs (ldm.py:116) and shared_noise (ldm.py:274, seed 42) are NOT in the file: they are rebuilt
  at construction from sd-v1-3.ckpt (LatentDiffusion.load_pretrain, ldm.py:98) and torch.Generator(42).
- ClipAdapter.state_dict() also returns an empty dict (clip.py:120-122, "don't save clip model"); all three
  open_clip ViT-L-14-336 towers (the captioner's LdmImplicitCaptionerExtractor.clip, ldm.py:652; CategoryEmbed.clip,
  odise.py:1231; PoolingCLIPHead.clip = MaskCLIP, odise.py:1437) come from open_clip's pretrained="openai"
  (clip.py:79-88) and are frozen (clip.py:102-105).
- The checkpointer drops exactly those keys from the missing-key report via ignored_state_dict()
  (odise/checkpoint/odise_checkpointer.py:93-116), i.e. loading is non-strict for them by design.
So the ODISE file holds the trained parts only: backbone.feature_extractor.{alpha_cond, alpha_cond_time_embed,
clip_project.*, time_embed_project.*}, the per-tap projections, sem_seg_head.*, category_head's text_proj /
null embedding. The exporter assembles the rest from sd-v1-3.ckpt and OpenAI's ViT-L-14-336px.pt.
Reading the three files (load_sd_checkpoint, load_openai_clip, load_odise_model) and assembling the whole
odise_modules.Odise state (assemble_odise_state) raise OfficialFileError with one line naming the file and key.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
SD_TEXT_LIST = os.path.join(HERE, "odise_sd_text_keys.txt")
CLIP_TEXT_LIST = os.path.join(HERE, "odise_clip_text_keys.txt")
SD_TEXT_PREFIX = "cond_stage_model.transformer."
# transformers < 4.31 saved text_model.embeddings.position_ids as a persistent buffer (SD v1 checkpoints hold it,
# 1x77 int64); newer transformers make it non-persistent, so it is checked and dropped, never loaded.
POSITION_IDS = SD_TEXT_PREFIX + "text_model.embeddings.position_ids"
# OpenAI's JIT archive stores these ints beside the weights; open_clip's build_model_from_openai_state_dict drops them.
OPENAI_META = ("input_resolution", "context_length", "vocab_size")
# CLIP BPE ids of the empty prompt as ldm's FrozenCLIPEmbedder tokenizes it (truncation, padding="max_length",
# max_length 77; openai/clip-vit-large-patch14's pad token is <|endoftext|>): <|startoftext|> then
# <|endoftext|> x 76. No merges/vocab file is needed for "" (ClipTokenizer in Java has the tables for the rest).
BOS, EOS, CONTEXT = 49406, 49407, 77


def empty_prompt_ids():
    return [BOS] + [EOS] * (CONTEXT - 1)


def sd_text_config(width=768, layers=12, heads=12):
    """openai/clip-vit-large-patch14's text config (ldm's FrozenCLIPEmbedder, SD v1's cond_stage_model); other
    widths only for the reduced test configuration (sd_text_config_for)."""
    from transformers import CLIPTextConfig
    return CLIPTextConfig(vocab_size=49408, hidden_size=width, intermediate_size=4 * width, projection_dim=width,
                          num_hidden_layers=layers, num_attention_heads=heads, max_position_embeddings=77,
                          hidden_act="quick_gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=BOS, eos_token_id=EOS)


def sd_text_config_for(cfg):
    """The SD text encoder of an odise_modules config: the official one, or a 2-layer encoder at the reduced
    configuration's context width (what make_odise_official_files.py writes into its small sd-v1-3.ckpt)."""
    if cfg.get("sd") == "v1":
        return sd_text_config()
    return sd_text_config(cfg["text_width"], 2, max(1, cfg["text_width"] // 32))


def sd_text_state(ckpt_state, model_keys):
    """cond_stage_model.transformer.* of sd-v1-3.ckpt's state_dict -> the installed CLIPTextModel's state dict
    (model_keys: its state_dict().keys()). The checkpoint (transformers 4.x) nests everything under text_model.;
    transformers 5's CLIPTextModel has no text_model level, so it is stripped when the model lacks it."""
    sd = {k[len(SD_TEXT_PREFIX):]: v for k, v in ckpt_state.items() if k.startswith(SD_TEXT_PREFIX) and k != POSITION_IDS}
    if not sd:
        raise ValueError("no " + SD_TEXT_PREFIX + "* keys: not a Stable Diffusion v1 checkpoint")
    if not any(k.startswith("text_model.") for k in model_keys):
        sd = {k[len("text_model."):] if k.startswith("text_model.") else k: v for k, v in sd.items()}
    return sd


def empty_prompt_context(torch, ckpt_state, config=None):
    """ldm's uncond_inputs = FrozenCLIPEmbedder([""]).last_hidden_state, [1, 77, 768], from sd-v1-3.ckpt
    (config: a CLIPTextConfig, sd_text_config() when None)."""
    from transformers import CLIPTextModel
    model = CLIPTextModel(config or sd_text_config()).eval()
    model.load_state_dict(sd_text_state(ckpt_state, model.state_dict().keys()), strict=True)
    with torch.no_grad():
        return model(input_ids=torch.tensor([empty_prompt_ids()])).last_hidden_state


def clip_text_state(openai_state):
    """OpenAI ViT-L-14-336px state dict -> odise_modules.TextTower keys (text tower only) and logit_scale."""
    text = {k: v for k, v in openai_state.items() if not k.startswith("visual.") and k not in OPENAI_META and k != "logit_scale"}
    if "token_embedding.weight" not in text:
        raise ValueError("no token_embedding.weight: not an OpenAI CLIP state dict")
    return text, openai_state.get("logit_scale")


def clip_visual_state(openai_state):
    """OpenAI ViT-L-14-336px visual.* -> odise_modules.Visual keys (the captioner's and the CLIP branch's tower)."""
    return {k[len("visual."):]: v for k, v in openai_state.items() if k.startswith("visual.")}


def backbone_source(key):
    """Which official file provides a key of sd_modules.OdiseBackbone's state dict (odise_backbone_keys.txt +
    odise_sd_keys.txt under feature_extractor.ldm_extractor.ldm.ldm.)."""
    if key.startswith("feature_extractor.ldm_extractor.ldm.ldm."):
        return "sd-v1-3.ckpt"
    if key == "feature_extractor.ldm_extractor.ldm.uncond_inputs":
        return "computed: SD text encoder on the empty prompt"
    if key == "feature_extractor.ldm_extractor.shared_noise":
        return "computed: torch.Generator().manual_seed(42), randn(1, 4, 64, 64)"
    if key.startswith("feature_extractor.clip."):
        return "ViT-L-14-336px.pt"
    return "odise model file (backbone.)"


def shared_noise(torch, shape=(1, 4, 64, 64)):
    """LdmExtractor's shared noise (ldm.py:271-276): seed 42, [1, 4, 64, 64] for SD v1's 512² / 64² latent
    (the reduced configuration's module holds a smaller table drawn the same way)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(42))


def assemble_backbone_state(torch, backbone_keys, odise_state, sd_state, openai_state, uncond, noise_shape=(1, 4, 64, 64),
                            names=None):
    """The state dict of sd_modules.OdiseBackbone (backbone_keys: its state_dict().keys()) from the three
    official files: the ODISE model file's backbone.* (trained parts only), sd-v1-3.ckpt's state_dict, OpenAI's
    ViT-L-14-336px state dict; uncond = empty_prompt_context(). A key no file provides raises KeyError with its name
    and the file's (names: backbone_source()'s labels -> the paths given, for the message)."""
    out = {}
    for k in backbone_keys:
        src = backbone_source(k)
        if src == "sd-v1-3.ckpt":
            name, table = k[len("feature_extractor.ldm_extractor.ldm.ldm."):], sd_state
        elif src == "ViT-L-14-336px.pt":
            name, table = k[len("feature_extractor.clip.clip."):], openai_state
        elif k.endswith("uncond_inputs"):
            out[k] = uncond
            continue
        elif k.endswith("shared_noise"):
            out[k] = shared_noise(torch, noise_shape)
            continue
        else:
            name, table = "backbone." + k, odise_state
        if name not in table:
            raise KeyError(f"{(names or {}).get(src, src)}: {name} is missing (backbone key {k})")
        out[k] = table[name]
    return out


# ------------------------------------------------------------------ reading the three files
class OfficialFileError(Exception):
    """A file is not what its option says, or lacks / misshapes a key: the exporter prints the one-line message
    and exits 2."""


class _StubObject:
    """Stands in for a pickled object whose class is not importable here (e.g. pytorch_lightning's
    ModelCheckpoint callback in sd-v1-x.ckpt); only the tensors are used."""

    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        pass


def _tolerant_pickle():
    """A pickle module for torch.load(weights_only=False) that stubs classes it cannot import."""
    import pickle
    import types

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            try:
                return super().find_class(module, name)
            except (ImportError, AttributeError):
                return type(name, (_StubObject,), {"__module__": module})

    mod = types.ModuleType("tolerant_pickle")
    mod.Unpickler, mod.load, mod.__name__ = Unpickler, lambda f, **kw: Unpickler(f, **kw).load(), "tolerant_pickle"
    return mod


def _is_torchscript(path):
    import zipfile
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("/constants.pkl") or n == "constants.pkl" for n in z.namelist())


def torch_load(torch, path, allow_pickle):
    """torch.load with weights_only=True (tensors and plain containers only); with allow_pickle the file may hold
    other pickled objects (trusted files only: unpickling runs code)."""
    import pickle
    if not os.path.isfile(path):
        raise OfficialFileError(f"{path}: no such file")
    if _is_torchscript(path):
        raise OfficialFileError(f"{path}: a TorchScript archive (an OpenAI CLIP file?), not a torch.save checkpoint")
    try:
        if allow_pickle:
            return torch.load(path, map_location="cpu", weights_only=False, pickle_module=_tolerant_pickle())
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        import re
        found = re.search(r"Unsupported global: GLOBAL (\S+)", str(e))
        if not allow_pickle and found:
            raise OfficialFileError(f"{path}: holds pickled objects ({found.group(1)}) that weights_only loading refuses; "
                                    f"pass --allow-pickle if the file is trusted")
        raise OfficialFileError(f"{path}: cannot be read as a PyTorch checkpoint"
                                + ("" if "Weights only load failed" in str(e) else f": {(str(e).splitlines() or [''])[0]}"))
    except (RuntimeError, EOFError, OSError) as e:
        raise OfficialFileError(f"{path}: cannot be read as a PyTorch checkpoint: {str(e).splitlines()[0] if str(e) else type(e).__name__}")


def _tensors(torch, state):
    """Tensors of a state dict; numpy arrays (some detectron2 checkpoints store them) become tensors."""
    import numpy as np
    return {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
            for k, v in state.items() if isinstance(v, (np.ndarray, torch.Tensor))}


def load_sd_checkpoint(torch, path, allow_pickle=False):
    """sd-v1-3.ckpt (ldm / Lightning layout {"state_dict": {...}, ...}) -> its state_dict. Keys outside
    model.diffusion_model.*, first_stage_model.* and cond_stage_model.* (model_ema.*, betas, ...) are left
    unread by the assembly."""
    obj = torch_load(torch, path, allow_pickle)
    state = obj.get("state_dict") if isinstance(obj, dict) else None
    if not isinstance(state, dict) or not any(k.startswith("model.diffusion_model.") for k in state):
        raise OfficialFileError(f"{path}: not a Stable Diffusion v1 checkpoint (no state_dict with model.diffusion_model.* keys)")
    return _tensors(torch, state)


def load_openai_clip(torch, path, allow_pickle=False):
    """OpenAI's ViT-L-14-336px.pt: a TorchScript archive whose module's state_dict() is the weights (as open_clip
    loads it), or a plain state dict file. fp16 -> fp32 (open_clip's fp32 path converts the fp16 weights back
    to float32); the int metadata (input_resolution, context_length, vocab_size) is dropped."""
    if not os.path.isfile(path):
        raise OfficialFileError(f"{path}: no such file")
    if _is_torchscript(path):
        try:
            state = torch.jit.load(path, map_location="cpu").state_dict()
        except RuntimeError as e:
            raise OfficialFileError(f"{path}: TorchScript archive cannot be loaded: {str(e).splitlines()[0]}")
    else:
        state = torch_load(torch, path, allow_pickle)
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
    if not isinstance(state, dict) or "visual.conv1.weight" not in state or "token_embedding.weight" not in state:
        raise OfficialFileError(f"{path}: not an OpenAI CLIP model (no visual.conv1.weight / token_embedding.weight)")
    return {k: v.float() if v.is_floating_point() else v for k, v in _tensors(torch, state).items() if k not in OPENAI_META}


def load_odise_model(torch, path, allow_pickle=False):
    """The ODISE model file (detectron2 checkpoint {"model": state_dict, ...}) -> its state dict ("module."
    prefixes of DDP-wrapped saves removed). The caption model (odise_caption_coco_50e) is refused: its category
    head is WordEmbed (word_head.*: "a photo of a {}." prompts, no null embedding) and its void probability comes
    from a 2-way class head (num_classes=1), which ovseg's OdiseClassifier does not implement."""
    obj = torch_load(torch, path, allow_pickle)
    state = obj.get("model", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise OfficialFileError(f"{path}: not a detectron2 checkpoint (no model state dict)")
    state = _tensors(torch, {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()})
    if any(k.startswith("word_head.") for k in state):
        raise OfficialFileError(f"{path}: an ODISE caption model (word_head.*; void from a 2-way class head, no null "
                                f"embedding): not supported, ovseg's OdiseClassifier runs the label model (odise_label_coco_50e)")
    if not any(k.startswith("sem_seg_head.") for k in state):
        raise OfficialFileError(f"{path}: not an ODISE model file (no sem_seg_head.* keys)")
    return state


def assemble_odise_state(torch, model, odise_state, sd_state, openai_state, uncond, names):
    """odise_modules.Odise's full state dict from the three files (names: {"odise", "sd", "clip"} -> paths).
    Every model key must come from a file at the model's shape; an ODISE-file key under a prefix the bundle uses
    that the model lacks is refused too (an architecture mismatch), except frozen backbone keys (never read)."""
    want = model.state_dict()
    bb_keys = [k[len("backbone."):] for k in want if k.startswith("backbone.")]
    noise = want["backbone.feature_extractor.ldm_extractor.shared_noise"].shape
    labels = {"sd-v1-3.ckpt": names["sd"], "ViT-L-14-336px.pt": names["clip"], "odise model file (backbone.)": names["odise"]}
    try:
        bb = assemble_backbone_state(torch, bb_keys, odise_state, sd_state, openai_state, uncond, tuple(noise), labels)
    except KeyError as e:
        raise OfficialFileError(e.args[0])
    visual = clip_visual_state(openai_state)
    text, scale = clip_text_state(openai_state)
    out, where = {}, {}
    for k in want:
        if k.startswith("backbone."):
            v, src = bb[k[len("backbone."):]], labels.get(backbone_source(k[len("backbone."):]), "computed")
            name = k
        elif k.startswith("clip.visual."):
            name, table, src = "visual." + k[len("clip.visual."):], visual, names["clip"]
            v = table.get(k[len("clip.visual."):])
        elif k.startswith("clip.text."):
            name, src = k[len("clip.text."):], names["clip"]
            v = text.get(name)
        elif k == "clip.logit_scale":
            name, v, src = "logit_scale", scale, names["clip"]
        else:
            name, src = k, names["odise"]
            v = odise_state.get(k)
        if v is None:
            raise OfficialFileError(f"{src}: {name} is missing")
        if tuple(v.shape) != tuple(want[k].shape):
            raise OfficialFileError(f"{src}: {name} has shape {list(v.shape)}, the model wants {list(want[k].shape)}")
        out[k], where[k] = v, src
    for k in odise_state:
        if k.startswith(("sem_seg_head.", "category_head.")) and k not in want:
            raise OfficialFileError(f"{names['odise']}: unexpected key {k} (not the label model's architecture)")
        if k.startswith("backbone.") and k not in want and backbone_source(k[len("backbone."):]).startswith("odise"):
            raise OfficialFileError(f"{names['odise']}: unexpected key {k} (not the label model's architecture)")
    for k in list(sd_state):
        if k.startswith(("model.diffusion_model.", "first_stage_model.")) and "backbone.feature_extractor.ldm_extractor.ldm.ldm." + k not in want:
            raise OfficialFileError(f"{names['sd']}: unexpected key {k} (not Stable Diffusion v1's architecture)")
    return out

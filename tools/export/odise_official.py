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


def sd_text_config():
    """openai/clip-vit-large-patch14's text config (ldm's FrozenCLIPEmbedder, SD v1's cond_stage_model)."""
    from transformers import CLIPTextConfig
    return CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, projection_dim=768,
                          num_hidden_layers=12, num_attention_heads=12, max_position_embeddings=77,
                          hidden_act="quick_gelu", layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=BOS, eos_token_id=EOS)


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


def empty_prompt_context(torch, ckpt_state):
    """ldm's uncond_inputs = FrozenCLIPEmbedder([""]).last_hidden_state, [1, 77, 768], from sd-v1-3.ckpt."""
    from transformers import CLIPTextModel
    model = CLIPTextModel(sd_text_config()).eval()
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


def shared_noise(torch):
    """LdmExtractor's shared noise (ldm.py:271-276): seed 42, [1, 4, 64, 64] for SD v1's 512² / 64² latent."""
    return torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(42))


def assemble_backbone_state(torch, backbone_keys, odise_state, sd_state, openai_state, uncond):
    """The state dict of sd_modules.OdiseBackbone (backbone_keys: its state_dict().keys()) from the three
    official files: the ODISE model file's backbone.* (trained parts only), sd-v1-3.ckpt's state_dict, OpenAI's
    ViT-L-14-336px state dict; uncond = empty_prompt_context(). A key no file provides raises KeyError with its name."""
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
            out[k] = shared_noise(torch)
            continue
        else:
            name, table = "backbone." + k, odise_state
        if name not in table:
            raise KeyError(f"{k}: {name} is missing from {src}")
        out[k] = table[name]
    return out

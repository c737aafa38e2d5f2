#!/usr/bin/env python3
"""export_odise.py's official mode on broken inputs, the assembled state, and the official configuration on the
meta device (< 1 min, no ONNX export):

- the reduced files of make_odise_official_files.py (made here, or --files DIR) assemble to exactly the state dict
  the maker recorded (reference/odise.pt: its CLIP weights rounded through fp16, uncond_inputs from the text encoder);
- refused, each with exit code 2, one line on stderr naming the file (and the key where there is one), and neither
  --out nor a temporary directory left: a key missing from each of the three files, a reshaped key, an unexpected
  UNet key, the CLIP archive given as --sd-ckpt, a caption-model file (word_head.*), bytes that are no checkpoint, a checkpoint holding a pickled
  object without --allow-pickle (with it the object is stubbed and the weights load);
- --config official: om.Odise(official_config()) assembled from the key lists of the three official files
  (odise_head_keys.txt + the backbone's trained keys, odise_sd_keys.txt, the OpenAI visual and text lists) loads
  strictly on the meta device (1.4 G parameters, no memory).
"""
import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SD, ODISE, CLIP = "sd-v1-3.ckpt", "odise_label_coco_50e.pth", "ViT-L-14-336px.pt"


def run_export(eo, files, work, label):
    """export_odise.main in this process; returns (exit code, stderr lines) and checks nothing was left behind."""
    out = os.path.join(work, "bundle-" + label)
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            eo.main(["--config", "small", "--sd-ckpt", files[SD], "--odise-ckpt", files[ODISE], "--clip", files[CLIP], "--out", out])
        except SystemExit as e:
            code = e.code
    left = [n for n in os.listdir(work) if n.startswith("bundle-")]
    if left:
        raise SystemExit(f"{label}: left {left} behind")
    return code, [line for line in err.getvalue().splitlines() if line.strip()]


def expect_refused(eo, files, work, label, *needles):
    code, lines = run_export(eo, files, work, label)
    if code != 2 or len(lines) != 1 or not all(n in lines[0] for n in needles):
        raise SystemExit(f"{label}: want exit 2 and one line naming {needles}; got {code}, {lines}")
    print(f"refused ({label}): {lines[0]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", help="make_odise_official_files.py --config small output (made here when absent)")
    args = ap.parse_args()
    import torch
    import export_odise as eo
    import odise_modules as om
    import odise_official as off
    work = tempfile.mkdtemp(prefix="odise-official-test-")
    try:
        src = args.files
        if not src:
            src = os.path.join(work, "files")
            subprocess.run([sys.executable, os.path.join(HERE, "make_odise_official_files.py"), "--config", "small", "--seed", "3",
                            "--out", src], check=True, stdout=subprocess.DEVNULL)
        good = {n: os.path.join(src, n) for n in (SD, ODISE, CLIP)}
        tests = os.path.join(work, "cases")
        os.makedirs(tests)
        check_assembled(torch, om, off, eo, good, src)

        sd = torch.load(good[SD], weights_only=True)
        odise = torch.load(good[ODISE], weights_only=True)
        clip = torch.jit.load(good[CLIP]).state_dict()

        def variant(name, obj, base):
            path = os.path.join(tests, name)
            torch.save(obj, path)
            return {**good, base: path}

        k = "model.diffusion_model.input_blocks.1.0.in_layers.2.weight"
        bad = {**sd, "state_dict": {n: v for n, v in sd["state_dict"].items() if n != k}}
        expect_refused(eo, variant("sd-missing.ckpt", bad, SD), work, "sd key missing", "sd-missing.ckpt", k)
        bad = {**sd, "state_dict": {**sd["state_dict"], "model.diffusion_model.extra.weight": torch.zeros(3)}}
        expect_refused(eo, variant("sd-extra.ckpt", bad, SD), work, "unexpected UNet key", "sd-extra.ckpt", "model.diffusion_model.extra.weight")
        k = "sem_seg_head.predictor.query_feat.weight"
        bad = {**odise, "model": {n: v for n, v in odise["model"].items() if n != k}}
        expect_refused(eo, variant("odise-missing.pth", bad, ODISE), work, "odise key missing", "odise-missing.pth", k)
        k = "backbone.feature_extractor.alpha_cond"
        bad = {**odise, "model": {n: v for n, v in odise["model"].items() if n != k}}
        expect_refused(eo, variant("odise-no-captioner.pth", bad, ODISE), work, "odise backbone key missing", "odise-no-captioner.pth",
                       "alpha_cond")
        k = "category_head.text_proj.weight"
        w = odise["model"][k]
        bad = {**odise, "model": {**odise["model"], k: torch.zeros(w.shape[0] + 1, w.shape[1])}}
        expect_refused(eo, variant("odise-reshaped.pth", bad, ODISE), work, "reshaped key", "odise-reshaped.pth", k, "shape")
        # the plain state dict form of the CLIP file (the fallback after the TorchScript archive), one key short
        expect_refused(eo, variant("clip-missing.pt", {n: v for n, v in clip.items() if n != "visual.ln_post.bias"}, CLIP), work,
                       "clip key missing", "clip-missing.pt", "visual.ln_post.bias")
        expect_refused(eo, {**good, SD: good[CLIP]}, work, "CLIP file as --sd-ckpt", good[CLIP], "TorchScript")
        cap = {n: v for n, v in odise["model"].items() if not n.startswith("category_head.")}
        cap.update({"word_head.text_proj.weight": odise["model"]["category_head.text_proj.weight"],
                    "word_head.text_proj.bias": odise["model"]["category_head.text_proj.bias"],
                    "sem_seg_head.predictor.class_embed.weight": torch.zeros(2, 32), "sem_seg_head.predictor.class_embed.bias": torch.zeros(2)})
        expect_refused(eo, variant("odise_caption_coco_50e.pth", {"model": cap}, ODISE), work, "caption model",
                       "odise_caption_coco_50e.pth", "caption model")
        junk = os.path.join(tests, "junk.pth")
        with open(junk, "wb") as f:
            f.write(bytes(range(256)) * 4)
        expect_refused(eo, {**good, ODISE: junk}, work, "not a checkpoint", "junk.pth", "cannot be read")
        pickled = pickled_checkpoint(torch, sd, os.path.join(tests, "sd-pickled.ckpt"))
        expect_refused(eo, {**good, SD: pickled}, work, "pickled object", "sd-pickled.ckpt", "--allow-pickle")
        state = off.load_sd_checkpoint(torch, pickled, allow_pickle=True)
        if state.keys() != sd["state_dict"].keys():
            raise SystemExit("--allow-pickle: the weights of a checkpoint with a stubbed object did not load")
        print("--allow-pickle: the checkpoint with an unimportable pickled class loads (the object stubbed)")

        # one run through the command line for the exit status itself
        out = os.path.join(work, "bundle-cli")
        r = subprocess.run([sys.executable, os.path.join(HERE, "export_odise.py"), "--config", "small", "--sd-ckpt", good[CLIP],
                            "--odise-ckpt", good[ODISE], "--clip", good[CLIP], "--out", out], capture_output=True, text=True)
        if r.returncode != 2 or len(r.stderr.strip().splitlines()) != 1 or os.path.exists(out):
            raise SystemExit(f"command line: exit {r.returncode}, stderr {r.stderr!r}")
        print("command line: exit 2, one line, no bundle")
        check_official_meta(torch, om, off)
    finally:
        shutil.rmtree(work)
    return 0


def pickled_checkpoint(torch, sd, path):
    """sd with a Lightning-like callback object whose class will not be importable at load time (as
    pytorch_lightning's ModelCheckpoint is in real SD checkpoints when Lightning is not installed)."""
    import types
    mod = types.ModuleType("fake_lightning_callbacks")
    cls = type("ModelCheckpoint", (), {"__module__": "fake_lightning_callbacks"})
    mod.ModelCheckpoint = cls
    sys.modules["fake_lightning_callbacks"] = mod
    try:
        torch.save({**sd, "callbacks": {"ModelCheckpoint": cls()}}, path)
    finally:
        del sys.modules["fake_lightning_callbacks"]
    return path


def check_assembled(torch, om, off, eo, files, src):
    ns = argparse.Namespace(sd_ckpt=files[SD], odise_ckpt=files[ODISE], clip=files[CLIP], allow_pickle=False)
    model = eo.load_official(torch, om, off, om.small_config(), ns)
    ref = torch.load(os.path.join(src, "reference", "odise.pt"), weights_only=True)
    got = model.state_dict()
    if got.keys() != ref.keys():
        raise SystemExit(f"assembled keys differ from the reference: {sorted(set(got) ^ set(ref))[:5]}")
    worst = max((float((got[k].double() - ref[k].double()).abs().max()), k) for k in got)
    if worst[0] != 0.0:
        raise SystemExit(f"assembled state differs from the maker's: {worst}")
    print(f"small official files: {len(got)} keys assembled, identical to the maker's reference state (max |diff| 0)")


def check_official_meta(torch, om, off):
    import warnings
    from test_odise_backbone_keys import read, BB_LIST, SD_LIST
    meta = lambda want: {k: torch.empty(s, device="meta") for k, s in want.items()}
    odise = {"backbone." + k: torch.empty(s, device="meta") for k, s in read(BB_LIST).items()
             if off.backbone_source(k).startswith("odise")}
    odise.update(meta(read(os.path.join(HERE, "odise_head_keys.txt"))))
    openai = {"visual." + k[len("feature_extractor.clip.clip.visual."):]: torch.empty(s, device="meta")
              for k, s in read(BB_LIST).items() if k.startswith("feature_extractor.clip.clip.visual.")}
    openai.update(meta(read(off.CLIP_TEXT_LIST)))
    sd = meta(read(SD_LIST))
    with torch.device("meta"):
        model = om.Odise(om.official_config())
    uncond = torch.empty(1, 77, 768, device="meta")
    names = {"sd": SD, "odise": ODISE, "clip": CLIP}
    state = off.assemble_odise_state(torch, model, odise, sd, openai, uncond, names)
    with warnings.catch_warnings():  # shared_noise is a real tensor
        warnings.simplefilter("ignore", UserWarning)
        model.load_state_dict(state, strict=True, assign=True)
    n = sum(p.numel() for p in model.parameters())
    if not 1.3e9 < n < 1.5e9:
        raise SystemExit(f"official configuration: {n} parameters, want about 1.4 G")
    del odise["sem_seg_head.predictor.query_embed.weight"]
    try:
        off.assemble_odise_state(torch, model, odise, sd, openai, uncond, names)
    except off.OfficialFileError as e:
        print(f"--config official: the three files' key lists load strictly on the meta device ({n / 1e9:.2f} G parameters); "
              f"without a head key: {e}")
        return
    raise SystemExit("official configuration: a missing head key was accepted")


if __name__ == "__main__":
    sys.exit(main())

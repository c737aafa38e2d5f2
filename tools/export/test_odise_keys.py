#!/usr/bin/env python3
"""Strict loading of the ODISE head at the official configuration.

tools/export/odise_head_keys.txt lists every key and shape of the official ODISE model file's
sem_seg_head.* and category_head.* (label model), as read from the official code (NVlabs/ODISE
configs/common/models/mask_generator_with_label.py, odise/modeling/meta_arch/odise.py; Mask2Former's
MSDeformAttnPixelDecoder and MultiScaleMaskedTransformerDecoder key layout). A state dict with exactly
those keys and shapes must load strictly into odise_modules.OdiseHead(official_head_config()); a
missing, extra or reshaped key fails. (The backbone's keys, i.e. Stable Diffusion's and the implicit
captioner's, are not covered: those modules do not exist here yet.) With --write, the list is
regenerated from the modules (review the diff against the official code before committing it)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
LIST = os.path.join(HERE, "odise_head_keys.txt")


def main():
    import torch
    import odise_modules as om
    head = om.OdiseHead(om.official_head_config())
    if "--write" in sys.argv:
        with open(LIST, "w") as f:
            f.write("# ODISE label model: sem_seg_head.* and category_head.* keys and shapes (see test_odise_keys.py)\n")
            for k, v in head.state_dict().items():
                f.write(f"{k} {'x'.join(map(str, v.shape)) or 'scalar'}\n")
        return 0
    want = {}
    for line in open(LIST):
        if line.startswith("#") or not line.strip():
            continue
        k, s = line.split()
        want[k] = () if s == "scalar" else tuple(int(d) for d in s.split("x"))
    sd = {k: torch.zeros(s) for k, s in want.items()}
    head.load_state_dict(sd, strict=True)  # raises on a missing/unexpected key or a shape mismatch
    n = sum(torch.Size(s).numel() for s in want.values())
    print(f"odise head: {len(want)} official keys ({n / 1e6:.1f} M parameters) load strictly")
    # A key removed or reshaped must fail.
    for bad in ({k: v for k, v in sd.items() if k != "category_head.null_embed"},
                {**sd, "sem_seg_head.predictor.query_feat.weight": torch.zeros(99, 256)}):
        try:
            head.load_state_dict(bad, strict=True)
        except RuntimeError:
            continue
        raise SystemExit("a broken state dict loaded")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Self-test of compare_logits.py's rules on synthetic logits (run by tools/ci/parity.sh).

Each case states the exit status the rules imply; a case that an absolute bound (the old rule:
max error <= 1e-3, margin 1e-4, no coverage check) would have judged differently is marked.
"""
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_logits  # noqa: E402


def run(a, b):
    with tempfile.TemporaryDirectory() as d:
        pa, pb = os.path.join(d, "a.npy"), os.path.join(d, "b.npy")
        np.save(pa, a.astype(np.float32))
        np.save(pb, b.astype(np.float32))
        return compare_logits.main([pa, pb])


def main():
    rng = np.random.default_rng(0)
    ref = rng.uniform(-0.025, 0.025, (5, 40, 60))  # spread ~0.05, like random-weight cosines
    noise = rng.uniform(-1, 1, ref.shape)
    cases = [
        ("small error on a small spread", ref + 1e-5 * noise, ref, 0),
        # old absolute rule: passes (1e-4 <= 1e-3); relative: 1e-4 > 1e-3 x 0.05
        ("error 2e-3 of the spread", ref + 1e-4 * noise, ref, 1),
        # old absolute rule: fails (3e-3 > 1e-3); relative: 3e-3 < 1e-3 x 5
        ("large spread, proportionate error", 100 * ref + 3e-3 * noise, 100 * ref, 0),
    ]
    tied = ref.copy()
    tied[1] = tied[0] = np.maximum(ref[0], ref.max(0) + 0.01)  # classes 0 and 1 tie at the top...
    tied[:, :, 36:] = ref[:, :, 36:]  # ...on 60% of the pixels
    # old rule: passes (agreement over the 40% left); now: fewer than half clear -> fail
    cases.append(("60% exact near-ties", tied, tied, 1))
    denoised = ref.copy()
    denoised[2] = -100.0  # prompt denoising: a constant plane carries no spread
    err = denoised + 1e-5 * noise
    err[2] = -100.0
    cases.append(("constant -100 plane left out of the spread", err, denoised, 0))
    failed = 0
    for name, a, b, want in cases:
        print(f"--- {name} (want exit {want})")
        got = run(a, b)
        if got != want:
            print(f"SELF-TEST FAIL: {name}: exit {got}, want {want}")
            failed += 1
    print("compare_logits self-test: " + ("ok" if not failed else f"{failed} case(s) failed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

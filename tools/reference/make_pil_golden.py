#!/usr/bin/env python3
"""Writes the golden images of PilBicubicTest with Pillow itself: Image.resize(size, BICUBIC),
what CLIP's preprocessing and torchvision's Resize run on PIL images, and Image.resize(size,
BILINEAR), what detectron2's ResizeShortestEdge runs on uint8 images (ODISE's input).

  python tools/reference/make_pil_golden.py             # java/src/test/resources/org/ovseg/image/pil/
  python tools/reference/make_pil_golden.py --bilinear  # .../pil-bilinear/ (same cases)

Each case: <name>.in.png (the input, unless it is a repository photo named in cases.txt) and
<name>.out.png (Pillow's output); cases.txt lists name, input path, output width, height.
Inputs: a VOC photo shrunk 2.3x (the classifier's 513 -> 224) and ~5x, to 3x7; a visual-prompted
photo (1-px red ellipse, gray outside the mask, cv2 as the official prompts) shrunk 2.1x; odd
sizes enlarged; one axis up and the other down.
"""
import os
import sys

import cv2
import numpy as np
from PIL import Image

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
bilinear = "--bilinear" in sys.argv[1:]
out = os.path.join(root, "java/src/test/resources/org/ovseg/image/pil-bilinear" if bilinear else "java/src/test/resources/org/ovseg/image/pil")
filt = Image.BILINEAR if bilinear else Image.BICUBIC
photo_rel = "tools/data/voc-samples/0_image.png"
photo = np.array(Image.open(os.path.join(root, photo_rel)).convert("RGB"))
other = np.array(Image.open(os.path.join(root, "tools/data/voc-samples/8_image.png")).convert("RGB"))

prompted = other[:480, :480].copy()
mask = np.zeros(prompted.shape[:2], bool)
mask[120:330, 90:300] = True
gray = cv2.cvtColor(prompted, cv2.COLOR_BGR2GRAY)
prompted = np.where(mask[..., None], prompted, gray[..., None]).astype(np.uint8)
prompted = np.ascontiguousarray(prompted)
cv2.ellipse(prompted, (195, 225), (105, 105), 0, 0, 360, (255, 0, 0), 1)

cases = [  # name, array or None (the photo), output (w, h)
    ("photo-224", None, (224, 224)),
    ("photo-97x101", None, (97, 101)),
    ("photo-3x7", None, (3, 7)),
    ("prompted-224", prompted, (224, 224)),
    ("odd-up", photo[100:153, 200:237], (224, 320)),
    ("mixed", photo[50:450, 10:70], (150, 70)),
    ("same-width", photo[0:301, 0:77], (77, 131)),
]
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "cases.txt"), "w") as f:
    for name, arr, (w, h) in cases:
        if arr is None:
            src, rel = photo, "../" + photo_rel  # relative to the java module (the tests' working directory)
        else:
            src, rel = arr, name + ".in.png"
            if bilinear:  # the bicubic set's input (a classpath resource), not a second copy
                rel = "/org/ovseg/image/pil/" + rel
            else:
                Image.fromarray(arr).save(os.path.join(out, rel), optimize=True)
        Image.fromarray(src).resize((w, h), filt).save(os.path.join(out, name + ".out.png"))
        f.write(f"{name} {rel} {w} {h}\n")
print("wrote", out)

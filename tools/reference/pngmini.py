"""A small PNG codec (zlib only) for the eval cross-check: it reads a palette PNG's indices, which
OpenCV cannot (it expands palettes to colours), and writes palette, 8/16-bit gray and RGB PNGs.
Non-interlaced images only; enough for annotation maps."""
import struct
import zlib

import numpy as np

_SIG = b"\x89PNG\r\n\x1a\n"


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write(path, array, palette=None):
    """uint8 [H,W] (palette: list of (r,g,b) -> a palette PNG), uint16 [H,W] or uint8 [H,W,3]."""
    a = np.asarray(array)
    h, w = a.shape[:2]
    if a.ndim == 3:
        colour, depth, rows = 2, 8, a.astype(np.uint8).reshape(h, w * 3)
    elif a.dtype == np.uint16:
        colour, depth, rows = 0, 16, a.astype(">u2").view(np.uint8).reshape(h, w * 2)
    else:
        colour, depth, rows = (3 if palette is not None else 0), 8, a.astype(np.uint8)
    raw = b"".join(b"\x00" + rows[y].tobytes() for y in range(h))
    out = _SIG + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, 0))
    if palette is not None:
        out += _chunk(b"PLTE", bytes(c for rgb in palette for c in rgb))
    out += _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


def read(path):
    """Stored values: palette index or gray value [H,W] (uint8/uint16), or RGB [H,W,3] uint8."""
    data = open(path, "rb").read()
    assert data[:8] == _SIG, path
    pos, idat, hdr = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, colour, _, _, interlace = hdr
    assert interlace == 0 and depth in (8, 16) and colour in (0, 2, 3, 6), (path, hdr)
    channels = {0: 1, 2: 3, 3: 1, 6: 4}[colour]
    bpp = channels * depth // 8
    stride = w * bpp
    raw = zlib.decompress(idat)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 0xFF
        out[y] = cur
        prev = cur
    if depth == 16:
        vals = out.view(">u2").astype(np.uint16).reshape(h, w, channels)
    else:
        vals = out.reshape(h, w, channels)
    if channels == 1:
        return vals[:, :, 0]
    return vals[:, :, :3]

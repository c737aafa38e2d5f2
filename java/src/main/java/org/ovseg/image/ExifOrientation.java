package org.ovseg.image;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Reads the EXIF orientation tag (0x0112) from a JPEG's APP1 segment or a PNG's eXIf chunk and
 * applies it. Anything unreadable counts as orientation 1 (upright): a damaged EXIF block must not
 * make a decodable image fail.
 */
final class ExifOrientation {
    private ExifOrientation() {}

    static int read(byte[] file) {
        try {
            if (file.length > 3 && (file[0] & 0xff) == 0xFF && (file[1] & 0xff) == 0xD8) return fromJpeg(file);
            if (file.length > 8 && (file[0] & 0xff) == 0x89 && file[1] == 'P' && file[2] == 'N' && file[3] == 'G') return fromPng(file);
        } catch (RuntimeException e) {
            return 1;
        }
        return 1;
    }

    private static int fromJpeg(byte[] f) {
        int i = 2;
        while (i + 4 <= f.length && (f[i] & 0xff) == 0xFF) {
            int marker = f[i + 1] & 0xff;
            if (marker == 0xD9 || marker == 0xDA) break; // end of image / start of scan
            int len = ((f[i + 2] & 0xff) << 8) | (f[i + 3] & 0xff);
            if (len < 2) break;
            if (marker == 0xE1 && len >= 8 && f[i + 4] == 'E' && f[i + 5] == 'x' && f[i + 6] == 'i' && f[i + 7] == 'f') {
                return fromTiff(f, i + 10, Math.min(f.length, i + 2 + len));
            }
            i += 2 + len;
        }
        return 1;
    }

    private static int fromPng(byte[] f) {
        int i = 8;
        while (i + 12 <= f.length) {
            int len = ByteBuffer.wrap(f, i, 4).getInt();
            if (len < 0 || i + 12L + len > f.length) break;
            if (f[i + 4] == 'e' && f[i + 5] == 'X' && f[i + 6] == 'I' && f[i + 7] == 'f') return fromTiff(f, i + 8, i + 8 + len);
            if (f[i + 4] == 'I' && f[i + 5] == 'D' && f[i + 6] == 'A' && f[i + 7] == 'T') break; // eXIf precedes IDAT
            i += 12 + len;
        }
        return 1;
    }

    private static int fromTiff(byte[] f, int start, int end) {
        if (end - start < 8) return 1;
        ByteBuffer b = ByteBuffer.wrap(f, start, end - start).slice();
        if (b.get(0) == 'I' && b.get(1) == 'I') b.order(ByteOrder.LITTLE_ENDIAN);
        else if (b.get(0) == 'M' && b.get(1) == 'M') b.order(ByteOrder.BIG_ENDIAN);
        else return 1;
        int ifd = b.getInt(4);
        if (ifd < 8 || ifd + 2 > b.limit()) return 1;
        int n = b.getShort(ifd) & 0xffff;
        for (int e = 0; e < n; e++) {
            int at = ifd + 2 + 12 * e;
            if (at + 12 > b.limit()) break;
            if ((b.getShort(at) & 0xffff) == 0x0112) {
                int v = b.getShort(at + 8) & 0xffff;
                return v >= 1 && v <= 8 ? v : 1;
            }
        }
        return 1;
    }

    /** Returns the upright image for an EXIF orientation 1..8. */
    static RgbImage apply(RgbImage img, int orientation) {
        if (orientation <= 1 || orientation > 8) return img;
        int w = img.width(), h = img.height();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w, oh = swap ? w : h;
        byte[] src = img.rgb(), dst = new byte[src.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx, sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; } // 8
                }
                System.arraycopy(src, (sy * w + sx) * 3, dst, (y * ow + x) * 3, 3);
            }
        }
        return new RgbImage(ow, oh, dst);
    }
}

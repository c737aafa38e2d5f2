package org.ovseg.image;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes PNG, JPEG, BMP and GIF files into upright 8-bit RGB: EXIF orientation applied;
 * grayscale, palette and 16-bit images converted to sRGB; alpha dropped (not composited). The
 * size is checked from the header before any pixel is decoded, so a huge image is refused
 * cheaply. Thread-safe: no shared state.
 */
public final class ImageDecoder {
    /** Default limit on decoded pixels (100 megapixels, 300 MB of RGB). */
    public static final long DEFAULT_MAX_PIXELS = 100_000_000L;
    private final long maxPixels;

    /** @param maxPixels largest width·height accepted */
    public ImageDecoder(long maxPixels) {
        if (maxPixels <= 0) throw new IllegalArgumentException("maxPixels must be positive");
        this.maxPixels = maxPixels;
    }

    /** A decoder with {@link #DEFAULT_MAX_PIXELS}. */
    public ImageDecoder() {
        this(DEFAULT_MAX_PIXELS);
    }

    static {
        ImageIO.setUseCache(false); // decode in memory; no temp files
    }

    /**
     * @throws ImageDecodeException with a one-line reason naming the file
     */
    public RgbImage decode(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ImageDecodeException("image not found: " + file);
        } catch (IOException e) {
            throw new ImageDecodeException("cannot read image " + file + ": " + e.getMessage());
        } catch (OutOfMemoryError e) {
            throw new ImageDecodeException("image file too large to read: " + file);
        }
        return decode(bytes, file.toString());
    }

    /** Decodes in-memory file bytes; {@code name} is used in error messages. */
    public RgbImage decode(byte[] bytes, String name) {
        if (bytes.length == 0) throw new ImageDecodeException("image " + name + " is empty (0 bytes)");
        BufferedImage img;
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageDecodeException("unsupported or corrupt image " + name + " (not PNG, JPEG, BMP or GIF)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w <= 0 || h <= 0) throw new ImageDecodeException("image " + name + " has no pixels (" + w + "x" + h + ")");
                if (w * h > maxPixels) {
                    throw new ImageDecodeException(String.format("image %s is %dx%d (%.1f MP), larger than the limit of %.1f MP",
                            name, w, h, w * h / 1e6, maxPixels / 1e6));
                }
                img = reader.read(0);
            } finally {
                reader.dispose();
            }
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ImageDecodeException("corrupt image " + name + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        }
        if (img == null) throw new ImageDecodeException("corrupt image " + name);
        return ExifOrientation.apply(toRgb(img), ExifOrientation.read(bytes));
    }

    /**
     * Grayscale and 16-bit sRGB rasters are read sample by sample: Java2D treats gray as linear
     * light and would re-encode it through a gamma curve in getRGB, changing the values a PNG
     * stores. 16-bit samples become 8-bit by round(v / 257). Everything else (palette, 8-bit
     * RGB, CMYK JPEG...) goes through getRGB, which yields non-premultiplied sRGB; alpha is
     * dropped, not composited.
     */
    private static RgbImage toRgb(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight();
        byte[] rgb = new byte[w * h * 3];
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        boolean indexed = cm instanceof IndexColorModel;
        if (!indexed && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
            int max = (1 << cm.getComponentSize(0)) - 1;
            int[] row = new int[w];
            for (int y = 0; y < h; y++) {
                r.getSamples(0, y, w, 1, 0, row);
                for (int x = 0; x < w; x++) {
                    byte v = (byte) (max == 255 ? row[x] : Math.round(row[x] * 255.0f / max));
                    int o = (y * w + x) * 3;
                    rgb[o] = rgb[o + 1] = rgb[o + 2] = v;
                }
            }
        } else if (!indexed && cm.getColorSpace().isCS_sRGB() && r.getTransferType() == DataBuffer.TYPE_USHORT && r.getNumBands() >= 3) {
            int[] row = new int[w];
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < h; y++) {
                    r.getSamples(0, y, w, 1, c, row);
                    for (int x = 0; x < w; x++) rgb[(y * w + x) * 3 + c] = (byte) Math.round(row[x] / 257.0f);
                }
            }
        } else {
            int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
            for (int i = 0; i < argb.length; i++) {
                int p = argb[i];
                rgb[3 * i] = (byte) (p >> 16);
                rgb[3 * i + 1] = (byte) (p >> 8);
                rgb[3 * i + 2] = (byte) p;
            }
        }
        return new RgbImage(w, h, rgb);
    }
}

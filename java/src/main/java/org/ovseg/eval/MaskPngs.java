package org.ovseg.eval;

import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.ovseg.OvsegException;

/**
 * Reads annotation PNGs by their stored values, never by colour: a palette PNG (VOC) gives its
 * palette indices, a grayscale one its 8- or 16-bit values, an RGB panoptic PNG its ids R +
 * 256·G + 256²·B.
 */
public final class MaskPngs {
    private MaskPngs() {}

    /** A decoded map: one value per pixel, row-major; {@code bits} per stored sample (8 or 16; 8 for RGB ids). */
    public record Map(int width, int height, int[] values, int bits) {}

    /**
     * The class index per pixel of a single-channel (grayscale or palette) PNG.
     *
     * @throws OvsegException when the file cannot be read or has several channels
     */
    public static Map classIndices(Path file) {
        BufferedImage img = read(file);
        Raster r = img.getRaster();
        if (r.getNumBands() != 1) {
            throw new OvsegException("mask " + file + " has " + r.getNumBands() + " channels; class masks are single-channel PNGs (grayscale or palette)");
        }
        int[] v = new int[img.getWidth() * img.getHeight()];
        r.getSamples(0, 0, img.getWidth(), img.getHeight(), 0, v);
        return new Map(img.getWidth(), img.getHeight(), v, img.getColorModel().getComponentSize(0) > 8 ? 16 : 8);
    }

    /**
     * The segment id per pixel of a COCO panoptic PNG (RGB, id = R + 256·G + 256²·B).
     *
     * @throws OvsegException when the file cannot be read or is not RGB
     */
    public static Map panopticIds(Path file) {
        BufferedImage img = read(file);
        Raster r = img.getRaster();
        if (r.getNumBands() < 3 || img.getColorModel().getComponentSize(0) != 8) {
            throw new OvsegException("panoptic map " + file + " is not an 8-bit RGB PNG");
        }
        int w = img.getWidth(), h = img.getHeight();
        int[] red = new int[w * h], green = new int[w * h], blue = new int[w * h], ids = new int[w * h];
        r.getSamples(0, 0, w, h, 0, red);
        r.getSamples(0, 0, w, h, 1, green);
        r.getSamples(0, 0, w, h, 2, blue);
        for (int i = 0; i < ids.length; i++) ids[i] = red[i] + 256 * green[i] + 65536 * blue[i];
        return new Map(w, h, ids, 8);
    }

    private static BufferedImage read(Path file) {
        if (!Files.isRegularFile(file)) throw new OvsegException("mask not found: " + file);
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new OvsegException("cannot read mask " + file + ": " + e.getMessage());
        }
        if (img == null) throw new OvsegException("cannot read mask " + file + ": not a PNG this reader knows");
        return img;
    }
}

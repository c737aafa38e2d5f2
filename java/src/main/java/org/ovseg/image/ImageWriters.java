package org.ovseg.image;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.awt.image.DataBufferUShort;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import javax.imageio.ImageIO;

/** PNG encodings of segmentation outputs. Thread-safe: no shared state. */
public final class ImageWriters {
    private ImageWriters() {}

    /** Value of an unassigned pixel in an 8-bit label PNG. */
    public static final int UNASSIGNED_8 = 255;
    /** Value of an unassigned pixel in a 16-bit label PNG. */
    public static final int UNASSIGNED_16 = 65535;

    /** @return the bit depth of the label PNG for {@code labelCount} labels: 8 up to 255 labels, else 16 */
    public static int labelBitDepth(int labelCount) {
        return labelCount <= UNASSIGNED_8 ? 8 : 16;
    }

    /** @return the value an unassigned pixel has in the label PNG for {@code labelCount} labels */
    public static int unassignedValue(int labelCount) {
        return labelBitDepth(labelCount) == 8 ? UNASSIGNED_8 : UNASSIGNED_16;
    }

    /**
     * A grayscale PNG whose pixel value is the label index: 8-bit when there are at most 255
     * labels (255 = unassigned), 16-bit beyond (65535 = unassigned).
     *
     * @param labels row-major label per pixel, each in [0, labelCount) or negative for unassigned
     */
    public static byte[] labelsPng(int width, int height, int[] labels, int labelCount) throws IOException {
        if (labels.length != (long) width * height) throw new IllegalArgumentException("labels has " + labels.length + " pixels, need " + width * height);
        if (labelCount > UNASSIGNED_16) throw new IllegalArgumentException(labelCount + " labels do not fit a 16-bit map");
        int none = unassignedValue(labelCount);
        if (labelBitDepth(labelCount) == 8) {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
            byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
            for (int i = 0; i < labels.length; i++) dst[i] = (byte) (labels[i] < 0 ? none : labels[i]);
            return png(img);
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_USHORT_GRAY);
        short[] dst = ((DataBufferUShort) img.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < labels.length; i++) dst[i] = (short) (labels[i] < 0 ? none : labels[i]);
        return png(img);
    }

    /**
     * A panoptic id map in the COCO panoptic encoding: an RGB PNG with id = R + 256·G + 256²·B,
     * 0 = void.
     */
    public static byte[] panopticPng(int width, int height, int[] ids) throws IOException {
        if (ids.length != (long) width * height) throw new IllegalArgumentException("ids has " + ids.length + " pixels, need " + width * height);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_3BYTE_BGR);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < ids.length; i++) {
            int id = ids[i];
            if (id < 0 || id > 0xffffff) throw new IllegalArgumentException("panoptic id " + id + " does not fit 24 bits");
            dst[3 * i] = (byte) (id >> 16);
            dst[3 * i + 1] = (byte) (id >> 8);
            dst[3 * i + 2] = (byte) id;
        }
        return png(img);
    }

    /** An RGB image as PNG bytes. */
    public static byte[] rgbPng(RgbImage image) throws IOException {
        return png(toBuffered(image));
    }

    /**
     * The image blended 50/50 with one colour per label (unassigned pixels left as they are),
     * with a legend of the labels present at the top-left corner.
     */
    public static byte[] overlayPng(RgbImage image, int[] labels, List<String> names) throws IOException {
        int w = image.width(), h = image.height();
        byte[] src = image.rgb(), out = new byte[src.length];
        boolean[] present = new boolean[names.size()];
        for (int i = 0; i < w * h; i++) {
            int l = labels[i];
            for (int c = 0; c < 3; c++) {
                int v = src[3 * i + c] & 0xff;
                if (l >= 0 && l < names.size()) {
                    int pc = (Palette.colour(l) >> (16 - 8 * c)) & 0xff;
                    v = (v + pc + 1) / 2;
                }
                out[3 * i + c] = (byte) v;
            }
            if (l >= 0 && l < names.size()) present[l] = true;
        }
        BufferedImage img = toBuffered(new RgbImage(w, h, out));
        drawLegend(img, names, present);
        return png(img);
    }

    private static void drawLegend(BufferedImage img, List<String> names, boolean[] present) {
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            int size = Math.max(10, Math.min(img.getWidth(), img.getHeight()) / 40);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, size));
            FontMetrics fm = g.getFontMetrics();
            int y = 4, pad = 3, box = fm.getAscent();
            for (int i = 0; i < names.size(); i++) {
                if (!present[i]) continue;
                if (y + box + 2 * pad > img.getHeight()) break;
                int textW = fm.stringWidth(names.get(i));
                g.setColor(new Color(0, 0, 0, 160));
                g.fillRect(4, y, box + textW + 4 * pad, box + 2 * pad);
                g.setColor(new Color(Palette.colour(i)));
                g.fillRect(4 + pad, y + pad, box, box);
                g.setColor(Color.WHITE);
                g.setStroke(new BasicStroke(1));
                g.drawRect(4 + pad, y + pad, box, box);
                g.drawString(names.get(i), 4 + 2 * pad + box + pad, y + pad + fm.getAscent() - 1);
                y += box + 2 * pad + 2;
            }
        } catch (RuntimeException | Error e) {
            // No usable font on a bare headless machine: the overlay stays valid without a legend.
            org.ovseg.Logging.logger(ImageWriters.class).log(System.Logger.Level.WARNING, "overlay legend skipped: " + e);
        } finally {
            g.dispose();
        }
    }

    private static BufferedImage toBuffered(RgbImage image) {
        BufferedImage img = new BufferedImage(image.width(), image.height(), BufferedImage.TYPE_3BYTE_BGR);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        byte[] src = image.rgb();
        for (int i = 0; i < src.length; i += 3) {
            dst[i] = src[i + 2];
            dst[i + 1] = src[i + 1];
            dst[i + 2] = src[i];
        }
        return img;
    }

    private static byte[] png(BufferedImage img) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        if (!ImageIO.write(img, "png", bos)) throw new IOException("no PNG writer available");
        return bos.toByteArray();
    }
}

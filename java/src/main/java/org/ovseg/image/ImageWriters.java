package org.ovseg.image;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import javax.imageio.ImageIO;

/** PNG encodings of segmentation outputs. Thread-safe: no shared state. */
public final class ImageWriters {
    private ImageWriters() {}

    /**
     * An 8-bit grayscale PNG whose pixel value is the label index (255 = unassigned).
     *
     * @param labels row-major label per pixel, each in [0, 255]
     */
    public static byte[] labelsPng(int width, int height, byte[] labels) throws IOException {
        if (labels.length != width * height) throw new IllegalArgumentException("labels has " + labels.length + " pixels, need " + width * height);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        byte[] dst = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
        System.arraycopy(labels, 0, dst, 0, labels.length);
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
    public static byte[] overlayPng(RgbImage image, byte[] labels, List<String> names) throws IOException {
        int w = image.width(), h = image.height();
        byte[] src = image.rgb(), out = new byte[src.length];
        boolean[] present = new boolean[names.size()];
        for (int i = 0; i < w * h; i++) {
            int l = labels[i] & 0xff;
            for (int c = 0; c < 3; c++) {
                int v = src[3 * i + c] & 0xff;
                if (l < names.size()) {
                    int pc = (Palette.colour(l) >> (16 - 8 * c)) & 0xff;
                    v = (v + pc + 1) / 2;
                }
                out[3 * i + c] = (byte) v;
            }
            if (l < names.size()) present[l] = true;
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

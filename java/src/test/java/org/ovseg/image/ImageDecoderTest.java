package org.ovseg.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageDecoderTest {
    private final ImageDecoder decoder = new ImageDecoder();

    private static byte[] encode(BufferedImage img, String format) throws Exception {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, bos));
        return bos.toByteArray();
    }

    @Test
    void eightBitGrayKeepsStoredValues() throws Exception {
        BufferedImage g = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {0, 128, 255});
        RgbImage img = decoder.decode(encode(g, "png"), "gray.png");
        assertArrayEquals(new byte[] {0, 0, 0, (byte) 128, (byte) 128, (byte) 128, -1, -1, -1}, img.rgb());
    }

    @Test
    void sixteenBitGrayIsRoundedToEightBits() throws Exception {
        BufferedImage g = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_GRAY);
        g.getRaster().setSamples(0, 0, 2, 1, 0, new int[] {257 * 100, 65535});
        RgbImage img = decoder.decode(encode(g, "png"), "gray16.png");
        assertEquals(100, img.get(0, 0, 1));
        assertEquals(255, img.get(1, 0, 2));
    }

    @Test
    void paletteAndAlphaImages() throws Exception {
        IndexColorModel cm = new IndexColorModel(8, 2, new byte[] {10, 20}, new byte[] {30, 40}, new byte[] {50, 60});
        BufferedImage p = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, cm);
        p.getRaster().setSamples(0, 0, 2, 1, 0, new int[] {1, 0});
        RgbImage img = decoder.decode(encode(p, "png"), "palette.png");
        assertArrayEquals(new byte[] {20, 40, 60, 10, 30, 50}, img.rgb());

        BufferedImage a = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
        a.setRGB(0, 0, 0x10FF8040); // nearly transparent: alpha is dropped, colour kept as stored
        RgbImage rgba = decoder.decode(encode(a, "png"), "alpha.png");
        assertArrayEquals(new byte[] {(byte) 0xFF, (byte) 0x80, 0x40}, rgba.rgb());
    }

    @Test
    void exifOrientationIsApplied() throws Exception {
        // 2x1 image: left red, right blue. Orientation 6 (rotate 90° clockwise) gives 1x2: red on top.
        BufferedImage b = new BufferedImage(2, 1, BufferedImage.TYPE_INT_RGB);
        b.setRGB(0, 0, 0xFF0000);
        b.setRGB(1, 0, 0x0000FF);
        byte[] png = encode(b, "png");
        for (int o = 1; o <= 8; o++) {
            RgbImage img = decoder.decode(withExifChunk(png, o), "exif.png");
            boolean swapped = o >= 5;
            assertEquals(swapped ? 1 : 2, img.width(), "orientation " + o);
            int[][] where = { // position of red after each orientation
                null, {0, 0}, {1, 0}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 1}, {0, 1}};
            assertEquals(255, img.get(where[o][0], where[o][1], 0), "red pixel for orientation " + o);
        }
        // The same through JPEG's APP1 segment.
        byte[] jpg = encode(b, "jpg");
        RgbImage rotated = decoder.decode(withExifApp1(jpg, 6), "exif.jpg");
        assertEquals(1, rotated.width());
        assertEquals(2, rotated.height());
    }

    @Test
    void clearErrorsForBadFiles(@TempDir Path dir) throws Exception {
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(dir.resolve("nope.png")));
        assertTrue(e.getMessage().startsWith("image not found"), e.getMessage());
        Path empty = Files.write(dir.resolve("empty.png"), new byte[0]);
        e = assertThrows(ImageDecodeException.class, () -> decoder.decode(empty));
        assertTrue(e.getMessage().contains("empty"), e.getMessage());
        Path text = Files.writeString(dir.resolve("notes.png"), "this is not an image");
        e = assertThrows(ImageDecodeException.class, () -> decoder.decode(text));
        assertTrue(e.getMessage().contains("unsupported or corrupt"), e.getMessage());
        byte[] png = encode(new BufferedImage(64, 64, BufferedImage.TYPE_INT_RGB), "png");
        Path truncated = Files.write(dir.resolve("cut.png"), java.util.Arrays.copyOf(png, png.length / 2));
        e = assertThrows(ImageDecodeException.class, () -> decoder.decode(truncated));
        assertTrue(e.getMessage().contains("corrupt"), e.getMessage());
        assertTrue(!e.getMessage().contains("\n"));
    }

    @Test
    void hugeImagesAreRefusedFromTheHeader() throws Exception {
        // A PNG header claiming 50000 x 50000 pixels with no real data: refused before decoding.
        byte[] ihdr = ByteBuffer.allocate(13).putInt(50000).putInt(50000).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array();
        ByteArrayOutputStream f = new ByteArrayOutputStream();
        f.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(f, "IHDR", ihdr);
        chunk(f, "IEND", new byte[0]);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> decoder.decode(f.toByteArray(), "huge.png"));
        assertTrue(e.getMessage().contains("50000x50000") && e.getMessage().contains("limit"), e.getMessage());
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws Exception {
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    private static byte[] tiffWithOrientation(int o) {
        return ByteBuffer.allocate(26).put(new byte[] {'M', 'M', 0, 42}).putInt(8).putShort((short) 1)
                .putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) o).putShort((short) 0).putInt(0).array();
    }

    private static byte[] withExifChunk(byte[] png, int orientation) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(png, 0, 8 + 25); // signature + IHDR chunk (13 bytes of data + 12)
        chunk(out, "eXIf", tiffWithOrientation(orientation));
        out.write(png, 33, png.length - 33);
        return out.toByteArray();
    }

    private static byte[] withExifApp1(byte[] jpg, int orientation) throws Exception {
        byte[] tiff = tiffWithOrientation(orientation);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(jpg, 0, 2);
        out.write(new byte[] {(byte) 0xFF, (byte) 0xE1});
        out.write(ByteBuffer.allocate(2).putShort((short) (2 + 6 + tiff.length)).array());
        out.write(new byte[] {'E', 'x', 'i', 'f', 0, 0});
        out.write(tiff);
        out.write(jpg, 2, jpg.length - 2);
        return out.toByteArray();
    }

    @Test
    void labelPngRoundTripsExactly() throws Exception {
        int[] labels = {0, 1, 2, -1, 7, 254};
        byte[] png = ImageWriters.labelsPng(3, 2, labels, 255);
        BufferedImage back = ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, back.getType());
        assertEquals(8, back.getColorModel().getComponentSize(0));
        WritableRaster r = back.getRaster();
        for (int i = 0; i < 6; i++) assertEquals(labels[i] < 0 ? 255 : labels[i], r.getSample(i % 3, i / 3, 0));
    }

    @Test
    void moreThan255LabelsGiveA16BitPngWith65535Unassigned() throws Exception {
        int[] labels = {0, 255, 256, -1, 1000, 65534};
        byte[] png = ImageWriters.labelsPng(3, 2, labels, 65535);
        BufferedImage back = ImageIO.read(new java.io.ByteArrayInputStream(png));
        assertEquals(16, back.getColorModel().getComponentSize(0), "16-bit grayscale");
        WritableRaster r = back.getRaster();
        for (int i = 0; i < 6; i++) assertEquals(labels[i] < 0 ? 65535 : labels[i], r.getSample(i % 3, i / 3, 0));
        // The boundary: 255 labels still fit 8 bits (indices 0..254, 255 = unassigned); 256 do not.
        assertEquals(8, ImageWriters.labelBitDepth(255));
        assertEquals(16, ImageWriters.labelBitDepth(256));
        assertThrows(IllegalArgumentException.class, () -> ImageWriters.labelsPng(1, 1, new int[] {0}, 65536));
    }

    @Test
    void panopticPngUsesCocoIdEncoding() throws Exception {
        int[] ids = {0, 1, 255, 256, 65536 + 2 * 256 + 3, 0xffffff};
        byte[] png = ImageWriters.panopticPng(3, 2, ids);
        BufferedImage back = ImageIO.read(new java.io.ByteArrayInputStream(png));
        for (int i = 0; i < 6; i++) {
            int rgb = back.getRGB(i % 3, i / 3);
            int r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
            assertEquals(ids[i], r + 256 * g + 256 * 256 * b, "pixel " + i); // COCO: id = R + 256 G + 256^2 B
        }
        assertThrows(IllegalArgumentException.class, () -> ImageWriters.panopticPng(1, 1, new int[] {1 << 24}));
    }

    @Test
    void paletteColoursAreDistinct() {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < 255; i++) assertTrue(seen.add(Palette.colour(i)), "duplicate colour at " + i);
    }
}

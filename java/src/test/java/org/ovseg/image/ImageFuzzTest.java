package org.ovseg.image;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzz targets for the image decoder and COCO RLE. Without JAZZER_FUZZ this replays the kept
 * inputs under {@code ImageFuzzTestInputs/<method>/} (seeds and past findings); with
 * JAZZER_FUZZ=1 it fuzzes one method (README, Fuzzing). Only the typed error is acceptable.
 */
class ImageFuzzTest {
    // 1 MP keeps each execution cheap; the pixel limit itself is covered by ImageDecoderTest.
    private static final ImageDecoder DECODER = new ImageDecoder(1_000_000);

    @FuzzTest(maxDuration = "10m")
    void decode(byte[] data) {
        RgbImage img;
        try {
            img = DECODER.decode(data, "fuzz");
        } catch (ImageDecodeException e) {
            assertOneLine(e.getMessage());
            return;
        }
        assertTrue(img.width() > 0 && img.height() > 0);
        assertTrue((long) img.width() * img.height() <= 1_000_000);
        assertEquals(3L * img.width() * img.height(), img.rgb().length);
    }

    /** Decodes arbitrary counts; whatever decodes must survive encode → decode unchanged. */
    @FuzzTest(maxDuration = "10m")
    void cocoRle(FuzzedDataProvider in) {
        int w = in.consumeInt(0, 64), h = in.consumeInt(0, 64);
        String counts = in.consumeRemainingAsAsciiString();
        boolean[] mask;
        try {
            mask = CocoRle.decode(counts, w, h);
        } catch (IllegalArgumentException e) {
            assertOneLine(e.getMessage());
            return;
        }
        assertEquals(w * h, mask.length);
        assertArrayEquals(mask, CocoRle.decode(CocoRle.encode(mask, w, h), w, h));
    }

    static void assertOneLine(String message) {
        assertTrue(message != null && !message.isBlank() && message.indexOf('\n') < 0, () -> "not a one-line message: " + message);
    }
}

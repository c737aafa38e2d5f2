package org.ovseg.pipeline.car;

import java.util.Locale;
import org.ovseg.image.RgbImage;

/**
 * The colours CaR's dense CRF compares in its bilateral kernel. A bundle chooses one with
 * {@code defaults.car_crf_image} in {@code bundle.json}; exported bundles default to
 * {@link #OFFICIAL}.
 */
public enum CrfImage {
    /**
     * The official code's image: BGR minus (104.008, 116.669, 122.675), cast to uint8 so negative
     * values wrap (QUIRK, kept for parity with real checkpoints). Saturated colours wrap onto
     * nearby bytes (red and green differ by at most 2 per channel), so the bilateral kernel no
     * longer sees their edge and acts as a 67-pixel blur across it.
     */
    OFFICIAL,
    /** The image's own RGB bytes: colour differences are the true ones, so edges hold. */
    EXACT;

    /** The manifest key under {@code defaults}. */
    public static final String MANIFEST_KEY = "car_crf_image";

    /**
     * @param value "official" or "exact" (case-insensitive)
     * @throws IllegalArgumentException with a one-line message for anything else
     */
    public static CrfImage parse(String value) {
        if (value != null) {
            switch (value.trim().toLowerCase(Locale.ROOT)) {
                case "official":
                    return OFFICIAL;
                case "exact":
                    return EXACT;
                default:
                    break;
            }
        }
        throw new IllegalArgumentException(MANIFEST_KEY + " must be \"official\" or \"exact\", is " + (value == null ? "null" : "\"" + value + "\""));
    }

    /**
     * @param image the input image
     * @return [H,W,3] bytes for {@link org.ovseg.kernel.DenseCrf}
     */
    public byte[] bytes(RgbImage image) {
        if (this == EXACT) return image.rgb().clone();
        byte[] rgb = image.rgb(), out = new byte[rgb.length];
        double[] mean = {104.008, 116.669, 122.675};
        for (int p = 0; p < rgb.length; p += 3) {
            for (int c = 0; c < 3; c++) {
                double v = (rgb[p + 2 - c] & 0xff) - mean[c]; // BGR
                out[p + c] = (byte) ((int) v); // truncation toward zero, then wrap
            }
        }
        return out;
    }
}

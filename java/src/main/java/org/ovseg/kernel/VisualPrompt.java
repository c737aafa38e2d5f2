package org.ovseg.kernel;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Objects;
import java.util.Set;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;

/**
 * CLIP-as-RNN's visual prompts (clip_as_rnn utils.apply_visual_prompts) on an 8-bit RGB image,
 * by the CPU twin {@code ovseg_cpu_visual_prompt} (native/src/visual_prompt.cpp holds the exact
 * semantics). No prompt (a copy) when Σcam ≤ 1; otherwise mask = cam &gt; threshold and the
 * chosen effects run in the fixed order of {@link Effect}, each on the previous one's result.
 *
 * <p>Thread-safe; stateless.
 */
public final class VisualPrompt {
    private VisualPrompt() {}

    /** The effects, in the order they are applied; {@link #flag} is the native bit. */
    public enum Effect {
        /** cv2.GaussianBlur 15×15, σ 2.6, bit-exact with OpenCV's 8-bit path; outside the mask. */
        BLUR(1),
        /** cv2 BGR2GRAY applied to RGB data (swapped luma weights, QUIRK); outside the mask. */
        GRAY(2),
        /** Zero outside the mask. */
        BLACK(4),
        /** Red 1-px ellipse on the mask centroid, semi-axes half the bounding-box extents. */
        CIRCLE(8),
        /** Red 1-px rectangle at centroid ± half the bounding-box extents. */
        RECTANGLE(16),
        /** Red 1-px boundary of the hole-filled mask. */
        CONTOUR(32);

        final int flag;

        Effect(int flag) {
            this.flag = flag;
        }
    }

    /**
     * Applies the visual prompt.
     *
     * @param rgb image [H,W,3], row-major, unsigned bytes
     * @param cam class activation map [H,W]
     * @param threshold mask = cam &gt; threshold
     * @param effects any subset (empty: a copy)
     * @return a new [H,W,3] image; {@code rgb} is not modified
     */
    public static byte[] apply(byte[] rgb, float[] cam, int H, int W, float threshold, Set<Effect> effects) {
        String op = "visualPrompt";
        Objects.requireNonNull(rgb, op + ": rgb is null");
        Objects.requireNonNull(cam, op + ": cam is null");
        Objects.requireNonNull(effects, op + ": effects is null");
        Checks.sizes(op, H, W);
        long hw = Checks.product(op, H, W);
        long n = Checks.product(op, hw, 3);
        if (rgb.length != n) {
            throw new IllegalArgumentException(op + ": rgb holds " + rgb.length + " bytes, needs " + n + " for " + H + "x" + W + "x3");
        }
        if (cam.length != hw) {
            throw new IllegalArgumentException(op + ": cam holds " + cam.length + " elements, needs " + hw + " for " + H + "x" + W);
        }
        int flags = 0;
        for (Effect e : effects) flags |= Objects.requireNonNull(e, op + ": null effect").flag;
        if (n == 0) return new byte[0];
        // malloc'd and freed here, not ByteBuffer.allocateDirect: direct buffers are zeroed fresh
        // pages returned only after a GC, which made a CaR step's prompts ~9x slower until the
        // young generation started collecting (JMH CarStagesBench).
        try (BytePointer inP = new BytePointer(n); FloatPointer camP = new FloatPointer(hw); BytePointer outP = new BytePointer(n)) {
            ByteBuffer in = inP.asByteBuffer();
            in.put(rgb).flip();
            FloatBuffer c = camP.asByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            c.put(cam).flip();
            ByteBuffer out = outP.asByteBuffer();
            Checks.status(op, NativeCpu.ovseg_cpu_visual_prompt(in, c, H, W, threshold, flags, out));
            byte[] result = new byte[(int) n];
            out.get(result);
            return result;
        }
    }
}

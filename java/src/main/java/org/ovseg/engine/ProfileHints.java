package org.ovseg.engine;

import org.ovseg.bundle.BundleManifest;

/**
 * The sizes a pipeline feeds its networks, from which {@link ShapeProfiles} derives TensorRT
 * optimisation profiles. Every range is inclusive; "opt" is what TensorRT tunes for.
 *
 * @param patch encoder stride: image sides are padded to a multiple of it
 * @param minSide smallest padded image side
 * @param optSide typical padded image side (the short-side target)
 * @param maxSide largest padded image side (the long-side cap)
 * @param maxShortSide largest padded short side: with {@code maxSide} it bounds the patch count
 * @param textBatch most prompts per text-encoder run
 * @param contextLength longest token sequence
 * @param maxQueries most queries per run (CaR's foreground/background texts, classifier crops)
 * @param points most point prompts per SAM decoder run
 */
public record ProfileHints(int patch, int minSide, int optSide, int maxSide, int maxShortSide, int textBatch,
        int contextLength, int maxQueries, int points) {

    /** Prompts per text-encoder run ({@code TextEmbedder} batches at most this many). */
    public static final int TEXT_BATCH = 64;
    /** Default cap on queries per run for CaR's Grad-CAM graph and prompt classifier. */
    public static final int DEFAULT_MAX_QUERIES = 256;
    /** Default point prompts per SAM decoder run (SAM's own default). */
    public static final int DEFAULT_POINTS = 64;

    /** Checks that every range is ordered and positive. */
    public ProfileHints {
        if (patch < 1 || minSide < 1 || minSide > optSide || optSide > maxSide || maxShortSide < minSide || maxShortSide > maxSide) {
            throw new IllegalArgumentException("ProfileHints image sides need 1 <= min <= opt <= max and min <= maxShort <= max, got patch "
                    + patch + ", sides " + minSide + "/" + optSide + "/" + maxSide + ", max short " + maxShortSide);
        }
        if (textBatch < 1 || contextLength < 1 || maxQueries < 1 || points < 1) {
            throw new IllegalArgumentException("ProfileHints counts must be >= 1, got text batch " + textBatch + ", context "
                    + contextLength + ", queries " + maxQueries + ", points " + points);
        }
    }

    /**
     * Hints from a bundle's own preprocessing and text sections: "short-side" images have a short
     * side of at most {@code size} and a long side of at most {@code max_long_side} (an elongated
     * image can end up with a short side of one patch); "fixed" and SAM's "long-side" feed
     * exactly size × size.
     */
    public static ProfileHints of(BundleManifest m) {
        BundleManifest.Preprocessing p = m.preprocessing();
        int ctx = m.text() != null && m.text().contextLength() > 0 ? m.text().contextLength() : 77;
        int points = m.defaults().get("points_per_batch") instanceof Number n && n.intValue() > 0 ? n.intValue() : DEFAULT_POINTS;
        int patch = Math.max(1, p.patchSize());
        if (p.sizePolicy().equals("short-side")) return shortSide(patch, p.size(), p.maxLongSide(), ctx, DEFAULT_MAX_QUERIES, points);
        int s = roundUp(p.size(), patch);
        return new ProfileHints(patch, s, s, s, s, TEXT_BATCH, ctx, DEFAULT_MAX_QUERIES, points);
    }

    /** Hints for a short-side size policy (short side {@code size}, long side at most {@code maxLongSide}). */
    public static ProfileHints shortSide(int patch, int size, int maxLongSide, int contextLength, int maxQueries, int points) {
        int opt = roundUp(size, patch), max = Math.max(opt, roundUp(maxLongSide, patch));
        return new ProfileHints(patch, patch, opt, max, opt, TEXT_BATCH, contextLength, maxQueries, points);
    }

    /** @return these hints for another short-side policy (a {@code --size} override), same text and query limits */
    public ProfileHints withShortSide(int size, int maxLongSide) {
        return shortSide(patch, size, maxLongSide, contextLength, maxQueries, points);
    }

    /** @return these hints with another number of point prompts per SAM decoder run */
    public ProfileHints withPoints(int n) {
        return new ProfileHints(patch, minSide, optSide, maxSide, maxShortSide, textBatch, contextLength, maxQueries, n);
    }

    static int roundUp(int v, int m) {
        return (int) Math.min(Integer.MAX_VALUE, ((long) v + m - 1) / m * m);
    }
}

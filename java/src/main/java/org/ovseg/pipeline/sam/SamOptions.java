package org.ovseg.pipeline.sam;

/**
 * Settings of the automatic mask generator, named as segment-anything's
 * {@code SamAutomaticMaskGenerator} names them; {@link #DEFAULTS} are its defaults.
 *
 * @param pointsPerSide the prompt grid is pointsPerSide × pointsPerSide points
 * @param pointsPerBatch prompts per decoder run
 * @param predIouThreshold keep masks whose predicted IoU is above this (strict; 0 disables the filter)
 * @param stabilityScoreThreshold keep masks whose stability score is at least this (0 disables)
 * @param stabilityScoreOffset the logit offset of the stability score
 * @param boxNmsThreshold box IoU above which a lower-scored mask is suppressed
 */
public record SamOptions(int pointsPerSide, int pointsPerBatch, double predIouThreshold, double stabilityScoreThreshold,
        double stabilityScoreOffset, double boxNmsThreshold) {
    /** segment-anything's defaults: 32 points per side, batches of 64, IoU 0.88, stability 0.95, offset 1, NMS 0.7. */
    public static final SamOptions DEFAULTS = new SamOptions(32, 64, 0.88, 0.95, 1.0, 0.7);
    /** CaR's settings (configs/voc.yaml, "sam"): 64 points per side, otherwise the defaults. */
    public static final SamOptions CAR = DEFAULTS.withPointsPerSide(64);

    /** Validates. */
    public SamOptions {
        if (pointsPerSide < 1 || pointsPerSide > 1024) throw new IllegalArgumentException("points per side must be 1–1024, got " + pointsPerSide);
        if (pointsPerBatch < 1) throw new IllegalArgumentException("points per batch must be >= 1, got " + pointsPerBatch);
        if (!Double.isFinite(predIouThreshold)) throw new IllegalArgumentException("predicted-IoU threshold must be a number");
        if (!Double.isFinite(stabilityScoreThreshold)) throw new IllegalArgumentException("stability threshold must be a number");
        if (!(stabilityScoreOffset >= 0) || Double.isInfinite(stabilityScoreOffset)) {
            throw new IllegalArgumentException("stability offset must be >= 0, got " + stabilityScoreOffset);
        }
        if (!(boxNmsThreshold >= 0)) throw new IllegalArgumentException("box NMS threshold must be >= 0, got " + boxNmsThreshold);
    }

    /** @return a copy with another grid */
    public SamOptions withPointsPerSide(int n) {
        return new SamOptions(n, pointsPerBatch, predIouThreshold, stabilityScoreThreshold, stabilityScoreOffset, boxNmsThreshold);
    }

    /** @return a copy with other filter thresholds */
    public SamOptions withThresholds(double predIou, double stability, double boxNms) {
        return new SamOptions(pointsPerSide, pointsPerBatch, predIou, stability, stabilityScoreOffset, boxNms);
    }
}

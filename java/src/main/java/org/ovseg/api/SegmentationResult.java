package org.ovseg.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The segmentation of one image: a label per pixel (255 = unassigned), the winning score per
 * pixel, per-label statistics, and how long each stage took. Immutable; every array accessor
 * returns a copy.
 */
public final class SegmentationResult {
    /** Label-map value of a pixel no label was given to. */
    public static final int UNASSIGNED = 255;
    private final int width;
    private final int height;
    private final Labels labels;
    private final byte[] labelMap;
    private final float[] scores;
    private final float[] logits;
    private final Map<String, Double> timingsMs;
    private final String backend;
    private final String pipeline;
    private final List<Map<String, Object>> steps;
    private final long[] counts;
    private final double[] scoreSums;

    SegmentationResult(int width, int height, Labels labels, byte[] labelMap, float[] scores, float[] logits,
            Map<String, Double> timingsMs, String backend, String pipeline) {
        this(width, height, labels, labelMap, scores, logits, timingsMs, backend, pipeline, List.of());
    }

    SegmentationResult(int width, int height, Labels labels, byte[] labelMap, float[] scores, float[] logits,
            Map<String, Double> timingsMs, String backend, String pipeline, List<Map<String, Object>> steps) {
        this.steps = List.copyOf(steps);
        this.width = width;
        this.height = height;
        this.labels = labels;
        this.labelMap = labelMap;
        this.scores = scores;
        this.logits = logits;
        this.timingsMs = Collections.unmodifiableMap(new LinkedHashMap<>(timingsMs));
        this.backend = backend;
        this.pipeline = pipeline;
        this.counts = new long[labels.size()];
        this.scoreSums = new double[labels.size()];
        for (int i = 0; i < labelMap.length; i++) {
            int l = labelMap[i] & 0xff;
            if (l < labels.size()) {
                counts[l]++;
                scoreSums[l] += scores[i];
            }
        }
    }

    /** @return image width in pixels */
    public int width() {
        return width;
    }

    /** @return image height in pixels */
    public int height() {
        return height;
    }

    /** @return the labels, in index order */
    public List<String> labels() {
        return labels.names();
    }

    /** @return a copy of the label map, row-major, one unsigned byte per pixel (255 = unassigned) */
    public byte[] labelMap() {
        return labelMap.clone();
    }

    /** @return label index at (x, y), or {@link #UNASSIGNED} */
    public int labelAt(int x, int y) {
        return labelMap[index(x, y)] & 0xff;
    }

    /** @return winning score at (x, y) (for MaskCLIP: the cosine similarity, times the model's logit scale) */
    public float scoreAt(int x, int y) {
        return scores[index(x, y)];
    }

    private int index(int x, int y) {
        if (x < 0 || y < 0 || x >= width || y >= height) throw new IndexOutOfBoundsException("(" + x + ", " + y + ") outside " + width + "x" + height);
        return y * width + x;
    }

    /** @return a copy of the winning score per pixel, row-major */
    public float[] scores() {
        return scores.clone();
    }

    /** @return the pixels of label {@code label} as a row-major boolean mask */
    public boolean[] mask(int label) {
        checkLabel(label);
        boolean[] m = new boolean[labelMap.length];
        for (int i = 0; i < m.length; i++) m[i] = (labelMap[i] & 0xff) == label;
        return m;
    }

    /** @return fraction of the image's pixels given label {@code label} */
    public double pixelFraction(int label) {
        checkLabel(label);
        return (double) counts[label] / labelMap.length;
    }

    /** @return mean winning score over the pixels of {@code label}, NaN when it has none */
    public double meanScore(int label) {
        checkLabel(label);
        return counts[label] == 0 ? Double.NaN : scoreSums[label] / counts[label];
    }

    private void checkLabel(int label) {
        if (label < 0 || label >= labels.size()) throw new IndexOutOfBoundsException("label " + label + " of " + labels.size());
    }

    /**
     * @return a copy of the final logits [K, height, width] when they were requested; for CaR
     *     ("car") the final proposal maps before the CRF, [Q, height, width] for the Q surviving
     *     queries in the order of the last step's queries
     */
    public Optional<float[]> logits() {
        return logits == null ? Optional.empty() : Optional.of(logits.clone());
    }

    /** @return stage name → milliseconds, in execution order */
    public Map<String, Double> timingsMs() {
        return timingsMs;
    }

    /** @return the backend that ran the networks, e.g. "onnxruntime-cpu" */
    public String backend() {
        return backend;
    }

    /**
     * @return for recurrent methods (CaR), one entry per step: the queries that went in, their
     *     classifier scores and the ones kept; empty otherwise
     */
    public List<Map<String, Object>> steps() {
        return steps;
    }

    /** @return the method, e.g. "maskclip" */
    public String pipeline() {
        return pipeline;
    }
}

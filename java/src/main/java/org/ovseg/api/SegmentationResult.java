package org.ovseg.api;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.ovseg.pipeline.PipelineOutput;

/**
 * The segmentation of one image, the same shape for every method: a label per pixel
 * ({@link #UNASSIGNED} where none), the winning score per pixel, per-label statistics, the
 * panoptic segments with their id map, and how long each stage took. Methods without instance
 * output give one stuff segment per label present (id = label index + 1). Immutable; every
 * array accessor returns a copy.
 */
public final class SegmentationResult {
    /** Label index of a pixel no label was given to. */
    public static final int UNASSIGNED = -1;
    private final int width;
    private final int height;
    private final Labels labels;
    private final int[] labelMap;
    private final float[] scores;
    private final float[] logits;
    private final Map<String, Double> timingsMs;
    private final Map<String, String> backends;
    private final Map<String, String> precisions;
    private final String pipeline;
    private final List<Map<String, Object>> steps;
    private final long[] counts;
    private final double[] scoreSums;
    private final int[] panopticIds; // null: derived from the label map (id = label + 1)
    private final List<Segment> segments;
    private final Map<Integer, Segment> segmentById;
    private final List<Instance> instances;

    SegmentationResult(Labels labels, PipelineOutput out, String pipeline, Map<String, String> backends) {
        this(labels, out, pipeline, backends, Map.of());
    }

    SegmentationResult(Labels labels, PipelineOutput out, String pipeline, Map<String, String> backends, Map<String, String> precisions) {
        this.precisions = Collections.unmodifiableMap(new LinkedHashMap<>(precisions));
        this.width = out.width();
        this.height = out.height();
        this.labels = labels;
        this.labelMap = out.labels();
        this.scores = out.scores();
        this.logits = out.logits();
        this.timingsMs = out.timingsMs();
        this.steps = out.steps();
        this.pipeline = pipeline;
        this.backends = Collections.unmodifiableMap(new LinkedHashMap<>(backends));
        this.counts = new long[labels.size()];
        this.scoreSums = new double[labels.size()];
        for (int i = 0; i < labelMap.length; i++) {
            int l = labelMap[i];
            if (l >= labels.size() || l < UNASSIGNED) throw new IllegalStateException(pipeline + " gave label " + l + " of " + labels.size());
            if (l >= 0) {
                counts[l]++;
                scoreSums[l] += scores[i];
            }
        }
        List<PipelineOutput.Segment> raw = new ArrayList<>();
        if (out.panoptic() != null) {
            this.panopticIds = out.panoptic().ids();
            raw.addAll(out.panoptic().segments());
        } else {
            this.panopticIds = null;
            for (int l = 0; l < labels.size(); l++) {
                if (counts[l] > 0) raw.add(new PipelineOutput.Segment(l + 1, l, false, (float) (scoreSums[l] / counts[l])));
            }
        }
        this.segments = measure(raw);
        Map<Integer, Segment> byId = new LinkedHashMap<>();
        for (Segment s : segments) byId.put(s.id(), s);
        this.segmentById = Collections.unmodifiableMap(byId);
        this.instances = instances(out.instances());
    }

    private List<Instance> instances(List<PipelineOutput.Instance> raw) {
        List<Instance> out = new ArrayList<>(raw.size());
        for (PipelineOutput.Instance i : raw) {
            if (i.labelIndex() < 0 || i.labelIndex() >= labels.size()) {
                throw new IllegalStateException(pipeline + " gave an instance of label " + i.labelIndex() + " of " + labels.size());
            }
            BitSet bits = i.mask();
            int x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
            for (int p = bits.nextSetBit(0); p >= 0; p = bits.nextSetBit(p + 1)) {
                int x = p % width, y = p / width;
                x0 = Math.min(x0, x);
                y0 = Math.min(y0, y);
                x1 = Math.max(x1, x);
                y1 = Math.max(y1, y);
            }
            BoundingBox box = x1 < 0 ? new BoundingBox(0, 0, 0, 0) : new BoundingBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
            out.add(new Instance(i.labelIndex(), labels.get(i.labelIndex()), i.score(), box, new Mask(width, height, bits)));
        }
        return List.copyOf(out);
    }

    /** Area and box of every segment, from the id map; segments that cover no pixel are dropped. */
    private List<Segment> measure(List<PipelineOutput.Segment> raw) {
        Map<Integer, Integer> slot = new java.util.HashMap<>();
        for (int i = 0; i < raw.size(); i++) {
            PipelineOutput.Segment s = raw.get(i);
            if (s.labelIndex() < 0 || s.labelIndex() >= labels.size()) {
                throw new IllegalStateException(pipeline + " gave segment " + s.id() + " label " + s.labelIndex() + " of " + labels.size());
            }
            slot.put(s.id(), i);
        }
        long[] area = new long[raw.size()];
        int[] x0 = new int[raw.size()], y0 = new int[raw.size()], x1 = new int[raw.size()], y1 = new int[raw.size()];
        java.util.Arrays.fill(x0, Integer.MAX_VALUE);
        java.util.Arrays.fill(y0, Integer.MAX_VALUE);
        java.util.Arrays.fill(x1, -1);
        java.util.Arrays.fill(y1, -1);
        for (int y = 0, i = 0; y < height; y++) {
            for (int x = 0; x < width; x++, i++) {
                int id = panopticId(i);
                if (id == 0) continue;
                Integer k = slot.get(id);
                if (k == null) throw new IllegalStateException(pipeline + " gave panoptic id " + id + " with no segment");
                area[k]++;
                x0[k] = Math.min(x0[k], x);
                y0[k] = Math.min(y0[k], y);
                x1[k] = Math.max(x1[k], x);
                y1[k] = Math.max(y1[k], y);
            }
        }
        List<Segment> out = new ArrayList<>();
        for (int k = 0; k < raw.size(); k++) {
            if (area[k] == 0) continue;
            PipelineOutput.Segment s = raw.get(k);
            out.add(new Segment(s.id(), s.labelIndex(), labels.get(s.labelIndex()), s.isThing(), s.score(), area[k],
                    new BoundingBox(x0[k], y0[k], x1[k] - x0[k] + 1, y1[k] - y0[k] + 1)));
        }
        return List.copyOf(out);
    }

    private int panopticId(int i) {
        return panopticIds != null ? panopticIds[i] : labelMap[i] + 1;
    }

    /** @return image width in pixels */
    public int width() {
        return width;
    }

    /** @return image height in pixels */
    public int height() {
        return height;
    }

    /** @return the labels, in index order (for referring segmentation: the sentences) */
    public List<String> labels() {
        return labels.names();
    }

    /** @return a copy of the label map, row-major: label index per pixel, {@link #UNASSIGNED} where none */
    public int[] labelMap() {
        return labelMap.clone();
    }

    /** @return label index at (x, y), or {@link #UNASSIGNED} */
    public int labelAt(int x, int y) {
        return labelMap[index(x, y)];
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
        for (int i = 0; i < m.length; i++) m[i] = labelMap[i] == label;
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

    /** @return the panoptic segments, in id order of the method (every one covers at least one pixel) */
    public List<Segment> segments() {
        return segments;
    }

    /** @return whether the segments come from a panoptic method (false: one stuff segment per label present) */
    public boolean hasInstances() {
        return panopticIds != null;
    }

    /**
     * @return the method's scored instances, possibly overlapping, in its order (Mask2Former's
     *     instance inference: highest score first); empty when the method gives none
     */
    public List<Instance> instances() {
        return instances;
    }

    /** @return a copy of the panoptic id map, row-major: segment id per pixel, 0 = void */
    public int[] panopticIds() {
        int[] ids = new int[labelMap.length];
        for (int i = 0; i < ids.length; i++) ids[i] = panopticId(i);
        return ids;
    }

    /**
     * @return the pixels of segment {@code id}
     * @throws java.util.NoSuchElementException when no segment has that id
     */
    public Mask segmentMask(int id) {
        if (!segmentById.containsKey(id)) throw new java.util.NoSuchElementException("no segment with id " + id);
        BitSet bits = new BitSet(labelMap.length);
        for (int i = 0; i < labelMap.length; i++) if (panopticId(i) == id) bits.set(i);
        return new Mask(width, height, bits);
    }

    /**
     * @return a copy of the final maps when they were requested: for MaskCLIP the logits
     *     [K, height, width]; for CaR the final proposal maps before the CRF, [Q, height, width]
     *     for the Q surviving queries in the order of the last step's queries
     */
    public Optional<float[]> logits() {
        return logits == null ? Optional.empty() : Optional.of(logits.clone());
    }

    /** @return stage name → milliseconds, in execution order */
    public Map<String, Double> timingsMs() {
        return timingsMs;
    }

    /**
     * @return the backend that ran the networks ("onnxruntime-cpu", "tensorrt"), or "mixed" when
     *     they ran on different ones (see {@link #backends()})
     */
    public String backend() {
        java.util.Set<String> distinct = new java.util.LinkedHashSet<>(backends.values());
        return distinct.size() == 1 ? distinct.iterator().next() : distinct.isEmpty() ? "none" : "mixed";
    }

    /** @return network role → the backend that actually ran it */
    public Map<String, String> backends() {
        return backends;
    }

    /** @return network role → precision variant it ran ("fp32", "fp16"); empty when the pipeline does not report it */
    public Map<String, String> precisions() {
        return precisions;
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

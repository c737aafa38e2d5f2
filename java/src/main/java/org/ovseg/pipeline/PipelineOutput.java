package org.ovseg.pipeline;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One image's result from any pipeline, at the image's original size. Arrays are handed over,
 * not copied: the pipeline must not keep them.
 *
 * @param width image width
 * @param height image height
 * @param labels per pixel (row-major): index into the request's {@link PipelineRequest#names()}, or −1
 * @param scores per pixel: the winning score (the method's own scale)
 * @param logits the final maps the method keeps for inspection ([planes, height, width]), or null
 * @param panoptic the panoptic segmentation, or null for a method without one (the result model
 *     then derives one segment per label present)
 * @param steps per-step records of recurrent methods (JSON-ready), empty otherwise
 * @param timingsMs stage → milliseconds, in execution order
 * @param instances scored, possibly overlapping instances (Mask2Former's instance inference), empty
 *     for a method without them
 */
public record PipelineOutput(int width, int height, int[] labels, float[] scores, float[] logits, Panoptic panoptic,
        List<Map<String, Object>> steps, Map<String, Double> timingsMs, List<Instance> instances) {
    /** An output without instances (every method but those with an instance inference). */
    public PipelineOutput(int width, int height, int[] labels, float[] scores, float[] logits, Panoptic panoptic, List<Map<String, Object>> steps,
            Map<String, Double> timingsMs) {
        this(width, height, labels, scores, logits, panoptic, steps, timingsMs, List.of());
    }

    /** Checks sizes. */
    public PipelineOutput {
        long n = (long) width * height;
        if (width <= 0 || height <= 0) throw new IllegalArgumentException("empty output " + width + "x" + height);
        if (labels.length != n || scores.length != n) {
            throw new IllegalArgumentException("labels/scores have " + labels.length + "/" + scores.length + " pixels, need " + n);
        }
        if (logits != null && logits.length % n != 0) throw new IllegalArgumentException("logits are not whole planes");
        if (panoptic != null && panoptic.ids().length != n) throw new IllegalArgumentException("panoptic ids have " + panoptic.ids().length + " pixels, need " + n);
        steps = List.copyOf(steps);
        instances = List.copyOf(instances);
        for (Instance i : instances) {
            if (i.mask().length() > n) throw new IllegalArgumentException("instance mask reaches pixel " + (i.mask().length() - 1) + " of " + n);
        }
        timingsMs = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(Objects.requireNonNull(timingsMs, "timingsMs")));
    }

    /**
     * A panoptic segmentation: a segment id per pixel (0 = void) and what each id is.
     *
     * @param ids per pixel (row-major) segment id, 0 = no segment
     * @param segments one entry per id that occurs (ids unique, ≥ 1)
     */
    public record Panoptic(int[] ids, List<Segment> segments) {
        /** Checks ids are unique and positive. */
        public Panoptic {
            segments = List.copyOf(segments);
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (Segment s : segments) {
                if (s.id() <= 0 || !seen.add(s.id())) throw new IllegalArgumentException("segment ids must be unique and >= 1, got " + s.id());
            }
        }
    }

    /**
     * One panoptic segment.
     *
     * @param id its value in {@link Panoptic#ids()} (≥ 1)
     * @param labelIndex index into the request's names
     * @param isThing a countable object (its own instance) rather than stuff
     * @param score the method's confidence in it
     */
    public record Segment(int id, int labelIndex, boolean isThing, float score) {}

    /**
     * One instance: a scored mask that may overlap others.
     *
     * @param labelIndex index into the request's names
     * @param score the method's confidence (Mask2Former: class probability × mean mask probability)
     * @param mask its pixels, row-major bit index y·width + x (handed over, not copied)
     */
    public record Instance(int labelIndex, float score, java.util.BitSet mask) {
        /** Checks the mask is present. */
        public Instance {
            Objects.requireNonNull(mask, "mask");
        }
    }
}

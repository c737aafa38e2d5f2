package org.ovseg.pipeline.maskclip;

import java.util.Map;

/**
 * One image's result at its original size.
 *
 * @param width image width
 * @param height image height
 * @param labels per-pixel label index (row-major)
 * @param scores per-pixel winning logit
 * @param logits [K, height, width] final logits, or null unless requested
 * @param timingsMs stage → milliseconds
 */
public record MaskClipOutput(int width, int height, int[] labels, float[] scores, float[] logits, Map<String, Double> timingsMs) {}

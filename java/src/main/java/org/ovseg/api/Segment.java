package org.ovseg.api;

/**
 * One segment of a panoptic segmentation: a region of the image with one label. Methods without
 * instance output (MaskCLIP, CaR) give one segment per label present, marked as stuff.
 *
 * @param id the segment's value in {@link SegmentationResult#panopticIds()} (≥ 1; 0 is void)
 * @param labelIndex index into {@link SegmentationResult#labels()}
 * @param label the label's text
 * @param isThing a countable object (one instance) rather than stuff
 * @param score the method's confidence (its own scale)
 * @param area pixels in the segment
 * @param bbox the tightest box around its pixels
 */
public record Segment(int id, int labelIndex, String label, boolean isThing, float score, long area, BoundingBox bbox) {}

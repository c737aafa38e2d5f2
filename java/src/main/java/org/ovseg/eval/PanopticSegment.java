package org.ovseg.eval;

/**
 * One entry of a COCO panoptic {@code segments_info}.
 *
 * @param id the segment's value in the id map (R + 256·G + 256²·B)
 * @param categoryId its category
 * @param isCrowd a crowd region (ground truth only): never matched, and predictions mostly inside it are not false positives
 * @param area its area; for the ground truth the annotation's {@code area}, which the COCO API uses as given
 */
public record PanopticSegment(int id, int categoryId, boolean isCrowd, long area) {}

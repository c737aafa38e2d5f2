package org.ovseg.api;

/**
 * One detected instance: a scored mask that, unlike {@link Segment}s, may overlap other instances
 * (Mask2Former-style instance inference). Instances whose mask is empty are kept, as the official
 * inference keeps them; their box is all zeros.
 *
 * @param labelIndex index into {@link SegmentationResult#labels()}
 * @param label the label's text
 * @param score the method's confidence (Mask2Former: class probability × mean mask probability), in [0, 1]
 * @param bbox the tightest box around the mask's pixels (zeros for an empty mask)
 * @param mask the instance's pixels at the image's size
 */
public record Instance(int labelIndex, String label, float score, BoundingBox bbox, Mask mask) {}

package org.ovseg.eval;

/**
 * A category of a panoptic dataset.
 *
 * @param id the dataset's category id (COCO: 1..200, not contiguous)
 * @param name its name
 * @param isThing countable objects (instances) rather than stuff
 */
public record PanopticCategory(int id, String name, boolean isThing) {}

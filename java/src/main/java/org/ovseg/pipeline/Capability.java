package org.ovseg.pipeline;

/**
 * What a pipeline can do beyond semantic segmentation. A request that needs a capability the
 * pipeline lacks fails before any work, naming the pipeline and the ones that have it.
 */
public enum Capability {
    /**
     * Referring segmentation: sentences give a mask (one for all, or one each: see {@link
     * SegmentationPipeline#referSentencesAreOneObject()}).
     */
    REFER("referring segmentation (--refer)"),
    /** Real panoptic output: instances of thing classes as separate segments. */
    PANOPTIC("panoptic segmentation"),
    /** Keeps its final per-class (or per-query) maps for {@code --save-logits}. */
    LOGITS("saving logits (--save-logits)");

    private final String description;

    Capability(String description) {
        this.description = description;
    }

    /** @return what the capability is, as a user would ask for it */
    public String description() {
        return description;
    }
}

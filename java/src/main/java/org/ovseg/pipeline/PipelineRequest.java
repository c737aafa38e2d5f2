package org.ovseg.pipeline;

import java.util.List;

/**
 * What one call asks of a pipeline. Label lists are already validated by the caller (non-empty,
 * no duplicates); indices in the output refer to {@link #names()}.
 */
public sealed interface PipelineRequest {
    /** @return every text of the request, in output-index order */
    List<String> names();

    /** @return the capability this request needs, or null when every pipeline serves it */
    Capability needs();

    /**
     * Segment into labels. {@code stuff} names amorphous classes (sky, grass) whose indices
     * follow the things'; a pipeline treats them as its method defines (CaR: a second pass with
     * the things as background; panoptic methods: one segment per class, never instances;
     * MaskCLIP: no difference).
     */
    record Segment(List<String> things, List<String> stuff) implements PipelineRequest {
        /** Copies both lists. */
        public Segment {
            things = List.copyOf(things);
            stuff = List.copyOf(stuff);
        }

        /** A request without stuff classes. */
        public static Segment of(List<String> labels) {
            return new Segment(labels, List.of());
        }

        @Override
        public List<String> names() {
            if (stuff.isEmpty()) return things;
            java.util.ArrayList<String> all = new java.util.ArrayList<>(things);
            all.addAll(stuff);
            return List.copyOf(all);
        }

        @Override
        public Capability needs() {
            return null;
        }
    }

    /**
     * Referring segmentation. What several sentences mean is the pipeline's, declared by {@link
     * SegmentationPipeline#referSentencesAreOneObject()}: either every sentence describes the same
     * object and the output is one mask, label index 0 (CaR: all sentences in one joint run), or each
     * sentence describes its own object and the output labels sentence i's pixels with index i
     * (X-Decoder's grounding: one mask per sentence; the pipeline documents how it resolves pixels
     * two sentences' masks share).
     */
    record Refer(List<String> sentences) implements PipelineRequest {
        /** Copies the list. */
        public Refer {
            sentences = List.copyOf(sentences);
        }

        @Override
        public List<String> names() {
            return sentences;
        }

        @Override
        public Capability needs() {
            return Capability.REFER;
        }
    }
}

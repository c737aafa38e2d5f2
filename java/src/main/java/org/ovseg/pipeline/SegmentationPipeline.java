package org.ovseg.pipeline;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.ovseg.image.RgbImage;

/**
 * One open-vocabulary segmentation method over one opened model bundle: the contract every
 * method implements (MaskCLIP, CaR, ...). A pipeline owns the engines it opened; {@link
 * #close()} releases them. {@link #run} may be called from many threads at once.
 */
public interface SegmentationPipeline extends AutoCloseable {
    /** @return the method's registry name, e.g. "maskclip" */
    String name();

    /** @return what it can do beyond semantic segmentation */
    Set<Capability> capabilities();

    /** @return network role → backend that actually runs it ("onnxruntime-cpu", "tensorrt"), in opening order */
    Map<String, String> backends();

    /**
     * @return network role → precision variant it runs ("fp32", "fp16"), where the pipeline reports
     *     it (empty: not reported)
     */
    default Map<String, String> precisions() {
        return Map.of();
    }

    /**
     * Checks that texts fit the method's text encoder (under every prompt template it applies)
     * without running anything.
     *
     * @throws org.ovseg.OvsegException naming the first text that does not fit
     */
    void validate(List<String> texts);

    /**
     * Segments one image. The caller has checked {@link PipelineRequest#needs()} against
     * {@link #capabilities()}.
     */
    PipelineOutput run(RgbImage image, PipelineRequest request);

    /**
     * How {@link PipelineRequest.Refer} reads several sentences (only asked of pipelines with
     * {@link Capability#REFER}).
     *
     * @return true: they all describe one object, the output is one mask with label index 0 (the
     *     default; CaR); false: one mask per sentence, label index i for sentence i (X-Decoder)
     */
    default boolean referSentencesAreOneObject() {
        return true;
    }

    /** @return how results and messages name the backend that runs {@code engine} */
    static String backendLabel(org.ovseg.engine.Engine engine) {
        return engine.backend() == org.ovseg.engine.Backend.TENSORRT ? "tensorrt" : "onnxruntime-cpu";
    }

    /** Releases every engine and native buffer the pipeline opened; idempotent. */
    @Override
    void close();
}

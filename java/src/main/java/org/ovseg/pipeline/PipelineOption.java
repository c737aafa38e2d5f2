package org.ovseg.pipeline;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A typed setting a pipeline may accept. The vocabulary is shared so that the API and the CLI
 * name options without naming methods; each {@link PipelineFactory} declares which it accepts,
 * and an option given to a pipeline that does not accept it is an error, never silently ignored.
 *
 * @param name the option's name, as the CLI spells it ({@code --name})
 * @param type the value's class
 * @param <T> the value type
 */
public record PipelineOption<T>(String name, Class<T> type) {
    /** Short side the image is rescaled to. */
    public static final PipelineOption<Integer> SIZE = new PipelineOption<>("size", Integer.class);
    /** Sliding-window side (0 = whole image). */
    public static final PipelineOption<Integer> WINDOW = new PipelineOption<>("window", Integer.class);
    /** Sliding-window stride. */
    public static final PipelineOption<Integer> STRIDE = new PipelineOption<>("stride", Integer.class);
    /** Prompt template set name or file. */
    public static final PipelineOption<String> TEMPLATES = new PipelineOption<>("templates", String.class);
    /** A named set of official settings (sizes, thresholds, templates) of the method. */
    public static final PipelineOption<String> PRESET = new PipelineOption<>("preset", String.class);
    /** MaskCLIP-style key smoothing threshold. */
    public static final PipelineOption<Float> KEY_SMOOTHING = new PipelineOption<>("key-smoothing", Float.class);
    /** MaskCLIP-style prompt denoising threshold. */
    public static final PipelineOption<Float> PROMPT_DENOISING = new PipelineOption<>("prompt-denoising", Float.class);
    /** Keep the final maps in the result (see {@link Capability#LOGITS}). */
    public static final PipelineOption<Boolean> KEEP_LOGITS = new PipelineOption<>("save-logits", Boolean.class);
    /** Bytes one Grad-CAM backward may take (recurrent CAM methods). */
    public static final PipelineOption<Long> GRADCAM_MEMORY = new PipelineOption<>("gradcam-memory", Long.class);
    /** A SAM bundle whose automatic masks refine the pipeline's masks. */
    public static final PipelineOption<Path> SAM_BUNDLE = new PipelineOption<>("sam", Path.class);
    /** SAM automatic-mask settings (an {@code org.ovseg.pipeline.sam.SamOptions}). */
    public static final PipelineOption<org.ovseg.pipeline.sam.SamOptions> SAM_OPTIONS =
            new PipelineOption<>("sam-points", org.ovseg.pipeline.sam.SamOptions.class);

    /** A variant of the pipeline's method (the MaskCLIP family: maskclip, sclip, clearclip, naclip, proxyclip). */
    public static final PipelineOption<String> METHOD = new PipelineOption<>("method", String.class);
    /** Refine the final logits with pixel-adaptive mask refinement (PAMR). */
    public static final PipelineOption<Boolean> PAMR = new PipelineOption<>("pamr", Boolean.class);

    /** Background threshold: a pixel whose best class score stays below it is unassigned (OVSegmentor). */
    public static final PipelineOption<Float> BG_THRESHOLD = new PipelineOption<>("bg-threshold", Float.class);

    /** Every option, for messages and validation. */
    public static final List<PipelineOption<?>> ALL = List.of(SIZE, WINDOW, STRIDE, TEMPLATES, PRESET, KEY_SMOOTHING,
            PROMPT_DENOISING, KEEP_LOGITS, GRADCAM_MEMORY, SAM_BUNDLE, SAM_OPTIONS, METHOD, PAMR,
            BG_THRESHOLD);

    /** Checks both parts. */
    public PipelineOption {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
    }

    @Override
    public String toString() {
        return "--" + name;
    }
}

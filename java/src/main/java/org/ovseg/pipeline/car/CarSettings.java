package org.ovseg.pipeline.car;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.ovseg.kernel.VisualPrompt.Effect;

/**
 * CaR's thresholds and prompt choices; the presets are the official configs' values.
 *
 * @param maskThreshold CAM > this is the mask a visual prompt is drawn from
 * @param confidenceThreshold a query survives when its classifier score is above this (strict)
 * @param clipEsThreshold CLIP-ES box threshold (fraction of the CAM maximum)
 * @param prompts visual-prompt effects for the proposals
 * @param backgroundFactor exponent of the CRF's background probability (1 − max CAM)
 * @param backgroundQueries texts that compete with the queries in the Grad-CAM softmax
 * @param templated whether the classifier uses the 15 templates (double softmax); false: the
 *     config has no semantic_templates (refcoco) and the texts are "a clean origami {}." alone,
 *     one softmax
 */
public record CarSettings(float maskThreshold, float confidenceThreshold, float clipEsThreshold, Set<Effect> prompts,
        float backgroundFactor, List<String> backgroundQueries, boolean templated) {
    /** The official background list (each is prompted as "a clean origami {}."). */
    public static final List<String> BACKGROUND = List.of("ground", "land", "grass", "tree", "building", "wall", "sky", "lake",
            "water", "river", "sea", "railway", "railroad", "helmet", "cloud", "house", "mountain", "ocean", "road", "rock", "street",
            "valley", "bridge");

    /**
     * The official PASCAL VOC queries (data/voc.py VOC_CLASSES, 20 classes in VOC index order):
     * some names are extended for CLIP, and "person with clothes,people,human" is one query with
     * commas inside (so it cannot come through a comma-separated --labels).
     */
    public static final List<String> VOC_CLASSES = List.of("aeroplane", "bicycle", "bird avian", "boat", "bottle", "bus", "car", "cat",
            "chair seat", "cow", "diningtable", "dog", "horse", "motorbike", "person with clothes,people,human", "pottedplant", "sheep",
            "sofa", "train", "tvmonitor screen");

    /**
     * The official COCO-Object queries (COCO_OBJECT_CLASSES of the clip_as_rnn COCO data module,
     * data/coco_stuff.py), 80 classes in COCO's contiguous order, spelling kept ("sknowboard").
     */
    public static final List<String> COCO_OBJECT_CLASSES = List.of("person with clothes,people,human", "bicycle", "car", "motorbike", "aeroplane", "bus", "train", "truck", "boat",
            "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird avian", "cat", "dog", "horse", "sheep",
            "cow", "elephant", "bear", "zebra", "giraffe", "backpack,bag", "umbrella,parasol", "handbag,purse", "necktie",
            "suitcase", "frisbee", "skis", "sknowboard", "sports ball", "kite", "baseball bat", "glove", "skateboard", "surfboard",
            "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "dessertspoon", "bowl", "banana", "apple", "sandwich",
            "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair seat", "sofa", "pottedplant", "bed",
            "diningtable", "toilet", "tvmonitor screen", "laptop", "mouse", "remote control", "keyboard", "cell phone", "microwave",
            "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hairdrier,blowdrier",
            "toothbrush");

    /** @return the official class list of a preset, where ovseg ships it (voc, coco-object) */
    public static java.util.Optional<List<String>> classes(String preset) {
        return switch (preset.toLowerCase(Locale.ROOT)) {
            case "voc" -> java.util.Optional.of(VOC_CLASSES);
            case "coco-object" -> java.util.Optional.of(COCO_OBJECT_CLASSES);
            default -> java.util.Optional.empty();
        };
    }

    /** With the 15 classifier templates. */
    public CarSettings(float maskThreshold, float confidenceThreshold, float clipEsThreshold, Set<Effect> prompts, float backgroundFactor,
            List<String> backgroundQueries) {
        this(maskThreshold, confidenceThreshold, clipEsThreshold, prompts, backgroundFactor, backgroundQueries, true);
    }

    /** Copies and validates. */
    public CarSettings {
        prompts = Set.copyOf(prompts);
        backgroundQueries = List.copyOf(backgroundQueries);
        if (!(backgroundFactor > 0)) throw new IllegalArgumentException("background factor must be > 0");
    }

    /** @return a copy with other visual prompts */
    public CarSettings withPrompts(Set<Effect> p) {
        return new CarSettings(maskThreshold, confidenceThreshold, clipEsThreshold, p, backgroundFactor, backgroundQueries, templated);
    }

    /** @return a copy with other background queries */
    public CarSettings withBackground(List<String> b) {
        return new CarSettings(maskThreshold, confidenceThreshold, clipEsThreshold, prompts, backgroundFactor, b, templated);
    }

    /**
     * @return the prompts of the official second ("stuff") pass for a preset: context uses
     *     blur + gray, ade gray + blur, others keep their own
     */
    public static Set<Effect> stuffPrompts(String preset) {
        return switch (preset.toLowerCase(Locale.ROOT)) {
            case "context", "ade" -> EnumSet.of(Effect.BLUR, Effect.GRAY);
            default -> preset(preset).prompts();
        };
    }

    /**
     * Thresholds of CaR's optional SAM merge ({@link SamMerge}).
     *
     * @param iom intersection over minimum a SAM mask must exceed (config car.iom_thres)
     * @param minPred the least iom_pred at which iom_sam counts (min_pred_threshold)
     */
    public record SamThresholds(double iom, double minPred) {}

    /**
     * @return the SAM merge thresholds of a preset. iom from each config's car.iom_thres (voc 0.6,
     *     coco 0.7, pascal_context 0.5, ade_150 0.6, refcoco 0.5); min_pred 0.05 where the config
     *     sets sam.min_pred_threshold (voc only), else CaR's constructor default 0.01 (car.py)
     *     — inferred: the released SAM path does not run (see SEMANTICS.md)
     */
    public static SamThresholds samThresholds(String preset) {
        return switch (preset.toLowerCase(Locale.ROOT)) {
            case "voc" -> new SamThresholds(0.6, 0.05);
            case "coco-object" -> new SamThresholds(0.7, 0.01);
            case "context" -> new SamThresholds(0.5, 0.01);
            case "ade" -> new SamThresholds(0.6, 0.01);
            case "refcoco" -> new SamThresholds(0.5, 0.01);
            default -> throw new IllegalArgumentException("unknown CaR preset '" + preset + "' (" + String.join(", ", PRESETS) + ")");
        };
    }

    /** The preset names. */
    public static final List<String> PRESETS = List.of("voc", "coco-object", "context", "ade", "refcoco");

    /**
     * @return an official preset: voc, coco-object, context (things pass), ade, refcoco (referring:
     *     configs/refcoco.yaml; its classifier is CLIP ViT-B/16, a choice of the exported bundle)
     */
    public static CarSettings preset(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "voc" -> new CarSettings(0.4f, 0.6f, 0.4f, EnumSet.of(Effect.CIRCLE, Effect.BLUR), 1f, BACKGROUND);
            case "coco-object" -> new CarSettings(0.5f, 0.3f, 0.5f, EnumSet.of(Effect.BLUR, Effect.GRAY), 1f, BACKGROUND);
            case "context" -> new CarSettings(0.6f, 0.25f, 0.4f, EnumSet.of(Effect.BLUR, Effect.CIRCLE), 1f, BACKGROUND);
            case "ade" -> new CarSettings(0.6f, 0.25f, 0.7f, EnumSet.of(Effect.GRAY, Effect.BLUR), 1f, BACKGROUND);
            case "refcoco" -> new CarSettings(0.5f, 0.3f, 0.5f, EnumSet.of(Effect.CIRCLE), 1f, BACKGROUND, false);
            default -> throw new IllegalArgumentException("unknown CaR preset '" + name + "' (" + String.join(", ", PRESETS) + ")");
        };
    }
}

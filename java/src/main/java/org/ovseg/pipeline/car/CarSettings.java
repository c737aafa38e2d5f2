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

    /** The official PASCAL Context things (data/context.py PASCAL_CONTEXT_THING_CLASS, 38 names, its order): the first pass. */
    public static final List<String> CONTEXT_THING_CLASSES = List.of(
            "airplane", "bag", "bed", "bench", "bicycle", "bird", "boat", "book", "bottle", "building", "bus", "cabinet",
            "car", "cat", "chair", "computer", "cow", "cup", "dog", "flower", "food", "horse", "keyboard", "motorbike",
            "mouse", "person", "plate", "plant", "sheep", "shelves", "sign", "sofa", "table", "track", "train", "tree",
            "truck", "monitor");

    /** The official PASCAL Context stuff (data/context.py PASCAL_CONTEXT_STUFF_CLASS, 21 names, its order): the second pass. */
    public static final List<String> CONTEXT_STUFF_CLASSES = List.of(
            "bedclothes", "ceiling", "cloth", "curtain", "floor", "grass", "ground", "light", "mountain", "platform",
            "road", "sidewalk", "sky", "snow", "wall", "water", "window", "wood", "door", "fence", "rock");

    /** The official ADE20K-150 things (data/ade.py ADE_THING_CLASS, 125 names, its order; WordNet synonyms kept, commas inside). */
    public static final List<String> ADE_THING_CLASSES = List.of(
            "building, edifice", "bed", "windowpane, window", "cabinet", "sidewalk, pavement",
            "person, individual, someone, somebody, mortal, soul", "door, double, door", "table",
            "curtain, drape, drapery, mantle, pall", "chair", "car, auto, automobile, machine, motorcar",
            "painting, picture", "sofa, couch, lounge", "shelf", "house", "mirror", "rug, carpet, carpeting", "armchair",
            "seat", "fence, fencing", "desk", "rock, stone", "wardrobe, closet, press", "lamp",
            "bathtub, bathing, tub, bath, tub", "railing, rail", "cushion", "base, pedestal, stand", "box",
            "column, pillar", "signboard, sign", "chest, of, drawers, chest, bureau, dresser", "counter", "sink",
            "fireplace, hearth, open, fireplace", "refrigerator, icebox", "grandstand, covered, stand", "stairs, steps",
            "runway", "case, display, case, showcase, vitrine", "pool, table, billiard, table, snooker, table", "pillow",
            "screen, door, screen", "stairway, staircase", "bookcase", "blind, screen", "coffee, table, cocktail, table",
            "toilet, can, commode, crapper, pot, potty, stool, throne", "book", "bench", "countertop",
            "stove, kitchen, stove, range, kitchen, range, cooking, stove", "palm, palm, tree", "kitchen, island",
            "computer, computing, machine, computing, device, data, processor, electronic, computer, information, processing, system",
            "swivel, chair", "boat", "bar", "arcade, machine", "hovel, hut, hutch, shack, shanty",
            "bus, autobus, coach, charabanc, double-decker, jitney, motorbus, motorcoach, omnibus, passenger, vehicle",
            "towel", "light, light, source", "truck, motortruck", "tower", "chandelier, pendant, pendent",
            "awning, sunshade, sunblind", "streetlight, street, lamp", "booth, cubicle, stall, kiosk",
            "television, television, receiver, television, set, tv, tv, set, idiot, box, boob, tube, telly, goggle, box",
            "airplane, aeroplane, plane", "pole", "bannister, banister, balustrade, balusters, handrail",
            "escalator, moving, staircase, moving, stairway", "ottoman, pouf, pouffe, puff, hassock", "bottle",
            "buffet, counter, sideboard", "poster, posting, placard, notice, bill, card", "stage", "van", "ship",
            "fountain", "conveyer, belt, conveyor, belt, conveyer, conveyor, transporter", "canopy",
            "washer, automatic, washer, washing, machine", "plaything, toy", "swimming, pool, swimming, bath, natatorium",
            "stool", "barrel, cask", "basket, handbasket", "tent, collapsible, shelter", "bag", "minibike, motorbike",
            "cradle", "oven", "ball", "food, solid, food", "step, stair", "tank, storage, tank",
            "trade, name, brand, name, brand, marque", "microwave, microwave, oven", "pot, flowerpot",
            "animal, animate, being, beast, brute, creature, fauna", "bicycle, bike, wheel, cycle",
            "dishwasher, dish, washer, dishwashing, machine", "screen, silver, screen, projection, screen",
            "blanket, cover", "sculpture", "hood, exhaust, hood", "sconce", "vase",
            "traffic, light, traffic, signal, stoplight", "tray",
            "ashcan, trash, can, garbage, can, wastebin, ash, bin, ash-bin, ashbin, dustbin, trash, barrel, trash, bin",
            "fan", "pier, wharf, wharfage, dock", "crt, screen", "plate", "monitor, monitoring, device",
            "bulletin, board, notice, board", "shower", "radiator", "glass, drinking, glass", "clock", "flag");

    /** The official ADE20K-150 stuff (data/ade.py ADE_STUFF_CLASS, 25 names, its order): the second pass. */
    public static final List<String> ADE_STUFF_CLASSES = List.of(
            "wall", "sky", "floor, flooring", "tree", "ceiling", "road, route", "grass", "earth, ground",
            "mountain, mount", "plant, flora, plant, life", "water", "sea", "field", "sand", "skyscraper", "path", "river",
            "bridge, span", "flower", "hill", "land, ground, soil", "dirt, track",
            "apparel, wearing, apparel, dress, clothes", "lake", "waterfall, falls");

    /**
     * @return the official class list of a preset, where ovseg ships it: voc, coco-object; for
     *     context and ade the things (the first pass; {@link #stuffClasses} is the second)
     */
    public static java.util.Optional<List<String>> classes(String preset) {
        return switch (preset.toLowerCase(Locale.ROOT)) {
            case "voc" -> java.util.Optional.of(VOC_CLASSES);
            case "coco-object" -> java.util.Optional.of(COCO_OBJECT_CLASSES);
            case "context" -> java.util.Optional.of(CONTEXT_THING_CLASSES);
            case "ade" -> java.util.Optional.of(ADE_THING_CLASSES);
            default -> java.util.Optional.empty();
        };
    }

    /** @return the official stuff list of a preset with a stuff pass (context, ade); empty for the others */
    public static java.util.Optional<List<String>> stuffClasses(String preset) {
        return switch (preset.toLowerCase(Locale.ROOT)) {
            case "context" -> java.util.Optional.of(CONTEXT_STUFF_CLASSES);
            case "ade" -> java.util.Optional.of(ADE_STUFF_CLASSES);
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

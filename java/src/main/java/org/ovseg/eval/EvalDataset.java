package org.ovseg.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.ovseg.OvsegException;

/**
 * An evaluation set: images paired with their annotations, the class list and the dataset's
 * label conventions. Named layouts follow mmsegmentation's directory structure and class lists
 * (semantic) and COCO panoptic's (PQ); {@link #folders} pairs any two folders by file stem.
 *
 * @param name the layout ("folders", "voc", "context", "ade", "coco-stuff", "cityscapes", "coco-panoptic")
 * @param classes class names; a class mask value (after reduce-zero-label) indexes them
 * @param reduceZeroLabel the layout's default: value 0 is ignored and every other value is lowered by 1
 * @param samples the images, in a fixed order
 * @param categories panoptic layouts only (else null): the category of each class, same order
 * @param segments panoptic layouts only (else null): sample key → its ground-truth segments_info
 */
public record EvalDataset(String name, List<String> classes, boolean reduceZeroLabel, List<Sample> samples,
        List<PanopticCategory> categories, Map<String, List<PanopticSegment>> segments) {
    /** The named layouts. */
    public static final List<String> LAYOUTS = List.of("voc", "context", "ade", "coco-stuff", "cityscapes", "coco-panoptic");

    /** Image endings looked for beside the one a dataset ships with, so a converted copy works too. */
    private static final List<String> IMAGE_ENDINGS = List.of("jpg", "jpeg", "png", "bmp", "gif");

    /**
     * One image and its annotation.
     *
     * @param key the image's file stem: names the per-image results and prediction files
     * @param image the image file
     * @param truth the annotation PNG (class indices, or panoptic ids)
     */
    public record Sample(String key, Path image, Path truth) {}

    /** @return whether this is a panoptic (PQ) dataset */
    public boolean panoptic() {
        return categories != null;
    }

    /**
     * Images of one folder paired with the PNG masks of another by file stem.
     *
     * @throws OvsegException when a folder is missing, holds no image, or an image has no mask
     */
    public static EvalDataset folders(Path images, Path masks, List<String> classes) {
        requireDir(images, "--images");
        requireDir(masks, "--masks");
        List<Sample> samples = new ArrayList<>();
        for (Path img : list(images, 1, EvalDataset::isImage)) {
            String key = stem(img);
            Path mask = masks.resolve(key + ".png");
            if (!Files.isRegularFile(mask)) throw new OvsegException("image " + img + " has no mask " + mask);
            samples.add(new Sample(key, img, mask));
        }
        if (samples.isEmpty()) throw new OvsegException("no images in " + images);
        return new EvalDataset("folders", classes, false, checkKeys(samples), null, null);
    }

    /**
     * A dataset in one of the {@link #LAYOUTS}, found at {@code root} or at its usual folder
     * below it (e.g. {@code VOCdevkit/VOC2012}).
     *
     * @param split "val" (ADE20K: validation; COCO: val2017) or another split the layout has
     * @throws OvsegException when the layout is not found or is incomplete
     */
    public static EvalDataset named(String layout, Path root, String split) {
        requireDir(root, "--root");
        return switch (layout.toLowerCase(Locale.ROOT)) {
            case "voc" -> listed("voc", base(root, "JPEGImages", "VOC2012", "VOCdevkit/VOC2012"), "ImageSets/Segmentation/" + split + ".txt",
                    "SegmentationClass", DatasetClasses.VOC, false);
            case "context" -> listed("context", base(root, "JPEGImages", "VOC2010", "VOCdevkit/VOC2010"),
                    "ImageSets/SegmentationContext/" + split + ".txt", "SegmentationClassContext", DatasetClasses.CONTEXT_59, true);
            case "ade" -> {
                Path b = base(root, "images", "ADEChallengeData2016");
                String s = split.equals("val") ? "validation" : split.equals("train") ? "training" : split;
                yield scanned("ade", b.resolve("images").resolve(s), b.resolve("annotations").resolve(s), "", "", DatasetClasses.ADE_150, true);
            }
            case "coco-stuff" -> {
                Path b = base(root, "images", "coco_stuff164k");
                yield scanned("coco-stuff", b.resolve("images").resolve(split + "2017"), b.resolve("annotations").resolve(split + "2017"), "",
                        "_labelTrainIds", DatasetClasses.COCO_STUFF_171, false);
            }
            case "cityscapes" -> {
                Path b = base(root, "leftImg8bit", "cityscapes");
                yield scanned("cityscapes", b.resolve("leftImg8bit").resolve(split), b.resolve("gtFine").resolve(split), "_leftImg8bit",
                        "_gtFine_labelTrainIds", DatasetClasses.CITYSCAPES_19, false);
            }
            case "coco-panoptic" -> cocoPanoptic(root, split);
            default -> throw new OvsegException("unknown dataset '" + layout + "' (known: " + String.join(", ", LAYOUTS) + ")");
        };
    }

    /** The first of {@code root} and the given sub-folders that holds {@code marker}. */
    private static Path base(Path root, String marker, String... below) {
        if (Files.exists(root.resolve(marker))) return root;
        for (String b : below) if (Files.exists(root.resolve(b).resolve(marker))) return root.resolve(b);
        throw new OvsegException("no " + marker + " in " + root + (below.length == 0 ? "" : " or " + root + "/{" + String.join(",", below) + "}"));
    }

    /** A layout with a split file of image ids (VOC, Pascal Context). */
    private static EvalDataset listed(String name, Path base, String splitFile, String maskDir, List<String> classes, boolean reduce) {
        Path list = base.resolve(splitFile);
        if (!Files.isRegularFile(list)) throw new OvsegException("split file not found: " + list);
        List<String> ids;
        try {
            ids = Files.readAllLines(list).stream().map(String::trim).filter(s -> !s.isEmpty()).toList();
        } catch (IOException e) {
            throw new OvsegException("cannot read " + list + ": " + e.getMessage());
        }
        List<Sample> samples = new ArrayList<>();
        for (String id : ids) {
            Path img = findImage(base.resolve("JPEGImages"), id);
            Path mask = base.resolve(maskDir).resolve(id + ".png");
            if (!Files.isRegularFile(mask)) throw new OvsegException("image " + id + " of " + list + " has no mask " + mask);
            samples.add(new Sample(id, img, mask));
        }
        if (samples.isEmpty()) throw new OvsegException(list + " lists no image");
        return new EvalDataset(name, classes, reduce, checkKeys(samples), null, null);
    }

    /**
     * A layout that pairs the images under one folder (recursively: Cityscapes has a folder per
     * city) with masks at the same relative place, named stem minus {@code imageSuffix} plus
     * {@code maskSuffix}.png.
     */
    private static EvalDataset scanned(String name, Path images, Path masks, String imageSuffix, String maskSuffix, List<String> classes,
            boolean reduce) {
        requireDir(images, name + " images");
        requireDir(masks, name + " annotations");
        List<Sample> samples = new ArrayList<>();
        for (Path img : list(images, 2, f -> isImage(f) && stem(f).endsWith(imageSuffix))) {
            String key = stem(img);
            String base = key.substring(0, key.length() - imageSuffix.length());
            Path rel = images.relativize(img).getParent();
            Path mask = (rel == null ? masks : masks.resolve(rel.toString())).resolve(base + maskSuffix + ".png");
            if (!Files.isRegularFile(mask)) throw new OvsegException("image " + img + " has no mask " + mask);
            samples.add(new Sample(key, img, mask));
        }
        if (samples.isEmpty()) throw new OvsegException("no images in " + images);
        return new EvalDataset(name, classes, reduce, checkKeys(samples), null, null);
    }

    /** COCO panoptic: {@code [annotations/]panoptic_<split>2017.json}, its PNG folder beside it, images in {@code <split>2017/}. */
    private static EvalDataset cocoPanoptic(Path root, String split) {
        String jsonName = "panoptic_" + split + "2017.json";
        Path b = root;
        Path json = null;
        for (Path cand : List.of(root, root.resolve("coco"))) {
            for (Path j : List.of(cand.resolve(jsonName), cand.resolve("annotations").resolve(jsonName))) {
                if (json == null && Files.isRegularFile(j)) {
                    json = j;
                    b = cand;
                }
            }
        }
        if (json == null) throw new OvsegException("no " + jsonName + " in " + root + " or " + root + "/annotations (nor below coco/)");
        Path pngDir = json.resolveSibling(jsonName.substring(0, jsonName.length() - 5));
        Path imgDir = b.resolve(split + "2017");
        requireDir(pngDir, "panoptic PNG folder");
        requireDir(imgDir, "image folder");
        JsonNode root0;
        try {
            root0 = new ObjectMapper().readTree(json.toFile());
        } catch (IOException e) {
            throw new OvsegException("cannot read " + json + ": " + OvsegException.oneLine(e.getMessage()));
        }
        List<PanopticCategory> cats = new ArrayList<>();
        for (JsonNode c : need(root0, "categories", json)) {
            cats.add(new PanopticCategory(c.path("id").asInt(), c.path("name").asText().trim(), c.path("isthing").asInt() == 1));
        }
        if (cats.isEmpty()) throw new OvsegException(json + " lists no categories");
        Map<Integer, String> imageFile = new HashMap<>();
        for (JsonNode im : need(root0, "images", json)) imageFile.put(im.path("id").asInt(), im.path("file_name").asText());
        List<Sample> samples = new ArrayList<>();
        Map<String, List<PanopticSegment>> segments = new LinkedHashMap<>();
        for (JsonNode ann : need(root0, "annotations", json)) {
            int imageId = ann.path("image_id").asInt();
            String file = imageFile.get(imageId);
            if (file == null) throw new OvsegException(json + ": annotation of image " + imageId + " has no entry in \"images\"");
            Path img = imgDir.resolve(file), png = pngDir.resolve(ann.path("file_name").asText());
            if (!Files.isRegularFile(img)) throw new OvsegException("image not found: " + img);
            if (!Files.isRegularFile(png)) throw new OvsegException("panoptic PNG not found: " + png);
            List<PanopticSegment> segs = new ArrayList<>();
            for (JsonNode s : ann.path("segments_info")) {
                segs.add(new PanopticSegment(s.path("id").asInt(), s.path("category_id").asInt(), s.path("iscrowd").asInt() == 1,
                        s.has("area") ? s.path("area").asLong() : -1));
            }
            String key = stem(img);
            samples.add(new Sample(key, img, png));
            segments.put(key, List.copyOf(segs));
        }
        if (samples.isEmpty()) throw new OvsegException(json + " has no annotations");
        List<String> names = cats.stream().map(PanopticCategory::name).toList();
        return new EvalDataset("coco-panoptic", names, false, checkKeys(samples), List.copyOf(cats), segments);
    }

    private static JsonNode need(JsonNode root, String field, Path file) {
        JsonNode n = root.get(field);
        if (n == null || !n.isArray()) throw new OvsegException(file + " has no \"" + field + "\" list");
        return n;
    }

    private static Path findImage(Path dir, String id) {
        for (String e : IMAGE_ENDINGS) {
            Path p = dir.resolve(id + "." + e);
            if (Files.isRegularFile(p)) return p;
        }
        throw new OvsegException("image " + id + " not found in " + dir);
    }

    private static List<Sample> checkKeys(List<Sample> samples) {
        Map<String, Path> seen = new HashMap<>();
        for (Sample s : samples) {
            Path prev = seen.put(s.key(), s.image());
            if (prev != null) throw new OvsegException("images " + prev + " and " + s.image() + " have the same file stem");
        }
        return List.copyOf(samples);
    }

    private static void requireDir(Path dir, String what) {
        if (!Files.isDirectory(dir)) throw new OvsegException(what + ": not a directory: " + dir);
    }

    private static List<Path> list(Path dir, int depth, java.util.function.Predicate<Path> keep) {
        try (Stream<Path> s = Files.walk(dir, depth)) {
            return s.filter(Files::isRegularFile).filter(keep).sorted(Comparator.comparing(Path::toString)).toList();
        } catch (IOException e) {
            throw new OvsegException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    private static boolean isImage(Path f) {
        String n = f.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = n.lastIndexOf('.');
        return dot > 0 && IMAGE_ENDINGS.contains(n.substring(dot + 1));
    }

    /** @return the file name without its last extension */
    public static String stem(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }
}

package org.ovseg.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.api.BoundingBox;
import org.ovseg.api.Instance;
import org.ovseg.api.Segment;
import org.ovseg.api.SegmentationResult;
import org.ovseg.image.ImageWriters;

/**
 * The per-image JSON that {@code segment} writes (and the HTTP service will answer with). The
 * schema is stable within a {@link #FORMAT_VERSION}; README.md documents every field. Segments
 * use COCO panoptic's field names ({@code id, category_id, iscrowd, bbox, area}) plus {@code
 * score}, {@code label} and {@code isthing}; {@code category_id} is the label's index.
 */
final class ResultJson {
    /** Bumped on any change a reader of the previous version could trip over. */
    static final int FORMAT_VERSION = 1;

    private ResultJson() {}

    /**
     * @param thingCount labels before this index are things, the rest stuff (CLI --stuff)
     * @param files role → file name written beside the JSON
     * @param instances add each segment's mask as COCO RLE, and the method's scored instances
     */
    static Map<String, Object> build(Path source, SegmentationResult r, Map<String, String> model, String request, int thingCount,
            Map<String, String> files, boolean instances) {
        return build(source.toString(), r, model, request, thingCount, files, instances);
    }

    /**
     * The same JSON for an image that has no path (an upload to {@code ovseg serve}).
     *
     * @param image the image's name as the JSON's {@code image} field
     * @param thingCount labels before this index are things, the rest stuff
     * @param files role → where that output is (a file name, or the response field holding it)
     * @param instances add each segment's mask as COCO RLE, and the method's scored instances
     */
    static Map<String, Object> build(String image, SegmentationResult r, Map<String, String> model, String request, int thingCount,
            Map<String, String> files, boolean instances) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("format_version", FORMAT_VERSION);
        json.put("image", image);
        json.put("width", r.width());
        json.put("height", r.height());
        json.put("pipeline", r.pipeline());
        json.put("request", request);
        json.put("model", model);
        json.put("backend", r.backend());
        json.put("backends", r.backends());
        if (!r.precisions().isEmpty()) json.put("precisions", r.precisions());
        json.put("files", files);
        int n = r.labels().size();
        json.put("label_bit_depth", ImageWriters.labelBitDepth(n));
        json.put("unassigned_value", ImageWriters.unassignedValue(n));
        List<Map<String, Object>> ls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("index", i);
            l.put("label", r.labels().get(i));
            l.put("kind", i < thingCount ? "thing" : "stuff");
            l.put("pixel_fraction", r.pixelFraction(i));
            double ms = r.meanScore(i);
            l.put("mean_score", Double.isNaN(ms) ? null : ms);
            ls.add(l);
        }
        json.put("labels", ls);
        json.put("panoptic_source", r.hasInstances() ? "pipeline" : "semantic");
        List<Map<String, Object>> segs = new ArrayList<>();
        for (Segment s : r.segments()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", s.id());
            m.put("category_id", s.labelIndex());
            m.put("label", s.label());
            m.put("isthing", s.isThing() ? 1 : 0);
            m.put("iscrowd", 0);
            BoundingBox b = s.bbox();
            m.put("bbox", List.of(b.x(), b.y(), b.width(), b.height()));
            m.put("area", s.area());
            m.put("score", (double) s.score());
            if (instances) {
                Map<String, Object> rle = new LinkedHashMap<>();
                rle.put("size", List.of(r.height(), r.width()));
                rle.put("counts", r.segmentMask(s.id()).cocoRle());
                m.put("segmentation", rle);
            }
            segs.add(m);
        }
        json.put("segments_info", segs);
        if (instances) json.put("instances", instances(r));
        json.put("timings_ms", r.timingsMs());
        if (!r.steps().isEmpty()) json.put("steps", r.steps());
        return json;
    }

    /**
     * The method's scored, possibly overlapping instances in COCO's detection-result shape, in the
     * method's order (empty for a method without instance inference).
     */
    private static List<Map<String, Object>> instances(SegmentationResult r) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Instance i : r.instances()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("category_id", i.labelIndex());
            m.put("label", i.label());
            m.put("score", (double) i.score());
            BoundingBox b = i.bbox();
            m.put("bbox", List.of(b.x(), b.y(), b.width(), b.height()));
            m.put("area", i.mask().area());
            Map<String, Object> rle = new LinkedHashMap<>();
            rle.put("size", List.of(r.height(), r.width()));
            rle.put("counts", i.mask().cocoRle());
            m.put("segmentation", rle);
            out.add(m);
        }
        return out;
    }
}

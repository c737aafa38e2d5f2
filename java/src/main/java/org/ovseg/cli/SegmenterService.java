package org.ovseg.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.image.ImageWriters;
import org.ovseg.image.RgbImage;
import org.ovseg.serve.SegmentRequest;
import org.ovseg.serve.SegmentService;

/**
 * Runs requests on one shared {@link Segmenter} (thread-safe) and answers with the per-image JSON
 * of {@code ovseg segment} ({@link ResultJson}), whose {@code files} name the response fields
 * holding the base64 PNGs: {@code labels_png}, {@code panoptic_png}, {@code overlay_png}. The
 * Segmenter stays the caller's to close.
 */
public final class SegmenterService implements SegmentService {
    private static final Map<String, String> FILES = Map.of("labels", "labels_png", "panoptic", "panoptic_png", "overlay", "overlay_png");
    private final Segmenter segmenter;

    /** @param segmenter shared by every worker; closed by its owner after the server */
    public SegmenterService(Segmenter segmenter) {
        this.segmenter = segmenter;
    }

    @Override
    public Map<String, Object> segment(SegmentRequest q) {
        RgbImage image = segmenter.readImage(q.image(), q.imageName());
        SegmentationResult r = q.refer() ? segmenter.refer(image, q.labels())
                : q.stuff() != null ? segmenter.segmentWithStuff(image, q.labels(), q.stuff()) : segmenter.segment(image, q.labels());
        int stuffCount = q.stuff() == null ? 0 : q.stuff().size();
        Map<String, String> files = new LinkedHashMap<>();
        files.put("labels", FILES.get("labels"));
        files.put("panoptic", FILES.get("panoptic"));
        files.put("overlay", FILES.get("overlay"));
        Map<String, Object> json = ResultJson.build(q.imageName(), r, segmenter.modelInfo(), q.refer() ? "refer" : "segment",
                r.labels().size() - stuffCount, files, q.instances());
        Base64.Encoder b64 = Base64.getEncoder();
        try {
            int[] map = r.labelMap();
            json.put("labels_png", b64.encodeToString(ImageWriters.labelsPng(r.width(), r.height(), map, r.labels().size())));
            json.put("panoptic_png", b64.encodeToString(ImageWriters.panopticPng(r.width(), r.height(), r.panopticIds())));
            json.put("overlay_png", b64.encodeToString(ImageWriters.overlayPng(image, map, r.labels())));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // encoding into memory: not the client's fault
        }
        return json;
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pipeline", segmenter.pipeline());
        m.put("backend", segmenter.backend());
        m.put("model", segmenter.modelInfo());
        m.put("capabilities", segmenter.capabilities());
        return m;
    }
}

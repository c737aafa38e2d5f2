package org.ovseg.serve;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.ovseg.api.Labels;

/**
 * One {@code POST /v1/segment}, checked: the uploaded image, its labels and the per-request
 * options. The Segmenter is built once for all workers, so options that change how it is built
 * (size, window, templates, preset, ...) are server settings: a request naming one is refused
 * with a 400 naming the field, never silently ignored.
 *
 * @param imageName the upload's file name, used in the JSON and in error messages
 * @param stuff stuff classes (indices follow the labels), or null
 * @param refer the labels are referring sentences (one object or one each, as the pipeline reads them)
 * @param instances add each segment's COCO RLE to the JSON
 */
public record SegmentRequest(String imageName, byte[] image, Labels labels, Labels stuff, boolean refer, boolean instances) {
    /** The fields a request may carry. */
    public static final List<String> FIELDS = List.of("image", "labels", "stuff", "refer", "instances");
    /** Options of {@code ovseg segment} that are fixed when the server starts. */
    static final Set<String> SERVER_SETTINGS = Set.of("model", "pipeline", "preset", "backend", "size", "window", "stride", "templates",
            "key-smoothing", "prompt-denoising", "threads", "cache-dir", "no-text-cache", "max-pixels", "sam", "sam-points",
            "gradcam-memory", "save-logits", "out", "images-from", "method", "pamr");

    /**
     * Reads and checks the form's fields; label errors carry the same one-line messages as the CLI.
     *
     * @throws HttpStatusException 400 naming the first bad field
     */
    public static SegmentRequest fromForm(MultipartForm form) {
        for (String name : form.names()) {
            if (FIELDS.contains(name)) continue;
            String key = name.toLowerCase(Locale.ROOT).replace('_', '-');
            if (SERVER_SETTINGS.contains(key)) {
                throw HttpStatusException.badRequest("field '" + name + "' is a server setting, fixed when the server starts (ovseg serve --" + key
                        + "); per-request fields are " + String.join(", ", FIELDS));
            }
            throw HttpStatusException.badRequest("unknown field '" + name + "' (fields: " + String.join(", ", FIELDS) + ")");
        }
        MultipartForm.Part image = form.part("image").orElseThrow(() -> HttpStatusException.badRequest("missing field 'image' (the image file)"));
        if (!image.isFile()) throw HttpStatusException.badRequest("field 'image' must be a file upload (a part with a filename)");
        String imageName = image.filename().isEmpty() ? "upload" : image.filename();
        String labelText = form.part("labels").orElseThrow(() -> HttpStatusException.badRequest("missing field 'labels' (comma-separated)")).text();
        Labels labels = parseLabels(labelText);
        Labels stuff = form.part("stuff").map(MultipartForm.Part::text).filter(s -> !s.isBlank()).map(SegmentRequest::parseLabels).orElse(null);
        boolean refer = flag(form, "refer"), instances = flag(form, "instances");
        if (stuff != null && refer) throw HttpStatusException.badRequest("fields 'stuff' and 'refer' do not combine");
        if (stuff != null) {
            List<String> all = new ArrayList<>(labels.names());
            all.addAll(stuff.names());
            parseLabels(all); // a word in both lists, or too many together, fails before any work
        }
        return new SegmentRequest(imageName, image.data(), labels, stuff, refer, instances);
    }

    private static Labels parseLabels(String text) {
        try {
            return Labels.parse(text);
        } catch (IllegalArgumentException | org.ovseg.OvsegException e) {
            throw HttpStatusException.badRequest(e.getMessage());
        }
    }

    private static void parseLabels(List<String> names) {
        try {
            Labels.of(names);
        } catch (IllegalArgumentException | org.ovseg.OvsegException e) {
            throw HttpStatusException.badRequest(e.getMessage());
        }
    }

    /** A checkbox sends "on"; scripts send true/false or 1/0. */
    private static boolean flag(MultipartForm form, String name) {
        return form.part(name).map(p -> {
            String v = p.text().trim().toLowerCase(Locale.ROOT);
            return switch (v) {
                case "true", "1", "on", "yes" -> true;
                case "false", "0", "off", "no", "" -> false;
                default -> throw HttpStatusException.badRequest("field '" + name + "' must be true or false, got '" + p.text() + "'");
            };
        }).orElse(false);
    }
}

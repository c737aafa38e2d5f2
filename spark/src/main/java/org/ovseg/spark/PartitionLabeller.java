package org.ovseg.spark;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.ovseg.OvsegException;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.ImageWriters;
import org.ovseg.image.RgbImage;

/**
 * Labels the images of one partition with the executor's shared {@link Segmenter}, lazily, one
 * image at a time. Input rows are {@code (path, stem, duplicate_of)}; every input row gives
 * exactly one output row ({@link ResultRows#SCHEMA}). An image that fails — missing, corrupt,
 * too large, out of memory, an unwritable output — becomes a row with its {@code error}, and the
 * partition goes on; only a Segmenter that cannot be loaded at all fails the task (then nothing
 * on this executor could be labelled, and Spark's retry elsewhere is the right remedy).
 */
final class PartitionLabeller implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final SegmenterSpec spec;
    private final ArrayList<String> labels;
    private final String labelsDir;
    private final String cwd;
    private final Broadcast<Map<String, String>> hadoopConf;

    /**
     * @param labelsDir where {@code <stem>.labels.png} files go
     * @param cwd the driver's working directory (relative local paths are resolved against it)
     * @param hadoopConf the driver's Hadoop configuration, for non-local paths
     */
    PartitionLabeller(SegmenterSpec spec, List<String> labels, String labelsDir, String cwd, Broadcast<Map<String, String>> hadoopConf) {
        this.spec = spec;
        this.labels = new ArrayList<>(labels);
        this.labelsDir = labelsDir;
        this.cwd = cwd;
        this.hadoopConf = hadoopConf;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> input) throws IOException {
        if (!input.hasNext()) return input; // an empty partition loads no model
        Segmenter seg = ExecutorSegmenters.get(spec);
        Labels parsed = Labels.of(labels);
        Configuration conf = Locations.hadoopConf(hadoopConf.value());
        Locations.LabelStore store = Locations.LabelStore.open(labelsDir, cwd, conf);
        ImageDecoder decoder = new ImageDecoder(spec.maxPixels());
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return input.hasNext();
            }

            @Override
            public Row next() {
                if (!input.hasNext()) throw new NoSuchElementException();
                Row in = input.next();
                return label(in.getString(0), in.getString(1), in.getString(2), seg, parsed, conf, store, decoder);
            }
        };
    }

    private Row label(String path, String stem, String duplicateOf, Segmenter seg, Labels parsed, Configuration conf, Locations.LabelStore store,
            ImageDecoder decoder) {
        if (path == null || path.isBlank()) return ResultRows.failed(path, stem, null, null, Map.of(), "no path given");
        if (duplicateOf != null) {
            String why = duplicateOf.equals(path) ? "listed more than once; labelled once"
                    : "same file stem as " + duplicateOf + " (its " + stem + ".labels.png would be overwritten)";
            return ResultRows.failed(path, stem, null, null, Map.of(), why);
        }
        Map<String, Double> timings = new LinkedHashMap<>();
        long t0 = System.nanoTime();
        RgbImage image = null;
        try {
            image = Locations.isLocal(path) ? seg.readImage(Locations.local(path, cwd)) : decoder.decode(Locations.readHadoop(path, conf), path);
            long t1 = System.nanoTime();
            timings.put("read_image", (t1 - t0) / 1e6);
            SegmentationResult r = seg.segment(image, parsed);
            long t2 = System.nanoTime();
            timings.putAll(r.timingsMs());
            byte[] png = ImageWriters.labelsPng(r.width(), r.height(), r.labelMap(), r.labels().size());
            String written = store.write(stem + ".labels.png", png);
            long t3 = System.nanoTime();
            timings.put("write_labels", (t3 - t2) / 1e6);
            timings.put("total", (t3 - t0) / 1e6);
            return ResultRows.labelled(path, stem, r, timings, written);
        } catch (IOException | RuntimeException e) {
            return failure(path, stem, image, timings, t0, describe(e));
        } catch (OutOfMemoryError e) {
            image = null; // let the failed image's pixels go before anything else is allocated
            return failure(path, stem, null, timings, t0,
                    "out of memory (" + OvsegException.oneLine(e.getMessage()) + "); try a smaller --size or --max-pixels");
        }
    }

    private static Row failure(String path, String stem, RgbImage image, Map<String, Double> timings, long t0, String error) {
        timings.put("total", (System.nanoTime() - t0) / 1e6);
        return ResultRows.failed(path, stem, image == null ? null : image.width(), image == null ? null : image.height(), timings,
                OvsegException.oneLine(error));
    }

    /** The messages {@code ovseg segment} prints for the same failures. */
    static String describe(Exception e) {
        if (e instanceof OvsegException) return e.getMessage();
        if (e instanceof IOException) return "cannot write outputs: " + e.getMessage(); // reads throw OvsegExceptions
        return "internal failure: " + e;
    }
}

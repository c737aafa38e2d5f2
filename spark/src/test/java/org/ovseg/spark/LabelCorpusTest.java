package org.ovseg.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The job in Spark local mode ({@code local[2]}: two task threads sharing one executor JVM) on a
 * generated corpus of pure-colour scenes plus bad entries, checked image by image against what
 * {@code ovseg segment} (org.ovseg.cli.Main, in process, its own Segmenter) writes for the same
 * images and options: label PNGs byte for byte, width and height, pixel fractions exactly, mean
 * scores to 1e-6 (the same network, possibly run with other images concurrently), backend.
 */
class LabelCorpusTest {
    static final String LABELS = "red,green,blue,yellow,cyan,magenta,white,black";
    static final int[] RGB = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0xFFFFFF, 0x000000};

    @TempDir
    static Path tmp;
    static Path cache, corpus, reference;
    static SparkSession spark;
    static final List<String> GOOD = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        cache = tmp.resolve("cache");
        corpus = Files.createDirectories(tmp.resolve("corpus"));
        // Five scenes of odd sizes (one a JPEG: the decoder path of segment's, lossy pixels) and a corrupt PNG.
        int[][] sizes = {{97, 64}, {64, 131}, {120, 90}, {75, 75}, {150, 61}};
        for (int i = 0; i < sizes.length; i++) {
            String name = i == 3 ? "scene-" + i + ".jpg" : "scene-" + i + ".png";
            writeScene(corpus.resolve(name), i, sizes[i][0], sizes[i][1]);
            GOOD.add(name);
        }
        Files.write(corpus.resolve("broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13, 'I', 'H', 'D', 'R', 1, 2});
        Files.writeString(corpus.resolve("notes.txt"), "not an image, not listed");

        reference = tmp.resolve("reference");
        List<String> args = new ArrayList<>(List.of("segment", "--labels", LABELS, "--size", "128", "--cache-dir", cache.toString(),
                "--out", reference.toString()));
        for (String g : GOOD) args.addAll(List.of("--image", corpus.resolve(g).toString()));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = org.ovseg.cli.Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));

        spark = SparkSession.builder().master("local[2]").appName("ovseg-test")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
    }

    @AfterAll
    static void tearDown() {
        if (spark != null) spark.stop();
        ExecutorSegmenters.closeAll();
    }

    /** One pure-colour background with three rectangles of other colours. */
    static void writeScene(Path file, int seed, int w, int h) throws Exception {
        SplittableRandom r = new SplittableRandom(seed * 31L + 7);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int bg = RGB[r.nextInt(RGB.length)];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, bg);
        for (int s = 0; s < 3; s++) {
            int c = RGB[r.nextInt(RGB.length)];
            int rw = w / 4 + r.nextInt(w / 3), rh = h / 4 + r.nextInt(h / 3), x0 = r.nextInt(w - rw), y0 = r.nextInt(h - rh);
            for (int y = y0; y < y0 + rh; y++) for (int x = x0; x < x0 + rw; x++) img.setRGB(x, y, c);
        }
        String format = file.toString().endsWith(".jpg") ? "jpg" : "png";
        assertTrue(ImageIO.write(img, format, file.toFile()));
    }

    record Run(int code, String out, String err) {}

    static Run job(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--cache-dir", cache.toString(), "--size", "128")); // segment's reference ran with these
        int code = LabelCorpus.run(all.toArray(String[]::new), spark, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The table's rows by path; a path listed twice keeps its labelled row. */
    static Map<String, Row> rowsByPath(Path output, boolean unique) {
        Map<String, Row> m = new HashMap<>();
        for (Row r : spark.read().parquet(output.resolve(LabelCorpus.TABLE).toString()).collectAsList()) {
            Row prev = m.put(r.getAs("path"), r);
            if (unique) assertNull(prev, "one row per listed path");
            if (prev != null && prev.getAs("error") == null) m.put(r.getAs("path"), prev);
        }
        return m;
    }

    /** A labelled row must match segment's outputs for the same image exactly. */
    static void assertMatchesSegment(Row row, String file, Path output) throws Exception {
        String stem = file.substring(0, file.lastIndexOf('.'));
        assertNull(row.getAs("error"), file);
        assertEquals(stem, row.getAs("stem"));
        Path png = output.resolve(LabelCorpus.LABELS).resolve(stem + ".labels.png");
        assertEquals(png.toString(), row.getAs("output"));
        assertArrayEquals(Files.readAllBytes(reference.resolve(stem + ".labels.png")), Files.readAllBytes(png), file + ": label PNG differs from segment's");
        JsonNode json = new ObjectMapper().readTree(reference.resolve(stem + ".json").toFile());
        assertEquals(json.get("width").asInt(), (int) row.getAs("width"));
        assertEquals(json.get("height").asInt(), (int) row.getAs("height"));
        assertEquals(json.get("backend").asText(), row.getAs("backend"));
        List<String> labels = row.getList(row.fieldIndex("labels"));
        List<Double> fractions = row.getList(row.fieldIndex("pixel_fractions")), scores = row.getList(row.fieldIndex("mean_scores"));
        assertEquals(8, labels.size());
        double fractionSum = 0;
        for (int i = 0; i < labels.size(); i++) {
            JsonNode l = json.get("labels").get(i);
            assertEquals(l.get("label").asText(), labels.get(i));
            assertEquals(l.get("pixel_fraction").asDouble(), fractions.get(i), 0.0, file + " " + labels.get(i));
            if (l.get("mean_score").isNull()) {
                assertNull(scores.get(i), file + " " + labels.get(i));
            } else {
                assertEquals(l.get("mean_score").asDouble(), scores.get(i), 1e-6, file + " " + labels.get(i));
            }
            fractionSum += fractions.get(i);
        }
        assertTrue(fractionSum > 0.99, file + ": the scenes are pure colours, nearly every pixel gets one");
        Map<String, Double> timings = row.getJavaMap(row.fieldIndex("timings"));
        assertTrue(timings.get("total") >= timings.get("read_image") + timings.get("write_labels"), timings.toString());
        assertTrue(timings.size() > 3, "the pipeline's own stages too: " + timings);
    }

    @Test
    void labelsADirectoryLikeSegmentAndReportsTheCorruptImageAsARow() throws Exception {
        Path output = tmp.resolve("out-dir");
        // One partition, sorted by path: broken.png comes first and the five after it in the same partition must still be labelled.
        Run run = job("--input", corpus.toString(), "--output", output.toString(), "--labels", LABELS, "--partitions", "1");
        assertEquals(0, run.code(), run.err());
        assertTrue(run.out().contains("labelled 5 of 6 images"), run.out());
        Map<String, Row> rows = rowsByPath(output, true);
        assertEquals(6, rows.size(), rows.keySet().toString()); // notes.txt is not an image
        for (String g : GOOD) assertMatchesSegment(rows.get(corpus.resolve(g).toString()), g, output);

        Row broken = rows.get(corpus.resolve("broken.png").toString());
        String error = broken.getAs("error");
        assertNotNull(error);
        assertTrue(error.contains("broken.png") && error.contains("corrupt"), error);
        ByteArrayOutputStream cliErr = new ByteArrayOutputStream();
        assertEquals(2, org.ovseg.cli.Main.run(new String[] {"segment", "--image", corpus.resolve("broken.png").toString(), "--labels", LABELS, "--size",
                "128", "--cache-dir", cache.toString(), "--out", tmp.resolve("ref-broken").toString()}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(cliErr, true, StandardCharsets.UTF_8)));
        assertEquals(cliErr.toString(StandardCharsets.UTF_8).strip(), "error: " + corpus.resolve("broken.png") + ": " + error, "segment's message");
        assertFalse(error.contains("\n"));
        assertNull(broken.getAs("output"));
        assertNull(broken.getAs("labels"));
        assertFalse(Files.exists(output.resolve(LabelCorpus.LABELS).resolve("broken.labels.png")));
        assertTrue(run.err().contains("error: " + corpus.resolve("broken.png") + ": "), run.err());
        try (Stream<Path> s = Files.list(output.resolve(LabelCorpus.LABELS))) {
            assertEquals(5, s.count(), "five label PNGs and no temporary file left");
        }
        // local[2]: both task threads and the driver's check used one Segmenter.
        assertEquals(1, ExecutorSegmenters.openCount());
    }

    @Test
    void csvListWithMissingDuplicateAndRelativeEntries() throws Exception {
        Path output = tmp.resolve("out-csv");
        Path csv = tmp.resolve("list.csv");
        String relative = Path.of(System.getProperty("user.dir")).relativize(corpus.resolve(GOOD.get(1))).toString();
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.copy(corpus.resolve(GOOD.get(0)), other.resolve(GOOD.get(0)));
        Files.writeString(csv, String.join("\n", "id,path", "1," + corpus.resolve(GOOD.get(0)), "2," + relative, "3," + corpus.resolve("missing.png"),
                "4," + other.resolve(GOOD.get(0)), "5," + corpus.resolve(GOOD.get(2)), "6," + corpus.resolve(GOOD.get(2)), "7,") + "\n");
        Run run = job("--input", csv.toString(), "--output", output.toString(), "--labels", LABELS, "--partitions", "3");
        assertEquals(0, run.code(), run.err());
        Map<String, Row> rows = rowsByPath(output, false);
        assertMatchesSegment(rows.get(corpus.resolve(GOOD.get(0)).toString()), GOOD.get(0), output);
        assertMatchesSegment(rows.get(relative), GOOD.get(1), output);
        assertMatchesSegment(rows.get(corpus.resolve(GOOD.get(2)).toString()), GOOD.get(2), output);
        assertEquals("image not found: " + corpus.resolve("missing.png"), rows.get(corpus.resolve("missing.png").toString()).getAs("error"));
        // other/scene-0.png sorts after corpus/scene-0.png, so it is the one refused: its PNG would overwrite the first's.
        String dup = rows.get(other.resolve(GOOD.get(0)).toString()).getAs("error");
        assertTrue(dup.startsWith("same file stem as " + corpus.resolve(GOOD.get(0))), dup);
        assertNull(rows.get(null).getAs("output"));
        assertEquals("no path given", rows.get(null).getAs("error"));
        // The same path twice: 7 rows from 7 lines, one labelled and one refused.
        long total = spark.read().parquet(output.resolve(LabelCorpus.TABLE).toString()).count();
        assertEquals(7, total);
        List<Row> twice = spark.read().parquet(output.resolve(LabelCorpus.TABLE).toString())
                .filter(org.apache.spark.sql.functions.col("path").equalTo(corpus.resolve(GOOD.get(2)).toString())).collectAsList();
        assertEquals(2, twice.size());
        assertEquals(1, twice.stream().filter(r -> r.getAs("error") == null).count());
        assertTrue(twice.stream().anyMatch(r -> "listed more than once; labelled once".equals(r.getAs("error"))));
        assertTrue(run.out().contains("labelled 3 of 7 images"), run.out());
    }

    @Test
    void parquetTableOfPathsFoundByItsContent() throws Exception {
        Path table = tmp.resolve("paths-table"); // no .parquet in the name: the part files tell
        spark.createDataset(List.of(corpus.resolve(GOOD.get(3)).toString(), corpus.resolve(GOOD.get(4)).toString()), Encoders.STRING()).toDF("path")
                .write().parquet(table.toString());
        Path output = tmp.resolve("out-parquet");
        Run run = job("--input", table.toString(), "--output", output.toString(), "--labels", LABELS);
        assertEquals(0, run.code(), run.err());
        Map<String, Row> rows = rowsByPath(output, true);
        assertEquals(2, rows.size());
        for (int i = 3; i < 5; i++) assertMatchesSegment(rows.get(corpus.resolve(GOOD.get(i)).toString()), GOOD.get(i), output);
    }

    @Test
    void badJobInputIsOneLineAndExitCode2() throws Exception {
        Path csv = tmp.resolve("no-path-column.csv");
        Files.writeString(csv, "file\na.png\n");
        Run r = job("--input", csv.toString(), "--output", tmp.resolve("o1").toString(), "--labels", LABELS);
        assertEquals(2, r.code());
        assertEquals("error: input " + csv + " has no 'path' column (columns: file)", r.err().strip());

        r = job("--input", corpus.toString(), "--output", tmp.resolve("o2").toString(), "--labels", LABELS, "--model", tmp.resolve("nope").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: ") && r.err().strip().lines().count() == 1, r.err());

        r = job("--input", corpus.toString(), "--output", tmp.resolve("o3").toString(), "--labels", "red,red");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("red"), r.err());

        r = job("--input", tmp.resolve("absent").toString(), "--output", tmp.resolve("o4").toString(), "--labels", LABELS);
        assertEquals("error: input not found: " + tmp.resolve("absent"), r.err().strip());

        r = job("--input", corpus.toString(), "--output", tmp.resolve("o5").toString(), "--labels", LABELS, "--window", "64", "--stride", "65");
        assertEquals("error: --stride must be between 1 and --window", r.err().strip());

        Path empty = Files.createDirectories(tmp.resolve("empty-table"));
        r = job("--input", empty.toString(), "--input-format", "parquet", "--output", tmp.resolve("o6").toString(), "--labels", LABELS);
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("error: cannot read input " + empty + ": ") && r.err().strip().lines().count() == 1, r.err());

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        r = job("--input", corpus.toString(), "--output", file.toString(), "--labels", LABELS);
        assertEquals("error: output path exists and is not a directory: " + file, r.err().strip());
    }
}

package org.ovseg.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.ovseg.OvsegException;
import org.ovseg.engine.Backend;
import org.ovseg.image.ImageDecoder;

/** The job's command line: segment's option names and limits, checked before Spark starts. */
class LabelJobTest {
    static LabelJob parse(String... extra) {
        List<String> a = new java.util.ArrayList<>(List.of("--input", "in.csv", "--output", "out", "--labels", "cat, sofa"));
        a.addAll(List.of(extra));
        return LabelJob.parse(a.toArray(String[]::new));
    }

    static String error(String... argv) {
        return assertThrows(OvsegException.class, () -> LabelJob.parse(argv)).getMessage();
    }

    @Test
    void defaultsAreSegments() {
        LabelJob j = parse();
        assertEquals(List.of("cat", "sofa"), j.labels());
        assertNull(j.inputFormat());
        assertEquals(0, j.partitions());
        SegmenterSpec s = j.spec();
        assertNull(s.model());
        assertEquals(Backend.AUTO, s.backend());
        assertNull(s.size());
        assertEquals(ImageDecoder.DEFAULT_MAX_PIXELS, s.maxPixels());
        assertEquals(true, s.textCache());
    }

    @Test
    void optionsReachTheSpecAndLocalPathsBecomeAbsolute() {
        LabelJob j = parse("--model", "bundles/x", "--cache-dir=c", "--size", "320", "--window", "224", "--backend", "CPU", "--no-text-cache",
                "--input-format", "Parquet", "--partitions", "8", "--key-smoothing", "0.5");
        Path cwd = Path.of(System.getProperty("user.dir"));
        assertEquals(cwd.resolve("bundles/x").toString(), j.spec().model());
        assertEquals(cwd.resolve("c").toString(), j.spec().cacheDir());
        assertEquals(320, j.spec().size());
        assertEquals(224, j.spec().window());
        assertEquals(112, j.spec().stride()); // segment's default: half the window
        assertEquals(Backend.CPU, j.spec().backend());
        assertEquals(false, j.spec().textCache());
        assertEquals(CorpusInput.Format.PARQUET, j.inputFormat());
        assertEquals(8, j.partitions());
        assertEquals(0.5f, j.spec().keySmoothing());
        assertEquals("builtin:colour-world", parse("--model", "builtin:colour-world").spec().model());
        // equal options, equal key: the executor's Segmenter is shared between jobs that agree
        assertEquals(parse("--size", "320").spec(), parse("--size=320").spec());
    }

    @Test
    void badOptionsAreOneLineErrors() {
        assertEquals("missing required option --labels", error("--input", "a", "--output", "b"));
        assertEquals("unknown option --image", error("--image", "a.png"));
        assertEquals("unexpected argument 'a.png'", error("a.png"));
        assertEquals("option --size given more than once", error("--input", "a", "--size", "64", "--size", "96"));
        assertEquals("option --size needs a value", error("--input", "a", "--size"));
        assertEquals("option --no-text-cache takes no value", error("--no-text-cache=1"));
        assertEquals("--size must be between 16 and 8192, got 8", assertThrows(OvsegException.class, () -> parse("--size", "8")).getMessage());
        assertEquals("--partitions must be an integer, got 'many'", assertThrows(OvsegException.class, () -> parse("--partitions", "many")).getMessage());
        assertEquals("--backend must be auto, cpu or tensorrt, got 'fpga'", assertThrows(OvsegException.class, () -> parse("--backend", "fpga")).getMessage());
        assertEquals("--input-format must be csv, parquet or images, got 'tsv'",
                assertThrows(OvsegException.class, () -> parse("--input-format", "tsv")).getMessage());
        assertEquals("--stride needs --window", assertThrows(OvsegException.class, () -> parse("--stride", "4")).getMessage());
        assertEquals("--key-smoothing must be >= 0, got -1", assertThrows(OvsegException.class, () -> parse("--key-smoothing", "-1")).getMessage());
    }
}

package org.ovseg.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.engine.Backend;
import org.ovseg.image.ImageDecoder;
import org.ovseg.image.RgbImage;

/**
 * Throughput of one shared {@link Segmenter} (builtin:colour-world, CPU) called by 1 and by 2
 * threads at once, on the 512² crop of tools/data/voc-samples/0_image.png with the eight colour
 * words. Compare the two scores: total calls per second across the threads. Run once as is and
 * once with OVSEG_CPU_POOL=serial in the environment (the native pool's former behaviour, one
 * kernel call at a time) to see what running concurrent kernel calls concurrently buys.
 * Run from the repository root.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xmx3g", "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0"})
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 4, time = 4)
public class ConcurrentSegmentBench {
    Segmenter segmenter;
    RgbImage image;
    Labels labels = Labels.parse("red,green,blue,yellow,cyan,magenta,white,black");
    Path cache;

    @Setup(Level.Trial)
    public void setup() throws Exception {
        cache = Files.createTempDirectory("ovseg-bench-cache");
        segmenter = Segmenter.builder().model("builtin:colour-world").backend(Backend.CPU).cacheDir(cache).build();
        RgbImage src = new ImageDecoder().decode(Path.of("tools/data/voc-samples/0_image.png"));
        byte[] rgb = new byte[512 * 512 * 3];
        for (int y = 0; y < 512; y++) System.arraycopy(src.rgb(), y * src.width() * 3, rgb, y * 512 * 3, 512 * 3);
        image = new RgbImage(512, 512, rgb);
        segmenter.segment(image, labels); // fills the text cache: the benchmark is the image path
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        segmenter.close();
    }

    @Benchmark
    @Threads(1)
    public SegmentationResult oneThread() {
        return segmenter.segment(image, labels);
    }

    @Benchmark
    @Threads(2)
    public SegmentationResult twoThreads() {
        return segmenter.segment(image, labels);
    }
}

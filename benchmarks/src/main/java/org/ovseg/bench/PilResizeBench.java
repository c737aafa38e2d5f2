package org.ovseg.bench;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.ovseg.image.PilBicubic;
import org.ovseg.kernel.PilResize;

/**
 * CaR's classifier-input resize (PIL bicubic, short side to 224): the pure-Java
 * {@link PilBicubic} against the native twin {@link PilResize} (libovseg_cpu, its thread pool),
 * on a VOC-sized 513×513 prompted image and a 2048×1536 one. Both give the same bytes; this
 * decides which one the CPU path uses. Run: {@code java -jar benchmarks/target/benchmarks.jar PilResizeBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PilResizeBench {
    @Param({"513x513", "2048x1536"})
    public String size;

    private byte[] rgb;
    private int w, h, ow, oh;

    @Setup
    public void setup() {
        String[] p = size.split("x");
        w = Integer.parseInt(p[0]);
        h = Integer.parseInt(p[1]);
        oh = 224;
        ow = (int) ((long) 224 * w / h);
        rgb = new byte[w * h * 3];
        new SplittableRandom(1).nextBytes(rgb);
    }

    @Benchmark
    public byte[] java() {
        return PilBicubic.resize(rgb, w, h, ow, oh);
    }

    @Benchmark
    public byte[] nativeTwin() {
        return PilResize.resize(rgb, w, h, ow, oh);
    }
}

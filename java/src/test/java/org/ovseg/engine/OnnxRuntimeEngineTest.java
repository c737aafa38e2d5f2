package org.ovseg.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.tensor.ElementType.FLOAT32;
import static org.ovseg.tensor.ElementType.INT64;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.tensor.HostTensor;

class OnnxRuntimeEngineTest {
    private static final EngineOptions CPU1 = EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build();

    @TempDir
    static Path dir;
    static Path dynamicModel;
    static Path staticModel;

    /** y = softmax(x @ w + b) over the last axis, x FLOAT32 [1,3,"h","w"] viewed as rows of width w=4. */
    @BeforeAll
    static void writeModels() throws IOException {
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = (i % 5 - 2) * 0.25f;
        GraphBuilder g = GraphBuilder.create("dyn");
        String x = g.input("pixel_values", FLOAT32, 1, 3, "height", 4);
        String y = g.add(g.matMul(x, g.initializer("w", w, 4, 4)), g.initializer("b", new float[] {0.1f, -0.2f, 0.3f, 0f}, 4));
        g.rename(g.softmax(y, -1), "probs");
        g.output("probs", FLOAT32, 1, 3, "height", 4);
        dynamicModel = g.write(dir.resolve("dyn.onnx"));

        GraphBuilder s = GraphBuilder.create("static");
        String a = s.input("a", FLOAT32, 2, 3);
        String ids = s.input("ids", INT64, 2);
        s.rename(s.add(a, s.scalar(1f)), "sum");
        s.rename(s.add(ids, ids), "twice");
        s.output("sum", FLOAT32, 2, 3).output("twice", INT64, 2);
        staticModel = s.write(dir.resolve("static.onnx"));
    }

    @AfterAll
    static void nothing() {
        // @TempDir cleans up; sessions are closed by each test.
    }

    private static HostTensor pixels(long seed, int h) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[3 * h * 4];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble(-2, 2);
        return HostTensor.of(v, 1, 3, h, 4);
    }

    @Test
    void specsComeFromTheSessionMetadata() {
        try (Engine e = OnnxRuntimeEngine.open(dynamicModel, CPU1)) {
            assertEquals(Backend.CPU, e.backend());
            TensorSpec in = e.inputs().get(0);
            assertEquals("pixel_values", in.name());
            assertEquals(FLOAT32, in.type());
            assertArrayEquals(new long[] {1, 3, -1, 4}, in.shape());
            assertEquals("height", in.axisNames().get(2));
            assertEquals("FLOAT32 [1,3,-1,4]", in.describe());
            assertEquals("probs", e.outputs().get(0).name());
        }
    }

    @Test
    void wrongInputsFailWithOneClearLine() {
        try (Engine e = OnnxRuntimeEngine.open(dynamicModel, CPU1);
                HostTensor ints = HostTensor.of(new long[] {1, 2, 3}, 1, 3);
                HostTensor wrongDim = HostTensor.zeros(FLOAT32, 1, 2, 5, 4);
                HostTensor ok = pixels(1, 2)) {
            EngineException t = assertThrows(EngineException.class, () -> e.run(Map.of("pixel_values", ints)));
            assertEquals("input 'pixel_values' expects FLOAT32 [1,3,-1,4], got INT64 [1,3]", t.getMessage());
            EngineException d = assertThrows(EngineException.class, () -> e.run(Map.of("pixel_values", wrongDim)));
            assertEquals("input 'pixel_values' expects FLOAT32 [1,3,-1,4], got FLOAT32 [1,2,5,4]", d.getMessage());
            EngineException m = assertThrows(EngineException.class, () -> e.run(Map.of()));
            assertEquals("dyn.onnx: missing input 'pixel_values' (FLOAT32 [1,3,-1,4])", m.getMessage());
            EngineException u = assertThrows(EngineException.class, () -> e.run(Map.of("pixel_values", ok, "mask", ok)));
            assertEquals("dyn.onnx: unknown input 'mask' (model inputs: pixel_values)", u.getMessage());
            HostTensor closed = pixels(2, 2);
            closed.close();
            assertTrue(assertThrows(EngineException.class, () -> e.run(Map.of("pixel_values", closed))).getMessage().contains("closed"));
        }
    }

    @Test
    void dynamicAxesAcceptDifferentSizes() {
        try (Engine e = OnnxRuntimeEngine.open(dynamicModel, CPU1)) {
            for (int h : new int[] {1, 2, 7}) {
                try (HostTensor x = pixels(h, h)) {
                    Map<String, HostTensor> out = e.run(Map.of("pixel_values", x));
                    try (HostTensor p = out.get("probs")) {
                        assertArrayEquals(new long[] {1, 3, h, 4}, p.shape());
                        float[] v = p.toFloatArray();
                        for (int r = 0; r < v.length / 4; r++) {
                            assertEquals(1.0, v[4 * r] + v[4 * r + 1] + v[4 * r + 2] + v[4 * r + 3], 1e-6);
                        }
                    }
                }
            }
        }
    }

    @Test
    void pinnedOutputsReceiveTheSameValuesAsAllocatedOnes() {
        try (Engine e = OnnxRuntimeEngine.open(dynamicModel, CPU1); HostTensor x = pixels(3, 5);
                HostTensor out = HostTensor.zeros(FLOAT32, 1, 3, 5, 4)) {
            Map<String, HostTensor> alloc = e.run(Map.of("pixel_values", x));
            e.run(Map.of("pixel_values", x), Map.of("probs", out));
            try (HostTensor a = alloc.get("probs")) {
                assertArrayEquals(a.toFloatArray(), out.toFloatArray());
            }
            try (HostTensor wrong = HostTensor.zeros(INT64, 1, 3, 5, 4)) {
                EngineException w = assertThrows(EngineException.class, () -> e.run(Map.of("pixel_values", x), Map.of("probs", wrong)));
                assertEquals("output 'probs' expects FLOAT32 [1,3,-1,4], got INT64 [1,3,5,4]", w.getMessage());
            }
        }
    }

    @Test
    void staticOutputsAndInt64RoundTrip() {
        try (Engine e = OnnxRuntimeEngine.open(staticModel, CPU1); HostTensor a = HostTensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
                HostTensor ids = HostTensor.of(new long[] {21, -4}, 2)) {
            Map<String, HostTensor> out = e.run(Map.of("a", a, "ids", ids));
            try {
                assertEquals(List.of("sum", "twice"), new ArrayList<>(out.keySet()));
                assertArrayEquals(new float[] {2, 3, 4, 5, 6, 7}, out.get("sum").toFloatArray());
                assertArrayEquals(new long[] {42, -8}, out.get("twice").toLongArray());
            } finally {
                out.values().forEach(HostTensor::close);
            }
            // Only the requested output is produced.
            try (HostTensor twice = HostTensor.zeros(INT64, 2)) {
                e.run(Map.of("a", a, "ids", ids), Map.of("twice", twice));
                assertArrayEquals(new long[] {42, -8}, twice.toLongArray());
            }
        }
    }

    /** N threads × M runs on one shared engine equal the single-threaded results exactly. */
    @Test
    void oneEngineSharedByManyThreadsGivesTheSingleThreadedResults() throws Exception {
        int threads = 4, runs = 25, inputs = 6;
        try (Engine e = OnnxRuntimeEngine.open(dynamicModel, CPU1)) {
            List<HostTensor> xs = new ArrayList<>();
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < inputs; i++) {
                HostTensor x = pixels(100 + i, 3 + i);
                xs.add(x);
                Map<String, HostTensor> out = e.run(Map.of("pixel_values", x));
                try (HostTensor p = out.get("probs")) {
                    expected.add(p.toFloatArray());
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            CountDownLatch start = new CountDownLatch(1);
            try {
                List<Future<Integer>> futures = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int tid = t;
                    futures.add(pool.submit(() -> {
                        start.await();
                        int checked = 0;
                        for (int r = 0; r < runs; r++) {
                            int i = (tid * 7 + r) % inputs;
                            Map<String, HostTensor> in = new LinkedHashMap<>();
                            in.put("pixel_values", xs.get(i));
                            Map<String, HostTensor> out = e.run(in);
                            try (HostTensor p = out.get("probs")) {
                                assertArrayEquals(expected.get(i), p.toFloatArray(), "thread " + tid + " run " + r);
                            }
                            checked++;
                        }
                        return checked;
                    }));
                }
                start.countDown();
                int total = 0;
                for (Future<Integer> f : futures) total += f.get();
                assertEquals(threads * runs, total);
            } finally {
                pool.shutdownNow();
                xs.forEach(HostTensor::close);
            }
        }
    }

    @Test
    void closeIsIdempotentAndLaterRunsThrow() {
        Engine e = OnnxRuntimeEngine.open(dynamicModel, CPU1);
        e.close();
        e.close();
        try (HostTensor x = pixels(1, 1)) {
            assertThrows(IllegalStateException.class, () -> e.run(Map.of("pixel_values", x)));
        }
    }

    @Test
    void openingABrokenModelNamesTheFile() throws IOException {
        Path junk = Files.write(dir.resolve("junk.onnx"), new byte[] {1, 2, 3, 4});
        EngineException e = assertThrows(EngineException.class, () -> OnnxRuntimeEngine.open(junk, CPU1));
        assertTrue(e.getMessage().startsWith(junk + ": ONNX Runtime cannot open the model"), e.getMessage());
        assertTrue(assertThrows(EngineException.class, () -> OnnxRuntimeEngine.open(dir.resolve("nope.onnx"), CPU1))
                .getMessage().endsWith("ONNX file not found"));
    }

    @Test
    void optimizedModelIsWrittenWhenAsked() {
        Path opt = dir.resolve("dyn.opt.onnx");
        EngineOptions o = CPU1.toBuilder().graphOptimization(EngineOptions.GraphOptimization.BASIC).optimizedModelPath(opt).build();
        try (Engine e = OnnxRuntimeEngine.open(dynamicModel, o)) {
            assertEquals(1, e.outputs().size());
        }
        assertTrue(Files.isRegularFile(opt));
    }

    @Test
    void autoFallsBackToTheCpuHereAndSaysWhy() {
        Engines.Choice c = Engines.choose(Backend.AUTO);
        if (c.backend() == Backend.CPU) {
            assertTrue(c.reason().startsWith("auto: "), c.reason());
        }
        try (Engine e = Engines.open(dynamicModel, EngineOptions.defaults())) {
            assertEquals(c.backend(), e.backend());
        }
    }

    @Test
    void precisionVariantSelection() {
        Map<String, Path> v = new LinkedHashMap<>();
        v.put("fp16", Path.of("a.fp16.onnx"));
        v.put("fp32", Path.of("a.onnx"));
        EngineOptions o = EngineOptions.defaults();
        assertEquals("fp32", Engines.selectVariant(v, Backend.CPU, o));
        assertEquals("fp16", Engines.selectVariant(v, Backend.TENSORRT, o));
        assertEquals("fp32", Engines.selectVariant(v, Backend.TENSORRT, o.toBuilder().precisionPreference("bf16").build()));
        assertEquals("fp16", Engines.selectVariant(Map.of("fp16", Path.of("x")), Backend.CPU, o));
        // int8 only when it heads the preference (asked for); a network without it stays on fp32.
        v.put("int8", Path.of("a.int8.onnx"));
        assertEquals("fp32", Engines.selectVariant(v, Backend.CPU, o));
        assertEquals("fp32", Engines.selectVariant(v, Backend.CPU, o.toBuilder().precisionPreference("fp16", "int8").build()));
        EngineOptions int8 = o.toBuilder().precisionPreference("int8", "fp32").build();
        assertEquals("int8", Engines.selectVariant(v, Backend.CPU, int8));
        assertEquals("int8", Engines.selectVariant(v, Backend.TENSORRT, int8));
        assertEquals("fp32", Engines.selectVariant(Map.of("fp32", Path.of("t.onnx")), Backend.CPU, int8));
    }

    @Test
    void optionsValidateAndCopy() {
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().intraOpThreads(-1));
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().workspaceBytes(0));
        assertThrows(IllegalArgumentException.class, () -> new ShapeProfile(new long[] {1, 3}, new long[] {1, 2}, new long[] {1, 4}));
        EngineOptions o = EngineOptions.builder().profile("pixel_values", new ShapeProfile(new long[] {1, 3, 224, 224},
                new long[] {1, 3, 448, 448}, new long[] {1, 3, 1024, 1024})).cudaGraphs(true).build();
        assertEquals(o.profiles(), o.toBuilder().build().profiles());
        assertTrue(o.cudaGraphs());
        assertThrows(UnsupportedOperationException.class, () -> o.profiles().clear());
    }
}

package org.ovseg.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.ovseg.tensor.ElementType.FLOAT32;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.kernel.CudaDevice;
import org.ovseg.kernel.Device;
import org.ovseg.tensor.HostTensor;

class TensorRtEngineTest {

    @TempDir
    Path dir;

    private static String unusableReason() {
        TensorRtEngine.Availability a = TensorRtEngine.availability();
        if (!a.available()) return a.reason();
        if (Device.cuda().isEmpty()) return "no CUDA device: " + Device.cudaUnavailableReason();
        return null;
    }

    @Test
    void availabilityNeverThrowsAndExplainsItself() {
        TensorRtEngine.Availability a = TensorRtEngine.availability();
        assertFalse(a.reason().isBlank());
        if (!a.available()) assertTrue(a.reason().startsWith("TensorRT libraries not found: "), a.reason());
        assertEquals(a, TensorRtEngine.availability(), "probed once");
    }

    @Test
    void requestingTensorRtWhereItCannotRunFailsWithTheReason() {
        String reason = unusableReason();
        assumeTrue(reason != null, "TensorRT is usable on this machine");
        EngineException e = assertThrows(EngineException.class, () -> Engines.choose(Backend.TENSORRT));
        assertTrue(e.getMessage().startsWith("TensorRT backend requested but unusable: "), e.getMessage());
        assertEquals(Backend.CPU, Engines.choose(Backend.AUTO).backend());
    }

    @Test
    void planKeyChangesWithEveryIngredient() {
        CudaDevice gpu = new CudaDevice(0, "NVIDIA H100", 9, 0, 80L << 30, 13000, 13000);
        EngineOptions o = EngineOptions.defaults();
        String k = TensorRtEngine.planKey("abc", gpu, "11.2.0", "fp16", o);
        assertEquals(64, k.length());
        assertEquals(k, TensorRtEngine.planKey("abc", gpu, "11.2.0", "fp16", o));
        assertNotEquals(k, TensorRtEngine.planKey("abd", gpu, "11.2.0", "fp16", o));
        assertNotEquals(k, TensorRtEngine.planKey("abc", new CudaDevice(0, "NVIDIA H100", 8, 9, 80L << 30, 13000, 13000), "11.2.0", "fp16", o));
        assertNotEquals(k, TensorRtEngine.planKey("abc", gpu, "11.3.0", "fp16", o));
        assertNotEquals(k, TensorRtEngine.planKey("abc", gpu, "11.2.0", "fp32", o));
        assertNotEquals(k, TensorRtEngine.planKey("abc", gpu, "11.2.0", "fp16",
                o.toBuilder().profile("x", ShapeProfile.fixed(1, 3, 224, 224)).build()));
    }

    /** Runs only where TensorRT and a GPU are present: the same graph as ORT, same numbers. */
    @Test
    void matchesOnnxRuntimeOnAGpu() throws IOException {
        String reason = unusableReason();
        assumeTrue(reason == null, reason);
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = (i % 5 - 2) * 0.25f;
        GraphBuilder g = GraphBuilder.create("trt");
        String x = g.input("x", FLOAT32, "batch", 4);
        g.rename(g.softmax(g.matMul(x, g.initializer("w", w, 4, 4)), -1), "y");
        g.output("y", FLOAT32, "batch", 4);
        Path model = g.write(dir.resolve("trt.onnx"));
        EngineOptions o = EngineOptions.builder().backend(Backend.TENSORRT).planCacheDir(dir.resolve("plans"))
                .profile("x", new ShapeProfile(new long[] {1, 4}, new long[] {2, 4}, new long[] {8, 4})).cudaGraphs(true).build();
        try (Engine trt = Engines.open(model, o); Engine ort = Engines.open(model, o.toBuilder().backend(Backend.CPU).build());
                HostTensor in = HostTensor.of(new float[] {1, 2, 3, 4, -1, 0, 1, 2}, 2, 4)) {
            assertEquals(Backend.TENSORRT, trt.backend());
            for (int rep = 0; rep < 3; rep++) assertSameOutput(trt, ort, in); // plain, captured, replayed
        }
        try (var plans = Files.list(dir.resolve("plans"))) {
            assertTrue(plans.findAny().isPresent(), "plan cached");
        }
    }
    /** Runs "x" through both engines and compares "y" element by element (1e-5). */
    private static void assertSameOutput(Engine trt, Engine ort, HostTensor in) {
        Map<String, HostTensor> a = trt.run(Map.of("x", in));
        Map<String, HostTensor> b = ort.run(Map.of("x", in));
        try {
            float[] av = a.get("y").toFloatArray(), bv = b.get("y").toFloatArray();
            assertEquals(bv.length, av.length);
            for (int i = 0; i < av.length; i++) assertEquals(bv[i], av[i], 1e-5);
        } finally {
            a.values().forEach(HostTensor::close);
            b.values().forEach(HostTensor::close);
        }
    }

    /**
     * A graph whose weight is ONNX external data, in a subfolder, opened from another working directory: TensorRT's
     * parseFromFile must find the data beside the graph (parsing bytes would not), match ORT, and a changed data file
     * must build a new plan rather than reuse the cached one. Runs only where TensorRT and a GPU are present.
     */
    @Test
    void externalDataGraphMatchesOnnxRuntimeAndKeysThePlanCache() throws IOException {
        String reason = unusableReason();
        assumeTrue(reason == null, reason);
        float[] w = new float[16];
        for (int i = 0; i < 16; i++) w[i] = (i % 7 - 3) * 0.125f;
        GraphBuilder g = GraphBuilder.create("trt_external");
        String x = g.input("x", FLOAT32, "batch", 4);
        g.rename(g.matMul(x, g.initializer("w", w, 4, 4)), "y");
        g.output("y", FLOAT32, "batch", 4);
        Path model = dir.resolve("nets/ext.onnx");
        org.ovseg.engine.onnx.OnnxWriter.writeWithExternalData(g.build(), model, "ext.onnx.data");
        EngineOptions o = EngineOptions.builder().backend(Backend.TENSORRT).planCacheDir(dir.resolve("plans"))
                .profile("x", new ShapeProfile(new long[] {1, 4}, new long[] {2, 4}, new long[] {8, 4})).build();
        float[] input = {1, 2, 3, 4, -1, 0, 1, 2};
        for (int round = 0; round < 2; round++) {
            try (Engine trt = Engines.open(model, o); Engine ort = Engines.open(model, o.toBuilder().backend(Backend.CPU).build());
                    HostTensor in = HostTensor.of(input, 2, 4)) {
                assertEquals(Backend.TENSORRT, trt.backend());
                assertSameOutput(trt, ort, in);
            }
            try (var plans = Files.list(dir.resolve("plans"))) {
                assertEquals(round + 1, plans.filter(p -> p.toString().endsWith(".plan")).count(), "one plan per weight content");
            }
            // new weights, same .onnx bytes: the second round must build its own plan and compute with the new weights
            for (int i = 0; i < 16; i++) w[i] = -w[i] + 0.5f;
            java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (float v : w) bytes.putFloat(v);
            Files.write(dir.resolve("nets/ext.onnx.data"), bytes.array());
            Files.setLastModifiedTime(dir.resolve("nets/ext.onnx.data"),
                    java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5000 * (round + 1)));
        }
    }

    /**
     * Opening and closing an engine 100 times must not grow the GPU's used memory: close()
     * deletes the execution context, engine and runtime (native/src/trt_delete.cpp). Each engine
     * holds at least its weights, activations and context memory on the device, so a leak of the
     * three objects shows up as megabytes per cycle. Runs only where TensorRT and a GPU are present.
     */
    @Test
    void openingAndClosingAHundredTimesDoesNotGrowGpuMemory() throws IOException {
        String reason = unusableReason();
        assumeTrue(reason == null, reason);
        float[] w = new float[256 * 256];
        for (int i = 0; i < w.length; i++) w[i] = (i % 7 - 3) * 0.01f;
        GraphBuilder g = GraphBuilder.create("leak");
        String x = g.input("x", FLOAT32, "batch", 256);
        g.rename(g.matMul(x, g.initializer("w", w, 256, 256)), "y");
        g.output("y", FLOAT32, "batch", 256);
        Path model = g.write(dir.resolve("leak.onnx"));
        EngineOptions o = EngineOptions.builder().backend(Backend.TENSORRT).planCacheDir(dir.resolve("plans"))
                .profile("x", new ShapeProfile(new long[] {1, 256}, new long[] {8, 256}, new long[] {64, 256})).build();
        try (HostTensor in = HostTensor.zeros(FLOAT32, 8, 256)) {
            Runnable cycle = () -> {
                try (Engine e = Engines.open(model, o)) {
                    assertEquals(Backend.TENSORRT, e.backend());
                    e.run(Map.of("x", in)).values().forEach(HostTensor::close);
                }
            };
            for (int i = 0; i < 3; i++) cycle.run(); // plan built and cached, CUDA context and pools warm
            long before = usedGpuBytes();
            for (int i = 0; i < 100; i++) cycle.run();
            long grown = usedGpuBytes() - before;
            assertTrue(grown < 32L << 20, "GPU memory grew by " + (grown >> 20) + " MiB over 100 open/close cycles");
        }
    }

    private static long usedGpuBytes() {
        try (org.bytedeco.javacpp.SizeTPointer free = new org.bytedeco.javacpp.SizeTPointer(1);
                org.bytedeco.javacpp.SizeTPointer total = new org.bytedeco.javacpp.SizeTPointer(1)) {
            assertEquals(0, org.bytedeco.cuda.global.cudart.cudaMemGetInfo(free, total), "cudaMemGetInfo");
            return total.get() - free.get();
        }
    }
}

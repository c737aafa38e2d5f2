package org.ovseg.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The AUTO fallback from TensorRT to ONNX Runtime, with the openers replaced (no TensorRT here). */
class EnginesFallbackTest {
    private final List<LogRecord> warnings = new ArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) warnings.add(r);
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };
    private final Logger jul = Logger.getLogger(Engines.class.getName());

    @BeforeEach
    void listen() {
        jul.addHandler(handler);
    }

    @AfterEach
    void stop() {
        jul.removeHandler(handler);
    }

    private final Map<String, Path> variants = new LinkedHashMap<>(Map.of("fp16", Path.of("net.fp16.onnx"), "fp32", Path.of("net.onnx")));
    private final List<Path> ortOpened = new ArrayList<>();
    private final Engines.OrtOpener ort = (f, o) -> {
        ortOpened.add(f);
        return new NoRunEngine(Backend.CPU, f);
    };
    private static final Engines.TrtOpener BROKEN = (f, o, label) -> {
        throw new EngineException(f.getFileName() + ": input 'pixel_values' has dynamic shape [1,3,-1,-1];\nTensorRT needs a profile");
    };
    private static final Engines.Choice TRT = new Engines.Choice(Backend.TENSORRT, "auto: test");

    @Test
    void autoFallsBackToOnnxRuntimeWithOneWarningLine() {
        Engine e = Engines.open(variants, EngineOptions.defaults(), TRT, BROKEN, ort);
        assertEquals(Backend.CPU, e.backend(), "the engine says which backend really runs it");
        assertEquals(List.of(Path.of("net.onnx")), ortOpened, "ONNX Runtime gets the fp32 variant, not TensorRT's fp16 choice");
        assertEquals(1, warnings.size());
        String msg = warnings.get(0).getMessage();
        assertEquals("TensorRT could not open net.fp16.onnx (net.fp16.onnx: input 'pixel_values' has dynamic shape [1,3,-1,-1]; TensorRT"
                + " needs a profile); using ONNX Runtime on the CPU with net.onnx", msg);
        assertTrue(!msg.contains("\n"), "one line");
    }

    @Test
    void linkageErrorsFallBackToo() {
        Engines.TrtOpener missingLib = (f, o, l) -> {
            throw new UnsatisfiedLinkError("no jninvinfer in java.library.path");
        };
        Engine e = Engines.open(variants, EngineOptions.defaults(), TRT, missingLib, ort);
        assertEquals(Backend.CPU, e.backend());
        assertTrue(warnings.get(0).getMessage().contains("UnsatisfiedLinkError: no jninvinfer"), warnings.get(0).getMessage());
    }

    @Test
    void requestedTensorRtPropagatesTheFailure() {
        EngineOptions o = EngineOptions.builder().backend(Backend.TENSORRT).build();
        EngineException e = assertThrows(EngineException.class,
                () -> Engines.open(variants, o, new Engines.Choice(Backend.TENSORRT, "requested"), BROKEN, ort));
        assertTrue(e.getMessage().startsWith("net.fp16.onnx: input 'pixel_values' has dynamic shape"), e.getMessage());
        assertEquals(List.of(), ortOpened);
        assertEquals(List.of(), warnings);
    }

    @Test
    void workingTensorRtIsUsed() {
        Engine trt = new NoRunEngine(Backend.TENSORRT, null);
        List<String> labels = new ArrayList<>();
        Engine e = Engines.open(variants, EngineOptions.defaults(), TRT, (f, o, label) -> {
            labels.add(label);
            return trt;
        }, ort);
        assertSame(trt, e);
        assertEquals(List.of("fp16"), labels);
        assertEquals(List.of(), ortOpened);
        assertEquals(List.of(), warnings);
    }

    @Test
    void cpuChoiceNeverTouchesTensorRt() {
        Engine e = Engines.open(variants, EngineOptions.defaults(), new Engines.Choice(Backend.CPU, "auto: no CUDA device"), BROKEN, ort);
        assertEquals(Backend.CPU, e.backend());
        assertEquals(List.of(), warnings);
    }

    @Test
    void aNetworkWhoseProfilesCannotBeDerivedFallsBackUnderAuto() {
        TensorSpec masks = new TensorSpec("masks", org.ovseg.tensor.ElementType.FLOAT32, new long[] {-1, 64}, java.util.Arrays.asList("queries", null));
        var net = new org.ovseg.bundle.BundleManifest.Network("mask_head", "m.onnx", "0".repeat(64), "fp32", List.of(masks), List.of(), Map.of());
        ProfileHints h = ProfileHints.shortSide(16, 448, 1792, 77, 256, 64);
        List<String> built = new ArrayList<>();
        Engines.TrtOpener trt = (f, o, label) -> { // what open(bundle, role, ...) does, minus TensorRT itself
            Engines.withProfiles(o, net, h);
            built.add(label);
            return new NoRunEngine(Backend.TENSORRT, f);
        };
        assertEquals(Backend.CPU, Engines.open(variants, EngineOptions.defaults(), TRT, trt, ort).backend());
        assertEquals(List.of(), built);
        assertEquals("TensorRT could not open net.fp16.onnx (network 'mask_head': input 'masks' axis 0 ('queries') is dynamic and has no"
                + " size rule; give its profile in bundle.json under networks.mask_head.profiles.masks); using ONNX Runtime on the CPU"
                + " with net.onnx", warnings.get(0).getMessage());
        EngineOptions requested = EngineOptions.builder().backend(Backend.TENSORRT).build();
        assertThrows(EngineException.class, () -> Engines.open(variants, requested, new Engines.Choice(Backend.TENSORRT, "requested"), trt, ort));
    }

    @Test
    void backendNamesForTheJsonAndTheApi() {
        Engine cpu = new NoRunEngine(Backend.CPU, null), gpu = new NoRunEngine(Backend.TENSORRT, null);
        assertEquals("onnxruntime-cpu", Engines.backendName(Map.of("text", cpu, "image", cpu)));
        assertEquals("tensorrt", Engines.backendName(Map.of("image", gpu)));
        Map<String, Engine> mixed = new LinkedHashMap<>();
        mixed.put("text", cpu);
        mixed.put("car_cam", gpu);
        assertEquals("mixed (car_cam: tensorrt, text: onnxruntime-cpu)", Engines.backendName(mixed));
    }

    @Test
    void bundleProfilesBeatOptionsAndDerivation() {
        TensorSpec px = new TensorSpec("pixel_values", org.ovseg.tensor.ElementType.FLOAT32, new long[] {1, 3, -1, -1},
                java.util.Arrays.asList(null, null, "height", "width"));
        TensorSpec ids = new TensorSpec("input_ids", org.ovseg.tensor.ElementType.INT64, new long[] {-1, -1}, List.of("batch", "length"));
        ShapeProfile fromBundle = ShapeProfile.fixed(1, 3, 448, 448), fromOptions = ShapeProfile.fixed(1, 3, 224, 224);
        var net = new org.ovseg.bundle.BundleManifest.Network("image", "i.onnx", "0".repeat(64), "fp32", List.of(px, ids), List.of(),
                Map.of(), Map.of("pixel_values", fromBundle));
        ProfileHints h = ProfileHints.shortSide(16, 448, 1792, 77, 256, 64);
        EngineOptions o = Engines.withProfiles(EngineOptions.builder().profile("pixel_values", fromOptions).build(), net, h);
        assertEquals(fromBundle, o.profiles().get("pixel_values"));
        assertEquals(new ShapeProfile(new long[] {1, 1}, new long[] {64, 77}, new long[] {64, 77}), o.profiles().get("input_ids"));
        var plain = new org.ovseg.bundle.BundleManifest.Network("image", "i.onnx", "0".repeat(64), "fp32", List.of(px), List.of(), Map.of());
        assertEquals(fromOptions, Engines.withProfiles(EngineOptions.builder().profile("pixel_values", fromOptions).build(), plain, h)
                .profiles().get("pixel_values"));
    }
}

package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.api.Labels;
import org.ovseg.api.SegmentationResult;
import org.ovseg.api.Segmenter;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.engine.Digests;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.Backend;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.image.RgbImage;

/**
 * A CaR bundle with fp16 variants, as tools/export/export_car.py now writes it (each network's
 * "variants": {"fp16": ...}): the variant selection the CaR pipeline opens its engines with
 * ({@link Engines#selectVariant}, via {@code Engines.open(bundle, role, ...)}) takes fp16 on
 * TensorRT by default (the official code runs CLIP in fp16 on CUDA) and fp32 on ONNX Runtime's
 * CPU provider, fp32 on TensorRT when asked ({@code --precision fp32}); a CPU run states fp32 for
 * every network in the result. No GPU here: the selection is tested, not TensorRT. The fp16 files
 * are stand-ins (copies of the fp32 graphs): this checks which file is picked, not fp16 arithmetic,
 * which export_car.py checks against fp32 when it writes the real ones.
 */
class CarPrecisionTest {
    private static final List<String> CAR_ROLES = List.of("text", "car_cam", "car_classifier_image", "car_classifier_text");

    @Test
    void fp16OnTensorRtByDefaultFp32OnTheCpu(@TempDir Path tmp) throws Exception {
        Path cache = tmp.resolve("cache");
        Path dir = withFp16Variants(BuiltinBundles.resolve("builtin:colour-world-car", cache), tmp.resolve("car-fp16"));
        ModelBundle bundle = BundleLoader.load(dir);
        assertEquals("car", bundle.manifest().pipeline());
        EngineOptions defaults = EngineOptions.defaults();
        EngineOptions fp32 = EngineOptions.builder().precisionPreference("fp32").build();
        for (String role : CAR_ROLES) {
            Map<String, Path> v = bundle.variantFiles(role);
            assertEquals(List.of("fp32", "fp16"), List.copyOf(v.keySet()), role);
            assertEquals("fp16", Engines.selectVariant(v, Backend.TENSORRT, defaults), role + " on TensorRT");
            assertEquals("fp32", Engines.selectVariant(v, Backend.CPU, defaults), role + " on the CPU");
            assertEquals("fp32", Engines.selectVariant(v, Backend.TENSORRT, fp32), role + " on TensorRT with --precision fp32");
        }
        // An actual CPU run reports the variant it ran for each network.
        try (Segmenter seg = Segmenter.builder().model(dir.toString()).cacheDir(cache).backend(Backend.CPU).build()) {
            RgbImage img = new RgbImage(32, 24, new byte[32 * 24 * 3]);
            SegmentationResult r = seg.segment(img, Labels.of(List.of("red", "blue")));
            assertEquals(Map.of("text", "fp32", "car_cam", "fp32", "car_classifier_image", "fp32", "car_classifier_text", "fp32"),
                    r.precisions());
        }
    }

    /** A copy of {@code src} whose every network lists a "fp16" variant (a copy of its fp32 graph). */
    private static Path withFp16Variants(Path src, Path dst) throws Exception {
        Files.createDirectories(dst);
        try (Stream<Path> files = Files.list(src)) {
            for (Path f : files.toList()) Files.copy(f, dst.resolve(f.getFileName()));
        }
        ObjectMapper json = new ObjectMapper();
        ObjectNode m = (ObjectNode) json.readTree(dst.resolve("bundle.json").toFile());
        var nets = (ObjectNode) m.get("networks");
        for (var it = nets.fields(); it.hasNext();) {
            ObjectNode n = (ObjectNode) it.next().getValue();
            if (n.has("variants") && n.get("variants").has("fp16")) continue; // the demo ships some already
            String file = n.get("file").asText(), f16 = file.replace(".onnx", ".fp16.onnx");
            if (!Files.exists(dst.resolve(f16))) Files.copy(dst.resolve(file), dst.resolve(f16)); // networks may share a file
            n.putObject("variants").putObject("fp16").put("file", f16).put("sha256", Digests.sha256(dst.resolve(f16)));
        }
        json.writerWithDefaultPrettyPrinter().writeValue(dst.resolve("bundle.json").toFile(), m);
        assertTrue(nets.size() >= CAR_ROLES.size(), nets.toString());
        return dst;
    }
}

package org.ovseg.bundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.tensor.ElementType.FLOAT32;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Digests;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.OnnxRuntimeEngine;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.engine.onnx.OnnxModelInfo;
import org.ovseg.engine.onnx.OnnxWriter;
import org.ovseg.tensor.HostTensor;

/**
 * Networks whose weights are ONNX external data (how graphs past protobuf's 2 GiB are stored): the bundle's
 * {@code "data"} field, checked by {@link BundleLoader}, and ONNX Runtime resolving the data file beside the graph.
 * The fixture is y = x·W + b with W [4,3] and b [3] written as external data by {@link OnnxWriter}; the expected
 * outputs come from a plain loop over the same numbers.
 */
class ExternalDataBundleTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final float[] W = {0.5f, -1f, 2f, 1.5f, 0.25f, -0.75f, -2f, 3f, 1f, 0.125f, -0.5f, 4f};
    private static final float[] B = {0.1f, -0.2f, 0.3f};

    /** Holds the bundle folder, so that files a test places "outside the bundle" stay inside the test's own folder. */
    @TempDir
    Path tmp;
    Path dir;
    Path manifest;

    private static GraphBuilder affine() {
        GraphBuilder g = GraphBuilder.create("affine");
        String x = g.input("x", FLOAT32, "batch", 4);
        String w = g.initializer("w", W, 4, 3);
        String b = g.initializer("b", B, 3);
        g.rename(g.add(g.matMul(x, w), b), "y");
        g.output("y", FLOAT32, "batch", 3);
        return g;
    }

    @BeforeEach
    void writeBundle() throws IOException {
        dir = tmp.resolve("bundle");
        Files.createDirectories(dir.resolve("nets"));
        // the graph in a subfolder, its data beside it: locations are relative to the graph, not to bundle.json
        OnnxWriter.writeWithExternalData(affine().build(), dir.resolve("nets/affine.onnx"), "affine.onnx.data");
        OnnxWriter.writeWithExternalData(affine().build(), dir.resolve("affine.fp16.onnx"), "affine.fp16.onnx.data");
        affine().write(dir.resolve("plain.onnx"));
        manifest = dir.resolve("bundle.json");
        Files.writeString(manifest, JSON.writeValueAsString(manifest()));
    }

    private ObjectNode manifest() throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format_version", 1).put("pipeline", "sam").put("family", "test");
        ObjectNode n = m.putObject("networks").putObject("affine");
        n.put("file", "nets/affine.onnx").put("sha256", Digests.sha256(dir.resolve("nets/affine.onnx")));
        n.putObject("data").put("file", "nets/affine.onnx.data").put("sha256", Digests.sha256(dir.resolve("nets/affine.onnx.data")));
        ObjectNode in = n.putArray("inputs").addObject().put("name", "x").put("dtype", "float32");
        in.putArray("shape").add("batch").add(4);
        ObjectNode out = n.putArray("outputs").addObject().put("name", "y").put("dtype", "float32");
        out.putArray("shape").add("batch").add(3);
        ObjectNode v = n.putObject("variants").putObject("fp16");
        v.put("file", "affine.fp16.onnx").put("sha256", Digests.sha256(dir.resolve("affine.fp16.onnx")));
        v.putObject("data").put("file", "affine.fp16.onnx.data").put("sha256", Digests.sha256(dir.resolve("affine.fp16.onnx.data")));
        ObjectNode pre = m.putObject("preprocessing");
        pre.put("size_policy", "long-side").put("size", 64).put("patch_size", 16).put("interpolation", "bilinear")
                .put("pos_embed_interpolation", "none");
        pre.putArray("mean").add(0.5).add(0.5).add(0.5);
        pre.putArray("std").add(0.5).add(0.5).add(0.5);
        return m;
    }

    private ObjectNode net(ObjectNode m) {
        return (ObjectNode) m.get("networks").get("affine");
    }

    private String failure(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode m = manifest();
        edit.accept(m);
        Files.writeString(manifest, JSON.writeValueAsString(m));
        String msg = assertThrows(BundleException.class, () -> BundleLoader.load(dir)).getMessage();
        assertFalse(msg.contains("\n"), msg);
        return msg;
    }

    private static float[] expected(float[] x, int batch) {
        float[] y = new float[batch * 3];
        for (int r = 0; r < batch; r++) {
            for (int c = 0; c < 3; c++) {
                double s = B[c];
                for (int k = 0; k < 4; k++) s += (double) x[r * 4 + k] * W[k * 3 + c];
                y[r * 3 + c] = (float) s;
            }
        }
        return y;
    }

    @Test
    void writerStoresTheWeightsOutsideTheGraph() throws IOException {
        OnnxModelInfo info = OnnxModelInfo.read(dir.resolve("nets/affine.onnx"));
        assertEquals(List.of("affine.onnx.data"), info.externalData());
        assertEquals(4L * (W.length + B.length), Files.size(dir.resolve("nets/affine.onnx.data")));
        assertFalse(OnnxModelInfo.read(dir.resolve("plain.onnx")).hasExternalData());
        // the graph file holds no weight bytes: it is smaller than the data it points at plus the plain graph's header
        assertTrue(Files.size(dir.resolve("nets/affine.onnx")) < Files.size(dir.resolve("plain.onnx")) + 60);
    }

    @Test
    void loadsAndRunsOnOnnxRuntimeWithTheDataBesideTheGraph() {
        ModelBundle b = BundleLoader.load(dir);
        BundleManifest.Network n = b.network("affine");
        assertEquals("nets/affine.onnx.data", n.data().file());
        assertEquals("affine.fp16.onnx.data", n.variants().get("fp16").data().file());
        assertEquals(List.of("bundle.json", "nets/affine.onnx", "nets/affine.onnx.data", "affine.fp16.onnx", "affine.fp16.onnx.data"), b.files());
        float[] x = {1, 2, 3, 4, -1, 0.5f, 0, 2};
        // ORT opened from a working directory that is not the graph's: the data file must be found beside the graph
        assertNotEquals(dir.resolve("nets").toAbsolutePath(), Path.of("").toAbsolutePath());
        for (Path p : b.variantFiles("affine").values()) {
            try (Engine e = OnnxRuntimeEngine.open(p, EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build());
                    HostTensor in = HostTensor.of(x, 2, 4)) {
                Map<String, HostTensor> out = e.run(Map.of("x", in));
                try (HostTensor y = out.get("y")) {
                    assertArrayEquals(expected(x, 2), y.toFloatArray(), 1e-5f, p.toString());
                }
            }
        }
        try (Engine e = Engines.open(b.variantFiles("affine"), EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build());
                HostTensor in = HostTensor.of(x, 2, 4)) {
            try (HostTensor y = e.run(Map.of("x", in)).get("y")) {
                assertArrayEquals(expected(x, 2), y.toFloatArray(), 1e-5f);
            }
        }
    }

    @Test
    void optimisedCopyOfAnExternalDataModelKeepsItsWeightsBesideIt() throws IOException {
        // 16 x 32 floats (2 KiB): above the 1 KiB from which ORT puts an optimised initializer in the data file
        float[] w = new float[16 * 32];
        for (int i = 0; i < w.length; i++) w[i] = ((i * 37) % 11 - 5) * 0.0625f;
        GraphBuilder g = GraphBuilder.create("wide");
        g.rename(g.matMul(g.input("x", FLOAT32, 1, 16), g.initializer("w", w, 16, 32)), "y");
        g.output("y", FLOAT32, 1, 32);
        Path model = tmp.resolve("wide/wide.onnx");
        OnnxWriter.writeWithExternalData(g.build(), model, "wide.onnx.data");
        Path opt = tmp.resolve("opt/wide.opt.onnx");
        Files.createDirectories(opt.getParent());
        EngineOptions o = EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1)
                .graphOptimization(EngineOptions.GraphOptimization.BASIC).optimizedModelPath(opt).build();
        try (Engine e = OnnxRuntimeEngine.open(model, o)) {
            assertEquals(1, e.outputs().size());
        }
        assertEquals(List.of("wide.opt.onnx.data"), OnnxModelInfo.read(opt).externalData(), "optimised weights beside the copy");
        assertTrue(Files.size(opt.resolveSibling("wide.opt.onnx.data")) >= 4L * w.length);
        float[] x = new float[16];
        for (int i = 0; i < 16; i++) x[i] = (i % 5) - 2f;
        float[] want = new float[32];
        for (int c = 0; c < 32; c++) {
            double acc = 0;
            for (int k = 0; k < 16; k++) acc += (double) x[k] * w[k * 32 + c];
            want[c] = (float) acc;
        }
        try (Engine e = OnnxRuntimeEngine.open(opt, EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build());
                HostTensor in = HostTensor.of(x, 1, 16);
                HostTensor y = e.run(Map.of("x", in)).get("y")) {
            assertArrayEquals(want, y.toFloatArray(), 1e-5f);
        }
    }

    @Test
    void dataShaMismatchIsRefused() throws IOException {
        String msg = failure(m -> ((ObjectNode) net(m).get("data")).put("sha256", "0".repeat(64)));
        assertTrue(msg.startsWith(manifest + ": networks.affine.data.sha256: sha256 mismatch for affine.onnx.data: expected " + "0".repeat(64)), msg);
        msg = failure(m -> ((ObjectNode) net(m).get("variants").get("fp16").get("data")).put("sha256", "1".repeat(64)));
        assertTrue(msg.contains("networks.affine.variants.fp16.data.sha256: sha256 mismatch for affine.fp16.onnx.data"), msg);
    }

    @Test
    void changedWeightsAreCaughtEvenThoughTheGraphFileIsUnchanged() throws IOException {
        Path data = dir.resolve("nets/affine.onnx.data");
        byte[] bytes = Files.readAllBytes(data);
        bytes[0] ^= 1;
        Files.write(data, bytes);
        String msg = assertThrows(BundleException.class, () -> BundleLoader.load(dir)).getMessage();
        assertTrue(msg.contains("networks.affine.data.sha256: sha256 mismatch"), msg);
    }

    @Test
    void missingDataFileIsRefused() throws IOException {
        Files.delete(dir.resolve("nets/affine.onnx.data"));
        String msg = assertThrows(BundleException.class, () -> BundleLoader.load(dir)).getMessage();
        assertEquals(manifest + ": networks.affine.data.file: 'nets/affine.onnx.data' does not exist in " + dir.toAbsolutePath().normalize(), msg);
    }

    @Test
    void dataPathsOutsideTheBundleAreRefused() throws IOException {
        Path outside = dir.resolve("../outside.onnx.data").normalize();
        Files.copy(dir.resolve("nets/affine.onnx.data"), outside, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        try {
            assertEquals(manifest + ": networks.affine.data.file: '../outside.onnx.data' points outside the bundle directory",
                    failure(m -> ((ObjectNode) net(m).get("data")).put("file", "../outside.onnx.data")));
            assertEquals(manifest + ": networks.affine.data.file: '" + outside + "' points outside the bundle directory",
                    failure(m -> ((ObjectNode) net(m).get("data")).put("file", outside.toString())));
            assertTrue(failure(m -> ((ObjectNode) net(m).get("variants").get("fp16").get("data")).put("file", "nets/../../outside.onnx.data"))
                    .endsWith("networks.affine.variants.fp16.data.file: 'nets/../../outside.onnx.data' points outside the bundle directory"));
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void aGraphWhoseLocationEscapesTheBundleIsRefused() throws IOException {
        // the graph itself names ../affine.onnx.data (from nets/: the bundle root) — inside; then ../../x — outside
        OnnxWriter.writeWithExternalData(affine().build(), dir.resolve("nets/escape.onnx"), "../../escape.onnx.data");
        Path leaked = dir.resolve("../escape.onnx.data").normalize();
        try {
            String msg = failure(m -> net(m).put("file", "nets/escape.onnx").put("sha256", sha(dir.resolve("nets/escape.onnx"))));
            assertEquals(manifest + ": networks.affine.data: escape.onnx reads its weights from '../../escape.onnx.data', "
                    + "which is not a relative path inside the bundle directory", msg);
        } finally {
            Files.deleteIfExists(leaked);
        }
    }

    @Test
    void dataFieldOnASelfContainedGraphIsRefused() throws IOException {
        String msg = failure(m -> net(m).put("file", "plain.onnx").put("sha256", sha(dir.resolve("plain.onnx"))));
        assertEquals(manifest + ": networks.affine.data: plain.onnx has no external data (its weights are inside it), "
                + "so it takes no data file; remove the field", msg);
    }

    @Test
    void externalDataWithoutADataFieldIsRefused() throws IOException {
        String msg = failure(m -> net(m).remove("data"));
        assertTrue(msg.startsWith(manifest + ": networks.affine.data: missing: affine.onnx keeps its weights in external data "
                + "'affine.onnx.data'"), msg);
    }

    @Test
    void dataFieldNamingAnotherFileIsRefused() throws IOException {
        Files.copy(dir.resolve("nets/affine.onnx.data"), dir.resolve("nets/copy.data"));
        String msg = failure(m -> ((ObjectNode) net(m).get("data")).put("file", "nets/copy.data").put("sha256", sha(dir.resolve("nets/copy.data"))));
        assertEquals(manifest + ": networks.affine.data.file: 'nets/copy.data' is not the file affine.onnx reads its weights from "
                + "('affine.onnx.data', relative to the graph's directory)", msg);
    }

    @Test
    void malformedDataFieldsNameTheField() throws IOException {
        assertEquals(manifest + ": networks.affine.data: must be an object", failure(m -> net(m).put("data", "affine.onnx.data")));
        assertEquals(manifest + ": networks.affine.data.sha256: missing", failure(m -> ((ObjectNode) net(m).get("data")).remove("sha256")));
        assertTrue(failure(m -> ((ObjectNode) net(m).get("data")).put("size", 3)).startsWith(manifest + ": networks.affine.data.size: unknown field"));
    }

    @Test
    void modelDigestCoversTheDataFile() throws IOException {
        Path onnx = dir.resolve("nets/affine.onnx");
        String before = Digests.modelSha256(onnx);
        assertNotEquals(Digests.sha256(onnx), before);
        assertEquals(Digests.sha256(dir.resolve("plain.onnx")), Digests.modelSha256(dir.resolve("plain.onnx")));
        Path data = dir.resolve("nets/affine.onnx.data");
        byte[] bytes = Files.readAllBytes(data);
        bytes[5] ^= 1;
        Files.write(data, bytes);
        Files.setLastModifiedTime(data, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(data).toMillis() + 5000));
        assertNotEquals(before, Digests.modelSha256(onnx));
    }

    @Test
    void modelsCommandListsTheDataFileAndCountsItsSize() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = org.ovseg.cli.Main.run(new String[] {"models", dir.toString()}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, err.toString(StandardCharsets.UTF_8));
        long graph = Files.size(dir.resolve("nets/affine.onnx")) + Files.size(dir.resolve("nets/affine.onnx.data"));
        assertTrue(text.contains("network affine   nets/affine.onnx + nets/affine.onnx.data (fp32, "
                + String.format(java.util.Locale.ROOT, "%.1f MB", graph / 1e6)), text);
        assertTrue(text.contains("files   5,"), text);
    }

    private static String sha(Path p) {
        try {
            return Digests.sha256(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

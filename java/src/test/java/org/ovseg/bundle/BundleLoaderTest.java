package org.ovseg.bundle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.tensor.ElementType.FLOAT32;
import static org.ovseg.tensor.ElementType.INT64;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
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
import org.ovseg.engine.ShapeProfile;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.tensor.HostTensor;

class BundleLoaderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    Path manifest;

    /** image: pixel_values FLOAT32 [1,3,"height","width"] → image_embeds [1,3]; text: input_ids INT64 [-1,77] → eot [-1]. */
    @BeforeEach
    void writeValidBundle() throws IOException {
        GraphBuilder img = GraphBuilder.create("image");
        String px = img.input("pixel_values", FLOAT32, 1, 3, "height", "width");
        img.rename(img.reduceMean(px, new long[] {2, 3}, false), "image_embeds");
        img.output("image_embeds", FLOAT32, 1, 3);
        img.write(dir.resolve("image.onnx"));
        GraphBuilder txt = GraphBuilder.create("text");
        String ids = txt.input("input_ids", INT64, -1, 77);
        txt.rename(txt.argMax(ids, -1, false), "eot");
        txt.output("eot", INT64, -1);
        txt.write(dir.resolve("text.onnx"));
        manifest = dir.resolve("bundle.json");
        write(validManifest());
    }

    private ObjectNode validManifest() throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("format_version", 1).put("pipeline", "maskclip").put("family", "clip-vit-b16");
        ObjectNode nets = m.putObject("networks");
        ObjectNode image = nets.putObject("image");
        image.put("file", "image.onnx").put("sha256", Digests.sha256(dir.resolve("image.onnx")));
        tensor(image.putArray("inputs"), "pixel_values", "float32", 1, 3, "height", "width");
        tensor(image.putArray("outputs"), "image_embeds", "float32", 1, 3);
        ObjectNode text = nets.putObject("text");
        text.put("file", "text.onnx").put("sha256", Digests.sha256(dir.resolve("text.onnx")));
        tensor(text.putArray("inputs"), "input_ids", "int64", -1, 77);
        tensor(text.putArray("outputs"), "eot", "int64", "batch");
        ObjectNode pre = m.putObject("preprocessing");
        pre.put("size_policy", "short-side").put("size", 448).put("patch_size", 16)
                .put("interpolation", "bilinear, align_corners=false").put("pos_embed_interpolation", "bicubic");
        pre.putArray("mean").add(0.48145466).add(0.4578275).add(0.40821073);
        pre.putArray("std").add(0.26862954).add(0.26130258).add(0.27577711);
        ObjectNode t = m.putObject("text");
        t.put("tokenizer", "clip-bpe").put("context_length", 77);
        t.putArray("templates").add("a photo of a {}.").add("a {} in the scene.");
        m.put("embed_dim", 512).put("logit_scale", 100.0);
        m.putObject("defaults").put("bg_threshold", 0.55).put("refine", true).put("crf_iterations", 5);
        return m;
    }

    private static void tensor(ArrayNode arr, String name, String dtype, Object... shape) {
        ObjectNode t = arr.addObject();
        t.put("name", name).put("dtype", dtype);
        ArrayNode s = t.putArray("shape");
        for (Object d : shape) {
            if (d instanceof Integer i) s.add(i);
            else s.add((String) d);
        }
    }

    private void write(ObjectNode m) throws IOException {
        Files.writeString(manifest, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(m));
    }

    private String failure(Consumer<ObjectNode> edit) throws IOException {
        ObjectNode m = validManifest();
        edit.accept(m);
        write(m);
        return assertThrows(BundleException.class, () -> BundleLoader.load(dir)).getMessage();
    }

    private ObjectNode image(ObjectNode m) {
        return (ObjectNode) m.get("networks").get("image");
    }

    @Test
    void fieldNamesWithControlCharactersStayOnOneLine() throws IOException {
        // Found by fuzzing: a key holding a newline was echoed raw into the message.
        assertEquals(manifest + ": networks.image.precisio n: unknown field (allowed: data, file, inputs, outputs, precision, profiles, sha256, variants)",
                failure(m -> image(m).put("precisio\nn", 1)));
    }

    @Test
    void validBundleLoads() {
        ModelBundle b = BundleLoader.load(dir);
        BundleManifest m = b.manifest();
        assertEquals("maskclip", m.pipeline());
        assertEquals(List.of("image", "text"), List.copyOf(m.networks().keySet()));
        assertEquals("height", m.networks().get("image").inputs().get(0).axisNames().get(2));
        assertEquals(-1, m.networks().get("image").inputs().get(0).shape()[2]);
        assertEquals(List.of(0.26862954, 0.26130258, 0.27577711), m.preprocessing().std());
        assertEquals(77, m.text().contextLength());
        assertEquals(0.55, m.defaults().get("bg_threshold"));
        assertEquals(5L, m.defaults().get("crf_iterations"));
        assertEquals(dir.resolve("image.onnx").toAbsolutePath().normalize(), b.networkFile("image"));
        assertEquals(64, b.manifestSha256().length());
        assertTrue(assertThrows(BundleException.class, () -> b.network("mask")).getMessage().contains("roles: image, text"));
    }

    @Test
    void loadedNetworkRunsThroughTheEngineLayer() {
        ModelBundle b = BundleLoader.load(dir);
        try (Engine e = Engines.open(b.variantFiles("image"), EngineOptions.builder().backend(Backend.CPU).intraOpThreads(1).build());
                HostTensor px = HostTensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 1, 3, 2, 2)) {
            Map<String, HostTensor> out = e.run(Map.of("pixel_values", px));
            try (HostTensor emb = out.get("image_embeds")) {
                assertEquals(List.of(2.5f, 6.5f, 10.5f), List.of(emb.toFloatArray()[0], emb.toFloatArray()[1], emb.toFloatArray()[2]));
            }
        }
    }

    @Test
    void missingManifest() throws IOException {
        Files.delete(manifest);
        assertEquals(manifest + ": missing (a bundle directory needs a bundle.json)",
                assertThrows(BundleException.class, () -> BundleLoader.load(dir)).getMessage());
    }

    @Test
    void malformedJsonReportsLineAndColumn() throws IOException {
        Files.writeString(manifest, "{\n  \"format_version\": 1,\n  \"pipeline\": maskclip\n}", StandardCharsets.UTF_8);
        BundleException e = assertThrows(BundleException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().startsWith(manifest + ": malformed JSON at line 3, column "), e.getMessage());
        assertEquals(manifest, e.file());
    }

    @Test
    void duplicateKeysAreMalformed() throws IOException {
        Files.writeString(manifest, "{\"format_version\": 1, \"format_version\": 1}");
        assertTrue(assertThrows(BundleException.class, () -> BundleLoader.load(dir)).getMessage().contains("malformed JSON"));
    }

    @Test
    void newerFormatVersion() throws IOException {
        assertEquals(manifest + ": format_version 2 is newer than this ovseg supports (1)", failure(m -> m.put("format_version", 2)));
    }

    @Test
    void unknownPipeline() throws IOException {
        assertEquals(manifest + ": pipeline: unknown pipeline 'segformer' (known: car, maskclip, odise, ovsegmentor, sam, xdecoder)",
                failure(m -> m.put("pipeline", "segformer")));
    }

    @Test
    void missingAndMistypedFields() throws IOException {
        assertEquals(manifest + ": embed_dim: missing", failure(m -> m.remove("embed_dim")));
        assertEquals(manifest + ": preprocessing.mean: must be an array of 3 numbers (R, G, B)",
                failure(m -> ((ArrayNode) m.get("preprocessing").get("mean")).remove(2)));
        assertEquals(manifest + ": preprocessing.std[1]: must be > 0, got 0.0",
                failure(m -> ((ArrayNode) m.get("preprocessing").get("std")).set(1, 0.0)));
        assertEquals(manifest + ": networks.image.inputs[0].dtype: unknown dtype 'float64' (float32, float16, bfloat16, int32, int64)",
                failure(m -> ((ObjectNode) image(m).get("inputs").get(0)).put("dtype", "float64")));
        assertTrue(failure(m -> m.put("embeds", 3)).startsWith(manifest + ": embeds: unknown field"));
        assertEquals(manifest + ": text.templates[1]: must be a string containing \"{}\" where the label goes",
                failure(m -> ((ArrayNode) m.get("text").get("templates")).set(1, "a photo")));
        assertEquals(manifest + ": preprocessing.size_policy: must be \"short-side\" or \"fixed\", got \"long-side\"",
                failure(m -> ((ObjectNode) m.get("preprocessing")).put("size_policy", "long-side")));
        assertTrue(failure(m -> image(m).put("sha256", "ABC")).startsWith(manifest + ": networks.image.sha256: must be 64 lower-case hex digits"));
    }

    private static ObjectNode profile(ObjectNode network, String input, long[] min, long[] opt, long[] max) {
        ObjectNode p = (network.has("profiles") ? (ObjectNode) network.get("profiles") : network.putObject("profiles")).putObject(input);
        for (String k : new String[] {"min", "opt", "max"}) {
            ArrayNode a = p.putArray(k);
            for (long v : k.equals("min") ? min : k.equals("opt") ? opt : max) a.add(v);
        }
        return p;
    }

    @Test
    void profilesInTheManifestAreParsed() throws IOException {
        ObjectNode m = validManifest();
        profile(image(m), "pixel_values", new long[] {1, 3, 64, 64}, new long[] {1, 3, 448, 448}, new long[] {1, 3, 896, 1792});
        write(m);
        BundleManifest.Network img = BundleLoader.load(dir).manifest().networks().get("image");
        assertEquals(Map.of("pixel_values", new ShapeProfile(new long[] {1, 3, 64, 64}, new long[] {1, 3, 448, 448},
                new long[] {1, 3, 896, 1792})), img.profiles());
        write(validManifest());
        assertEquals(Map.of(), BundleLoader.load(dir).manifest().networks().get("image").profiles());
    }

    @Test
    void malformedProfilesAreOneLineErrors() throws IOException {
        long[] lo = {1, 3, 64, 64}, hi = {1, 3, 896, 896};
        assertEquals(manifest + ": networks.image.profiles.pixel_values: needs min <= opt <= max on every axis, got min [1, 3, 64, 64]"
                + " opt [1, 3, 1024, 1024] max [1, 3, 896, 896]",
                failure(m -> profile(image(m), "pixel_values", lo, new long[] {1, 3, 1024, 1024}, hi)));
        assertEquals(manifest + ": networks.image.profiles.pixel_values.opt: must be an array of 4 sizes (the rank of FLOAT32 [1,3,-1,-1])",
                failure(m -> profile(image(m), "pixel_values", lo, new long[] {1, 3, 448}, hi)));
        assertEquals(manifest + ": networks.image.profiles.pixel_values.max[1]: is 4 but the input's axis is fixed at 3",
                failure(m -> profile(image(m), "pixel_values", lo, lo, new long[] {1, 4, 896, 896})));
        assertEquals(manifest + ": networks.image.profiles.pixel_values.min[2]: must be a size >= 0, got -1",
                failure(m -> profile(image(m), "pixel_values", new long[] {1, 3, -1, 64}, lo, hi)));
        assertEquals(manifest + ": networks.image.profiles.pixels: names no input of this network",
                failure(m -> profile(image(m), "pixels", lo, lo, hi)));
        assertEquals(manifest + ": networks.image.profiles.pixel_values.max: missing",
                failure(m -> profile(image(m), "pixel_values", lo, lo, hi).remove("max")));
        assertTrue(failure(m -> profile(image(m), "pixel_values", lo, lo, hi).put("best", 1))
                .startsWith(manifest + ": networks.image.profiles.pixel_values.best: unknown field"));
        assertEquals(manifest + ": networks.image.profiles: must be an object",
                failure(m -> image(m).put("profiles", 3)));
    }

    @Test
    void missingNetworkFile() throws IOException {
        Files.delete(dir.resolve("text.onnx"));
        BundleException e = assertThrows(BundleException.class, () -> BundleLoader.load(dir));
        assertEquals(manifest + ": networks.text.file: 'text.onnx' does not exist in " + dir.toAbsolutePath().normalize(), e.getMessage());
        assertEquals("networks.text.file", e.field());
    }

    @Test
    void filesMayNotEscapeTheBundle() throws IOException {
        assertEquals(manifest + ": networks.image.file: '../image.onnx' points outside the bundle directory",
                failure(m -> image(m).put("file", "../image.onnx")));
    }

    @Test
    void sha256Mismatch() throws IOException {
        String good = Digests.sha256(dir.resolve("image.onnx"));
        String bad = "0".repeat(64);
        assertEquals(manifest + ": networks.image.sha256: sha256 mismatch for image.onnx: expected " + bad + ", actual " + good
                + " (file changed or corrupt)", failure(m -> image(m).put("sha256", bad)));
    }

    @Test
    void onnxInterfaceMustMatchTheManifest() throws IOException {
        Path onnx = dir.resolve("image.onnx").toAbsolutePath().normalize();
        assertEquals(onnx + ": has no input 'pixels' declared by bundle.json networks.image.inputs (model inputs: pixel_values)",
                failure(m -> ((ObjectNode) image(m).get("inputs").get(0)).put("name", "pixels")));
        assertEquals(onnx + ": input 'pixel_values' is FLOAT32 [1,3,-1,-1] but bundle.json networks.image.inputs[0] declares "
                + "FLOAT16 [1,3,-1,-1]: element type differs",
                failure(m -> ((ObjectNode) image(m).get("inputs").get(0)).put("dtype", "float16")));
        assertEquals(onnx + ": input 'pixel_values' is FLOAT32 [1,3,-1,-1] but bundle.json networks.image.inputs[0] declares "
                + "FLOAT32 [1,3,-1]: rank differs",
                failure(m -> ((ArrayNode) image(m).get("inputs").get(0).get("shape")).remove(3)));
        assertEquals(onnx + ": output 'image_embeds' is FLOAT32 [1,3] but bundle.json networks.image.outputs[0] declares "
                + "FLOAT32 [1,512]: dimension 1 differs",
                failure(m -> ((ArrayNode) image(m).get("outputs").get(0).get("shape")).set(1, 512)));
        assertEquals(onnx + ": has no output 'logits' declared by bundle.json networks.image.outputs (model outputs: image_embeds)",
                failure(m -> ((ObjectNode) image(m).get("outputs").get(0)).put("name", "logits")));
    }

    @Test
    void undeclaredOnnxInputIsAnError() throws IOException {
        GraphBuilder img = GraphBuilder.create("image");
        String px = img.input("pixel_values", FLOAT32, 1, 3, "height", "width");
        img.input("mask", FLOAT32, 1);
        img.rename(img.reduceMean(px, new long[] {2, 3}, false), "image_embeds");
        img.output("image_embeds", FLOAT32, 1, 3);
        img.write(dir.resolve("image.onnx"));
        String msg = failure(m -> { });
        assertTrue(msg.endsWith("input 'mask' (FLOAT32 [1]) is not declared in bundle.json networks.image.inputs"), msg);
    }

    @Test
    void precisionVariantsAreCheckedToo() throws IOException {
        Files.copy(dir.resolve("image.onnx"), dir.resolve("image.fp16.onnx"));
        ObjectNode m = validManifest();
        image(m).putObject("variants").put("fp16", "image.fp16.onnx");
        write(m);
        ModelBundle b = BundleLoader.load(dir);
        assertEquals(List.of("fp32", "fp16"), List.copyOf(b.variantFiles("image").keySet()));
        assertTrue(failure(x -> image(x).putObject("variants").put("fp16", "nope.onnx"))
                .endsWith("networks.image.variants.fp16.file: 'nope.onnx' does not exist in " + dir.toAbsolutePath().normalize()));
    }

    @Test
    void garbageOnnxNamesTheFile() throws IOException {
        Files.write(dir.resolve("text.onnx"), new byte[] {(byte) 0xFF, 0x00});
        String msg = failure(m -> ((ObjectNode) m.get("networks").get("text")).put("sha256", sha(dir.resolve("text.onnx"))));
        assertTrue(msg.startsWith(dir.resolve("text.onnx").toAbsolutePath().normalize() + ": not a readable ONNX model"), msg);
    }

    private static String sha(Path p) {
        try {
            return Digests.sha256(p);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}

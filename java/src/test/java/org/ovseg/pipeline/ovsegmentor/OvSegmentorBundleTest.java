package org.ovseg.pipeline.ovsegmentor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.ProfileHints;
import org.ovseg.pipeline.PipelineOption;
import org.ovseg.pipeline.PipelineOptions;
import org.ovseg.text.TextEmbeddingCache;

/** Bad bundles fail with a one-line BundleException naming the file, field, graph and input; settings resolve as documented. */
class OvSegmentorBundleTest {
    @TempDir
    Path tmp;

    private Path copyOfDemo() throws IOException {
        Path src = BuiltinBundles.resolve("builtin:colour-world-ovseg", tmp.resolve("cache"));
        Path dst = tmp.resolve("bundle");
        Files.createDirectories(dst);
        try (var files = Files.list(src)) {
            for (Path f : files.toList()) Files.copy(f, dst.resolve(f.getFileName()));
        }
        return dst;
    }

    private static OvSegmentorModel open(Path dir) {
        ModelBundle b = BundleLoader.load(dir);
        return OvSegmentorModel.load(b, EngineOptions.defaults(), new TextEmbeddingCache(null), ProfileHints.of(b.manifest()));
    }

    /** Class embeddings go to the disk cache; a fresh model on the same cache reads them back unchanged. */
    @Test
    void textEmbeddingsAreCachedOnDisk() throws IOException {
        Path dir = copyOfDemo();
        Path cacheDir = tmp.resolve("text-cache");
        ModelBundle b = BundleLoader.load(dir);
        var templates = OvSegmentorMethod.settings(b, PipelineOptions.none()).templates();
        float[][] first;
        try (OvSegmentorModel m = OvSegmentorModel.load(b, EngineOptions.defaults(), new TextEmbeddingCache(cacheDir), ProfileHints.of(b.manifest()))) {
            first = m.text().embed(java.util.List.of("red", "sky"), templates);
        }
        try (var files = Files.walk(cacheDir)) {
            assertTrue(files.anyMatch(Files::isRegularFile), "nothing written under " + cacheDir);
        }
        // "a photo of a red." points along red's dim 0 (other words add only small components in dims 8-15).
        assertTrue(first[0][0] > 0.9 && first[0][1] == 0 && first[0][7] == 0, java.util.Arrays.toString(first[0]));
        assertEquals(0f, first[1][0]); // "sky" is no colour
        try (OvSegmentorModel m = OvSegmentorModel.load(b, EngineOptions.defaults(), new TextEmbeddingCache(cacheDir), ProfileHints.of(b.manifest()))) {
            float[][] again = m.text().embed(java.util.List.of("sky", "red"), templates);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first[0], again[1]);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first[1], again[0]);
        }
    }

    @Test
    void missingVocabularyIsABundleExceptionNamingIt() throws IOException {
        Path dir = copyOfDemo();
        Files.delete(dir.resolve("vocab.txt"));
        BundleException e = assertThrows(BundleException.class, () -> open(dir));
        assertTrue(e.getMessage().contains("vocab.txt") && e.getMessage().contains("missing"), e.getMessage());
        assertEquals(dir.resolve("vocab.txt"), e.file());
        assertTrue(!e.getMessage().contains("\n"));
    }

    @Test
    void malformedVocabularyIsABundleException() throws IOException {
        Path dir = copyOfDemo();
        Files.writeString(dir.resolve("vocab.txt"), "[PAD]\n[UNK]\nred\n", StandardCharsets.UTF_8); // no [CLS] / [SEP]
        BundleException e = assertThrows(BundleException.class, () -> open(dir));
        assertEquals("text.tokenizer", e.field(), e.getMessage());
    }

    /** The stage graphs swapped (each consistent with its declaration): the stage-1 role lacks pixel_values. */
    @Test
    void aGraphWithoutTheInputsOfItsRoleIsNamedWithTheInput() throws IOException {
        Path dir = copyOfDemo();
        Path manifest = dir.resolve("bundle.json");
        String json = Files.readString(manifest);
        json = json.replace("\"stage1\"", "\"tmp_role\"").replace("\"stage2\"", "\"stage1\"").replace("\"tmp_role\"", "\"stage2\"");
        Files.writeString(manifest, json);
        BundleException e = assertThrows(BundleException.class, () -> open(dir));
        assertEquals("networks.stage1.inputs", e.field(), e.getMessage());
        assertTrue(e.getMessage().contains("graph 'stage1' has no input 'pixel_values'"), e.getMessage());
    }

    @Test
    void anOnnxFileThatDisagreesWithItsDeclarationIsRefusedOnLoad() throws IOException {
        Path dir = copyOfDemo();
        Path manifest = dir.resolve("bundle.json");
        Files.writeString(manifest, Files.readString(manifest).replace("\"name\" : \"pos_embed\"", "\"name\" : \"positions\""));
        BundleException e = assertThrows(BundleException.class, () -> BundleLoader.load(dir));
        assertTrue(e.getMessage().contains("stage1.onnx") && e.getMessage().contains("positions"), e.getMessage());
    }

    @Test
    void presetsCarryTheOfficialThresholdsAndExplicitOptionsWin() throws IOException {
        ModelBundle b = BundleLoader.load(copyOfDemo());
        OvSegmentorSettings d = OvSegmentorMethod.settings(b, PipelineOptions.none());
        assertEquals(0.95f, d.bgThreshold());
        assertEquals(448, d.window());
        assertEquals(224, d.stride());
        assertEquals(5, d.topK());
        assertEquals(1, d.templates().size());
        assertEquals("a photo of a {}.", d.templates().templates().get(0));
        float[] expected = {0.95f, 0.9f, 0.35f, 0f};
        String[] names = {"voc", "coco", "context", "ade"};
        for (int i = 0; i < names.length; i++) {
            OvSegmentorSettings s = OvSegmentorMethod.settings(b, PipelineOptions.none().with(PipelineOption.PRESET, names[i]));
            assertEquals(expected[i], s.bgThreshold(), names[i]);
            assertEquals(448, s.size().shortSide());
            assertEquals(2048, s.size().longSideMax());
        }
        OvSegmentorSettings o = OvSegmentorMethod.settings(b, PipelineOptions.none().with(PipelineOption.PRESET, "context")
                .with(PipelineOption.BG_THRESHOLD, 0.5f).with(PipelineOption.WINDOW, 224));
        assertEquals(0.5f, o.bgThreshold());
        assertEquals(224, o.window());
        assertEquals(112, o.stride());
        assertThrows(IllegalArgumentException.class, () -> OvSegmentorMethod.settings(b, PipelineOptions.none().with(PipelineOption.PRESET, "kitti")));
        assertThrows(IllegalArgumentException.class, () -> OvSegmentorMethod.settings(b, PipelineOptions.none().with(PipelineOption.BG_THRESHOLD, 1.5f)));
    }
}

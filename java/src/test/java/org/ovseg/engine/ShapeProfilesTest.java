package org.ovseg.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.ovseg.tensor.ElementType.FLOAT32;
import static org.ovseg.tensor.ElementType.INT64;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.ovseg.tensor.ElementType;

/**
 * Profiles derived for the inputs every bundle kind declares (as tools/export writes them:
 * export_clip.py, export_car.py, export_sam.py), against hand-computed ranges.
 */
class ShapeProfilesTest {

    /** A spec from a bundle.json-style shape: Integers fixed, Strings named dynamic axes. */
    private static TensorSpec spec(String name, ElementType t, Object... shape) {
        long[] dims = new long[shape.length];
        String[] axes = new String[shape.length];
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] instanceof Integer n) dims[i] = n;
            else {
                dims[i] = -1;
                axes[i] = (String) shape[i];
            }
        }
        return new TensorSpec(name, t, dims, Arrays.asList(axes));
    }

    private static ShapeProfile p(long[] min, long[] opt, long[] max) {
        return new ShapeProfile(min, opt, max);
    }

    private static long[] l(long... v) {
        return v;
    }

    // MaskCLIP ViT-B/16 at VOC's settings: short side 512, long side <= 2048, patch 16, CLIP context 77.
    private static final ProfileHints VIT = ProfileHints.shortSide(16, 512, 2048, 77, ProfileHints.DEFAULT_MAX_QUERIES, 64);

    @Test
    void maskClipVit() {
        Map<String, ShapeProfile> img = ShapeProfiles.derive(List.of(spec("pixel_values", FLOAT32, 1, 3, "height", "width"),
                spec("pos_embed", FLOAT32, 1, "tokens", 768)), Map.of(), VIT);
        // sides: one patch .. 2048, tuned at 512; tokens: 1 + patches, up to 1 + (512/16)(2048/16) = 4097
        assertEquals(p(l(1, 3, 16, 16), l(1, 3, 512, 512), l(1, 3, 2048, 2048)), img.get("pixel_values"));
        assertEquals(p(l(1, 2, 768), l(1, 1025, 768), l(1, 4097, 768)), img.get("pos_embed"));
        Map<String, ShapeProfile> txt = ShapeProfiles.derive(List.of(spec("input_ids", INT64, "batch", "length")), Map.of(), VIT);
        assertEquals(Map.of("input_ids", p(l(1, 1), l(64, 77), l(64, 77))), txt);
    }

    @Test
    void maskClipRn50() {
        // RN50: no positional-embedding input; stride 32, short side 448, long side 1792
        ProfileHints rn = ProfileHints.shortSide(32, 448, 1792, 77, ProfileHints.DEFAULT_MAX_QUERIES, 64);
        assertEquals(Map.of("pixel_values", p(l(1, 3, 32, 32), l(1, 3, 448, 448), l(1, 3, 1792, 1792))),
                ShapeProfiles.derive(List.of(spec("pixel_values", FLOAT32, 1, 3, "height", "width")), Map.of(), rn));
        // a short side that is not a multiple of the stride is padded up: 500 -> 512, 2000 -> 2016
        ProfileHints odd = ProfileHints.shortSide(32, 500, 2000, 77, 10, 64);
        assertEquals(p(l(1, 3, 32, 32), l(1, 3, 512, 512), l(1, 3, 2016, 2016)),
                ShapeProfiles.derive(List.of(spec("pixel_values", FLOAT32, 1, 3, "height", "width")), Map.of(), odd).get("pixel_values"));
    }

    @Test
    void car() {
        ProfileHints car = ProfileHints.shortSide(16, 448, 1792, 77, 256, 64);
        Map<String, ShapeProfile> cam = ShapeProfiles.derive(List.of(spec("pixel_values", FLOAT32, 1, 3, "height", "width"),
                spec("pos_embed", FLOAT32, 1, "tokens", 768), spec("fg_embeds", FLOAT32, "fg", 512), spec("bg_embeds", FLOAT32, "bg", 512)),
                Map.of(), car);
        assertEquals(p(l(1, 3, 16, 16), l(1, 3, 448, 448), l(1, 3, 1792, 1792)), cam.get("pixel_values"));
        assertEquals(p(l(1, 2, 768), l(1, 1 + 28 * 28, 768), l(1, 1 + 28 * 112, 768)), cam.get("pos_embed"));
        assertEquals(p(l(1, 512), l(8, 512), l(256, 512)), cam.get("fg_embeds"));
        assertEquals(p(l(0, 512), l(8, 512), l(256, 512)), cam.get("bg_embeds"), "CaR may run with no background texts");
        // the prompt classifier: fixed 224x224 crops batched by query, and its own text tower
        assertEquals(Map.of("pixel_values", p(l(1, 3, 224, 224), l(16, 3, 224, 224), l(256, 3, 224, 224))),
                ShapeProfiles.derive(List.of(spec("pixel_values", FLOAT32, "batch", 3, 224, 224)), Map.of(), car));
        assertEquals(Map.of("input_ids", p(l(1, 1), l(64, 77), l(64, 77))),
                ShapeProfiles.derive(List.of(spec("input_ids", INT64, "batch", "length")), Map.of(), car));
    }

    @Test
    void sam() {
        // long-side SAM: the encoder input is fixed; the decoder is batched by point prompts
        ProfileHints sam = new ProfileHints(16, 1024, 1024, 1024, 1024, 64, 77, 256, 64).withPoints(32);
        assertEquals(Map.of("pixel_values", ShapeProfile.fixed(1, 3, 1024, 1024)),
                ShapeProfiles.derive(List.of(spec("pixel_values", FLOAT32, 1, 3, 1024, 1024)), Map.of(), sam));
        Map<String, ShapeProfile> dec = ShapeProfiles.derive(List.of(spec("image_embeddings", FLOAT32, 1, 256, 64, 64),
                spec("point_coords", FLOAT32, "points", 1, 2), spec("point_labels", INT64, "points", 1)), Map.of(), sam);
        assertEquals(ShapeProfile.fixed(1, 256, 64, 64), dec.get("image_embeddings"));
        assertEquals(p(l(1, 1, 2), l(32, 1, 2), l(32, 1, 2)), dec.get("point_coords"));
        assertEquals(p(l(1, 1), l(32, 1), l(32, 1)), dec.get("point_labels"));
        assertEquals(List.of("image_embeddings", "point_coords", "point_labels"), List.copyOf(dec.keySet()), "input order kept");
    }

    @Test
    void givenProfilesWinAndMustHaveTheInputsRank() {
        ShapeProfile mine = p(l(1, 3, 224, 224), l(1, 3, 224, 224), l(1, 3, 640, 640));
        List<TensorSpec> in = List.of(spec("pixel_values", FLOAT32, 1, 3, "height", "width"), spec("pos_embed", FLOAT32, 1, "tokens", 768));
        Map<String, ShapeProfile> got = ShapeProfiles.derive(in, Map.of("pixel_values", mine), VIT);
        assertEquals(mine, got.get("pixel_values"));
        assertEquals(p(l(1, 2, 768), l(1, 1025, 768), l(1, 4097, 768)), got.get("pos_embed"), "the others are still derived");
        EngineException e = assertThrows(EngineException.class,
                () -> ShapeProfiles.derive(in, Map.of("pixel_values", ShapeProfile.fixed(1, 3, 224)), VIT));
        assertEquals("profile of input 'pixel_values' has rank 3, the input FLOAT32 [1,3,-1,-1]", e.getMessage());
    }

    @Test
    void anAxisWithoutARuleNamesTheInputAndTheWayOut() {
        EngineException e = assertThrows(EngineException.class,
                () -> ShapeProfiles.derive(List.of(spec("masks", FLOAT32, "queries", 1, "h", "w")), Map.of(), VIT));
        assertEquals("input 'masks' axis 0 ('queries') is dynamic and has no size rule; give its profile in bundle.json under"
                + " networks.<role>.profiles.masks", e.getMessage());
        e = assertThrows(EngineException.class, () -> ShapeProfiles.derive(List.of(TensorSpec.of("x", FLOAT32, 1, -1)), Map.of(), VIT));
        assertEquals("input 'x' axis 1 (unnamed) is dynamic and has no size rule; give its profile in bundle.json under"
                + " networks.<role>.profiles.x", e.getMessage());
    }

    @Test
    void hintsFromABundleManifest() {
        org.ovseg.bundle.BundleManifest.Preprocessing pre = new org.ovseg.bundle.BundleManifest.Preprocessing("short-side", 448, 1792,
                List.of(0.5, 0.5, 0.5), List.of(0.5, 0.5, 0.5), 16, 14, 768, "bilinear", "bicubic", "zero");
        org.ovseg.bundle.BundleManifest m = new org.ovseg.bundle.BundleManifest(1, "maskclip", "clip-vit-b16", Map.of(), Map.of(), pre,
                new org.ovseg.bundle.BundleManifest.Text("clip-bpe", 77, List.of(), "imagenet-80"), 512, 100, Map.of());
        assertEquals(new ProfileHints(16, 16, 448, 1792, 448, 64, 77, 256, 64), ProfileHints.of(m));
        assertEquals(new ProfileHints(16, 16, 1024, 4096, 1024, 64, 77, 256, 64), ProfileHints.of(m).withShortSide(1024, 4096));
        org.ovseg.bundle.BundleManifest fixed = new org.ovseg.bundle.BundleManifest(1, "sam", "sam", Map.of(), Map.of(),
                new org.ovseg.bundle.BundleManifest.Preprocessing("long-side", 1024, 1024, pre.mean(), pre.std(), 16, 64, 256, "bilinear",
                        "none", "zero"), null, 0, 0, Map.of("points_per_batch", 48L));
        assertEquals(new ProfileHints(16, 1024, 1024, 1024, 1024, 64, 77, 256, 48), ProfileHints.of(fixed));
    }
}

package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Engine;
import org.ovseg.engine.TensorSpec;
import org.ovseg.image.RgbImage;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * The Grad-CAM arithmetic and wiring around a known network: activations that mark the left and
 * right halves of the grid in two channels, gradients that point at one channel per query, and
 * identity attention (so CLIP-ES only applies its boxes). A query whose CAM is all zero with the
 * background texts is recomputed without them, as CaR does.
 */
class GradCamProposalsTest {
    static final int W = 64, H = 48, PATCH = 16, D = 4, GRID = 2;

    final List<Integer> backgroundSizes = new ArrayList<>();
    final List<int[]> grids = new ArrayList<>();

    final Engine fake = new Engine() {
        @Override
        public Backend backend() {
            return Backend.CPU;
        }

        @Override
        public List<TensorSpec> inputs() {
            return List.of();
        }

        @Override
        public List<TensorSpec> outputs() {
            return List.of();
        }

        @Override
        public Map<String, HostTensor> run(Map<String, HostTensor> in) {
            int gh = (int) in.get("pixel_values").dim(2) / PATCH, gw = (int) in.get("pixel_values").dim(3) / PATCH, P = gh * gw;
            assertEquals(1 + P, in.get("pos_embed").dim(1));
            int fg = (int) in.get("fg_embeds").dim(0), bg = (int) in.get("bg_embeds").dim(0);
            backgroundSizes.add(bg);
            grids.add(new int[] {gw, gh});
            float[] fgRows = in.get("fg_embeds").toFloatArray();
            float[] a = new float[P * D], g = new float[fg * P * D], att = new float[P * P];
            for (int p = 0; p < P; p++) {
                a[p * D + (p % gw < gw / 2 ? 0 : 1)] = 1f;
                att[p * P + p] = 1f;
            }
            for (int f = 0; f < fg; f++) {
                int channel = fgRows[f * 2] > 0.5f ? 0 : fgRows[f * 2 + 1] > 0.5f ? 1 : -1; // embedding (1,0) = left, (0,1) = right
                for (int p = 0; p < P; p++) {
                    if (channel >= 0) g[(f * P + p) * D + channel] = 1f;
                    else if (bg == 0) g[(f * P + p) * D + 1] = 1f; // "unknown" lights up the right half only without background
                }
            }
            Map<String, HostTensor> out = new LinkedHashMap<>();
            out.put("activations", HostTensor.of(a, 1, P, D));
            out.put("gradients", HostTensor.of(g, fg, 1, P, D));
            out.put("attention", HostTensor.of(att, 1, P, P));
            return out;
        }

        @Override
        public void run(Map<String, HostTensor> in, Map<String, HostTensor> out) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void close() {}
    };

    @Test
    void camsFollowTheGradientWeightedActivations() {
        GradCamProposals.TextEmbeddings text = texts -> texts.stream().map(t -> switch (t) {
            case "left" -> new float[] {1, 0};
            case "right" -> new float[] {0, 1};
            default -> new float[] {0.3f, 0.3f};
        }).toArray(float[][]::new);
        float[] pos = new float[(1 + GRID * GRID) * D];
        GradCamProposals g = new GradCamProposals(fake, text, pos, GRID, PATCH, D, new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.25f, 0.25f, 0.25f}, 0.4f);
        RgbImage img = new RgbImage(W, H, new byte[W * H * 3]);
        float[][] maps = g.propose(img, List.of("left", "right", "unknown"), List.of("sky"));
        assertEquals(3, maps.length);
        assertEquals(W * H, maps[0].length);
        // Grid 4x3; boxes clamp the last column and row away (official quirk), so only the
        // kept cells keep mass: "left" covers grid columns 0-1, "right" column 2 (3 is clamped);
        // x = 40 samples the grid at column 2.03, so it blends in 3% of the empty column 3.
        assertTrue(maps[0][10 * W + 5] > 0.99f, "left map on the left: " + maps[0][10 * W + 5]);
        assertTrue(maps[0][10 * W + 60] < 0.01f, "left map on the right: " + maps[0][10 * W + 60]);
        assertTrue(maps[1][10 * W + 40] > 0.95f, "right map at grid column 2: " + maps[1][10 * W + 40]);
        assertTrue(maps[1][10 * W + 5] < 0.01f);
        assertEquals(List.of(1, 0), backgroundSizes, "one run, then a rerun without background for the all-zero query");
        assertTrue(maps[2][10 * W + 40] > 0.95f, "the recomputed query is not empty");
    }

    /**
     * A 2500×1700 image would need a 157×107 grid (16,799 patches: 1.1 GB of attention per
     * block); the network runs on the largest grid of its aspect within {@link
     * GradCamProposals#MAX_PATCHES} and the maps still come back at the image's size.
     */
    @Test
    void largeImagesRunOnACappedGrid() {
        GradCamProposals.TextEmbeddings text = texts -> texts.stream().map(t -> t.equals("left") ? new float[] {1, 0} : new float[] {0, 1})
                .toArray(float[][]::new);
        float[] pos = new float[(1 + GRID * GRID) * D];
        GradCamProposals g = new GradCamProposals(fake, text, pos, GRID, PATCH, D, new float[] {0.5f, 0.5f, 0.5f},
                new float[] {0.25f, 0.25f, 0.25f}, 0.4f);
        int w = 2500, h = 1700;
        float[][] maps = g.propose(new RgbImage(w, h, new byte[w * h * 3]), List.of("left", "right"), List.of());
        int[] grid = grids.get(0);
        assertTrue(grid[0] * grid[1] <= GradCamProposals.MAX_PATCHES, grid[0] + "x" + grid[1]);
        assertTrue((grid[0] + 1) * (grid[1] + 1) > GradCamProposals.MAX_PATCHES, "the largest grid that fits: " + grid[0] + "x" + grid[1]);
        assertEquals(157.0 / 107, (double) grid[0] / grid[1], 0.03, "aspect kept");
        assertEquals(w * h, maps[0].length);
        assertTrue(maps[0][(h / 2) * w + 100] > 0.99f && maps[0][(h / 2) * w + w - 300] < 0.01f, "left map");
        assertTrue(maps[1][(h / 2) * w + w - 300] > 0.95f && maps[1][(h / 2) * w + 100] < 0.01f, "right map");
        int[] small = g.grid(500, 375); // PASCAL VOC's size: the official ceil grid, unchanged
        assertEquals(32, small[0]);
        assertEquals(24, small[1]);
    }
}

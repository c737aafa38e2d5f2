package org.ovseg.pipeline.odise;

import java.util.ArrayList;
import java.util.List;

/**
 * ODISE's slide inference of the diffusion backbone on a padded image: square crops of side
 * {@code crop = min(backboneSize, min(H, W))} taken with stride = crop, the last row and column
 * shifted back to end at the border; each crop's features are summed into the full-size map
 * and divided by how many crops covered each cell (FeatureExtractorBackbone.slide_forward).
 */
public record SlideTiling(int height, int width, int crop, List<Tile> tiles) {
    /** One crop: top-left corner in padded-image pixels; its side is {@link #crop()}. */
    public record Tile(int y, int x) {}

    /** Copies the list. */
    public SlideTiling {
        tiles = List.copyOf(tiles);
    }

    /**
     * @param height padded image height (a multiple of 64 in ODISE)
     * @param width padded image width
     * @param backboneSize the backbone's native input side (512 for Stable Diffusion v1)
     */
    public static SlideTiling of(int height, int width, int backboneSize) {
        if (height <= 0 || width <= 0 || backboneSize <= 0) throw new IllegalArgumentException("sizes must be positive");
        int crop = Math.min(backboneSize, Math.min(height, width));
        int rows = Math.max(height - crop + crop - 1, 0) / crop + 1;
        int cols = Math.max(width - crop + crop - 1, 0) / crop + 1;
        List<Tile> tiles = new ArrayList<>();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int y2 = Math.min(r * crop + crop, height), x2 = Math.min(c * crop + crop, width);
                tiles.add(new Tile(Math.max(y2 - crop, 0), Math.max(x2 - crop, 0)));
            }
        }
        return new SlideTiling(height, width, crop, tiles);
    }

    /** Sums tiles' feature maps at one stride and divides by the count map. */
    public static final class Accumulator {
        private final int channels, h, w, stride;
        private final float[] sum;
        private final int[] count;

        /**
         * @param stride the feature map's stride (crop and image sides are multiples of it)
         */
        public Accumulator(SlideTiling tiling, int channels, int stride) {
            if (tiling.height % stride != 0 || tiling.width % stride != 0 || tiling.crop % stride != 0) {
                throw new IllegalArgumentException("stride " + stride + " does not divide " + tiling.height + "x" + tiling.width + " / crop " + tiling.crop);
            }
            this.channels = channels;
            this.h = tiling.height / stride;
            this.w = tiling.width / stride;
            this.stride = stride;
            this.sum = new float[channels * h * w];
            this.count = new int[h * w];
        }

        /** Adds one tile's features [channels, crop/stride, crop/stride], starting at {@code off} in {@code f}. */
        public void add(Tile t, float[] f, int off, int cropSide) {
            int s = cropSide / stride, y0 = t.y() / stride, x0 = t.x() / stride;
            for (int c = 0; c < channels; c++) {
                for (int y = 0; y < s; y++) {
                    int src = off + (c * s + y) * s, dst = (c * h + y0 + y) * w + x0;
                    for (int x = 0; x < s; x++) sum[dst + x] += f[src + x];
                }
            }
            for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) count[(y0 + y) * w + x0 + x]++;
        }

        /** @return the averaged map [channels, h, w] */
        public float[] average() {
            float[] out = new float[sum.length];
            for (int c = 0; c < channels; c++) {
                for (int p = 0; p < h * w; p++) {
                    if (count[p] == 0) throw new IllegalStateException("cell " + p + " covered by no tile");
                    out[c * h * w + p] = sum[c * h * w + p] / count[p];
                }
            }
            return out;
        }

        /** @return map height */
        public int height() {
            return h;
        }

        /** @return map width */
        public int width() {
            return w;
        }
    }
}

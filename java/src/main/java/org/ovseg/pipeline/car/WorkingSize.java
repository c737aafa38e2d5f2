package org.ovseg.pipeline.car;

import org.ovseg.image.RgbImage;

/**
 * The resolution CaR's recurrence and CRF run at: the image's own up to {@code maxPixels}, else
 * the largest size of the same aspect ratio within it. DEVIATION from the official code, which
 * runs at the image's size: the CRF's permutohedral lattice takes ~170 bytes per pixel (17 GB at
 * 100 MP) and the proposal maps Q·H·W floats, so a large photo would meet the OOM killer instead
 * of giving an answer. Images are reduced by area averaging (no aliasing) and the labels brought
 * back by nearest neighbour: labels are what the CRF and the painting produce, and bilinear
 * marginals at full size would cost the L·H·W floats the bound exists to avoid.
 *
 * @param width image width
 * @param height image height
 * @param workWidth working width (≤ width)
 * @param workHeight working height (≤ height)
 */
public record WorkingSize(int width, int height, int workWidth, int workHeight) {
    /** Checks the sizes. */
    public WorkingSize {
        if (width <= 0 || height <= 0 || workWidth <= 0 || workHeight <= 0 || workWidth > width || workHeight > height) {
            throw new IllegalArgumentException("bad working size " + workWidth + "x" + workHeight + " for " + width + "x" + height);
        }
    }

    /**
     * @param maxPixels the most pixels the working size may hold (≥ 1)
     * @return the image's size when it fits, else the largest w×h ≤ maxPixels with the image's aspect
     */
    public static WorkingSize of(int width, int height, long maxPixels) {
        if (maxPixels < 1) throw new IllegalArgumentException("maxPixels must be >= 1, is " + maxPixels);
        if ((long) width * height <= maxPixels) return new WorkingSize(width, height, width, height);
        double s = Math.sqrt((double) maxPixels / ((double) width * height));
        int w = Math.max(1, (int) Math.floor(width * s)), h = Math.max(1, (int) Math.floor(height * s));
        while ((long) w * h > maxPixels) { // rounding of s; shrink the longer side
            if (w >= h) w--;
            else h--;
        }
        return new WorkingSize(width, height, w, h);
    }

    /** @return whether the working size is the image's own */
    public boolean isIdentity() {
        return workWidth == width && workHeight == height;
    }

    /** @return the working-size image: each pixel the area average of the source pixels it covers */
    public RgbImage downscale(RgbImage image) {
        if (image.width() != width || image.height() != height) {
            throw new IllegalArgumentException("image is " + image.width() + "x" + image.height() + ", expected " + width + "x" + height);
        }
        if (isIdentity()) return image;
        byte[] src = image.rgb();
        Taps tx = Taps.of(width, workWidth), ty = Taps.of(height, workHeight);
        byte[] out = new byte[workWidth * workHeight * 3];
        double[] row = new double[workWidth * 3], acc = new double[workWidth * 3];
        for (int oy = 0; oy < workHeight; oy++) {
            java.util.Arrays.fill(acc, 0);
            for (int k = 0; k < ty.count[oy]; k++) {
                int sy = ty.first[oy] + k;
                double wy = ty.weight[oy][k];
                java.util.Arrays.fill(row, 0);
                long base = (long) sy * width * 3;
                for (int ox = 0; ox < workWidth; ox++) {
                    for (int j = 0; j < tx.count[ox]; j++) {
                        int p = (int) (base + (long) (tx.first[ox] + j) * 3);
                        double wx = tx.weight[ox][j];
                        for (int c = 0; c < 3; c++) row[ox * 3 + c] += wx * (src[p + c] & 0xff);
                    }
                }
                for (int i = 0; i < row.length; i++) acc[i] += wy * row[i];
            }
            for (int i = 0; i < acc.length; i++) out[oy * workWidth * 3 + i] = (byte) Math.min(255, Math.max(0, Math.round(acc[i])));
        }
        return new RgbImage(workWidth, workHeight, out);
    }

    /**
     * @param labels [workHeight·workWidth]
     * @return [height·width]: each pixel takes the label of the working pixel its centre falls in
     */
    public int[] upsampleLabels(int[] labels) {
        if (labels.length != workWidth * workHeight) {
            throw new IllegalArgumentException("labels hold " + labels.length + " values, expected " + workWidth + "x" + workHeight);
        }
        if (isIdentity()) return labels;
        int[] sx = new int[width];
        for (int x = 0; x < width; x++) sx[x] = Math.min(workWidth - 1, (int) ((x + 0.5) * workWidth / width));
        int[] out = new int[Math.multiplyExact(width, height)];
        for (int y = 0; y < height; y++) {
            int row = Math.min(workHeight - 1, (int) ((y + 0.5) * workHeight / height)) * workWidth, o = y * width;
            for (int x = 0; x < width; x++) out[o + x] = labels[row + sx[x]];
        }
        return out;
    }

    /** Area-average taps along one axis: output i covers source [i·in/out, (i+1)·in/out). */
    private record Taps(int[] first, int[] count, double[][] weight) {
        static Taps of(int in, int out) {
            int[] first = new int[out], count = new int[out];
            double[][] weight = new double[out][];
            double scale = (double) in / out;
            for (int i = 0; i < out; i++) {
                double a = i * scale, b = Math.min(in, (i + 1) * scale);
                int s = (int) Math.floor(a), e = Math.min(in, (int) Math.ceil(b));
                first[i] = s;
                count[i] = e - s;
                weight[i] = new double[e - s];
                for (int j = s; j < e; j++) weight[i][j - s] = (Math.min(b, j + 1) - Math.max(a, j)) / scale;
            }
            return new Taps(first, count, weight);
        }
    }
}

package org.ovseg.pipeline.sam;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.tensor.HostTensor;

/**
 * Segment Anything's automatic mask generator on a "sam" bundle (tools/export/export_sam.py),
 * with the semantics of segment-anything's {@code SamAutomaticMaskGenerator} for one crop (its
 * default {@code crop_n_layers = 0}):
 * <ol>
 *   <li>the image is resized so its long side is the bundle's size (1024; the short side is
 *       {@code int(side·1024/long + 0.5)}), bilinearly, normalised and zero-padded bottom-right;
 *       the encoder {@code sam_image} runs once;
 *   <li>prompts: an n × n grid of points at ((i + ½)/n) of the image, x fastest, each a single
 *       foreground click; the decoder {@code sam_decoder} runs over them in batches and returns three
 *       masks per point (multimask output) as 256² logits and a predicted IoU each;
 *   <li>each mask's logits are upsampled bilinearly to 1024², cropped to the resized image and
 *       upsampled bilinearly to the image size (half-pixel centres, as {@code F.interpolate});
 *   <li>filters: predicted IoU &gt; predIouThreshold; stability score = |logits &gt; t + offset| /
 *       |logits &gt; t − offset| ≥ stabilityScoreThreshold (t = the mask threshold, 0); the mask is
 *       logits &gt; t;
 *   <li>box NMS: boxes are the masks' inclusive XYXY bounds; greedy by predicted IoU (descending,
 *       ties by generation order), IoU with areas (x1−x0)(y1−y0) as torchvision computes them,
 *       suppression when IoU &gt; boxNmsThreshold. The result is in NMS order.
 * </ol>
 * Not ported: crops ({@code crop_n_layers &gt; 0}) and {@code min_mask_region_area} (both off by
 * default and in CaR). Owns its two engines; {@link #close()} releases them. {@link #generate} is
 * thread-safe.
 */
public final class SamAutomaticMasks implements AutoCloseable {
    private final Engine image, decoder;
    private final SamOptions options;
    private final int size, lowRes, channels, grid;
    private final float[] mean, std;
    private final float maskThreshold;

    private SamAutomaticMasks(Engine image, Engine decoder, SamOptions options, int size, int lowRes, int channels, int grid,
            float[] mean, float[] std, float maskThreshold) {
        this.image = image;
        this.decoder = decoder;
        this.options = options;
        this.size = size;
        this.lowRes = lowRes;
        this.channels = channels;
        this.grid = grid;
        this.mean = mean;
        this.std = std;
        this.maskThreshold = maskThreshold;
    }

    /**
     * Opens the two networks of a "sam" bundle.
     *
     * @throws BundleException when the bundle is not a "sam" bundle or its interface is not SAM's
     */
    public static SamAutomaticMasks open(ModelBundle bundle, EngineOptions engineOptions, SamOptions options) {
        BundleManifest m = bundle.manifest();
        java.nio.file.Path manifest = bundle.dir().resolve(BundleLoader.MANIFEST);
        if (!m.pipeline().equals("sam")) {
            throw new BundleException(manifest, "pipeline", "is '" + m.pipeline() + "', not 'sam' (export one with tools/export/export_sam.py)");
        }
        BundleManifest.Preprocessing pre = m.preprocessing();
        if (!pre.sizePolicy().equals("long-side")) throw new BundleException(manifest, "preprocessing.size_policy", "must be \"long-side\" for SAM");
        long[] emb = bundle.network("sam_decoder").inputs().get(0).shape();
        long[] low = bundle.network("sam_decoder").outputs().get(0).shape();
        if (emb.length != 4 || emb[1] <= 0 || emb[2] <= 0 || emb[2] != emb[3] || low.length != 4 || low[2] <= 0 || low[2] != low[3]) {
            throw new BundleException(manifest, "networks.sam_decoder", "expects image_embeddings [1,C,E,E] and low_res_masks [points,3,L,L]");
        }
        Object t = m.defaults().get("mask_threshold");
        float threshold = t instanceof Number n ? n.floatValue() : 0f;
        float[] mean = floats(pre.mean()), std = floats(pre.std());
        Engine img = null, dec = null;
        try {
            org.ovseg.engine.ProfileHints hints = org.ovseg.engine.ProfileHints.of(m).withPoints(options.pointsPerBatch());
            img = Engines.open(bundle, "sam_image", engineOptions, hints);
            dec = Engines.open(bundle, "sam_decoder", engineOptions, hints);
            return new SamAutomaticMasks(img, dec, options, pre.size(), (int) low[2], (int) emb[1], (int) emb[2], mean, std, threshold);
        } catch (RuntimeException e) {
            if (img != null) img.close();
            if (dec != null) dec.close();
            throw e;
        }
    }

    private static float[] floats(List<Double> l) {
        return new float[] {l.get(0).floatValue(), l.get(1).floatValue(), l.get(2).floatValue()};
    }

    /** @return network role → backend that runs it ("onnxruntime-cpu" or "tensorrt") */
    public java.util.Map<String, String> backends() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("image", org.ovseg.pipeline.SegmentationPipeline.backendLabel(image));
        m.put("decoder", org.ovseg.pipeline.SegmentationPipeline.backendLabel(decoder));
        return m;
    }

    /** @return the settings masks are generated with */
    public SamOptions options() {
        return options;
    }

    /** Automatic masks with this generator's options. */
    public List<SamMask> generate(RgbImage img) {
        return generate(img, options);
    }

    /**
     * Automatic masks of one image.
     *
     * @return the masks that pass the filters and NMS, best predicted IoU first
     */
    public List<SamMask> generate(RgbImage img, SamOptions opts) {
        int W = img.width(), H = img.height();
        int[] hw = preprocessShape(H, W, size);
        int nh = hw[0], nw = hw[1];
        float[] resized = Resampling.resizeNormalize(img.rgb(), W, H, nw, nh, mean, std);
        float[] px = new float[3 * size * size];
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < nh; y++) System.arraycopy(resized, (c * nh + y) * nw, px, (c * size + y) * size, nw);
        }
        Upsampler up = new Upsampler(lowRes, size, nh, nw, H, W);
        double[][] points = pointGrid(opts.pointsPerSide(), W, H);
        List<SamMask> kept = new ArrayList<>();
        Map<String, HostTensor> encOut = null;
        try (HostTensor pixels = HostTensor.of(px, 1, 3, size, size)) {
            encOut = image.run(Map.of("pixel_values", pixels));
            HostTensor embeddings = encOut.get("image_embeddings");
            for (int s = 0; s < points.length; s += opts.pointsPerBatch()) {
                int n = Math.min(opts.pointsPerBatch(), points.length - s);
                float[] coords = new float[2 * n];
                long[] labels = new long[n];
                for (int i = 0; i < n; i++) {
                    coords[2 * i] = (float) (points[s + i][0] * ((double) nw / W));
                    coords[2 * i + 1] = (float) (points[s + i][1] * ((double) nh / H));
                    labels[i] = 1;
                }
                float[] logits, iou;
                Map<String, HostTensor> in = new HashMap<>();
                Map<String, HostTensor> out = null;
                try {
                    in.put("image_embeddings", embeddings);
                    in.put("point_coords", HostTensor.of(coords, n, 1, 2));
                    in.put("point_labels", HostTensor.of(labels, n, 1));
                    out = decoder.run(in);
                    logits = out.get("low_res_masks").toFloatArray();
                    iou = out.get("iou_predictions").toFloatArray();
                } finally {
                    for (Map.Entry<String, HostTensor> e : in.entrySet()) if (e.getValue() != embeddings) e.getValue().close();
                    if (out != null) out.values().forEach(HostTensor::close);
                }
                int masksPerPoint = iou.length / n, plane = lowRes * lowRes;
                final int base = s;
                SamMask[] batch = new SamMask[n * masksPerPoint];
                IntStream.range(0, batch.length).parallel().forEach(k -> {
                    double[] pt = points[base + k / masksPerPoint];
                    batch[k] = candidate(logits, k * plane, iou[k], up, opts, maskThreshold, pt[0], pt[1]);
                });
                for (SamMask c : batch) if (c != null) kept.add(c);
            }
        } finally {
            if (encOut != null) encOut.values().forEach(HostTensor::close);
        }
        int[][] boxes = new int[kept.size()][];
        float[] scores = new float[kept.size()];
        for (int i = 0; i < boxes.length; i++) {
            boxes[i] = kept.get(i).box();
            scores[i] = kept.get(i).predictedIou();
        }
        List<SamMask> result = new ArrayList<>();
        for (int i : nms(boxes, scores, opts.boxNmsThreshold())) result.add(kept.get(i));
        return result;
    }

    /**
     * Upsamples one candidate (the low-res logits at {@code low[offset ..]}), scores it, and returns
     * it when it passes both filters, else null. The predicted-IoU filter is checked first, so a
     * candidate it drops is never upsampled (the filters are a conjunction, so the result is the same).
     */
    static SamMask candidate(float[] low, int offset, float iou, Upsampler up, SamOptions o, float threshold,
            double px, double py) {
        if (o.predIouThreshold() > 0 && !(iou > (float) o.predIouThreshold())) return null;
        int W = up.W, H = up.H;
        long[] bits = new long[(W * H + 63) >>> 6];
        float hiT = (float) (threshold + o.stabilityScoreOffset()), loT = (float) (threshold - o.stabilityScoreOffset());
        long inter = 0, union = 0, area = 0;
        int x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
        float[] row = new float[W];
        Upsampler.Rows cache = up.rows();
        for (int y = 0; y < H; y++) {
            up.row(low, offset, y, cache, row);
            int rowStart = y * W;
            for (int x = 0; x < W; x++) {
                float v = row[x];
                if (v > hiT) inter++;
                if (v > loT) union++;
                if (v > threshold) {
                    int p = rowStart + x;
                    bits[p >>> 6] |= 1L << (p & 63);
                    area++;
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    y1 = y;
                }
            }
        }
        float stability = stabilityScore(inter, union);
        if (o.stabilityScoreThreshold() > 0 && !(stability >= (float) o.stabilityScoreThreshold())) return null;
        int[] box = area == 0 ? new int[4] : new int[] {x0, y0, x1, y1};
        return new SamMask(W, H, bits, area, iou, stability, box, px, py);
    }

    /**
     * segment-anything's stability score from its two counts (float division, as torch divides
     * int tensors): NaN when nothing is above the lower threshold, so that the filter drops it.
     */
    public static float stabilityScore(long intersections, long unions) {
        return (float) intersections / (float) unions;
    }

    /** The stability score of full-resolution logits. */
    public static float stabilityScore(float[] logits, float threshold, float offset) {
        long inter = 0, union = 0;
        float hi = threshold + offset, lo = threshold - offset;
        for (float v : logits) {
            if (v > hi) inter++;
            if (v > lo) union++;
        }
        return stabilityScore(inter, union);
    }

    /**
     * segment-anything's {@code get_preprocess_shape}: the long side scaled to {@code longSide},
     * each side rounded as {@code int(side·scale + 0.5)}.
     *
     * @return {newHeight, newWidth}
     */
    public static int[] preprocessShape(int h, int w, int longSide) {
        double scale = longSide * 1.0 / Math.max(h, w);
        return new int[] {(int) (h * scale + 0.5), (int) (w * scale + 0.5)};
    }

    /**
     * The prompt grid, in image pixels: n × n points at ((i + ½)/n)·(W, H), x fastest
     * (segment-anything's {@code build_point_grid} scaled by the image size).
     */
    public static double[][] pointGrid(int n, int W, int H) {
        double off = 1.0 / (2 * n);
        double[] side = new double[n];
        for (int i = 0; i < n; i++) side[i] = n == 1 ? off : i == n - 1 ? 1 - off : off + i * ((1 - off - off) / (n - 1));
        double[][] pts = new double[n * n][];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) pts[i * n + j] = new double[] {side[j] * W, side[i] * H};
        return pts;
    }

    /** @return the inclusive XYXY box of a row-major mask, zeros when it is empty */
    public static int[] box(boolean[] mask, int W, int H) {
        int x0 = Integer.MAX_VALUE, y0 = Integer.MAX_VALUE, x1 = -1, y1 = -1;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                if (!mask[y * W + x]) continue;
                x0 = Math.min(x0, x);
                x1 = Math.max(x1, x);
                y0 = Math.min(y0, y);
                y1 = y;
            }
        }
        return x1 < 0 ? new int[4] : new int[] {x0, y0, x1, y1};
    }

    /**
     * Greedy box NMS as torchvision's {@code nms}: boxes in descending score order (ties: lower
     * index first), a box is dropped when its IoU with a kept one is above {@code threshold}; areas
     * are (x1 − x0)·(y1 − y0) in float (so a one-pixel-wide box has area 0, and a NaN IoU never
     * suppresses).
     *
     * @param boxes {x0, y0, x1, y1} each
     * @return indices of the kept boxes, best score first
     */
    public static int[] nms(int[][] boxes, float[] scores, double threshold) {
        int n = boxes.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Float.compare(scores[b], scores[a])); // stable: ties keep index order
        float[] area = new float[n];
        for (int i = 0; i < n; i++) area[i] = (float) (boxes[i][2] - boxes[i][0]) * (float) (boxes[i][3] - boxes[i][1]);
        boolean[] removed = new boolean[n];
        int[] keep = new int[n];
        int k = 0;
        for (int a = 0; a < n; a++) {
            int i = order[a];
            if (removed[i]) continue;
            keep[k++] = i;
            int[] bi = boxes[i];
            for (int c = a + 1; c < n; c++) {
                int j = order[c];
                if (removed[j]) continue;
                int[] bj = boxes[j];
                float w = Math.max(0f, (float) Math.min(bi[2], bj[2]) - (float) Math.max(bi[0], bj[0]));
                float h = Math.max(0f, (float) Math.min(bi[3], bj[3]) - (float) Math.max(bi[1], bj[1]));
                float inter = w * h;
                float iou = inter / (area[i] + area[j] - inter);
                if (iou > threshold) removed[j] = true;
            }
        }
        return Arrays.copyOf(keep, k);
    }

    /**
     * The two bilinear resizes of SAM's mask post-processing, fused row by row: low-res logits
     * (L × L) → size × size (only the first nh rows and nw columns, the resized image) → H × W.
     * Weights as PyTorch computes them for {@code F.interpolate(mode="bilinear",
     * align_corners=False)}: source = (in/out)·(i + ½) − ½ in float, clamped at 0, lower index =
     * its integer part, upper = lower + 1 unless at the edge, λ = source − lower.
     */
    static final class Upsampler {
        final int L, H, W, nw;
        final Taps y1, x1, y2, x2;

        Upsampler(int low, int size, int nh, int nw, int H, int W) {
            this.L = low;
            this.H = H;
            this.W = W;
            this.nw = nw;
            y1 = Taps.of(low, size, nh);
            x1 = Taps.of(low, size, nw);
            y2 = Taps.of(nh, H, H);
            x2 = Taps.of(nw, W, W);
        }

        /** Two cached rows of the intermediate (size-frame) image. */
        static final class Rows {
            final int[] index = {-1, -1};
            final float[][] data;

            Rows(int width) {
                data = new float[][] {new float[width], new float[width]};
            }
        }

        Rows rows() {
            return new Rows(nw);
        }

        private float[] mid(float[] low, int offset, int r, Rows c, int protect) {
            for (int s = 0; s < 2; s++) if (c.index[s] == r) return c.data[s];
            int s = c.index[0] == protect ? 1 : c.index[1] == protect ? 0 : (c.index[0] <= c.index[1] ? 0 : 1);
            float[] d = c.data[s];
            int a = offset + y1.lo[r] * L, b = offset + y1.hi[r] * L;
            float h0 = y1.w0[r], h1 = y1.w1[r];
            for (int x = 0; x < nw; x++) {
                int l = x1.lo[x], u = x1.hi[x];
                float w0 = x1.w0[x], w1 = x1.w1[x];
                d[x] = (low[a + l] * w0 + low[a + u] * w1) * h0 + (low[b + l] * w0 + low[b + u] * w1) * h1;
            }
            c.index[s] = r;
            return d;
        }

        /** Output row y (H × W frame) into {@code out}. */
        void row(float[] low, int offset, int y, Rows c, float[] out) {
            int r0 = y2.lo[y], r1 = y2.hi[y];
            float[] m0 = mid(low, offset, r0, c, -1);
            float[] m1 = mid(low, offset, r1, c, r0);
            float h0 = y2.w0[y], h1 = y2.w1[y];
            for (int x = 0; x < W; x++) {
                int l = x2.lo[x], u = x2.hi[x];
                float w0 = x2.w0[x], w1 = x2.w1[x];
                out[x] = (m0[l] * w0 + m0[u] * w1) * h0 + (m1[l] * w0 + m1[u] * w1) * h1;
            }
        }
    }

    /** Interpolation taps of one axis: in → out samples, of which the first {@code count} are needed. */
    record Taps(int[] lo, int[] hi, float[] w0, float[] w1) {
        static Taps of(int in, int out, int count) {
            int[] lo = new int[count], hi = new int[count];
            float[] w0 = new float[count], w1 = new float[count];
            float scale = (float) in / (float) out;
            for (int i = 0; i < count; i++) {
                float src = scale * (i + 0.5f) - 0.5f;
                if (src < 0) src = 0;
                int l = Math.min((int) src, in - 1);
                lo[i] = l;
                hi[i] = l < in - 1 ? l + 1 : l;
                float lambda = Math.min(Math.max(src - l, 0f), 1f);
                w1[i] = lambda;
                w0[i] = 1f - lambda;
            }
            return new Taps(lo, hi, w0, w1);
        }
    }

    /** @return the image-embedding grid side (64 for SAM) */
    public int embeddingGrid() {
        return grid;
    }

    /** @return the image-embedding channel count (256 for SAM) */
    public int embeddingChannels() {
        return channels;
    }

    @Override
    public void close() {
        try {
            image.close();
        } finally {
            decoder.close();
        }
    }
}

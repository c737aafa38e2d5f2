package org.ovseg.pipeline.car;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.OvsegException;
import org.ovseg.engine.Engine;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * CaR's proposal generator: Grad-CAM of CLIP ViT-B/16 refined with CLIP-ES, one map per query.
 * <ol>
 *   <li>the image resized bicubically to a multiple of the patch size (ceil), CLIP-normalised;
 *       positional embeddings resized bilinearly to the grid (as CaR does, unlike MaskCLIP);
 *   <li>the bundle's {@code car_cam} graph gives the last block's ln_1 activations a, the
 *       gradients ∂p_f/∂a of each query's softmax probability over [queries; background], and
 *       the last blocks' head-averaged attention;
 *   <li>cam_f = ReLU(Σ_c mean_p(∂p_f/∂a_c) · a_c), min-max normalised; a query whose map is all
 *       zero is recomputed without background texts;
 *   <li>CLIP-ES refinement on the grid, min-max, bilinear resize to the image size.
 * </ol>
 * Text embeddings are supplied by the caller (unit-norm rows), so this class runs no text
 * encoder. Thread-safe if the engine is.
 */
public final class GradCamProposals {
    /** Unit-norm text embeddings for a list of texts. */
    public interface TextEmbeddings {
        float[][] embed(List<String> texts);
    }

    private final Engine cam;
    private final TextEmbeddings text;
    private final float[] positionalEmbedding;
    private final int grid;
    private final int patch;
    private final int width;
    private final float[] mean;
    private final float[] std;
    private final float clipEsThreshold;
    private final long memoryBudget;

    /**
     * Bytes one foreground query adds to a Grad-CAM run, per token²: the graph's batched backward
     * keeps about four [heads, T, T] float tensors per query — 12 heads for ViT-B/16 (measured:
     * 20 queries at 513², T = 1090, peaked at ~8 GB with ONNX Runtime's arena off).
     */
    static final long BYTES_PER_QUERY_PER_TOKEN2 = 4L * 12 * 4;

    /** As below, with no memory budget: all queries in one run. */
    public GradCamProposals(Engine cam, TextEmbeddings text, float[] positionalEmbedding, int grid, int patch, int width,
            float[] mean, float[] std, float clipEsThreshold) {
        this(cam, text, positionalEmbedding, grid, patch, width, mean, std, clipEsThreshold, 0);
    }

    /**
     * @param cam the {@code car_cam} network (inputs pixel_values, pos_embed, fg_embeds, bg_embeds)
     * @param positionalEmbedding [1 + grid², width], class position first
     * @param memoryBudget bytes the batched backward may take (estimated with
     *     {@link #BYTES_PER_QUERY_PER_TOKEN2}); more queries than fit run in chunks, the others
     *     joining the background texts — the softmax is over the same texts, so the maps are the
     *     same, at the cost of one more forward pass per chunk. 0 = no limit.
     */
    public GradCamProposals(Engine cam, TextEmbeddings text, float[] positionalEmbedding, int grid, int patch, int width,
            float[] mean, float[] std, float clipEsThreshold, long memoryBudget) {
        if (memoryBudget < 0) throw new IllegalArgumentException("memory budget must be >= 0, is " + memoryBudget);
        this.memoryBudget = memoryBudget;
        this.cam = cam;
        this.text = text;
        this.positionalEmbedding = positionalEmbedding;
        this.grid = grid;
        this.patch = patch;
        this.width = width;
        this.mean = mean.clone();
        this.std = std.clone();
        this.clipEsThreshold = clipEsThreshold;
    }

    /**
     * The most patches the network runs on (64² = 1024² pixels at patch 16): its attention
     * outputs and CLIP-ES's affinity grow as patches² (8 blocks · 4096² floats = 0.5 GB here), and
     * the ViT's own attention as tokens² per query. DEVIATION: larger images are resized to the
     * largest grid of their aspect ratio within it (the official code runs the ViT at the image's
     * size; PASCAL VOC's images give at most ~1000 patches, well within).
     */
    public static final int MAX_PATCHES = 64 * 64;

    /** @return the patch grid {gw, gh} the network runs on for a width × height image */
    int[] grid(int width, int height) {
        int gw = (width + patch - 1) / patch, gh = (height + patch - 1) / patch;
        if ((long) gw * gh <= MAX_PATCHES) return new int[] {gw, gh};
        double s = Math.sqrt((double) MAX_PATCHES / ((double) gw * gh));
        int a = Math.max(1, (int) (gw * s)), b = Math.max(1, (int) (gh * s));
        while ((long) a * b > MAX_PATCHES) {
            if (a >= b) a--;
            else b--;
        }
        return new int[] {a, b};
    }

    /** @return [queries][H·W] maps in [0, 1] at the image's size */
    public float[][] propose(RgbImage image, List<String> queries, List<String> background) {
        int[] g = grid(image.width(), image.height());
        int gw = g[0], gh = g[1];
        int w = gw * patch, h = gh * patch;
        float[] pixels = pixels(image, w, h);
        float[] pos = bilinearPositions(gh, gw);
        float[][] fg = text.embed(queries), bg = background.isEmpty() ? new float[0][] : text.embed(background);
        Outputs o = runChunked(pixels, w, h, pos, gh * gw, fg, bg);
        float[][] maps = new float[queries.size()][];
        List<Integer> empty = new ArrayList<>();
        for (int f = 0; f < queries.size(); f++) {
            maps[f] = gradCam(o, f, gh * gw);
            if (isZero(maps[f])) empty.add(f);
        }
        if (!empty.isEmpty() && bg.length > 0) {
            Outputs again = runChunked(pixels, w, h, pos, gh * gw, fg, new float[0][]);
            for (int f : empty) maps[f] = gradCam(again, f, gh * gw);
        }
        float[][] out = new float[queries.size()][];
        double[] affinity = ClipEsRefinement.affinity(o.attention, gh * gw);
        for (int f = 0; f < queries.size(); f++) {
            float[] refined = ClipEsRefinement.refine(maps[f], gh, gw, affinity, clipEsThreshold);
            // Normalised on the grid, then resized (CaR's scale_cam_image order).
            out[f] = Resampling.resizePlanes(refined, 1, gw, gh, image.width(), image.height());
        }
        return out;
    }

    /**
     * Network outputs of one run, the gradients already reduced to Grad-CAM's channel weights (the
     * full [fg, P, D] gradients would be fg·P·D floats: 1.9 GB for 150 labels at 64² patches).
     *
     * @param weights [fg][D]: mean over patches of ∂p_f/∂a
     */
    record Outputs(float[] activations, double[][] weights, List<float[]> attention) {}

    /** @return how many foreground queries one run may take at P patches (at least 1) */
    int queriesPerRun(int P) {
        if (memoryBudget == 0) return Integer.MAX_VALUE;
        long tokens = P + 1L;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, memoryBudget / (BYTES_PER_QUERY_PER_TOKEN2 * tokens * tokens)));
    }

    /**
     * All queries' gradients, in runs of at most {@link #queriesPerRun}: run k takes queries
     * [a, b) as foreground and the other queries plus {@code bg} as background.
     */
    private Outputs runChunked(float[] pixels, int w, int h, float[] pos, int P, float[][] fg, float[][] bg) {
        int chunk = queriesPerRun(P);
        if (fg.length <= chunk) return run(pixels, w, h, pos, P, fg, bg, true);
        double[][] weights = new double[fg.length][];
        Outputs first = null;
        for (int a = 0; a < fg.length; a += chunk) {
            int b = Math.min(fg.length, a + chunk);
            float[][] others = new float[fg.length - (b - a) + bg.length][];
            int k = 0;
            for (int i = 0; i < fg.length; i++) if (i < a || i >= b) others[k++] = fg[i];
            for (float[] t : bg) others[k++] = t;
            Outputs o = run(pixels, w, h, pos, P, java.util.Arrays.copyOfRange(fg, a, b), others, first == null);
            System.arraycopy(o.weights(), 0, weights, a, b - a);
            if (first == null) first = o;
        }
        return new Outputs(first.activations(), weights, first.attention());
    }

    private Outputs run(float[] pixels, int w, int h, float[] pos, int P, float[][] fg, float[][] bg, boolean wantAttention) {
        Map<String, HostTensor> in = new HashMap<>();
        Map<String, HostTensor> out = null;
        try {
            in.put("pixel_values", HostTensor.of(pixels, 1, 3, h, w));
            in.put("pos_embed", HostTensor.of(pos, 1, 1 + P, width));
            in.put("fg_embeds", rows(fg));
            in.put("bg_embeds", bg.length == 0 ? HostTensor.zeros(ElementType.FLOAT32, 0, fg[0].length) : rows(bg));
            out = cam.run(in);
            HostTensor a = out.get("activations"), g = out.get("gradients"), att = out.get("attention");
            if (a == null || g == null || att == null) throw new OvsegException("car_cam graph lacks activations/gradients/attention outputs");
            List<float[]> blocks = new ArrayList<>();
            if (wantAttention) {
                java.nio.FloatBuffer all = att.floatBuffer();
                int n = (int) att.dim(0);
                for (int b = 0; b < n; b++) {
                    float[] block = new float[P * P];
                    all.get(b * P * P, block); // P ≤ MAX_PATCHES: P² fits an int
                    blocks.add(block);
                }
            }
            return new Outputs(a.toFloatArray(), channelWeights(g.floatBuffer(), fg.length, P), blocks);
        } finally {
            in.values().forEach(HostTensor::close);
            if (out != null) out.values().forEach(HostTensor::close);
        }
    }

    /** mean_p(g[f, p, c]) for each query f, from the graph's [fg, 1, P, D] gradients. */
    private double[][] channelWeights(java.nio.FloatBuffer g, int fg, int P) {
        int D = width;
        double[][] weights = new double[fg][D];
        float[] row = new float[D];
        for (int f = 0; f < fg; f++) {
            for (int p = 0; p < P; p++) {
                g.get((f * P + p) * D, row); // one chunk's tensor: its size fits an int (HostTensor.byteSize)
                for (int c = 0; c < D; c++) weights[f][c] += row[c];
            }
            for (int c = 0; c < D; c++) weights[f][c] /= P;
        }
        return weights;
    }

    private static HostTensor rows(float[][] r) {
        float[] flat = new float[r.length * r[0].length];
        for (int i = 0; i < r.length; i++) System.arraycopy(r[i], 0, flat, i * r[0].length, r[0].length);
        return HostTensor.of(flat, r.length, r[0].length);
    }

    /** cam = ReLU(Σ_c mean_p(g_c) · a_c), then (x − min)/(1e-15 + max(x − min)). */
    float[] gradCam(Outputs o, int f, int P) {
        int D = width;
        double[] weights = o.weights[f];
        double[] cam = new double[P];
        for (int p = 0; p < P; p++) {
            double s = 0;
            for (int c = 0; c < D; c++) s += weights[c] * o.activations[p * D + c];
            cam[p] = Math.max(0, s);
        }
        return ClipEsRefinement.minMax(cam);
    }

    private static boolean isZero(float[] m) {
        for (float v : m) if (v != 0f) return false;
        return true;
    }

    /** Planar [3, h, w]: bicubic resize of the 0..1 image (PyTorch semantics), then CLIP normalisation. */
    private float[] pixels(RgbImage image, int w, int h) {
        float[] src = new float[image.width() * image.height() * 3];
        byte[] rgb = image.rgb();
        for (int i = 0; i < src.length; i++) src[i] = (rgb[i] & 0xff) / 255f;
        float[] resized = Bicubic.resizeChannelsLast(src, image.height(), image.width(), 3, h, w);
        float[] out = new float[3 * h * w];
        for (int p = 0; p < h * w; p++) for (int c = 0; c < 3; c++) out[c * h * w + p] = (resized[p * 3 + c] - mean[c]) / std[c];
        return out;
    }

    /** [1 + gh·gw, D]: class row kept, the grid resized bilinearly (align_corners=false). */
    private float[] bilinearPositions(int gh, int gw) {
        int D = width;
        float[] planes = new float[D * grid * grid];
        for (int p = 0; p < grid * grid; p++) for (int c = 0; c < D; c++) planes[c * grid * grid + p] = positionalEmbedding[(1 + p) * D + c];
        float[] up = Resampling.resizePlanes(planes, D, grid, grid, gw, gh);
        float[] out = new float[(1 + gh * gw) * D];
        System.arraycopy(positionalEmbedding, 0, out, 0, D);
        for (int p = 0; p < gh * gw; p++) for (int c = 0; c < D; c++) out[(1 + p) * D + c] = up[c * gh * gw + p];
        return out;
    }
}

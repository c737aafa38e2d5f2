package org.ovseg.pipeline.maskclip;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.ovseg.OvsegException;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.kernel.DenseHead;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.pipeline.common.EncoderMemory;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.pipeline.common.StageTimer;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.TextEmbedder;

/**
 * MaskCLIP (Zhou, Loy and Dai, ECCV 2022): dense labels from a frozen CLIP, no training.
 * <ol>
 *   <li>Class embeddings: every label through every prompt template, normalised and averaged.
 *   <li>The image rescaled (short side 512), normalised; for ViT zero-padded to a multiple of the
 *       patch (the official PatchEmbed's corner padding); for ResNet not padded (the official
 *       ResNetClip: the stride-2 stem and four 2×2 average pools floor the grid).
 *   <li>The encoder's dense features: for ViT, the last block's attention replaced by its value
 *       path (x + out_proj(v_proj(ln_1 x)), then the MLP, then ln_post), with positional
 *       embeddings resized bicubically to the patch grid; for ResNet, the map before the
 *       attention pool.
 *   <li>The dense head: z = W f + b (ViT: the CLIP projection; ResNet: the pool's value and output
 *       projections, folded), cosine with each class embedding — one fused native kernel.
 *   <li>Optional prompt denoising and key smoothing (off in MaskCLIP's official configs); the keys
 *       are the last block's (ViT) or the attention pool's k projection (ResNet).
 *   <li>Logits resized bilinearly to the rescaled size, then to the original size; argmax.
 * </ol>
 * Whole-image inference by default; a sliding window averages overlapping crops like mmseg.
 *
 * <p>Thread-safety: {@link #segment} may be called concurrently if the model's engines allow it
 * (ONNX Runtime's do).
 *
 * <p>The dense head's weights are packed for the native kernels once, when the pipeline is made
 * ({@link DenseHead}); that native memory is freed by {@link #close()}, after which
 * {@link #segment} refuses to run. The model itself stays the caller's to close.
 */
public final class MaskClipPipeline implements AutoCloseable {
    private final MaskClipModel model;
    private final MaskClipOptions options;
    // Exactly one of these is set: the prepared head (the default), or W and b for the per-call
    // kernel (kept for tests that compare the two).
    private final DenseHead head;
    private final FloatBuffer headW;
    private final FloatBuffer headBias;
    private volatile boolean closed;
    private final Map<Long, float[]> positionCache = new ConcurrentHashMap<>();
    private final EncoderMemory encoderMemory;
    private final FamilyHead family;

    /** @param model loaded networks and head; owned by the caller */
    public MaskClipPipeline(MaskClipModel model, MaskClipOptions options) {
        this(model, options, null);
    }

    /**
     * @param family how a MaskCLIP-family method re-runs the last block (owned by the caller), or
     *     null for MaskCLIP itself
     */
    MaskClipPipeline(MaskClipModel model, MaskClipOptions options, FamilyHead family) {
        this(model, options, family, true);
    }

    /**
     * @param preparedHead pack the dense head's weights once ({@link DenseHead}); false runs the
     *     per-call kernel, which repacks them for every crop (same results bit for bit)
     */
    MaskClipPipeline(MaskClipModel model, MaskClipOptions options, FamilyHead family, boolean preparedHead) {
        if ((family == null) != (options.method() == FamilyMethod.MASKCLIP)) {
            throw new IllegalArgumentException("--method " + options.method().cliName() + " needs its last-block head");
        }
        this.family = family;
        this.model = model;
        this.options = options;
        if (model.headWeight().length != model.embedDim() * model.width()) {
            throw new OvsegException("dense head weight has " + model.headWeight().length + " values, expected "
                    + model.embedDim() + "·" + model.width());
        }
        if (model.headBias() != null && model.headBias().length != model.embedDim()) {
            throw new OvsegException("dense head bias has " + model.headBias().length + " values, expected " + model.embedDim());
        }
        this.encoderMemory = EncoderMemory.forEngine(model.image(), model.positionInput() != null, model.patch(), model.width());
        encoderMemory.checkSmallest(options.size(), options.window());
        FloatBuffer w = direct(model.headWeight());
        FloatBuffer b = model.headBias() == null ? null : direct(model.headBias());
        // Last, so that nothing after it can throw and leak the native head.
        this.head = preparedHead ? DenseHead.prepare(w, b, model.embedDim(), model.width()) : null;
        this.headW = preparedHead ? null : w;
        this.headBias = preparedHead ? null : b;
    }

    /** @return whether the dense head's weights were packed once (the default) rather than per call */
    boolean preparedHead() {
        return head != null;
    }

    /** @return the options this pipeline runs with */
    public MaskClipOptions options() {
        return options;
    }

    /** Checks labels against the text context before any work (fails fast, names the label). */
    public void validateLabels(List<String> labels) {
        model.text().checkFits(labels, options.templates());
    }

    /** Segments one image into {@code labels}. */
    public MaskClipOutput segment(RgbImage image, List<String> labels) {
        if (closed) throw new IllegalStateException("this MaskCLIP pipeline is closed");
        if (labels.isEmpty()) throw new OvsegException("no labels given");
        encoderMemory.check(options.size(), options.window(), image.width(), image.height());
        StageTimer timer = new StageTimer();
        timer.start("text");
        int K = labels.size();
        float[] textRows = TextEmbedder.flatten(model.text().embed(labels, options.templates()));
        // Per-call native buffers are HostTensors, freed when the call ends rather than at a GC.
        try (HostTensor text = HostTensor.of(textRows, Math.max(1, K), textRows.length / Math.max(1, K))) {
            return segment(image, K, text.floatBuffer(), timer);
        }
    }

    private MaskClipOutput segment(RgbImage image, int K, FloatBuffer T, StageTimer timer) {

        timer.start("preprocess");
        int[] size = options.size().apply(image.width(), image.height());
        int rw = size[0], rh = size[1];
        float[] mean = options.normalization() != null ? options.normalization().mean() : model.mean();
        float[] std = options.normalization() != null ? options.normalization().std() : model.std();
        float[] chw = Resampling.resizeNormalize(image.rgb(), image.width(), image.height(), rw, rh, mean, std);

        int ow = image.width(), oh = image.height();
        int[] labelsOut = new int[ow * oh];
        float[] scores = new float[ow * oh];
        float[] logits = options.keepLogits() || options.pamr() ? new float[K * ow * oh] : null;
        if (options.window() == 0) {
            Grid g = runCrop(chw, rw, rh, 0, 0, rw, rh, T, K, mean, std, timer);
            timer.start("upsample+argmax");
            Resampling.upsampleTwiceArgmax(g.logits, K, g.w, g.h, rw, rh, ow, oh, labelsOut, scores, logits);
        } else {
            float[] canvas = slide(chw, rw, rh, T, K, mean, std, timer);
            timer.start("upsample+argmax");
            Resampling.upsampleTwiceArgmax(canvas, K, rw, rh, rw, rh, ow, oh, labelsOut, scores, logits);
        }
        if (options.pamr()) {
            timer.start("pamr");
            pamr(chw, rw, rh, ow, oh, logits, K, labelsOut, scores);
        }
        return new MaskClipOutput(ow, oh, labelsOut, scores, options.keepLogits() ? logits : null, timer.millis());
    }

    /** PAMR's settings in NACLIP (pamr_steps=10, pamr_stride=(8, 16)); SCLIP's configs use the same when on. */
    static final int PAMR_ITERATIONS = 10;
    static final int[] PAMR_DILATIONS = {8, 16};

    /**
     * NACLIP's PAMR step: the normalised rescaled image resized bilinearly to the original size
     * guides the refinement of the logits there; labels and scores are taken again afterwards.
     */
    private static void pamr(float[] chw, int rw, int rh, int ow, int oh, float[] logits, int K, int[] labels, float[] scores) {
        float[] guide = Resampling.resizePlanes(chw, 3, rw, rh, ow, oh);
        int n = ow * oh;
        try (HostTensor img = HostTensor.of(guide, 3, oh, ow); HostTensor m = HostTensor.of(logits, K, oh, ow)) {
            CpuKernels.pamr(img.floatBuffer(), 3, oh, ow, m.floatBuffer(), K, PAMR_DILATIONS, PAMR_ITERATIONS);
            m.floatBuffer().get(0, logits);
        }
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int k = 1; k < K; k++) if (logits[k * n + i] > logits[best * n + i]) best = k;
            labels[i] = best;
            scores[i] = logits[best * n + i];
        }
    }

    /** Logits on one crop's patch grid. */
    private record Grid(float[] logits, int w, int h) {}

    private Grid runCrop(float[] chw, int W, int H, int x0, int y0, int cw, int ch, FloatBuffer T, int K,
            float[] mean, float[] std, StageTimer timer) {
        int p = model.patch();
        boolean resnet = model.positionInput() == null;
        int gw = resnet ? resnetGrid(cw) : (cw + p - 1) / p, gh = resnet ? resnetGrid(ch) : (ch + p - 1) / p;
        int pw = resnet ? cw : gw * p, ph = resnet ? ch : gh * p;
        if (gw == 0 || gh == 0) {
            throw new OvsegException("a " + cw + "x" + ch + " crop is too small for the ResNet encoder (each side needs at least 31 pixels)");
        }
        int P = gw * gh, D = model.width(), E = model.embedDim();
        Map<String, HostTensor> inputs = new HashMap<>();
        Map<String, HostTensor> outputs = null;
        FamilyHead.Features fam = null;
        try {
            HostTensor pixels = HostTensor.zeros(org.ovseg.tensor.ElementType.FLOAT32, 1, 3, ph, pw);
            inputs.put(model.imageInput(), pixels);
            FloatBuffer px = pixels.floatBuffer();
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < ch; y++) {
                    px.put((c * ph + y) * pw, chw, (c * H + y0 + y) * W + x0, cw);
                }
            }
            if (model.positionInput() != null) {
                float[] pos = positionCache.computeIfAbsent(((long) gh << 32) | gw, k ->
                        Bicubic.vitPositionalEmbedding(model.positionalEmbedding(), model.positionGrid(), D, gh, gw));
                inputs.put(model.positionInput(), HostTensor.of(pos, 1, 1 + P, D));
            }
            timer.start("image encoder");
            outputs = model.image().run(inputs);
            HostTensor feats = outputs.get(model.featuresOutput());
            if (feats == null || feats.elementCount() != (long) P * D) {
                throw new OvsegException("image encoder output '" + model.featuresOutput() + "' is "
                        + (feats == null ? "missing" : feats.describe()) + ", expected [1, " + P + ", " + D + "]");
            }
            int outW = gw, outH = gh;
            if (family != null) {
                timer.start(options.method().cliName() + " last block");
                HostTensor last = outputs.get(FamilyHead.LAST_INPUT);
                if (last == null || last.elementCount() != (long) (1 + P) * D) {
                    throw new OvsegException("image encoder output '" + FamilyHead.LAST_INPUT + "' is "
                            + (last == null ? "missing" : last.describe()) + ", expected [1, " + (1 + P) + ", " + D + "]");
                }
                fam = family.run(last, gw, gh, pixels, pw, ph, new org.ovseg.pipeline.common.Normalization("crop", mean, std));
                feats = fam.features();
                outW = fam.gw();
                outH = fam.gh();
            }
            int Q = outW * outH;
            timer.start("dense head");
            float[] logits = new float[K * Q];
            try (HostTensor out = HostTensor.zeros(org.ovseg.tensor.ElementType.FLOAT32, K, Q)) {
                if (head != null) head.project(feats.floatBuffer(), 1, Q, T, K, model.logitScale(), out.floatBuffer(), null, null);
                else CpuKernels.denseProjection(feats.floatBuffer(), 1, Q, D, headW, headBias, E, T, K, model.logitScale(), out.floatBuffer(), null, null);
                out.floatBuffer().get(0, logits);
            }
            if (options.promptDenoising() > 0) promptDenoise(logits, K, P, options.promptDenoising());
            if (options.keySmoothing() > 0) {
                HostTensor keys = model.keysOutput() == null ? null : outputs.get(model.keysOutput());
                if (keys == null) throw new OvsegException("key smoothing needs the encoder's dense keys; this model exports none "
                        + "(re-export it with tools/export/export_clip.py: ResNet bundles gained dense_keys)");
                keySmooth(logits, K, P, keys.toFloatArray(), D, options.keySmoothing());
            }
            return new Grid(logits, outW, outH);
        } finally {
            inputs.values().forEach(HostTensor::close);
            if (outputs != null) outputs.values().forEach(HostTensor::close);
            if (fam != null) fam.features().close();
        }
    }

    /**
     * Feature-grid side of CLIP's ModifiedResNet on an unpadded input side: the stride-2 3×3 stem
     * conv (padding 1) gives ceil(side/2), the stem's and layers 2–4's 2×2 average pools each
     * floor-halve it.
     */
    static int resnetGrid(int side) {
        return ((side + 1) / 2) / 16;
    }

    /** mmseg's slide inference: crops of window², stride apart, the last ones flush with the edge. */
    private float[] slide(float[] chw, int W, int H, FloatBuffer T, int K, float[] mean, float[] std, StageTimer timer) {
        int win = options.window(), stride = options.stride();
        int cw = Math.min(win, W), ch = Math.min(win, H);
        int nx = Math.max(W - cw + stride - 1, 0) / stride + 1, ny = Math.max(H - ch + stride - 1, 0) / stride + 1;
        float[] canvas = new float[K * H * W];
        int[] count = new int[H * W];
        for (int iy = 0; iy < ny; iy++) {
            for (int ix = 0; ix < nx; ix++) {
                int y1 = Math.min(iy * stride + ch, H), x1 = Math.min(ix * stride + cw, W);
                int y0 = Math.max(y1 - ch, 0), x0 = Math.max(x1 - cw, 0);
                Grid g = runCrop(chw, W, H, x0, y0, x1 - x0, y1 - y0, T, K, mean, std, timer);
                timer.start("upsample+argmax");
                float[] up = Resampling.resizePlanes(g.logits, K, g.w, g.h, x1 - x0, y1 - y0);
                for (int k = 0; k < K; k++) {
                    for (int y = y0; y < y1; y++) {
                        int src = (k * (y1 - y0) + (y - y0)) * (x1 - x0), dst = (k * H + y) * W + x0;
                        for (int x = 0; x < x1 - x0; x++) canvas[dst + x] += up[src + x];
                    }
                }
                for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) count[y * W + x]++;
            }
        }
        for (int k = 0; k < K; k++) for (int i = 0; i < H * W; i++) canvas[k * H * W + i] /= count[i];
        return canvas;
    }

    /**
     * MaskCLIP's prompt denoising: a class whose softmax(100·cos) probability never reaches the
     * threshold at any position is taken as absent and its logit set to −100 everywhere.
     */
    private void promptDenoise(float[] logits, int K, int P, float threshold) {
        float[] prob = probabilities(logits, K, P);
        float[] maxProb = new float[K];
        for (int k = 0; k < K; k++) for (int p = 0; p < P; p++) maxProb[k] = Math.max(maxProb[k], prob[k * P + p]);
        for (int k = 0; k < K; k++) if (maxProb[k] < threshold) Arrays.fill(logits, k * P, (k + 1) * P, -100f);
    }

    /**
     * MaskCLIP's key smoothing: probabilities softmax(100·cos) everywhere; where the top
     * probability is below the threshold, replaced by the key-affinity-weighted sum
     * (k k<sup>T</sup>) of all positions' probabilities. As in the official code, the keys are
     * L2-normalised along the token axis (F.normalize's default dim=1 on an [N, HW, C] tensor).
     */
    private void keySmooth(float[] logits, int K, int P, float[] keys, int D, float threshold) {
        float[] prob = probabilities(logits, K, P);
        float[] kn = keys.clone();
        for (int c = 0; c < D; c++) {
            double n = 0;
            for (int p = 0; p < P; p++) n += (double) kn[p * D + c] * kn[p * D + c];
            float inv = (float) (1 / Math.max(Math.sqrt(n), 1e-12));
            for (int p = 0; p < P; p++) kn[p * D + c] *= inv;
        }
        float[] out = prob.clone();
        for (int p = 0; p < P; p++) {
            float top = 0;
            for (int k = 0; k < K; k++) top = Math.max(top, prob[k * P + p]);
            if (top >= threshold) continue;
            for (int k = 0; k < K; k++) out[k * P + p] = 0;
            for (int q = 0; q < P; q++) {
                double w = 0;
                for (int c = 0; c < D; c++) w += (double) kn[p * D + c] * kn[q * D + c];
                for (int k = 0; k < K; k++) out[k * P + p] += (float) (w * prob[k * P + q]);
            }
        }
        System.arraycopy(out, 0, logits, 0, logits.length);
    }

    /** softmax over classes of 100·cos at every position, as both refinements use it: [K, P]. */
    private float[] probabilities(float[] logits, int K, int P) {
        float toCos = 100f / model.logitScale();
        float[] prob = new float[K * P];
        for (int p = 0; p < P; p++) {
            float mx = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < K; k++) mx = Math.max(mx, logits[k * P + p]);
            double sum = 0;
            for (int k = 0; k < K; k++) sum += Math.exp((logits[k * P + p] - mx) * toCos);
            for (int k = 0; k < K; k++) prob[k * P + p] = (float) (Math.exp((logits[k * P + p] - mx) * toCos) / sum);
        }
        return prob;
    }

    /**
     * Frees the prepared dense head; idempotent. Waits for projections already running; a
     * {@link #segment} started afterwards throws IllegalStateException. Does not close the model.
     */
    @Override
    public void close() {
        closed = true;
        if (head != null) head.close();
    }

    private static FloatBuffer direct(float[] a) {
        FloatBuffer b = ByteBuffer.allocateDirect(Math.max(1, a.length) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        b.put(a).flip();
        return b;
    }
}

package org.ovseg.pipeline.ovsegmentor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.ovseg.OvsegException;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.pipeline.common.Resampling;
import org.ovseg.pipeline.common.StageTimer;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * OVSegmentor (Xu et al., CVPR 2023) inference: learnable group tokens bind the patches of a
 * ViT, and each group is matched to the class texts.
 * <ol>
 *   <li>Class embeddings from BERT ({@link BertTextEncoder}).
 *   <li>The image rescaled (short side 448, long side ≤ 2048) and normalised; crops of 448²,
 *       stride 224, the last flush with the edge (mmseg's slide inference). Deviation, as in the
 *       MaskCLIP pipeline: the rescale stays in float, where mmcv's rounds back to 8 bits.
 *   <li>Per crop, stage 1: patch tokens with the position table resized bicubically to the
 *       crop's grid, 64 group tokens, 6 blocks, the grouping block up to its assignment.
 *   <li>The assignment on the slot attention kernel ({@link GroupBinding}): hard for binding the
 *       patches into 8 groups, soft for the pixel→group map.
 *   <li>Stage 2: the bound groups through the rest of the grouping block, 6 blocks and the
 *       projection: one embedding per group and one for the crop.
 *   <li>Group→class scores ({@link CropClassifier}); every pixel takes the group whose soft map,
 *       resized bilinearly to the crop, is largest there, and that group's scores; a background
 *       plane is 1 where they stay below the threshold.
 *   <li>Planes averaged over overlapping crops, resized bilinearly to the image; argmax
 *       (background → label −1).
 * </ol>
 *
 * <p>Thread-safety: {@link #segment} may run concurrently when the engines allow it (ONNX
 * Runtime's do).
 */
final class OvSegmentorPipeline {
    private final OvSegmentorModel model;
    private final OvSegmentorSettings settings;
    private final Map<Long, float[]> positionCache = new ConcurrentHashMap<>();

    OvSegmentorPipeline(OvSegmentorModel model, OvSegmentorSettings settings) {
        this.model = model;
        this.settings = settings;
    }

    OvSegmentorSettings settings() {
        return settings;
    }

    /** Segments one image into {@code labels}; planes of the kept logits: background, then the labels. */
    PipelineOutput segment(RgbImage image, List<String> labels) {
        if (labels.isEmpty()) throw new OvsegException("no labels given");
        StageTimer timer = new StageTimer();
        timer.start("text");
        int K = labels.size(), E = model.embedDim();
        float[][] rows = model.text().embed(labels, settings.templates());
        float[] text = new float[K * E];
        for (int k = 0; k < K; k++) System.arraycopy(rows[k], 0, text, k * E, E);

        timer.start("preprocess");
        int[] size = settings.size().apply(image.width(), image.height());
        int rw = size[0], rh = size[1];
        float[] chw = Resampling.resizeNormalize(image.rgb(), image.width(), image.height(), rw, rh, model.mean(), model.std());
        Canvas canvas = new Canvas(K + 1, rw, rh);
        List<Map<String, Object>> steps = new ArrayList<>();
        for (int[] box : windows(rw, rh)) {
            CropResult r = runCrop(chw, rw, rh, box, text, K, timer);
            canvas.add(r.planes(), box);
            if (settings.keepLogits()) steps.add(r.record());
        }
        timer.start("upsample+argmax");
        float[] merged = canvas.average();
        int ow = image.width(), oh = image.height();
        int[] out = new int[ow * oh];
        float[] scores = new float[ow * oh];
        float[] logits = settings.keepLogits() ? new float[(K + 1) * ow * oh] : null;
        Resampling.upsampleTwiceArgmax(merged, K + 1, rw, rh, rw, rh, ow, oh, out, scores, logits);
        for (int i = 0; i < out.length; i++) out[i] -= 1; // plane 0 is background: label −1
        return new PipelineOutput(ow, oh, out, scores, logits, null, steps, timer.millis());
    }

    /** mmseg's slide crops {x0, y0, x1, y1}; one crop of the whole image when the window is 0. */
    List<int[]> windows(int W, int H) {
        List<int[]> out = new ArrayList<>();
        int win = settings.window(), stride = settings.stride();
        if (win == 0) {
            out.add(new int[] {0, 0, W, H});
            return out;
        }
        int cw = Math.min(win, W), ch = Math.min(win, H);
        int nx = Math.max(W - cw + stride - 1, 0) / stride + 1, ny = Math.max(H - ch + stride - 1, 0) / stride + 1;
        for (int iy = 0; iy < ny; iy++) {
            for (int ix = 0; ix < nx; ix++) {
                int y1 = Math.min(iy * stride + ch, H), x1 = Math.min(ix * stride + cw, W);
                out.add(new int[] {Math.max(x1 - cw, 0), Math.max(y1 - ch, 0), x1, y1});
            }
        }
        return out;
    }

    /** One crop's class planes [1+K, ch, cw] and what the parity check inspects. */
    private record CropResult(float[] planes, Map<String, Object> record) {}

    private CropResult runCrop(float[] chw, int W, int H, int[] box, float[] text, int K, StageTimer timer) {
        int x0 = box[0], y0 = box[1], cw = box[2] - box[0], ch = box[3] - box[1];
        int p = model.patch(), gw = cw / p, gh = ch / p; // the patch convolution floors
        if (gw == 0 || gh == 0) throw new OvsegException("a " + cw + "x" + ch + " crop is smaller than one " + p + "-pixel patch");
        int P = gw * gh, C = model.width(), G = model.groups(), E = model.embedDim();
        Map<String, HostTensor> in = new HashMap<>();
        Map<String, HostTensor> s1 = null, s2 = null;
        GroupBinding.Result bound = null;
        try {
            HostTensor px = HostTensor.zeros(ElementType.FLOAT32, 1, 3, ch, cw);
            in.put(OvSegmentorModel.PIXELS, px);
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < ch; y++) px.floatBuffer().put((c * ch + y) * cw, chw, (c * H + y0 + y) * W + x0, cw);
            }
            in.put(OvSegmentorModel.POS, HostTensor.of(positions(gh, gw), 1, P, C));
            timer.start("stage 1");
            s1 = model.stage1().run(in);
            HostTensor q = output(s1, OvSegmentorModel.STAGE1, OvSegmentorModel.Q, (long) G * C);
            HostTensor k = output(s1, OvSegmentorModel.STAGE1, OvSegmentorModel.K, (long) P * C);
            HostTensor v = output(s1, OvSegmentorModel.STAGE1, OvSegmentorModel.V, (long) P * C);
            HostTensor groupTokens = output(s1, OvSegmentorModel.STAGE1, OvSegmentorModel.GROUP_TOKENS, (long) G * C);
            timer.start("binding");
            bound = GroupBinding.bind(q, k, v, G, P, C);
            timer.start("stage 2");
            s2 = model.stage2().run(Map.of(OvSegmentorModel.BOUND, bound.bound(), OvSegmentorModel.GROUP_TOKENS, groupTokens));
            float[] groups = output(s2, OvSegmentorModel.STAGE2, OvSegmentorModel.GROUP_EMBEDS, (long) G * E).toFloatArray();
            float[] imageEmbed = output(s2, OvSegmentorModel.STAGE2, OvSegmentorModel.IMAGE_EMBED, E).toFloatArray();
            timer.start("classes");
            CropClassifier.GroupScores gs = CropClassifier.classify(groups, imageEmbed, text, G, K, E, model.logitScale(),
                    settings.topK(), settings.bgThreshold());
            float[] planes = planes(bound.soft(), gw, gh, cw, ch, gs, G, K);
            Map<String, Object> record = settings.keepLogits() ? record(box, gw, gh, bound.hard(), gs.cosines(), G, K) : null;
            return new CropResult(planes, record);
        } finally {
            in.values().forEach(HostTensor::close);
            if (s1 != null) s1.values().forEach(HostTensor::close);
            if (s2 != null) s2.values().forEach(HostTensor::close);
            if (bound != null) bound.bound().close();
        }
    }

    /** Background plane then K class planes on the crop, from the soft pixel→group map. */
    private static float[] planes(float[] soft, int gw, int gh, int cw, int ch, CropClassifier.GroupScores gs, int G, int K) {
        float[] up = Resampling.resizePlanes(soft, G, gw, gh, cw, ch);
        int n = cw * ch;
        float[] planes = new float[(K + 1) * n];
        float[] s = gs.scores();
        for (int i = 0; i < n; i++) {
            int best = 0;
            for (int g = 1; g < G; g++) if (up[g * n + i] > up[best * n + i]) best = g;
            float top = Float.NEGATIVE_INFINITY;
            for (int k = 0; k < K; k++) {
                float score = s[best * K + k];
                planes[(k + 1) * n + i] = score;
                top = Math.max(top, score);
            }
            if (top < gs.threshold()) planes[i] = 1f;
        }
        return planes;
    }

    private static Map<String, Object> record(int[] box, int gw, int gh, int[] hard, float[] cos, int G, int K) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("window", List.of(box[0], box[1], box[2], box[3]));
        m.put("grid", List.of(gw, gh));
        List<Integer> groups = new ArrayList<>(hard.length);
        for (int g : hard) groups.add(g);
        m.put("groups", groups);
        List<List<Float>> sims = new ArrayList<>();
        for (int g = 0; g < G; g++) {
            List<Float> row = new ArrayList<>(K);
            for (int k = 0; k < K; k++) row.add(cos[g * K + k]);
            sims.add(row);
        }
        m.put("similarities", sims);
        return m;
    }

    private float[] positions(int gh, int gw) {
        int grid = model.grid(), C = model.width();
        if (gh == grid && gw == grid) return model.positions(); // interpolate_pos_encoding leaves a matching grid alone
        return positionCache.computeIfAbsent(((long) gh << 32) | gw,
                key -> Bicubic.resizeChannelsLast(model.positions(), grid, grid, C, gh, gw));
    }

    private static HostTensor output(Map<String, HostTensor> outs, String graph, String name, long elements) {
        HostTensor t = outs.get(name);
        if (t == null || t.elementCount() != elements) {
            throw new OvsegException("graph '" + graph + "' output '" + name + "' is " + (t == null ? "missing" : t.describe())
                    + ", expected " + elements + " values");
        }
        return t;
    }

    /** Sums of crop planes and per-pixel crop counts over the rescaled image. */
    private static final class Canvas {
        private final int planes, W, H;
        private final float[] sum;
        private final int[] count;

        Canvas(int planes, int W, int H) {
            this.planes = planes;
            this.W = W;
            this.H = H;
            this.sum = new float[planes * W * H];
            this.count = new int[W * H];
        }

        void add(float[] crop, int[] box) {
            int cw = box[2] - box[0], ch = box[3] - box[1];
            for (int k = 0; k < planes; k++) {
                for (int y = 0; y < ch; y++) {
                    int src = (k * ch + y) * cw, dst = (k * H + box[1] + y) * W + box[0];
                    for (int x = 0; x < cw; x++) sum[dst + x] += crop[src + x];
                }
            }
            for (int y = box[1]; y < box[3]; y++) for (int x = box[0]; x < box[2]; x++) count[y * W + x]++;
        }

        float[] average() {
            int n = W * H;
            for (int k = 0; k < planes; k++) for (int i = 0; i < n; i++) sum[k * n + i] /= count[i];
            return sum;
        }
    }
}

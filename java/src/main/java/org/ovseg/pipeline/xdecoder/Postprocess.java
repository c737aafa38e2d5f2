package org.ovseg.pipeline.xdecoder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.ovseg.pipeline.PipelineOutput;
import org.ovseg.pipeline.common.Mask2FormerInstances;

/**
 * X-Decoder's inference after the decoder, at the original image size: the official
 * {@code semantic_inference} (softmax over classes, background dropped, times sigmoid masks, summed
 * over queries), Mask2Former's {@code panoptic_inference} and {@code instance_inference}, and the
 * grounding evaluation's choice of query. Pure functions over arrays.
 */
final class Postprocess {
    private Postprocess() {}

    /**
     * @param labels per pixel the best class (−1 never: every pixel gets a class)
     * @param scores per pixel its semantic score
     * @param maps [K, h, w] semantic scores, or null when not kept
     * @param panoptic Mask2Former's panoptic result
     * @param instances Mask2Former's instance result, highest score first
     */
    record Result(int[] labels, float[] scores, float[] maps, PipelineOutput.Panoptic panoptic, List<PipelineOutput.Instance> instances) {}

    /** The released configs' TEST.DETECTIONS_PER_IMAGE, Mask2Former's test_topk_per_image. */
    static final int TOPK_PER_IMAGE = 100;

    /** Maps a query's mask from the decoder grid to the original size: {@code Ay · M · Axᵀ}. */
    static float[] upsample(float[] masks, int q, int h4, int w4, float[] ay, int h, float[] ax, int w) {
        return upsample(masks, q, h4, w4, ay, Band.of(ay, h, h4), h, ax, Band.of(ax, w, w4), w);
    }

    /**
     * The non-zero column range of each row of a resampling matrix: a few taps per row, so the
     * products below cost O(taps) per output instead of O(input size).
     */
    record Band(int[] from, int[] to) {
        static Band of(float[] m, int rows, int cols) {
            int[] from = new int[rows], to = new int[rows];
            for (int r = 0; r < rows; r++) {
                int a = 0, b = cols;
                while (a < cols && m[r * cols + a] == 0f) a++;
                while (b > a && m[r * cols + b - 1] == 0f) b--;
                from[r] = a;
                to[r] = b;
            }
            return new Band(from, to);
        }
    }

    static float[] upsample(float[] masks, int q, int h4, int w4, float[] ay, Band by, int h, float[] ax, Band bx, int w) {
        float[] t = new float[h4 * w];
        int base = q * h4 * w4;
        for (int y = 0; y < h4; y++) {
            int mo = base + y * w4;
            for (int x = 0; x < w; x++) {
                float s = 0;
                int ao = x * w4;
                for (int k = bx.from[x]; k < bx.to[x]; k++) s += masks[mo + k] * ax[ao + k];
                t[y * w + x] = s;
            }
        }
        float[] out = new float[h * w];
        for (int i = 0; i < h; i++) {
            int oo = i * w;
            for (int y = by.from[i]; y < by.to[i]; y++) {
                float a = ay[i * h4 + y];
                int to = y * w;
                for (int x = 0; x < w; x++) out[oo + x] += a * t[to + x];
            }
        }
        return out;
    }

    static float[] softmax(float[] logits, int row, int n) {
        float[] p = new float[n];
        float max = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < n; c++) max = Math.max(max, logits[row * n + c]);
        double sum = 0;
        for (int c = 0; c < n; c++) {
            p[c] = (float) Math.exp(logits[row * n + c] - max);
            sum += p[c];
        }
        for (int c = 0; c < n; c++) p[c] = (float) (p[c] / sum);
        return p;
    }

    /**
     * @param logits [Q, K+1] class logits (background last)
     * @param masks [Q, h4, w4] mask logits
     * @param things how many of the K classes are things (the rest are stuff: one segment per class)
     * @param objectThreshold Mask2Former's object_mask_threshold (0.8 in the released configs)
     * @param overlapThreshold its overlap_threshold (0.8)
     * @param keepMaps whether to return the [K, h, w] semantic maps
     */
    static Result run(float[] logits, float[] masks, int queries, int classes, int h4, int w4, float[] ay, int h, float[] ax, int w,
            int things, float objectThreshold, float overlapThreshold, boolean keepMaps) {
        int k1 = classes + 1;
        int n = h * w;
        float[] sem = new float[classes * n];
        List<Integer> kept = new ArrayList<>();
        List<float[]> keptMasks = new ArrayList<>();
        float[] keptScore = new float[queries];
        int[] keptClass = new int[queries];
        Band by = Band.of(ay, h, h4), bx = Band.of(ax, w, w4);
        // Panoptic is on in the released configs, so the instance inference keeps thing classes only;
        // with no stuff in the request every class is a thing.
        List<Mask2FormerInstances.Pick> picks = Mask2FormerInstances.select(logits, queries, classes, TOPK_PER_IMAGE, c -> c < things);
        Map<Integer, Mask2FormerInstances.QueryMask> measured = new HashMap<>();
        for (Mask2FormerInstances.Pick pick : picks) measured.put(pick.query(), null);
        for (int q = 0; q < queries; q++) {
            float[] p = softmax(logits, q, k1);
            float[] up = upsample(masks, q, h4, w4, ay, by, h, ax, bx, w);
            if (measured.containsKey(q)) {
                // Binarised on the logits before the sigmoid below, as the official mask_pred > 0.
                float[] plane = up;
                measured.put(q, Mask2FormerInstances.measure((qq, y, row) -> System.arraycopy(plane, y * w, row, 0, w), q, w, h));
            }
            for (int i = 0; i < n; i++) up[i] = (float) (1.0 / (1.0 + Math.exp(-up[i])));
            for (int c = 0; c < classes; c++) {
                float pc = p[c];
                int o = c * n;
                for (int i = 0; i < n; i++) sem[o + i] += pc * up[i];
            }
            int best = 0;
            for (int c = 1; c < k1; c++) if (p[c] > p[best]) best = c;
            if (best != classes && p[best] > objectThreshold) {
                kept.add(q);
                keptMasks.add(up);
                keptScore[q] = p[best];
                keptClass[q] = best;
            }
        }
        int[] labels = new int[n];
        float[] scores = new float[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            float bv = sem[i];
            for (int c = 1; c < classes; c++) {
                float v = sem[c * n + i];
                if (v > bv) {
                    bv = v;
                    best = c;
                }
            }
            labels[i] = best;
            scores[i] = bv;
        }
        PipelineOutput.Panoptic pan = panoptic(kept, keptMasks, keptScore, keptClass, n, things, overlapThreshold);
        return new Result(labels, scores, keepMaps ? sem : null, pan, Mask2FormerInstances.assemble(picks, measured));
    }

    /** Mask2Former's panoptic merge over the kept queries (in query order). */
    static PipelineOutput.Panoptic panoptic(List<Integer> kept, List<float[]> masks, float[] score, int[] cls, int n, int things,
            float overlapThreshold) {
        int[] ids = new int[n];
        List<PipelineOutput.Segment> segments = new ArrayList<>();
        if (kept.isEmpty()) return new PipelineOutput.Panoptic(ids, segments);
        int m = kept.size();
        int[] owner = new int[n];
        for (int i = 0; i < n; i++) {
            int best = 0;
            float bv = score[kept.get(0)] * masks.get(0)[i];
            for (int k = 1; k < m; k++) {
                float v = score[kept.get(k)] * masks.get(k)[i];
                if (v > bv) { // first maximum, as torch.argmax
                    bv = v;
                    best = k;
                }
            }
            owner[i] = best;
        }
        Map<Integer, Integer> stuffIds = new HashMap<>();
        int next = 0;
        for (int k = 0; k < m; k++) {
            int q = kept.get(k);
            float[] mk = masks.get(k);
            long maskArea = 0, originalArea = 0, both = 0;
            for (int i = 0; i < n; i++) {
                boolean own = owner[i] == k, on = mk[i] >= 0.5f;
                if (own) maskArea++;
                if (on) originalArea++;
                if (own && on) both++;
            }
            if (maskArea == 0 || originalArea == 0 || both == 0) continue;
            if ((double) maskArea / originalArea < overlapThreshold) continue;
            int c = cls[q];
            boolean isThing = c < things;
            if (!isThing && stuffIds.containsKey(c)) {
                int id = stuffIds.get(c);
                for (int i = 0; i < n; i++) if (owner[i] == k && mk[i] >= 0.5f) ids[i] = id;
                continue;
            }
            next++;
            if (!isThing) stuffIds.put(c, next);
            for (int i = 0; i < n; i++) if (owner[i] == k && mk[i] >= 0.5f) ids[i] = next;
            segments.add(new PipelineOutput.Segment(next, c, isThing, score[q]));
        }
        // A later segment may have overwritten every pixel of an earlier one; the result model
        // wants segments that occur.
        boolean[] present = new boolean[next + 1];
        for (int id : ids) present[id] = true;
        segments.removeIf(s -> !present[s.id()]);
        return new PipelineOutput.Panoptic(ids, segments);
    }

    /**
     * The official grounding evaluation's choice: for each sentence, the query whose class embedding
     * has the highest cosine with the sentence's class embedding (the positive logit scale does not
     * change the argmax).
     *
     * @param emb [Q', P] the decoder's grounding-query class embeddings
     * @param sentences [N, P] the sentences' class embeddings
     * @return per sentence the chosen query index
     */
    static int[] chooseQueries(float[] emb, int queries, float[] sentences, int count, int dim) {
        float[] v = normalizeRows(emb, queries, dim), t = normalizeRows(sentences, count, dim);
        int[] out = new int[count];
        for (int s = 0; s < count; s++) {
            int best = 0;
            float bv = Float.NEGATIVE_INFINITY;
            for (int q = 0; q < queries; q++) {
                float d = 0;
                for (int j = 0; j < dim; j++) d += v[q * dim + j] * t[s * dim + j];
                if (d > bv) {
                    bv = d;
                    best = q;
                }
            }
            out[s] = best;
        }
        return out;
    }

    /**
     * Adds sentence {@code label}'s mask to a referring label map: a pixel where its logit is
     * positive (sigmoid > 0.5, as the official grounding evaluation) goes to it unless an earlier
     * sentence holds it with a logit at least as large (ties keep the earlier sentence).
     *
     * @param logits the sentence's mask logits at the output size
     * @param labels per pixel the sentence holding it, −1 none (updated)
     * @param best per pixel the holder's logit (updated; read only where {@code labels} ≥ 0)
     * @return the sentence's full mask area (pixels with a positive logit, held or not)
     */
    static long claim(float[] logits, int label, int[] labels, float[] best) {
        long area = 0;
        for (int p = 0; p < logits.length; p++) {
            float v = logits[p];
            if (!(v > 0)) continue;
            area++;
            if (labels[p] < 0 || v > best[p]) {
                labels[p] = label;
                best[p] = v;
            }
        }
        return area;
    }

    static float[] normalizeRows(float[] a, int rows, int dim) {
        float[] o = new float[rows * dim];
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < dim; j++) s += (double) a[r * dim + j] * a[r * dim + j];
            float inv = (float) (1.0 / (Math.sqrt(s) + 1e-7));
            for (int j = 0; j < dim; j++) o[r * dim + j] = a[r * dim + j] * inv;
        }
        return o;
    }
}

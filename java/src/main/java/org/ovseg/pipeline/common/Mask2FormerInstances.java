package org.ovseg.pipeline.common;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import org.ovseg.pipeline.PipelineOutput;

/**
 * Mask2Former's {@code instance_inference} (X-Decoder v2.0 keeps the same steps): softmax over the
 * K + 1 classes with the last (background) slot dropped; the top {@code topK} (query, class) pairs of
 * the flattened [Q, K] scores; with panoptic on, only thing classes are kept (after the top-k, as the
 * official code filters); each pair's mask is its query's mask logits at the output size, binarised
 * at logit &gt; 0; its score is the class probability times the mean sigmoid inside that binary mask
 * (sum / (area + 1e-6)). Deviations, all because the official order is unspecified or disabled: torch's
 * {@code topk(sorted=False)} leaves the order open, so instances come sorted by final score
 * (descending; ties: lower flattened index first), and equal scores at the top-k cut keep the lower
 * flattened index; the official boxes are zeros (box from masks is commented out), here they are the
 * masks' tight boxes; when Q·K is below top-k all pairs are taken (torch would raise).
 *
 * <p>Memory: a query's mask is read one row at a time and kept as a bit set, so 100 queries at full
 * image size cost 100 bits per pixel plus one row of floats.
 */
public final class Mask2FormerInstances {
    private Mask2FormerInstances() {}

    /** Supplies a query's mask logits at the output size, one row at a time. */
    @FunctionalInterface
    public interface MaskRows {
        /**
         * @param query the query
         * @param y the output row
         * @param out receives the row's {@code width} logits
         */
        void row(int query, int y, float[] out);
    }

    /**
     * One (query, class) pair the top-k selected, before its mask is measured.
     *
     * @param query the query
     * @param label the class (0 … K−1)
     * @param classScore its softmax probability
     * @param flat its index in the flattened [Q, K] scores (query·K + label)
     */
    public record Pick(int query, int label, float classScore, int flat) {}

    /**
     * A query's binarised mask and what the score needs from it.
     *
     * @param bits pixels with logit &gt; 0, row-major
     * @param area their count
     * @param sigmoidSum sum of sigmoid(logit) over them
     */
    public record QueryMask(BitSet bits, long area, double sigmoidSum) {}

    /**
     * The top-k (query, class) pairs of the flattened softmax scores, thing filtering applied.
     *
     * @param logits [Q, K+1] class logits, background last
     * @param queries Q
     * @param classes K (without background)
     * @param topK how many pairs to keep (the official test_topk_per_image, 100)
     * @param keepLabel the classes kept after the top-k (things, when panoptic is on); null keeps all
     * @return the pairs, in flattened-index order
     */
    public static List<Pick> select(float[] logits, int queries, int classes, int topK, IntPredicate keepLabel) {
        if (queries < 0 || classes <= 0 || topK < 0) throw new IllegalArgumentException("queries " + queries + ", classes " + classes + ", topK " + topK);
        if (logits.length != (long) queries * (classes + 1)) throw new IllegalArgumentException("logits have " + logits.length + " values, need " + queries + "x" + (classes + 1));
        int n = queries * classes;
        float[] scores = new float[n];
        for (int q = 0; q < queries; q++) {
            float[] p = softmax(logits, q, classes + 1);
            System.arraycopy(p, 0, scores, q * classes, classes);
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Float.compare(scores[b], scores[a]) : Integer.compare(a, b));
        int k = Math.min(topK, n);
        int[] chosen = new int[k];
        for (int i = 0; i < k; i++) chosen[i] = order[i];
        Arrays.sort(chosen);
        List<Pick> picks = new ArrayList<>();
        for (int f : chosen) {
            int label = f % classes;
            if (keepLabel == null || keepLabel.test(label)) picks.add(new Pick(f / classes, label, scores[f], f));
        }
        return picks;
    }

    /**
     * Binarises one query's mask at logit &gt; 0 (as {@code mask_pred > 0}, before any sigmoid) and sums
     * the sigmoid inside it.
     *
     * @param rows the mask logits at the output size
     * @param query which query
     * @param width output width
     * @param height output height
     * @return the bit mask, its area and the sigmoid sum inside it
     */
    public static QueryMask measure(MaskRows rows, int query, int width, int height) {
        float[] row = new float[width];
        BitSet bits = new BitSet();
        long area = 0;
        double sum = 0;
        for (int y = 0; y < height; y++) {
            rows.row(query, y, row);
            int o = y * width;
            for (int x = 0; x < width; x++) {
                float v = row[x];
                if (v > 0) {
                    bits.set(o + x);
                    area++;
                    sum += 1.0 / (1.0 + Math.exp(-v));
                }
            }
        }
        return new QueryMask(bits, area, sum);
    }

    /**
     * Turns the picks and their queries' measured masks into instances, sorted by score.
     *
     * @param picks from {@link #select}
     * @param masks query → its measured mask; must hold every pick's query
     * @return the instances, highest score first (ties: lower flattened index first); pairs of one
     *     query share its bit set
     */
    public static List<PipelineOutput.Instance> assemble(List<Pick> picks, Map<Integer, QueryMask> masks) {
        record Scored(Pick pick, float score) {}
        List<Scored> scored = new ArrayList<>();
        for (Pick p : picks) {
            QueryMask m = masks.get(p.query());
            if (m == null) throw new IllegalArgumentException("no mask measured for query " + p.query());
            float maskScore = (float) (m.sigmoidSum() / (m.area() + 1e-6));
            scored.add(new Scored(p, p.classScore() * maskScore));
        }
        scored.sort(Comparator.comparingDouble((Scored s) -> -s.score()).thenComparingInt(s -> s.pick().flat()));
        List<PipelineOutput.Instance> out = new ArrayList<>();
        for (Scored s : scored) out.add(new PipelineOutput.Instance(s.pick().label(), s.score(), masks.get(s.pick().query()).bits()));
        return out;
    }

    /**
     * The whole inference: select, measure each picked query once, assemble.
     *
     * @param logits [Q, K+1] class logits, background last
     * @param queries Q
     * @param classes K (without background)
     * @param topK the official test_topk_per_image
     * @param keepLabel classes kept after the top-k (null: all)
     * @param rows the queries' mask logits at the output size
     * @param width output width
     * @param height output height
     * @return the instances, highest score first
     */
    public static List<PipelineOutput.Instance> infer(float[] logits, int queries, int classes, int topK, IntPredicate keepLabel, MaskRows rows,
            int width, int height) {
        List<Pick> picks = select(logits, queries, classes, topK, keepLabel);
        Map<Integer, QueryMask> masks = new HashMap<>();
        for (Pick p : picks) masks.computeIfAbsent(p.query(), q -> measure(rows, q, width, height));
        return assemble(picks, masks);
    }

    static float[] softmax(float[] logits, int row, int n) {
        float[] p = new float[n];
        float max = Float.NEGATIVE_INFINITY;
        for (int c = 0; c < n; c++) max = Math.max(max, logits[row * n + c]);
        double sum = 0;
        double[] e = new double[n];
        for (int c = 0; c < n; c++) {
            e[c] = Math.exp(logits[row * n + c] - max);
            sum += e[c];
        }
        for (int c = 0; c < n; c++) p[c] = (float) (e[c] / sum);
        return p;
    }
}

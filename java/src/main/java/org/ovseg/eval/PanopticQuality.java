package org.ovseg.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Panoptic quality over a dataset, reduced as the COCO panoptic API's {@code PQStat.pq_average}:
 * per category PQ = ΣIoU / (TP + FP/2 + FN/2), SQ = ΣIoU / TP (0 without TP), RQ = TP / (TP +
 * FP/2 + FN/2); categories with no TP, FP or FN are left out of the averages; All, Things and
 * Stuff average over their categories (NaN when none qualifies, where the API would divide by 0).
 */
public final class PanopticQuality {
    private final List<PanopticCategory> categories;
    private final Map<Integer, double[]> iouSum = new LinkedHashMap<>();
    private final Map<Integer, long[]> counts = new LinkedHashMap<>(); // tp, fp, fn

    /** @param categories the dataset's categories, in its order */
    public PanopticQuality(List<PanopticCategory> categories) {
        this.categories = List.copyOf(categories);
        for (PanopticCategory c : categories) {
            iouSum.put(c.id(), new double[1]);
            counts.put(c.id(), new long[3]);
        }
    }

    /** Adds one image's statistics; call in a fixed image order for reproducible sums. */
    public void add(PanopticImage image) {
        for (PanopticImage.Match m : image.matches()) {
            stat(m.categoryId())[0]++;
            iouSum.get(m.categoryId())[0] += m.iou();
        }
        image.falsePositives().forEach((c, n) -> stat(c)[1] += n);
        image.falseNegatives().forEach((c, n) -> stat(c)[2] += n);
    }

    private long[] stat(int category) {
        long[] s = counts.get(category);
        if (s == null) throw new IllegalArgumentException("category " + category + " is not one of the dataset's");
        return s;
    }

    /** Per-category results and the three averages. */
    public Result result() {
        List<PerCategory> per = new ArrayList<>();
        for (PanopticCategory c : categories) {
            long[] s = counts.get(c.id());
            double iou = iouSum.get(c.id())[0];
            long tp = s[0], fp = s[1], fn = s[2];
            boolean counted = tp + fp + fn > 0;
            double denom = tp + 0.5 * fp + 0.5 * fn;
            per.add(new PerCategory(c, counted ? iou / denom : 0, counted && tp != 0 ? iou / tp : 0, counted ? tp / denom : 0, tp, fp, fn, counted));
        }
        return new Result(average(per, null), average(per, true), average(per, false), per);
    }

    private static Average average(List<PerCategory> per, Boolean things) {
        double pq = 0, sq = 0, rq = 0;
        int n = 0;
        for (PerCategory p : per) {
            if (!p.counted() || (things != null && things != p.category().isThing())) continue;
            pq += p.pq();
            sq += p.sq();
            rq += p.rq();
            n++;
        }
        return n == 0 ? new Average(Double.NaN, Double.NaN, Double.NaN, 0) : new Average(pq / n, sq / n, rq / n, n);
    }

    /** PQ, SQ, RQ averaged over {@code n} categories. */
    public record Average(double pq, double sq, double rq, int n) {}

    /** One category's figures; {@code counted} false when it had no TP, FP or FN (figures 0, left out of averages). */
    public record PerCategory(PanopticCategory category, double pq, double sq, double rq, long tp, long fp, long fn, boolean counted) {}

    /** The averages over all, thing and stuff categories, and per category. */
    public record Result(Average all, Average things, Average stuff, List<PerCategory> perCategory) {}
}

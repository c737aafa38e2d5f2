package org.ovseg.eval;

import java.util.Arrays;

/**
 * Per-class pixel counts of one image or of a whole dataset, as mmsegmentation's {@code
 * IoUMetric.intersect_and_union} computes them: pixels whose ground truth is the ignore index
 * are dropped; a value outside {@code [0, classes)} (an unassigned prediction, a ground-truth
 * value that names no class) falls outside every class's histogram, so such a pixel still counts
 * in the other map's area. Counts are exact integers, so summing images in any order gives the
 * same dataset totals.
 *
 * @param intersect pixels where prediction and ground truth are the same class
 * @param union prediction area + ground-truth area - intersection
 * @param predicted pixels predicted as the class (ignored pixels excluded)
 * @param label ground-truth pixels of the class
 */
public record SemanticCounts(long[] intersect, long[] union, long[] predicted, long[] label) {
    /** Checks that the four arrays have one entry per class. */
    public SemanticCounts {
        int k = intersect.length;
        if (union.length != k || predicted.length != k || label.length != k) throw new IllegalArgumentException("count arrays differ in length");
    }

    /** @return all-zero counts for {@code classes} classes */
    public static SemanticCounts zero(int classes) {
        return new SemanticCounts(new long[classes], new long[classes], new long[classes], new long[classes]);
    }

    /**
     * Counts one image.
     *
     * @param predicted class index per pixel (anything outside [0, classes) counts for no class)
     * @param truth ground-truth class index per pixel, after any label mapping
     * @param ignoreIndex ground-truth value of pixels left out entirely
     */
    public static SemanticCounts of(int[] predicted, int[] truth, int classes, int ignoreIndex) {
        if (predicted.length != truth.length) throw new IllegalArgumentException("prediction has " + predicted.length + " pixels, ground truth " + truth.length);
        long[] inter = new long[classes], pred = new long[classes], lab = new long[classes];
        for (int i = 0; i < truth.length; i++) {
            int t = truth[i];
            if (t == ignoreIndex) continue;
            int p = predicted[i];
            boolean pIn = p >= 0 && p < classes, tIn = t >= 0 && t < classes;
            if (pIn) pred[p]++;
            if (tIn) lab[t]++;
            if (pIn && p == t) inter[p]++;
        }
        long[] union = new long[classes];
        for (int c = 0; c < classes; c++) union[c] = pred[c] + lab[c] - inter[c];
        return new SemanticCounts(inter, union, pred, lab);
    }

    /** @return the number of classes */
    public int classes() {
        return intersect.length;
    }

    /** @return these counts plus {@code o}'s, class by class */
    public SemanticCounts plus(SemanticCounts o) {
        if (o.classes() != classes()) throw new IllegalArgumentException("counts for " + o.classes() + " classes added to " + classes());
        return new SemanticCounts(add(intersect, o.intersect), add(union, o.union), add(predicted, o.predicted), add(label, o.label));
    }

    private static long[] add(long[] a, long[] b) {
        long[] s = a.clone();
        for (int i = 0; i < s.length; i++) s[i] += b[i];
        return s;
    }

    /**
     * mmsegmentation's {@code total_area_to_metrics} for 'mIoU': IoU = intersection / union and
     * Acc = intersection / ground-truth area per class (NaN where the denominator is 0, i.e. a
     * class absent from both maps, resp. from the ground truth), their means over the classes
     * that are not NaN, and aAcc = total intersection / total ground-truth area.
     */
    public SemanticMetrics metrics() {
        int k = classes();
        double[] iou = new double[k], acc = new double[k];
        long inter = 0, lab = 0;
        for (int c = 0; c < k; c++) {
            iou[c] = union[c] == 0 ? Double.NaN : (double) intersect[c] / union[c];
            acc[c] = label[c] == 0 ? Double.NaN : (double) intersect[c] / label[c];
            inter += intersect[c];
            lab += label[c];
        }
        return new SemanticMetrics(lab == 0 ? Double.NaN : (double) inter / lab, nanMean(iou), nanMean(acc), count(iou), iou, acc);
    }

    private static double nanMean(double[] v) {
        double s = 0;
        int n = 0;
        for (double x : v) {
            if (!Double.isNaN(x)) {
                s += x;
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    private static int count(double[] v) {
        return (int) Arrays.stream(v).filter(x -> !Double.isNaN(x)).count();
    }

    /**
     * @param aAcc overall pixel accuracy
     * @param mIoU mean IoU over the classes present in the prediction or the ground truth
     * @param mAcc mean accuracy over the classes present in the ground truth
     * @param classesInMIoU how many classes mIoU averages
     * @param iou per class, NaN where absent from both maps
     * @param acc per class, NaN where absent from the ground truth
     */
    public record SemanticMetrics(double aAcc, double mIoU, double mAcc, int classesInMIoU, double[] iou, double[] acc) {}
}

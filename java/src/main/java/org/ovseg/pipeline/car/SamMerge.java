package org.ovseg.pipeline.car;

import java.util.ArrayList;
import java.util.List;

/**
 * CaR's optional SAM refinement of its masks (official inference_pipeline + match_masks): for
 * each non-empty CaR mask, the SAM masks it overlaps by intersection-over-minimum are merged and
 * replace it when their union agrees with it closely enough.
 * <ul>
 *   <li>iom_pred = |pred ∩ sam| / |pred|, iom_sam = |pred ∩ sam| / |sam|; iom_sam counts only
 *       where iom_pred ≥ minPred; iom = max(iom_pred, iom_sam);
 *   <li>every SAM mask with iom &gt; iomThreshold is kept (the best one when none passes);
 *   <li>the union of the kept masks replaces the CaR mask when IoU(union, mask) &gt; replaceIoU
 *       (0.9 in the official pipeline).
 * </ul>
 * This class is the merge rule, on masks from any source; SAM's automatic masks come from
 * {@link org.ovseg.pipeline.sam.SamAutomaticMasks} through {@link SamRefiner}. Stateless.
 */
public final class SamMerge {
    private SamMerge() {}

    /**
     * @param masks CaR masks, one boolean[H·W] per query (not modified)
     * @param sam SAM's automatic masks, boolean[H·W] each
     * @return the refined masks (replaced or the original arrays)
     */
    public static List<boolean[]> merge(List<boolean[]> masks, List<boolean[]> sam, double iomThreshold, double minPred, double replaceIoU) {
        List<boolean[]> out = new ArrayList<>();
        for (boolean[] m : masks) {
            long area = count(m);
            if (area == 0 || sam.isEmpty()) {
                out.add(m);
                continue;
            }
            double[] iom = new double[sam.size()];
            for (int i = 0; i < sam.size(); i++) {
                boolean[] s = sam.get(i);
                long inter = 0, sArea = count(s);
                for (int p = 0; p < m.length; p++) if (m[p] && s[p]) inter++;
                double iomPred = (double) inter / area, iomSam = sArea == 0 ? 0 : (double) inter / sArea;
                if (iomPred < minPred) iomSam = 0;
                iom[i] = Math.max(iomPred, iomSam);
            }
            boolean[] union = new boolean[m.length];
            boolean any = false;
            int best = 0;
            for (int i = 0; i < iom.length; i++) {
                if (iom[i] > iom[best]) best = i;
                if (iom[i] > iomThreshold) {
                    any = true;
                    or(union, sam.get(i));
                }
            }
            if (!any) or(union, sam.get(best));
            out.add(iou(union, m) > replaceIoU ? union : m);
        }
        return out;
    }

    static long count(boolean[] m) {
        long n = 0;
        for (boolean b : m) if (b) n++;
        return n;
    }

    private static void or(boolean[] into, boolean[] m) {
        for (int p = 0; p < into.length; p++) into[p] |= m[p];
    }

    static double iou(boolean[] a, boolean[] b) {
        long inter = 0, uni = 0;
        for (int p = 0; p < a.length; p++) {
            if (a[p] && b[p]) inter++;
            if (a[p] || b[p]) uni++;
        }
        return uni == 0 ? 0 : (double) inter / uni;
    }
}

package org.ovseg.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** mmsegmentation's intersect-and-union counts and mIoU, against a hand-computed case and a confusion matrix. */
class SemanticCountsTest {
    /**
     * 3 classes, 8 pixels. Ground truth 255 is ignored; prediction -1 (unassigned) and ground
     * truth 7 (no class) fall in no histogram, so they still cost the other side's class.
     */
    @Test
    void handComputedCase() {
        int[] truth = {0, 0, 1, 1, 255, 7, 2, 0};
        int[] pred = {0, 1, 1, -1, 2, 1, 1, 0};
        SemanticCounts c = SemanticCounts.of(pred, truth, 3, 255);
        // class 0: truth at 0,1,7; pred at 0,7 -> I 2, P 2, L 3, U 3
        // class 1: truth at 2,3; pred at 1,2,5,6 -> I 1, P 4, L 2, U 5
        // class 2: truth at 6; pred at none (pixel 4 ignored) -> I 0, P 0, L 1, U 1
        assertArrayEquals(new long[] {2, 1, 0}, c.intersect());
        assertArrayEquals(new long[] {2, 4, 0}, c.predicted());
        assertArrayEquals(new long[] {3, 2, 1}, c.label());
        assertArrayEquals(new long[] {3, 5, 1}, c.union());
        SemanticCounts.SemanticMetrics m = c.metrics();
        assertEquals(3.0 / 6, m.aAcc(), 1e-15);
        assertEquals((2.0 / 3 + 1.0 / 5 + 0) / 3, m.mIoU(), 1e-15);
        assertEquals((2.0 / 3 + 1.0 / 2 + 0) / 3, m.mAcc(), 1e-15);
        assertEquals(3, m.classesInMIoU());
    }

    /** A class in neither map is NaN and left out of mIoU; one only predicted has IoU 0 and no accuracy. */
    @Test
    void absentClassesAreNaNAndLeftOutOfTheMeans() {
        int[] truth = {0, 0, 0, 0};
        int[] pred = {0, 0, 2, 2};
        SemanticCounts.SemanticMetrics m = SemanticCounts.of(pred, truth, 4, 255).metrics();
        assertEquals(0.5, m.iou()[0], 1e-15);
        assertTrue(Double.isNaN(m.iou()[1]) && Double.isNaN(m.iou()[3]));
        assertEquals(0.0, m.iou()[2]);
        assertTrue(Double.isNaN(m.acc()[2]));
        assertEquals(0.25, m.mIoU(), 1e-15); // (0.5 + 0) / 2
        assertEquals(0.5, m.mAcc(), 1e-15); // class 0 only
        assertEquals(2, m.classesInMIoU());
    }

    /** Random maps: the counts equal a confusion matrix's diagonal, row and column sums; summing images equals counting them together. */
    @Test
    void matchesAConfusionMatrixAndAddsUp() {
        SplittableRandom r = new SplittableRandom(3);
        int k = 6, ignore = 255, n = 5000;
        int[] truth = new int[n], pred = new int[n];
        for (int i = 0; i < n; i++) {
            int t = r.nextInt(10);
            truth[i] = t == 9 ? ignore : t == 8 ? 40 : r.nextInt(k);
            int p = r.nextInt(9);
            pred[i] = p == 8 ? -1 : p == 7 ? truth[i] : r.nextInt(k);
        }
        long[][] cm = new long[k][k];
        for (int i = 0; i < n; i++) if (truth[i] >= 0 && truth[i] < k && pred[i] >= 0 && pred[i] < k) cm[truth[i]][pred[i]]++;
        long[] predOnly = new long[k], truthOnly = new long[k];
        for (int i = 0; i < n; i++) {
            if (truth[i] == ignore) continue;
            if ((truth[i] < 0 || truth[i] >= k) && pred[i] >= 0 && pred[i] < k) predOnly[pred[i]]++;
            if ((pred[i] < 0 || pred[i] >= k) && truth[i] >= 0 && truth[i] < k) truthOnly[truth[i]]++;
        }
        SemanticCounts c = SemanticCounts.of(pred, truth, k, ignore);
        for (int j = 0; j < k; j++) {
            long row = 0, col = 0;
            for (int i = 0; i < k; i++) {
                row += cm[j][i];
                col += cm[i][j];
            }
            assertEquals(cm[j][j], c.intersect()[j]);
            assertEquals(row + truthOnly[j], c.label()[j]);
            assertEquals(col + predOnly[j], c.predicted()[j]);
            assertEquals(row + truthOnly[j] + col + predOnly[j] - cm[j][j], c.union()[j]);
        }
        int half = 2345;
        SemanticCounts a = SemanticCounts.of(java.util.Arrays.copyOf(pred, half), java.util.Arrays.copyOf(truth, half), k, ignore);
        SemanticCounts b = SemanticCounts.of(java.util.Arrays.copyOfRange(pred, half, n), java.util.Arrays.copyOfRange(truth, half, n), k, ignore);
        SemanticCounts sum = a.plus(b);
        assertArrayEquals(c.intersect(), sum.intersect());
        assertArrayEquals(c.union(), sum.union());
        assertArrayEquals(c.label(), sum.label());
        assertArrayEquals(c.predicted(), sum.predicted());
    }
}

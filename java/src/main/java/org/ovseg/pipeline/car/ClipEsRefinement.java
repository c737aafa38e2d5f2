package org.ovseg.pipeline.car;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * CLIP-ES's refinement of a Grad-CAM map with the ViT's own patch affinities, as CaR applies it
 * (see SEMANTICS.md, "Grad-CAM proposals"):
 * <ol>
 *   <li>A = the head-averaged attention of the last blocks (class token dropped), averaged;
 *   <li>T = A normalised by column sums then row sums, three rounds; T = (T + Tᵀ)/2; T = T·T;
 *   <li>columns of T outside the boxes around the CAM's strong regions are zeroed; the boxes are
 *       the bounding boxes of the 8-connected components of {uint8(cam·255) > ⌊t·max⌋}, t lowered
 *       by 0.1 until some pixel passes; as in the official code the box's far edges are clamped to
 *       W−1 and H−1 and exclusive, so the last row and column of the grid never fall inside;
 *   <li>cam' = T·cam, min-max normalised.
 * </ol>
 * All on the patch grid (gh × gw = P). Stateless; thread-safe.
 */
public final class ClipEsRefinement {
    private ClipEsRefinement() {}

    /** A half-open box on the grid: columns [x0, x1), rows [y0, y1). */
    record Box(int x0, int y0, int x1, int y1) {}

    /**
     * @param cam Grad-CAM on the grid, row-major [gh·gw], values in [0, 1]
     * @param attention blocks of [P, P] head-averaged attention (class token dropped)
     * @param threshold CaR's clipes_threshold
     * @return the refined map, min-max normalised to [0, 1]
     */
    public static float[] refine(float[] cam, int gh, int gw, List<float[]> attention, float threshold) {
        return refine(cam, gh, gw, affinity(attention, gh * gw), threshold);
    }

    /**
     * The symmetric, normalised patch affinity S = (T + Tᵀ)/2 of steps 1–2. It depends only on the
     * image, so one computation serves every query's CAM.
     */
    public static double[] affinity(List<float[]> attention, int P) {
        if (attention.isEmpty()) throw new IllegalArgumentException("no attention maps");
        double[] t = new double[P * P];
        for (float[] a : attention) {
            if (a.length != P * P) throw new IllegalArgumentException("attention map is not [P, P] with P = " + P);
            for (int i = 0; i < t.length; i++) t[i] += a[i];
        }
        for (int i = 0; i < t.length; i++) t[i] /= attention.size();
        for (int round = 0; round < 3; round++) {
            normaliseColumns(t, P);
            normaliseRows(t, P);
        }
        double[] sym = new double[P * P];
        for (int i = 0; i < P; i++) for (int j = 0; j < P; j++) sym[i * P + j] = (t[i * P + j] + t[j * P + i]) / 2;
        return sym;
    }

    /** Steps 3–4 with a precomputed {@link #affinity}. */
    public static float[] refine(float[] cam, int gh, int gw, double[] sym, float threshold) {
        int P = gh * gw;
        if (cam.length != P) throw new IllegalArgumentException("cam has " + cam.length + " values for a " + gh + "x" + gw + " grid");
        if (sym.length != P * P) throw new IllegalArgumentException("affinity is not [P, P] with P = " + P);
        boolean[] keep = boxMask(cam, gh, gw, threshold);
        // cam' = ((S·S) with columns outside the boxes zeroed) · cam = S·(S·(keep ⊙ cam)): two
        // matrix-vector products instead of forming S·S (P³ → 2P²).
        double[] u = new double[P];
        for (int j = 0; j < P; j++) u[j] = keep[j] ? cam[j] : 0;
        double[] v = multiply(sym, u, P);
        double[] r = multiply(sym, v, P);
        return minMax(r);
    }

    private static double[] multiply(double[] m, double[] x, int P) {
        double[] y = new double[P];
        for (int i = 0; i < P; i++) {
            double s = 0;
            for (int j = 0; j < P; j++) s += m[i * P + j] * x[j];
            y[i] = s;
        }
        return y;
    }

    private static void normaliseColumns(double[] t, int P) {
        for (int j = 0; j < P; j++) {
            double s = 0;
            for (int i = 0; i < P; i++) s += t[i * P + j];
            if (s != 0) for (int i = 0; i < P; i++) t[i * P + j] /= s;
        }
    }

    private static void normaliseRows(double[] t, int P) {
        for (int i = 0; i < P; i++) {
            double s = 0;
            for (int j = 0; j < P; j++) s += t[i * P + j];
            if (s != 0) for (int j = 0; j < P; j++) t[i * P + j] /= s;
        }
    }

    static float[] minMax(double[] x) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) out[i] = (float) ((x[i] - lo) / (1e-15 + (hi - lo)));
        return out;
    }

    /** Grid cells inside any box around the CAM's strong regions. */
    static boolean[] boxMask(float[] cam, int gh, int gw, float threshold) {
        boolean[] keep = new boolean[gh * gw];
        for (Box b : boxes(cam, gh, gw, threshold)) {
            for (int y = b.y0(); y < b.y1(); y++) for (int x = b.x0(); x < b.x1(); x++) keep[y * gw + x] = true;
        }
        return keep;
    }

    static List<Box> boxes(float[] cam, int gh, int gw, float threshold) {
        int[] u8 = new int[cam.length];
        int max = 0;
        for (int i = 0; i < cam.length; i++) {
            u8[i] = (int) (Math.max(0f, cam[i]) * 255f) & 0xff; // astype(uint8) truncates
            max = Math.max(max, u8[i]);
        }
        double t = threshold;
        boolean[] on = new boolean[cam.length];
        while (true) {
            int cut = (int) (t * max);
            boolean any = false;
            for (int i = 0; i < cam.length; i++) any |= on[i] = u8[i] > cut;
            if (any || t <= -1 || max == 0) break;
            t -= 0.1;
        }
        List<Box> out = new ArrayList<>();
        boolean[] seen = new boolean[cam.length];
        for (int s = 0; s < cam.length; s++) {
            if (!on[s] || seen[s]) continue;
            int x0 = gw, y0 = gh, x1 = -1, y1 = -1;
            ArrayDeque<Integer> queue = new ArrayDeque<>();
            queue.add(s);
            seen[s] = true;
            while (!queue.isEmpty()) {
                int p = queue.poll(), px = p % gw, py = p / gw;
                x0 = Math.min(x0, px);
                y0 = Math.min(y0, py);
                x1 = Math.max(x1, px);
                y1 = Math.max(y1, py);
                for (int dy = -1; dy <= 1; dy++) for (int dx = -1; dx <= 1; dx++) {
                    int nx = px + dx, ny = py + dy;
                    if (nx < 0 || ny < 0 || nx >= gw || ny >= gh) continue;
                    int q = ny * gw + nx;
                    if (on[q] && !seen[q]) {
                        seen[q] = true;
                        queue.add(q);
                    }
                }
            }
            // boundingRect gives (x, y, w, h) with w = x1 - x0 + 1; CaR clamps x + w to W - 1 (QUIRK).
            out.add(new Box(x0, y0, Math.min(x1 + 1, gw - 1), Math.min(y1 + 1, gh - 1)));
        }
        return out;
    }
}

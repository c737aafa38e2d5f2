package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ClipEsRefinementTest {
    @Test
    void identityAffinityKeepsTheCamInsideItsBoxes() {
        // With A = I every normalisation leaves I, so cam' = (cam inside the boxes), min-max normalised.
        int gh = 6, gw = 7, P = gh * gw;
        float[] cam = new float[P];
        cam[2 * gw + 2] = 1f;
        cam[2 * gw + 3] = 0.8f;
        cam[3 * gw + 2] = 0.6f;
        cam[5 * gw + 6] = 0.3f; // weak, and in the last row and column
        float[] eye = new float[P * P];
        for (int i = 0; i < P; i++) eye[i * P + i] = 1f;
        float[] r = ClipEsRefinement.refine(cam, gh, gw, List.of(eye, eye), 0.4f);
        assertEquals(1f, r[2 * gw + 2], 1e-6);
        assertEquals(0.8f, r[2 * gw + 3], 1e-6);
        assertEquals(0.6f, r[3 * gw + 2], 1e-6);
        assertEquals(0f, r[5 * gw + 6], 1e-6, "below 0.4·max: outside every box");
    }

    @Test
    void boxesFollowTheOfficialThresholdAndClamp() {
        int gh = 4, gw = 5;
        float[] cam = new float[gh * gw];
        cam[3 * gw + 4] = 1f; // only the bottom-right cell is strong
        List<ClipEsRefinement.Box> boxes = ClipEsRefinement.boxes(cam, gh, gw, 0.4f);
        assertEquals(1, boxes.size());
        // boundingRect (4, 3, 1, 1), far edges clamped to W-1 = 4 and H-1 = 3: an empty box (QUIRK).
        assertEquals(new ClipEsRefinement.Box(4, 3, 4, 3), boxes.get(0));
        float[] two = new float[gh * gw];
        two[0] = 1f;
        two[1 * gw + 1] = 0.9f; // diagonal neighbour: one 8-connected component
        two[2 * gw + 4] = 0.9f;
        assertEquals(2, ClipEsRefinement.boxes(two, gh, gw, 0.5f).size());
        // A flat map: every cell is above 0.4·max, so one box covers the grid (minus the clamped edge).
        float[] flat = new float[gh * gw];
        java.util.Arrays.fill(flat, 0.5f);
        assertTrue(!ClipEsRefinement.boxes(flat, gh, gw, 0.4f).isEmpty());
    }

    @Test
    void uniformAttentionSpreadsTheCamEvenly() {
        int gh = 3, gw = 3, P = 9;
        float[] a = new float[P * P];
        java.util.Arrays.fill(a, 1f / P);
        float[] cam = new float[P];
        cam[4] = 1f;
        float[] r = ClipEsRefinement.refine(cam, gh, gw, List.of(a), 0.4f);
        for (float v : r) assertEquals(r[0], v, 1e-6); // every row of T·T is the same: a flat map
    }
}

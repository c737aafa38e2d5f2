package org.ovseg.bundle.builtin;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.ovseg.text.ClipTokenizer;

/**
 * The networks of {@code builtin:colour-world-car}, the CLIP-as-RNN demonstration model: a
 * Grad-CAM proposal ViT ({@code car_cam}), a classifier ViT ({@code car_classifier_image}) and one
 * causal text transformer serving both text roles — CLIP's interfaces, weights set by hand.
 *
 * <p>Unlike the MaskCLIP demo, whose features point along the RGB offset of a colour (so that a
 * mixture of red and blue averages to magenta), this model classifies each patch: the first
 * block's MLP turns a patch whose mean colour is within ~0.07 of a chromatic corner of the RGB
 * cube into a one-hot code for red, green, blue, yellow, cyan or magenta; anything else (grey,
 * white, black, mixed or blurred edges) gets no code. A mean over patches is then a colour
 * histogram, and an image holding red and blue is "red and blue", not "magenta" — which is what
 * CaR's pruning needs to be meaningful.
 * <ul>
 *   <li>All LayerNorms are close to the identity: every token carries a constant ±8 pair, which
 *       dominates its variance (the colour features move it by under 1.5%).
 *   <li>Attention: block 0 compares RGB offsets, the last block compares codes (score ~20 between
 *       patches of one colour, 0 otherwise), so CLIP-ES's affinity groups patches by colour. The
 *       last block's value path adds each patch's colour-group average back into the code dims:
 *       Grad-CAM's gradient flows through it.
 *   <li>Proposal head: mean over patches of the codes, projected onto embedding dims 0–5, plus a
 *       constant on dim 15 that no text has: it compresses the cosines (a pure colour matches its
 *       word by ~0.16, not ~0.97), so the softmax at logit scale 100 keeps usable gradients.
 *   <li>Classifier: the class token attends to coloured patches (score 12 on the sum of codes), so
 *       its embedding is the histogram of the coloured patches only. Grey pixels carry no code:
 *       with the "gray" visual prompt the classifier sees just the proposal's region. The red
 *       ellipse or blur alone do not isolate it (a real CLIP has learnt to look inside a red
 *       circle; this one has not), so the bundle's default preset is coco-object (blur + gray).
 *   <li>Text: each chromatic colour word carries its one-hot code (white and black are ordinary
 *       words here); one causal head averages the codes of the colour words in the prompt into
 *       the end token.
 * </ul>
 */
final class ColourWorldCarNetworks {
    static final int WIDTH = 64;
    static final int TEXT_WIDTH = 32;
    static final int EMBED_DIM = 16;
    static final int PATCH = 16;
    static final int GRID = 14;
    static final int CLASSIFIER_SIZE = 224;
    /** The constant pair that keeps every LayerNorm near the identity. */
    static final float C = 8f;
    /** Dims of the colour codes (+) and their negated copy. */
    static final int CODE = 16, NEG_CODE = 22;
    static final float LOGIT_SCALE = 100f;

    /** The recognised colours, in code order, and their corners. */
    static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "cyan", "magenta");
    static final int[][] CORNERS = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {0, 1, 1}, {1, 0, 1}};

    /**
     * A patch's score s·(colour − ½) must exceed this: 1.5 at its own corner, 0.5 at a neighbouring
     * corner, at most 0.5 for any grey; a patch half one colour, half a neighbouring one scores 1
     * and gets a third of each code, so colour boundaries keep some of both.
     */
    private static final float CODE_THRESHOLD = 0.75f;
    private static final float CODE_SLOPE = 50f;

    private ColourWorldCarNetworks() {}

    static byte[] camGraph() {
        return ClipVitGraphs.camGraph(proposalVit(), "colour_world_car_cam");
    }

    /** The proposal ViT's weights. */
    static ClipVitGraphs.Vit proposalVit() {
        return vit(lastBlockForProposals(), 12f);
    }

    static byte[] classifierImageGraph() {
        int grid = CLASSIFIER_SIZE / PATCH;
        return ClipVitGraphs.classifierGraph(vit(poolingBlock(), 6f), positionalEmbedding(grid), 1 + grid * grid, "colour_world_car_classifier");
    }

    /** [1 + grid², WIDTH]: the class row is the constant pair; each grid row turns the patch's
     * normalised mean back into (colour − ½) and adds the pair. */
    static float[] positionalEmbedding(int grid) {
        int D = WIDTH;
        float[] pos = new float[(1 + grid * grid) * D];
        for (int t = 0; t <= grid * grid; t++) {
            pos[t * D + 8] = C;
            pos[t * D + 9] = -C;
            if (t == 0) continue;
            for (int c = 0; c < 3; c++) {
                pos[t * D + c] = ColourWorldNetworks.MEAN[c] - 0.5f;
                pos[t * D + c + 3] = -(ColourWorldNetworks.MEAN[c] - 0.5f);
            }
        }
        return pos;
    }

    // ------------------------------------------------------------------------------ image side

    /**
     * @param shared the embedding's constant component along dim 15, which no text has: it
     *     dilutes every cosine, so that a matching colour beats the others by ~0.15 rather than
     *     ~0.9 and the Grad-CAM softmax (logit scale 100) does not saturate into gradients that
     *     underflow (real CLIP's image–text cosines are similarly compressed)
     */
    private static ClipVitGraphs.Vit vit(ClipVitGraphs.Block last, float shared) {
        int D = WIDTH;
        float[] patch = new float[D * 3 * PATCH * PATCH];
        for (int c = 0; c < 3; c++) {
            float w = ColourWorldNetworks.STD[c] / (PATCH * PATCH); // patch mean, undoing the std division
            for (int i = 0; i < PATCH * PATCH; i++) {
                patch[(c * 3 + c) * PATCH * PATCH + i] = w;
                patch[((c + 3) * 3 + c) * PATCH * PATCH + i] = -w;
            }
        }
        float[] proj = new float[D * EMBED_DIM];
        for (int k = 0; k < COLOURS.size(); k++) proj[(CODE + k) * EMBED_DIM + k] = 1f;
        proj[8 * EMBED_DIM + 15] = shared / C;
        return new ClipVitGraphs.Vit(D, PATCH, EMBED_DIM, patch, new float[D], lnWeight(), new float[D],
                List.of(codingBlock(), last), lnWeight(), new float[D], proj, LOGIT_SCALE);
    }

    /** γ = √(2C²/D): with the constant pair dominating, LayerNorm(x) ≈ x. */
    private static float[] lnWeight() {
        float[] w = new float[WIDTH];
        Arrays.fill(w, (float) Math.sqrt(2 * C * C / WIDTH));
        return w;
    }

    /**
     * Block 0: attention compares RGB offsets (score 30·r_p·r_q) and writes nothing; the MLP has
     * one unit per colour, QuickGELU(50·(s_k·r − 1.3)) with s_k ∈ {±1}³ the corner's signs,
     * scaled so that a pure colour writes code 1 (and −1 in the negated copy).
     */
    private static ClipVitGraphs.Block codingBlock() {
        int D = WIDTH, H = 4 * D;
        float[] wq = new float[D * D], wk = new float[D * D];
        for (int c = 0; c < 3; c++) {
            wq[c * D + c] = 30f * (float) Math.sqrt(D);
            wk[c * D + c] = 1f;
        }
        float[] fc1 = new float[D * H], fc1b = new float[H], fc2 = new float[H * D];
        // The LayerNorm before the MLP scales a pure colour's offsets by √(2C² / (2C² + 2·¾)).
        double lnScale = Math.sqrt(2 * C * C / (2 * C * C + 1.5));
        double u = CODE_SLOPE * (1.5 * lnScale - CODE_THRESHOLD);
        double gelu = u / (1 + Math.exp(-1.702 * u));
        for (int k = 0; k < COLOURS.size(); k++) {
            for (int c = 0; c < 3; c++) fc1[c * H + k] = CODE_SLOPE * (2 * CORNERS[k][c] - 1);
            fc1b[k] = -CODE_SLOPE * CODE_THRESHOLD;
            fc2[k * D + CODE + k] = (float) (1 / gelu);
            fc2[k * D + NEG_CODE + k] = (float) (-1 / gelu);
        }
        return block(wq, wk, new float[D * D], new float[D * D], fc1, fc1b, fc2);
    }

    /**
     * The proposal network's last block (the one Grad-CAM hooks): patches of one colour attend to
     * each other (score 20·code_p·code_q) and add their group's code; the MLP writes nothing.
     */
    private static ClipVitGraphs.Block lastBlockForProposals() {
        int D = WIDTH;
        float[] wq = new float[D * D], wk = new float[D * D], wv = new float[D * D], wo = new float[D * D];
        for (int k = 0; k < COLOURS.size(); k++) {
            wq[(CODE + k) * D + k] = 20f * (float) Math.sqrt(D);
            wk[(CODE + k) * D + k] = 1f;
            wv[(CODE + k) * D + k] = 1f;
            wo[k * D + CODE + k] = 1f;
            wo[k * D + NEG_CODE + k] = -1f;
        }
        return block(wq, wk, wv, wo, smallRandom(D * 4 * D, 11), new float[4 * D], new float[4 * D * D]);
    }

    /** The classifier's last block: the class token (query: the constant pair) attends to patches
     * with a code (key: the sum of codes, score 12) and takes their average code. */
    private static ClipVitGraphs.Block poolingBlock() {
        int D = WIDTH;
        float[] wq = new float[D * D], wk = new float[D * D], wv = new float[D * D], wo = new float[D * D];
        wq[8 * D] = 12f * (float) Math.sqrt(D) / C;
        for (int k = 0; k < COLOURS.size(); k++) {
            wk[(CODE + k) * D] = 1f;
            wv[(CODE + k) * D + k] = 1f;
            wo[k * D + CODE + k] = 1f;
            wo[k * D + NEG_CODE + k] = -1f;
        }
        return block(wq, wk, wv, wo, smallRandom(D * 4 * D, 12), new float[4 * D], new float[4 * D * D]);
    }

    private static ClipVitGraphs.Block block(float[] wq, float[] wk, float[] wv, float[] wo, float[] fc1, float[] fc1b, float[] fc2) {
        int D = WIDTH;
        return new ClipVitGraphs.Block(lnWeight(), new float[D], wq, new float[D], wk, new float[D], wv, new float[D], wo, new float[D],
                lnWeight(), new float[D], fc1, fc1b, fc2, new float[D]);
    }

    private static float[] smallRandom(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) ((r.nextDouble() - 0.5) * 0.1);
        return a;
    }

    // ------------------------------------------------------------------------------- text side

    /** The text tower of both roles: input_ids → text_embeds [batch, EMBED_DIM]. */
    static byte[] textGraph() {
        int D = TEXT_WIDTH;
        float[] proj = new float[D * EMBED_DIM];
        for (int k = 0; k < COLOURS.size(); k++) proj[k * EMBED_DIM + k] = 1f;
        for (int i = 0; i < 9; i++) proj[(14 + 2 * i) * EMBED_DIM + 6 + i] = 0.2f; // every text gets a direction
        return ColourWorldNetworks.textGraph("colour_world_car_text", D, EMBED_DIM, tokenEmbedding(), 12, 12, proj);
    }

    /**
     * [VOCAB, TEXT_WIDTH], zero-mean rows of squared norm 8: a colour word has √3 at its code
     * (dims 0–5), −√3 in the negated copy (6–11) and the flag pair (12, 13); every other token a
     * word pair ±√2 (14, 15) and eight random ±½ pairs (16–31).
     */
    static float[] tokenEmbedding() {
        int D = TEXT_WIDTH, V = ClipTokenizer.VOCAB_SIZE;
        float[] e = new float[V * D];
        float root2 = (float) Math.sqrt(2), root3 = (float) Math.sqrt(3);
        for (int t = 0; t < V; t++) {
            int o = t * D;
            e[o + 14] = root2;
            e[o + 15] = -root2;
            SplittableRandom r = new SplittableRandom(0xCA7000L + t);
            for (int i = 0; i < 8; i++) {
                float s = r.nextBoolean() ? 0.5f : -0.5f;
                e[o + 16 + 2 * i] = s;
                e[o + 17 + 2 * i] = -s;
            }
        }
        ClipTokenizer tok = ClipTokenizer.shared();
        for (int k = 0; k < COLOURS.size(); k++) {
            int o = tok.encode(COLOURS.get(k))[0] * D; // "cyan" = "cy" + "an": the code sits on "cy"
            Arrays.fill(e, o, o + D, 0f);
            e[o + k] = root3;
            e[o + 6 + k] = -root3;
            e[o + 12] = 1f;
            e[o + 13] = -1f;
        }
        return e;
    }
}

package org.ovseg.pipeline.maskclip;

import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.ModelBundle;

/**
 * CLIP's last vision block and final LayerNorm, as exported by tools/export/export_clip.py
 * (arrays {@code last_*}, {@code post_ln_*}; torch Linear layout, weight [out, in]) for the
 * methods that re-run that block their own way.
 *
 * @param width D
 * @param hidden the MLP's hidden width
 * @param heads attention heads
 * @param eps LayerNorm epsilon
 * @param exactGelu the MLP's activation is erf GELU (else CLIP's QuickGELU)
 */
public record LastBlock(int width, int hidden, int heads, float eps, boolean exactGelu,
        float[] ln1w, float[] ln1b, float[] wq, float[] bq, float[] wk, float[] bk, float[] wv, float[] bv,
        float[] wo, float[] bo, float[] ln2w, float[] ln2b, float[] fc1, float[] fc1b, float[] fc2, float[] fc2b,
        float[] postW, float[] postB) {

    /** Array names a bundle holds when it can serve the MaskCLIP family. */
    static final String PROBE = "last_q_weight";

    /** @return whether {@code bundle} was exported with the last block's weights */
    static boolean present(ModelBundle bundle) {
        return bundle.hasArray(PROBE) && bundle.manifest().defaults().containsKey("last_block_heads");
    }

    /** Reads the arrays and checks their sizes against D = {@code width}. */
    static LastBlock load(ModelBundle bundle, int width) {
        var d = bundle.manifest().defaults();
        int heads = ((Number) d.get("last_block_heads")).intValue();
        float eps = d.get("last_block_layer_norm_eps") instanceof Number n ? n.floatValue() : 1e-5f;
        boolean gelu = "gelu".equals(d.get("last_block_activation"));
        if (heads <= 0 || width % heads != 0) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "defaults.last_block_heads", heads + " does not divide width " + width);
        }
        float[] fc1 = a(bundle, "last_fc1_weight", -1, width);
        int hidden = fc1.length / width;
        return new LastBlock(width, hidden, heads, eps, gelu,
                a(bundle, "last_ln1_weight", width, 1), a(bundle, "last_ln1_bias", width, 1),
                a(bundle, "last_q_weight", width, width), a(bundle, "last_q_bias", width, 1),
                a(bundle, "last_k_weight", width, width), a(bundle, "last_k_bias", width, 1),
                a(bundle, "last_v_weight", width, width), a(bundle, "last_v_bias", width, 1),
                a(bundle, "last_out_weight", width, width), a(bundle, "last_out_bias", width, 1),
                a(bundle, "last_ln2_weight", width, 1), a(bundle, "last_ln2_bias", width, 1),
                fc1, a(bundle, "last_fc1_bias", hidden, 1),
                a(bundle, "last_fc2_weight", width, hidden), a(bundle, "last_fc2_bias", width, 1),
                a(bundle, "post_ln_weight", width, 1), a(bundle, "post_ln_bias", width, 1));
    }

    /** Array {@code name} with rows·cols values (rows −1: any multiple of cols). */
    private static float[] a(ModelBundle bundle, String name, int rows, int cols) {
        float[] v = bundle.array(name).data();
        boolean ok = rows < 0 ? v.length > 0 && v.length % cols == 0 : v.length == (long) rows * cols;
        if (!ok) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "arrays." + name,
                    "holds " + v.length + " values, expected " + (rows < 0 ? "a multiple of " + cols : rows + "·" + cols));
        }
        return v;
    }
}

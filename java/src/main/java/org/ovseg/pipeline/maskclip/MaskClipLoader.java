package org.ovseg.pipeline.maskclip;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.List;
import java.util.Optional;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.Npy;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.ProfileHints;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.text.TextEmbedder;
import org.ovseg.text.TextEmbeddingCache;

/**
 * Builds a {@link MaskClipModel} from a validated bundle. Bundle conventions for MaskCLIP
 * (bundle format 1): network "image" with inputs {@code pixel_values} [1,3,H,W] and, for ViT,
 * {@code pos_embed} [1,T,D]; outputs {@code dense_features} [1,P,D] and optionally
 * {@code dense_keys}; network "text" with input {@code input_ids} [N,L] int64 and output
 * {@code text_embeds} [N,E]; arrays {@code pos_embed} [1+g², D] (ViT) and either
 * {@code head_weight} [E,D] (+ optional {@code head_bias} [E]) or, for ResNet, the attention
 * pool's {@code attnpool_v_weight} [Dv,D], {@code attnpool_v_bias}, {@code attnpool_c_weight}
 * [E,Dv], {@code attnpool_c_bias}, folded here once into W = C·V, b = C·b_v + b_c.
 */
public final class MaskClipLoader {
    static final String IMAGE = "image", TEXT = "text";

    private MaskClipLoader() {}

    /** Opens the engines and reads the arrays; the caller owns (and closes) the result. */
    public static MaskClipModel load(ModelBundle bundle, EngineOptions engineOptions, TextEmbeddingCache cache) {
        return load(bundle, engineOptions, cache, ProfileHints.of(bundle.manifest()));
    }

    /**
     * As {@link #load(ModelBundle, EngineOptions, TextEmbeddingCache)}, with the image sizes the
     * caller will feed (a size override changes them), for TensorRT's optimisation profiles.
     */
    public static MaskClipModel load(ModelBundle bundle, EngineOptions engineOptions, TextEmbeddingCache cache, ProfileHints hints) {
        BundleManifest m = bundle.manifest();
        if (!m.pipeline().equals("maskclip")) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "pipeline", "is '" + m.pipeline() + "', not 'maskclip'");
        }
        BundleManifest.Preprocessing pre = m.preprocessing();
        BundleManifest.Network image = bundle.network(IMAGE), text = bundle.network(TEXT);
        boolean vit = image.inputs().stream().anyMatch(s -> s.name().equals("pos_embed"));
        int width = pre.width();
        int E = m.embedDim();
        float[] pos = null;
        int grid = 0;
        if (vit) {
            Npy.FloatArray p = bundle.array("pos_embed");
            grid = pre.positionGrid();
            if (p.data().length != (1 + grid * grid) * width) {
                throw new BundleException(bundle.dir().resolve("bundle.json"), "arrays.pos_embed",
                        "holds " + p.data().length + " values, expected (1+" + grid + "²)·" + width);
            }
            pos = p.data();
        }
        float[] W;
        float[] b = null;
        if (bundle.hasArray("head_weight")) {
            W = bundle.array("head_weight").data();
            if (bundle.hasArray("head_bias")) b = bundle.array("head_bias").data();
        } else {
            float[][] folded = fold(bundle, E, width);
            W = folded[0];
            b = folded[1];
        }
        if (W.length != E * width) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "arrays.head_weight", "holds " + W.length + " values, expected " + E + "·" + width);
        }
        Engine imageEngine = null, textEngine = null;
        try {
            imageEngine = Engines.open(bundle, IMAGE, engineOptions, hints);
            textEngine = Engines.open(bundle, TEXT, engineOptions, hints);
            TextEmbedder embedder = new TextEmbedder(textEngine, "input_ids", "text_embeds", m.text().contextLength(), E,
                    bundle.manifestSha256(), cache);
            boolean keys = image.outputs().stream().anyMatch(s -> s.name().equals("dense_keys"));
            List<Double> mean = pre.mean(), std = pre.std();
            return new MaskClipModel(imageEngine, embedder, "pixel_values", vit ? "pos_embed" : null, "dense_features",
                    keys ? "dense_keys" : null, pos, grid, pre.patchSize(), width, W, b,
                    new float[] {mean.get(0).floatValue(), mean.get(1).floatValue(), mean.get(2).floatValue()},
                    new float[] {std.get(0).floatValue(), std.get(1).floatValue(), std.get(2).floatValue()},
                    (float) m.logitScale(), textEngine);
        } catch (RuntimeException e) {
            if (imageEngine != null) imageEngine.close();
            if (textEngine != null) textEngine.close();
            throw e;
        }
    }

    /** W = C·V, b = C·b_v + b_c with the native fold kernel. */
    private static float[][] fold(ModelBundle bundle, int E, int D) {
        Npy.FloatArray v = bundle.array("attnpool_v_weight"), c = bundle.array("attnpool_c_weight");
        int Dv = (int) v.shape()[0];
        Optional<float[]> bv = bundle.hasArray("attnpool_v_bias") ? Optional.of(bundle.array("attnpool_v_bias").data()) : Optional.empty();
        Optional<float[]> bc = bundle.hasArray("attnpool_c_bias") ? Optional.of(bundle.array("attnpool_c_bias").data()) : Optional.empty();
        if (v.data().length != Dv * D || c.data().length != E * Dv) {
            throw new BundleException(bundle.dir().resolve("bundle.json"), "arrays", "attention-pool projections do not fit D=" + D + ", E=" + E);
        }
        FloatBuffer W = direct(E * D), b = direct(E);
        CpuKernels.foldProjection(direct(c.data()), bc.map(MaskClipLoader::direct).orElse(null), direct(v.data()),
                bv.map(MaskClipLoader::direct).orElse(null), E, Dv, D, W, b);
        float[] w = new float[E * D], bb = new float[E];
        W.get(0, w);
        b.get(0, bb);
        return new float[][] {w, bb};
    }

    private static FloatBuffer direct(int n) {
        return ByteBuffer.allocateDirect(Math.max(1, n) * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static FloatBuffer direct(float[] a) {
        FloatBuffer f = direct(a.length);
        f.put(a).flip();
        return f;
    }
}

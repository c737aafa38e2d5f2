package org.ovseg.pipeline.maskclip;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.ovseg.OvsegException;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.OnnxRuntimeEngine;
import org.ovseg.pipeline.common.Normalization;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * Runs CLIP's last block the way a MaskCLIP-family method does, on the image graph's
 * {@code last_block_input}: the method's graph ({@link FamilyGraphs}, built at load time, on
 * ONNX Runtime) plus what it needs per crop — NACLIP's Gaussian neighbourhood bias, ProxyCLIP's
 * DINO features and the bilinear map from CLIP's patch grid to DINO's. Thread-safe like its engines.
 */
final class FamilyHead implements AutoCloseable {
    /** The image graph output the family starts from. */
    static final String LAST_INPUT = "last_block_input";
    /** NACLIP's gaussian_std default (NACLIP.__init__). */
    static final double NACLIP_STD = 5.0;

    private final FamilyMethod method;
    private final Engine block;
    private final Engine dino;
    private final int dinoPatch;
    private final Map<Long, float[]> cache = new ConcurrentHashMap<>();

    private FamilyHead(FamilyMethod method, Engine block, Engine dino, int dinoPatch) {
        this.method = method;
        this.block = block;
        this.dino = dino;
        this.dinoPatch = dinoPatch;
    }

    /**
     * @throws OvsegException when the bundle predates the family (no last-block arrays) or, for
     *     ProxyCLIP, has no DINO network
     */
    static FamilyHead open(ModelBundle bundle, FamilyMethod method, int width, EngineOptions options) {
        String name = method.cliName();
        requireSupport(bundle, method);
        boolean proxy = method == FamilyMethod.PROXYCLIP;
        LastBlock w = LastBlock.load(bundle, width);
        Engine dinoEngine = null, blockEngine = null;
        try {
            int dinoWidth = 0, patch = 0;
            if (proxy) {
                dinoEngine = Engines.open(bundle.variantFiles("dino"), options);
                Object p = bundle.manifest().defaults().get("dino_patch_size");
                patch = p instanceof Number n ? n.intValue() : 0;
                if (patch <= 0) throw new OvsegException("bundle.json: defaults.dino_patch_size is missing");
                long[] shape = dinoEngine.outputs().get(0).shape();
                dinoWidth = (int) shape[shape.length - 1];
                if (dinoWidth <= 0) throw new OvsegException("the DINO graph's output has no static channel count");
            }
            blockEngine = openGraph(FamilyGraphs.build(method, w, dinoWidth), name, options);
            return new FamilyHead(method, blockEngine, dinoEngine, patch);
        } catch (RuntimeException e) {
            if (dinoEngine != null) dinoEngine.close();
            if (blockEngine != null) blockEngine.close();
            throw e;
        }
    }

    /** Fails fast, before any network is opened, when {@code bundle} cannot serve {@code method}. */
    static void requireSupport(ModelBundle bundle, FamilyMethod method) {
        String name = method.cliName();
        var image = bundle.manifest().networks().get(MaskClipLoader.IMAGE);
        if (image == null || image.inputs().stream().noneMatch(t -> t.name().equals("pos_embed"))) {
            throw new OvsegException("--method " + name + " needs a ViT CLIP bundle; this one is a ResNet");
        }
        if (!LastBlock.present(bundle) || image.outputs().stream().noneMatch(t -> t.name().equals(LAST_INPUT))) {
            throw new OvsegException("--method " + name + " needs the last block's input and weights, which this bundle "
                    + "predates; re-export it with tools/export/export_clip.py");
        }
        if (method == FamilyMethod.PROXYCLIP && !bundle.manifest().networks().containsKey("dino")) {
            throw new OvsegException("--method proxyclip needs a DINO network in the bundle; re-export it with "
                    + "tools/export/export_clip.py --dino DINO_CHECKPOINT (a transformers ViTModel such as dino-vitb8)");
        }
    }

    /** ONNX Runtime reads the model at session creation, so the temporary file goes right after. */
    private static Engine openGraph(byte[] onnx, String name, EngineOptions options) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("ovseg-" + name + "-", ".onnx");
            Files.write(tmp, onnx);
            return OnnxRuntimeEngine.open(tmp, options);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the " + name + " graph", e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a leftover temporary file is harmless
                }
            }
        }
    }

    /** Backend label of the networks this head runs. */
    Map<String, String> backends() {
        Map<String, String> m = new HashMap<>();
        m.put("last_block", org.ovseg.pipeline.SegmentationPipeline.backendLabel(block));
        if (dino != null) m.put("dino", org.ovseg.pipeline.SegmentationPipeline.backendLabel(dino));
        return m;
    }

    /** Patch features on a grid of gw × gh cells; {@code features} [1, gw·gh, D] is the caller's to close. */
    record Features(HostTensor features, int gw, int gh) {}

    /**
     * @param lastInput the image graph's last_block_input [1, 1 + gh·gw, D]
     * @param pixels the encoder's normalised, padded input [1, 3, ph, pw] (ProxyCLIP's DINO sees it too)
     * @param norm the mean/std {@code pixels} were normalised with
     */
    Features run(HostTensor lastInput, int gw, int gh, HostTensor pixels, int pw, int ph, Normalization norm) {
        Map<String, HostTensor> in = new HashMap<>();
        java.util.List<HostTensor> owned = new java.util.ArrayList<>();
        Map<String, HostTensor> out = null, dout = null;
        try {
            in.put(FamilyGraphs.X, lastInput);
            int ow = gw, oh = gh;
            if (method == FamilyMethod.NACLIP) {
                in.put(FamilyGraphs.BIAS, own(owned, HostTensor.of(cache.computeIfAbsent(key(gw, gh, 0, 0),
                        k -> gaussianBias(gw, gh, NACLIP_STD)), 1 + gw * gh, 1 + gw * gh)));
            } else if (method == FamilyMethod.PROXYCLIP) {
                ow = pw / dinoPatch;
                oh = ph / dinoPatch;
                if (ow == 0 || oh == 0) throw new OvsegException("a " + pw + "x" + ph + " crop is smaller than DINO's patch");
                try (HostTensor dpx = HostTensor.of(imagenet(pixels, norm), 1, 3, ph, pw)) {
                    dout = dino.run(Map.of("pixel_values", dpx));
                }
                HostTensor df = dout.values().iterator().next();
                if (df.elementCount() % ((long) ow * oh) != 0) {
                    throw new OvsegException("DINO output " + df.describe() + " does not fit its " + ow + "x" + oh + " grid");
                }
                in.put(FamilyGraphs.DINO, df);
                int fw = ow, fh = oh;
                in.put(FamilyGraphs.RESAMPLE, own(owned, HostTensor.of(cache.computeIfAbsent(key(gw, gh, fw, fh),
                        k -> bilinearMatrix(gw, gh, fw, fh)), (long) fw * fh, (long) gw * gh)));
            }
            out = block.run(in);
            HostTensor f = out.remove(FamilyGraphs.FEATURES);
            if (f == null) throw new OvsegException("the " + method.cliName() + " graph gave no features");
            return new Features(f, ow, oh);
        } finally {
            owned.forEach(HostTensor::close);
            if (out != null) out.values().forEach(HostTensor::close);
            if (dout != null) dout.values().forEach(HostTensor::close);
        }
    }

    private static HostTensor own(java.util.List<HostTensor> owned, HostTensor t) {
        owned.add(t);
        return t;
    }

    private static long key(int a, int b, int c, int d) {
        return ((long) a << 48) | ((long) b << 32) | ((long) c << 16) | d;
    }

    /**
     * NACLIP's attention addition: for patch tokens i, j on the gh × gw grid,
     * exp(−|pos_i − pos_j|² / (2σ²)) (its gaussian_window convolved over one-hot maps, whose
     * (2g−1)-wide window covers every offset); zero on the class token's row and column.
     */
    static float[] gaussianBias(int gw, int gh, double std) {
        int P = gw * gh, T = P + 1;
        float[] b = new float[T * T];
        double inv = 1 / (2 * std * std);
        for (int i = 0; i < P; i++) {
            int yi = i / gw, xi = i % gw;
            for (int j = 0; j < P; j++) {
                int dy = yi - j / gw, dx = xi - j % gw;
                b[(1 + i) * T + 1 + j] = (float) Math.exp(-(dy * dy + dx * dx) * inv);
            }
        }
        return b;
    }

    /**
     * [fh·fw, gh·gw]: PyTorch's bilinear resize (align_corners=False, no antialiasing) from the
     * gh × gw grid to fh × fw as a matrix, ProxyCLIP's interpolation of CLIP's values to DINO's grid.
     */
    static float[] bilinearMatrix(int gw, int gh, int fw, int fh) {
        float[] m = new float[fw * fh * gw * gh];
        int[][] ty = taps(gh, fh), tx = taps(gw, fw);
        float[] wy = weights(gh, fh), wx = weights(gw, fw);
        for (int y = 0; y < fh; y++) {
            for (int x = 0; x < fw; x++) {
                int row = (y * fw + x) * gw * gh;
                float[] ay = {1 - wy[y], wy[y]}, ax = {1 - wx[x], wx[x]};
                for (int a = 0; a < 2; a++) {
                    for (int b = 0; b < 2; b++) m[row + ty[y][a] * gw + tx[x][b]] += ay[a] * ax[b];
                }
            }
        }
        return m;
    }

    private static int[][] taps(int in, int out) {
        int[][] t = new int[out][2];
        double s = (double) in / out;
        for (int i = 0; i < out; i++) {
            int l = Math.min((int) Math.floor(Math.max(0.0, (i + 0.5) * s - 0.5)), in - 1);
            t[i][0] = l;
            t[i][1] = Math.min(l + 1, in - 1);
        }
        return t;
    }

    private static float[] weights(int in, int out) {
        float[] w = new float[out];
        double s = (double) in / out;
        for (int i = 0; i < out; i++) {
            double src = Math.max(0.0, (i + 0.5) * s - 0.5);
            w[i] = (float) (src - Math.min(Math.floor(src), in - 1));
        }
        return w;
    }

    /** ProxyCLIP's norm(unnorm(img)): the CLIP-normalised pixels re-normalised with ImageNet's statistics. */
    private static float[] imagenet(HostTensor pixels, Normalization norm) {
        float[] px = pixels.toFloatArray();
        int plane = px.length / 3;
        float[] im = Normalization.IMAGENET.mean(), is = Normalization.IMAGENET.std();
        for (int c = 0; c < 3; c++) {
            float a = norm.std()[c] / is[c], b = (norm.mean()[c] - im[c]) / is[c];
            for (int i = c * plane; i < (c + 1) * plane; i++) px[i] = px[i] * a + b;
        }
        return px;
    }

    @Override
    public void close() {
        try {
            block.close();
        } finally {
            if (dino != null) dino.close();
        }
    }
}

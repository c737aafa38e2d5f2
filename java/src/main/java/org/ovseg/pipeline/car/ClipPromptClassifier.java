package org.ovseg.pipeline.car;

import java.util.List;
import java.util.Map;
import org.ovseg.OvsegException;
import org.ovseg.engine.Engine;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.common.Bicubic;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbedder;

/**
 * CaR's mask classifier: a second CLIP scores every visual-prompted image against the current
 * queries. For each of the 15 official templates, P_t = softmax(100·cos(image_i, text_{t,j}))
 * over the queries j; then S = softmax_j(Σ_t P_t). All prompted images of a step go through the
 * image network as one batch. Preprocessing as CLIP's own: short side to 224 with PIL's bicubic
 * (the native twin {@link org.ovseg.kernel.PilResize}, bit-exact; see {@link #RESIZE_PROPERTY}), centre crop 224, /255, CLIP normalisation. Thread-safe if the engines are.
 */
public final class ClipPromptClassifier implements CarLoop.PromptClassifier {
    /** The official 15 templates. */
    public static final List<String> TEMPLATES = List.of("a clean origami {}.", "a photo of a {}.", "This is a photo of a {}",
            "There is a {} in the scene", "There is the {} in the scene", "a photo of a {} in the scene", "a photo of a small {}.",
            "a photo of a medium {}.", "a photo of a large {}.", "This is a photo of a small {}.", "This is a photo of a medium {}.",
            "This is a photo of a large {}.", "There is a small {} in the scene.", "There is a medium {} in the scene.",
            "There is a large {} in the scene.");
    private static final int SIZE = 224;
    /** Texts embedded as given (the templates are applied by the caller). */
    private static final PromptTemplates RAW = new PromptTemplates("car:raw", List.of("{}"));

    /**
     * System property choosing who resizes the classifier input: "auto" (the default: the native
     * twin, libovseg_cpu), "java" ({@link org.ovseg.image.PilBicubic}), "native", or "cuda"
     * (libovseg_cuda, only with the networks on TensorRT; opt-in until it has run on GPU
     * hardware: so far checked in the host emulation). All four are bit-identical.
     */
    public static final String RESIZE_PROPERTY = "ovseg.car.resize";

    /** Who resizes; every choice gives the same bytes (Pillow's). */
    enum Resizer {
        JAVA, NATIVE, CUDA;

        byte[] resize(byte[] rgb, int w, int h, int ow, int oh) {
            return switch (this) {
                case JAVA -> org.ovseg.image.PilBicubic.resize(rgb, w, h, ow, oh);
                case NATIVE -> org.ovseg.kernel.PilResize.resize(rgb, w, h, ow, oh, org.ovseg.kernel.PilResize.Target.CPU);
                case CUDA -> org.ovseg.kernel.PilResize.resize(rgb, w, h, ow, oh, org.ovseg.kernel.PilResize.Target.CUDA);
            };
        }
    }

    /** @return the resizer {@link #RESIZE_PROPERTY} asks for, given where the networks run */
    static Resizer resizer(org.ovseg.engine.Backend networks) {
        String want = System.getProperty(RESIZE_PROPERTY, "auto").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (want) {
            // the native twin on both paths: PilResizeBench on the 2-core AMD EPYC, 513x513 -> 224: Java 21 ms,
            // native 5.4 ms; 2048x1536 -> 298x224: 169 vs 67 ms (noisy, shared machine; same bytes either way)
            case "auto", "native" -> Resizer.NATIVE;
            case "java" -> Resizer.JAVA;
            case "cuda" -> {
                if (networks != org.ovseg.engine.Backend.TENSORRT) {
                    throw new OvsegException("-D" + RESIZE_PROPERTY + "=cuda needs the networks on TensorRT (--backend tensorrt)");
                }
                yield Resizer.CUDA;
            }
            default -> throw new OvsegException("-D" + RESIZE_PROPERTY + " must be auto, java, native or cuda, is '" + want + "'");
        };
    }

    private final Engine image;
    private final TextEmbedder text;
    private final Resizer resizer;
    private final float[] mean;
    private final float[] std;
    private final float logitScale;

    /**
     * @param image classifier image network: pixel_values [N,3,224,224] → image_embeds [N,E]
     * @param text classifier text embedder (its own text tower)
     */
    public ClipPromptClassifier(Engine image, TextEmbedder text, float[] mean, float[] std, float logitScale) {
        this.image = image;
        this.text = text;
        this.resizer = resizer(image.backend());
        this.mean = mean.clone();
        this.std = std.clone();
        this.logitScale = logitScale;
    }

    @Override
    public float[][] score(List<RgbImage> prompted, List<String> queries) {
        List<List<String>> groups = new java.util.ArrayList<>();
        for (String t : TEMPLATES) groups.add(queries.stream().map(n -> t.replace("{}", n)).toList());
        return scoreGroups(prompted, groups, false);
    }

    @Override
    public float[][] scoreGroups(List<RgbImage> prompted, List<List<String>> groups, boolean flat) {
        int n = prompted.size(), q = groups.get(0).size();
        float[][] img = embedImages(prompted);
        double[][] sum = new double[n][q];
        for (List<String> g : groups) {
            float[][] txt = text.embed(g, RAW);
            for (int i = 0; i < n; i++) {
                double[] logits = new double[q];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < q; j++) {
                    double s = 0;
                    for (int e = 0; e < img[i].length; e++) s += img[i][e] * txt[j][e];
                    logits[j] = logitScale * s;
                    mx = Math.max(mx, logits[j]);
                }
                double z = 0;
                for (int j = 0; j < q; j++) z += Math.exp(logits[j] - mx);
                for (int j = 0; j < q; j++) sum[i][j] += Math.exp(logits[j] - mx) / z;
            }
        }
        float[][] s = new float[n][q];
        if (flat) {
            for (int i = 0; i < n; i++) for (int j = 0; j < q; j++) s[i][j] = (float) sum[i][j];
            return s;
        }
        for (int i = 0; i < n; i++) {
            double mx = Double.NEGATIVE_INFINITY, z = 0;
            for (double v : sum[i]) mx = Math.max(mx, v);
            for (double v : sum[i]) z += Math.exp(v - mx);
            for (int j = 0; j < q; j++) s[i][j] = (float) (Math.exp(sum[i][j] - mx) / z);
        }
        return s;
    }

    private float[][] embedImages(List<RgbImage> images) {
        int n = images.size();
        float[] batch = new float[n * 3 * SIZE * SIZE];
        for (int i = 0; i < n; i++) System.arraycopy(preprocess(images.get(i)), 0, batch, i * 3 * SIZE * SIZE, 3 * SIZE * SIZE);
        float[] emb;
        try (HostTensor in = HostTensor.of(batch, n, 3, SIZE, SIZE)) {
            Map<String, HostTensor> out = image.run(Map.of("pixel_values", in));
            try {
                HostTensor e = out.get("image_embeds");
                if (e == null) throw new OvsegException("classifier image network has no output 'image_embeds'");
                emb = e.toFloatArray();
            } finally {
                out.values().forEach(HostTensor::close);
            }
        }
        int E = emb.length / n;
        float[][] rows = new float[n][E];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int e = 0; e < E; e++) norm += (double) emb[i * E + e] * emb[i * E + e];
            float inv = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
            for (int e = 0; e < E; e++) rows[i][e] = emb[i * E + e] * inv;
        }
        return rows;
    }

    /**
     * CLIP's preprocessing as torchvision runs it: Resize(224) puts the short side at 224 and the
     * long side at int(224·long/short) (truncated), CenterCrop(224) starts at
     * int(round((side − 224)/2)) (Python's round: halves to even); bicubic, CLIP-normalised, planar.
     */
    float[] preprocess(RgbImage img) {
        int w = img.width(), h = img.height();
        int rw = w <= h ? SIZE : (int) ((long) SIZE * w / h), rh = w <= h ? (int) ((long) SIZE * h / w) : SIZE;
        int x0 = (int) Math.rint((rw - SIZE) / 2.0), y0 = (int) Math.rint((rh - SIZE) / 2.0);
        // PIL's bicubic on the 8-bit image, as CLIP's preprocessing runs it (torchvision Resize on a
        // PIL image): antialiased when shrinking (the 1-px ellipse and the prompt borders), 8-bit output.
        byte[] r = resizer.resize(img.rgb(), w, h, rw, rh);
        float[] out = new float[3 * SIZE * SIZE];
        for (int y = 0; y < SIZE; y++) {
            for (int x = 0; x < SIZE; x++) {
                int p = ((y + y0) * rw + x + x0) * 3;
                for (int c = 0; c < 3; c++) out[(c * SIZE + y) * SIZE + x] = ((r[p + c] & 0xff) / 255f - mean[c]) / std[c];
            }
        }
        return out;
    }
}

package org.ovseg.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.ovseg.OvsegException;
import org.ovseg.engine.Engine;
import org.ovseg.tensor.HostTensor;

/**
 * Class embeddings from a CLIP text encoder: each label through every template, each prompt's
 * embedding L2-normalised, averaged per label, renormalised (CLIP's zero-shot recipe, which
 * MaskCLIP's prompt script follows).
 *
 * <p>Speed: CLIP's text transformer is causal and pools at the end token, so a prompt's
 * embedding depends only on the tokens up to its end token. Prompts are therefore sorted by
 * length and each batch runs only up to its own longest prompt — exact, not an approximation —
 * instead of padding everything to 77. Embeddings are cached per (model, templates, label).
 *
 * <p>Thread-safety: safe if the engine is (ONNX Runtime's is).
 */
public final class TextEmbedder {
    private static final int BATCH = 64;
    private final Engine engine;
    private final String idsInput;
    private final String embedsOutput;
    private final int contextLength;
    private final int dim;
    private final String modelKey;
    private final TextEmbeddingCache cache;
    private final ClipTokenizer tokenizer = ClipTokenizer.shared();

    /**
     * @param engine text encoder: int64 ids [N, L] → embeddings [N, dim] (projected, not normalised)
     * @param modelKey fingerprint of the model (e.g. the bundle hash) for the cache
     */
    public TextEmbedder(Engine engine, String idsInput, String embedsOutput, int contextLength, int dim,
            String modelKey, TextEmbeddingCache cache) {
        this.engine = engine;
        this.idsInput = idsInput;
        this.embedsOutput = embedsOutput;
        this.contextLength = contextLength;
        this.dim = dim;
        this.modelKey = modelKey;
        this.cache = cache;
    }

    /** @return embedding dimension */
    public int dim() {
        return dim;
    }

    /**
     * Checks that every label fits the text context under every template.
     *
     * @throws OvsegException naming the first label that does not fit
     */
    public void checkFits(List<String> labels, PromptTemplates templates) {
        for (String label : labels) {
            for (int t = 0; t < templates.size(); t++) {
                int n = tokenizer.encode(templates.apply(t, label)).length + 2;
                if (n > contextLength) {
                    throw new OvsegException("label '" + abbreviate(label) + "' is too long for the text context: prompt '"
                            + abbreviate(templates.apply(t, label)) + "' has " + n + " tokens, the model takes " + contextLength);
                }
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }

    /** @return [labels.size()][dim] unit-norm class embeddings */
    public float[][] embed(List<String> labels, PromptTemplates templates) {
        String tkey = templates.fingerprint();
        float[][] out = new float[labels.size()][];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            var hit = cache.get(modelKey, tkey, labels.get(i), dim);
            if (hit.isPresent()) out[i] = hit.get();
            else missing.add(i);
        }
        if (missing.isEmpty()) return out;
        checkFits(missing.stream().map(labels::get).toList(), templates); // cached labels passed it when stored

        record Prompt(int label, int[] ids) {}
        List<Prompt> prompts = new ArrayList<>();
        for (int i : missing) {
            for (int t = 0; t < templates.size(); t++) prompts.add(new Prompt(i, tokenizer.tokenize(templates.apply(t, labels.get(i)), contextLength)));
        }
        prompts.sort(Comparator.comparingInt(p -> p.ids().length));
        double[][] sums = new double[labels.size()][];
        for (int i : missing) sums[i] = new double[dim];
        for (int start = 0; start < prompts.size(); start += BATCH) {
            List<Prompt> batch = prompts.subList(start, Math.min(prompts.size(), start + BATCH));
            int len = batch.get(batch.size() - 1).ids().length; // sorted: the last is the longest
            long[] ids = new long[batch.size() * len]; // zero padding after the end token, as CLIP pads
            for (int r = 0; r < batch.size(); r++) {
                int[] p = batch.get(r).ids();
                for (int j = 0; j < p.length; j++) ids[r * len + j] = p[j];
            }
            float[] emb;
            try (HostTensor in = HostTensor.of(ids, batch.size(), len)) {
                Map<String, HostTensor> res = engine.run(Map.of(idsInput, in));
                try {
                    HostTensor e = res.get(embedsOutput);
                    if (e == null) throw new OvsegException("text encoder has no output '" + embedsOutput + "'");
                    emb = e.toFloatArray();
                } finally {
                    res.values().forEach(HostTensor::close);
                }
            }
            if (emb.length != batch.size() * dim) {
                throw new OvsegException("text encoder returned " + emb.length + " values for " + batch.size() + " prompts of dimension " + dim);
            }
            for (int r = 0; r < batch.size(); r++) {
                double n = 0;
                for (int j = 0; j < dim; j++) n += (double) emb[r * dim + j] * emb[r * dim + j];
                n = Math.max(Math.sqrt(n), 1e-12);
                double[] s = sums[batch.get(r).label()];
                for (int j = 0; j < dim; j++) s[j] += emb[r * dim + j] / n;
            }
        }
        for (int i : missing) {
            double[] s = sums[i];
            double n = 0;
            for (double x : s) n += (x / templates.size()) * (x / templates.size());
            n = Math.max(Math.sqrt(n), 1e-12);
            float[] e = new float[dim];
            for (int j = 0; j < dim; j++) e[j] = (float) (s[j] / templates.size() / n);
            out[i] = e;
            cache.put(modelKey, tkey, labels.get(i), e);
        }
        return out;
    }

    /** @return the embeddings flattened row-major [K·dim] */
    public static float[] flatten(float[][] rows) {
        int dim = rows.length == 0 ? 0 : rows[0].length;
        float[] f = new float[rows.length * dim];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, f, i * dim, dim);
        return f;
    }

    @Override
    public String toString() {
        return "TextEmbedder" + Arrays.asList(idsInput, embedsOutput, dim);
    }
}

package org.ovseg.pipeline.odise;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.ovseg.OvsegException;
import org.ovseg.engine.Engine;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.ClipTokenizer;
import org.ovseg.text.TextEmbeddingCache;

/**
 * Raw (unnormalised) CLIP text embeddings of whole prompts, cached on disk. ODISE's category head
 * projects them with a biased linear layer before normalising, so the shared
 * {@link org.ovseg.text.TextEmbedder} (which normalises and averages templates) does not fit.
 */
final class OdiseText {
    private static final String CACHE_TEMPLATES = "odise-raw-prompt";
    private static final int BATCH = 64;
    private final Engine engine;
    private final int contextLength, dim;
    private final String modelKey;
    private final TextEmbeddingCache cache;
    private final ClipTokenizer tokenizer = ClipTokenizer.shared();

    OdiseText(Engine engine, int contextLength, int dim, String modelKey, TextEmbeddingCache cache) {
        this.engine = engine;
        this.contextLength = contextLength;
        this.dim = dim;
        this.modelKey = modelKey;
        this.cache = cache;
    }

    void checkFits(String prompt) {
        int n = tokenizer.encode(prompt).length + 2;
        if (n > contextLength) {
            throw new OvsegException("prompt '" + (prompt.length() > 60 ? prompt.substring(0, 57) + "..." : prompt) + "' has " + n
                    + " tokens, the text encoder takes " + contextLength);
        }
    }

    /** @return [prompts, dim] row-major */
    float[] embed(List<String> prompts) {
        float[] out = new float[prompts.size() * dim];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            var hit = cache.get(modelKey, CACHE_TEMPLATES, prompts.get(i), dim);
            if (hit.isPresent()) System.arraycopy(hit.get(), 0, out, i * dim, dim);
            else missing.add(i);
        }
        for (int start = 0; start < missing.size(); start += BATCH) {
            List<Integer> batch = missing.subList(start, Math.min(missing.size(), start + BATCH));
            List<int[]> ids = new ArrayList<>();
            int len = 0;
            for (int i : batch) {
                checkFits(prompts.get(i));
                int[] t = tokenizer.tokenize(prompts.get(i), contextLength);
                ids.add(t);
                len = Math.max(len, t.length);
            }
            long[] flat = new long[batch.size() * len]; // zero padding after the end token, as CLIP pads
            for (int r = 0; r < batch.size(); r++) for (int j = 0; j < ids.get(r).length; j++) flat[r * len + j] = ids.get(r)[j];
            float[] emb;
            try (HostTensor in = HostTensor.of(flat, batch.size(), len)) {
                Map<String, HostTensor> res = engine.run(Map.of("input_ids", in));
                try {
                    HostTensor e = res.get("text_embeds");
                    if (e == null) throw new OvsegException("text encoder has no output 'text_embeds'");
                    emb = e.toFloatArray();
                } finally {
                    res.values().forEach(HostTensor::close);
                }
            }
            if (emb.length != batch.size() * dim) throw new OvsegException("text encoder returned " + emb.length + " values for " + batch.size() + " prompts of width " + dim);
            for (int r = 0; r < batch.size(); r++) {
                int i = batch.get(r);
                float[] row = java.util.Arrays.copyOfRange(emb, r * dim, (r + 1) * dim);
                System.arraycopy(row, 0, out, i * dim, dim);
                cache.put(modelKey, CACHE_TEMPLATES, prompts.get(i), row);
            }
        }
        return out;
    }
}

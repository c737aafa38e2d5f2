package org.ovseg.pipeline.ovsegmentor;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.ovseg.OvsegException;
import org.ovseg.engine.Engine;
import org.ovseg.tensor.HostTensor;
import org.ovseg.text.PromptTemplates;
import org.ovseg.text.TextEmbeddingCache;
import org.ovseg.text.WordPieceTokenizer;

/**
 * Class embeddings from OVSegmentor's text side: each label through every template, WordPiece
 * ids ([CLS] … [SEP], truncated to the context as the official tokenizer call does) through
 * BERT and the projection MLP (one graph), the template embeddings averaged <em>before</em>
 * L2-normalising (the official build_text_embedding; CLIP's recipe normalises each prompt first).
 *
 * <p>Prompts are batched by length with an attention mask, so padding never changes a result.
 * Embeddings are cached per (bundle, templates, label) on disk like CLIP's.
 *
 * <p>Thread-safety: safe if the engine is (ONNX Runtime's is).
 */
final class BertTextEncoder {
    static final String IDS = "input_ids", MASK = "attention_mask", OUTPUT = "text_embeds";
    private static final int BATCH = 64;
    private final Engine engine;
    private final WordPieceTokenizer tokenizer;
    private final int contextLength;
    private final int dim;
    private final String modelKey;
    private final TextEmbeddingCache cache;

    BertTextEncoder(Engine engine, WordPieceTokenizer tokenizer, int contextLength, int dim, String modelKey, TextEmbeddingCache cache) {
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.contextLength = contextLength;
        this.dim = dim;
        this.modelKey = modelKey;
        this.cache = cache;
    }

    /** @return [labels][dim] unit-norm class embeddings */
    float[][] embed(List<String> labels, PromptTemplates templates) {
        String tkey = "bert:" + templates.fingerprint();
        float[][] out = new float[labels.size()][];
        List<Integer> missing = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) {
            var hit = cache.get(modelKey, tkey, labels.get(i), dim);
            if (hit.isPresent()) out[i] = hit.get();
            else missing.add(i);
        }
        if (missing.isEmpty()) return out;
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
            int len = batch.get(batch.size() - 1).ids().length;
            long[] ids = new long[batch.size() * len], mask = new long[batch.size() * len];
            java.util.Arrays.fill(ids, tokenizer.padId());
            for (int r = 0; r < batch.size(); r++) {
                int[] p = batch.get(r).ids();
                for (int j = 0; j < p.length; j++) {
                    ids[r * len + j] = p[j];
                    mask[r * len + j] = 1;
                }
            }
            float[] emb = run(ids, mask, batch.size(), len);
            for (int r = 0; r < batch.size(); r++) {
                double[] s = sums[batch.get(r).label()];
                for (int j = 0; j < dim; j++) s[j] += emb[r * dim + j];
            }
        }
        for (int i : missing) {
            double n = 0;
            for (double x : sums[i]) n += x * x;
            n = Math.max(Math.sqrt(n), 1e-12); // the mean's norm is the sum's over T: the 1/T cancels
            float[] e = new float[dim];
            for (int j = 0; j < dim; j++) e[j] = (float) (sums[i][j] / n);
            out[i] = e;
            cache.put(modelKey, tkey, labels.get(i), e);
        }
        return out;
    }

    private float[] run(long[] ids, long[] mask, int rows, int len) {
        try (HostTensor a = HostTensor.of(ids, rows, len); HostTensor b = HostTensor.of(mask, rows, len)) {
            Map<String, HostTensor> res = engine.run(Map.of(IDS, a, MASK, b));
            try {
                HostTensor e = res.get(OUTPUT);
                if (e == null) throw new OvsegException("text encoder has no output '" + OUTPUT + "'");
                float[] emb = e.toFloatArray();
                if (emb.length != rows * dim) {
                    throw new OvsegException("text encoder returned " + emb.length + " values for " + rows + " prompts of dimension " + dim);
                }
                return emb;
            } finally {
                res.values().forEach(HostTensor::close);
            }
        }
    }
}

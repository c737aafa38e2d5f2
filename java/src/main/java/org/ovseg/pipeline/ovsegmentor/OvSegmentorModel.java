package org.ovseg.pipeline.ovsegmentor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.ovseg.bundle.BundleException;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.engine.Engine;
import org.ovseg.engine.EngineOptions;
import org.ovseg.engine.Engines;
import org.ovseg.engine.ProfileHints;
import org.ovseg.engine.TensorSpec;
import org.ovseg.text.TextEmbeddingCache;
import org.ovseg.text.VocabularyException;
import org.ovseg.text.WordPieceTokenizer;

/**
 * An opened OVSegmentor bundle (pipeline "ovsegmentor", written by
 * tools/export/export_ovsegmentor.py): the image encoder as two graphs around the grouping
 * block's assignment, the text graph, the position table and the WordPiece vocabulary.
 *
 * <p>Networks: "stage1" pixel_values [1,3,H,W], pos_embed [1,P,C] → assign_q [1,G,C], assign_k,
 * assign_v [1,P,C], group_tokens [1,G,C]; "stage2" bound, group_tokens [1,G,C] → group_embeds
 * [1,G,E], image_embed [1,E]; "text" input_ids, attention_mask [N,L] int64 → text_embeds [N,E].
 * Array "pos_embed" [g², C]. File vocab.txt beside bundle.json.
 *
 * @param stage1 patch embedding, stage-1 blocks and the grouping block up to the assignment
 * @param stage2 the rest of the grouping block, stage-2 blocks, the projection MLP
 * @param text BERT and its projection
 * @param positions the square position table [grid², C] (no class row)
 * @param grid its side
 * @param width C
 * @param groups G, the output groups
 * @param embedDim E
 * @param patch patch size
 * @param mean normalisation mean (RGB, 0–1)
 * @param std normalisation std
 * @param logitScale min(exp(learned logit scale), 100), as the official inference clamps it
 */
record OvSegmentorModel(Engine stage1, Engine stage2, BertTextEncoder text, Engine textEngine, float[] positions, int grid,
        int width, int groups, int embedDim, int patch, float[] mean, float[] std, float logitScale) implements AutoCloseable {
    static final String STAGE1 = "stage1", STAGE2 = "stage2", TEXT = "text";
    static final String PIXELS = "pixel_values", POS = "pos_embed", Q = "assign_q", K = "assign_k", V = "assign_v",
            GROUP_TOKENS = "group_tokens", BOUND = "bound", GROUP_EMBEDS = "group_embeds", IMAGE_EMBED = "image_embed";
    static final String VOCAB = "vocab.txt", TOKENIZER = "bert-wordpiece-uncased";

    /** Opens the engines; the caller owns (and closes) the result. */
    static OvSegmentorModel load(ModelBundle bundle, EngineOptions engineOptions, TextEmbeddingCache cache, ProfileHints hints) {
        BundleManifest m = bundle.manifest();
        Path manifest = bundle.dir().resolve(BundleLoader.MANIFEST);
        if (!m.pipeline().equals(OvSegmentorMethod.NAME)) {
            throw new BundleException(manifest, "pipeline", "is '" + m.pipeline() + "', not '" + OvSegmentorMethod.NAME + "'");
        }
        requireSpecs(bundle, STAGE1, List.of(PIXELS, POS), List.of(Q, K, V, GROUP_TOKENS));
        requireSpecs(bundle, STAGE2, List.of(BOUND, GROUP_TOKENS), List.of(GROUP_EMBEDS, IMAGE_EMBED));
        requireSpecs(bundle, TEXT, List.of(BertTextEncoder.IDS, BertTextEncoder.MASK), List.of(BertTextEncoder.OUTPUT));
        if (!m.text().tokenizer().equals(TOKENIZER)) {
            throw new BundleException(manifest, "text.tokenizer", "is '" + m.text().tokenizer() + "'; OVSegmentor's BERT needs '" + TOKENIZER + "'");
        }
        WordPieceTokenizer tokenizer = tokenizer(bundle.dir().resolve(VOCAB));
        BundleManifest.Preprocessing pre = m.preprocessing();
        int C = pre.width(), grid = pre.positionGrid(), E = m.embedDim();
        float[] pos = bundle.array(POS).data();
        if (C <= 0 || grid <= 0 || pos.length != grid * grid * C) {
            throw new BundleException(manifest, "arrays.pos_embed", "holds " + pos.length + " values, expected position_grid² · width = "
                    + grid + "² · " + C);
        }
        int G = groups(bundle, manifest);
        Engine s1 = null, s2 = null, t = null;
        try {
            s1 = Engines.open(bundle, STAGE1, engineOptions, hints);
            s2 = Engines.open(bundle, STAGE2, engineOptions, hints);
            t = Engines.open(bundle, TEXT, engineOptions, hints);
            BertTextEncoder text = new BertTextEncoder(t, tokenizer, m.text().contextLength(), E, bundle.manifestSha256(), cache);
            float logitScale = (float) Math.min(m.logitScale(), 100.0);
            return new OvSegmentorModel(s1, s2, text, t, pos, grid, C, G, E, pre.patchSize(), triple(pre.mean()), triple(pre.std()), logitScale);
        } catch (RuntimeException e) {
            for (Engine x : new Engine[] {s1, s2, t}) if (x != null) x.close();
            throw e;
        }
    }

    private static WordPieceTokenizer tokenizer(Path vocab) {
        if (!Files.isRegularFile(vocab)) {
            throw new BundleException(vocab, "text.tokenizer", TOKENIZER + " needs the checkpoint's vocab.txt beside bundle.json; it is missing");
        }
        try {
            return WordPieceTokenizer.fromVocab(vocab, true);
        } catch (IOException e) {
            throw new BundleException(vocab, "text.tokenizer", "cannot read the vocabulary: " + e.getMessage(), e);
        } catch (VocabularyException e) {
            throw new BundleException(vocab, "text.tokenizer", e.getMessage(), e);
        }
    }

    /** Every input and output the pipeline feeds or reads must be declared (the loader checked the ONNX files against the declarations). */
    private static void requireSpecs(ModelBundle bundle, String role, List<String> inputs, List<String> outputs) {
        BundleManifest.Network n = bundle.network(role);
        Path manifest = bundle.dir().resolve(BundleLoader.MANIFEST);
        for (String in : inputs) {
            if (n.inputs().stream().noneMatch(s -> s.name().equals(in))) {
                throw new BundleException(manifest, "networks." + role + ".inputs", "graph '" + role + "' has no input '" + in
                        + "' (it has " + names(n.inputs()) + "; OVSegmentor's " + role + " graph takes " + String.join(", ", inputs) + ")");
            }
        }
        for (String out : outputs) {
            if (n.outputs().stream().noneMatch(s -> s.name().equals(out))) {
                throw new BundleException(manifest, "networks." + role + ".outputs", "graph '" + role + "' has no output '" + out
                        + "' (it has " + names(n.outputs()) + "; OVSegmentor's " + role + " graph gives " + String.join(", ", outputs) + ")");
            }
        }
    }

    private static String names(List<TensorSpec> specs) {
        return specs.isEmpty() ? "none" : String.join(", ", specs.stream().map(TensorSpec::name).toList());
    }

    /** G from stage 1's declared assign_q shape [1, G, C]. */
    private static int groups(ModelBundle bundle, Path manifest) {
        TensorSpec q = bundle.network(STAGE1).outputs().stream().filter(s -> s.name().equals(Q)).findFirst().orElseThrow();
        long[] dims = q.shape();
        if (dims.length != 3 || dims[1] <= 0) {
            throw new BundleException(manifest, "networks.stage1.outputs", "assign_q must be declared [1, G, C] with a fixed G, is " + q.describe());
        }
        return (int) dims[1];
    }

    private static float[] triple(List<Double> v) {
        return new float[] {v.get(0).floatValue(), v.get(1).floatValue(), v.get(2).floatValue()};
    }

    @Override
    public void close() {
        try {
            stage1.close();
        } finally {
            try {
                stage2.close();
            } finally {
                textEngine.close();
            }
        }
    }
}

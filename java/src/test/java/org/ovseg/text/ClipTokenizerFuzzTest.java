package org.ovseg.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for the CLIP BPE tokenizer: any text must tokenise without an exception. Without
 * JAZZER_FUZZ this replays the kept inputs under {@code ClipTokenizerFuzzTestInputs/encode/};
 * with JAZZER_FUZZ=1 it fuzzes (README, Fuzzing).
 */
class ClipTokenizerFuzzTest {
    private static final ClipTokenizer TOKENIZER = new ClipTokenizer();

    @FuzzTest(maxDuration = "10m")
    void encode(byte[] utf8) {
        String text = new String(utf8, StandardCharsets.UTF_8);
        int[] ids = TOKENIZER.encode(text);
        for (int id : ids) assertTrue(id >= 0 && id < ClipTokenizer.VOCAB_SIZE, "id " + id + " out of the vocabulary");
        int[] context = TOKENIZER.tokenize(text);
        assertTrue(context.length >= 2 && context.length <= ClipTokenizer.CONTEXT_LENGTH);
        assertEquals(ClipTokenizer.END_OF_TEXT, context[context.length - 1]);
        TOKENIZER.decode(ids);
    }
}

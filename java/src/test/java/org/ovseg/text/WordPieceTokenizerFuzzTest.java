package org.ovseg.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Fuzz targets for the BERT WordPiece tokenizer. Without JAZZER_FUZZ they replay the kept inputs
 * under {@code WordPieceTokenizerFuzzTestInputs/<method>/}; with JAZZER_FUZZ=1 they fuzz (README,
 * Fuzzing).
 */
class WordPieceTokenizerFuzzTest {
    private static final WordPieceTokenizer UNCASED = load(true);
    private static final WordPieceTokenizer CASED = load(false);

    /** Any text tokenises without an exception, with ids in range and consistent truncation. */
    @FuzzTest(maxDuration = "10m")
    void encode(byte[] utf8) {
        String text = new String(utf8, StandardCharsets.UTF_8);
        for (WordPieceTokenizer t : List.of(UNCASED, CASED)) {
            int[] ids = t.encode(text);
            for (int id : ids) {
                assertTrue(id >= 0 && id < t.vocabSize(), "id " + id + " out of the vocabulary");
            }
            List<String> pieces = t.pieces(text);
            assertEquals(ids.length, pieces.size());
            int maxLength = 2 + (utf8.length == 0 ? 0 : utf8[0] & 0x1F);
            int[] row = t.tokenize(text, maxLength);
            int kept = Math.min(ids.length, maxLength - 2);
            assertEquals(kept + 2, row.length);
            assertEquals(t.clsId(), row[0]);
            assertEquals(t.sepId(), row[row.length - 1]);
            assertArrayEquals(Arrays.copyOf(ids, kept), Arrays.copyOfRange(row, 1, kept + 1));
        }
    }

    /** Any bytes as vocab.txt give a tokenizer or a one-line VocabularyException, nothing else. */
    @FuzzTest(maxDuration = "10m")
    void vocab(byte[] bytes) {
        WordPieceTokenizer t;
        try {
            t = WordPieceTokenizer.fromVocabBytes("fuzz.txt", bytes, bytes.length % 2 == 0);
        } catch (VocabularyException e) {
            assertFalse(e.getMessage().contains("\n") || e.getMessage().contains("\r"), e.getMessage());
            return;
        }
        for (String text : List.of("a photo of a [MASK] café", "東京タワー 🐱", "x".repeat(150))) {
            for (int id : t.tokenize(text, 16)) {
                assertTrue(id >= 0 && id < t.vocabSize(), "id " + id + " out of the vocabulary");
            }
        }
    }

    private static WordPieceTokenizer load(boolean lowerCase) {
        String name = lowerCase ? "wordpiece_vocab_uncased.txt" : "wordpiece_vocab_cased.txt";
        try (InputStream in = WordPieceTokenizerFuzzTest.class.getResourceAsStream(name)) {
            return WordPieceTokenizer.fromVocabBytes(name, in.readAllBytes(), lowerCase);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package org.ovseg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code ovseg tokenize --wordpiece}; expected pieces are transformers' (wordpiece_golden.tsv). */
class TokenizeCommandTest {

    record Run(int code, String out, String err) {}

    static Run cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static String vocab(String name) throws URISyntaxException {
        return Path.of(TokenizeCommandTest.class.getResource("/org/ovseg/text/" + name).toURI()).toString();
    }

    @Test
    void wordPieceIdsAndPieces() throws URISyntaxException {
        String uncased = vocab("wordpiece_vocab_uncased.txt");
        Run pieces = cli("tokenize", "--wordpiece", uncased, "--pieces", "東京タワー", "🐱 cat", "Bugatti");
        assertEquals(0, pieces.code(), pieces.err());
        assertEquals(List.of("東 京 タワー", "🐱 cat", "bugatti"), pieces.out().strip().lines().toList());
        // the golden row of this text at max_length 5
        Run ids = cli("tokenize", "--wordpiece", uncased, "--context-length", "5", "a photo of a cat sitting on a red car");
        assertEquals(0, ids.code(), ids.err());
        assertEquals("2 43 545 496 3", ids.out().strip());
        Run cased = cli("tokenize", "--wordpiece", vocab("wordpiece_vocab_cased.txt"), "--cased", "--pieces", "café");
        assertEquals("café", cased.out().strip());
    }

    @Test
    void badWordPieceUsageExitsWithTwo() {
        Run missing = cli("tokenize", "--wordpiece", "/nonexistent/vocab.txt", "x");
        assertEquals(2, missing.code());
        assertEquals("error: /nonexistent/vocab.txt: no such file", missing.err().strip());
        Run noVocab = cli("tokenize", "--cased", "x");
        assertEquals(2, noVocab.code());
        assertTrue(noVocab.err().contains("--cased and --pieces need --wordpiece"), noVocab.err());
    }
}

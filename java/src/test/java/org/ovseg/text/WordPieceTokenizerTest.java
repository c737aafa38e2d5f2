package org.ovseg.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link WordPieceTokenizer} against transformers' slow Python BERT tokenizer, through the golden
 * file {@code wordpiece_golden.tsv} written by {@code tools/text/make_wordpiece_golden.py} (hand-
 * picked cases plus 5,000 random strings on two vocabularies trained with the {@code tokenizers}
 * package), and against hand-computed cases on tiny vocabularies.
 */
class WordPieceTokenizerTest {

    private static WordPieceTokenizer uncased;
    private static WordPieceTokenizer cased;
    private static List<Row> golden;

    record Row(int line, boolean uncased, int maxLength, String text, int[] inputIds, int[] encode,
               List<String> pieces) {
    }

    @BeforeAll
    static void load() throws IOException, URISyntaxException {
        uncased = WordPieceTokenizer.fromVocab(resource("wordpiece_vocab_uncased.txt"), true);
        cased = WordPieceTokenizer.fromVocab(resource("wordpiece_vocab_cased.txt"), false);
        golden = new ArrayList<>();
        try (InputStream in = WordPieceTokenizerTest.class.getResourceAsStream("wordpiece_golden.tsv");
             BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
            String line;
            int no = 0;
            while ((line = r.readLine()) != null) {
                no++;
                if (line.startsWith("#")) {
                    continue;
                }
                String[] c = line.split("\t", -1);
                List<String> pieces = new ArrayList<>();
                if (!c[5].isEmpty()) {
                    for (String p : c[5].split(" ")) {
                        pieces.add(unescape(p));
                    }
                }
                golden.add(new Row(no, c[0].equals("uncased"), Integer.parseInt(c[1]), unescape(c[2]), ints(c[3]),
                        ints(c[4]), pieces));
            }
        }
    }

    @Test
    void goldenSetMatchesPythonSlowTokenizer() {
        assertTrue(golden.size() >= 5000, "golden rows: " + golden.size());
        assertEquals(2265, uncased.vocabSize());
        assertEquals(2500, cased.vocabSize());
        List<String> failures = new ArrayList<>();
        int uncasedRows = 0;
        for (Row row : golden) {
            WordPieceTokenizer t = row.uncased() ? uncased : cased;
            uncasedRows += row.uncased() ? 1 : 0;
            int[] ids = t.tokenize(row.text(), row.maxLength());
            int[] enc = t.encode(row.text());
            List<String> pieces = t.pieces(row.text());
            if (!Arrays.equals(ids, row.inputIds()) || !Arrays.equals(enc, row.encode())
                    || !pieces.equals(row.pieces())) {
                failures.add("line " + row.line() + " " + (row.uncased() ? "uncased" : "cased") + " "
                        + escape(row.text()) + ": expected " + row.pieces() + " got " + pieces
                        + (Arrays.equals(ids, row.inputIds()) ? "" : " input_ids " + Arrays.toString(ids)
                        + " expected " + Arrays.toString(row.inputIds())));
            }
        }
        assertTrue(uncasedRows >= 4000, "uncased rows: " + uncasedRows);
        assertTrue(failures.isEmpty(), failures.size() + " of " + golden.size() + " rows differ:\n"
                + String.join("\n", failures.subList(0, Math.min(30, failures.size()))));
    }

    @Test
    void goldenLabelsSpotChecks() {
        // the reference's pieces for a few labels, read from the golden file (guards the parser too)
        assertEquals(List.of("bugatti"), piecesOf(true, "Bugatti"));
        assertEquals(List.of("cafe"), piecesOf(true, "café"));
        assertEquals(List.of("東", "京", "タワー"), piecesOf(true, "東京タワー"));
        assertEquals(List.of("🐱", "cat"), piecesOf(true, "🐱 cat"));
        assertEquals(List.of("café"), piecesOf(false, "café"));
        assertEquals(uncased.pieces("Bugatti"), List.of("bugatti"));
        assertEquals(uncased.pieces("東京タワー"), List.of("東", "京", "タワー"));
    }

    @Test
    void unaffableSplitsGreedilyLongestFirst() {
        // hand-computed on a hand-made vocabulary (the example in BERT's docstring)
        WordPieceTokenizer t = tiny(true, "un", "##aff", "##able", "##a", "a", "##ff", "##b", "##le");
        assertEquals(List.of("un", "##aff", "##able"), t.pieces("unaffable"));
        assertEquals(List.of("un", "##aff", "##able"), t.pieces("UNAFFABLE"));
        WordPieceTokenizer longer = tiny(true, "un", "unaff", "##aff", "##able");
        assertEquals(List.of("unaff", "##able"), longer.pieces("unaffable"));
        // "unaffx": no entry covers "x", so the whole word is one [UNK], not "un ##aff [UNK]"
        assertEquals(List.of("[UNK]"), t.pieces("unaffx"));
        assertEquals(List.of("un", "[UNK]", "a"), t.pieces("un zzz a"));
        // cased: capitals are not in the vocabulary
        WordPieceTokenizer c = tiny(false, "un", "##aff", "##able");
        assertEquals(List.of("[UNK]"), c.pieces("Unaffable"));
        assertEquals(List.of("un", "##aff", "##able"), c.pieces("unaffable"));
    }

    @Test
    void hundredCodePointRuleHasNoOffByOne() {
        WordPieceTokenizer t = tiny(true, "a", "##a", "🐱", "##🐱");
        List<String> hundred = t.pieces("a".repeat(100));
        assertEquals(100, hundred.size());
        assertEquals("a", hundred.get(0));
        assertEquals(Collections.nCopies(99, "##a"), hundred.subList(1, 100));
        assertEquals(List.of("[UNK]"), t.pieces("a".repeat(101)));
        // code points, not UTF-16 units: 100 cats are 200 chars and still pieces
        assertEquals(100, t.pieces("🐱".repeat(100)).size());
        assertEquals(List.of("[UNK]"), t.pieces("🐱".repeat(101)));
        // the limit applies per word after punctuation splitting
        assertEquals(201, t.pieces("a".repeat(100) + "." + "a".repeat(100)).size());
    }

    @Test
    void truncationKeepsTheFirstMaxLengthMinusTwoPieces() {
        WordPieceTokenizer t = tiny(true, "a", "b", "c", "d");
        int cls = t.clsId();
        int sep = t.sepId();
        int a = t.id("a");
        int b = t.id("b");
        int c = t.id("c");
        int d = t.id("d");
        assertArrayEquals(new int[] {a, b, c, d}, t.encode("a b c d"));
        assertArrayEquals(new int[] {cls, a, b, c, d, sep}, t.tokenize("a b c d", 7));
        assertArrayEquals(new int[] {cls, a, b, c, d, sep}, t.tokenize("a b c d", 6));
        assertArrayEquals(new int[] {cls, a, b, c, sep}, t.tokenize("a b c d", 5));
        assertArrayEquals(new int[] {cls, a, sep}, t.tokenize("a b c d", 3));
        assertArrayEquals(new int[] {cls, sep}, t.tokenize("a b c d", 2));
        assertArrayEquals(new int[] {cls, sep}, t.tokenize("", 2));
        assertThrows(IllegalArgumentException.class, () -> t.tokenize("a", 1));
    }

    @Test
    void batchIsPaddedWithThePadIdAndKeepsTrueLengths() {
        // [PAD] deliberately not at id 0, so padding with 0 would be caught
        WordPieceTokenizer t = WordPieceTokenizer.fromVocab(
                List.of("zero", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "cat", "dog"), true);
        assertEquals(4, t.padId());
        TokenBatch batch = t.tokenizeBatch(List.of("cat", "dog cat cat cat", ""), 5);
        assertEquals(3, batch.rows());
        assertEquals(5, batch.contextLength());
        assertArrayEquals(new int[] {2, 5, 3, 4, 4}, batch.row(0));
        assertArrayEquals(new int[] {2, 6, 5, 5, 3}, batch.row(1));
        assertArrayEquals(new int[] {2, 3, 4, 4, 4}, batch.row(2));
        assertArrayEquals(new int[] {3, 5, 2}, batch.lengths());
        for (int r = 0; r < golden.size(); r += 97) {
            Row row = golden.get(r);
            WordPieceTokenizer g = row.uncased() ? uncased : cased;
            TokenBatch one = g.tokenizeBatch(List.of(row.text()), 16);
            int[] expected = Arrays.copyOf(g.tokenize(row.text(), 16), 16);
            Arrays.fill(expected, one.length(0), 16, g.padId());
            assertArrayEquals(expected, one.row(0), "line " + row.line());
        }
    }

    @Test
    void specialTokenIdsComeFromTheVocabulary() {
        assertEquals(0, uncased.padId());
        assertEquals(1, uncased.unkId());
        assertEquals(2, uncased.clsId());
        assertEquals(3, uncased.sepId());
        assertEquals(4, uncased.maskId());
        assertEquals("[MASK]", uncased.token(4));
        assertTrue(uncased.lowerCase());
        assertFalse(cased.lowerCase());
        assertThrows(IllegalArgumentException.class, () -> uncased.token(uncased.vocabSize()));
        WordPieceTokenizer noMask = tiny(true, "x");
        assertEquals(-1, noMask.maskId());
        // without [MASK] in the vocabulary, "[MASK]" is plain text
        assertEquals(List.of("[UNK]", "[UNK]", "[UNK]"), noMask.pieces("[MASK]"));
    }

    @Test
    void malformedVocabulariesAreRejectedWithOneLine(@TempDir Path dir) throws IOException {
        VocabularyException e = assertThrows(VocabularyException.class,
                () -> WordPieceTokenizer.fromVocab(List.of("[PAD]", "[UNK]", "[SEP]"), true));
        assertEquals("vocabulary list: no [CLS] token (a BERT vocabulary lists [PAD], [UNK], [CLS] and [SEP],"
                + " one token per line)", e.getMessage());
        e = assertThrows(VocabularyException.class,
                () -> WordPieceTokenizer.fromVocab(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "[UNK]"), true));
        assertEquals("vocabulary list: line 6 repeats line 2 (\"[UNK]\")", e.getMessage());
        e = assertThrows(VocabularyException.class, () -> WordPieceTokenizer.fromVocab(List.of(), true));
        assertEquals("vocabulary list: the vocabulary is empty", e.getMessage());
        e = assertThrows(VocabularyException.class,
                () -> WordPieceTokenizer.fromVocab(Arrays.asList("[PAD]", null, "[CLS]"), true));
        assertEquals("vocabulary list: entry 2 is null", e.getMessage());

        Path empty = Files.write(dir.resolve("empty.txt"), new byte[0]);
        e = assertThrows(VocabularyException.class, () -> WordPieceTokenizer.fromVocab(empty, true));
        assertEquals(empty + ": the vocabulary is empty", e.getMessage());
        Path noSep = Files.writeString(dir.resolve("nosep.txt"), "[PAD]\n[UNK]\n[CLS]\nx\n");
        e = assertThrows(VocabularyException.class, () -> WordPieceTokenizer.fromVocab(noSep, true));
        assertTrue(e.getMessage().startsWith(noSep + ": no [SEP] token"), e.getMessage());
        Path dup = Files.writeString(dir.resolve("dup.txt"), "[PAD]\n[UNK]\n[CLS]\n[SEP]\nx\r\nx\n");
        e = assertThrows(VocabularyException.class, () -> WordPieceTokenizer.fromVocab(dup, true));
        assertEquals(dup + ": line 6 repeats line 5 (\"x\")", e.getMessage());
        Path bad = Files.write(dir.resolve("bad.txt"), new byte[] {'[', 'P', 'A', 'D', ']', '\n', (byte) 0xC3, '\n'});
        e = assertThrows(VocabularyException.class, () -> WordPieceTokenizer.fromVocab(bad, true));
        assertEquals(bad + ": line 2 is not valid UTF-8", e.getMessage());
        assertThrows(IOException.class, () -> WordPieceTokenizer.fromVocab(dir.resolve("missing.txt"), true));
        for (Throwable t : List.of(e)) {
            assertFalse(t.getMessage().contains("\n"));
        }
    }

    @Test
    void vocabularyFileLinesEndAtLfCrOrCrlf(@TempDir Path dir) throws IOException {
        // Python's universal newlines: every one of these files is the same 6-entry vocabulary
        for (String nl : List.of("\n", "\r\n", "\r")) {
            Path p = Files.writeString(dir.resolve("v.txt"),
                    String.join(nl, "[PAD]", "[UNK]", "[CLS]", "[SEP]", "cat", "##s") + nl);
            WordPieceTokenizer t = WordPieceTokenizer.fromVocab(p, true);
            assertEquals(6, t.vocabSize());
            assertEquals(List.of("cat", "##s"), t.pieces("Cats"));
        }
    }

    @Test
    void sharedInstanceGivesTheSameIdsFromManyThreads() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int k = 0; k < 4; k++) {
                int offset = k;
                done.add(pool.submit(() -> {
                    int ok = 0;
                    for (int i = offset % 2; i < golden.size(); i += 2) {
                        Row row = golden.get(i);
                        WordPieceTokenizer t = row.uncased() ? uncased : cased;
                        ok += Arrays.equals(row.inputIds(), t.tokenize(row.text(), row.maxLength())) ? 1 : 0;
                    }
                    return ok;
                }));
            }
            int total = 0;
            for (Future<Integer> f : done) {
                total += f.get();
            }
            assertEquals(2 * golden.size(), total);
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------------------ helpers

    private static List<String> piecesOf(boolean isUncased, String text) {
        for (Row row : golden) {
            if (row.uncased() == isUncased && row.text().equals(text)) {
                return row.pieces();
            }
        }
        throw new AssertionError("not in the golden file: " + text);
    }

    private static WordPieceTokenizer tiny(boolean lowerCase, String... entries) {
        List<String> v = new ArrayList<>(List.of("[PAD]", "[UNK]", "[CLS]", "[SEP]"));
        v.addAll(List.of(entries));
        return WordPieceTokenizer.fromVocab(v, lowerCase);
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(WordPieceTokenizerTest.class.getResource(name).toURI());
    }

    private static int[] ints(String s) {
        return s.isEmpty() ? new int[0] : Arrays.stream(s.split(" ")).mapToInt(Integer::parseInt).toArray();
    }

    static String unescape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char k = s.charAt(++i);
            if (k == '\\') {
                sb.append('\\');
            } else if (k == 'u') {
                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                i += 4;
            } else if (k == 'U') {
                sb.appendCodePoint(Integer.parseInt(s.substring(i + 1, i + 9), 16));
                i += 8;
            } else {
                throw new IllegalArgumentException("bad escape in golden file: " + s);
            }
        }
        return sb.toString();
    }

    private static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        s.codePoints().forEach(cp -> {
            if (cp >= 0x20 && cp < 0x7F) {
                sb.appendCodePoint(cp);
            } else {
                sb.append(String.format(cp > 0xFFFF ? "\\U%08x" : "\\u%04x", cp));
            }
        });
        return sb.toString();
    }
}

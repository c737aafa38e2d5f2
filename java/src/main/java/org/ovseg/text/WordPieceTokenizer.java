package org.ovseg.text;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * BERT's WordPiece tokenizer, reproducing transformers' slow Python tokenizer
 * ({@code BertTokenizer} up to transformers 4.x, {@code BertTokenizerLegacy} in 5.x) with its
 * defaults: {@code do_basic_tokenize=True}, {@code tokenize_chinese_chars=True},
 * {@code strip_accents=None} (so accents are stripped exactly when lower-casing), the special
 * tokens {@code [UNK] [SEP] [PAD] [CLS] [MASK]}, and {@code truncation=True} for
 * {@link #tokenize(String, int)}.
 *
 * <h2>Pipeline</h2>
 * <ol>
 *   <li>The raw text is cut at every occurrence of a special token present in the vocabulary
 *       ({@code "a[SEP]b"} gives {@code a}, {@code [SEP]}, {@code b}); the special tokens map to
 *       their ids, case-sensitively, and each piece between them goes through the steps below on
 *       its own.</li>
 *   <li>Cleaning: U+0000, U+FFFD and every character of a general category C* except tab, line
 *       feed and carriage return are deleted; those three, the space and category Zs become a
 *       space.</li>
 *   <li>Every CJK ideograph in BERT's ranges (U+4E00-9FFF, 3400-4DBF, F900-FAFF, 20000-2A6DF,
 *       2A700-2CEAF, 2F800-2FA1F) is surrounded by spaces; then NFC.</li>
 *   <li>Words are the runs between Python {@code str.isspace()} characters. A word that is a
 *       special token stays as it is. Otherwise, when lower-casing, it goes through Python
 *       {@code str.lower()} (full mappings, final sigma decided within the word) and then NFD with
 *       every Mn character deleted.</li>
 *   <li>Every punctuation character (ASCII 33-47, 58-64, 91-96, 123-126, and category P*) becomes
 *       a word of its own.</li>
 *   <li>WordPiece per word: a word of more than 100 code points is {@code [UNK]}; otherwise the
 *       longest vocabulary entry that is a prefix is taken, then the longest {@code ##}-prefixed
 *       entry for the rest, and so on; a word that cannot be covered is one {@code [UNK]}.</li>
 * </ol>
 * Lengths and substrings count code points (Python characters), not UTF-16 units. Categories
 * come from the generated resource {@code wordpiece_tables.txt} (Python 3.11, Unicode 14.0) and
 * {@code str.lower()}/{@code str.isspace()} from {@code clip_text_tables.txt}; NFC and NFD are
 * the JDK's ({@link Normalizer}, Unicode 13.0 on Java 17), which differ from Python's only for
 * sequences with combining marks first assigned in Unicode 14.0 (checked on Java 17 for every code
 * point alone and next to U+0316 and U+0301: the 40 that differ are all new in 14.0). Uncased,
 * 39 of them are Mn and deleted anyway.
 *
 * <h2>Differences from the fast tokenizer</h2>
 * transformers 5's {@code BertTokenizer} (the {@code tokenizers} library) disagrees with the slow
 * one on some inputs, and this class follows the slow one: the fast one has no NFC step, lowers
 * without the final-sigma rule, does not rejoin a special token split by a deleted control
 * character, and uses other Unicode tables.
 *
 * <h2>Thread safety</h2>
 * Immutable after construction; safe to share between threads.
 */
public final class WordPieceTokenizer {

    /** Words longer than this many code points become {@code [UNK]} (BERT's max_input_chars_per_word). */
    public static final int MAX_WORD_CODE_POINTS = 100;

    private static final String CLS = "[CLS]";
    private static final String SEP = "[SEP]";
    private static final String PAD = "[PAD]";
    private static final String UNK = "[UNK]";
    private static final String MASK = "[MASK]";
    private static final String CONTINUATION = "##";

    private final String[] tokens;
    private final Map<String, Integer> ids;
    private final boolean lowerCase;
    private final int cls;
    private final int sep;
    private final int pad;
    private final int unk;
    private final int mask;
    /** Special tokens present in the vocabulary, matched in the raw text. */
    private final String[] specials;
    /** Longest vocabulary entry in code points: no longer substring can match. */
    private final int maxEntryCodePoints;

    private WordPieceTokenizer(String source, List<String> vocab, boolean lowerCase) {
        if (vocab.isEmpty()) {
            throw new VocabularyException(source + ": the vocabulary is empty");
        }
        String[] t = new String[vocab.size()];
        Map<String, Integer> map = new HashMap<>(vocab.size() * 2);
        int longest = 0;
        for (int i = 0; i < t.length; i++) {
            String token = vocab.get(i);
            if (token == null) {
                throw new VocabularyException(source + ": entry " + (i + 1) + " is null");
            }
            Integer previous = map.putIfAbsent(token, i);
            if (previous != null) {
                throw new VocabularyException(source + ": line " + (i + 1) + " repeats line " + (previous + 1)
                        + " (" + quote(token) + ")");
            }
            t[i] = token;
            longest = Math.max(longest, token.codePointCount(0, token.length()));
        }
        this.tokens = t;
        this.ids = map;
        this.lowerCase = lowerCase;
        this.cls = required(source, CLS);
        this.sep = required(source, SEP);
        this.pad = required(source, PAD);
        this.unk = required(source, UNK);
        this.mask = map.getOrDefault(MASK, -1);
        this.specials = mask >= 0 ? new String[] {UNK, SEP, PAD, CLS, MASK} : new String[] {UNK, SEP, PAD, CLS};
        this.maxEntryCodePoints = longest;
    }

    /**
     * Loads a BERT {@code vocab.txt}: UTF-8, one token per line, the id of a token being its
     * 0-based line index (lines end at LF, CR or CRLF, as Python reads the file).
     *
     * @param vocabTxt  the vocabulary file
     * @param lowerCase true for uncased checkpoints (lower-casing and accent stripping), false for
     *                  cased ones
     * @return the tokenizer
     * @throws IOException         if the file cannot be read
     * @throws VocabularyException if it is not UTF-8, is empty, repeats a token or lacks one of
     *                             [CLS], [SEP], [PAD], [UNK]
     */
    public static WordPieceTokenizer fromVocab(Path vocabTxt, boolean lowerCase) throws IOException {
        Objects.requireNonNull(vocabTxt, "vocabTxt");
        return fromVocabBytes(vocabTxt.toString(), Files.readAllBytes(vocabTxt), lowerCase);
    }

    /** {@link #fromVocab(Path, boolean)} on the file's bytes; {@code source} names it in messages. */
    static WordPieceTokenizer fromVocabBytes(String source, byte[] bytes, boolean lowerCase) {
        CharBuffer chars = CharBuffer.allocate(bytes.length);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        CoderResult result = decoder.decode(in, chars, true);
        if (!result.isError()) {
            result = decoder.flush(chars);
        }
        if (result.isError()) {
            throw new VocabularyException(source + ": line " + lineOfByte(bytes, in.position())
                    + " is not valid UTF-8");
        }
        return new WordPieceTokenizer(source, splitLines(chars.flip().toString()), lowerCase);
    }

    /** Lines as Python's universal-newline reading gives them: ended by LF, CRLF or CR. */
    private static List<String> splitLines(String s) {
        List<String> lines = new ArrayList<>();
        int start = 0;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r') {
                lines.add(s.substring(start, i));
                if (c == '\r' && i + 1 < n && s.charAt(i + 1) == '\n') {
                    i++;
                }
                start = i + 1;
            }
        }
        if (start < n) {
            lines.add(s.substring(start));
        }
        return lines;
    }

    private static int lineOfByte(byte[] bytes, int offset) {
        int line = 1;
        for (int i = 0; i < offset; i++) {
            if (bytes[i] == '\n' || (bytes[i] == '\r' && (i + 1 >= bytes.length || bytes[i + 1] != '\n'))) {
                line++;
            }
        }
        return line;
    }

    /**
     * Builds a tokenizer from the vocabulary's tokens in id order.
     *
     * @param vocab     the tokens, the id of each being its index
     * @param lowerCase true for uncased checkpoints, false for cased ones
     * @return the tokenizer
     * @throws VocabularyException if the list is empty, holds null or a repeated token, or lacks
     *                             one of [CLS], [SEP], [PAD], [UNK]
     */
    public static WordPieceTokenizer fromVocab(List<String> vocab, boolean lowerCase) {
        // a plain copy (List.copyOf rejects null before the constructor could say which entry)
        return new WordPieceTokenizer("vocabulary list", new ArrayList<>(Objects.requireNonNull(vocab, "vocab")),
                lowerCase);
    }

    /**
     * The word pieces of {@code text}, without [CLS]/[SEP] and without truncation (Python
     * {@code BertTokenizer.tokenize(text)}).
     *
     * @param text any text, not null
     * @return the pieces, each a vocabulary entry (unknown words are "[UNK]")
     */
    public List<String> pieces(String text) {
        int[] idsOfText = encode(text);
        List<String> out = new ArrayList<>(idsOfText.length);
        for (int id : idsOfText) {
            out.add(tokens[id]);
        }
        return out;
    }

    /**
     * The ids of {@link #pieces(String)} (Python {@code encode(text, add_special_tokens=False)}).
     *
     * @param text any text, not null
     * @return the ids, possibly empty
     */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(Math.max(8, text.length() / 3));
        encodeInto(text, out);
        return out.toArray();
    }

    /**
     * {@code [CLS]} + the ids of {@code text} + {@code [SEP]}, keeping only the first
     * {@code maxLength - 2} pieces when there are more (Python
     * {@code tokenizer(text, truncation=True, max_length=maxLength)["input_ids"]}); not padded.
     *
     * @param text      any text, not null
     * @param maxLength the maximum number of ids, at least 2
     * @return between 2 and {@code maxLength} ids
     */
    public int[] tokenize(String text, int maxLength) {
        checkMaxLength(maxLength);
        Objects.requireNonNull(text, "text");
        IntList out = new IntList(Math.min(maxLength, 16));
        out.add(cls);
        encodeInto(text, out);
        int n = Math.min(out.size(), maxLength - 1);
        int[] row = Arrays.copyOf(out.data(), n + 1);
        row[n] = sep;
        return row;
    }

    /**
     * Tokenises each text as {@link #tokenize(String, int)} and packs the rows into a row-major
     * {@code [texts.size(), maxLength]} array padded with {@link #padId()} (Python
     * {@code padding="max_length"}), with each row's true length, [CLS] and [SEP] included.
     *
     * @param texts     texts, none null
     * @param maxLength the row length, at least 2
     * @return the padded batch
     */
    public TokenBatch tokenizeBatch(List<String> texts, int maxLength) {
        checkMaxLength(maxLength);
        int n = texts.size();
        int[] flat = new int[Math.multiplyExact(n, maxLength)];
        Arrays.fill(flat, pad);
        int[] lengths = new int[n];
        for (int r = 0; r < n; r++) {
            int[] row = tokenize(Objects.requireNonNull(texts.get(r), "text"), maxLength);
            System.arraycopy(row, 0, flat, r * maxLength, row.length);
            lengths[r] = row.length;
        }
        return new TokenBatch(n, maxLength, flat, lengths);
    }

    /** @return the id of [CLS] */
    public int clsId() {
        return cls;
    }

    /** @return the id of [SEP] */
    public int sepId() {
        return sep;
    }

    /** @return the id of [PAD] (0 in Google's BERT vocabularies) */
    public int padId() {
        return pad;
    }

    /** @return the id of [UNK] */
    public int unkId() {
        return unk;
    }

    /** @return the id of [MASK], or -1 if the vocabulary has none */
    public int maskId() {
        return mask;
    }

    /** @return the number of vocabulary entries */
    public int vocabSize() {
        return tokens.length;
    }

    /** @return whether this tokenizer lower-cases and strips accents (uncased checkpoints) */
    public boolean lowerCase() {
        return lowerCase;
    }

    /**
     * @param id a token id in {@code [0, vocabSize())}
     * @return the vocabulary entry of that id
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String token(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new IllegalArgumentException("token id out of range [0, " + tokens.length + "): " + id);
        }
        return tokens[id];
    }

    /**
     * @param token a vocabulary entry
     * @return its id, or -1 if the vocabulary does not hold it
     */
    public int id(String token) {
        return ids.getOrDefault(token, -1);
    }

    // ------------------------------------------------------------------------------ encoding

    private void encodeInto(String text, IntList out) {
        int n = text.length();
        int from = 0;
        int i = text.indexOf('[');
        while (i >= 0) {
            int special = specialAt(text, i);
            if (special >= 0) {
                if (i > from) {
                    encodeSegment(text.substring(from, i), out);
                }
                String s = tokens[special];
                out.add(special);
                from = i + s.length();
                i = text.indexOf('[', from);
            } else {
                i = text.indexOf('[', i + 1);
            }
        }
        if (from < n) {
            encodeSegment(from == 0 ? text : text.substring(from), out);
        }
    }

    /** Id of the special token starting at {@code i}, or -1. */
    private int specialAt(String text, int i) {
        // No special token is a prefix of another or can overlap one ('[' and ']' only at the
        // ends), so the first match at the leftmost position is the one the reference's trie finds.
        for (String s : specials) {
            if (text.startsWith(s, i)) {
                return ids.get(s);
            }
        }
        return -1;
    }

    /** BasicTokenizer then WordPiece on a piece of text that holds no special token. */
    private void encodeSegment(String segment, IntList out) {
        String s = Normalizer.normalize(cleanAndPadCjk(segment), Normalizer.Form.NFC);
        int n = s.length();
        int i = 0;
        while (i < n) {
            while (i < n && isPySpace(s.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < n && !isPySpace(s.charAt(i))) {
                i++;
            }
            if (i > start) {
                encodeWord(s.substring(start, i), out);
            }
        }
    }

    /** One whitespace-delimited word of the cleaned text. */
    private void encodeWord(String word, IntList out) {
        Integer special = ids.get(word);
        if (special != null && isSpecial(word)) {
            // never_split: a special token that only appears once control characters are deleted
            out.add(special);
            return;
        }
        String w = word;
        if (lowerCase) {
            w = stripAccents(ClipTextCleaner.pyLower(w));
        }
        int n = w.length();
        int start = 0;
        int i = 0;
        while (i < n) {
            int cp = w.codePointAt(i);
            int len = Character.charCount(cp);
            if (isPunctuation(cp) || (cp < 0x10000 && isPySpace((char) cp))) {
                if (i > start) {
                    wordPiece(w.substring(start, i), out);
                }
                if (isPunctuation(cp)) {
                    wordPiece(w.substring(i, i + len), out);
                }
                start = i + len;
            }
            i += len;
        }
        if (start < n) {
            wordPiece(start == 0 ? w : w.substring(start), out);
        }
    }

    private boolean isSpecial(String word) {
        for (String s : specials) {
            if (s.equals(word)) {
                return true;
            }
        }
        return false;
    }

    /** Greedy longest-match-first WordPiece of one word (no whitespace, no punctuation inside). */
    private void wordPiece(String word, IntList out) {
        int[] cps = word.codePoints().toArray();
        int n = cps.length;
        if (n > MAX_WORD_CODE_POINTS) {
            out.add(unk);
            return;
        }
        int mark = out.size();
        int start = 0;
        while (start < n) {
            int prefix = start > 0 ? CONTINUATION.length() : 0;
            int end = Math.min(n, start + Math.max(0, maxEntryCodePoints - prefix));
            int found = -1;
            while (end > start) {
                String sub = new String(cps, start, end - start);
                Integer id = ids.get(start > 0 ? CONTINUATION + sub : sub);
                if (id != null) {
                    found = id;
                    break;
                }
                end--;
            }
            if (found < 0) {
                out.truncate(mark);
                out.add(unk);
                return;
            }
            out.add(found);
            start = end;
        }
    }

    private static String cleanAndPadCjk(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 8);
        int i = 0;
        int n = text.length();
        while (i < n) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == 0 || cp == 0xFFFD || WordPieceTables.has(cp, WordPieceTables.CONTROL)) {
                continue;
            }
            if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || WordPieceTables.has(cp, WordPieceTables.ZS)) {
                sb.append(' ');
            } else if (isCjk(cp)) {
                sb.append(' ').appendCodePoint(cp).append(' ');
            } else {
                sb.appendCodePoint(cp);
            }
        }
        return sb.toString();
    }

    private static String stripAccents(String s) {
        String d = Normalizer.normalize(s, Normalizer.Form.NFD);
        StringBuilder sb = null;
        int i = 0;
        int n = d.length();
        while (i < n) {
            int cp = d.codePointAt(i);
            int len = Character.charCount(cp);
            if (WordPieceTables.has(cp, WordPieceTables.MN)) {
                if (sb == null) {
                    sb = new StringBuilder(n);
                    sb.append(d, 0, i);
                }
            } else if (sb != null) {
                sb.appendCodePoint(cp);
            }
            i += len;
        }
        return sb == null ? d : sb.toString();
    }

    /** BERT's "Chinese character": the CJK Unified Ideographs blocks it lists, nothing else. */
    static boolean isCjk(int cp) {
        return (cp >= 0x4E00 && cp <= 0x9FFF)
                || (cp >= 0x3400 && cp <= 0x4DBF)
                || (cp >= 0x20000 && cp <= 0x2A6DF)
                || (cp >= 0x2A700 && cp <= 0x2B73F)
                || (cp >= 0x2B740 && cp <= 0x2B81F)
                || (cp >= 0x2B820 && cp <= 0x2CEAF)
                || (cp >= 0xF900 && cp <= 0xFAFF)
                || (cp >= 0x2F800 && cp <= 0x2FA1F);
    }

    /** BERT's punctuation: all non-alphanumeric printable ASCII, plus Unicode category P*. */
    static boolean isPunctuation(int cp) {
        return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96)
                || (cp >= 123 && cp <= 126) || WordPieceTables.has(cp, WordPieceTables.PUNCTUATION);
    }

    private static boolean isPySpace(char c) {
        // every str.isspace() character is in the BMP; surrogates are not spaces
        return ClipTextTables.has(c, ClipTextTables.PY_SPACE);
    }

    private int required(String source, String token) {
        Integer id = ids.get(token);
        if (id == null) {
            throw new VocabularyException(source + ": no " + token + " token (a BERT vocabulary lists "
                    + "[PAD], [UNK], [CLS] and [SEP], one token per line)");
        }
        return id;
    }

    private static String quote(String token) {
        StringBuilder sb = new StringBuilder(token.length() + 2).append('"');
        token.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7F) {
                sb.append(String.format("\\u%04x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.append('"').toString();
    }

    private static void checkMaxLength(int maxLength) {
        if (maxLength < 2) {
            throw new IllegalArgumentException("maxLength must be at least 2 ([CLS] and [SEP]): " + maxLength);
        }
    }

    /** Growable int array. */
    private static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, Math.max(8, size * 2));
            }
            a[size++] = v;
        }

        void truncate(int n) {
            size = n;
        }

        int size() {
            return size;
        }

        int[] data() {
            return a;
        }

        int[] toArray() {
            return Arrays.copyOf(a, size);
        }
    }
}

package org.ovseg.text;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.zip.GZIPInputStream;

/**
 * OpenAI CLIP's byte-level BPE tokenizer ({@code clip/simple_tokenizer.py} plus the
 * {@code clip.tokenize} framing), reproduced exactly.
 *
 * <h2>Pipeline</h2>
 * <ol>
 *   <li>{@code ftfy.fix_text} (ftfy 6.x defaults, see "Differences" below), then Python
 *       {@code html.unescape} twice, then {@code str.strip()};</li>
 *   <li>runs of {@code regex} {@code \s} become one space, {@code str.strip()}, then Python
 *       {@code str.lower()} (full mapping, e.g. U+0130 to "i&#x307;", and the final-sigma rule);</li>
 *   <li>pre-tokenisation with CLIP's pattern
 *       {@code <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
 *       under IGNORECASE with the {@code regex} module's semantics (so {@code 'ſ} counts as
 *       {@code 's}, and U+0345 matches no alternative and is dropped);</li>
 *   <li>each piece's UTF-8 bytes go through GPT-2's {@code bytes_to_unicode} alphabet and are
 *       merged by BPE rank with {@code </w>} on the last symbol; a piece that is exactly
 *       {@code <|startoftext|>} or {@code <|endoftext|>} maps to its special id.</li>
 * </ol>
 * Character classes, case mappings and the ftfy/HTML tables come from the generated resource
 * {@code clip_text_tables.txt} (Python 3.11 / Unicode 14 for {@code str} methods, the
 * {@code regex} module's own Unicode tables for {@code \p{L}}, {@code \p{N}}, {@code \s}), so
 * results do not depend on the JDK's Unicode version. The vocabulary
 * {@code bpe_simple_vocab_16e6.txt.gz} is loaded from the classpath once per class loader and
 * verified by SHA-256.
 *
 * <h2>Differences from the Python reference</h2>
 * Only inside {@code ftfy.fix_text}:
 * <ul>
 *   <li>{@code fix_encoding} (mojibake repair: the {@code is_bad} badness heuristic, re-encoding
 *       as latin-1 / sloppy-windows-125x / mac-roman / cp437 and re-decoding as UTF-8,
 *       {@code restore_byte_a0}, {@code replace_lossy_sequences},
 *       {@code decode_inconsistent_utf8}) is not replicated. Text that ftfy would not consider
 *       mojibake is unaffected; text such as "cafÃ©" is tokenised as written, where Python would
 *       first turn it into "café". (The C1-control step that {@code fix_encoding} may apply is
 *       still applied, as ftfy's separate {@code fix_c1_controls} step does it anyway.)</li>
 *   <li>NFC normalisation and the {@code \d} of the terminal-escape pattern use the JDK's
 *       Unicode data (Unicode 13 on Java 17) rather than Python 3.11's (Unicode 14); this only
 *       matters for characters assigned after Unicode 13.</li>
 * </ul>
 * Everything else ftfy does by default is reproduced: HTML entity decoding in "auto" mode (per
 * line, switched off from the first line that contains {@code <}, including ftfy's upper-case
 * entity names), C1 controls as windows-1252, Latin ligatures, full/half-width forms, curly
 * quotes, line breaks, lone surrogates to U+FFFD, ANSI terminal escapes, control characters,
 * NFC, all repeated until nothing changes.
 *
 * <h2>Thread safety</h2>
 * Instances are immutable after construction and safe to share between threads. The only
 * mutable state is a bounded, lock-free, direct-mapped cache of BPE results per piece whose
 * entries are immutable and published through an {@link AtomicReferenceArray}; concurrent use
 * can only cause redundant recomputation, never a different result.
 */
public final class ClipTokenizer {

    /** Id of {@code <|startoftext|>}. */
    public static final int START_OF_TEXT = 49406;
    /** Id of {@code <|endoftext|>}. */
    public static final int END_OF_TEXT = 49407;
    /** CLIP's context length. */
    public static final int CONTEXT_LENGTH = 77;
    /** Vocabulary size (49408). */
    public static final int VOCAB_SIZE = 49408;
    /** Default number of cache slots. */
    public static final int DEFAULT_CACHE_SLOTS = 1 << 16;

    static final String VOCAB_RESOURCE = "bpe_simple_vocab_16e6.txt.gz";
    static final String VOCAB_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a";
    static final int MERGES = 49152 - 256 - 2;

    private static final class Shared {
        static final Vocab VOCAB = Vocab.load();
        static final ClipTokenizer DEFAULT = new ClipTokenizer();
    }

    private final Vocab vocab;
    private final AtomicReferenceArray<CacheEntry> cache;
    private final int cacheMask;

    /** Creates a tokenizer with {@value #DEFAULT_CACHE_SLOTS} cache slots, sharing the loaded vocabulary. */
    public ClipTokenizer() {
        this(DEFAULT_CACHE_SLOTS);
    }

    /**
     * Creates a tokenizer sharing the (once-loaded) vocabulary.
     *
     * @param cacheSlots upper bound on the number of cached BPE results; rounded up to a power of
     *                   two; {@code 0} disables the cache
     * @throws IllegalStateException if the vocabulary or table resource is missing or corrupt
     */
    public ClipTokenizer(int cacheSlots) {
        if (cacheSlots < 0 || cacheSlots > (1 << 24)) {
            throw new IllegalArgumentException("cacheSlots must be in [0, 2^24]: " + cacheSlots);
        }
        this.vocab = Shared.VOCAB;
        int slots = cacheSlots == 0 ? 0 : Integer.highestOneBit(Math.max(1, cacheSlots - 1) << 1);
        if (cacheSlots == 1) {
            slots = 1;
        }
        this.cache = slots == 0 ? null : new AtomicReferenceArray<>(slots);
        this.cacheMask = slots - 1;
    }

    /**
     * Returns a process-wide shared instance.
     *
     * @return the shared tokenizer
     * @throws IllegalStateException if the vocabulary or table resource is missing or corrupt
     */
    public static ClipTokenizer shared() {
        return Shared.DEFAULT;
    }

    /**
     * BPE token ids of {@code text}, without start/end tokens and without truncation (the
     * equivalent of Python {@code SimpleTokenizer.encode}).
     *
     * @param text any text, not null
     * @return the ids, possibly empty
     */
    public int[] encode(String text) {
        IntList out = new IntList(16);
        encodeInto(text, out);
        return out.toArray();
    }

    /**
     * {@code [<|startoftext|>] + encode(text) + [<|endoftext|>]}, truncated to
     * {@value #CONTEXT_LENGTH} ids with {@code <|endoftext|>} kept as the last id (as
     * {@code clip.tokenize(text, truncate=True)}, without padding).
     *
     * @param text any text, not null
     * @return between 2 and 77 ids
     */
    public int[] tokenize(String text) {
        return tokenize(text, CONTEXT_LENGTH);
    }

    /**
     * Like {@link #tokenize(String)} with a custom context length.
     *
     * @param text          any text, not null
     * @param contextLength maximum number of ids, at least 2
     * @return between 2 and {@code contextLength} ids
     */
    public int[] tokenize(String text, int contextLength) {
        checkContext(contextLength);
        IntList out = new IntList(16);
        out.add(START_OF_TEXT);
        encodeInto(text, out);
        out.add(END_OF_TEXT);
        int[] ids = out.toArray();
        if (ids.length > contextLength) {
            ids = Arrays.copyOf(ids, contextLength);
            ids[contextLength - 1] = END_OF_TEXT;
        }
        return ids;
    }

    /**
     * Tokenises each text as {@link #tokenize(String, int)} and packs the rows into a zero-padded
     * row-major {@code [texts.size(), contextLength]} array (CLIP convention), with each row's true
     * length.
     *
     * @param texts         texts, none null
     * @param contextLength row length, at least 2 (CLIP uses 77)
     * @return the padded batch
     */
    public TokenBatch tokenizeBatch(List<String> texts, int contextLength) {
        checkContext(contextLength);
        int n = texts.size();
        int[] flat = new int[Math.multiplyExact(n, contextLength)];
        int[] lengths = new int[n];
        IntList row = new IntList(32);
        for (int r = 0; r < n; r++) {
            row.clear();
            row.add(START_OF_TEXT);
            encodeInto(Objects.requireNonNull(texts.get(r), "text"), row);
            row.add(END_OF_TEXT);
            int len = Math.min(row.size(), contextLength);
            System.arraycopy(row.data(), 0, flat, r * contextLength, len);
            flat[r * contextLength + len - 1] = END_OF_TEXT;
            lengths[r] = len;
        }
        return new TokenBatch(n, contextLength, flat, lengths);
    }

    /**
     * Inverse mapping as Python {@code SimpleTokenizer.decode}: the ids' strings are concatenated,
     * mapped back to bytes, decoded as UTF-8 with U+FFFD for malformed sequences, and every
     * {@code </w>} becomes a space. Special tokens decode to their literal text.
     *
     * @param ids token ids, each in {@code [0, 49408)}
     * @return the decoded text
     * @throws IllegalArgumentException for an id outside the vocabulary
     */
    public String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            if (id < 0 || id >= VOCAB_SIZE) {
                throw new IllegalArgumentException("token id out of range: " + id);
            }
            String s = vocab.strings[id];
            for (int i = 0; i < s.length(); i++) {
                bytes.write(vocab.charToByte[s.charAt(i)]);
            }
        }
        return decodeUtf8Replace(bytes.toByteArray()).replace("</w>", " ");
    }

    /**
     * UTF-8 decoding with one U+FFFD per maximal invalid subpart, as Python's
     * {@code bytes.decode("utf-8", errors="replace")} (the JDK decoder groups some cases
     * differently, e.g. an encoded surrogate).
     */
    static String decodeUtf8Replace(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length);
        int n = b.length;
        int i = 0;
        while (i < n) {
            int b0 = b[i] & 0xFF;
            if (b0 < 0x80) {
                sb.append((char) b0);
                i++;
                continue;
            }
            int need;
            int lo = 0x80;
            int hi = 0xBF;
            int cp;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
                cp = b0 & 0x1F;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                cp = b0 & 0x0F;
                if (b0 == 0xE0) {
                    lo = 0xA0;
                } else if (b0 == 0xED) {
                    hi = 0x9F;
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                cp = b0 & 0x07;
                if (b0 == 0xF0) {
                    lo = 0x90;
                } else if (b0 == 0xF4) {
                    hi = 0x8F;
                }
            } else {
                sb.append('\uFFFD');
                i++;
                continue;
            }
            int j = i + 1;
            boolean ok = true;
            for (int k = 0; k < need; k++, j++) {
                int bk = j < n ? b[j] & 0xFF : -1;
                int l = k == 0 ? lo : 0x80;
                int h = k == 0 ? hi : 0xBF;
                if (bk < l || bk > h) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (bk & 0x3F);
            }
            if (ok) {
                sb.appendCodePoint(cp);
            } else {
                sb.append('\uFFFD');
            }
            i = j;
        }
        return sb.toString();
    }

    /**
     * The string of a vocabulary entry, in the byte-level alphabet (e.g. {@code "cat</w>"}).
     *
     * @param id token id in {@code [0, 49408)}
     * @return the vocabulary string
     */
    public String vocabEntry(int id) {
        if (id < 0 || id >= VOCAB_SIZE) {
            throw new IllegalArgumentException("token id out of range: " + id);
        }
        return vocab.strings[id];
    }

    /**
     * Runs the integrity checks of vocabulary loading on the given gzip bytes (package-private,
     * for tests).
     *
     * @throws IllegalStateException if the bytes are not the expected vocabulary
     */
    static void verifyVocabulary(byte[] gz) {
        Vocab.fromGzip(gz);
    }

    private static void checkContext(int contextLength) {
        if (contextLength < 2) {
            throw new IllegalArgumentException("contextLength must be at least 2: " + contextLength);
        }
    }

    // ------------------------------------------------------------------------------ encoding

    private void encodeInto(String text, IntList out) {
        String s = ClipTextCleaner.clean(Objects.requireNonNull(text, "text"));
        int n = s.length();
        int i = 0;
        while (i < n) {
            int cp = s.codePointAt(i);
            int end = matchAt(s, i, cp);
            if (end < 0) {
                i += Character.charCount(cp); // whitespace (or U+0345): matches no alternative
                continue;
            }
            appendPiece(s.substring(i, end), out);
            i = end;
        }
    }

    private static boolean ci(char expected, char actual) {
        // after str.lower() only 'ſ' (U+017F) still case-folds onto a pattern letter ('s')
        return actual == expected || (expected == 's' && actual == '\u017f');
    }

    private static int matchLiteral(String s, int i, String lit) {
        int n = lit.length();
        if (i + n > s.length()) {
            return -1;
        }
        for (int k = 0; k < n; k++) {
            if (!ci(lit.charAt(k), s.charAt(i + k))) {
                return -1;
            }
        }
        return i + n;
    }

    private static final String[] CONTRACTIONS = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

    /** End of the match of CLIP's pattern at {@code i}, or -1 when no alternative matches. */
    private static int matchAt(String s, int i, int cp) {
        int n = s.length();
        if (cp == '<') {
            int e = matchLiteral(s, i, "<|startoftext|>");
            if (e < 0) {
                e = matchLiteral(s, i, "<|endoftext|>");
            }
            if (e >= 0) {
                return e;
            }
        } else if (cp == '\'') {
            for (String c : CONTRACTIONS) {
                int e = matchLiteral(s, i, c);
                if (e >= 0) {
                    return e;
                }
            }
        }
        byte f = ClipTextTables.flags(cp);
        if ((f & ClipTextTables.LETTER) != 0) {
            int j = i + Character.charCount(cp);
            while (j < n) {
                int c = s.codePointAt(j);
                if (!ClipTextTables.has(c, ClipTextTables.LETTER)) {
                    break;
                }
                j += Character.charCount(c);
            }
            return j;
        }
        if ((f & ClipTextTables.NUMBER) != 0) {
            return i + Character.charCount(cp);
        }
        if ((f & (ClipTextTables.REGEX_SPACE | ClipTextTables.NO_MATCH)) != 0) {
            return -1;
        }
        int j = i + Character.charCount(cp);
        while (j < n) {
            int c = s.codePointAt(j);
            if ((ClipTextTables.flags(c) & (ClipTextTables.LETTER | ClipTextTables.NUMBER
                    | ClipTextTables.REGEX_SPACE | ClipTextTables.NO_MATCH)) != 0) {
                break;
            }
            j += Character.charCount(c);
        }
        return j;
    }

    private void appendPiece(String piece, IntList out) {
        if (cache == null) {
            out.addAll(bpe(piece));
            return;
        }
        int h = piece.hashCode();
        int slot = (h ^ (h >>> 16)) & cacheMask;
        CacheEntry e = cache.get(slot);
        if (e != null && e.hash == h && e.key.equals(piece)) {
            out.addAll(e.ids);
            return;
        }
        int[] ids = bpe(piece);
        cache.set(slot, new CacheEntry(piece, h, ids));
        out.addAll(ids);
    }

    /** BPE of one pre-tokenised piece (already cleaned and lowered). */
    private int[] bpe(String piece) {
        if (piece.equals("<|startoftext|>")) {
            return new int[] {START_OF_TEXT};
        }
        if (piece.equals("<|endoftext|>")) {
            return new int[] {END_OF_TEXT};
        }
        byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
        int m = utf8.length;
        int[] word = new int[m];
        for (int k = 0; k < m; k++) {
            word[k] = vocab.byteToId[utf8[k] & 0xFF];
        }
        word[m - 1] += 256; // the same symbol with </w>
        while (m > 1) {
            int bestRank = Integer.MAX_VALUE;
            int first = -1;
            int second = -1;
            for (int k = 0; k + 1 < m; k++) {
                int r = vocab.rank(word[k], word[k + 1]);
                if (r >= 0 && r < bestRank) {
                    bestRank = r;
                    first = word[k];
                    second = word[k + 1];
                }
            }
            if (first < 0) {
                break;
            }
            int merged = 512 + bestRank;
            int w = 0;
            for (int k = 0; k < m; ) {
                if (k + 1 < m && word[k] == first && word[k + 1] == second) {
                    word[w++] = merged;
                    k += 2;
                } else {
                    word[w++] = word[k++];
                }
            }
            m = w;
        }
        return Arrays.copyOf(word, m);
    }

    private static final class CacheEntry {
        final String key;
        final int hash;
        final int[] ids;

        CacheEntry(String key, int hash, int[] ids) {
            this.key = key;
            this.hash = hash;
            this.ids = ids;
        }
    }

    // ------------------------------------------------------------------------------ vocabulary

    /** The immutable vocabulary and merge table. */
    private static final class Vocab {
        final String[] strings = new String[VOCAB_SIZE];
        final int[] byteToId = new int[256];
        final byte[] charToByte = new byte[512];
        /** Open addressing: key (first << 16 | second) + 1, 0 = empty; value = merge rank. */
        final int[] keys;
        final int[] ranks;
        final int mask;

        private Vocab(List<String> mergeLines) {
            // GPT-2 bytes_to_unicode: printable bytes keep their code point, the others get 256+n
            int[] order = new int[256];
            char[] symbol = new char[256];
            boolean[] printable = new boolean[256];
            int k = 0;
            for (int b = 0; b < 256; b++) {
                if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
                    printable[b] = true;
                    order[k] = b;
                    symbol[k++] = (char) b;
                }
            }
            int extra = 0;
            for (int b = 0; b < 256; b++) {
                if (!printable[b]) {
                    order[k] = b;
                    symbol[k++] = (char) (256 + extra++);
                }
            }
            Map<String, Integer> ids = new HashMap<>(VOCAB_SIZE * 2);
            for (int i = 0; i < 256; i++) {
                strings[i] = String.valueOf(symbol[i]);
                strings[256 + i] = symbol[i] + "</w>";
                byteToId[order[i]] = i;
                charToByte[symbol[i]] = (byte) order[i];
            }
            for (int i = 0; i < 512; i++) {
                ids.put(strings[i], i);
            }
            int cap = Integer.highestOneBit(MERGES * 3);
            keys = new int[cap];
            ranks = new int[cap];
            mask = cap - 1;
            for (int r = 0; r < MERGES; r++) {
                String line = mergeLines.get(r);
                int sp = line.indexOf(' ');
                if (sp <= 0 || sp != line.lastIndexOf(' ') || sp == line.length() - 1) {
                    throw new IllegalStateException("corrupt CLIP BPE vocabulary: bad merge line " + (r + 2));
                }
                Integer a = ids.get(line.substring(0, sp));
                Integer b = ids.get(line.substring(sp + 1));
                if (a == null || b == null) {
                    throw new IllegalStateException("corrupt CLIP BPE vocabulary: merge line " + (r + 2)
                            + " uses an unknown symbol");
                }
                String merged = line.substring(0, sp) + line.substring(sp + 1);
                int id = 512 + r;
                strings[id] = merged;
                if (ids.putIfAbsent(merged, id) != null) {
                    throw new IllegalStateException("corrupt CLIP BPE vocabulary: duplicate entry " + merged);
                }
                int key = (a << 16 | b) + 1;
                int slot = mix(key) & mask;
                while (keys[slot] != 0) {
                    if (keys[slot] == key) {
                        throw new IllegalStateException("corrupt CLIP BPE vocabulary: duplicate merge " + line);
                    }
                    slot = (slot + 1) & mask;
                }
                keys[slot] = key;
                ranks[slot] = r;
            }
            strings[START_OF_TEXT] = "<|startoftext|>";
            strings[END_OF_TEXT] = "<|endoftext|>";
        }

        private static int mix(int x) {
            x *= 0x9E3779B9;
            return x ^ (x >>> 15);
        }

        int rank(int a, int b) {
            int key = (a << 16 | b) + 1;
            int slot = mix(key) & mask;
            while (true) {
                int k = keys[slot];
                if (k == key) {
                    return ranks[slot];
                }
                if (k == 0) {
                    return -1;
                }
                slot = (slot + 1) & mask;
            }
        }

        static Vocab load() {
            byte[] gz;
            try (InputStream in = ClipTokenizer.class.getResourceAsStream(VOCAB_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("classpath resource org/ovseg/text/" + VOCAB_RESOURCE + " is missing");
                }
                gz = in.readAllBytes();
            } catch (IOException e) {
                throw new IllegalStateException("cannot read org/ovseg/text/" + VOCAB_RESOURCE, e);
            }
            return fromGzip(gz);
        }

        static Vocab fromGzip(byte[] gz) {
            String digest = sha256(gz);
            if (!digest.equals(VOCAB_SHA256)) {
                throw new IllegalStateException("corrupt CLIP BPE vocabulary org/ovseg/text/" + VOCAB_RESOURCE
                        + ": sha256 " + digest + ", expected " + VOCAB_SHA256 + " (" + gz.length + " bytes)");
            }
            String text;
            try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
                text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalStateException("corrupt CLIP BPE vocabulary (gzip)", e);
            }
            List<String> lines = Arrays.asList(text.split("\n", -1));
            if (lines.size() < MERGES + 1) {
                throw new IllegalStateException("corrupt CLIP BPE vocabulary: only " + lines.size() + " lines");
            }
            return new Vocab(lines.subList(1, MERGES + 1));
        }

        private static String sha256(byte[] data) {
            try {
                byte[] d = MessageDigest.getInstance("SHA-256").digest(data);
                StringBuilder sb = new StringBuilder(64);
                for (byte x : d) {
                    sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
                }
                return sb.toString();
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException("SHA-256 not available", e);
            }
        }
    }

    /** Minimal growable int list. */
    private static final class IntList {
        private int[] a;
        private int size;

        IntList(int capacity) {
            a = new int[capacity];
        }

        void add(int v) {
            if (size == a.length) {
                a = Arrays.copyOf(a, size * 2);
            }
            a[size++] = v;
        }

        void addAll(int[] v) {
            if (size + v.length > a.length) {
                a = Arrays.copyOf(a, Math.max(a.length * 2, size + v.length));
            }
            System.arraycopy(v, 0, a, size, v.length);
            size += v.length;
        }

        void clear() {
            size = 0;
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

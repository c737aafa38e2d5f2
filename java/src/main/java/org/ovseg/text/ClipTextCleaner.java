package org.ovseg.text;

import java.text.Normalizer;

/**
 * The text clean-up of CLIP's {@code simple_tokenizer.py}:
 * {@code whitespace_clean(basic_clean(text)).lower()}, where {@code basic_clean} is
 * {@code ftfy.fix_text}, {@code html.unescape} twice, then {@code str.strip()}.
 *
 * <p>{@link #fixText} reproduces ftfy 6.x {@code fix_text} with its default configuration,
 * except the mojibake repair of {@code fix_encoding} (see {@link ClipTokenizer} for the exact
 * list). Stateless; all methods are thread-safe.
 */
final class ClipTextCleaner {

    /** ftfy's default {@code max_decode_length}, in code points. */
    private static final int MAX_DECODE_LENGTH = 1_000_000;

    private ClipTextCleaner() {
    }

    /** The whole clean-up: ftfy, html.unescape x2, strip, {@code \s+} collapse, strip, lower. */
    static String clean(String text) {
        String s = fixText(text);
        s = htmlUnescape(htmlUnescape(s));
        s = pyStrip(s);
        s = collapseWhitespace(s);
        s = pyStrip(s);
        return pyLower(s);
    }

    // ------------------------------------------------------------------------------ ftfy

    /** ftfy.fix_text with default settings, without fix_encoding's mojibake heuristics. */
    static String fixText(String text) {
        if (isPlainAscii(text)) {
            return text; // no default ftfy step changes printable ASCII without '&'
        }
        StringBuilder out = new StringBuilder(text.length());
        boolean unescape = true; // unescape_html="auto", switched off for good by the first '<'
        int pos = 0;
        int n = text.length();
        while (pos < n) {
            int nl = text.indexOf('\n', pos);
            int end = nl < 0 ? n : nl + 1;
            if (text.codePointCount(pos, end) > MAX_DECODE_LENGTH) {
                end = text.offsetByCodePoints(pos, MAX_DECODE_LENGTH);
            }
            String segment = text.substring(pos, end);
            if (unescape && segment.indexOf('<') >= 0) {
                unescape = false;
            }
            out.append(fixSegment(segment, unescape));
            pos = end;
        }
        return out.toString();
    }

    private static boolean isPlainAscii(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7E || c == '&') {
                return false;
            }
        }
        return true;
    }

    /** ftfy.fix_and_explain on one segment: the fixers in ftfy's order until nothing changes. */
    private static String fixSegment(String text, boolean unescapeHtml) {
        while (true) {
            String orig = text;
            if (unescapeHtml) {
                text = ftfyUnescapeHtml(text);
            }
            // fix_encoding: not replicated (mojibake detection and re-decoding).
            text = ftfyTranslate(text);       // fix_c1_controls, fix_latin_ligatures, fix_character_width, uncurl_quotes
            text = fixLineBreaks(text);
            text = fixSurrogates(text);
            text = removeTerminalEscapes(text);
            text = removeControlChars(text);
            if (!Normalizer.isNormalized(text, Normalizer.Form.NFC)) {
                text = Normalizer.normalize(text, Normalizer.Form.NFC);
            }
            if (text.equals(orig)) {
                return text;
            }
        }
    }

    private static boolean isAsciiAlnum(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    /** ftfy.fixes.unescape_html: {@code &#?[0-9A-Za-z]{1,24};} with ftfy's entity table. */
    static String ftfyUnescapeHtml(String s) {
        int amp = s.indexOf('&');
        if (amp < 0) {
            return s;
        }
        StringBuilder sb = null;
        int copied = 0;
        int n = s.length();
        for (int i = amp; i < n; i++) {
            if (s.charAt(i) != '&') {
                continue;
            }
            int j = i + 1;
            if (j < n && s.charAt(j) == '#') {
                j++;
            }
            int start = j;
            while (j < n && j - start < 25 && isAsciiAlnum(s.charAt(j))) {
                j++;
            }
            int len = j - start;
            if (len < 1 || len > 24 || j >= n || s.charAt(j) != ';') {
                continue;
            }
            String entity = s.substring(i, j + 1);
            String repl = ClipTextTables.FTFY_ENTITIES.get(entity);
            if (repl == null && entity.startsWith("&#")) {
                String u = htmlUnescape(entity);
                repl = u.indexOf(';') >= 0 ? entity : u;
            }
            if (repl == null) {
                repl = entity;
            }
            if (sb == null) {
                sb = new StringBuilder(n);
            }
            sb.append(s, copied, i).append(repl);
            copied = j + 1;
            i = j;
        }
        if (sb == null) {
            return s;
        }
        sb.append(s, copied, n);
        return sb.toString();
    }

    /** Composite per-character translation (C1 controls, Latin ligatures, width, curly quotes). */
    private static String ftfyTranslate(String s) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            int cp = s.codePointAt(i);
            if (ClipTextTables.ftfyTranslates(cp)) {
                break;
            }
            i += Character.charCount(cp);
        }
        if (i == n) {
            return s;
        }
        StringBuilder sb = new StringBuilder(n + 8);
        sb.append(s, 0, i);
        while (i < n) {
            int cp = s.codePointAt(i);
            String v = ClipTextTables.ftfyTranslates(cp) ? ClipTextTables.FTFY_TRANSLATE.get(cp) : null;
            if (v != null) {
                sb.append(v);
            } else {
                sb.appendCodePoint(cp);
            }
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    private static String fixLineBreaks(String s) {
        boolean any = false;
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            if (c == '\r' || c == '\u2028' || c == '\u2029' || c == '\u0085') {
                any = true;
                break;
            }
        }
        if (!any) {
            return s;
        }
        return s.replace("\r\n", "\n").replace('\r', '\n').replace('\u2028', '\n').replace('\u2029', '\n')
                .replace('\u0085', '\n');
    }

    /** Lone surrogates become U+FFFD (valid pairs are single code points, as in Python). */
    private static String fixSurrogates(String s) {
        int n = s.length();
        StringBuilder sb = null;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    if (sb != null) {
                        sb.append(c).append(s.charAt(i + 1));
                    }
                    i++;
                    continue;
                }
                if (sb == null) {
                    sb = new StringBuilder(n);
                    sb.append(s, 0, i);
                }
                sb.append('\uFFFD');
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? s : sb.toString();
    }

    /** ftfy ANSI_RE: {@code \033\[((?:\d|;)*)([a-zA-Z])} removed; {@code \d} is Unicode Nd. */
    private static String removeTerminalEscapes(String s) {
        int esc = s.indexOf('\u001b');
        if (esc < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length());
        int copied = 0;
        int n = s.length();
        for (int i = esc; i < n; i++) {
            if (s.charAt(i) != '\u001b' || i + 1 >= n || s.charAt(i + 1) != '[') {
                continue;
            }
            int j = i + 2;
            while (j < n) {
                int cp = s.codePointAt(j);
                if (cp == ';' || Character.getType(cp) == Character.DECIMAL_DIGIT_NUMBER) {
                    j += Character.charCount(cp);
                } else {
                    break;
                }
            }
            if (j < n && ((s.charAt(j) >= 'a' && s.charAt(j) <= 'z') || (s.charAt(j) >= 'A' && s.charAt(j) <= 'Z'))) {
                sb.append(s, copied, i);
                copied = j + 1;
                i = j;
            }
        }
        sb.append(s, copied, n);
        return sb.toString();
    }

    private static String removeControlChars(String s) {
        int n = s.length();
        int i = 0;
        while (i < n && !ClipTextTables.ftfyControl(s.charAt(i))) {
            i++;
        }
        if (i == n) {
            return s;
        }
        StringBuilder sb = new StringBuilder(n);
        sb.append(s, 0, i);
        for (; i < n; i++) {
            char c = s.charAt(i);
            if (!ClipTextTables.ftfyControl(c)) {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------ html

    /** Python's {@code html.unescape} (HTML5 rules, Python 3.11). */
    static String htmlUnescape(String s) {
        int amp = s.indexOf('&');
        if (amp < 0) {
            return s;
        }
        StringBuilder sb = new StringBuilder(s.length());
        int copied = 0;
        int n = s.length();
        int i = amp;
        while (i < n) {
            if (s.charAt(i) != '&') {
                i++;
                continue;
            }
            int j = i + 1;
            String repl = null;
            if (j < n && s.charAt(j) == '#') {
                int k = j + 1;
                boolean hex = k < n && (s.charAt(k) == 'x' || s.charAt(k) == 'X');
                int digitsStart = -1;
                int end = -1;
                if (k < n && s.charAt(k) >= '0' && s.charAt(k) <= '9') {
                    digitsStart = k;
                    while (k < n && s.charAt(k) >= '0' && s.charAt(k) <= '9') {
                        k++;
                    }
                    end = k;
                    hex = false;
                } else if (hex) {
                    k++;
                    digitsStart = k;
                    while (k < n && Character.digit(s.charAt(k), 16) >= 0 && s.charAt(k) < 0x80) {
                        k++;
                    }
                    end = k;
                    if (end == digitsStart) {
                        digitsStart = -1;
                    }
                }
                if (digitsStart >= 0) {
                    int radix = hex ? 16 : 10;
                    long num = 0;
                    for (int q = digitsStart; q < end; q++) {
                        num = num * radix + Character.digit(s.charAt(q), radix);
                        if (num > 0x10FFFF) {
                            num = 0x110000; // saturate: anything above U+10FFFF gives U+FFFD
                        }
                    }
                    if (end < n && s.charAt(end) == ';') {
                        end++;
                    }
                    repl = numericCharref((int) num);
                    sb.append(s, copied, i).append(repl);
                    copied = end;
                    i = end;
                    continue;
                }
                i++; // "&#" not followed by a reference: no match at this '&'
                continue;
            }
            // named: [^\t\n\f <&#;]{1,32};?   (32 code points)
            int k = j;
            int count = 0;
            while (k < n && count < 32) {
                int cp = s.codePointAt(k);
                if (cp == '\t' || cp == '\n' || cp == '\f' || cp == ' ' || cp == '<' || cp == '&' || cp == '#'
                        || cp == ';') {
                    break;
                }
                k += Character.charCount(cp);
                count++;
            }
            if (count == 0) {
                i++;
                continue;
            }
            if (k < n && s.charAt(k) == ';') {
                k++;
            }
            String name = s.substring(j, k);
            String v = ClipTextTables.HTML5_ENTITIES.get(name);
            if (v != null) {
                repl = v;
            } else {
                repl = "&" + name;
                for (int x = name.length() - 1; x > 1; x--) {
                    String pre = ClipTextTables.HTML5_ENTITIES.get(name.substring(0, x));
                    if (pre != null) {
                        repl = pre + name.substring(x);
                        break;
                    }
                }
            }
            sb.append(s, copied, i).append(repl);
            copied = k;
            i = k;
        }
        sb.append(s, copied, n);
        return sb.toString();
    }

    private static String numericCharref(int num) {
        String inv = ClipTextTables.HTML_INVALID_CHARREFS.get(num);
        if (inv != null) {
            return inv;
        }
        if ((num >= 0xD800 && num <= 0xDFFF) || num > 0x10FFFF) {
            return "\uFFFD";
        }
        if (ClipTextTables.htmlInvalidCodepoint(num)) {
            return "";
        }
        return new String(Character.toChars(num));
    }

    // ------------------------------------------------------------------------------ str methods

    /** Python {@code str.strip()}: removes leading/trailing characters for which isspace() holds. */
    static String pyStrip(String s) {
        int b = 0;
        int e = s.length();
        while (b < e && isPySpace(s.charAt(b))) {
            b++;
        }
        while (e > b && isPySpace(s.charAt(e - 1))) {
            e--;
        }
        return (b == 0 && e == s.length()) ? s : s.substring(b, e);
    }

    private static boolean isPySpace(char c) {
        // all str.isspace() characters are in the BMP, and no surrogate is one
        return ClipTextTables.has(c, ClipTextTables.PY_SPACE);
    }

    private static boolean isRegexSpace(char c) {
        return ClipTextTables.has(c, ClipTextTables.REGEX_SPACE);
    }

    /** {@code regex.sub(r'\s+', ' ', s)} with the {@code regex} module's {@code \s}. */
    static String collapseWhitespace(String s) {
        int n = s.length();
        int i = 0;
        for (; i < n; i++) {
            char c = s.charAt(i);
            if (isRegexSpace(c) && (c != ' ' || (i + 1 < n && isRegexSpace(s.charAt(i + 1))))) {
                break;
            }
        }
        if (i == n) {
            return s;
        }
        StringBuilder sb = new StringBuilder(n);
        sb.append(s, 0, i);
        while (i < n) {
            char c = s.charAt(i);
            if (isRegexSpace(c)) {
                sb.append(' ');
                while (i < n && isRegexSpace(s.charAt(i))) {
                    i++;
                }
            } else {
                sb.append(c);
                i++;
            }
        }
        return sb.toString();
    }

    /** Python {@code str.lower()}: full lowercase mapping plus the final-sigma rule. */
    static String pyLower(String s) {
        int n = s.length();
        int i = 0;
        for (; i < n; i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c) || ClipTextTables.lowerBmp(c) != -2 || c == '\u03a3') {
                break;
            }
        }
        if (i == n) {
            return s;
        }
        StringBuilder sb = new StringBuilder(n + 4);
        sb.append(s, 0, i);
        while (i < n) {
            int cp = s.codePointAt(i);
            if (cp == 0x03A3) {
                sb.append(finalSigma(s, i) ? '\u03c2' : '\u03c3');
            } else {
                String lo = ClipTextTables.lower(cp);
                if (lo != null) {
                    sb.append(lo);
                } else {
                    sb.appendCodePoint(cp);
                }
            }
            i += Character.charCount(cp);
        }
        return sb.toString();
    }

    /** CPython's handle_capital_sigma, on the original (not yet lowered) string. */
    private static boolean finalSigma(String s, int i) {
        int j = i;
        int c = -1;
        while (j > 0) {
            c = s.codePointBefore(j);
            if (!ClipTextTables.has(c, ClipTextTables.CASE_IGNORABLE)) {
                break;
            }
            j -= Character.charCount(c);
            c = -1;
        }
        if (j == 0 || c < 0 || !ClipTextTables.has(c, ClipTextTables.CASED)) {
            return false;
        }
        j = i + 1;
        int n = s.length();
        while (j < n) {
            c = s.codePointAt(j);
            if (!ClipTextTables.has(c, ClipTextTables.CASE_IGNORABLE)) {
                return !ClipTextTables.has(c, ClipTextTables.CASED);
            }
            j += Character.charCount(c);
        }
        return true;
    }
}

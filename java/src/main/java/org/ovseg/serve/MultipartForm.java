package org.ovseg.serve;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A strict multipart/form-data body (RFC 7578 over RFC 2046): the boundary comes from the
 * Content-Type, every part needs a {@code Content-Disposition: form-data; name="..."}, a field
 * name appears once, and the body must end with the closing delimiter. Limits are checked while
 * reading: the body's total size (413 as soon as it is passed, without reading the rest), the
 * number of parts, each text field's size and each part's header size. Text fields must be valid
 * UTF-8. Everything refused is an {@link HttpStatusException} with a one-line reason.
 */
public final class MultipartForm {
    /**
     * @param maxBodyBytes largest body accepted (the image and every field together)
     * @param maxParts most parts in one body
     * @param maxFieldBytes largest text field (a part without a filename)
     * @param maxHeaderBytes largest header section of one part
     */
    public record Limits(long maxBodyBytes, int maxParts, int maxFieldBytes, int maxHeaderBytes) {
        /** Checks that every limit is positive. */
        public Limits {
            if (maxBodyBytes <= 0 || maxParts <= 0 || maxFieldBytes <= 0 || maxHeaderBytes <= 0) {
                throw new IllegalArgumentException("multipart limits must be positive");
            }
        }
    }

    /**
     * One part of the form.
     *
     * @param filename the file's name without any directory (browsers may send a full path), or
     *     null for a plain field
     * @param contentType the part's Content-Type, or null when it gave none
     */
    public record Part(String name, String filename, String contentType, byte[] data) {
        /** @return true for a file upload (the part has a filename parameter) */
        public boolean isFile() {
            return filename != null;
        }

        /** @return the content as strict UTF-8 */
        public String text() {
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(data)).toString();
            } catch (CharacterCodingException e) {
                throw HttpStatusException.badRequest("field '" + name + "' is not valid UTF-8");
            }
        }
    }

    private static final byte[] CRLF = {'\r', '\n'};
    private static final byte[] CRLFCRLF = {'\r', '\n', '\r', '\n'};
    private static final int MAX_BOUNDARY = 70; // RFC 2046 §5.1.1
    private static final String BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ";
    private static final int MAX_FILENAME_CHARS = 255;

    private final Map<String, Part> parts;

    private MultipartForm(Map<String, Part> parts) {
        this.parts = Collections.unmodifiableMap(parts);
    }

    /** @return the part with this field name, if the form has one */
    public Optional<Part> part(String name) {
        return Optional.ofNullable(parts.get(name));
    }

    /** @return the field names in the order they came */
    public Set<String> names() {
        return parts.keySet();
    }

    /**
     * Reads and parses a body.
     *
     * @param declaredLength the Content-Length, or -1 when the body is chunked; a declared length
     *     over the limit is refused before anything is read
     * @throws HttpStatusException 413 when the body is larger than the limit, 400 when it is malformed
     * @throws IOException when the connection fails while reading
     */
    public static MultipartForm read(InputStream body, String contentType, long declaredLength, Limits limits) throws IOException {
        String boundary = boundary(contentType);
        if (declaredLength > limits.maxBodyBytes()) throw tooLarge(limits);
        return parse(readBounded(body, declaredLength, limits), boundary, limits);
    }

    private static HttpStatusException tooLarge(Limits limits) {
        return new HttpStatusException(413, "request body is larger than the limit of " + limits.maxBodyBytes() + " bytes");
    }

    /** Reads at most the limit plus one byte: one more than allowed is enough to refuse. */
    private static byte[] readBounded(InputStream in, long declaredLength, Limits limits) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.min(Math.max(declaredLength, 8192), limits.maxBodyBytes()));
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        for (int n; (n = in.read(buf, 0, (int) Math.min(buf.length, limits.maxBodyBytes() + 1 - total))) > 0;) {
            total += n;
            if (total > limits.maxBodyBytes()) throw tooLarge(limits);
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    /**
     * The boundary parameter of a multipart/form-data Content-Type (quoted or not).
     *
     * @throws HttpStatusException 400 when the type is not multipart/form-data or the boundary is
     *     missing or not a valid RFC 2046 boundary
     */
    public static String boundary(String contentType) {
        if (contentType == null) throw HttpStatusException.badRequest("missing Content-Type (expected multipart/form-data)");
        Map<String, String> params = new LinkedHashMap<>();
        String type = parseHeaderValue(contentType, params, "Content-Type");
        if (!type.equals("multipart/form-data")) {
            throw HttpStatusException.badRequest("Content-Type must be multipart/form-data, got '" + type + "'");
        }
        String b = params.get("boundary");
        if (b == null) throw HttpStatusException.badRequest("multipart/form-data without a boundary parameter");
        if (b.isEmpty() || b.length() > MAX_BOUNDARY || b.endsWith(" ") || !b.chars().allMatch(c -> BCHARS.indexOf(c) >= 0)) {
            throw HttpStatusException.badRequest("invalid multipart boundary (1 to 70 characters of RFC 2046's set, not ending in a space)");
        }
        return b;
    }

    /**
     * Parses a complete body held in memory.
     *
     * @throws HttpStatusException 400 for a malformed body or too many parts, 413 for an oversized field
     */
    public static MultipartForm parse(byte[] body, String boundary, Limits limits) {
        if (body.length > limits.maxBodyBytes()) throw tooLarge(limits);
        byte[] delimiter = ("--" + boundary).getBytes(StandardCharsets.US_ASCII);
        byte[] crlfDelimiter = concat(CRLF, delimiter);
        int pos;
        if (startsWith(body, 0, delimiter)) {
            pos = delimiter.length;
        } else { // a preamble, ignored, must end with a line break before the first delimiter
            int at = indexOf(body, crlfDelimiter, 0, body.length);
            if (at < 0) throw HttpStatusException.badRequest("malformed multipart body: the boundary given in Content-Type never appears");
            pos = at + crlfDelimiter.length;
        }
        Map<String, Part> parts = new LinkedHashMap<>();
        while (true) {
            if (startsWith(body, pos, new byte[] {'-', '-'})) break; // closing delimiter; the epilogue is ignored
            while (pos < body.length && (body[pos] == ' ' || body[pos] == '\t')) pos++; // transport padding
            if (pos >= body.length) throw HttpStatusException.badRequest("malformed multipart body: truncated (no closing boundary)");
            if (!startsWith(body, pos, CRLF)) throw HttpStatusException.badRequest("malformed multipart body: a boundary is not followed by a line break");
            pos += CRLF.length;
            if (parts.size() == limits.maxParts()) {
                throw HttpStatusException.badRequest("too many parts in the form (the limit is " + limits.maxParts() + ")");
            }
            int headerEnd, contentStart;
            if (startsWith(body, pos, CRLF)) { // a part with no header at all: refused below for lack of a name
                headerEnd = pos;
                contentStart = pos + CRLF.length;
            } else {
                int searchEnd = (int) Math.min(body.length, (long) pos + limits.maxHeaderBytes() + CRLFCRLF.length);
                headerEnd = indexOf(body, CRLFCRLF, pos, searchEnd);
                if (headerEnd < 0) {
                    throw HttpStatusException.badRequest(searchEnd == body.length ? "malformed multipart body: truncated inside a part's header"
                            : "a part's header is longer than the limit of " + limits.maxHeaderBytes() + " bytes");
                }
                contentStart = headerEnd + CRLFCRLF.length;
            }
            Part header = parseHeader(new String(body, pos, headerEnd - pos, StandardCharsets.UTF_8));
            int next = indexOf(body, crlfDelimiter, contentStart, body.length);
            if (next < 0) throw HttpStatusException.badRequest("malformed multipart body: truncated (no closing boundary)");
            int size = next - contentStart;
            if (!header.isFile() && size > limits.maxFieldBytes()) {
                throw new HttpStatusException(413, "field '" + header.name() + "' is " + size + " bytes, larger than the limit of "
                        + limits.maxFieldBytes() + " bytes");
            }
            if (parts.containsKey(header.name())) throw HttpStatusException.badRequest("field '" + header.name() + "' given more than once");
            parts.put(header.name(), new Part(header.name(), header.filename(), header.contentType(), Arrays.copyOfRange(body, contentStart, next)));
            pos = next + crlfDelimiter.length;
        }
        return new MultipartForm(parts);
    }

    /** @return a Part carrying only the header's name, filename and content type */
    private static Part parseHeader(String header) {
        String name = null, filename = null, contentType = null;
        boolean disposition = false;
        for (String line : header.isEmpty() ? new String[0] : header.split("\r\n", -1)) {
            if (line.isEmpty() || line.charAt(0) == ' ' || line.charAt(0) == '\t') {
                throw HttpStatusException.badRequest("malformed multipart body: a part header line is empty or folded");
            }
            int colon = line.indexOf(':');
            if (colon <= 0) throw HttpStatusException.badRequest("malformed multipart body: a part header line has no name");
            String key = line.substring(0, colon).trim().toLowerCase(Locale.ROOT), value = line.substring(colon + 1).trim();
            if (key.equals("content-disposition")) {
                if (disposition) throw HttpStatusException.badRequest("malformed multipart body: a part has two Content-Disposition headers");
                disposition = true;
                Map<String, String> params = new LinkedHashMap<>();
                String type = parseHeaderValue(value, params, "Content-Disposition");
                if (!type.equals("form-data")) {
                    throw HttpStatusException.badRequest("malformed multipart body: a part's Content-Disposition is '" + type + "', not form-data");
                }
                name = params.get("name");
                filename = params.containsKey("filename") ? baseName(params.get("filename")) : null;
            } else if (key.equals("content-type")) {
                contentType = value;
            } // other headers (Content-Transfer-Encoding is forbidden in form-data by RFC 7578) carry nothing we use
        }
        if (!disposition) throw HttpStatusException.badRequest("malformed multipart body: a part has no Content-Disposition header");
        if (name == null || name.isEmpty()) throw HttpStatusException.badRequest("malformed multipart body: a part has no field name");
        return new Part(name, filename, contentType, null);
    }

    /** Browsers once sent the client's full path; keep the last component, without control characters. */
    private static String baseName(String filename) {
        String base = filename.substring(Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\')) + 1);
        base = base.replaceAll("\\p{Cntrl}", "");
        return base.length() > MAX_FILENAME_CHARS ? base.substring(0, MAX_FILENAME_CHARS) : base;
    }

    /**
     * Parses {@code type; key=value; key="quoted \" value"} into the lower-cased type and the
     * parameters (keys lower-cased).
     */
    static String parseHeaderValue(String value, Map<String, String> params, String header) {
        int i = 0, n = value.length();
        int semi = value.indexOf(';');
        String type = (semi < 0 ? value : value.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
        i = semi < 0 ? n : semi + 1;
        while (i < n) {
            while (i < n && (value.charAt(i) == ' ' || value.charAt(i) == '\t')) i++;
            if (i == n) break;
            int eq = value.indexOf('=', i);
            if (eq < 0) throw HttpStatusException.badRequest("malformed " + header + " header: parameter without '='");
            String key = value.substring(i, eq).trim().toLowerCase(Locale.ROOT);
            if (key.isEmpty()) throw HttpStatusException.badRequest("malformed " + header + " header: empty parameter name");
            i = eq + 1;
            StringBuilder v = new StringBuilder();
            if (i < n && value.charAt(i) == '"') {
                i++;
                boolean closed = false;
                while (i < n) {
                    char c = value.charAt(i++);
                    if (c == '\\' && i < n) {
                        v.append(value.charAt(i++));
                    } else if (c == '"') {
                        closed = true;
                        break;
                    } else {
                        v.append(c);
                    }
                }
                if (!closed) throw HttpStatusException.badRequest("malformed " + header + " header: unterminated quoted string");
                while (i < n && (value.charAt(i) == ' ' || value.charAt(i) == '\t')) i++;
                if (i < n && value.charAt(i) != ';') throw HttpStatusException.badRequest("malformed " + header + " header: text after a quoted string");
            } else {
                int end = value.indexOf(';', i);
                v.append(value, i, end < 0 ? n : end);
                i = end < 0 ? n : end;
                String t = v.toString().trim();
                v.setLength(0);
                v.append(t);
            }
            if (i < n && value.charAt(i) == ';') i++;
            if (params.containsKey(key)) throw HttpStatusException.badRequest("malformed " + header + " header: parameter '" + key + "' given twice");
            params.put(key, v.toString());
        }
        return type;
    }

    private static boolean startsWith(byte[] a, int at, byte[] prefix) {
        if (at < 0 || at + prefix.length > a.length) return false;
        for (int i = 0; i < prefix.length; i++) if (a[at + i] != prefix[i]) return false;
        return true;
    }

    /** First index of {@code needle} in {@code a[from, to)}, or -1. */
    static int indexOf(byte[] a, byte[] needle, int from, int to) {
        byte first = needle[0];
        for (int i = from, last = to - needle.length; i <= last; i++) {
            if (a[i] == first && startsWith(a, i, needle)) return i;
        }
        return -1;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}

package org.ovseg.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The multipart/form-data parser on hand-written bodies: what a browser sends (preamble,
 * epilogue, binary content holding CRLF and dashes, a Windows path as filename, UTF-8 labels),
 * then each malformed or oversized body with its status and message.
 */
class MultipartFormTest {
    static final MultipartForm.Limits LIMITS = new MultipartForm.Limits(10_000, 8, 200, 512);
    static final String B = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    static final String CT = "multipart/form-data; boundary=" + B;

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] join(byte[]... parts) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }

    static MultipartForm parse(byte[] body) throws IOException {
        return MultipartForm.read(new ByteArrayInputStream(body), CT, body.length, LIMITS);
    }

    static HttpStatusException refused(byte[] body) {
        return assertThrows(HttpStatusException.class, () -> parse(body));
    }

    @Test
    void parsesABrowserLikeBody() throws Exception {
        // Content that contains CRLF, "--", and the boundary without its leading CRLF-- must stay intact.
        byte[] file = join(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, (byte) 0xff},
                bytes("\r\n--not-the-boundary\r\n" + B + "\r\n-"));
        byte[] body = join(bytes("this preamble is ignored\r\n--" + B + "\r\n"
                + "Content-Disposition: form-data; name=\"image\"; filename=\"C:\\\\Users\\\\me\\\\photo 1.png\"\r\n"
                + "Content-Type: image/png\r\n\r\n"), file,
                bytes("\r\n--" + B + "\r\nContent-Disposition: form-data; name=\"labels\"\r\n\r\ncafé, 猫, 🐱 cat, naïve sky"
                        + "\r\n--" + B + "  \r\ncontent-disposition: FORM-DATA; name=refer\r\n\r\non"
                        + "\r\n--" + B + "\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n"
                        + "\r\n--" + B + "--\r\nepilogue, ignored\r\n"));
        MultipartForm f = parse(body);
        assertEquals(List.of("image", "labels", "refer", "empty"), List.copyOf(f.names()));
        MultipartForm.Part image = f.part("image").orElseThrow();
        assertTrue(image.isFile());
        assertEquals("photo 1.png", image.filename());
        assertEquals("image/png", image.contentType());
        assertArrayEquals(file, image.data());
        MultipartForm.Part labels = f.part("labels").orElseThrow();
        assertFalse(labels.isFile());
        assertNull(labels.filename());
        assertEquals("café, 猫, 🐱 cat, naïve sky", labels.text());
        assertEquals("on", f.part("refer").orElseThrow().text());
        assertEquals(0, f.part("empty").orElseThrow().data().length);
    }

    @Test
    void boundaryFromContentType() {
        assertEquals("abc", MultipartForm.boundary("multipart/form-data; boundary=abc"));
        assertEquals("a b:c=d?", MultipartForm.boundary("Multipart/Form-Data;charset=utf-8; boundary=\"a b:c=d?\""));
        assertEquals("x".repeat(70), MultipartForm.boundary("multipart/form-data; boundary=" + "x".repeat(70)));
        assertMessage(400, "without a boundary", () -> MultipartForm.boundary("multipart/form-data"));
        assertMessage(400, "without a boundary", () -> MultipartForm.boundary("multipart/form-data; charset=utf-8"));
        assertMessage(400, "invalid multipart boundary", () -> MultipartForm.boundary("multipart/form-data; boundary=" + "x".repeat(71)));
        assertMessage(400, "invalid multipart boundary", () -> MultipartForm.boundary("multipart/form-data; boundary=\"\""));
        assertMessage(400, "invalid multipart boundary", () -> MultipartForm.boundary("multipart/form-data; boundary=\"ab \""));
        assertMessage(400, "invalid multipart boundary", () -> MultipartForm.boundary("multipart/form-data; boundary=a<b"));
        assertMessage(400, "unterminated quoted string", () -> MultipartForm.boundary("multipart/form-data; boundary=\"abc"));
        assertMessage(400, "must be multipart/form-data, got 'application/json'", () -> MultipartForm.boundary("application/json"));
        assertMessage(400, "missing Content-Type", () -> MultipartForm.boundary(null));
    }

    static void assertMessage(int status, String fragment, org.junit.jupiter.api.function.Executable e) {
        HttpStatusException x = assertThrows(HttpStatusException.class, e);
        assertEquals(status, x.status(), x.getMessage());
        assertTrue(x.getMessage().contains(fragment), x.getMessage());
        assertFalse(x.getMessage().contains("\n"));
    }

    static String field(String name, String value) {
        return "--" + B + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    }

    static final String END = "--" + B + "--\r\n";

    @Test
    void refusesMalformedBodies() {
        assertMessage(400, "never appears", () -> parse(bytes("no boundary here")));
        assertMessage(400, "never appears", () -> parse(bytes("--other\r\n\r\nx\r\n--other--")));
        assertMessage(400, "truncated inside a part's header", () -> parse(bytes(field("labels", "red").substring(0, 60))));
        assertMessage(400, "no closing boundary", () -> parse(bytes(field("labels", "red"))));
        assertMessage(400, "no closing boundary", () -> parse(bytes("--" + B + "\r\nContent-Disposition: form-data; name=a\r\n\r\nred")));
        assertMessage(400, "truncated inside a part's header", () -> parse(bytes("--" + B + "\r\nContent-Disposition: form-data; name=a")));
        assertMessage(400, "not followed by a line break", () -> parse(bytes("--" + B + "x\r\n" + END)));
        assertMessage(400, "no Content-Disposition", () -> parse(bytes("--" + B + "\r\nContent-Type: text/plain\r\n\r\nx\r\n" + END)));
        assertMessage(400, "no Content-Disposition", () -> parse(bytes("--" + B + "\r\n\r\nx\r\n" + END)));
        assertMessage(400, "no field name", () -> parse(bytes("--" + B + "\r\nContent-Disposition: form-data; filename=\"a.png\"\r\n\r\nx\r\n" + END)));
        assertMessage(400, "no field name", () -> parse(bytes("--" + B + "\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n" + END)));
        assertMessage(400, "not form-data", () -> parse(bytes("--" + B + "\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n" + END)));
        assertMessage(400, "folded", () -> parse(bytes("--" + B + "\r\nContent-Disposition: form-data;\r\n name=a\r\n\r\nx\r\n" + END)));
        assertMessage(400, "header line has no name", () -> parse(bytes("--" + B + "\r\nContent-Disposition form-data\r\n\r\nx\r\n" + END)));
        assertMessage(400, "two Content-Disposition", () -> parse(bytes("--" + B
                + "\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n\r\nx\r\n" + END)));
        assertMessage(400, "field 'labels' given more than once", () -> parse(bytes(field("labels", "a") + field("labels", "b") + END)));
        assertMessage(400, "parameter 'name' given twice", () -> parse(bytes("--" + B
                + "\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n" + END)));
    }

    @Test
    void enforcesPartLimits() {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 8; i++) many.append(field("f" + i, "x"));
        assertEquals(8, assertDoesNotThrow(() -> parse(bytes(many + END))).names().size());
        assertMessage(400, "too many parts in the form (the limit is 8)", () -> parse(bytes(many + field("f8", "x") + END)));
        // A text field of exactly the limit passes; one byte more is 413. A file part may be larger.
        assertEquals(200, assertDoesNotThrow(() -> parse(bytes(field("labels", "r".repeat(200)) + END))).part("labels").orElseThrow().data().length);
        assertMessage(413, "field 'labels' is 201 bytes, larger than the limit of 200 bytes", () -> parse(bytes(field("labels", "r".repeat(201)) + END)));
        String bigFile = "--" + B + "\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n" + "p".repeat(5000) + "\r\n" + END;
        assertEquals(5000, assertDoesNotThrow(() -> parse(bytes(bigFile))).part("image").orElseThrow().data().length);
        String longHeader = "--" + B + "\r\nContent-Disposition: form-data; name=\"a\"; x=\"" + "h".repeat(600) + "\"\r\n\r\nx\r\n" + END;
        assertMessage(400, "header is longer than the limit of 512 bytes", () -> parse(bytes(longHeader)));
    }

    static <T> T assertDoesNotThrow(org.junit.jupiter.api.function.ThrowingSupplier<T> s) {
        return org.junit.jupiter.api.Assertions.assertDoesNotThrow(s);
    }

    @Test
    void refusesInvalidUtf8InAField() throws Exception {
        byte[] body = join(bytes("--" + B + "\r\nContent-Disposition: form-data; name=\"labels\"\r\n\r\nred, "),
                new byte[] {(byte) 0xC3, (byte) 0x28}, bytes("\r\n" + END));
        MultipartForm f = parse(body);
        assertMessage(400, "field 'labels' is not valid UTF-8", () -> f.part("labels").orElseThrow().text());
    }

    /** An endless stream: the reader must stop one byte past the limit, not read the rest. */
    @Test
    void oversizedBodyIsRefusedWithoutReadingIt() {
        long[] consumed = {0};
        InputStream endless = new InputStream() {
            @Override
            public int read() {
                consumed[0]++;
                return 'x';
            }

            @Override
            public int read(byte[] b, int off, int len) {
                java.util.Arrays.fill(b, off, off + len, (byte) 'x');
                consumed[0] += len;
                return len;
            }
        };
        HttpStatusException e = assertThrows(HttpStatusException.class, () -> MultipartForm.read(endless, CT, -1, LIMITS));
        assertEquals(413, e.status());
        assertEquals("request body is larger than the limit of 10000 bytes", e.getMessage());
        assertEquals(10_001, consumed[0]);
        // A declared length over the limit is refused before a byte is read.
        consumed[0] = 0;
        assertEquals(413, assertThrows(HttpStatusException.class, () -> MultipartForm.read(endless, CT, 10_001, LIMITS)).status());
        assertEquals(0, consumed[0]);
        // Exactly the limit is read in full (and then parsed).
        byte[] body = bytes(field("labels", "r".repeat(100)) + END);
        byte[] padded = join(body, bytes("e".repeat(10_000 - body.length))); // epilogue up to the limit
        assertEquals(10_000, padded.length);
        assertTrue(assertDoesNotThrow(() -> MultipartForm.read(new ByteArrayInputStream(padded), CT, -1, LIMITS)).part("labels").isPresent());
    }
}

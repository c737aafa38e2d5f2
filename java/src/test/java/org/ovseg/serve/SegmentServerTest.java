package org.ovseg.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.api.Segmenter;
import org.ovseg.cli.SegmenterService;
import org.ovseg.cli.Main;

/**
 * {@code ovseg serve} over real HTTP on 127.0.0.1 (ephemeral ports) with the built-in
 * colour-world model: an upload is segmented exactly as {@code ovseg segment} segments the same
 * file (same numbers, same label PNG bytes), bad input answers 400 with the CLI's own message,
 * and the limits answer 411, 413, 503 (Retry-After) and 504; shutdown lets a request in flight finish.
 */
class SegmentServerTest {
    static final int W = 96, H = 64, SIZE = 64;
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path cache;
    static Segmenter segmenter;
    static SegmentServer server;
    static byte[] png;

    @BeforeAll
    static void start() throws Exception {
        segmenter = Segmenter.builder().cacheDir(cache).size(SIZE).build();
        server = SegmentServer.start(new SegmenterService(segmenter), config(2, 4, 60_000).withMaxBodyBytes(1 << 20));
        png = Forms.redBluePng(W, H);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (segmenter != null) segmenter.close();
    }

    static ServeConfig config(int workers, int queue, long timeoutMs) {
        return ServeConfig.defaults().withAddress("127.0.0.1", 0).withConcurrency(workers, queue).withTimeoutMs(timeoutMs);
    }

    record Cli(int code, String out, String err) {}

    static Cli cli(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Cli(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static BufferedImage decodePng(String base64) throws Exception {
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(Base64.getDecoder().decode(base64)));
        assertNotNull(img);
        return img;
    }

    @Test
    void segmentsAnUploadExactlyAsTheCliSegmentsTheFile(@TempDir Path dir) throws Exception {
        HttpResponse<String> r = Forms.post(server.port(), Forms.multipart("scene.png", png, Forms.fields("labels", "green, red, blue", "instances", "true")));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json; charset=utf-8", r.headers().firstValue("Content-Type").orElse(""));
        JsonNode j = JSON.readTree(r.body());
        assertEquals(1, j.get("format_version").asInt());
        assertEquals("scene.png", j.get("image").asText());
        assertEquals(W, j.get("width").asInt());
        assertEquals(H, j.get("height").asInt());
        assertEquals("labels_png", j.get("files").get("labels").asText());
        // Truth: left half red (label 1), right half blue (label 2); nothing is green.
        BufferedImage map = decodePng(j.get("labels_png").asText());
        assertEquals(W, map.getWidth());
        assertEquals(H, map.getHeight());
        int right = 0;
        for (int y = 0; y < H; y++) for (int x = 0; x < W; x++) if (map.getRaster().getSample(x, y, 0) == (x < W / 2 ? 1 : 2)) right++;
        assertTrue(right >= 0.95 * W * H, right + " of " + W * H + " pixels right");
        assertEquals(0.0, j.get("labels").get(0).get("pixel_fraction").asDouble());
        assertEquals(0.5, j.get("labels").get(1).get("pixel_fraction").asDouble(), 0.05);
        assertEquals(0.5, j.get("labels").get(2).get("pixel_fraction").asDouble(), 0.05);
        BufferedImage overlay = decodePng(j.get("overlay_png").asText());
        assertEquals(W, overlay.getWidth());
        assertEquals(H, overlay.getHeight());
        assertEquals(W, decodePng(j.get("panoptic_png").asText()).getWidth());
        assertTrue(j.get("segments_info").get(0).has("segmentation"), "instances=true adds RLE");

        // The CLI on the same file: the same numbers, the same label map bytes.
        Path img = dir.resolve("scene.png");
        Files.write(img, png);
        Cli c = cli("segment", "--image", img.toString(), "--labels", "green, red, blue", "--instances", "--size", Integer.toString(SIZE),
                "--cache-dir", cache.toString(), "--out", dir.resolve("out").toString());
        assertEquals(0, c.code(), c.err());
        JsonNode f = JSON.readTree(dir.resolve("out/scene.json").toFile());
        for (String key : List.of("format_version", "width", "height", "pipeline", "request", "model", "backend", "label_bit_depth",
                "unassigned_value", "labels", "panoptic_source", "segments_info", "instances")) {
            assertEquals(f.get(key), j.get(key), key);
        }
        List<String> keys = new ArrayList<>();
        f.fieldNames().forEachRemaining(keys::add);
        for (String key : keys) assertTrue(j.has(key), "the server's JSON lacks " + key);
        assertEquals(Base64.getEncoder().encodeToString(Files.readAllBytes(dir.resolve("out/scene.labels.png"))), j.get("labels_png").asText());
    }

    static String error(HttpResponse<String> r) throws Exception {
        JsonNode j = JSON.readTree(r.body());
        assertEquals(1, j.size(), r.body());
        return j.get("error").asText();
    }

    @Test
    void badInputAnswers400WithTheCliMessage(@TempDir Path dir) throws Exception {
        Path img = dir.resolve("scene.png");
        Files.write(img, png);
        Path bad = dir.resolve("bad.png");
        Files.write(bad, "not an image at all".getBytes(StandardCharsets.UTF_8));
        String[][] cases = {{"red, Red", null}, {"red,,blue", null}, {"red, \u0007", null}};
        for (String[] k : cases) {
            HttpResponse<String> r = Forms.post(server.port(), Forms.multipart("scene.png", png, Forms.fields("labels", k[0])));
            assertEquals(400, r.statusCode(), r.body());
            Cli c = cli("segment", "--image", img.toString(), "--labels", k[0], "--cache-dir", cache.toString(), "--out", dir.resolve("o").toString());
            assertEquals(2, c.code());
            assertEquals(c.err().strip(), "error: " + error(r));
        }
        // A corrupt image: the CLI names the path, the server the upload's file name.
        HttpResponse<String> r = Forms.post(server.port(), Forms.multipart("bad.png", Files.readAllBytes(bad), Forms.fields("labels", "red")));
        assertEquals(400, r.statusCode());
        Cli c = cli("segment", "--image", bad.toString(), "--labels", "red", "--cache-dir", cache.toString(), "--out", dir.resolve("o").toString());
        // The CLI's per-image line is "error: FILE: reason"; the reason is the server's error.
        assertEquals(c.err().strip().replace("error: " + bad + ": ", "error: ").replace(bad.toString(), "bad.png"), "error: " + error(r));
        assertTrue(error(r).startsWith("unsupported or corrupt image bad.png"), error(r));
        // A request the pipeline cannot serve: MaskCLIP has no referring segmentation.
        r = Forms.post(server.port(), Forms.multipart("scene.png", png, Forms.fields("labels", "the red one", "refer", "true")));
        assertEquals(400, r.statusCode());
        c = cli("segment", "--image", img.toString(), "--labels", "the red one", "--refer", "--size", "64", "--cache-dir", cache.toString(), "--out",
                dir.resolve("o").toString());
        assertEquals(c.err().strip().replace(img.toString() + ": ", ""), "error: " + error(r));

        assertEquals("missing field 'labels' (comma-separated)", error(Forms.post(server.port(), Forms.multipart("a.png", png, Map.of()))));
        assertEquals("missing field 'image' (the image file)", error(Forms.post(server.port(), Forms.multipart(null, null, Forms.fields("labels", "red")))));
        assertEquals("field 'image' must be a file upload (a part with a filename)",
                error(Forms.post(server.port(), Forms.multipart(null, null, Forms.fields("image", "x", "labels", "red")))));
        String size = error(Forms.post(server.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red", "size", "448"))));
        assertTrue(size.startsWith("field 'size' is a server setting, fixed when the server starts (ovseg serve --size)"), size);
        assertTrue(error(Forms.post(server.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red", "colour", "x"))))
                .startsWith("unknown field 'colour'"));
        assertEquals("fields 'stuff' and 'refer' do not combine",
                error(Forms.post(server.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red", "stuff", "blue", "refer", "on")))));
        assertEquals("field 'instances' must be true or false, got 'maybe'",
                error(Forms.post(server.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red", "instances", "maybe")))));
    }

    @Test
    void stuffAndUnicodeLabels() throws Exception {
        HttpResponse<String> r = Forms.post(server.port(), Forms.multipart("ünï.png", png, Forms.fields("labels", "red, 猫 🐱", "stuff", "blue")));
        assertEquals(200, r.statusCode(), r.body());
        JsonNode j = JSON.readTree(r.body());
        assertEquals("ünï.png", j.get("image").asText());
        assertEquals("猫 🐱", j.get("labels").get(1).get("label").asText());
        assertEquals("stuff", j.get("labels").get(2).get("kind").asText());
        assertEquals(0.5, j.get("labels").get(2).get("pixel_fraction").asDouble(), 0.05);
    }

    @Test
    void protocolErrorsAndOtherEndpoints() throws Exception {
        int port = server.port();
        HttpResponse<String> health = Forms.get(port, "/healthz");
        assertEquals(200, health.statusCode());
        assertEquals("ok", JSON.readTree(health.body()).get("status").asText());
        assertEquals("maskclip", JSON.readTree(health.body()).get("pipeline").asText());
        HttpResponse<String> page = Forms.get(port, "/");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
        assertTrue(page.body().contains("<form id=\"form\">") && page.body().contains("fetch('v1/segment'"));
        assertEquals(404, Forms.get(port, "/v2/segment").statusCode());
        HttpResponse<String> get = Forms.get(port, "/v1/segment");
        assertEquals(405, get.statusCode());
        assertEquals("POST", get.headers().firstValue("Allow").orElse(""));

        // No body length at all: 411. A declared length over the limit: 413 before any body is sent.
        String noLength = Forms.raw(port, ("POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII), true);
        assertTrue(noLength.startsWith("HTTP/1.1 411 "), noLength);
        String huge = Forms.raw(port, ("POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                + "Content-Length: 1073741824\r\n\r\n").getBytes(StandardCharsets.US_ASCII), false);
        assertTrue(huge.startsWith("HTTP/1.1 413 "), huge);
        assertTrue(huge.contains("{\"error\":\"request body is larger than the limit of 1048576 bytes\"}"), huge);
        // A chunked body that grows past the limit: 413 once the limit is passed.
        ByteArrayOutputStream chunked = new ByteArrayOutputStream();
        chunked.writeBytes(("POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        byte[] chunk = new byte[16384];
        java.util.Arrays.fill(chunk, (byte) 'z');
        for (int i = 0; i < 70; i++) { // 1.09 MiB
            chunked.writeBytes((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            chunked.writeBytes(chunk);
            chunked.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        chunked.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        String tooBig = Forms.raw(port, chunked.toByteArray(), false);
        assertTrue(tooBig.startsWith("HTTP/1.1 413 "), tooBig);
        // Not multipart.
        HttpResponse<String> json = Forms.CLIENT.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/v1/segment"))
                .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, json.statusCode());
        assertEquals("Content-Type must be multipart/form-data, got 'application/json'", error(json));
        // The server still serves after all that.
        assertEquals(200, Forms.post(port, Forms.multipart("a.png", png, Forms.fields("labels", "red, blue"))).statusCode());
    }

    @Test
    void serveCommandChecksItsOptionsAndItsPort() {
        Cli help = cli("serve", "--help");
        assertEquals(0, help.code());
        assertTrue(help.out().startsWith("usage: ovseg serve"), help.out());
        String[][] bad = {{"--workers", "0", "error: --workers must be between 1 and 1024, got 0"},
                {"--port", "70000", "error: --port must be between 0 and 65535, got 70000"},
                {"--max-bytes", "0", "error: --max-bytes must be between 1 and 2147483639, got 0"},
                {"--timeout-ms", "soon", "error: --timeout-ms must be an integer, got 'soon'"},
                {"--labels", "red", "error: unknown option --labels"}};
        for (String[] b : bad) {
            Cli c = cli("serve", b[0], b[1]);
            assertEquals(2, c.code(), c.err());
            assertEquals(b[2], c.err().strip());
        }
        // The port is taken (by this class's server): one line, exit 2, the model closed again.
        Cli taken = cli("serve", "--port", Integer.toString(server.port()), "--size", "64", "--cache-dir", cache.toString());
        assertEquals(2, taken.code(), taken.err());
        assertTrue(taken.err().strip().startsWith("error: cannot listen on 127.0.0.1:" + server.port() + ": "), taken.err());
        assertEquals(1, taken.err().strip().lines().count());
    }

    /** Wraps the real service: each call announces itself, then waits for the gate. */
    static final class Gated implements SegmentService {
        final SegmentService real;
        final CountDownLatch gate = new CountDownLatch(1);
        final java.util.concurrent.Semaphore entered = new java.util.concurrent.Semaphore(0);

        Gated(SegmentService real) {
            this.real = real;
        }

        @Override
        public Map<String, Object> segment(SegmentRequest q) {
            entered.release();
            try {
                gate.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            return real.segment(q);
        }

        @Override
        public Map<String, Object> describe() {
            return real.describe();
        }
    }

    static CompletableFuture<HttpResponse<String>> postAsync(int port) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return Forms.post(port, Forms.multipart("a.png", png, Forms.fields("labels", "red, blue")));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aFullQueueAnswers503WithRetryAfter() throws Exception {
        Gated gated = new Gated(new SegmenterService(segmenter));
        try (SegmentServer s = SegmentServer.start(gated, config(1, 1, 60_000))) {
            CompletableFuture<HttpResponse<String>> first = postAsync(s.port());
            assertTrue(gated.entered.tryAcquire(30, TimeUnit.SECONDS), "the first request reached the worker");
            CompletableFuture<HttpResponse<String>> second = postAsync(s.port()); // waits in the queue
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (JSON.readTree(Forms.get(s.port(), "/healthz").body()).get("admitted").asInt() < 2) {
                assertTrue(System.nanoTime() < until, "second request admitted");
                Thread.sleep(10);
            }
            HttpResponse<String> third = Forms.post(s.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red")));
            assertEquals(503, third.statusCode());
            assertEquals("1", third.headers().firstValue("Retry-After").orElse(""));
            assertTrue(error(third).startsWith("server busy: 2 requests in progress (1 workers, queue of 1)"), third.body());
            gated.gate.countDown();
            assertEquals(200, first.get(60, TimeUnit.SECONDS).statusCode());
            assertEquals(200, second.get(60, TimeUnit.SECONDS).statusCode());
            assertEquals(200, Forms.post(s.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red"))).statusCode());
        }
    }

    @Test
    void aRequestOverTheTimeLimitAnswers504AndFreesItsPlaceWhenItsWorkEnds() throws Exception {
        Gated gated = new Gated(new SegmenterService(segmenter));
        try (SegmentServer s = SegmentServer.start(gated, config(1, 0, 300))) {
            long t0 = System.nanoTime();
            HttpResponse<String> r = Forms.post(s.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red")));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertEquals(504, r.statusCode());
            assertEquals("request took longer than the limit of 300 ms (--timeout-ms)", error(r));
            assertTrue(ms >= 300 && ms < 10_000, ms + " ms");
            // Its worker is still busy, so the only place is still taken...
            assertEquals(503, Forms.post(s.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red"))).statusCode());
            gated.gate.countDown(); // ...until the work ends
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (JSON.readTree(Forms.get(s.port(), "/healthz").body()).get("admitted").asInt() > 0) {
                assertTrue(System.nanoTime() < until);
                Thread.sleep(10);
            }
            assertEquals(200, Forms.post(s.port(), Forms.multipart("a.png", png, Forms.fields("labels", "red"))).statusCode());
        }
    }

    @Test
    void shutdownLetsTheRequestInFlightFinish() throws Exception {
        Gated gated = new Gated(new SegmenterService(segmenter));
        SegmentServer s = SegmentServer.start(gated, config(1, 2, 60_000));
        int port = s.port();
        CompletableFuture<HttpResponse<String>> inFlight = postAsync(port);
        assertTrue(gated.entered.tryAcquire(30, TimeUnit.SECONDS));
        CompletableFuture<Void> closing = CompletableFuture.runAsync(s::close);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (Forms.get(port, "/healthz").statusCode() != 503) { // draining
            assertTrue(System.nanoTime() < until);
            Thread.sleep(10);
        }
        HttpResponse<String> late = Forms.post(port, Forms.multipart("a.png", png, Forms.fields("labels", "red")));
        assertEquals(503, late.statusCode());
        assertEquals("server is shutting down", error(late));
        assertFalse(closing.isDone(), "close() waits for the request in flight");
        Thread.sleep(200);
        assertFalse(closing.isDone());
        gated.gate.countDown();
        HttpResponse<String> done = inFlight.get(60, TimeUnit.SECONDS);
        assertEquals(200, done.statusCode());
        assertEquals(0.5, JSON.readTree(done.body()).get("labels").get(0).get("pixel_fraction").asDouble(), 0.05);
        closing.get(30, TimeUnit.SECONDS);
        Exception refused = assertThrows(Exception.class, () -> Forms.get(port, "/healthz"));
        assertTrue(refused instanceof ConnectException || refused.getCause() instanceof ConnectException, refused.toString());
    }
}

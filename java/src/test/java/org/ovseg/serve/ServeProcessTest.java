package org.ovseg.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.cli.Main;

/**
 * {@code ovseg serve} as a process. SIGTERM while a request is in flight: the request still
 * answers 200 with its full JSON, then the process stops cleanly (exit 0, nothing on stderr).
 * Before the signal was trapped this failed: ONNX Runtime's own shutdown hook released its
 * environment under the running request ("Attempt to use DefaultLogger but none has been registered").
 */
class ServeProcessTest {
    @Test
    void sigtermFinishesTheRequestInFlight(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        Process p = startServe(dir, out, err, "--workers", "1");
        try {
            int port = awaitPort(p, out, err);
            // Large enough that segmenting it takes a while at the default size (upsampling and the overlay at full size).
            byte[] body = Forms.multipart("big.png", Forms.redBluePng(2400, 1600), Forms.fields("labels", "red, blue"));
            int fixedPort = port;
            CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(() -> {
                try {
                    return Forms.post(fixedPort, body);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            ObjectMapper json = new ObjectMapper();
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (json.readTree(Forms.get(port, "/healthz").body()).get("admitted").asInt() < 1) {
                assertTrue(!inFlight.isDone() && System.nanoTime() < until, "the request was never seen in flight");
                Thread.sleep(2);
            }
            p.destroy(); // SIGTERM
            HttpResponse<String> r = inFlight.get(120, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode j = json.readTree(r.body());
            assertEquals(2400, j.get("width").asInt());
            assertEquals(0.5, j.get("labels").get(0).get("pixel_fraction").asDouble(), 0.02);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "serve did not exit after SIGTERM");
            assertEquals(0, p.exitValue(), read(err));
            assertTrue(read(err).isBlank(), read(err));
            assertTrue(read(out).endsWith("ovseg serve: stopped" + System.lineSeparator()), read(out));
        } finally {
            p.destroyForcibly();
        }
    }

    /** A client that sends half a body and then nothing must not hold its connection past the time limit. */
    @Test
    void aSlowSenderIsCutOffAtTheTimeLimit(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        Process p = startServe(dir, out, err, "--timeout-ms", "2000", "--size", "64");
        try {
            int port = awaitPort(p, out, err);
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                s.setSoTimeout(30_000);
                s.getOutputStream().write(("POST /v1/segment HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                        + "Content-Length: 1000\r\n\r\n--b\r\n").getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                long t0 = System.nanoTime();
                assertEquals(200, Forms.get(port, "/healthz").statusCode()); // others are still served meanwhile
                int got;
                try {
                    got = s.getInputStream().read();
                } catch (java.net.SocketException reset) {
                    got = -1;
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertEquals(-1, got, "the server closed the connection");
                assertTrue(ms >= 1000 && ms < 15_000, "closed after " + ms + " ms (limit 2000 ms, checked each second)");
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (new ObjectMapper().readTree(Forms.get(port, "/healthz").body()).get("admitted").asInt() != 0) {
                assertTrue(System.nanoTime() < until, "the slow request's place was never given back");
                Thread.sleep(20);
            }
            assertEquals(200, Forms.post(port, Forms.multipart("a.png", Forms.redBluePng(96, 64), Forms.fields("labels", "red, blue"))).statusCode());
        } finally {
            p.destroyForcibly();
        }
    }

    private static Process startServe(Path dir, Path out, Path err, String... options) throws java.io.IOException {
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g",
                "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve",
                "--port", "0", "--cache-dir", dir.resolve("cache").toString()));
        cmd.addAll(List.of(options));
        return new ProcessBuilder(cmd).directory(dir.toFile()).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    }

    private static int awaitPort(Process p, Path out, Path err) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        Pattern url = Pattern.compile("http://127\\.0\\.0\\.1:(\\d+)/");
        while (true) {
            assertTrue(p.isAlive(), () -> "serve exited: " + read(err));
            assertTrue(System.nanoTime() < until, "serve did not start in 120 s");
            Matcher m = url.matcher(read(out));
            if (m.find()) return Integer.parseInt(m.group(1));
            Thread.sleep(50);
        }
    }

    private static String read(Path f) {
        try {
            return Files.readString(f, StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}

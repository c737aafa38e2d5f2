package org.ovseg.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.api.Segmenter;
import org.ovseg.cli.SegmenterService;

/**
 * A bounded load test on 127.0.0.1: 8 clients each send 50 requests back to back (400 in all) to
 * a server with min(2, cores) workers and a queue deep enough for every client, on the built-in
 * model at size 64. Every request must answer 200 with the right segmentation; the latency
 * percentiles and throughput are printed (and written to target/serve-load.txt) for
 * benchmarks/RESULTS.md.
 */
class ServeLoadTest {
    static final int CLIENTS = 8, REQUESTS = 50;

    @Test
    void eightClientsFiftyRequestsEachWithoutAFailure(@TempDir Path cache) throws Exception {
        ObjectMapper json = new ObjectMapper();
        byte[] body = Forms.multipart("load.png", Forms.redBluePng(96, 64), Forms.fields("labels", "red, blue, green"));
        ServeConfig config = ServeConfig.defaults().withAddress("127.0.0.1", 0).withConcurrency(Math.min(2, Runtime.getRuntime().availableProcessors()), CLIENTS);
        try (Segmenter segmenter = Segmenter.builder().cacheDir(cache).size(64).build();
                SegmentServer server = SegmentServer.start(new SegmenterService(segmenter), config)) {
            assertEquals(200, Forms.post(server.port(), body).statusCode()); // warm-up, not counted
            ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
            long t0 = System.nanoTime();
            List<Future<long[]>> results = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                results.add(clients.submit(() -> {
                    long[] ns = new long[REQUESTS];
                    for (int i = 0; i < REQUESTS; i++) {
                        long s = System.nanoTime();
                        HttpResponse<String> r = Forms.post(server.port(), body);
                        ns[i] = System.nanoTime() - s;
                        assertEquals(200, r.statusCode(), r.body());
                        JsonNode labels = json.readTree(r.body()).get("labels");
                        assertEquals(0.5, labels.get(0).get("pixel_fraction").asDouble(), 0.05);
                        assertEquals(0.0, labels.get(2).get("pixel_fraction").asDouble());
                    }
                    return ns;
                }));
            }
            long[] all = new long[CLIENTS * REQUESTS];
            int k = 0;
            for (Future<long[]> f : results) for (long ns : f.get(10, TimeUnit.MINUTES)) all[k++] = ns;
            double seconds = (System.nanoTime() - t0) / 1e9;
            clients.shutdown();
            Arrays.sort(all);
            double p50 = all[(int) Math.ceil(0.50 * all.length) - 1] / 1e6, p99 = all[(int) Math.ceil(0.99 * all.length) - 1] / 1e6;
            String line = String.format(Locale.ROOT, "serve load: %d clients x %d requests, %d workers, %d OK, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %.1f requests/s",
                    CLIENTS, REQUESTS, config.workers(), all.length, p50, p99, all[all.length - 1] / 1e6, all.length / seconds);
            System.out.println(line);
            Files.writeString(Path.of("target", "serve-load.txt"), line + System.lineSeparator());
            assertTrue(p50 > 0 && p99 >= p50);
        }
    }
}

package org.ovseg.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.net.BindException;
import java.util.Set;
import java.lang.reflect.Proxy;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.ovseg.OvsegException;
import org.ovseg.api.Segmenter;
import org.ovseg.serve.SegmentServer;
import org.ovseg.serve.ServeConfig;

/**
 * {@code ovseg serve}: the segmenter behind HTTP ({@link SegmentServer}). Model options are those
 * of {@code segment} and are fixed for the server's life; SIGTERM or Ctrl-C shuts it down
 * gracefully (requests in flight finish, then the model is closed); a second Ctrl-C exits at once.
 */
final class ServeCommand implements Main.Command {
    private static final Set<String> VALUED = SegmenterOptions.union(SegmenterOptions.VALUED,
            Set.of("host", "port", "workers", "queue", "timeout-ms", "max-bytes"));
    private static final Set<String> FLAGS = Set.of("no-text-cache");
    private static final String MAX_REQ_TIME = "sun.net.httpserver.maxReqTime"; // seconds

    static final String USAGE = """
            usage: ovseg serve [--model DIR|builtin:NAME] [--pipeline NAME] [--host 127.0.0.1] [--port 8080]
                               [--workers N] [--queue 16] [--timeout-ms 60000] [--max-bytes 20971520]
                               [model options of 'ovseg segment': --size --window --stride --templates --preset
                                --backend --key-smoothing --prompt-denoising --threads --cache-dir --no-text-cache
                                --max-pixels --sam --sam-points --gradcam-memory]
            POST /v1/segment (multipart/form-data: image, labels[, stuff, refer, instances]) -> the per-image JSON of
            'segment' plus labels_png, panoptic_png and overlay_png (base64); GET /healthz; GET / a web page.
            --workers: segmentation threads sharing one model (default min(2, cores)); --queue: requests that may wait
            beyond them (then 503 with Retry-After); --timeout-ms: per-request limit (504); --max-bytes: body limit (413).
            Model options are fixed when the server starts; a request naming one is refused (400).""";

    @Override
    public String summary() {
        return "HTTP service: POST /v1/segment, GET /healthz, and a web page at /";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        if (Main.wantsHelp(argv)) {
            out.println(USAGE);
            return 0;
        }
        Args a = Args.parse(argv, 1, VALUED, FLAGS);
        if (!a.positional().isEmpty()) throw new UsageException("unexpected argument '" + a.positional().get(0) + "'");
        ServeConfig d = ServeConfig.defaults();
        ServeConfig config = d.withAddress(a.get("host", d.host()), a.intValue("port", d.port(), 0, 65535))
                .withConcurrency(a.intValue("workers", d.workers(), 1, 1024), a.intValue("queue", d.queue(), 0, 100_000))
                .withTimeoutMs(a.get("timeout-ms", null) == null ? d.timeoutMs() : a.longValue("timeout-ms", 1, 24L * 3600 * 1000))
                // bodies are held in one byte array
                .withMaxBodyBytes(a.get("max-bytes", null) == null ? d.maxBodyBytes() : a.longValue("max-bytes", 1, Integer.MAX_VALUE - 8));
        // A client gets as long to send its request (headers and body) as the request may take in
        // all; past it the JDK's server closes the connection, so a slow sender cannot hold a
        // connection thread. The JDK reads this once per process, when its first server starts.
        if (System.getProperty(MAX_REQ_TIME) == null) System.setProperty(MAX_REQ_TIME, Long.toString(Math.max(1, (config.timeoutMs() + 999) / 1000)));
        // SIGTERM and Ctrl-C are trapped rather than left to shutdown hooks: ONNX Runtime's Java
        // binding releases its native environment in a hook of its own, which would run alongside
        // ours and pull the environment from under the requests still in flight. Trapped before the
        // model loads (a signal during a long load stops the server as soon as it is up), and
        // given back when run() returns.
        CountDownLatch stop = new CountDownLatch(1);
        AtomicInteger signals = new AtomicInteger();
        try (SignalTrap trap = SignalTrap.install(() -> {
            if (signals.incrementAndGet() > 1) Runtime.getRuntime().halt(130); // a second Ctrl-C: stop now
            stop.countDown();
        }, "TERM", "INT")) {
            SegmenterOptions.check(a);
            Segmenter segmenter = SegmenterOptions.builder(a).build();
            SegmentServer server;
            try {
                server = SegmentServer.start(new SegmenterService(segmenter), config);
            } catch (BindException e) {
                segmenter.close();
                throw new OvsegException("cannot listen on " + config.host() + ":" + config.port() + ": " + e.getMessage());
            } catch (IOException | RuntimeException e) {
                segmenter.close();
                throw e;
            }
            Thread hook = new Thread(() -> { // the JVM exits some other way: still close in order
                server.close();
                segmenter.close();
            }, "ovseg-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            out.printf("ovseg serve: http://%s:%d/ (%s, %d workers, queue %d); Ctrl-C stops%n", config.host(), server.port(), segmenter.pipeline(),
                    config.workers(), config.queue());
            out.flush();
            if (!trap.installed()) err.println("warning: cannot trap SIGTERM/SIGINT here; requests in flight at exit may fail");
            stop.await();
            out.println("ovseg serve: stopping (finishing requests in flight)");
            out.flush();
            server.close();
            segmenter.close();
            Runtime.getRuntime().removeShutdownHook(hook);
            out.println("ovseg serve: stopped");
        }
        return 0;
    }

    /**
     * POSIX signal handlers through {@code sun.misc.Signal} (module jdk.unsupported), reached
     * reflectively so the build has no internal-API warning; {@link #close()} puts the previous
     * handlers back.
     */
    static final class SignalTrap implements AutoCloseable {
        private final java.util.Map<Object, Object> previous = new java.util.LinkedHashMap<>(); // signal -> its former handler
        private boolean installed = true;

        static SignalTrap install(Runnable action, String... names) {
            SignalTrap t = new SignalTrap();
            try {
                Class<?> signalClass = Class.forName("sun.misc.Signal"), handlerClass = Class.forName("sun.misc.SignalHandler");
                Object handler = Proxy.newProxyInstance(handlerClass.getClassLoader(), new Class<?>[] {handlerClass}, (proxy, method, args) -> {
                    switch (method.getName()) {
                        case "handle" -> action.run();
                        case "hashCode" -> { return System.identityHashCode(proxy); }
                        case "equals" -> { return proxy == args[0]; }
                        case "toString" -> { return "ovseg serve signal handler"; }
                        default -> { }
                    }
                    return null;
                });
                for (String name : names) {
                    Object signal = signalClass.getConstructor(String.class).newInstance(name);
                    t.previous.put(signal, handle(signal, handler));
                }
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                t.installed = false; // e.g. under -Xrs
            }
            return t;
        }

        private static Object handle(Object signal, Object handler) throws ReflectiveOperationException {
            Class<?> signalClass = Class.forName("sun.misc.Signal"), handlerClass = Class.forName("sun.misc.SignalHandler");
            return signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, handler);
        }

        boolean installed() {
            return installed;
        }

        @Override
        public void close() {
            for (var e : previous.entrySet()) {
                try {
                    handle(e.getKey(), e.getValue());
                } catch (ReflectiveOperationException | RuntimeException ignored) {
                    // nothing more to restore
                }
            }
        }
    }
}

package org.ovseg.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.ovseg.Logging;
import org.ovseg.OvsegException;

/**
 * The HTTP face of ovseg ({@code ovseg serve}), on the JDK's own HTTP server.
 *
 * <ul>
 *   <li>{@code POST /v1/segment}: multipart/form-data with {@code image} and {@code labels}
 *       (see {@link SegmentRequest}) → 200 and the per-image JSON, 400 bad input, 411 no length,
 *       413 too large, 503 busy or shutting down (with Retry-After), 504 over the time limit.
 *   <li>{@code GET /healthz}: 200 while serving, 503 while shutting down.
 *   <li>{@code GET /}: a page to upload an image and see the overlay and per-label table.
 * </ul>
 *
 * <p>Concurrency: {@code workers} threads run the service; at most {@code workers + queue}
 * requests are admitted at once (a permit is taken when the headers arrive, before the body is
 * read, and given back only when the work really ends, so a request past its time limit keeps
 * its place until its worker is free). {@link #close()} is graceful: new requests get 503, those
 * in flight finish (bounded by the time limit), then the listener and threads stop.
 *
 * <p>How long a client may take to send its request is the JDK server's own setting, {@code
 * sun.net.httpserver.maxReqTime} (seconds, read once per process); {@code ovseg serve} sets it to
 * the time limit. Without it a client that stops sending mid-body holds a connection thread and
 * its place until it goes away.
 */
public final class SegmentServer implements AutoCloseable {
    private static final System.Logger LOG = Logging.logger(SegmentServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Seconds a client is told to wait before retrying a busy server. */
    static final int RETRY_AFTER_SECONDS = 1;
    private static final long SHUTDOWN_SLACK_MS = 5_000;

    private final SegmentService service;
    private final ServeConfig config;
    private final HttpServer http;
    private final ThreadPoolExecutor httpThreads;
    private final ThreadPoolExecutor workers;
    private final Semaphore slots;
    private final byte[] page;
    private final Object activity = new Object();
    private int active; // exchanges being handled, guarded by activity
    private volatile boolean draining;
    private final AtomicBoolean closed = new AtomicBoolean();

    private SegmentServer(SegmentService service, ServeConfig config) throws IOException {
        this.service = service;
        this.config = config;
        this.page = loadPage();
        this.slots = new Semaphore(config.workers() + config.queue());
        // Admission is bounded by the semaphore, so the queue behind the workers never grows past `queue`.
        this.workers = new ThreadPoolExecutor(config.workers(), config.workers(), 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                daemonThreads("ovseg-worker"));
        // Enough connection threads for every admitted request plus a few that answer 503 and /healthz at once.
        int connections = config.workers() + config.queue() + 4;
        this.httpThreads = new ThreadPoolExecutor(connections, connections, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                daemonThreads("ovseg-http"));
        this.http = HttpServer.create(new InetSocketAddress(config.host(), config.port()), 64);
        http.setExecutor(httpThreads);
        http.createContext("/", this::handle);
    }

    /**
     * Binds and starts a server.
     *
     * @param service runs the requests; shared by every worker thread
     * @throws IOException when the address cannot be bound
     */
    public static SegmentServer start(SegmentService service, ServeConfig config) throws IOException {
        SegmentServer s = new SegmentServer(service, config);
        s.http.start();
        LOG.log(System.Logger.Level.INFO, "ovseg serve listening on {0}", s.address());
        return s;
    }

    /** @return the bound address (the real port when the config asked for 0) */
    public InetSocketAddress address() {
        return http.getAddress();
    }

    /** @return the bound port */
    public int port() {
        return address().getPort();
    }

    private static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private static byte[] loadPage() throws IOException {
        try (InputStream in = SegmentServer.class.getResourceAsStream("index.html")) {
            if (in == null) throw new IOException("resource org/ovseg/serve/index.html missing from the jar");
            return in.readAllBytes();
        }
    }

    private void handle(HttpExchange ex) {
        synchronized (activity) {
            active++;
        }
        try {
            route(ex);
        } catch (HttpStatusException e) {
            sendError(ex, e.status(), e.getMessage());
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "connection failed: {0}", e.toString()); // the client went away
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.WARNING, "internal failure serving " + ex.getRequestURI(), e);
            sendError(ex, 500, "internal failure: " + e);
        } finally {
            ex.close();
            synchronized (activity) {
                active--;
                activity.notifyAll();
            }
        }
    }

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath(), method = ex.getRequestMethod();
        switch (path) {
            case "/", "/index.html" -> {
                requireMethod(ex, "GET");
                Headers h = ex.getResponseHeaders();
                h.set("Cache-Control", "no-store");
                h.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
                send(ex, 200, "text/html; charset=utf-8", page);
            }
            case "/healthz" -> {
                requireMethod(ex, "GET");
                health(ex);
            }
            case "/v1/segment" -> {
                requireMethod(ex, "POST");
                segment(ex);
            }
            default -> throw new HttpStatusException(404, "no such endpoint: " + method + " " + path + " (POST /v1/segment, GET /healthz, GET /)");
        }
    }

    private static void requireMethod(HttpExchange ex, String method) {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method);
            throw new HttpStatusException(405, ex.getRequestMethod() + " is not allowed on " + ex.getRequestURI().getPath() + " (use " + method + ")");
        }
    }

    private void health(HttpExchange ex) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", draining ? "shutting down" : "ok");
        m.putAll(service.describe());
        m.put("workers", config.workers());
        m.put("queue", config.queue());
        m.put("admitted", config.workers() + config.queue() - slots.availablePermits());
        sendJson(ex, draining ? 503 : 200, m);
    }

    private void segment(HttpExchange ex) throws IOException {
        if (draining) throw busy(ex, "server is shutting down");
        if (!slots.tryAcquire()) {
            throw busy(ex, "server busy: " + (config.workers() + config.queue()) + " requests in progress (" + config.workers() + " workers, queue of "
                    + config.queue() + "); retry later");
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMs());
        boolean handedOver = false;
        try {
            MultipartForm form = MultipartForm.read(ex.getRequestBody(), ex.getRequestHeaders().getFirst("Content-Type"), declaredLength(ex),
                    config.multipartLimits());
            SegmentRequest request = SegmentRequest.fromForm(form);
            // Whoever claims the task first owns the permit: the worker (released when it ends) or
            // a timed-out handler (the task never started, so it will never run).
            AtomicBoolean claimed = new AtomicBoolean();
            Future<Map<String, Object>> result;
            try {
                result = workers.submit(() -> {
                    if (!claimed.compareAndSet(false, true)) return null;
                    try {
                        return service.segment(request);
                    } finally {
                        slots.release();
                    }
                });
            } catch (RejectedExecutionException e) {
                throw busy(ex, "server is shutting down");
            }
            handedOver = true;
            Map<String, Object> json;
            try {
                json = result.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                if (claimed.compareAndSet(false, true)) {
                    result.cancel(false);
                    slots.release();
                }
                throw new HttpStatusException(504, "request took longer than the limit of " + config.timeoutMs() + " ms (--timeout-ms)");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw busy(ex, "server is shutting down");
            } catch (ExecutionException e) {
                throw translate(e.getCause());
            }
            sendJson(ex, 200, json);
        } catch (HttpStatusException e) {
            if (e.status() == 413 || e.status() == 411) ex.getResponseHeaders().set("Connection", "close"); // the body stays unread
            throw e;
        } finally {
            if (!handedOver) slots.release();
        }
    }

    private static HttpStatusException busy(HttpExchange ex, String message) {
        ex.getResponseHeaders().set("Retry-After", Integer.toString(RETRY_AFTER_SECONDS));
        return new HttpStatusException(503, message);
    }

    /** Content-Length, or -1 for a chunked body; a body of neither kind is refused (411). */
    private static long declaredLength(HttpExchange ex) {
        Headers h = ex.getRequestHeaders();
        String te = h.getFirst("Transfer-Encoding");
        if (te != null) {
            if (!te.trim().toLowerCase(Locale.ROOT).equals("chunked")) throw HttpStatusException.badRequest("unsupported Transfer-Encoding '" + te + "'");
            return -1;
        }
        String cl = h.getFirst("Content-Length");
        if (cl == null) throw new HttpStatusException(411, "Content-Length required (or a chunked body)");
        try {
            long n = Long.parseLong(cl.trim());
            if (n < 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw HttpStatusException.badRequest("invalid Content-Length '" + cl + "'");
        }
    }

    /** Failures of the service, mapped the way the CLI maps them to exit codes: bad input 400, the rest 500. */
    private static HttpStatusException translate(Throwable c) {
        if (c instanceof HttpStatusException h) return h;
        if (c instanceof OvsegException || c instanceof IllegalArgumentException) return HttpStatusException.badRequest(c.getMessage());
        if (c instanceof IllegalStateException) return new HttpStatusException(503, "server is shutting down");
        if (c instanceof OutOfMemoryError) return new HttpStatusException(500, "out of memory (" + c.getMessage() + "); try a smaller image");
        LOG.log(System.Logger.Level.WARNING, "internal failure", c);
        return new HttpStatusException(500, "internal failure: " + c);
    }

    private static void sendError(HttpExchange ex, int status, String message) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", OvsegException.oneLine(message));
        try {
            sendJson(ex, status, m);
        } catch (IOException | UncheckedIOException e) {
            LOG.log(System.Logger.Level.DEBUG, "could not send the error: {0}", e.toString());
        }
    }

    private static void sendJson(HttpExchange ex, int status, Map<String, Object> body) throws IOException {
        send(ex, status, "application/json; charset=utf-8", JSON.writeValueAsBytes(body));
    }

    private static void send(HttpExchange ex, int status, String contentType, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
        ex.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        OutputStream os = ex.getResponseBody();
        os.write(body);
        // Out now, before close() drains what is left of an unread body (a 413 must reach a client
        // that waits for it before sending more).
        os.flush();
    }

    /**
     * Graceful shutdown: new requests are answered 503, requests in flight finish (at most the
     * time limit plus a few seconds), then the listener closes and the threads stop. The service
     * stays the caller's to close. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        draining = true;
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.timeoutMs() + SHUTDOWN_SLACK_MS);
        boolean interrupted = false;
        synchronized (activity) {
            while (active > 0 && System.nanoTime() < end) {
                try {
                    activity.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
                } catch (InterruptedException e) {
                    interrupted = true;
                    break;
                }
            }
        }
        http.stop(0);
        httpThreads.shutdown();
        workers.shutdown();
        try {
            // A request past its time limit may still hold a worker: let it end before the owner closes the service.
            workers.awaitTermination(Math.max(0, end - System.nanoTime()) + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
            httpThreads.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        if (interrupted) Thread.currentThread().interrupt();
        LOG.log(System.Logger.Level.INFO, "ovseg serve stopped");
    }
}

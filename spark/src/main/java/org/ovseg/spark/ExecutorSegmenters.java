package org.ovseg.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.ovseg.Logging;
import org.ovseg.api.Segmenter;

/**
 * One {@link Segmenter} per executor JVM and {@link SegmenterSpec}, built on first use and closed
 * when the JVM exits.
 *
 * <p>Why a per-JVM static holder, against the project's "no global state" rule: a Spark executor
 * gives user code no lifecycle of its own. A task's closure is deserialised afresh for every task,
 * and the Dataset API has no per-executor setup or teardown, so the only scope that outlives one
 * partition is the class's. Loading a model costs seconds and hundreds of megabytes of native
 * memory; per partition it would be paid once per partition, and the concurrent tasks of one
 * executor would each hold a copy. A Segmenter is thread-safe (one model, many threads), so all
 * task threads of the executor share one. It lives until the executor's JVM exits: executors are
 * stopped by ending the JVM, which runs shutdown hooks and nothing else, so a hook closes it to
 * release ONNX Runtime sessions and TensorRT contexts in order rather than leaving them to the
 * process teardown. The hook waits at most {@link #CLOSE_WAIT_MS} for a call still in flight, so
 * a task stuck in a long inference cannot hold up the executor's exit.
 *
 * <p>In local mode the driver and the executors share one JVM, so the Segmenter the driver builds
 * to check the model and labels before the job is the one the tasks use.
 */
public final class ExecutorSegmenters {
    /** Longest wait of the shutdown hook for calls in flight. */
    static final long CLOSE_WAIT_MS = 10_000;

    private static final System.Logger LOG = Logging.logger(ExecutorSegmenters.class);
    private static final ConcurrentHashMap<SegmenterSpec, Segmenter> OPEN = new ConcurrentHashMap<>();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(ExecutorSegmenters::closeAllBounded, "ovseg-segmenters-close"));
    }

    private ExecutorSegmenters() {}

    /**
     * @return the JVM's Segmenter for {@code spec}, loading the model on first use; concurrent
     *     first calls load it once
     * @throws org.ovseg.OvsegException when the model cannot be loaded (nothing is cached then)
     */
    public static Segmenter get(SegmenterSpec spec) {
        return OPEN.computeIfAbsent(spec, s -> {
            LOG.log(System.Logger.Level.INFO, () -> "loading model for " + s);
            return s.build();
        });
    }

    /** @return how many Segmenters this JVM holds (for tests of the one-per-JVM rule) */
    static int openCount() {
        return OPEN.size();
    }

    /**
     * Closes and forgets every Segmenter of this JVM; a later {@link #get} loads again. For a
     * driver that is done with its job, and for tests.
     */
    public static void closeAll() {
        List<Segmenter> all = new ArrayList<>();
        for (SegmenterSpec k : List.copyOf(OPEN.keySet())) {
            Segmenter s = OPEN.remove(k);
            if (s != null) all.add(s);
        }
        for (Segmenter s : all) {
            try {
                s.close();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "closing a Segmenter failed", e);
            }
        }
    }

    private static void closeAllBounded() {
        Thread t = new Thread(ExecutorSegmenters::closeAll, "ovseg-segmenters-close-worker");
        t.setDaemon(true);
        t.start();
        try {
            t.join(CLOSE_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package org.ovseg.cli;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Runs items through three stages so that they overlap: {@code read} (decoding) of the next items
 * on one thread while the caller's thread runs {@code process} (the model) on the current one,
 * and {@code finish} (encoding and writing outputs, reporting) on a third thread. The model
 * already keeps the cores busy while it encodes; the other stages are mostly single-threaded, so
 * overlapping them with it fills the gaps. Bounded: at most {@code readAhead} items are decoded
 * ahead and {@code writeBacklog} results wait for {@code finish}, so memory stays that of a few
 * images. {@code finish} sees every item exactly once, in input order, with its result or the
 * first stage's failure, so what it prints and writes is what a serial loop would.
 */
final class Overlapped {
    /** A stage that may fail; the failure goes to {@link Finish} with its item. */
    @FunctionalInterface
    interface Stage<A, B> {
        B apply(A a) throws Exception;
    }

    /** The last stage: {@code result} is null exactly when {@code failure} is not. */
    @FunctionalInterface
    interface Finish<I, R> {
        void accept(I item, R result, Throwable failure);
    }

    private Overlapped() {}

    /**
     * Runs every item; returns when each has been finished.
     *
     * @throws IllegalArgumentException when a bound is below 1
     * @throws Error a read or process Error other than OutOfMemoryError, after the earlier items finished
     */
    static <I, D, R> void run(List<I> items, Stage<I, D> read, Stage<D, R> process, Finish<I, R> finish, int readAhead, int writeBacklog) {
        Objects.requireNonNull(items, "items");
        if (readAhead < 1 || writeBacklog < 1) throw new IllegalArgumentException("readAhead and writeBacklog must be >= 1");
        ExecutorService reader = Executors.newSingleThreadExecutor(daemon("ovseg-read"));
        ExecutorService writer = Executors.newSingleThreadExecutor(daemon("ovseg-write"));
        Semaphore backlog = new Semaphore(writeBacklog);
        Deque<Future<D>> pending = new ArrayDeque<>();
        Error fatal = null;
        try {
            int next = 0;
            for (int i = 0; i < items.size() && fatal == null; i++) {
                while (next < items.size() && next <= i + readAhead) {
                    I it = items.get(next++);
                    pending.add(reader.submit(() -> read.apply(it)));
                }
                I item = items.get(i);
                R result = null;
                Throwable failure = null;
                try {
                    result = process.apply(await(pending.poll()));
                } catch (Exception | OutOfMemoryError e) {
                    failure = e;
                } catch (Error e) {
                    fatal = e;
                    break;
                }
                backlog.acquireUninterruptibly();
                R r = result;
                Throwable f = failure;
                writer.execute(() -> {
                    try {
                        finish.accept(item, r, f);
                    } finally {
                        backlog.release();
                    }
                });
            }
        } finally {
            reader.shutdownNow();
            writer.shutdown();
            awaitQuietly(writer);
        }
        if (fatal != null) throw fatal;
    }

    /**
     * The same contract one stage after another on the calling thread: the reference the
     * overlapped run is measured and compared against.
     */
    static <I, D, R> void serial(List<I> items, Stage<I, D> read, Stage<D, R> process, Finish<I, R> finish) {
        for (I item : items) {
            R result = null;
            Throwable failure = null;
            try {
                result = process.apply(read.apply(item));
            } catch (Exception | OutOfMemoryError e) {
                failure = e;
            }
            finish.accept(item, result, failure);
        }
    }

    /** The read stage's value, or its own failure (not the ExecutionException around it). */
    private static <D> D await(Future<D> f) throws Exception {
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception ex) throw ex;
            if (c instanceof Error err) throw err;
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw e;
        }
    }

    private static void awaitQuietly(ExecutorService s) {
        boolean interrupted = false;
        while (true) {
            try {
                if (s.awaitTermination(1, TimeUnit.DAYS)) break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}

package org.ovseg.engine;

import java.util.concurrent.Callable;

/**
 * Runs a native call on a fresh thread with a 64 MiB stack and hands back its result on the
 * caller's thread.
 *
 * <p>Why: ONNX Runtime 1.29's environment creation recurses about 12,000 frames deep inside
 * libonnxruntime when the process command line is long (1,000 short arguments are enough) and
 * overflows the JVM's default 1 MiB thread stack: SIGSEGV, no Java exception, no hs_err file.
 * A JVM can have a long command line for reasons its caller does not control (a launcher given
 * many files, a Spark executor's classpath, an application server), so the call must not depend
 * on the stack of whatever thread happens to make it. 64 MiB was checked with 20,000 arguments.
 * The thread reserves address space, not memory: only the pages the recursion touches are used.
 */
final class BigStack {
    /** Stack size of the helper thread. */
    static final long STACK_BYTES = 64L << 20;

    private BigStack() {}

    /**
     * Runs {@code task} on a new thread with a {@link #STACK_BYTES} stack and waits for it, even
     * through interrupts (abandoning a half-made native object would leak it); the caller's
     * interrupt flag is restored afterwards.
     *
     * @return what {@code task} returned
     * @throws RuntimeException or Error: whatever {@code task} threw, unchanged; a checked
     *     exception is wrapped in an {@link EngineException}
     */
    static <T> T call(String threadName, Callable<T> task) {
        Object[] result = new Object[1];
        Throwable[] failure = new Throwable[1];
        Thread t = new Thread(null, () -> {
            try {
                result[0] = task.call();
            } catch (Throwable e) {
                failure[0] = e;
            }
        }, threadName, STACK_BYTES);
        t.setDaemon(true);
        t.start();
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        // join() orders the helper's writes before these reads.
        Throwable e = failure[0];
        if (e instanceof RuntimeException re) throw re;
        if (e instanceof Error err) throw err;
        if (e != null) throw new EngineException(threadName + " failed: " + e, e);
        @SuppressWarnings("unchecked")
        T r = (T) result[0];
        return r;
    }
}

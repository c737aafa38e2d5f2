package org.ovseg.cli;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.LongSupplier;

/**
 * Progress of a long loop over images: on a terminal a bar redrawn in place with the rate and
 * the time left; otherwise (a log file, CI) a plain line at most every {@code interval}, so logs
 * stay short. The rate counts only the images done in this run, not those skipped as done before.
 */
final class Progress {
    private final PrintStream out;
    private final boolean terminal;
    private final int total;
    private final int skipped;
    private final LongSupplier nanos;
    private final long intervalNanos;
    private final long start;
    private long lastPrint;
    private int done;

    /**
     * @param total images in the whole set
     * @param skipped images already done before this run
     * @param terminal draw a bar (else print plain lines)
     * @param intervalNanos least time between two plain lines (the bar redraws every 200 ms at most)
     */
    Progress(PrintStream out, int total, int skipped, boolean terminal, long intervalNanos, LongSupplier nanos) {
        this.out = out;
        this.total = total;
        this.skipped = skipped;
        this.terminal = terminal;
        this.intervalNanos = terminal ? 200_000_000L : intervalNanos;
        this.nanos = nanos;
        this.start = nanos.getAsLong();
        this.lastPrint = start;
    }

    /** Records that one more image is done (scored or failed). */
    void step() {
        done++;
        long now = nanos.getAsLong();
        if (now - lastPrint >= intervalNanos || skipped + done == total) {
            lastPrint = now;
            print(now);
        }
    }

    /** Ends the bar's line. */
    void finish() {
        if (terminal && done > 0) out.println();
        out.flush();
    }

    private void print(long now) {
        double seconds = (now - start) / 1e9;
        double rate = seconds > 0 ? done / seconds : 0;
        int left = total - skipped - done;
        String eta = rate > 0 ? clock(left / rate) : "?";
        int n = skipped + done;
        if (terminal) {
            int width = 30, filled = total == 0 ? width : (int) ((long) width * n / total);
            out.printf(Locale.ROOT, "\reval [%s%s] %d/%d  %.2f img/s  ETA %s ", "#".repeat(filled), ".".repeat(width - filled), n, total, rate, eta);
        } else {
            out.printf(Locale.ROOT, "eval: %d/%d images, %.2f img/s, ETA %s%n", n, total, rate, eta);
        }
        out.flush();
    }

    /** @return h:mm:ss or m:ss */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}

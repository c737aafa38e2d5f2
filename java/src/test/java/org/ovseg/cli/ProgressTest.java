package org.ovseg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The progress report on a fake clock: rate and ETA from this run's images only, bar vs periodic lines. */
class ProgressTest {
    private static final long S = 1_000_000_000L;

    @Test
    void plainLinesAtMostEveryIntervalWithRateAndEta() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        // 10 images, 2 done in an earlier run; one image every 2 s; a line at most every 5 s
        Progress p = new Progress(new PrintStream(buf, true, StandardCharsets.UTF_8), 10, 2, false, 5 * S, now::get);
        for (int i = 0; i < 8; i++) {
            now.addAndGet(2 * S);
            p.step();
        }
        p.finish();
        String[] lines = buf.toString(StandardCharsets.UTF_8).split("\n");
        // printed at 6 s (3 done), 12 s (6 done), and at the end (8 done, 16 s)
        assertEquals(3, lines.length, buf.toString(StandardCharsets.UTF_8));
        assertEquals("eval: 5/10 images, 0.50 img/s, ETA 0:10", lines[0]);
        assertEquals("eval: 8/10 images, 0.50 img/s, ETA 0:04", lines[1]);
        assertEquals("eval: 10/10 images, 0.50 img/s, ETA 0:00", lines[2]);
    }

    @Test
    void aBarRedrawnInPlaceOnATerminal() {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong();
        Progress p = new Progress(new PrintStream(buf, true, StandardCharsets.UTF_8), 4, 0, true, 5 * S, now::get);
        for (int i = 0; i < 4; i++) {
            now.addAndGet(S);
            p.step();
        }
        p.finish();
        String s = buf.toString(StandardCharsets.UTF_8);
        assertTrue(s.contains("\reval [#######") && s.contains("] 1/4  1.00 img/s  ETA 0:03"), s);
        assertTrue(s.contains("\reval [##############################] 4/4  1.00 img/s  ETA 0:00 \n"), s);
        assertEquals(1, s.chars().filter(c -> c == '\n').count(), "one line in the end: " + s);
        assertEquals("1:01:01", Progress.clock(3661));
    }
}

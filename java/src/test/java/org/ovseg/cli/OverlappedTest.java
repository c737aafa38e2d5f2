package org.ovseg.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class OverlappedTest {
    @Test
    void finishesEveryItemInOrderWithItsOwnFailure() {
        List<Integer> items = IntStream.range(0, 40).boxed().toList();
        List<String> seen = Collections.synchronizedList(new ArrayList<>()), serial = new ArrayList<>();
        Overlapped.Stage<Integer, Integer> read = i -> {
            if (i % 7 == 3) throw new IOException("unreadable " + i);
            Thread.sleep((i * 13) % 5); // uneven stage times must not reorder anything
            return i * 10;
        };
        Overlapped.Stage<Integer, Integer> process = d -> {
            if (d == 50) throw new IllegalStateException("model failed");
            return d + 1;
        };
        for (List<String> log : List.of(seen, serial)) {
            Overlapped.Finish<Integer, Integer> finish = (i, r, f) -> {
                if (f != null) {
                    assertNull(r);
                    log.add(i + ":" + f.getMessage());
                } else {
                    log.add(i + "=" + r);
                }
            };
            if (log == seen) Overlapped.run(items, read, process, finish, 1, 2);
            else Overlapped.serial(items, read, process, finish);
        }
        List<String> expected = new ArrayList<>();
        for (int i : items) {
            expected.add(i % 7 == 3 ? i + ":unreadable " + i : i == 5 ? i + ":model failed" : i + "=" + (i * 10 + 1));
        }
        assertEquals(expected, seen);
        assertEquals(expected, serial);
    }

    @Test
    void stagesOverlapWithinTheirBounds() throws Exception {
        // The reader may run at most readAhead items past the one being processed, and at most
        // writeBacklog results may wait for a slow finish: the process stage of item i waits until
        // the reader has reached i + 1 (overlap happens), and the counts never exceed the bounds.
        int n = 12, readAhead = 1, backlog = 2;
        AtomicInteger read = new AtomicInteger(), processed = new AtomicInteger(), finished = new AtomicInteger();
        AtomicInteger maxAhead = new AtomicInteger(), maxWaiting = new AtomicInteger();
        CountDownLatch overlapSeen = new CountDownLatch(1);
        Overlapped.<Integer, Integer, Integer>run(IntStream.range(0, n).boxed().toList(), i -> {
            maxAhead.accumulateAndGet(i - processed.get(), Math::max);
            read.incrementAndGet();
            return i;
        }, d -> {
            if (d == 0 && read.get() < 2) {
                long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (read.get() < 2 && System.nanoTime() < end) Thread.onSpinWait();
            }
            if (read.get() >= 2) overlapSeen.countDown();
            maxWaiting.accumulateAndGet(processed.get() - finished.get(), Math::max);
            processed.incrementAndGet();
            return d;
        }, (i, r, f) -> {
            try {
                Thread.sleep(3);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            finished.incrementAndGet();
        }, readAhead, backlog);
        assertEquals(n, finished.get());
        assertTrue(overlapSeen.await(0, TimeUnit.SECONDS), "the next item was never read while one was processed");
        assertTrue(maxAhead.get() <= readAhead, "read " + maxAhead.get() + " ahead");
        assertTrue(maxWaiting.get() <= backlog, maxWaiting.get() + " results waited for finish");
    }

    @Test
    void rejectsBadBoundsAndRethrowsFatalErrors() {
        assertThrows(IllegalArgumentException.class, () -> Overlapped.run(List.of(1), i -> i, d -> d, (i, r, f) -> {}, 0, 1));
        List<Integer> done = Collections.synchronizedList(new ArrayList<>());
        assertThrows(StackOverflowError.class, () -> Overlapped.<Integer, Integer, Integer>run(List.of(0, 1, 2, 3), i -> i, d -> {
            if (d == 2) throw new StackOverflowError();
            return d;
        }, (i, r, f) -> done.add(i), 1, 1));
        assertEquals(List.of(0, 1), done); // the items before the fatal one were still finished
    }
}

package org.ovseg.pipeline.common;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Wall-clock milliseconds per named stage, accumulated in order of first use. Not thread-safe. */
public final class StageTimer {
    private final Map<String, Double> ms = new LinkedHashMap<>();
    private String current;
    private long start;

    /** Ends the running stage (if any) and starts {@code name}. */
    public void start(String name) {
        stop();
        current = name;
        start = System.nanoTime();
    }

    /** Ends the running stage. */
    public void stop() {
        if (current != null) {
            ms.merge(current, (System.nanoTime() - start) / 1e6, Double::sum);
            current = null;
        }
    }

    /** @return stage → milliseconds, in order */
    public Map<String, Double> millis() {
        stop();
        return Collections.unmodifiableMap(new LinkedHashMap<>(ms));
    }
}

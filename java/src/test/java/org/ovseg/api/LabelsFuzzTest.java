package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz target for label parsing. Without JAZZER_FUZZ this replays the kept inputs under
 * {@code LabelsFuzzTestInputs/parse/}; with JAZZER_FUZZ=1 it fuzzes (README, Fuzzing). Only
 * InvalidLabelsException is acceptable.
 */
class LabelsFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void parse(byte[] utf8) {
        String text = new String(utf8, StandardCharsets.UTF_8);
        Labels labels;
        try {
            labels = Labels.parse(text);
        } catch (InvalidLabelsException e) {
            String m = e.getMessage();
            assertTrue(m != null && !m.isBlank() && m.indexOf('\n') < 0, () -> "not a one-line message: " + m);
            return;
        }
        assertTrue(labels.size() >= 1 && labels.size() <= Labels.MAX_LABELS);
        for (String n : labels.names()) assertEquals(n.strip(), n);
        // The canonical form parses back to the same list.
        assertEquals(labels.names(), Labels.of(labels.names()).names());
    }
}

package org.ovseg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class OvsegExceptionTest {
    @Test
    void oneLineDropsTerminalEscapesAndFoldsLines() {
        // As ONNX Runtime's logger writes an error: bold red, then a reset, then a second line.
        String ort = "\u001B[1;31m2026-12-06 [E:onnxruntime:, bfc_arena.cc:359] Failed to allocate\u001B[m\n  size 274880004352\r\n";
        assertEquals("2026-12-06 [E:onnxruntime:, bfc_arena.cc:359] Failed to allocate size 274880004352", OvsegException.oneLine(ort));
        assertEquals("a\tb c", OvsegException.oneLine("a\tb\u0007\u0000 \u001B]c"));
        assertEquals("(no message)", OvsegException.oneLine(null));
    }
}

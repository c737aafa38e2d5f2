package org.ovseg.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.ovseg.engine.EngineException;

/**
 * Fuzz target for the ONNX protobuf reader (OnnxModelInfo over ProtoReader). Without
 * JAZZER_FUZZ this replays the kept inputs under {@code OnnxModelInfoFuzzTestInputs/parse/};
 * with JAZZER_FUZZ=1 it fuzzes (README, Fuzzing). Only EngineException is acceptable.
 */
class OnnxModelInfoFuzzTest {
    @FuzzTest(maxDuration = "10m")
    void parse(byte[] model) {
        OnnxModelInfo info;
        try {
            info = OnnxModelInfo.parse(model, "fuzz.onnx");
        } catch (EngineException e) {
            String m = e.getMessage();
            assertTrue(m != null && !m.isBlank() && m.indexOf('\n') < 0, () -> "not a one-line message: " + m);
            return;
        }
        assertTrue(info.irVersion() > 0);
        for (OnnxModelInfo.Value v : info.inputs()) assertNotNull(v.describe());
        for (OnnxModelInfo.Value v : info.outputs()) assertNotNull(v.describe());
    }
}

package org.ovseg.bundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Fuzz targets for the bundle manifest (bundle.json text) and the .npy reader. Without
 * JAZZER_FUZZ this replays the kept inputs under {@code BundleFuzzTestInputs/<method>/}; with
 * JAZZER_FUZZ=1 it fuzzes one method (README, Fuzzing). Only the typed error is acceptable.
 */
class BundleFuzzTest {
    private static final Path MANIFEST = Path.of("fuzz", BundleLoader.MANIFEST);

    @FuzzTest(maxDuration = "10m")
    void manifest(byte[] json) {
        BundleManifest m;
        try {
            m = BundleLoader.parseManifest(MANIFEST, json);
        } catch (BundleException e) {
            assertOneLine(e.getMessage());
            return;
        }
        assertNotNull(m.pipeline());
        assertTrue(!m.networks().isEmpty());
    }

    /** Whatever reads as an array must have a consistent shape and survive write → read. */
    @FuzzTest(maxDuration = "10m")
    void npy(byte[] file) throws IOException {
        Npy.FloatArray a;
        try {
            a = Npy.readFloats(file, "fuzz.npy");
        } catch (IOException e) {
            assertOneLine(e.getMessage());
            return;
        }
        long n = 1;
        for (long d : a.shape()) {
            assertTrue(d >= 0, "negative dimension accepted");
            n *= d;
        }
        assertEquals(n, a.data().length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Npy.writeFloats(out, a.data(), a.shape());
        Npy.FloatArray back = Npy.readFloats(out.toByteArray(), "rewritten.npy");
        assertArrayEquals(a.shape(), back.shape());
        assertArrayEquals(a.data(), back.data());
    }

    static void assertOneLine(String message) {
        assertTrue(message != null && !message.isBlank() && message.indexOf('\n') < 0, () -> "not a one-line message: " + message);
    }
}

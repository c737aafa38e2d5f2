package org.ovseg.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.tensor.ElementType.FLOAT32;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.ChildJvm;
import org.ovseg.engine.onnx.GraphBuilder;

/**
 * A JVM with a long command line must still open and run ONNX Runtime engines: ORT 1.29's
 * environment creation recursed deep enough to overflow a 1 MiB stack there (SIGSEGV, exit 139)
 * unless ovseg moves it to a big-stack thread. The child's main thread (and every Java thread)
 * is pinned to 1 MiB with -Xss1m, and session creation and run() happen on that main thread.
 */
class LongCommandLineTest {
    @TempDir
    Path dir;

    /** y = softmax(2·x) over [1, 4]. */
    static Path tinyModel(Path dir) throws Exception {
        GraphBuilder g = GraphBuilder.create("tiny");
        String x = g.input("x", FLOAT32, 1, 4);
        g.rename(g.softmax(g.mul(x, g.scalar(2f)), -1), "y");
        g.output("y", FLOAT32, 1, 4);
        return g.write(dir.resolve("tiny.onnx"));
    }

    /** Checks the child's "y= ..." line against softmax(2x) computed here in double precision. */
    static void assertSoftmaxLine(String line, String context) {
        assertTrue(line.startsWith("y= "), context);
        String[] v = line.substring(3).trim().split(" ");
        assertEquals(4, v.length, context);
        double sum = 0;
        for (int i = 0; i < 4; i++) sum += Math.exp(2.0 * i);
        for (int i = 0; i < 4; i++) assertEquals(Math.exp(2.0 * i) / sum, Double.parseDouble(v[i]), 1e-6, context);
    }

    @Test
    void anEngineOpensAndRunsWithFiveThousandArguments() throws Exception {
        Path model = tinyModel(dir);
        List<String> args = new ArrayList<>();
        args.add(model.toString());
        for (int i = 0; i < 5000; i++) args.add("a" + i);
        ChildJvm.Result r = ChildJvm.run(List.of("-Xss1m"), Map.of(), OrtChild.class, args, dir);
        assertEquals(0, r.exitCode(), r.describe());
        List<String> lines = r.stdout().lines().toList();
        assertEquals(2, lines.size(), r.describe());
        assertSoftmaxLine(lines.get(0), r.describe());
        assertEquals("arguments: 5001", lines.get(1), r.describe());
        assertTrue(r.stderr().isBlank(), "the library printed on stderr: " + r.describe());
    }
}

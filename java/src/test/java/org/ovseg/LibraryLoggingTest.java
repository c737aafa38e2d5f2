package org.ovseg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.engine.OrtChild;
import org.ovseg.engine.onnx.GraphBuilder;
import org.ovseg.tensor.ElementType;

/**
 * Through the Java API ovseg is quiet unless OVSEG_LOG asks otherwise, and it leaves the
 * application's own logging alone. Process-wide logging defaults only show in a fresh JVM, so
 * each case runs {@link OrtChild} (which opens an engine: INFO "ovseg engine for ..." and DEBUG
 * "ORT session on ..." records) in a child process.
 */
class LibraryLoggingTest {
    private static final String INFO_RECORD = "ovseg engine for tiny.onnx: CPU (requested)";
    private static final String DEBUG_RECORD = "ORT session on tiny.onnx";

    @TempDir
    Path dir;

    private ChildJvm.Result child(String ovsegLog, List<String> jvmOptions) throws Exception {
        GraphBuilder g = GraphBuilder.create("tiny");
        String x = g.input("x", ElementType.FLOAT32, 1, 4);
        g.rename(g.softmax(x, -1), "y");
        g.output("y", ElementType.FLOAT32, 1, 4);
        Path model = g.write(dir.resolve("tiny.onnx"));
        Map<String, String> env = new HashMap<>();
        env.put("OVSEG_LOG", ovsegLog);
        ChildJvm.Result r = ChildJvm.run(jvmOptions, env, OrtChild.class, List.of(model.toString()), dir);
        assertEquals(0, r.exitCode(), r.describe());
        return r;
    }

    @Test
    void quietByDefaultWithoutSilencingTheApplication() throws Exception {
        ChildJvm.Result r = child(null, List.of("-Dchild.appLog=true"));
        assertFalse(r.stderr().contains("ovseg engine"), r.describe());
        assertTrue(r.stderr().contains("INFO: application record"), "the application's INFO record was lost: " + r.describe());
    }

    @Test
    void ovsegLogInfoShowsTheBackendChoice() throws Exception {
        ChildJvm.Result r = child("info", List.of());
        assertTrue(r.stderr().contains(INFO_RECORD), r.describe());
        assertFalse(r.stderr().contains(DEBUG_RECORD), r.describe());
    }

    @Test
    void ovsegLogDebugShowsDebugRecordsOnce() throws Exception {
        ChildJvm.Result r = child("debug", List.of());
        assertTrue(r.stderr().contains(DEBUG_RECORD), r.describe());
        assertEquals(1, r.stderr().split(java.util.regex.Pattern.quote(INFO_RECORD), -1).length - 1, "the INFO record should print once: " + r.describe());
    }

    @Test
    void aLevelFromTheApplicationsLoggingPropertiesIsKept() throws Exception {
        Path props = Files.writeString(dir.resolve("logging.properties"),
                "handlers=java.util.logging.ConsoleHandler\njava.util.logging.ConsoleHandler.level=ALL\norg.ovseg.level=INFO\n");
        ChildJvm.Result r = child(null, List.of("-Djava.util.logging.config.file=" + props));
        assertTrue(r.stderr().contains(INFO_RECORD), r.describe());
    }

    @Test
    void ovsegLogValuesParse() {
        assertEquals(Optional.of(Level.INFO), Logging.parse(" info "));
        assertEquals(Optional.of(Level.FINE), Logging.parse("DEBUG"));
        assertEquals(Optional.of(Level.FINER), Logging.parse("trace"));
        assertEquals(Optional.of(Level.SEVERE), Logging.parse("error"));
        assertEquals(Optional.of(Level.WARNING), Logging.parse("warn"));
        assertEquals(Optional.of(Level.OFF), Logging.parse("off"));
        assertEquals(Optional.empty(), Logging.parse("loud"));
        assertEquals(Optional.empty(), Logging.parse(""));
        assertEquals(Optional.empty(), Logging.parse(null));
    }

    @Test
    void configureTouchesOnlyTheLoggerItIsGiven() {
        Logger root = Logger.getLogger("");
        Level rootLevel = root.getLevel();
        Logger unset = Logger.getAnonymousLogger();
        Logging.configure(unset, null, false);
        assertEquals(Level.WARNING, unset.getLevel());
        Logger preset = Logger.getAnonymousLogger();
        preset.setLevel(Level.FINE);
        Logging.configure(preset, null, false);
        assertEquals(Level.FINE, preset.getLevel(), "a level the application set first is kept");
        Logger fromFile = Logger.getAnonymousLogger();
        Logging.configure(fromFile, null, true);
        assertNull(fromFile.getLevel(), "a level from logging.properties is left to LogManager");
        Logger asked = Logger.getAnonymousLogger();
        Logging.configure(asked, Level.FINE, false);
        assertEquals(Level.FINE, asked.getLevel());
        assertEquals(1, asked.getHandlers().length);
        assertFalse(asked.getUseParentHandlers());
        assertEquals(rootLevel, root.getLevel());
    }
}

package org.ovseg;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class of the test classpath in a fresh JVM: for what only a new process shows
 * (a crash, process-wide logging defaults, the process command line).
 */
public final class ChildJvm {
    /** What the child did. */
    public record Result(int exitCode, String stdout, String stderr) {
        /** @return a description for assertion messages (stderr trimmed to its last 2,000 chars) */
        public String describe() {
            String err = stderr.length() > 2000 ? "..." + stderr.substring(stderr.length() - 2000) : stderr;
            return "exit " + exitCode + (exitCode > 128 ? " (signal " + (exitCode - 128) + ")" : "")
                    + ", stdout: [" + stdout.strip() + "], stderr: [" + err.strip() + "]";
        }
    }

    private ChildJvm() {}

    /**
     * @param jvmOptions options before the class name (e.g. -Xss1m)
     * @param env variables set (a null value removes the variable)
     * @param mainClass class with a {@code main}
     * @param args program arguments
     */
    public static Result run(List<String> jvmOptions, Map<String, String> env, Class<?> mainClass, List<String> args, Path workDir)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        // Surefire's class path may be a manifest-only jar; the child reads its Class-Path alike.
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(mainClass.getName());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getValue() == null) pb.environment().remove(e.getKey());
            else pb.environment().put(e.getKey(), e.getValue());
        }
        Path out = Files.createTempFile(workDir, "child", ".out"), err = Files.createTempFile(workDir, "child", ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("child JVM " + mainClass.getSimpleName() + " did not finish in 120 s");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
}

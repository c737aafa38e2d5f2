package org.ovseg.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged job jar ({@code target/ovseg-spark-job.jar}) run the way spark-submit runs it: a
 * fresh JVM with Spark's jars on the classpath and Spark's module options runs Spark's
 * SparkSubmit with {@code --class org.ovseg.spark.LabelCorpus --master local[2]} and the jar, so
 * the job's classes come from the jar through SparkSubmit's class loader, as on a cluster.
 * Native libraries come out of the shaded jar
 * (JavaCPP's loader and ONNX Runtime's extract them), Jackson is the relocated copy. The command
 * line is deliberately long — every jar spelled out plus 2,000 {@code -D} arguments — because
 * ONNX Runtime's environment creation overflowed a normal thread stack under a long command line
 * (a Spark executor's is long) until ovseg moved it onto a 64 MiB-stack thread; without that the
 * child dies with SIGSEGV. Outputs must equal {@code ovseg segment}'s byte for byte.
 */
class JobJarIT {
    @TempDir
    Path tmp;

    @Test
    void jobJarLabelsLikeSegmentUnderALongCommandLine() throws Exception {
        Path jar = Path.of(System.getProperty("ovseg.jobJar"));
        List<String> sparkJars = Files.readAllLines(Path.of(System.getProperty("ovseg.sparkClasspath"))).stream()
                .flatMap(l -> List.of(l.split(File.pathSeparator)).stream()).filter(s -> !s.isBlank()).toList();
        assertTrue(sparkJars.size() > 100, "Spark's jars: " + sparkJars.size());
        try (ZipFile z = new ZipFile(jar.toFile())) {
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("org/apache/spark/")), "the job jar must not carry Spark");
            assertTrue(z.stream().noneMatch(e -> e.getName().startsWith("com/fasterxml/")), "Jackson is relocated");
            assertTrue(z.getEntry("ai/onnxruntime/native/linux-x64/libonnxruntime.so") != null);
        }
        assertTrue(Files.size(jar) < 64L << 20, "job jar is " + Files.size(jar) + " bytes");

        Path corpus = Files.createDirectories(tmp.resolve("corpus")), cache = tmp.resolve("cache");
        List<String> good = List.of("a.png", "b.png", "c.png");
        for (int i = 0; i < good.size(); i++) LabelCorpusTest.writeScene(corpus.resolve(good.get(i)), 10 + i, 90 + 7 * i, 70 + 5 * i);
        Files.write(corpus.resolve("zz-corrupt.gif"), "GIF89a, but no more".getBytes(StandardCharsets.US_ASCII));

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx1g"));
        cmd.addAll(List.of(System.getProperty("ovseg.sparkJavaOptions").trim().split("\\s+")));
        cmd.add("-Dorg.bytedeco.javacpp.cachedir=" + tmp.resolve("javacpp-cache"));
        for (int i = 0; i < 2000; i++) cmd.add("-Dovseg.it.padding." + i + "=x");
        // What bin/spark-submit ends up running: SparkSubmit, which loads the job jar in its own class loader.
        cmd.addAll(List.of("-cp", String.join(File.pathSeparator, sparkJars), "org.apache.spark.deploy.SparkSubmit", "--class", "org.ovseg.spark.LabelCorpus",
                "--master", "local[2]", "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.host=127.0.0.1", "--conf",
                "spark.driver.bindAddress=127.0.0.1", jar.toString()));
        Path out = tmp.resolve("out");
        cmd.addAll(List.of("--input", corpus.toString(), "--output", out.toString(), "--labels", LabelCorpusTest.LABELS, "--size", "96",
                "--cache-dir", cache.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("child.log").toFile());
        pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
        Process p = pb.start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "job did not finish in 5 minutes");
        String log = Files.readString(tmp.resolve("child.log"));
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.contains("labelled 3 of 4 images"), log);
        assertTrue(log.contains("error: " + corpus.resolve("zz-corrupt.gif") + ": "), log);
        assertTrue(Files.isDirectory(tmp.resolve("javacpp-cache")), "JavaCPP extracted the natives from the job jar");

        // The reference: ovseg segment in this JVM (the test classpath), the same images and options.
        Path ref = tmp.resolve("ref");
        List<String> args = new ArrayList<>(List.of("segment", "--labels", LabelCorpusTest.LABELS, "--size", "96", "--cache-dir", cache.toString(),
                "--out", ref.toString()));
        for (String g : good) args.addAll(List.of("--image", corpus.resolve(g).toString()));
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(0, org.ovseg.cli.Main.run(args.toArray(String[]::new), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err)),
                err.toString(StandardCharsets.UTF_8));
        for (String g : good) {
            String stem = g.substring(0, g.indexOf('.'));
            assertArrayEquals(Files.readAllBytes(ref.resolve(stem + ".labels.png")),
                    Files.readAllBytes(out.resolve(LabelCorpus.LABELS).resolve(stem + ".labels.png")), g);
        }
        assertFalse(Files.exists(out.resolve(LabelCorpus.LABELS).resolve("zz-corrupt.labels.png")));
        try (var parts = Files.list(out.resolve(LabelCorpus.TABLE))) {
            assertTrue(parts.anyMatch(f -> f.getFileName().toString().endsWith(".parquet")));
        }
    }
}

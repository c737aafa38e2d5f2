package org.ovseg.spark;

import static org.apache.spark.sql.functions.col;

import java.io.IOException;
import java.io.PrintStream;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.ovseg.OvsegException;
import org.ovseg.api.Labels;

/**
 * Spark job: labels every image of a corpus with one ovseg model and writes, under the output
 * directory, {@code labels/<stem>.labels.png} per image (the same bytes {@code ovseg segment}
 * writes) and the table {@code results.parquet} ({@link ResultRows#SCHEMA}), one row per listed
 * image. Exit codes as the CLI's: 0 done (images that failed are rows with an error, not a failed
 * job), 2 bad input (one {@code error: ...} line), 1 an internal failure.
 *
 * <pre>
 * spark-submit --class org.ovseg.spark.LabelCorpus --master local[2] spark/target/ovseg-spark-job.jar \
 *     --input images.csv --output out --labels "red,green,blue"
 * </pre>
 */
public final class LabelCorpus {
    /** Name of the Parquet table under the output directory. */
    public static final String TABLE = "results.parquet";
    /** Name of the label PNG directory under the output directory. */
    public static final String LABELS = "labels";

    private LabelCorpus() {}

    /** Entry point for {@code spark-submit}; the master comes from spark-submit or {@code -Dspark.master}. */
    public static void main(String[] argv) {
        if (List.of(argv).contains("--help") || List.of(argv).contains("-h")) {
            System.out.println(LabelJob.USAGE);
            return;
        }
        LabelJob job;
        try {
            job = LabelJob.parse(argv);
        } catch (OvsegException | IllegalArgumentException e) {
            System.err.println("error: " + OvsegException.oneLine(e.getMessage()));
            System.exit(2);
            return;
        }
        int code;
        SparkSession spark = SparkSession.builder().appName("ovseg-label-corpus").getOrCreate();
        try {
            code = run(job, spark, System.out, System.err);
        } finally {
            spark.stop();
            ExecutorSegmenters.closeAll();
        }
        System.out.flush();
        if (code != 0) System.exit(code);
    }

    /** Parses and runs one command line on an existing session; returns the exit code (for tests). */
    public static int run(String[] argv, SparkSession spark, PrintStream out, PrintStream err) {
        LabelJob job;
        try {
            job = LabelJob.parse(argv);
        } catch (OvsegException | IllegalArgumentException e) {
            err.println("error: " + OvsegException.oneLine(e.getMessage()));
            return 2;
        }
        return run(job, spark, out, err);
    }

    /** Runs one job; returns the exit code. */
    public static int run(LabelJob job, SparkSession spark, PrintStream out, PrintStream err) {
        String cwd = System.getProperty("user.dir");
        try {
            // Cheap checks first: the input, then the output, then the model.
            Dataset<Row> paths = CorpusInput.paths(spark, job.input(), Locations.forHadoop(job.input(), cwd), job.inputFormat());
            String output = prepareOutput(job.output(), cwd, spark.sparkContext().hadoopConfiguration());
            checkModelAndLabels(job, spark.sparkContext().isLocal());
            report(label(spark, job, paths, output, cwd), output, out, err);
            return 0;
        } catch (OvsegException | IllegalArgumentException e) {
            err.println("error: " + OvsegException.oneLine(e.getMessage()));
            return 2;
        } catch (Exception e) { // Spark's exceptions are checked ones that Scala does not declare
            if (e instanceof AnalysisException) {
                // Spark could not read the listed input (a Parquet directory without a table, a malformed file).
                err.println("error: cannot read input " + job.input() + ": " + OvsegException.oneLine(e.getMessage()));
                return 2;
            }
            err.println("error: internal failure: " + OvsegException.oneLine(String.valueOf(e)));
            if (System.getenv("OVSEG_DEBUG") != null) e.printStackTrace(err);
            return 1;
        }
    }

    /** Prints the first failed images (one line each) and a summary. */
    private static void report(Dataset<Row> table, String output, PrintStream out, PrintStream err) {
        long total = table.count();
        Dataset<Row> failures = table.filter(col("error").isNotNull());
        List<Row> shown = failures.select("path", "error").orderBy("path").limit(20).collectAsList();
        long failed = shown.size() < 20 ? shown.size() : failures.count();
        for (Row r : shown) err.println("error: " + r.getString(0) + ": " + r.getString(1));
        if (failed > shown.size()) err.printf(Locale.ROOT, "error: ... and %d more (see the error column)%n", failed - shown.size());
        out.printf(Locale.ROOT, "labelled %d of %d images: %s/%s, %s/%s%n", total - failed, total, output, LABELS, output, TABLE);
    }

    /**
     * Runs the labelling and writes the outputs.
     *
     * @param paths the corpus ({@link CorpusInput#paths})
     * @param output the output directory; local ones absolute
     * @param cwd the driver's working directory
     * @return the written table, read back (so reporting on it does not run the models again)
     */
    static Dataset<Row> label(SparkSession spark, LabelJob job, Dataset<Row> paths, String output, String cwd) {
        Dataset<Row> keyed = CorpusInput.withStems(paths);
        int partitions = job.partitions() > 0 ? job.partitions() : spark.sparkContext().defaultParallelism();
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        Broadcast<Map<String, String>> conf = jsc.broadcast(copy(spark.sparkContext().hadoopConfiguration()));
        PartitionLabeller labeller = new PartitionLabeller(job.spec(), job.labels(), output + "/" + LABELS, cwd, conf);
        // Sorted within each partition: a predictable order of work (and of the files written).
        Dataset<Row> results = keyed.repartition(partitions).sortWithinPartitions("path").mapPartitions(labeller, Encoders.row(ResultRows.SCHEMA));
        String tablePath = Locations.forHadoop(output + "/" + TABLE, cwd);
        results.write().mode(SaveMode.Overwrite).parquet(tablePath);
        return spark.read().parquet(tablePath);
    }

    /**
     * Loads the model on the driver and checks the labels against it, so a bad model or label is
     * one error line before any task starts rather than a task failing on every executor. In local
     * mode the executors are this JVM and use this Segmenter; elsewhere it is closed again.
     */
    private static void checkModelAndLabels(LabelJob job, boolean local) {
        ExecutorSegmenters.get(job.spec()).validate(Labels.of(job.labels()));
        if (!local) ExecutorSegmenters.closeAll();
    }

    /** @return the output directory, made absolute when local; its labels directory created */
    private static String prepareOutput(String output, String cwd, Configuration conf) {
        String dir = Locations.isLocal(output) ? Locations.local(output, cwd).toString() : output;
        try {
            Path p = new Path(Locations.forHadoop(dir, cwd));
            FileSystem fs = p.getFileSystem(conf);
            if (fs.exists(p) && !fs.getFileStatus(p).isDirectory()) throw new OvsegException("output path exists and is not a directory: " + output);
            Path labels = new Path(p, LABELS);
            if (!fs.mkdirs(labels)) throw new OvsegException("cannot create output directory " + labels);
            Path probe = new Path(labels, ".ovseg-write-check-" + java.util.UUID.randomUUID());
            fs.create(probe, false).close();
            fs.delete(probe, false);
        } catch (IOException e) {
            throw new OvsegException("output directory is not writable: " + output + " (" + OvsegException.oneLine(e.getMessage()) + ")");
        }
        return dir;
    }

    private static Map<String, String> copy(Configuration conf) {
        Map<String, String> m = new HashMap<>();
        for (Map.Entry<String, String> e : conf) m.put(e.getKey(), e.getValue());
        return m;
    }
}

package org.ovseg.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.first;
import static org.apache.spark.sql.functions.row_number;
import static org.apache.spark.sql.functions.when;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.expressions.WindowSpec;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.ovseg.OvsegException;

/**
 * The corpus to label: a CSV file with a header and a {@code path} column, a Parquet table with a
 * string {@code path} column, or a directory whose image files (png, jpg, jpeg, bmp, gif; sorted,
 * not recursive — as {@code ovseg segment --image DIR}) are the corpus.
 */
final class CorpusInput {
    /** How the input is read. */
    enum Format {
        CSV, PARQUET, IMAGES;

        static Format parse(String s) {
            try {
                return valueOf(s.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new OvsegException("--input-format must be csv, parquet or images, got '" + s + "'");
            }
        }
    }

    /** File endings a directory contributes; the same as {@code segment --image DIR}. */
    static final Set<String> IMAGE_ENDINGS = Set.of("png", "jpg", "jpeg", "bmp", "gif");

    private CorpusInput() {}

    /**
     * @param format null to infer: {@code *.csv} is CSV, {@code *.parquet} or a directory holding
     *     {@code .parquet} files is Parquet, any other directory is a directory of images
     * @param input as the user gave it (for messages; local or not)
     * @param uri the same as Hadoop should read it ({@link Locations#forHadoop})
     * @return one string column {@code path}, as listed
     * @throws OvsegException when the input does not exist, has no {@code path} column, or a
     *     directory holds no image
     */
    static Dataset<Row> paths(SparkSession spark, String input, String uri, Format format) {
        Path p = new Path(uri);
        FileSystem fs;
        FileStatus status;
        try {
            fs = p.getFileSystem(spark.sparkContext().hadoopConfiguration());
            if (!fs.exists(p)) throw new OvsegException("input not found: " + input);
            status = fs.getFileStatus(p);
            if (format == null) format = infer(fs, status);
        } catch (IOException e) {
            throw new OvsegException("cannot read input " + input + ": " + e.getMessage());
        }
        Dataset<Row> table = switch (format) {
            case CSV -> spark.read().option("header", "true").csv(uri);
            case PARQUET -> spark.read().parquet(uri);
            case IMAGES -> spark.createDataset(listImages(fs, status, input), Encoders.STRING()).toDF("path");
        };
        StructField field = Arrays.stream(table.schema().fields()).filter(f -> f.name().equals("path")).findFirst()
                .orElseThrow(() -> new OvsegException("input " + input + " has no 'path' column (columns: " + String.join(", ", table.columns()) + ")"));
        if (!field.dataType().equals(DataTypes.StringType)) {
            throw new OvsegException("column 'path' of " + input + " must hold strings, it holds " + field.dataType().simpleString());
        }
        return table.select(col("path"));
    }

    private static Format infer(FileSystem fs, FileStatus status) throws IOException {
        String name = status.getPath().getName().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return Format.CSV;
        if (name.endsWith(".parquet")) return Format.PARQUET;
        if (!status.isDirectory()) throw new OvsegException("input " + status.getPath() + " is neither a .csv, a .parquet nor a directory (see --input-format)");
        for (FileStatus f : fs.listStatus(status.getPath())) {
            if (f.isFile() && f.getPath().getName().endsWith(".parquet")) return Format.PARQUET;
        }
        return Format.IMAGES;
    }

    private static List<String> listImages(FileSystem fs, FileStatus dir, String input) {
        if (!dir.isDirectory()) throw new OvsegException("--input-format images needs a directory, " + input + " is a file");
        List<String> out = new ArrayList<>();
        try {
            for (FileStatus f : fs.listStatus(dir.getPath())) {
                if (f.isFile() && isImage(f.getPath().getName())) {
                    // A local directory lists plain paths, as segment --image DIR prints them.
                    out.add(Locations.isLocal(input) ? f.getPath().toUri().getPath() : f.getPath().toString());
                }
            }
        } catch (IOException e) {
            throw new OvsegException("cannot list " + input + ": " + e.getMessage());
        }
        if (out.isEmpty()) throw new OvsegException("no images (" + String.join(", ", new java.util.TreeSet<>(IMAGE_ENDINGS)) + ") in directory " + input);
        out.sort(null);
        return out;
    }

    static boolean isImage(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && IMAGE_ENDINGS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    /** The file name without its last extension, as {@code segment} names its outputs. */
    static String stem(String path) {
        if (path == null) return null;
        String n = path.substring(path.lastIndexOf('/') + 1);
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /**
     * Adds {@code stem} and {@code duplicate_of}: among rows with one stem (which would write one
     * label PNG), the first path in sorted order is labelled and each later row names it, so the
     * outcome does not depend on partitioning or task order.
     */
    static Dataset<Row> withStems(Dataset<Row> paths) {
        UserDefinedFunction stemOf = org.apache.spark.sql.functions.udf((UDF1<String, String>) CorpusInput::stem, DataTypes.StringType);
        WindowSpec byStem = Window.partitionBy(col("stem")).orderBy(col("path"));
        return paths.withColumn("stem", stemOf.apply(col("path")))
                .withColumn("duplicate_of", when(row_number().over(byStem).gt(1), first(col("path")).over(byStem)))
                .select(col("path"), col("stem"), col("duplicate_of"));
    }
}

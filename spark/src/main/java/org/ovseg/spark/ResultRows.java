package org.ovseg.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;
import org.ovseg.api.SegmentationResult;

/** The schema of the job's Parquet table (one row per listed image) and its rows. */
public final class ResultRows {
    private ResultRows() {}

    /**
     * path, stem, width, height, labels, pixel_fractions, mean_scores (null where a label has no
     * pixel), timings (stage → milliseconds), backend, error (null when fine), output (the label
     * PNG written, null on error).
     */
    public static final StructType SCHEMA = new StructType(new StructField[] {
        DataTypes.createStructField("path", DataTypes.StringType, true),
        DataTypes.createStructField("stem", DataTypes.StringType, true),
        DataTypes.createStructField("width", DataTypes.IntegerType, true),
        DataTypes.createStructField("height", DataTypes.IntegerType, true),
        DataTypes.createStructField("labels", DataTypes.createArrayType(DataTypes.StringType, false), true),
        DataTypes.createStructField("pixel_fractions", DataTypes.createArrayType(DataTypes.DoubleType, false), true),
        DataTypes.createStructField("mean_scores", DataTypes.createArrayType(DataTypes.DoubleType, true), true),
        DataTypes.createStructField("timings", DataTypes.createMapType(DataTypes.StringType, DataTypes.DoubleType, false), true),
        DataTypes.createStructField("backend", DataTypes.StringType, true),
        DataTypes.createStructField("error", DataTypes.StringType, true),
        DataTypes.createStructField("output", DataTypes.StringType, true),
    });

    /** A labelled image; fractions and scores are those {@code segment}'s JSON gives per label. */
    static Row labelled(String path, String stem, SegmentationResult r, Map<String, Double> timings, String output) {
        int n = r.labels().size();
        List<Double> fractions = new ArrayList<>(n), scores = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            fractions.add(r.pixelFraction(i));
            double ms = r.meanScore(i);
            scores.add(Double.isNaN(ms) ? null : ms);
        }
        return RowFactory.create(path, stem, r.width(), r.height(), seq(r.labels()), seq(fractions), seq(scores), map(timings), r.backend(), null,
                output);
    }

    /** An image that could not be labelled; width and height when it was decoded before failing. */
    static Row failed(String path, String stem, Integer width, Integer height, Map<String, Double> timings, String error) {
        return RowFactory.create(path, stem, width, height, null, null, null, map(timings), null, error, null);
    }

    // A Row's external types are Scala's: Seq for arrays, Map for maps (java.util ones are refused).
    private static <T> scala.collection.Seq<T> seq(List<T> list) {
        return CollectionConverters.asScala(list);
    }

    private static scala.collection.Map<String, Double> map(Map<String, Double> m) {
        return CollectionConverters.asScala(m);
    }
}

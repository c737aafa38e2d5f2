package org.ovseg.cli;

import java.util.List;
import java.util.Locale;
import org.ovseg.eval.PanopticQuality;
import org.ovseg.eval.SemanticCounts;

/** The printed tables of {@code ovseg eval}: percentages with two decimals, as mmsegmentation and the COCO panoptic API print them. */
final class MetricsTable {
    private MetricsTable() {}

    static String semantic(List<String> classes, SemanticCounts.SemanticMetrics m) {
        int w = Math.max(5, classes.stream().mapToInt(String::length).max().orElse(5));
        StringBuilder s = new StringBuilder();
        String rule = "+" + "-".repeat(w + 2) + "+--------+--------+\n";
        s.append(rule).append(String.format(Locale.ROOT, "| %-" + w + "s |    IoU |    Acc |%n", "Class")).append(rule);
        for (int c = 0; c < classes.size(); c++) {
            s.append(String.format(Locale.ROOT, "| %-" + w + "s | %6s | %6s |%n", classes.get(c), pct(m.iou()[c]), pct(m.acc()[c])));
        }
        s.append(rule);
        s.append(String.format(Locale.ROOT, "aAcc %s  mIoU %s  mAcc %s  (mIoU over %d of %d classes)", pct(m.aAcc()), pct(m.mIoU()), pct(m.mAcc()),
                m.classesInMIoU(), classes.size()));
        return s.toString();
    }

    static String panoptic(PanopticQuality.Result r) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "%-10s| %6s %6s %6s %5s%n", "", "PQ", "SQ", "RQ", "N"));
        s.append("-".repeat(38)).append('\n');
        row(s, "All", r.all());
        row(s, "Things", r.things());
        row(s, "Stuff", r.stuff());
        s.setLength(s.length() - 1);
        return s.toString();
    }

    private static void row(StringBuilder s, String name, PanopticQuality.Average a) {
        s.append(String.format(Locale.ROOT, "%-10s| %6s %6s %6s %5d%n", name, pct(a.pq()), pct(a.sq()), pct(a.rq()), a.n()));
    }

    private static String pct(double v) {
        return Double.isNaN(v) ? "nan" : String.format(Locale.ROOT, "%.2f", 100 * v);
    }
}

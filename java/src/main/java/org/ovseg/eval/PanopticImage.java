package org.ovseg.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The panoptic quality statistics of one image, with the COCO panoptic API's semantics
 * ({@code pq_compute_single_core}): id 0 is void; a ground-truth and a predicted segment of the
 * same category match when IoU &gt; 0.5, where the union leaves out the predicted pixels on void;
 * crowd segments never match and are not false negatives; an unmatched prediction is not a
 * false positive when more than half of it lies on void or on the crowd region of its category.
 * Matches keep their integer intersection and union, so the dataset's sums of IoU do not depend
 * on how images were grouped (one run or a resumed one).
 *
 * @param matches one per true positive
 * @param falsePositives category id → unmatched predictions counted
 * @param falseNegatives category id → unmatched non-crowd ground-truth segments
 */
public record PanopticImage(List<Match> matches, Map<Integer, Integer> falsePositives, Map<Integer, Integer> falseNegatives) {
    /** Defensive copies; maps sorted by category id. */
    public PanopticImage {
        matches = List.copyOf(matches);
        falsePositives = java.util.Collections.unmodifiableMap(new TreeMap<>(falsePositives));
        falseNegatives = java.util.Collections.unmodifiableMap(new TreeMap<>(falseNegatives));
    }

    /** A true positive: a matched pair of segments of category {@code categoryId}. */
    public record Match(int categoryId, long intersection, long union) {
        /** @return intersection / union */
        public double iou() {
            return (double) intersection / union;
        }
    }

    /**
     * Matches one image's prediction against its ground truth.
     *
     * @param gtIds ground-truth segment id per pixel (0 = void)
     * @param gt the ground truth's segments_info (areas as annotated)
     * @param predIds predicted segment id per pixel (0 = void)
     * @param pred the prediction's segments; every id in {@code predIds} other than 0 must be one
     * @param categories the dataset's category ids; a prediction of another category is an error
     * @throws IllegalArgumentException for a prediction the COCO API would reject
     */
    public static PanopticImage of(int[] gtIds, List<PanopticSegment> gt, int[] predIds, List<PanopticSegment> pred, Set<Integer> categories) {
        if (gtIds.length != predIds.length) throw new IllegalArgumentException("ground truth has " + gtIds.length + " pixels, prediction " + predIds.length);
        Map<Integer, PanopticSegment> gtById = new HashMap<>(), predById = new HashMap<>();
        for (PanopticSegment s : gt) gtById.put(s.id(), s);
        for (PanopticSegment s : pred) {
            if (!categories.contains(s.categoryId())) throw new IllegalArgumentException("predicted segment " + s.id() + " has unknown category " + s.categoryId());
            predById.put(s.id(), s);
        }
        // Pixel count per (gt id, pred id) pair; runs of equal pairs are common, so the last key is cached.
        Map<Long, long[]> pairs = new HashMap<>();
        Map<Integer, Long> predArea = new HashMap<>();
        long lastKey = Long.MIN_VALUE;
        long[] last = null;
        for (int i = 0; i < gtIds.length; i++) {
            long key = ((long) gtIds[i] << 24) | predIds[i];
            if (key != lastKey) {
                last = pairs.computeIfAbsent(key, k -> new long[1]);
                lastKey = key;
            }
            last[0]++;
        }
        for (var e : pairs.entrySet()) {
            int p = (int) (e.getKey() & 0xffffff);
            if (p != 0) predArea.merge(p, e.getValue()[0], Long::sum);
        }
        Set<Integer> unlisted = new HashSet<>(predArea.keySet());
        unlisted.removeAll(predById.keySet());
        if (!unlisted.isEmpty()) throw new IllegalArgumentException("predicted ids " + unlisted + " are in the map but not in the segments");
        Set<Integer> absent = new HashSet<>(predById.keySet());
        absent.removeAll(predArea.keySet());
        if (!absent.isEmpty()) throw new IllegalArgumentException("predicted segments " + absent + " cover no pixel");

        List<Match> matches = new ArrayList<>();
        Set<Integer> gtMatched = new HashSet<>(), predMatched = new HashSet<>();
        for (var e : new TreeMap<>(pairs).entrySet()) { // sorted: a deterministic order of the matches
            int g = (int) (e.getKey() >>> 24), p = (int) (e.getKey() & 0xffffff);
            PanopticSegment gs = gtById.get(g), ps = predById.get(p);
            if (gs == null || ps == null || gs.isCrowd() || gs.categoryId() != ps.categoryId()) continue;
            long inter = e.getValue()[0];
            long union = predArea.get(p) + gs.area() - inter - count(pairs, 0, p);
            // IoU > 0.5 makes a pair unique on both sides, so no segment matches twice.
            if (inter * 2 > union) {
                matches.add(new Match(gs.categoryId(), inter, union));
                gtMatched.add(g);
                predMatched.add(p);
            }
        }
        Map<Integer, Integer> fn = new HashMap<>(), fp = new HashMap<>();
        Map<Integer, Integer> crowdOfCategory = new HashMap<>();
        for (PanopticSegment s : gt) {
            if (gtMatched.contains(s.id())) continue;
            if (s.isCrowd()) {
                crowdOfCategory.put(s.categoryId(), s.id()); // the API keeps the last crowd segment of a category
                continue;
            }
            fn.merge(s.categoryId(), 1, Integer::sum);
        }
        for (PanopticSegment s : pred) {
            if (predMatched.contains(s.id())) continue;
            long onIgnored = count(pairs, 0, s.id());
            Integer crowd = crowdOfCategory.get(s.categoryId());
            if (crowd != null) onIgnored += count(pairs, crowd, s.id());
            if (onIgnored * 2 > predArea.get(s.id())) continue;
            fp.merge(s.categoryId(), 1, Integer::sum);
        }
        return new PanopticImage(matches, fp, fn);
    }

    private static long count(Map<Long, long[]> pairs, int gt, int pred) {
        long[] c = pairs.get(((long) gt << 24) | pred);
        return c == null ? 0 : c[0];
    }
}

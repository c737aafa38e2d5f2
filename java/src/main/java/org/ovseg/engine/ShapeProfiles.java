package org.ovseg.engine;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Derives TensorRT optimisation profiles from a network's declared inputs (bundle.json names the
 * dynamic axes) and the pipeline's {@link ProfileHints}. Pure: no TensorRT needed, so it is
 * unit-tested on every machine.
 *
 * <p>Axis names the exporters in tools/export write, and their ranges (min / opt / max):
 * <ul>
 *   <li>{@code height}, {@code width}: padded image side, hints' min / opt / max side;
 *   <li>{@code tokens}: ViT positional-embedding rows, 1 + patches; {@code patches}: patch count,
 *       from 1 to (max short side / patch) · (max side / patch), opt (opt side / patch)²;
 *   <li>{@code batch} of a text input ({@code input_ids}, or any input with a {@code length} axis):
 *       1 / text batch / text batch; {@code length}: 1 / context length / context length;
 *   <li>{@code batch} of any other input (CaR's classifier crops): 1 / min(16, queries) / queries;
 *   <li>{@code fg}: 1 / min(8, queries) / queries; {@code bg}: 0 (no background texts) / min(8, queries) / queries;
 *   <li>{@code points} (SAM's decoder): 1 / points / points.
 * </ul>
 * A fixed dimension is fixed in the profile. An input with a dynamic axis that has no name, or a
 * name not listed here, cannot be derived: bundle.json must then give the input's profile under
 * {@code networks.<role>.profiles}, which always wins over derivation.
 */
public final class ShapeProfiles {
    private ShapeProfiles() {}

    /**
     * @param inputs the network's declared inputs
     * @param overrides profiles given explicitly (bundle.json or {@link EngineOptions}), by input name; they win
     * @param hints the pipeline's sizes
     * @return a profile for every input, in input order
     * @throws EngineException naming the input and axis when a dynamic axis has no rule and no override
     */
    public static Map<String, ShapeProfile> derive(List<TensorSpec> inputs, Map<String, ShapeProfile> overrides, ProfileHints hints) {
        Map<String, ShapeProfile> out = new LinkedHashMap<>();
        for (TensorSpec s : inputs) {
            ShapeProfile given = overrides.get(s.name());
            if (given != null) {
                if (given.min().length != s.rank()) {
                    throw new EngineException("profile of input '" + s.name() + "' has rank " + given.min().length + ", the input "
                            + s.describe());
                }
                out.put(s.name(), given);
                continue;
            }
            long[] shape = s.shape();
            long[] min = new long[shape.length], opt = new long[shape.length], max = new long[shape.length];
            boolean text = s.name().equals("input_ids") || s.axisNames().contains("length");
            for (int i = 0; i < shape.length; i++) {
                if (shape[i] >= 0) {
                    min[i] = opt[i] = max[i] = shape[i];
                    continue;
                }
                long[] r = range(s.axisNames().get(i), text, hints);
                if (r == null) {
                    String axis = s.axisNames().get(i) == null ? "unnamed" : "'" + s.axisNames().get(i) + "'";
                    throw new EngineException("input '" + s.name() + "' axis " + i + " (" + axis + ") is dynamic and has no size rule;"
                            + " give its profile in bundle.json under networks.<role>.profiles." + s.name());
                }
                min[i] = r[0];
                opt[i] = r[1];
                max[i] = r[2];
            }
            out.put(s.name(), new ShapeProfile(min, opt, max));
        }
        return out;
    }

    /** @return {min, opt, max} of a named dynamic axis, or null when there is no rule for it */
    static long[] range(String axis, boolean textInput, ProfileHints h) {
        if (axis == null) return null;
        long p = h.patch();
        long optPatches = (long) (h.optSide() / p) * (h.optSide() / p);
        long maxPatches = (long) (h.maxShortSide() / p) * (h.maxSide() / p);
        return switch (axis) {
            case "height", "width" -> new long[] {h.minSide(), h.optSide(), h.maxSide()};
            case "patches" -> new long[] {1, optPatches, maxPatches};
            case "tokens" -> new long[] {2, 1 + optPatches, 1 + maxPatches};
            case "length" -> new long[] {1, h.contextLength(), h.contextLength()};
            case "batch" -> textInput ? new long[] {1, h.textBatch(), h.textBatch()}
                    : new long[] {1, Math.min(16, h.maxQueries()), h.maxQueries()};
            case "fg" -> new long[] {1, Math.min(8, h.maxQueries()), h.maxQueries()};
            case "bg" -> new long[] {0, Math.min(8, h.maxQueries()), h.maxQueries()};
            case "points" -> new long[] {1, h.points(), h.points()};
            default -> null;
        };
    }
}

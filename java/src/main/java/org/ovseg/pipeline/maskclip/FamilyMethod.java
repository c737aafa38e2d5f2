package org.ovseg.pipeline.maskclip;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The training-free methods that differ from MaskCLIP only in how CLIP's last block is run
 * (semantics and references to the official code in FAMILY.md beside this file).
 */
public enum FamilyMethod {
    /** MaskCLIP: the value path (the exported image graph's dense_features). */
    MASKCLIP("maskclip"),
    /** SCLIP: x + out(softmax(qqᵀ/√d) v + softmax(kkᵀ/√d) v), then the FFN with its residual. */
    SCLIP("sclip"),
    /** ClearCLIP: out(softmax(qqᵀ/√d) v), no residual, no FFN. */
    CLEARCLIP("clearclip"),
    /** NACLIP: out(softmax(kkᵀ/√d + Gaussian neighbourhood) v), no residual, no FFN. */
    NACLIP("naclip"),
    /** ProxyCLIP: out(softmax(DINO patch similarity, thresholded) · upsampled v), no residual, no FFN. */
    PROXYCLIP("proxyclip");

    private final String cliName;

    FamilyMethod(String cliName) {
        this.cliName = cliName;
    }

    /** @return the name {@code --method} takes */
    public String cliName() {
        return cliName;
    }

    /** @return every name {@link #named} accepts */
    public static List<String> names() {
        return Arrays.stream(values()).map(FamilyMethod::cliName).toList();
    }

    /**
     * @param name a method name, case-insensitive
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static FamilyMethod named(String name) {
        String key = name.toLowerCase(Locale.ROOT).strip();
        for (FamilyMethod m : values()) if (m.cliName.equals(key)) return m;
        throw new IllegalArgumentException("unknown method '" + name + "' (" + String.join(", ", names()) + ")");
    }
}

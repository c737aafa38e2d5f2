package org.ovseg.kernel;

/** How mask logits become pooling weights. */
public enum MaskMode {
    /** m = (logit &gt; 0), i.e. sigmoid(logit) &gt; 0.5; a logit of exactly 0 is outside. */
    HARD(0),
    /** m = sigmoid(logit). */
    SOFT(1);

    final int code;

    MaskMode(int code) {
        this.code = code;
    }
}

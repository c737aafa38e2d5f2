package org.ovseg.kernel;

/** Element type of the activation tensors handed to a CUDA kernel; accumulation is fp32. */
public enum DType {
    F32(0, 4),
    F16(1, 2),
    BF16(2, 2);

    final int code;
    private final int bytes;

    DType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** @return bytes per element */
    public int bytes() {
        return bytes;
    }
}

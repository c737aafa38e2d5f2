package org.ovseg.tensor;

import java.util.Locale;
import java.util.Optional;

/**
 * Element type of a tensor that crosses an engine boundary. The ONNX codes are those of
 * {@code TensorProto.DataType} in onnx.proto, so a model file, an engine and a host tensor agree
 * on one number.
 */
public enum ElementType {
    FLOAT32(4, 1, "float32"),
    FLOAT16(2, 10, "float16"),
    BFLOAT16(2, 16, "bfloat16"),
    INT32(4, 6, "int32"),
    INT64(8, 7, "int64");

    private final int bytes;
    private final int onnxCode;
    private final String jsonName;

    ElementType(int bytes, int onnxCode, String jsonName) {
        this.bytes = bytes;
        this.onnxCode = onnxCode;
        this.jsonName = jsonName;
    }

    /** @return bytes per element */
    public int bytes() {
        return bytes;
    }

    /** @return the {@code TensorProto.DataType} code (FLOAT=1, INT32=6, INT64=7, FLOAT16=10, BFLOAT16=16) */
    public int onnxCode() {
        return onnxCode;
    }

    /** @return the lower-case name bundle manifests use ("float32", "int64", ...) */
    public String jsonName() {
        return jsonName;
    }

    /** @return the type with this ONNX data-type code, or empty when ovseg does not carry it */
    public static Optional<ElementType> fromOnnxCode(int code) {
        for (ElementType t : values()) {
            if (t.onnxCode == code) return Optional.of(t);
        }
        return Optional.empty();
    }

    /**
     * Parses a manifest name: "float32", "float16", "bfloat16", "int32", "int64" (the enum
     * constant names are accepted too, case-insensitively).
     *
     * @return the type, or empty for anything else
     */
    public static Optional<ElementType> parse(String name) {
        if (name == null) return Optional.empty();
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (ElementType t : values()) {
            if (t.jsonName.equals(n) || t.name().toLowerCase(Locale.ROOT).equals(n)) return Optional.of(t);
        }
        return Optional.empty();
    }

    /**
     * Names any ONNX data-type code, including the ones ovseg does not carry, for error messages
     * ("BOOL", "UINT8", "DOUBLE", ...).
     */
    public static String onnxTypeName(int code) {
        Optional<ElementType> t = fromOnnxCode(code);
        if (t.isPresent()) return t.get().name();
        switch (code) {
            case 0: return "UNDEFINED";
            case 2: return "UINT8";
            case 3: return "INT8";
            case 4: return "UINT16";
            case 5: return "INT16";
            case 8: return "STRING";
            case 9: return "BOOL";
            case 11: return "DOUBLE";
            case 12: return "UINT32";
            case 13: return "UINT64";
            case 14: return "COMPLEX64";
            case 15: return "COMPLEX128";
            default: return "ONNX_TYPE_" + code;
        }
    }
}

package org.ovseg.engine.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.Shapes;

/**
 * Encodes an ONNX {@code ModelProto} by hand (no protobuf dependency): IR version 8, default
 * opset 17, any opset from 17 to 19. Graph inputs and outputs with element type and shape
 * (symbolic dimensions as {@code dim_param}), initializers as little-endian {@code raw_data},
 * nodes with int, float, ints, floats, string, strings and tensor attributes.
 *
 * <p>The encoding is a pure function of the {@link Model}: fields in field-number order, lists
 * in the order given, no maps and no timestamps, so the same graph always gives the same bytes.
 * Opset 20 is out of range on purpose: TensorRT's importer turns its "linear" Resize/GridSample
 * into nearest.
 *
 * <p>{@link GraphBuilder} is the convenient way to produce a {@link Model}.
 */
public final class OnnxWriter {
    /** ONNX IR version written (ONNX 1.10+, read by every ORT and TensorRT ovseg supports). */
    public static final int IR_VERSION = 8;
    /** Default default-domain opset. */
    public static final int DEFAULT_OPSET = 17;
    /** Lowest opset accepted (LayerNormalization needs 17). */
    public static final int MIN_OPSET = 17;
    /** Highest opset accepted. */
    public static final int MAX_OPSET = 19;

    private OnnxWriter() {}

    /**
     * One dimension of a declared shape.
     *
     * @param value the size, or -1 when dynamic
     * @param param the symbolic name of a dynamic dimension, or null
     */
    public record Dim(long value, String param) {
        /** Checks that a dimension is either a size, a name, or unknown (-1, null). */
        public Dim {
            if (value < -1) throw new IllegalArgumentException("dimension " + value);
            if (param != null && value != -1) throw new IllegalArgumentException("dimension has both size " + value + " and name " + param);
            if (param != null && param.isEmpty()) throw new IllegalArgumentException("empty dimension name");
        }

        /** @return a static dimension, or an unnamed dynamic one for -1 */
        public static Dim of(long value) {
            return new Dim(value, null);
        }

        /** @return a symbolic dimension */
        public static Dim named(String param) {
            return new Dim(-1, Objects.requireNonNull(param, "param"));
        }

        /**
         * Converts a loose list: Numbers become sizes (-1 unknown), Strings become names.
         *
         * @throws IllegalArgumentException for anything else
         */
        public static List<Dim> list(Object... dims) {
            Dim[] out = new Dim[dims.length];
            for (int i = 0; i < dims.length; i++) {
                Object d = dims[i];
                if (d instanceof Number n) out[i] = of(n.longValue());
                else if (d instanceof String s) out[i] = named(s);
                else throw new IllegalArgumentException("dimension " + i + " is " + d + "; use a number or a name");
            }
            return List.of(out);
        }
    }

    /**
     * A graph input or output.
     *
     * @param name value name
     * @param type element type
     * @param dims shape
     */
    public record ValueInfo(String name, ElementType type, List<Dim> dims) {
        /** Copies the dimension list. */
        public ValueInfo {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(type, "type");
            dims = List.copyOf(dims);
        }
    }

    /**
     * A constant tensor (initializer or tensor attribute), stored as little-endian bytes.
     *
     * @param name tensor name (may be empty inside an attribute)
     * @param type element type
     * @param dims shape (copied)
     * @param raw little-endian element bytes (copied)
     */
    public record Tensor(String name, ElementType type, long[] dims, byte[] raw) {
        /** Checks that the byte count matches the shape. */
        public Tensor {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(type, "type");
            dims = dims.clone();
            raw = raw.clone();
            long expect = Shapes.elementCount(dims) * type.bytes();
            if (raw.length != expect) {
                throw new IllegalArgumentException("tensor '" + name + "': " + raw.length + " bytes for " + type + " " + Shapes.toString(dims));
            }
        }

        /** @return a FLOAT32 tensor */
        public static Tensor floats(String name, float[] values, long... dims) {
            ByteBuffer b = le(values.length * 4);
            for (float v : values) b.putFloat(v);
            return new Tensor(name, ElementType.FLOAT32, dims, b.array());
        }

        /** @return an INT64 tensor */
        public static Tensor longs(String name, long[] values, long... dims) {
            ByteBuffer b = le(values.length * 8);
            for (long v : values) b.putLong(v);
            return new Tensor(name, ElementType.INT64, dims, b.array());
        }

        /** @return an INT32 tensor */
        public static Tensor ints(String name, int[] values, long... dims) {
            ByteBuffer b = le(values.length * 4);
            for (int v : values) b.putInt(v);
            return new Tensor(name, ElementType.INT32, dims, b.array());
        }

        private static ByteBuffer le(int bytes) {
            return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        @Override
        public long[] dims() {
            return dims.clone();
        }

        @Override
        public byte[] raw() {
            return raw.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Tensor t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims) && Arrays.equals(raw, t.raw);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, type, Arrays.hashCode(dims), Arrays.hashCode(raw));
        }

        @Override
        public String toString() {
            return "Tensor[" + name + ", " + type + " " + Shapes.toString(dims) + "]";
        }
    }

    /** Attribute kinds, with their {@code AttributeProto.AttributeType} codes. */
    public enum AttrType {
        FLOAT(1), INT(2), STRING(3), TENSOR(4), FLOATS(6), INTS(7), STRINGS(8);

        final int code;

        AttrType(int code) {
            this.code = code;
        }
    }

    /**
     * A node attribute. Build with the factories, which fix the value's Java type per kind:
     * Float, Long, String, Tensor, float[], long[], String[].
     *
     * @param name attribute name
     * @param type kind
     * @param value the value (arrays are copied by the factories)
     */
    public record Attribute(String name, AttrType type, Object value) {
        /** @return an INT attribute */
        public static Attribute of(String name, long v) {
            return new Attribute(name, AttrType.INT, v);
        }

        /** @return a FLOAT attribute */
        public static Attribute of(String name, float v) {
            return new Attribute(name, AttrType.FLOAT, v);
        }

        /** @return a STRING attribute */
        public static Attribute of(String name, String v) {
            return new Attribute(name, AttrType.STRING, Objects.requireNonNull(v, name));
        }

        /** @return a TENSOR attribute */
        public static Attribute of(String name, Tensor v) {
            return new Attribute(name, AttrType.TENSOR, Objects.requireNonNull(v, name));
        }

        /** @return an INTS attribute */
        public static Attribute ints(String name, long... v) {
            return new Attribute(name, AttrType.INTS, v.clone());
        }

        /** @return a FLOATS attribute */
        public static Attribute floats(String name, float... v) {
            return new Attribute(name, AttrType.FLOATS, v.clone());
        }

        /** @return a STRINGS attribute */
        public static Attribute strings(String name, String... v) {
            return new Attribute(name, AttrType.STRINGS, v.clone());
        }
    }

    /**
     * A graph node. An empty input name stands for an omitted optional input.
     *
     * @param opType operator, e.g. "MatMul"
     * @param name node name (unique in the graph)
     * @param inputs input value names
     * @param outputs output value names
     * @param domain operator domain, "" for the default ONNX domain
     * @param attributes attributes, in the order written
     */
    public record Node(String opType, String name, List<String> inputs, List<String> outputs, String domain,
            List<Attribute> attributes) {
        /** Copies the lists. */
        public Node {
            Objects.requireNonNull(opType, "opType");
            Objects.requireNonNull(name, "name");
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            domain = domain == null ? "" : domain;
            attributes = List.copyOf(attributes);
        }
    }

    /**
     * A whole model: one graph and its default-domain opset.
     *
     * @param graphName graph name
     * @param opset default-domain opset, {@value #MIN_OPSET}–{@value #MAX_OPSET}
     * @param producer producer_name written into the model
     * @param inputs graph inputs
     * @param outputs graph outputs
     * @param initializers constant tensors
     * @param nodes nodes in topological order
     */
    public record Model(String graphName, int opset, String producer, List<ValueInfo> inputs, List<ValueInfo> outputs,
            List<Tensor> initializers, List<Node> nodes) {
        /** Copies the lists and checks the opset range. */
        public Model {
            Objects.requireNonNull(graphName, "graphName");
            Objects.requireNonNull(producer, "producer");
            if (opset < MIN_OPSET || opset > MAX_OPSET) {
                throw new IllegalArgumentException("opset " + opset + " outside " + MIN_OPSET + "–" + MAX_OPSET);
            }
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            initializers = List.copyOf(initializers);
            nodes = List.copyOf(nodes);
        }
    }

    /**
     * Encodes the model after checking that it is a well-formed graph: unique value names, every
     * node input defined before use, every graph output produced.
     *
     * @throws IllegalArgumentException naming the first problem
     */
    public static byte[] encode(Model m) {
        return encode(m, null, null);
    }

    /** With {@code data} non-null, initializers go to it and name {@code location} (ONNX external data). */
    private static byte[] encode(Model m, String location, java.io.ByteArrayOutputStream data) {
        validate(m);
        ProtoWriter model = new ProtoWriter();
        model.int64(1, IR_VERSION);
        model.string(2, m.producer());
        model.string(3, "1");
        model.message(7, graph(m, location, data));
        ProtoWriter opset = new ProtoWriter();
        opset.string(1, "");
        opset.int64(2, m.opset());
        model.message(8, opset);
        return model.toByteArray();
    }

    /** Encodes and writes atomically (temp file + rename), so a reader never sees half a model. */
    public static void write(Model m, Path file) throws IOException {
        writeAtomically(file, encode(m));
    }

    /**
     * Writes the model with its initializers stored as ONNX external data: their bytes one after the other in
     * {@code location} (a path relative to the model's directory, as ONNX Runtime resolves it), each tensor naming
     * its location, offset and length; tensor attributes stay inline. Both files are written atomically.
     */
    public static void writeWithExternalData(Model m, Path file, String location) throws IOException {
        java.io.ByteArrayOutputStream data = new java.io.ByteArrayOutputStream();
        byte[] bytes = encode(m, location, data);
        Path dir = file.toAbsolutePath().getParent();
        writeAtomically(dir.resolve(location), data.toByteArray());
        writeAtomically(file, bytes);
    }

    private static void writeAtomically(Path file, byte[] bytes) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void validate(Model m) {
        Set<String> defined = new HashSet<>();
        for (ValueInfo v : m.inputs()) define(defined, v.name(), "graph input");
        for (Tensor t : m.initializers()) define(defined, t.name(), "initializer");
        Set<String> nodeNames = new HashSet<>();
        for (Node n : m.nodes()) {
            if (!nodeNames.add(n.name())) throw new IllegalArgumentException("duplicate node name '" + n.name() + "'");
            for (String in : n.inputs()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    throw new IllegalArgumentException("node '" + n.name() + "' (" + n.opType() + ") reads '" + in + "' before it is defined");
                }
            }
            for (String out : n.outputs()) define(defined, out, "output of node '" + n.name() + "'");
        }
        if (m.outputs().isEmpty()) throw new IllegalArgumentException("graph '" + m.graphName() + "' has no outputs");
        for (ValueInfo v : m.outputs()) {
            if (!defined.contains(v.name())) throw new IllegalArgumentException("graph output '" + v.name() + "' is never produced");
        }
    }

    private static void define(Set<String> defined, String name, String what) {
        if (name.isEmpty()) throw new IllegalArgumentException(what + " has an empty name");
        if (!defined.add(name)) throw new IllegalArgumentException(what + " '" + name + "' redefines an existing value");
    }

    private static ProtoWriter graph(Model m, String location, java.io.ByteArrayOutputStream data) {
        ProtoWriter g = new ProtoWriter();
        for (Node n : m.nodes()) g.message(1, node(n));
        g.string(2, m.graphName());
        for (Tensor t : m.initializers()) g.message(5, data == null ? tensor(t) : externalTensor(t, location, data));
        for (ValueInfo v : m.inputs()) g.message(11, valueInfo(v));
        for (ValueInfo v : m.outputs()) g.message(12, valueInfo(v));
        return g;
    }

    private static ProtoWriter node(Node n) {
        ProtoWriter w = new ProtoWriter();
        for (String in : n.inputs()) w.string(1, in);
        for (String out : n.outputs()) w.string(2, out);
        w.string(3, n.name());
        w.string(4, n.opType());
        for (Attribute a : n.attributes()) w.message(5, attribute(a));
        if (!n.domain().isEmpty()) w.string(7, n.domain());
        return w;
    }

    private static ProtoWriter attribute(Attribute a) {
        ProtoWriter w = new ProtoWriter();
        w.string(1, a.name());
        switch (a.type()) {
            case FLOAT: w.float32(2, (Float) a.value()); break;
            case INT: w.int64(3, (Long) a.value()); break;
            case STRING: w.string(4, (String) a.value()); break;
            case TENSOR: w.message(5, tensor((Tensor) a.value())); break;
            case FLOATS: for (float f : (float[]) a.value()) w.float32(7, f); break;
            case INTS: for (long i : (long[]) a.value()) w.int64(8, i); break;
            case STRINGS: for (String s : (String[]) a.value()) w.string(9, s); break;
            default: throw new IllegalStateException("attribute type " + a.type());
        }
        w.int64(20, a.type().code);
        return w;
    }

    private static ProtoWriter tensor(Tensor t) {
        ProtoWriter w = new ProtoWriter();
        for (long d : t.dims) w.int64(1, d);
        w.int64(2, t.type().onnxCode());
        if (!t.name().isEmpty()) w.string(8, t.name());
        w.bytes(9, t.raw);
        return w;
    }

    private static ProtoWriter externalTensor(Tensor t, String location, java.io.ByteArrayOutputStream data) {
        ProtoWriter w = new ProtoWriter();
        for (long d : t.dims) w.int64(1, d);
        w.int64(2, t.type().onnxCode());
        if (!t.name().isEmpty()) w.string(8, t.name());
        long offset = data.size();
        data.writeBytes(t.raw);
        String[][] entries = {{"location", location}, {"offset", Long.toString(offset)}, {"length", Integer.toString(t.raw.length)}};
        for (String[] e : entries) {
            ProtoWriter kv = new ProtoWriter();
            kv.string(1, e[0]);
            kv.string(2, e[1]);
            w.message(13, kv);
        }
        w.int64(14, 1); // DataLocation.EXTERNAL
        return w;
    }

    private static ProtoWriter valueInfo(ValueInfo v) {
        ProtoWriter shape = new ProtoWriter();
        for (Dim d : v.dims()) {
            ProtoWriter dim = new ProtoWriter();
            if (d.param() != null) dim.string(2, d.param());
            else if (d.value() >= 0) dim.int64(1, d.value());
            shape.message(1, dim);
        }
        ProtoWriter tensorType = new ProtoWriter();
        tensorType.int64(1, v.type().onnxCode());
        tensorType.message(2, shape);
        ProtoWriter type = new ProtoWriter();
        type.message(1, tensorType);
        ProtoWriter w = new ProtoWriter();
        w.string(1, v.name());
        w.message(2, type);
        return w;
    }
}

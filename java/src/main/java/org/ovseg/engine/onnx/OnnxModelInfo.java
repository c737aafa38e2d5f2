package org.ovseg.engine.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.ovseg.engine.EngineException;
import org.ovseg.engine.TensorSpec;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.Shapes;

/**
 * What an ONNX file declares, read without starting a session: IR version, opsets, producer, and
 * the graph's inputs and outputs with their element types and shapes. Used to validate model
 * bundles before any inference. The file is memory-mapped and only the model header and graph
 * interface are decoded; the weights are stepped over, so reading a 600 MB model costs
 * milliseconds. Inputs that are also initializers (overridable constants, allowed since IR 4)
 * are not listed, matching what ONNX Runtime reports.
 *
 * @param irVersion ModelProto.ir_version
 * @param opsets domain → version ("" is the default ONNX domain)
 * @param producerName ModelProto.producer_name ("" when absent)
 * @param graphName GraphProto.name
 * @param inputs graph inputs, in file order
 * @param outputs graph outputs, in file order
 * @param externalData the distinct {@code location}s of tensors stored as ONNX external data (initializers, sparse
 *     initializers and tensor attributes, subgraphs included), in file order, as written in the file (relative to
 *     the model's directory); "" for an external tensor that names no location; empty for a self-contained model
 */
public record OnnxModelInfo(long irVersion, Map<String, Long> opsets, String producerName, String graphName,
        List<Value> inputs, List<Value> outputs, List<String> externalData) {

    /** Copies the collections. */
    public OnnxModelInfo {
        opsets = Collections.unmodifiableMap(new LinkedHashMap<>(opsets));
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        externalData = List.copyOf(externalData);
    }

    /** A self-contained model's interface. */
    public OnnxModelInfo(long irVersion, Map<String, Long> opsets, String producerName, String graphName,
            List<Value> inputs, List<Value> outputs) {
        this(irVersion, opsets, producerName, graphName, inputs, outputs, List.of());
    }

    /** @return whether any tensor of the model is stored in an external data file */
    public boolean hasExternalData() {
        return !externalData.isEmpty();
    }

    /**
     * One graph input or output.
     *
     * @param name value name
     * @param elemType ONNX TensorProto.DataType code; -1 for a non-tensor value (sequence, map)
     * @param shape dimensions, -1 where dynamic; null when the file declares no shape at all
     * @param dimParams symbolic name per axis, null where none (null when {@code shape} is null)
     */
    public record Value(String name, int elemType, long[] shape, List<String> dimParams) {
        /** Copies the arrays. */
        public Value {
            Objects.requireNonNull(name, "name");
            shape = shape == null ? null : shape.clone();
            dimParams = dimParams == null ? null : Collections.unmodifiableList(new ArrayList<>(dimParams));
        }

        @Override
        public long[] shape() {
            return shape == null ? null : shape.clone();
        }

        /** @return the element type, if ovseg carries it */
        public Optional<ElementType> elementType() {
            return ElementType.fromOnnxCode(elemType);
        }

        /** @return e.g. "FLOAT32", "BOOL", or "non-tensor" */
        public String typeName() {
            return elemType < 0 ? "non-tensor" : ElementType.onnxTypeName(elemType);
        }

        /** @return e.g. "FLOAT32 [1,3,-1,-1]" (rank shown as [?] when undeclared) */
        public String describe() {
            return typeName() + " " + Shapes.toString(shape);
        }

        /** @return the value as an engine tensor spec, when its type is carried and its rank known */
        public Optional<TensorSpec> toSpec() {
            Optional<ElementType> t = elementType();
            if (t.isEmpty() || shape == null) return Optional.empty();
            return Optional.of(new TensorSpec(name, t.get(), shape, dimParams));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Value v && name.equals(v.name) && elemType == v.elemType && Arrays.equals(shape, v.shape)
                    && Objects.equals(dimParams, v.dimParams);
        }

        @Override
        public int hashCode() {
            return Objects.hash(name, elemType, Arrays.hashCode(shape), dimParams);
        }

        @Override
        public String toString() {
            return "'" + name + "' " + describe();
        }
    }

    /** @return the input named {@code name}, if declared */
    public Optional<Value> input(String name) {
        return inputs.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /** @return the output named {@code name}, if declared */
    public Optional<Value> output(String name) {
        return outputs.stream().filter(v -> v.name().equals(name)).findFirst();
    }

    /**
     * Reads an ONNX file's interface.
     *
     * @throws EngineException naming the file when it is missing, unreadable, larger than
     *     protobuf's 2 GiB limit, or not a well-formed ModelProto with a graph
     */
    public static OnnxModelInfo read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new EngineException(file + ": " + size + " bytes exceeds protobuf's 2 GiB limit (weights belong in external data)");
            }
            ByteBuffer buf = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            return parse(buf, file.toString());
        } catch (NoSuchFileException e) {
            throw new EngineException(file + ": file not found", e);
        } catch (IOException e) {
            throw new EngineException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** Reads a model held in memory; {@code what} names it in error messages. */
    public static OnnxModelInfo parse(byte[] model, String what) {
        return parse(ByteBuffer.wrap(model), what);
    }

    private static OnnxModelInfo parse(ByteBuffer buf, String what) {
        try {
            return parseModel(new ProtoReader(buf), what);
        } catch (IllegalArgumentException e) {
            throw new EngineException(what + ": not a valid ONNX model: " + e.getMessage(), e);
        }
    }

    private static OnnxModelInfo parseModel(ProtoReader r, String what) {
        long ir = 0;
        String producer = "";
        Map<String, Long> opsets = new LinkedHashMap<>();
        ProtoReader graph = null;
        while (r.next()) {
            switch (r.field()) {
                case 1: ir = r.readInt64(); break;
                case 2: producer = r.readString(); break;
                case 7: graph = r.readMessage(); break;
                case 8: {
                    ProtoReader o = r.readMessage();
                    String domain = "";
                    long version = 0;
                    while (o.next()) {
                        if (o.field() == 1) domain = o.readString();
                        else if (o.field() == 2) version = o.readInt64();
                        else o.skip();
                    }
                    opsets.put(domain, version);
                    break;
                }
                default: r.skip();
            }
        }
        if (graph == null) throw new IllegalArgumentException("no graph (is this an ONNX file?)");
        if (ir <= 0) throw new IllegalArgumentException("no ir_version (is this an ONNX file?)");
        String name = "";
        List<Value> in = new ArrayList<>();
        List<Value> out = new ArrayList<>();
        Set<String> initializerNames = new HashSet<>();
        Set<String> external = new java.util.LinkedHashSet<>();
        while (graph.next()) {
            switch (graph.field()) {
                case 1: nodeExternalData(graph.readMessage(), external); break;
                case 2: name = graph.readString(); break;
                case 5: initializerNames.add(tensor(graph.readMessage(), external)); break;
                case 11: in.add(valueInfo(graph.readMessage())); break;
                case 12: out.add(valueInfo(graph.readMessage())); break;
                case 15: sparseExternalData(graph.readMessage(), external); break;
                default: graph.skip();
            }
        }
        in.removeIf(v -> initializerNames.contains(v.name()));
        return new OnnxModelInfo(ir, opsets, producer, name, in, out, new ArrayList<>(external));
    }

    /** TensorProto: returns its name (field 8); adds its location to {@code external} when data_location (14) is EXTERNAL. */
    private static String tensor(ProtoReader t, Set<String> external) {
        String name = "";
        String location = "";
        boolean isExternal = false;
        while (t.next()) {
            if (t.field() == 8) {
                name = t.readString();
            } else if (t.field() == 14 && t.wireType() == ProtoWriter.VARINT) {
                isExternal = t.readInt64() == 1;
            } else if (t.field() == 13) {
                ProtoReader entry = t.readMessage();
                String key = "";
                String value = "";
                while (entry.next()) {
                    if (entry.field() == 1) key = entry.readString();
                    else if (entry.field() == 2) value = entry.readString();
                    else entry.skip();
                }
                if (key.equals("location")) location = value;
            } else {
                t.skip();
            }
        }
        if (isExternal) external.add(location);
        return name;
    }

    private static void sparseExternalData(ProtoReader sparse, Set<String> external) {
        while (sparse.next()) {
            if (sparse.field() == 1 || sparse.field() == 2) tensor(sparse.readMessage(), external);
            else sparse.skip();
        }
    }

    /** NodeProto: tensors in its attributes (t = 5, tensors = 10) and in its subgraphs (g = 6, graphs = 11). */
    private static void nodeExternalData(ProtoReader node, Set<String> external) {
        while (node.next()) {
            if (node.field() != 5) {
                node.skip();
                continue;
            }
            ProtoReader attr = node.readMessage();
            while (attr.next()) {
                switch (attr.field()) {
                    case 5, 10 -> tensor(attr.readMessage(), external);
                    case 6, 11 -> graphExternalData(attr.readMessage(), external);
                    default -> attr.skip();
                }
            }
        }
    }

    private static void graphExternalData(ProtoReader graph, Set<String> external) {
        while (graph.next()) {
            switch (graph.field()) {
                case 1 -> nodeExternalData(graph.readMessage(), external);
                case 5 -> tensor(graph.readMessage(), external);
                case 15 -> sparseExternalData(graph.readMessage(), external);
                default -> graph.skip();
            }
        }
    }

    private static Value valueInfo(ProtoReader r) {
        String name = "";
        int elem = -1;
        List<Long> dims = null;
        List<String> params = null;
        while (r.next()) {
            if (r.field() == 1) {
                name = r.readString();
            } else if (r.field() == 2) {
                ProtoReader type = r.readMessage();
                while (type.next()) {
                    if (type.field() != 1) { // only tensor_type; sequences and maps stay non-tensor
                        type.skip();
                        continue;
                    }
                    ProtoReader tt = type.readMessage();
                    elem = 0;
                    while (tt.next()) {
                        if (tt.field() == 1) {
                            elem = (int) tt.readInt64();
                        } else if (tt.field() == 2) {
                            dims = new ArrayList<>();
                            params = new ArrayList<>();
                            ProtoReader shape = tt.readMessage();
                            while (shape.next()) {
                                if (shape.field() != 1) {
                                    shape.skip();
                                    continue;
                                }
                                ProtoReader dim = shape.readMessage();
                                long value = -1;
                                String param = null;
                                while (dim.next()) {
                                    if (dim.field() == 1) value = dim.readInt64();
                                    else if (dim.field() == 2) param = dim.readString();
                                    else dim.skip();
                                }
                                dims.add(value < 0 ? -1 : value);
                                params.add(param == null || param.isEmpty() ? null : param);
                            }
                        } else {
                            tt.skip();
                        }
                    }
                }
            } else {
                r.skip();
            }
        }
        long[] shape = dims == null ? null : dims.stream().mapToLong(Long::longValue).toArray();
        return new Value(name, elem, shape, params);
    }
}

package org.ovseg.engine.onnx;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.ovseg.engine.onnx.OnnxWriter.Attribute;
import org.ovseg.engine.onnx.OnnxWriter.Dim;
import org.ovseg.engine.onnx.OnnxWriter.Node;
import org.ovseg.engine.onnx.OnnxWriter.Tensor;
import org.ovseg.engine.onnx.OnnxWriter.ValueInfo;
import org.ovseg.tensor.ElementType;

/**
 * Fluent construction of an ONNX graph. Every op helper appends one node (or the few a composite
 * like {@link #gelu} needs) and returns the name of its output value, so graphs read like the
 * forward pass they encode:
 *
 * <pre>{@code
 * GraphBuilder g = GraphBuilder.create("mlp");
 * String x = g.input("x", ElementType.FLOAT32, "batch", 8);
 * String h = g.add(g.matMul(x, g.initializer("w", w, 8, 16)), g.initializer("b", b, 16));
 * g.rename(g.softmax(h, -1), "probs");
 * g.output("probs", ElementType.FLOAT32, "batch", 16);
 * byte[] onnx = g.toBytes();
 * }</pre>
 *
 * Values get generated names ("matmul_0", ...); {@link #rename} gives one a lasting name.
 * Where an op's signature changed between opsets 17 and 19 (ReduceMean's axes became an input in
 * 18) the helper writes the form of the builder's opset. Not thread-safe.
 */
public final class GraphBuilder {
    private final String graphName;
    private int opset = OnnxWriter.DEFAULT_OPSET;
    private String producer = "ovseg";
    private final List<ValueInfo> inputs = new ArrayList<>();
    private final List<ValueInfo> outputs = new ArrayList<>();
    private final List<Tensor> initializers = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private int counter;
    private String pendingName;
    private int pendingFrom;

    private GraphBuilder(String graphName) {
        this.graphName = Objects.requireNonNull(graphName, "graphName");
    }

    /** @return an empty graph at opset {@value OnnxWriter#DEFAULT_OPSET} */
    public static GraphBuilder create(String graphName) {
        return new GraphBuilder(graphName);
    }

    /** Sets the default-domain opset, {@value OnnxWriter#MIN_OPSET}–{@value OnnxWriter#MAX_OPSET}; set it before adding ops. */
    public GraphBuilder opset(int opset) {
        if (opset < OnnxWriter.MIN_OPSET || opset > OnnxWriter.MAX_OPSET) {
            throw new IllegalArgumentException("opset " + opset + " outside " + OnnxWriter.MIN_OPSET + "–" + OnnxWriter.MAX_OPSET);
        }
        if (!nodes.isEmpty()) throw new IllegalStateException("set the opset before adding nodes");
        this.opset = opset;
        return this;
    }

    /** @return the opset */
    public int opset() {
        return opset;
    }

    /** Sets producer_name (default "ovseg"). */
    public GraphBuilder producer(String producer) {
        this.producer = Objects.requireNonNull(producer, "producer");
        return this;
    }

    /**
     * Names the output of the op written right after this call, e.g.
     * {@code g.named("probs").softmax(x, -1)}. The name is applied lazily, to the last node added
     * before the next {@code named}, {@code output} or {@code build} call: Java
     * evaluates an op's arguments before the op, so nested calls such as
     * {@code g.named("k").slice(g.matMul(a, b), ...)} still name the outer op. Until then the op
     * returns its generated name (later nodes that read it are renamed too). Prefer
     * {@link #rename}, whose effect is immediate.
     */
    public GraphBuilder named(String name) {
        resolvePending();
        pendingName = Objects.requireNonNull(name, "name");
        pendingFrom = nodes.size();
        return this;
    }

    private void resolvePending() {
        if (pendingName == null) return;
        String name = pendingName;
        pendingName = null;
        if (nodes.size() <= pendingFrom) throw new IllegalStateException("named(\"" + name + "\") was not followed by an op");
        rename(nodes.get(nodes.size() - 1).outputs().get(0), name);
    }

    /**
     * Renames a value produced by a node (a generated name becomes, say, "logits"); later
     * readers of the value follow. Call it on the op's result, e.g.
     * {@code g.rename(g.softmax(x, -1), "probs")}: Java evaluates the arguments first, so the
     * rename cannot land on an inner op.
     *
     * @return {@code newName}
     */
    public String rename(String value, String newName) {
        Objects.requireNonNull(newName, "newName");
        boolean found = false;
        for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            List<String> outs = replace(n.outputs(), value, newName);
            List<String> ins = replace(n.inputs(), value, newName);
            if (!outs.equals(n.outputs())) found = true;
            if (!outs.equals(n.outputs()) || !ins.equals(n.inputs())) {
                nodes.set(i, new Node(n.opType(), n.name(), ins, outs, n.domain(), n.attributes()));
            }
        }
        if (!found) throw new IllegalArgumentException("rename: '" + value + "' is not produced by a node");
        return newName;
    }

    private static List<String> replace(List<String> names, String from, String to) {
        List<String> out = new ArrayList<>(names);
        out.replaceAll(n -> n.equals(from) ? to : n);
        return out;
    }

    // ---- graph interface ---------------------------------------------------------------------

    /**
     * Declares a graph input; {@code dims} are sizes (-1 for unknown) or symbolic names.
     *
     * @return the input's name
     */
    public String input(String name, ElementType type, Object... dims) {
        inputs.add(new ValueInfo(name, type, Dim.list(dims)));
        return name;
    }

    /** Declares an existing value as a graph output. */
    public GraphBuilder output(String name, ElementType type, Object... dims) {
        resolvePending();
        outputs.add(new ValueInfo(name, type, Dim.list(dims)));
        return this;
    }

    /** Adds a FLOAT32 initializer; @return its name */
    public String initializer(String name, float[] values, long... dims) {
        initializers.add(Tensor.floats(name, values, dims));
        return name;
    }

    /** Adds an INT64 initializer; @return its name */
    public String initializer(String name, long[] values, long... dims) {
        initializers.add(Tensor.longs(name, values, dims));
        return name;
    }

    /** Adds an INT32 initializer; @return its name */
    public String initializer(String name, int[] values, long... dims) {
        initializers.add(Tensor.ints(name, values, dims));
        return name;
    }

    /** Adds any initializer; @return its name */
    public String initializer(Tensor t) {
        initializers.add(t);
        return t.name();
    }

    /** @return a FLOAT32 scalar initializer with a generated name */
    public String scalar(float v) {
        return initializer(fresh("const"), new float[] {v});
    }

    /** @return a 1-D INT64 initializer with a generated name */
    public String longs(long... v) {
        return initializer(fresh("const"), v, v.length);
    }

    // ---- generic node ------------------------------------------------------------------------

    /**
     * Appends any node.
     *
     * @param outputCount how many outputs to name
     * @return the output names
     */
    public List<String> node(String opType, List<String> inputNames, int outputCount, Attribute... attributes) {
        List<String> outs = new ArrayList<>(outputCount);
        for (int i = 0; i < outputCount; i++) outs.add(fresh(opType.toLowerCase(java.util.Locale.ROOT)));
        nodes.add(new Node(opType, opType + "_" + nodes.size(), inputNames, outs, "", Arrays.asList(attributes)));
        return outs;
    }

    private String op(String opType, List<String> in, Attribute... attributes) {
        return node(opType, in, 1, attributes).get(0);
    }

    private String fresh(String prefix) {
        return prefix + "_" + counter++;
    }

    // ---- element-wise ------------------------------------------------------------------------

    /** a + b (broadcasting) */
    public String add(String a, String b) {
        return op("Add", List.of(a, b));
    }

    /** a - b */
    public String sub(String a, String b) {
        return op("Sub", List.of(a, b));
    }

    /** a * b */
    public String mul(String a, String b) {
        return op("Mul", List.of(a, b));
    }

    /** a / b */
    public String div(String a, String b) {
        return op("Div", List.of(a, b));
    }

    /** a ^ b */
    public String pow(String a, String b) {
        return op("Pow", List.of(a, b));
    }

    /** √x */
    public String sqrt(String x) {
        return op("Sqrt", List.of(x));
    }

    /** erf(x) */
    public String erf(String x) {
        return op("Erf", List.of(x));
    }

    /** 1 / (1 + e^-x) */
    public String sigmoid(String x) {
        return op("Sigmoid", List.of(x));
    }

    /** tanh(x) */
    public String tanh(String x) {
        return op("Tanh", List.of(x));
    }

    /** max(x, 0) */
    public String relu(String x) {
        return op("Relu", List.of(x));
    }

    /** x (a new name for the same value) */
    public String identity(String x) {
        return op("Identity", List.of(x));
    }

    /** a == b, BOOL result */
    public String equal(String a, String b) {
        return op("Equal", List.of(a, b));
    }

    /** cond ? x : y */
    public String where(String cond, String x, String y) {
        return op("Where", List.of(cond, x, y));
    }

    /** x converted to {@code to} */
    public String cast(String x, ElementType to) {
        return op("Cast", List.of(x), Attribute.of("to", (long) to.onnxCode()));
    }

    /**
     * Exact GELU, x·½·(1 + erf(x/√2)). Written with Erf: the Gelu operator arrived in opset 20,
     * beyond {@value OnnxWriter#MAX_OPSET}; ORT and TensorRT fuse this pattern back into one kernel.
     */
    public String gelu(String x) {
        String inner = erf(div(x, scalar((float) Math.sqrt(2.0))));
        return mul(mul(x, scalar(0.5f)), add(inner, scalar(1.0f)));
    }

    /** CLIP's QuickGELU, x·σ(1.702·x). */
    public String quickGelu(String x) {
        return mul(x, sigmoid(mul(x, scalar(1.702f))));
    }

    // ---- linear algebra ------------------------------------------------------------------------

    /** a @ b (numpy matmul semantics) */
    public String matMul(String a, String b) {
        return op("MatMul", List.of(a, b));
    }

    /**
     * alpha·A'·B' + beta·C for 2-D A and B ({@code c} may be null).
     */
    public String gemm(String a, String b, String c, boolean transA, boolean transB, float alpha, float beta) {
        List<String> in = c == null ? List.of(a, b) : List.of(a, b, c);
        return op("Gemm", in, Attribute.of("alpha", alpha), Attribute.of("beta", beta),
                Attribute.of("transA", transA ? 1L : 0L), Attribute.of("transB", transB ? 1L : 0L));
    }

    /**
     * 2-D convolution, group 1, dilation 1; the kernel shape is taken from the weights.
     *
     * @param bias bias value name, or null
     * @param strides [sH, sW]
     * @param pads [top, left, bottom, right]
     */
    public String conv(String x, String weight, String bias, long[] strides, long[] pads) {
        List<String> in = bias == null ? List.of(x, weight) : List.of(x, weight, bias);
        return op("Conv", in, Attribute.ints("strides", strides), Attribute.ints("pads", pads));
    }

    /** LayerNormalization over axes {@code axis..rank-1} (opset 17+). */
    public String layerNorm(String x, String scale, String bias, long axis, float epsilon) {
        return op("LayerNormalization", List.of(x, scale, bias), Attribute.of("axis", axis), Attribute.of("epsilon", epsilon));
    }

    /** softmax along {@code axis} */
    public String softmax(String x, long axis) {
        return op("Softmax", List.of(x), Attribute.of("axis", axis));
    }

    // ---- shape ---------------------------------------------------------------------------------

    /** x reshaped to a constant shape (0 copies a dimension, -1 infers one) */
    public String reshape(String x, long... shape) {
        return op("Reshape", List.of(x, longs(shape)));
    }

    /** x reshaped to a shape computed in the graph */
    public String reshape(String x, String shapeValue) {
        return op("Reshape", List.of(x, shapeValue));
    }

    /** x with axes permuted */
    public String transpose(String x, long... perm) {
        return op("Transpose", List.of(x), Attribute.ints("perm", perm));
    }

    /** the inputs joined along {@code axis} */
    public String concat(long axis, String... values) {
        return op("Concat", List.of(values), Attribute.of("axis", axis));
    }

    /** x[starts:ends:steps] along {@code axes} */
    public String slice(String x, long[] starts, long[] ends, long[] axes, long[] steps) {
        return op("Slice", List.of(x, longs(starts), longs(ends), longs(axes), longs(steps)));
    }

    /** x with size-1 axes inserted (axes as an input, the opset-13+ form) */
    public String unsqueeze(String x, long... axes) {
        return op("Unsqueeze", List.of(x, longs(axes)));
    }

    /** x with size-1 axes removed */
    public String squeeze(String x, long... axes) {
        return op("Squeeze", List.of(x, longs(axes)));
    }

    /** the shape of x as INT64 */
    public String shape(String x) {
        return op("Shape", List.of(x));
    }

    /** data gathered at {@code indices} along {@code axis} (embeddings, end-token pooling) */
    public String gather(String data, String indices, long axis) {
        return op("Gather", List.of(data, indices), Attribute.of("axis", axis));
    }

    /** index of the maximum along {@code axis}, INT64 */
    public String argMax(String x, long axis, boolean keepDims) {
        return op("ArgMax", List.of(x), Attribute.of("axis", axis), Attribute.of("keepdims", keepDims ? 1L : 0L));
    }

    /** mean over {@code axes}; an attribute before opset 18, an input from 18 on */
    public String reduceMean(String x, long[] axes, boolean keepDims) {
        Attribute keep = Attribute.of("keepdims", keepDims ? 1L : 0L);
        if (opset < 18) return op("ReduceMean", List.of(x), Attribute.ints("axes", axes), keep);
        return op("ReduceMean", List.of(x, longs(axes)), keep);
    }

    /**
     * Resize to constant output sizes.
     *
     * @param mode "nearest", "linear" or "cubic"
     * @param coordinateTransform e.g. "half_pixel" (PyTorch align_corners=False), "align_corners"
     */
    public String resize(String x, long[] sizes, String mode, String coordinateTransform) {
        return op("Resize", List.of(x, "", "", longs(sizes)), resizeAttributes(mode, coordinateTransform));
    }

    /** Resize by constant scale factors, one per axis. */
    public String resizeScales(String x, float[] scales, String mode, String coordinateTransform) {
        String s = initializer(fresh("scales"), scales, scales.length);
        return op("Resize", List.of(x, "", s), resizeAttributes(mode, coordinateTransform));
    }

    private static Attribute[] resizeAttributes(String mode, String coordinateTransform) {
        if (mode.equals("cubic")) {
            // PyTorch's bicubic uses a = -0.75 (ONNX's default) and no antialiasing.
            return new Attribute[] {Attribute.of("mode", mode), Attribute.of("coordinate_transformation_mode", coordinateTransform),
                Attribute.of("cubic_coeff_a", -0.75f)};
        }
        return new Attribute[] {Attribute.of("mode", mode), Attribute.of("coordinate_transformation_mode", coordinateTransform)};
    }

    /** A Constant node holding {@code t}; @return its output */
    public String constant(Tensor t) {
        return op("Constant", List.of(), Attribute.of("value", t));
    }

    // ---- output --------------------------------------------------------------------------------

    /** @return the model (checked when encoded) */
    public OnnxWriter.Model build() {
        resolvePending();
        return new OnnxWriter.Model(graphName, opset, producer, inputs, outputs, initializers, nodes);
    }

    /** @return the encoded model */
    public byte[] toBytes() {
        return OnnxWriter.encode(build());
    }

    /** Encodes and writes the model to {@code file}. */
    public Path write(Path file) throws IOException {
        OnnxWriter.write(build(), file);
        return file;
    }
}

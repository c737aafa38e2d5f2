package org.ovseg.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ovseg.tensor.ElementType.FLOAT32;
import static org.ovseg.tensor.ElementType.INT64;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ovseg.engine.EngineException;
import org.ovseg.engine.TensorSpec;

class OnnxWriterTest {

    @TempDir
    Path dir;

    private static GraphBuilder sample(int opset) {
        GraphBuilder g = GraphBuilder.create("sample").opset(opset);
        String x = g.input("pixel_values", FLOAT32, "batch", 3, "height", "width");
        String ids = g.input("input_ids", INT64, -1, 77);
        String w = g.initializer("w", Ref.random(1, 3 * 4, 1), 4, 3, 1, 1);
        String y = g.conv(x, w, g.initializer("b", new float[] {1, 2, 3, 4}, 4), new long[] {1, 1}, new long[] {0, 0, 0, 0});
        g.rename(g.reduceMean(y, new long[] {2, 3}, false), "features");
        g.rename(g.argMax(ids, -1, false), "eot");
        g.output("features", FLOAT32, "batch", 4).output("eot", INT64, -1);
        return g;
    }

    @Test
    void sameGraphGivesIdenticalBytes() {
        byte[] a = sample(17).toBytes();
        byte[] b = sample(17).toBytes();
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, sample(18).toBytes()), "the opset is part of the model");
    }

    @Test
    void modelInfoRoundTrip() throws IOException {
        Path f = sample(18).write(dir.resolve("m.onnx"));
        OnnxModelInfo info = OnnxModelInfo.read(f);
        assertEquals(OnnxWriter.IR_VERSION, info.irVersion());
        assertEquals(18L, info.opsets().get(""));
        assertEquals("ovseg", info.producerName());
        assertEquals("sample", info.graphName());
        // Initializers are not graph inputs.
        assertEquals(List.of("pixel_values", "input_ids"), info.inputs().stream().map(OnnxModelInfo.Value::name).toList());
        OnnxModelInfo.Value px = info.inputs().get(0);
        assertArrayEquals(new long[] {-1, 3, -1, -1}, px.shape());
        assertEquals(Arrays.asList("batch", null, "height", "width"), px.dimParams());
        assertEquals("FLOAT32 [-1,3,-1,-1]", px.describe());
        TensorSpec spec = px.toSpec().orElseThrow();
        assertEquals(FLOAT32, spec.type());
        OnnxModelInfo.Value ids = info.inputs().get(1);
        assertEquals(INT64.onnxCode(), ids.elemType());
        assertArrayEquals(new long[] {-1, 77}, ids.shape());
        assertNull(ids.dimParams().get(0));
        assertEquals(List.of("features", "eot"), info.outputs().stream().map(OnnxModelInfo.Value::name).toList());
        assertArrayEquals(new long[] {-1}, info.output("eot").orElseThrow().shape());
    }

    @Test
    void reduceMeanUsesTheFormOfTheOpset() {
        // Opset 17 keeps axes as an attribute: no extra INT64 initializer; 18 adds one.
        assertEquals(2, sample(17).build().initializers().size());
        assertEquals(3, sample(18).build().initializers().size());
        OnnxWriter.Node rm17 = sample(17).build().nodes().stream().filter(n -> n.opType().equals("ReduceMean")).findFirst().orElseThrow();
        assertEquals(1, rm17.inputs().size());
        assertTrue(rm17.attributes().stream().anyMatch(a -> a.name().equals("axes")));
    }

    @Test
    void namingAppliesToTheOuterOpEvenWithNestedArguments() {
        GraphBuilder g = GraphBuilder.create("names");
        String x = g.input("x", FLOAT32, 2, 2);
        g.named("outer").softmax(g.matMul(x, x), -1);
        g.output("outer", FLOAT32, 2, 2);
        String r = g.rename(g.sigmoid(x), "sig");
        assertEquals("sig", r);
        g.output("sig", FLOAT32, 2, 2);
        OnnxWriter.Model m = g.build();
        assertEquals(List.of("outer"), m.nodes().get(1).outputs());
        assertEquals("Softmax", m.nodes().get(1).opType());
        assertEquals(List.of("sig"), m.nodes().get(2).outputs());
        assertThrows(IllegalArgumentException.class, () -> g.rename("x", "y"), "graph inputs are not node outputs");
        GraphBuilder h = GraphBuilder.create("dangling");
        h.input("x", FLOAT32, 1);
        h.named("nothing");
        assertThrows(IllegalStateException.class, h::build);
    }

    @Test
    void opsetOutsideRangeIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> GraphBuilder.create("g").opset(16));
        assertThrows(IllegalArgumentException.class, () -> GraphBuilder.create("g").opset(20));
    }

    @Test
    void malformedGraphsAreRejectedWithTheFirstProblem() {
        GraphBuilder g = GraphBuilder.create("g");
        g.input("x", FLOAT32, 2);
        g.add("x", "missing");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, g::toBytes);
        assertTrue(e.getMessage().contains("reads 'missing' before it is defined"), e.getMessage());

        GraphBuilder h = GraphBuilder.create("h");
        h.input("x", FLOAT32, 2);
        h.output("y", FLOAT32, 2);
        assertTrue(assertThrows(IllegalArgumentException.class, h::toBytes).getMessage().contains("'y' is never produced"));

        GraphBuilder d = GraphBuilder.create("d");
        d.input("x", FLOAT32, 2);
        d.initializer("x", new float[] {1, 2}, 2);
        assertTrue(assertThrows(IllegalArgumentException.class, d::toBytes).getMessage().contains("redefines"));
    }

    @Test
    void attributesOfEveryKindEncodeAndTheReaderSkipsThem() throws IOException {
        GraphBuilder g = GraphBuilder.create("attrs");
        g.input("x", FLOAT32, 2);
        g.node("Custom", List.of("x"), 1,
                OnnxWriter.Attribute.of("i", -5L), OnnxWriter.Attribute.of("f", 0.25f), OnnxWriter.Attribute.of("s", "text"),
                OnnxWriter.Attribute.ints("is", 1, -2, 3), OnnxWriter.Attribute.floats("fs", 1.5f, -2f),
                OnnxWriter.Attribute.strings("ss", "a", "b"),
                OnnxWriter.Attribute.of("t", OnnxWriter.Tensor.longs("", new long[] {7, 8}, 2)));
        g.rename(g.constant(OnnxWriter.Tensor.ints("", new int[] {1, 2, 3}, 3)), "k");
        g.output("k", org.ovseg.tensor.ElementType.INT32, 3);
        Path f = g.write(dir.resolve("attrs.onnx"));
        OnnxModelInfo info = OnnxModelInfo.read(f);
        assertEquals("k", info.outputs().get(0).name());
        assertEquals("INT32 [3]", info.outputs().get(0).describe());
    }

    @Test
    void readerRejectsGarbageAndMissingFilesWithTheFileName() throws IOException {
        Path junk = Files.write(dir.resolve("junk.onnx"), new byte[] {(byte) 0xFF, (byte) 0xFF, 0x01});
        EngineException e = assertThrows(EngineException.class, () -> OnnxModelInfo.read(junk));
        assertTrue(e.getMessage().startsWith(junk + ": not a valid ONNX model"), e.getMessage());
        Path empty = Files.write(dir.resolve("empty.onnx"), new byte[0]);
        assertTrue(assertThrows(EngineException.class, () -> OnnxModelInfo.read(empty)).getMessage().contains("no graph"));
        Path none = dir.resolve("none.onnx");
        assertTrue(assertThrows(EngineException.class, () -> OnnxModelInfo.read(none)).getMessage().contains("file not found"));
    }

    @Test
    void negativeVarintsAndFloatsRoundTripThroughTheWireFormat() {
        ProtoWriter w = new ProtoWriter();
        w.int64(1, -1);
        w.int64(2, Long.MAX_VALUE);
        w.float32(3, -0.15625f);
        w.string(4, "héllo");
        ProtoReader r = new ProtoReader(java.nio.ByteBuffer.wrap(w.toByteArray()));
        assertTrue(r.next());
        assertEquals(-1, r.readInt64());
        assertTrue(r.next());
        assertEquals(Long.MAX_VALUE, r.readInt64());
        assertTrue(r.next());
        assertEquals(-0.15625f, r.readFloat());
        assertTrue(r.next());
        assertEquals("héllo", r.readString());
        assertFalse(r.next());
    }
}

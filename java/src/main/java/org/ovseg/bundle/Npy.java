package org.ovseg.bundle;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy {@code .npy} files (format 1.0/2.0) holding little-endian float32 arrays in C order:
 * the bundle's parameter arrays and {@code --save-logits} output.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern ORDER = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    /** Non-negative dimensions, comma-separated, a trailing comma allowed (numpy writes "(3,)"). */
    private static final Pattern DIMS = Pattern.compile("(\\d+\\s*(,\\s*\\d+\\s*)*,?)?");

    private Npy() {}

    /**
     * A float32 array with its shape.
     *
     * @param shape dimensions, C order
     * @param data values
     */
    public record FloatArray(long[] shape, float[] data) {}

    /**
     * Reads a float32 (or float64, converted) C-order array.
     *
     * @throws IOException with a one-line reason when the file is not such an array
     */
    public static FloatArray readFloats(Path file) throws IOException {
        return readFloats(Files.readAllBytes(file), file.toString());
    }

    /** Parses the bytes of a .npy file; {@code file} names it in error messages. */
    static FloatArray readFloats(byte[] b, String file) throws IOException {
        if (b.length < 10 || !Arrays.equals(Arrays.copyOf(b, 6), MAGIC)) throw new IOException(file + ": not a .npy file");
        int major = b[6];
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        int offset;
        if (major == 1) {
            headerLen = bb.getShort(8) & 0xffff;
            offset = 10;
        } else if (major == 2 || major == 3) {
            if (b.length < 12) throw new IOException(file + ": truncated .npy header");
            headerLen = bb.getInt(8) & 0xffffffffL;
            offset = 12;
        } else {
            throw new IOException(file + ": unsupported .npy version " + major);
        }
        if (offset + headerLen > b.length) throw new IOException(file + ": truncated .npy header");
        String header = new String(b, offset, (int) headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = DESCR.matcher(header), o = ORDER.matcher(header), s = SHAPE.matcher(header);
        if (!d.find() || !o.find() || !s.find()) throw new IOException(file + ": malformed .npy header");
        if (o.group(1).equals("True")) throw new IOException(file + ": Fortran-order arrays are not supported");
        String descr = d.group(1);
        int itemSize = switch (descr) {
            case "<f4", "|f4" -> 4;
            case "<f8" -> 8;
            default -> throw new IOException(file + ": dtype '" + printable(descr) + "' is not float32/float64 little-endian");
        };
        String dims = s.group(1).trim();
        if (!DIMS.matcher(dims).matches()) throw new IOException(file + ": malformed .npy shape (" + printable(dims) + ")");
        long[] shape;
        long n = 1;
        try {
            shape = dims.isEmpty() ? new long[0] : Arrays.stream(dims.split(",")).map(String::trim).filter(x -> !x.isEmpty())
                    .mapToLong(Long::parseLong).toArray();
            for (long x : shape) n = Math.multiplyExact(n, x);
            n = Math.multiplyExact(n, itemSize);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IOException(file + ": .npy shape (" + printable(dims) + ") is too large");
        }
        int data = offset + (int) headerLen;
        if (data + n != b.length) {
            throw new IOException(file + ": holds " + (b.length - data) + " data bytes, shape " + Arrays.toString(shape) + " needs " + n);
        }
        n /= itemSize;
        float[] v = new float[(int) n];
        bb.position(data);
        if (itemSize == 4) bb.asFloatBuffer().get(v);
        else for (int i = 0; i < n; i++) v[i] = (float) bb.getDouble(data + 8 * i);
        return new FloatArray(shape, v);
    }

    /** Keeps a header fragment on one printable line in an error message. */
    private static String printable(String s) {
        StringBuilder out = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (out.length() >= 40) return out.append("...").toString();
            out.append(c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\x%02x", (int) c));
        }
        return out.toString();
    }

    /** Writes a float32 C-order array (format 1.0). */
    public static void writeFloats(OutputStream out, float[] data, long... shape) throws IOException {
        long n = 1;
        for (long x : shape) n *= x;
        if (n != data.length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " does not hold " + data.length + " values");
        writeHeader(out, "<f4", shape);
        ByteBuffer body = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : data) {
            if (!body.hasRemaining()) {
                out.write(body.array(), 0, body.position());
                body.clear();
            }
            body.putFloat(f);
        }
        out.write(body.array(), 0, body.position());
    }

    /**
     * Writes a version-1 .npy header (magic, version, header dict padded to 64 bytes); the caller
     * then writes the C-order body.
     *
     * @param descr numpy's type string, e.g. "&lt;f4" or "|u1"
     */
    public static void writeHeader(OutputStream out, String descr, long... shape) throws IOException {
        String dims = String.join(", ", Arrays.stream(shape).mapToObj(Long::toString).toArray(String[]::new));
        if (shape.length == 1) dims += ",";
        String h = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
        int total = 10 + h.length() + 1;
        int pad = (64 - total % 64) % 64;
        StringBuilder header = new StringBuilder(h);
        header.append(" ".repeat(pad)).append('\n');
        ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        pre.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
        out.write(pre.array());
        out.write(header.toString().getBytes(StandardCharsets.ISO_8859_1));
    }
}

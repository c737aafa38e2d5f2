package org.ovseg.bundle;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.ovseg.engine.Digests;
import org.ovseg.engine.EngineException;
import org.ovseg.engine.ShapeProfile;
import org.ovseg.engine.TensorSpec;
import org.ovseg.engine.onnx.OnnxModelInfo;
import org.ovseg.tensor.ElementType;

/**
 * Loads and validates a model bundle: a directory holding {@value #MANIFEST} and the ONNX files
 * it names. Everything is checked before any inference: the JSON itself, the format version,
 * every field, that each network file exists inside the bundle, its SHA-256 (streamed), and that
 * the inputs and outputs the ONNX file declares match the manifest (names, element types, ranks,
 * static dimensions). A graph whose weights are ONNX external data (past protobuf's 2 GiB) names
 * its one data file under {@code "data"}: that file must be inside the bundle, be the file the
 * graph's tensors point at, and match its SHA-256; a graph without external data must not name one. The first problem found is thrown as a {@link BundleException} whose
 * one-line message names the file and the field.
 *
 * <p>File hashes are remembered per (path, size, modification time) for the life of the process,
 * so loading the same bundle twice reads each large file once. Thread-safe.
 */
public final class BundleLoader {
    /** Name of the manifest file in a bundle directory. */
    public static final String MANIFEST = "bundle.json";

    private static final System.Logger LOG = org.ovseg.Logging.logger(BundleLoader.class);
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern LABEL = Pattern.compile("[a-z0-9][a-z0-9_-]*");
    private static final Set<String> TOP_LEVEL = Set.of("format_version", "pipeline", "family", "networks", "preprocessing",
            "text", "embed_dim", "logit_scale", "defaults", "name", "description", "license", "source", "arrays");
    private static final Set<String> ARRAY_FIELDS = Set.of("file", "sha256", "dtype", "shape");
    private static final Set<String> NETWORK_FIELDS = Set.of("file", "sha256", "precision", "inputs", "outputs", "variants", "profiles",
            "data");
    private static final Set<String> FILE_FIELDS = Set.of("file", "sha256");
    private static final Set<String> PROFILE_FIELDS = Set.of("min", "opt", "max");
    private static final Set<String> TENSOR_FIELDS = Set.of("name", "dtype", "shape");
    private static final Set<String> PRE_FIELDS = Set.of("size_policy", "size", "max_long_side", "mean", "std", "patch_size",
            "position_grid", "width", "interpolation", "pos_embed_interpolation", "padding");
    /** Tokenizers a bundle may name: CLIP's BPE; BERT's uncased WordPiece (vocab.txt beside bundle.json, checked by the pipeline). */
    private static final List<String> TOKENIZERS = List.of("clip-bpe", "bert-wordpiece-uncased");
    private static final Set<String> TEXT_FIELDS = Set.of("tokenizer", "context_length", "templates", "template_set");
    private static final JsonMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private BundleLoader() {}

    /**
     * Loads and fully validates the bundle in {@code dir}.
     *
     * @throws BundleException naming the file and field of the first problem
     */
    public static ModelBundle load(Path dir) {
        Path root = dir.toAbsolutePath().normalize();
        Path manifestFile = root.resolve(MANIFEST);
        if (!Files.isDirectory(root)) throw new BundleException(root, null, "bundle directory does not exist");
        if (!Files.isRegularFile(manifestFile)) throw new BundleException(manifestFile, null, "missing (a bundle directory needs a " + MANIFEST + ")");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(manifestFile);
        } catch (IOException e) {
            throw new BundleException(manifestFile, null, "cannot read: " + e.getMessage(), e);
        }
        BundleManifest m = parseManifest(manifestFile, bytes);
        for (BundleManifest.Network n : m.networks().values()) checkNetwork(root, manifestFile, n);
        Map<String, Npy.FloatArray> arrays = new LinkedHashMap<>();
        for (BundleManifest.ArrayRef a : m.arrays().values()) arrays.put(a.name(), loadArray(root, manifestFile, a));
        LOG.log(Level.DEBUG, () -> "bundle " + root + ": " + m.pipeline() + "/" + m.family() + ", networks " + m.networks().keySet());
        return new ModelBundle(root, m, Digests.sha256(new String(bytes, java.nio.charset.StandardCharsets.UTF_8)), arrays);
    }

    /**
     * Parses and validates the manifest's text alone (no file it names is opened): the part of
     * {@link #load} that reads untrusted bytes, separate so that it can be fuzzed.
     *
     * @throws BundleException naming {@code manifestFile} and the field of the first problem
     */
    static BundleManifest parseManifest(Path manifestFile, byte[] bytes) {
        JsonNode tree;
        try {
            tree = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String where = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new BundleException(manifestFile, null, "malformed JSON" + where + ": " + firstLine(e.getOriginalMessage()), e);
        } catch (IOException e) {
            throw new BundleException(manifestFile, null, "cannot read: " + e.getMessage(), e);
        }
        return new ManifestParser(manifestFile).parse(tree);
    }

    private static Npy.FloatArray loadArray(Path root, Path manifestFile, BundleManifest.ArrayRef a) {
        String field = "arrays." + a.name();
        Path p = resolveInside(root, manifestFile, field + ".file", a.file());
        checkHash(manifestFile, field + ".sha256", p, a.sha256());
        Npy.FloatArray data;
        try {
            data = Npy.readFloats(p);
        } catch (IOException | ArithmeticException e) {
            throw new BundleException(manifestFile, field, "unreadable array: " + e.getMessage(), e);
        }
        List<Long> shape = new ArrayList<>();
        for (long d : data.shape()) shape.add(d);
        if (!shape.equals(a.shape())) {
            throw new BundleException(manifestFile, field + ".shape", "declared " + a.shape() + " but " + p.getFileName() + " holds " + shape);
        }
        return data;
    }

    // ---- files ------------------------------------------------------------------------------

    private static void checkNetwork(Path root, Path manifestFile, BundleManifest.Network n) {
        String field = "networks." + n.role();
        Path main = resolveInside(root, manifestFile, field + ".file", n.file());
        checkHash(manifestFile, field + ".sha256", main, n.sha256());
        OnnxModelInfo info = checkInterface(main, field, n, null);
        checkData(root, manifestFile, field, main, info, n.data());
        for (Map.Entry<String, BundleManifest.Variant> e : n.variants().entrySet()) {
            String vf = field + ".variants." + e.getKey();
            Path p = resolveInside(root, manifestFile, vf + ".file", e.getValue().file());
            if (e.getValue().sha256() != null) checkHash(manifestFile, vf + ".sha256", p, e.getValue().sha256());
            OnnxModelInfo vi = checkInterface(p, vf, n, e.getKey());
            checkData(root, manifestFile, vf, p, vi, e.getValue().data());
        }
    }

    /**
     * The graph's external data against its "data" entry: both present or both absent, one data file, the one the
     * graph's locations resolve to (relative to the graph's directory, as ONNX Runtime and TensorRT's parser read
     * them), inside the bundle, with the declared hash.
     */
    private static void checkData(Path root, Path manifestFile, String field, Path onnx, OnnxModelInfo info, BundleManifest.DataFile data) {
        List<String> locations = info.externalData();
        String df = field + ".data";
        if (data == null) {
            if (!locations.isEmpty()) {
                throw new BundleException(manifestFile, df, "missing: " + onnx.getFileName() + " keeps its weights in external data '"
                        + locations.get(0) + "'; name that file here with its sha256 ({\"file\": ..., \"sha256\": ...})");
            }
            return;
        }
        Path p = resolveInside(root, manifestFile, df + ".file", data.file());
        if (locations.isEmpty()) {
            throw new BundleException(manifestFile, df, onnx.getFileName() + " has no external data (its weights are inside it), "
                    + "so it takes no data file; remove the field");
        }
        if (locations.size() > 1) {
            throw new BundleException(manifestFile, df, onnx.getFileName() + " spreads its weights over " + locations.size()
                    + " external files (" + String.join(", ", locations) + "); a bundle allows one data file per graph");
        }
        String location = locations.get(0);
        Path target = null;
        try {
            if (!location.isEmpty() && !Path.of(location).isAbsolute()) target = onnx.getParent().resolve(location).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            // reported below
        }
        if (target == null || !target.startsWith(root)) {
            throw new BundleException(manifestFile, df, onnx.getFileName() + " reads its weights from '" + location
                    + "', which is not a relative path inside the bundle directory");
        }
        if (!target.equals(p)) {
            throw new BundleException(manifestFile, df + ".file", "'" + data.file() + "' is not the file " + onnx.getFileName()
                    + " reads its weights from ('" + location + "', relative to the graph's directory)");
        }
        checkHash(manifestFile, df + ".sha256", p, data.sha256());
    }

    private static Path resolveInside(Path root, Path manifestFile, String field, String relative) {
        Path p;
        try {
            p = root.resolve(relative).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new BundleException(manifestFile, field, "'" + relative + "' is not a valid path");
        }
        if (!p.startsWith(root) || Path.of(relative).isAbsolute()) {
            throw new BundleException(manifestFile, field, "'" + relative + "' points outside the bundle directory");
        }
        if (!Files.isRegularFile(p)) throw new BundleException(manifestFile, field, "'" + relative + "' does not exist in " + root);
        return p;
    }

    private static void checkHash(Path manifestFile, String field, Path file, String expected) {
        String actual;
        try {
            actual = cachedSha256(file);
        } catch (IOException e) {
            throw new BundleException(file, null, "cannot read: " + e.getMessage(), e);
        }
        if (!actual.equals(expected)) {
            throw new BundleException(manifestFile, field, "sha256 mismatch for " + file.getFileName() + ": expected " + expected
                    + ", actual " + actual + " (file changed or corrupt)");
        }
    }

    private static String cachedSha256(Path file) throws IOException {
        return Digests.sha256Cached(file);
    }

    /**
     * Compares the ONNX interface with the manifest. A precision variant may carry FLOAT16 or
     * BFLOAT16 where the manifest says FLOAT32 (a half-precision export often keeps half I/O).
     */
    private static OnnxModelInfo checkInterface(Path onnx, String field, BundleManifest.Network n, String variant) {
        OnnxModelInfo info;
        try {
            info = OnnxModelInfo.read(onnx);
        } catch (EngineException e) {
            throw new BundleException(onnx, null, "not a readable ONNX model: " + e.getMessage(), e);
        }
        List<String> declaredIn = new ArrayList<>();
        for (int i = 0; i < n.inputs().size(); i++) {
            TensorSpec s = n.inputs().get(i);
            declaredIn.add(s.name());
            OnnxModelInfo.Value v = info.input(s.name()).orElseThrow(() -> new BundleException(onnx, null,
                    "has no input '" + s.name() + "' declared by " + MANIFEST + " " + field + ".inputs (model inputs: " + names(info.inputs()) + ")"));
            compare(onnx, field + ".inputs[" + i + "]", "input", s, v, variant);
        }
        for (OnnxModelInfo.Value v : info.inputs()) {
            if (!declaredIn.contains(v.name())) {
                throw new BundleException(onnx, null, "input '" + v.name() + "' (" + v.describe() + ") is not declared in "
                        + MANIFEST + " " + field + ".inputs");
            }
        }
        for (int i = 0; i < n.outputs().size(); i++) {
            TensorSpec s = n.outputs().get(i);
            OnnxModelInfo.Value v = info.output(s.name()).orElseThrow(() -> new BundleException(onnx, null,
                    "has no output '" + s.name() + "' declared by " + MANIFEST + " " + field + ".outputs (model outputs: " + names(info.outputs()) + ")"));
            compare(onnx, field + ".outputs[" + i + "]", "output", s, v, variant);
        }
        return info;
    }

    private static void compare(Path onnx, String field, String kind, TensorSpec s, OnnxModelInfo.Value v, String variant) {
        boolean typeOk = v.elemType() == s.type().onnxCode()
                || (variant != null && s.type() == ElementType.FLOAT32
                        && (v.elemType() == ElementType.FLOAT16.onnxCode() || v.elemType() == ElementType.BFLOAT16.onnxCode()));
        long[] actual = v.shape();
        String problem = null;
        if (!typeOk) problem = "element type";
        else if (actual == null) problem = "rank (the model declares no shape)";
        else if (actual.length != s.rank()) problem = "rank";
        else {
            long[] declared = s.shape();
            for (int d = 0; d < declared.length && problem == null; d++) {
                if (declared[d] >= 0 && actual[d] >= 0 && declared[d] != actual[d]) problem = "dimension " + d;
                if (declared[d] < 0 && actual[d] >= 0) problem = "dimension " + d + " (declared dynamic, fixed in the model)";
            }
        }
        if (problem != null) {
            throw new BundleException(onnx, null, kind + " '" + s.name() + "' is " + v.describe() + " but " + MANIFEST + " " + field
                    + " declares " + s.describe() + ": " + problem + " differs");
        }
    }

    private static String names(List<OnnxModelInfo.Value> values) {
        List<String> n = new ArrayList<>();
        for (OnnxModelInfo.Value v : values) n.add(v.name());
        return String.join(", ", n);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }

    // ---- manifest fields --------------------------------------------------------------------

    /** Reads typed fields off the JSON tree, failing with the field's dotted path. */
    private static final class ManifestParser {
        private final Path file;

        ManifestParser(Path file) {
            this.file = file;
        }

        BundleManifest parse(JsonNode root) {
            if (!root.isObject()) throw fail(null, "top level must be a JSON object");
            // The version decides how to read everything else, so it is checked first.
            int version = intField(root, "format_version", "format_version");
            if (version > BundleManifest.FORMAT_VERSION) {
                throw new BundleException(file, null, "format_version " + version + " is newer than this ovseg supports ("
                        + BundleManifest.FORMAT_VERSION + ")");
            }
            if (version < 1) throw fail("format_version", "must be >= 1, got " + version);
            noUnknown(root, TOP_LEVEL, null);
            String pipeline = text(root, "pipeline", "pipeline");
            if (!BundleManifest.PIPELINES.contains(pipeline)) {
                throw fail("pipeline", "unknown pipeline '" + pipeline + "' (known: " + String.join(", ", new TreeSet<>(BundleManifest.PIPELINES)) + ")");
            }
            String family = text(root, "family", "family");
            Map<String, BundleManifest.Network> networks = networks(object(root, "networks", "networks"));
            Map<String, BundleManifest.ArrayRef> arrays = root.has("arrays") ? arrays(object(root, "arrays", "arrays")) : Map.of();
            // A "sam" bundle (image encoder + prompt decoder) has no text side: text, embed_dim and
            // logit_scale are optional there (null, 0 and 0 when absent) and checked when given.
            boolean sam = pipeline.equals("sam");
            BundleManifest.Preprocessing pre = preprocessing(object(root, "preprocessing", "preprocessing"), sam);
            BundleManifest.Text text = sam && !root.has("text") ? null : text(object(root, "text", "text"));
            int embedDim = sam && !root.has("embed_dim") ? 0 : intField(root, "embed_dim", "embed_dim");
            if (embedDim <= 0 && !(sam && !root.has("embed_dim"))) throw fail("embed_dim", "must be > 0, got " + embedDim);
            double logitScale = sam && !root.has("logit_scale") ? 0 : number(root, "logit_scale", "logit_scale");
            if ((!(logitScale > 0) || Double.isInfinite(logitScale)) && !(sam && !root.has("logit_scale"))) {
                throw fail("logit_scale", "must be a finite number > 0, got " + logitScale);
            }
            Map<String, Object> defaults = new LinkedHashMap<>();
            if (root.has("defaults")) {
                JsonNode d = object(root, "defaults", "defaults");
                for (Map.Entry<String, JsonNode> e : d.properties()) {
                    JsonNode v = e.getValue();
                    String f = "defaults." + e.getKey();
                    if (v.isBoolean()) defaults.put(e.getKey(), v.booleanValue());
                    else if (v.isIntegralNumber()) defaults.put(e.getKey(), v.longValue());
                    else if (v.isNumber()) defaults.put(e.getKey(), v.doubleValue());
                    else if (v.isTextual()) defaults.put(e.getKey(), v.textValue());
                    else throw fail(f, "must be a number, boolean or string");
                }
            }
            return new BundleManifest(version, pipeline, family, networks, arrays, pre, text, embedDim, logitScale, defaults);
        }

        private Map<String, BundleManifest.ArrayRef> arrays(JsonNode node) {
            Map<String, BundleManifest.ArrayRef> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String f = "arrays." + e.getKey();
                if (!LABEL.matcher(e.getKey()).matches()) throw fail(f, "name must be lower-case letters, digits, '-' or '_'");
                JsonNode a = e.getValue();
                if (!a.isObject()) throw fail(f, "must be an object");
                noUnknown(a, ARRAY_FIELDS, f);
                String fileName = text(a, "file", f + ".file");
                String sha = sha(a, f + ".sha256", true);
                String dtype = a.has("dtype") ? text(a, "dtype", f + ".dtype") : "float32";
                if (!dtype.equals("float32")) throw fail(f + ".dtype", "must be float32, got '" + dtype + "'");
                JsonNode sh = a.get("shape");
                if (sh == null || !sh.isArray()) throw fail(f + ".shape", "must be an array of non-negative integers");
                List<Long> shape = new ArrayList<>();
                for (int i = 0; i < sh.size(); i++) {
                    JsonNode d = sh.get(i);
                    if (!d.isIntegralNumber() || d.longValue() < 0) throw fail(f + ".shape[" + i + "]", "must be a non-negative integer, got " + d);
                    shape.add(d.longValue());
                }
                out.put(e.getKey(), new BundleManifest.ArrayRef(e.getKey(), fileName, sha, shape));
            }
            return out;
        }

        private Map<String, BundleManifest.Network> networks(JsonNode node) {
            if (node.size() == 0) throw fail("networks", "must name at least one network");
            Map<String, BundleManifest.Network> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String role = e.getKey();
                String f = "networks." + role;
                if (!LABEL.matcher(role).matches()) throw fail(f, "role must be lower-case letters, digits, '-' or '_'");
                JsonNode n = e.getValue();
                if (!n.isObject()) throw fail(f, "must be an object");
                noUnknown(n, NETWORK_FIELDS, f);
                String fileName = text(n, "file", f + ".file");
                String sha = sha(n, f + ".sha256", true);
                String precision = n.has("precision") ? label(text(n, "precision", f + ".precision"), f + ".precision") : "fp32";
                List<TensorSpec> inputs = tensors(n, "inputs", f + ".inputs");
                List<TensorSpec> outputs = tensors(n, "outputs", f + ".outputs");
                Map<String, BundleManifest.Variant> variants = new LinkedHashMap<>();
                if (n.has("variants")) {
                    JsonNode vs = object(n, "variants", f + ".variants");
                    for (Map.Entry<String, JsonNode> ve : vs.properties()) {
                        String vf = f + ".variants." + ve.getKey();
                        label(ve.getKey(), vf);
                        if (ve.getKey().equals(precision)) throw fail(vf, "repeats the main file's precision '" + precision + "'");
                        JsonNode v = ve.getValue();
                        if (v.isTextual()) {
                            variants.put(ve.getKey(), new BundleManifest.Variant(nonEmpty(v.textValue(), vf), null));
                        } else if (v.isObject()) {
                            noUnknown(v, Set.of("file", "sha256", "data"), vf);
                            variants.put(ve.getKey(), new BundleManifest.Variant(text(v, "file", vf + ".file"), sha(v, vf + ".sha256", false),
                                    dataFile(v, vf + ".data")));
                        } else {
                            throw fail(vf, "must be a file name or {\"file\": ..., \"sha256\": ..., \"data\": ...}");
                        }
                    }
                }
                Map<String, ShapeProfile> profiles = n.has("profiles") ? profiles(object(n, "profiles", f + ".profiles"), inputs, f + ".profiles")
                        : Map.of();
                out.put(role, new BundleManifest.Network(role, fileName, sha, precision, inputs, outputs, variants, profiles,
                        dataFile(n, f + ".data")));
            }
            return out;
        }

        /** {"file": ..., "sha256": ...} of a graph's external data, or null when the field is absent. */
        private BundleManifest.DataFile dataFile(JsonNode parent, String f) {
            if (!parent.has("data")) return null;
            JsonNode d = object(parent, "data", f);
            noUnknown(d, FILE_FIELDS, f);
            return new BundleManifest.DataFile(text(d, "file", f + ".file"), sha(d, f + ".sha256", true));
        }

        /** TensorRT profiles by input name: {"min": [..], "opt": [..], "max": [..]}, each of the input's rank. */
        private Map<String, ShapeProfile> profiles(JsonNode node, List<TensorSpec> inputs, String f) {
            Map<String, ShapeProfile> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String pf = f + "." + e.getKey();
                TensorSpec in = inputs.stream().filter(s -> s.name().equals(e.getKey())).findFirst()
                        .orElseThrow(() -> fail(pf, "names no input of this network"));
                JsonNode p = e.getValue();
                if (!p.isObject()) throw fail(pf, "must be an object {\"min\": [...], \"opt\": [...], \"max\": [...]}");
                noUnknown(p, PROFILE_FIELDS, pf);
                long[][] dims = new long[3][];
                String[] keys = {"min", "opt", "max"};
                for (int k = 0; k < 3; k++) {
                    JsonNode a = p.get(keys[k]);
                    String kf = pf + "." + keys[k];
                    if (a == null) throw fail(kf, "missing");
                    if (!a.isArray() || a.size() != in.rank()) throw fail(kf, "must be an array of " + in.rank() + " sizes (the rank of " + in.describe() + ")");
                    dims[k] = new long[in.rank()];
                    long[] declared = in.shape();
                    for (int d = 0; d < in.rank(); d++) {
                        JsonNode v = a.get(d);
                        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0) {
                            throw fail(kf + "[" + d + "]", "must be a size >= 0, got " + v);
                        }
                        if (declared[d] >= 0 && v.longValue() != declared[d]) {
                            throw fail(kf + "[" + d + "]", "is " + v.longValue() + " but the input's axis is fixed at " + declared[d]);
                        }
                        dims[k][d] = v.longValue();
                    }
                }
                try {
                    out.put(e.getKey(), new ShapeProfile(dims[0], dims[1], dims[2]));
                } catch (IllegalArgumentException ex) {
                    throw fail(pf, "needs min <= opt <= max on every axis, got min " + java.util.Arrays.toString(dims[0])
                            + " opt " + java.util.Arrays.toString(dims[1]) + " max " + java.util.Arrays.toString(dims[2]));
                }
            }
            return out;
        }

        private List<TensorSpec> tensors(JsonNode parent, String key, String f) {
            JsonNode arr = parent.get(key);
            if (arr == null) throw fail(f, "missing");
            if (!arr.isArray() || arr.size() == 0) throw fail(f, "must be a non-empty array");
            List<TensorSpec> out = new ArrayList<>();
            Set<String> seen = new TreeSet<>();
            for (int i = 0; i < arr.size(); i++) {
                String tf = f + "[" + i + "]";
                JsonNode t = arr.get(i);
                if (!t.isObject()) throw fail(tf, "must be an object");
                noUnknown(t, TENSOR_FIELDS, tf);
                String name = text(t, "name", tf + ".name");
                if (!seen.add(name)) throw fail(tf + ".name", "duplicate tensor name '" + name + "'");
                String dtype = text(t, "dtype", tf + ".dtype");
                ElementType type = ElementType.parse(dtype).orElseThrow(() -> fail(tf + ".dtype",
                        "unknown dtype '" + dtype + "' (float32, float16, bfloat16, int32, int64)"));
                JsonNode shape = t.get("shape");
                if (shape == null) throw fail(tf + ".shape", "missing");
                if (!shape.isArray()) throw fail(tf + ".shape", "must be an array of sizes, -1 or axis names");
                long[] dims = new long[shape.size()];
                List<String> axes = new ArrayList<>();
                for (int d = 0; d < shape.size(); d++) {
                    JsonNode dn = shape.get(d);
                    if (dn.isIntegralNumber() && dn.canConvertToLong() && dn.longValue() >= -1) {
                        dims[d] = dn.longValue();
                        axes.add(null);
                    } else if (dn.isTextual() && !dn.textValue().isBlank()) {
                        dims[d] = -1;
                        axes.add(dn.textValue());
                    } else {
                        throw fail(tf + ".shape[" + d + "]", "must be a size >= 0, -1 or an axis name, got " + dn);
                    }
                }
                out.add(new TensorSpec(name, type, dims, axes));
            }
            return out;
        }

        private BundleManifest.Preprocessing preprocessing(JsonNode p, boolean sam) {
            noUnknown(p, PRE_FIELDS, "preprocessing");
            String policy = text(p, "size_policy", "preprocessing.size_policy");
            if (sam && policy.equals("long-side")) {
                // SAM: the long side is scaled to size, then the image is padded to size x size.
            } else if (!policy.equals("short-side") && !policy.equals("fixed")) {
                throw fail("preprocessing.size_policy", "must be \"short-side\" or \"fixed\", got \"" + policy + "\"");
            }
            int size = intField(p, "size", "preprocessing.size");
            if (size <= 0) throw fail("preprocessing.size", "must be > 0, got " + size);
            List<Double> mean = triple(p, "mean", "preprocessing.mean", false);
            List<Double> std = triple(p, "std", "preprocessing.std", true);
            int patch = intField(p, "patch_size", "preprocessing.patch_size");
            if (patch <= 0) throw fail("preprocessing.patch_size", "must be > 0, got " + patch);
            int maxLong = p.has("max_long_side") ? intField(p, "max_long_side", "preprocessing.max_long_side") : 4 * size;
            if (maxLong < size) throw fail("preprocessing.max_long_side", "must be >= size (" + size + "), got " + maxLong);
            int grid = p.has("position_grid") ? intField(p, "position_grid", "preprocessing.position_grid") : 0;
            if (grid < 0) throw fail("preprocessing.position_grid", "must be >= 0, got " + grid);
            int width = p.has("width") ? intField(p, "width", "preprocessing.width") : 0;
            if (width < 0) throw fail("preprocessing.width", "must be >= 0, got " + width);
            String interp = text(p, "interpolation", "preprocessing.interpolation");
            String posInterp = text(p, "pos_embed_interpolation", "preprocessing.pos_embed_interpolation");
            String padding = p.has("padding") ? text(p, "padding", "preprocessing.padding") : "none";
            return new BundleManifest.Preprocessing(policy, size, maxLong, mean, std, patch, grid, width, interp, posInterp, padding);
        }

        private List<Double> triple(JsonNode p, String key, String f, boolean positive) {
            JsonNode a = p.get(key);
            if (a == null) throw fail(f, "missing");
            if (!a.isArray() || a.size() != 3) throw fail(f, "must be an array of 3 numbers (R, G, B)");
            List<Double> out = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                JsonNode v = a.get(i);
                if (!v.isNumber() || !Double.isFinite(v.doubleValue())) throw fail(f + "[" + i + "]", "must be a number");
                if (positive && v.doubleValue() <= 0) throw fail(f + "[" + i + "]", "must be > 0, got " + v.doubleValue());
                out.add(v.doubleValue());
            }
            return out;
        }

        private BundleManifest.Text text(JsonNode t) {
            noUnknown(t, TEXT_FIELDS, "text");
            String tokenizer = text(t, "tokenizer", "text.tokenizer");
            if (!TOKENIZERS.contains(tokenizer)) throw fail("text.tokenizer", "unknown tokenizer '" + tokenizer + "' (known: " + String.join(", ", TOKENIZERS) + ")");
            int ctx = intField(t, "context_length", "text.context_length");
            if (ctx < 2 || ctx > 4096) throw fail("text.context_length", "must be 2–4096, got " + ctx);
            boolean hasList = t.has("templates");
            boolean hasSet = t.has("template_set");
            if (hasList == hasSet) throw fail("text", "give exactly one of \"templates\" (a list) or \"template_set\" (a name)");
            List<String> templates = new ArrayList<>();
            String set = null;
            if (hasList) {
                JsonNode a = t.get("templates");
                if (!a.isArray() || a.size() == 0) throw fail("text.templates", "must be a non-empty array of strings");
                for (int i = 0; i < a.size(); i++) {
                    JsonNode s = a.get(i);
                    if (!s.isTextual() || !s.textValue().contains("{}")) {
                        throw fail("text.templates[" + i + "]", "must be a string containing \"{}\" where the label goes");
                    }
                    templates.add(s.textValue());
                }
            } else {
                set = text(t, "template_set", "text.template_set");
            }
            return new BundleManifest.Text(tokenizer, ctx, templates, set);
        }

        // ---- primitives ----

        private void noUnknown(JsonNode obj, Set<String> allowed, String prefix) {
            for (Map.Entry<String, JsonNode> e : obj.properties()) {
                String k = e.getKey();
                if (!allowed.contains(k)) {
                    throw fail(prefix == null ? k : prefix + "." + k, "unknown field (allowed: " + String.join(", ", new TreeSet<>(allowed)) + ")");
                }
            }
        }

        private JsonNode object(JsonNode parent, String key, String f) {
            JsonNode n = parent.get(key);
            if (n == null) throw fail(f, "missing");
            if (!n.isObject()) throw fail(f, "must be an object");
            return n;
        }

        private String text(JsonNode parent, String key, String f) {
            JsonNode n = parent.get(key);
            if (n == null) throw fail(f, "missing");
            if (!n.isTextual()) throw fail(f, "must be a string, got " + n.getNodeType().name().toLowerCase(Locale.ROOT));
            return nonEmpty(n.textValue(), f);
        }

        private String nonEmpty(String s, String f) {
            if (s.isBlank()) throw fail(f, "must not be empty");
            return s;
        }

        private String label(String s, String f) {
            if (!LABEL.matcher(s).matches()) throw fail(f, "'" + s + "' must be lower-case letters, digits, '-' or '_'");
            return s;
        }

        private String sha(JsonNode parent, String f, boolean required) {
            String key = f.substring(f.lastIndexOf('.') + 1);
            if (!parent.has(key)) {
                if (required) throw fail(f, "missing");
                return null;
            }
            String s = text(parent, key, f);
            if (!SHA256.matcher(s).matches()) throw fail(f, "must be 64 lower-case hex digits, got '" + s + "'");
            return s;
        }

        private int intField(JsonNode parent, String key, String f) {
            JsonNode n = parent.get(key);
            if (n == null) throw fail(f, "missing");
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw fail(f, "must be an integer, got " + n);
            return n.intValue();
        }

        private double number(JsonNode parent, String key, String f) {
            JsonNode n = parent.get(key);
            if (n == null) throw fail(f, "missing");
            if (!n.isNumber()) throw fail(f, "must be a number, got " + n);
            return n.doubleValue();
        }

        private BundleException fail(String field, String problem) {
            return new BundleException(file, field, problem);
        }
    }
}

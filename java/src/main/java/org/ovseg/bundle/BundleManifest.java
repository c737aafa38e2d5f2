package org.ovseg.bundle;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.ovseg.engine.ShapeProfile;
import org.ovseg.engine.TensorSpec;

/**
 * The parsed contents of a bundle's {@code bundle.json}. Every value here has been validated by
 * {@link BundleLoader}; the records only hold it.
 *
 * <pre>{@code
 * {
 *   "format_version": 1,
 *   "pipeline": "maskclip",                       // maskclip | car | odise | ovsegmentor | xdecoder
 *   "family": "clip-vit-b16",
 *   "networks": {
 *     "image": {
 *       "file": "image.onnx", "sha256": "<64 hex>", "precision": "fp32",
 *       "inputs":  [{"name": "pixel_values", "dtype": "float32", "shape": [1, 3, "height", "width"]}],
 *       "outputs": [{"name": "dense", "dtype": "float32", "shape": [1, -1, 512]}],
 *       "variants": {"fp16": {"file": "image.fp16.onnx", "sha256": "<64 hex>"}}
 *       // past 2 GiB, here and in a variant: "data": {"file": "image.onnx.data", "sha256": "<64 hex>"}
 *     }
 *   },
 *   "arrays": {                                   // parameters the pipeline applies itself (.npy, float32)
 *     "pos_embed": {"file": "pos_embed.npy", "sha256": "<64 hex>", "dtype": "float32", "shape": [197, 768]}
 *   },
 *   "preprocessing": {"size_policy": "short-side", "size": 512, "max_long_side": 2048, "mean": [..3], "std": [..3],
 *                     "patch_size": 16, "position_grid": 14, "width": 768,
 *                     "interpolation": "bilinear, align_corners=false",
 *                     "pos_embed_interpolation": "bicubic", "padding": "zero, bottom-right"},
 *   "text": {"tokenizer": "clip-bpe", "context_length": 77, "template_set": "imagenet-80"},
 *   "embed_dim": 512,
 *   "logit_scale": 100.0,
 *   "defaults": {"bg_threshold": 0.5}
 * }
 * }</pre>
 *
 * @param formatVersion bundle format version (currently {@value #FORMAT_VERSION})
 * @param pipeline pipeline name, one of {@link #PIPELINES} ("sam": a Segment Anything image encoder and
 *     prompt decoder, tools/export/export_sam.py; such a bundle has no text side, so text is null and
 *     embedDim and logitScale are 0 when the manifest omits them, and its size_policy may be "long-side")
 * @param family model family, e.g. "clip-vit-b16"
 * @param networks role → network, in file order
 * @param arrays name → parameter array, in file order
 * @param preprocessing image preprocessing
 * @param text text encoder configuration
 * @param embedDim joint embedding width
 * @param logitScale multiplier of cosine similarities before the softmax
 * @param defaults method defaults (thresholds and the like): String, Number or Boolean values
 */
public record BundleManifest(int formatVersion, String pipeline, String family, Map<String, Network> networks,
        Map<String, ArrayRef> arrays, Preprocessing preprocessing, Text text, int embedDim, double logitScale, Map<String, Object> defaults) {

    /** The newest bundle format this ovseg reads. */
    public static final int FORMAT_VERSION = 1;

    /** Pipelines ovseg knows. */
    public static final Set<String> PIPELINES = Set.of("maskclip", "car", "odise", "ovsegmentor", "xdecoder", "sam");

    /** Copies the maps. */
    public BundleManifest {
        networks = Collections.unmodifiableMap(new LinkedHashMap<>(networks));
        arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
        defaults = Collections.unmodifiableMap(new LinkedHashMap<>(defaults));
    }

    /**
     * One network of the bundle.
     *
     * @param role what it does in the pipeline ("image", "text", ...)
     * @param file ONNX file, relative to the bundle directory
     * @param sha256 lower-case hex SHA-256 of the file
     * @param precision precision label of {@code file} ("fp32" unless stated)
     * @param inputs declared inputs
     * @param outputs declared outputs
     * @param variants other precision variants, label → file
     * @param profiles TensorRT optimisation profiles given in bundle.json ({@code "profiles"}), by input
     *     name; they win over the ones {@link org.ovseg.engine.ShapeProfiles} derives
     * @param data the ONNX external data file {@code file}'s weights are stored in ({@code "data"}), or null when
     *     {@code file} is self-contained
     */
    public record Network(String role, String file, String sha256, String precision, List<TensorSpec> inputs,
            List<TensorSpec> outputs, Map<String, Variant> variants, Map<String, ShapeProfile> profiles, DataFile data) {
        /** Copies the collections. */
        public Network {
            Objects.requireNonNull(role, "role");
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
            variants = Collections.unmodifiableMap(new LinkedHashMap<>(variants));
            profiles = Collections.unmodifiableMap(new LinkedHashMap<>(profiles));
        }

        /** A self-contained network (no external data file). */
        public Network(String role, String file, String sha256, String precision, List<TensorSpec> inputs,
                List<TensorSpec> outputs, Map<String, Variant> variants, Map<String, ShapeProfile> profiles) {
            this(role, file, sha256, precision, inputs, outputs, variants, profiles, null);
        }

        /** A network without profile overrides. */
        public Network(String role, String file, String sha256, String precision, List<TensorSpec> inputs,
                List<TensorSpec> outputs, Map<String, Variant> variants) {
            this(role, file, sha256, precision, inputs, outputs, variants, Map.of());
        }
    }

    /**
     * A parameter array stored as a float32 .npy file (positional embeddings, head weights).
     *
     * @param name key in "arrays"
     * @param file .npy file, relative to the bundle directory
     * @param sha256 its SHA-256
     * @param shape declared shape; the file's header must match it
     */
    public record ArrayRef(String name, String file, String sha256, List<Long> shape) {
        /** Copies the shape. */
        public ArrayRef {
            shape = List.copyOf(shape);
        }
    }

    /**
     * A precision variant of a network.
     *
     * @param file ONNX file, relative to the bundle directory
     * @param sha256 its SHA-256, or null when the manifest gives none (then it is not checked)
     * @param data its external data file, or null when {@code file} is self-contained
     */
    public record Variant(String file, String sha256, DataFile data) {
        /** A self-contained variant. */
        public Variant(String file, String sha256) {
            this(file, sha256, null);
        }
    }

    /**
     * The ONNX external data file of a graph past protobuf's 2 GiB limit ({@code "data": {"file": ..., "sha256": ...}}):
     * the weights the graph's tensors name by location, offset and length. One file per graph; it must be where the
     * graph's locations point (they are relative to the graph's directory, as ONNX Runtime and TensorRT resolve them).
     *
     * @param file path relative to the bundle directory
     * @param sha256 its SHA-256
     */
    public record DataFile(String file, String sha256) {
        /** Checks non-null parts. */
        public DataFile {
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(sha256, "sha256");
        }
    }

    /**
     * Image preprocessing, recorded so that inference matches the export.
     *
     * @param sizePolicy "short-side" (scale the short side to {@code size}), "fixed" (size × size), or, for
     *     "sam" bundles only, "long-side" (scale the long side to {@code size}, then pad to size × size)
     * @param size target size in pixels
     * @param mean per-channel mean (RGB, 0–1 scale)
     * @param std per-channel standard deviation
     * @param maxLongSide cap on the long side after rescaling (default 4 × size)
     * @param patchSize encoder stride: ViT patch size, or the ResNet feature stride
     * @param positionGrid side of the ViT positional-embedding grid (0 when there is none)
     * @param width feature width D of the dense features (0 when not given)
     * @param interpolation how images and score maps are resized, e.g. "bilinear, align_corners=false"
     * @param posEmbedInterpolation how positional embeddings are resized, e.g. "bicubic"
     * @param padding how inputs are padded to a multiple of the patch size (informational)
     */
    public record Preprocessing(String sizePolicy, int size, int maxLongSide, List<Double> mean, List<Double> std, int patchSize,
            int positionGrid, int width, String interpolation, String posEmbedInterpolation, String padding) {
        /** Copies the lists. */
        public Preprocessing {
            mean = List.copyOf(mean);
            std = List.copyOf(std);
        }
    }

    /**
     * Text side.
     *
     * @param tokenizer tokenizer name ("clip-bpe")
     * @param contextLength token sequence length (77 for CLIP)
     * @param templates prompt templates with "{}" for the label; empty when a named set is used
     * @param templateSet name of a built-in template set, or null when templates are listed
     */
    public record Text(String tokenizer, int contextLength, List<String> templates, String templateSet) {
        /** Copies the list. */
        public Text {
            templates = List.copyOf(templates);
        }
    }
}

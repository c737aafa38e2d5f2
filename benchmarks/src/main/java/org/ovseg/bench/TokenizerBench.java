package org.ovseg.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import org.ovseg.text.ClipTokenizer;
import org.ovseg.text.TokenBatch;

/**
 * Prompt tokenisation for open-vocabulary segmentation: 80 prompt templates x 1000 class names
 * (80,000 short strings) per operation, on one thread.
 *
 * <ul>
 *   <li>{@code warmCache}: a long-lived tokenizer whose BPE cache already holds the words;</li>
 *   <li>{@code coldCache}: a fresh tokenizer (empty cache) per operation;</li>
 *   <li>{@code batch77}: {@code tokenizeBatch} into the padded [80000, 77] array.</li>
 * </ul>
 * Run: {@code java -jar benchmarks/target/benchmarks.jar TokenizerBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class TokenizerBench {

    /** 80 prompt templates in the style of CLIP's ImageNet prompt ensemble. */
    static final String[] TEMPLATES = {
        "a bad photo of a {}.", "a photo of many {}.", "a sculpture of a {}.", "a photo of the hard to see {}.",
        "a low resolution photo of the {}.", "a rendering of a {}.", "graffiti of a {}.", "a bad photo of the {}.",
        "a cropped photo of the {}.", "a tattoo of a {}.", "the embroidered {}.", "a photo of a hard to see {}.",
        "a bright photo of a {}.", "a photo of a clean {}.", "a photo of a dirty {}.", "a dark photo of the {}.",
        "a drawing of a {}.", "a photo of my {}.", "the plastic {}.", "a photo of the cool {}.",
        "a close-up photo of a {}.", "a black and white photo of the {}.", "a painting of the {}.",
        "a painting of a {}.", "a pixelated photo of the {}.", "a sculpture of the {}.", "a bright photo of the {}.",
        "a cropped photo of a {}.", "a plastic {}.", "a photo of the dirty {}.", "a jpeg corrupted photo of a {}.",
        "a blurry photo of the {}.", "a photo of the {}.", "a good photo of the {}.", "a rendering of the {}.",
        "a {} in a video game.", "a photo of one {}.", "a doodle of a {}.", "a close-up photo of the {}.",
        "a photo of a {}.", "the origami {}.", "the {} in a video game.", "a sketch of a {}.",
        "a doodle of the {}.", "a origami {}.", "a low resolution photo of a {}.", "the toy {}.",
        "a rendition of the {}.", "a photo of the clean {}.", "a photo of a large {}.", "a rendition of a {}.",
        "a photo of a nice {}.", "a photo of a weird {}.", "a blurry photo of a {}.", "a cartoon {}.",
        "art of a {}.", "a sketch of the {}.", "a embroidered {}.", "a pixelated photo of a {}.",
        "itap of the {}.", "a jpeg corrupted photo of the {}.", "a good photo of a {}.", "a plushie {}.",
        "a photo of the nice {}.", "a photo of the small {}.", "a photo of the weird {}.", "the cartoon {}.",
        "art of the {}.", "a drawing of the {}.", "a photo of the large {}.", "a black and white photo of a {}.",
        "the plushie {}.", "a dark photo of a {}.", "itap of a {}.", "graffiti of the {}.", "a toy {}.",
        "itap of my {}.", "a photo of a cool {}.", "a photo of a small {}.", "a tattoo of the {}.",
    };

    private static final String[] WORDS = {
        "cat", "dog", "car", "tree", "road", "sky", "building", "person", "bicycle", "traffic", "light", "fire",
        "hydrant", "stop", "sign", "parking", "meter", "bench", "bird", "horse", "sheep", "cow", "elephant",
        "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis",
        "snowboard", "kite", "baseball", "bat", "glove", "skateboard", "surfboard", "tennis", "racket", "bottle",
        "wine", "glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "broccoli", "carrot", "hot", "pizza", "donut", "cake", "chair", "couch", "potted", "plant", "bed",
        "dining", "table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell", "phone", "microwave",
        "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy", "hair", "drier",
        "toothbrush", "wall", "floor", "ceiling", "window", "door", "grass", "sand", "water", "mountain",
        "river", "bridge", "fence", "rock", "curtain", "pillow", "blanket", "shelf", "cabinet", "mirror",
        "lamp", "rug", "stairs", "railing", "pavement", "sidewalk", "crosswalk", "streetlight", "billboard",
        "tabby", "golden", "retriever", "axolotl", "tarantula", "koala", "jellyfish", "flamingo", "pelican",
        "café", "crème", "brûlée", "smörgåsbord", "jalapeño", "piñata", "x-ray", "t-shirt", "3d", "printer",
    };

    List<String> prompts;
    ClipTokenizer warm;

    /** Deterministic 1000 class names (1 to 3 words) times the 80 templates. */
    static List<String> buildPrompts() {
        Random rnd = new Random(1234);
        List<String> classes = new ArrayList<>(1000);
        for (int i = 0; i < 1000; i++) {
            int words = 1 + rnd.nextInt(3);
            StringBuilder sb = new StringBuilder();
            for (int w = 0; w < words; w++) {
                if (w > 0) {
                    sb.append(rnd.nextInt(5) == 0 ? "-" : " ");
                }
                sb.append(WORDS[rnd.nextInt(WORDS.length)]);
            }
            if (i % 10 == 0) {
                sb.append(' ').append(i); // some digits
            }
            classes.add(i % 7 == 0 ? sb.toString().toUpperCase(Locale.ROOT) : sb.toString());
        }
        List<String> out = new ArrayList<>(TEMPLATES.length * classes.size());
        for (String t : TEMPLATES) {
            for (String c : classes) {
                out.add(t.replace("{}", c));
            }
        }
        return out;
    }

    /** Builds the prompts and warms the long-lived tokenizer's cache. */
    @Setup
    public void setup() {
        prompts = buildPrompts();
        warm = new ClipTokenizer();
        for (String p : prompts) {
            warm.tokenize(p);
        }
    }

    /** Steady state: 80,000 prompts through a warm tokenizer. */
    @Benchmark
    public void warmCache(Blackhole bh) {
        for (String p : prompts) {
            bh.consume(warm.tokenize(p));
        }
    }

    /** 80,000 prompts through a tokenizer with an empty cache (vocabulary already loaded). */
    @Benchmark
    public void coldCache(Blackhole bh) {
        ClipTokenizer fresh = new ClipTokenizer();
        for (String p : prompts) {
            bh.consume(fresh.tokenize(p));
        }
    }

    /** The padded [80000, 77] batch used to feed the text encoder. */
    @Benchmark
    public TokenBatch batch77() {
        return warm.tokenizeBatch(prompts, ClipTokenizer.CONTEXT_LENGTH);
    }
}

package org.ovseg.pipeline.common;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.function.LongSupplier;
import org.ovseg.engine.Backend;
import org.ovseg.engine.Engine;

/**
 * How much memory an image encoder needs at an input size, checked before it runs, so that a
 * size the machine cannot hold is refused with one line saying what fits instead of failing
 * deep inside ONNX Runtime (or swapping).
 *
 * <p>The estimate, for ONNX Runtime's CPU provider on an fp32 graph:
 * <ul>
 *   <li>ViT: attention materialises the scores and their softmax, each [heads, T, T] float32,
 *       for one block at a time (T = patches + 1): 2·heads·T²·4 bytes, plus about 16 rows of
 *       width D per token for the block's other activations and twice the pixel tensor (input
 *       and the patch convolution's unfolded copy). Heads = ⌈D / 64⌉: every OpenAI CLIP ViT up
 *       to L/14 has 64-wide heads; wider heads (H/14, g/14) make this over-count, on the safe
 *       side.
 *   <li>ResNet (stride-32 features of width D): the stride-4 stage holds D/8 channels at a
 *       sixteenth of the pixels, next to the bottleneck's intermediate maps, the residual and
 *       the convolutions' unfolded inputs: D/6 bytes per input pixel, plus the pixel tensor twice.
 * </ul>
 * Checked against the peak resident growth of one whole {@code segment} call (2 labels, Java
 * arrays included), CPU, 2 threads: the built-in demo (ViT, D = 64, one head) at 2048² grew
 * 2.35 GB (estimate 2.31), at 2560² 5.70 GB (estimate 5.50); a random ViT-B/16 export at 1024²
 * grew 1.13 GB (estimate 1.84: its graph keeps fewer T² buffers alive); a random RN50 export
 * grew 0.27, 0.61 and 1.25 GB at 1024², 1536² and 2048² (estimates 0.38, 0.86, 1.53).
 * </ul>
 * The budget is 90% of the machine's available memory ({@code MemAvailable} in /proc/meminfo,
 * capped by the process's cgroup limit), or the system property {@code ovseg.memoryLimit} (bytes, or
 * with a k/m/g suffix) when set. TensorRT engines are not checked: their memory is the GPU's and
 * their attention kernels need not materialise T² scores.
 */
public final class EncoderMemory {
    /** System property that replaces the detected available memory (e.g. "8g"). */
    public static final String LIMIT_PROPERTY = "ovseg.memoryLimit";
    static final int HEAD_WIDTH = 64;
    /** The window suggested when a whole image does not fit (MaskCLIP's sliding-window configs). */
    static final int SUGGESTED_WINDOW = 512;

    private final boolean vit;
    private final int patch;
    private final int width;
    private final int heads;
    private final boolean enabled;
    private final LongSupplier available;

    private EncoderMemory(boolean vit, int patch, int width, boolean enabled, LongSupplier available) {
        if (patch < 1 || width < 1) throw new IllegalArgumentException("patch and width must be positive");
        this.vit = vit;
        this.patch = patch;
        this.width = width;
        this.heads = Math.max(1, (width + HEAD_WIDTH - 1) / HEAD_WIDTH);
        this.enabled = enabled;
        this.available = available;
    }

    /**
     * The check for an image encoder; a no-op unless the engine runs on the CPU.
     *
     * @param vit true for a ViT (attention over patches), false for a ResNet
     * @param patch ViT patch size or ResNet feature stride, in pixels
     * @param width feature width D
     */
    public static EncoderMemory forEngine(Engine image, boolean vit, int patch, int width) {
        return new EncoderMemory(vit, patch, width, image.backend() == Backend.CPU, EncoderMemory::availableBytes);
    }

    /** As {@link #forEngine} on the CPU, with a fixed budget (for tests and what-if questions). */
    static EncoderMemory withBudget(boolean vit, int patch, int width, long budgetBytes) {
        return new EncoderMemory(vit, patch, width, true, () -> budgetBytes);
    }

    /**
     * @param w input width before padding to the patch size
     * @param h input height before padding
     * @return the estimated peak bytes of one encoder run
     */
    public long estimate(int w, int h) {
        long gw = ceilDiv(w, patch), gh = ceilDiv(h, patch);
        long pixels = gw * patch * gh * patch;
        if (!vit) return pixels * width / 6 + 2 * 3 * pixels * 4;
        long t = gw * gh + 1;
        return 2L * heads * t * t * 4 + 16L * t * width * 4 + 2 * 3 * pixels * 4;
    }

    /**
     * Refuses, before any work, a size whose smallest input (a square image, or one window)
     * cannot fit; for a build-time check of the requested size.
     *
     * @throws InsufficientMemoryException naming what fits
     */
    public void checkSmallest(SizePolicy policy, int window) {
        check(policy, window, policy.shortSide(), policy.shortSide());
    }

    /**
     * Refuses an image whose encoder input (rescaled by {@code policy}; one window when
     * {@code window > 0}) would need more memory than is available.
     *
     * @throws InsufficientMemoryException naming the largest size (or window) that fits
     */
    public void check(SizePolicy policy, int window, int imageWidth, int imageHeight) {
        if (!enabled) return;
        int[] in = crop(policy, window, imageWidth, imageHeight);
        long need = estimate(in[0], in[1]);
        // Cheap bound first: no need to read /proc for every small image.
        if (need < (64L << 20)) return;
        long budget = available.getAsLong();
        if (need <= budget) return;
        String asked = window > 0 ? "window " + window + " (short side " + policy.shortSide() + ")" : "short side " + policy.shortSide();
        String what = vit ? "attention over " + String.format(Locale.ROOT, "%,d", tokens(in[0], in[1])) + " tokens at " + padded(in[0]) + "x" + padded(in[1])
                : "convolution activations at " + padded(in[0]) + "x" + padded(in[1]);
        StringBuilder m = new StringBuilder(asked).append(" needs ~").append(gb(need)).append(" for the image encoder (")
                .append(what).append("); about ").append(gb(budget)).append(" of memory ")
                .append(System.getProperty(LIMIT_PROPERTY) != null ? "allowed (-D" + LIMIT_PROPERTY + ")" : "can be used");
        int fits = 0;
        if (window > 0) {
            int w = largest(16, window - 1, s -> estimate(Math.min(s, in[0]), Math.min(s, in[1])) <= budget);
            if (w > 0) m.append(": at most --window ").append(w).append(" fits");
            else m.append(": no window of 16 pixels or more fits");
        } else {
            fits = largest(16, policy.shortSide() - 1, s -> {
                int[] c = crop(scaled(policy, s), 0, imageWidth, imageHeight);
                return estimate(c[0], c[1]) <= budget;
            });
            boolean windowFits = estimate(Math.min(SUGGESTED_WINDOW, in[0]), Math.min(SUGGESTED_WINDOW, in[1])) <= budget;
            if (fits > 0) m.append(": at most short side ").append(fits).append(" fits this image (--size ").append(fits).append(")");
            else m.append(": no short side of 16 or more fits this image");
            if (windowFits) {
                m.append(fits > 0 ? ", or" : ";").append(" use a sliding window (--window ").append(SUGGESTED_WINDOW)
                        .append(" --stride ").append(SUGGESTED_WINDOW / 2).append(")");
            }
        }
        throw new InsufficientMemoryException(m.toString(), need, budget, fits);
    }

    private long tokens(int w, int h) {
        return ceilDiv(w, patch) * ceilDiv(h, patch) + 1;
    }

    private long padded(int side) {
        return ceilDiv(side, patch) * patch;
    }

    /** The encoder's input size before padding: the rescaled image, or one window of it. */
    private static int[] crop(SizePolicy policy, int window, int imageWidth, int imageHeight) {
        int[] size = policy.apply(imageWidth, imageHeight);
        if (window > 0) return new int[] {Math.min(window, size[0]), Math.min(window, size[1])};
        return size;
    }

    /** {@code policy} with short side {@code s} and the long-side cap scaled alike. */
    private static SizePolicy scaled(SizePolicy policy, int s) {
        long cap = (long) policy.longSideMax() * s / policy.shortSide();
        return new SizePolicy(s, (int) Math.max(s, Math.min(Integer.MAX_VALUE, cap)));
    }

    private interface IntTest {
        boolean ok(int v);
    }

    /** @return the largest v in [lo, hi] with ok(v), for ok true below some point; 0 if none */
    private static int largest(int lo, int hi, IntTest ok) {
        if (hi < lo || !ok.ok(lo)) return 0;
        while (lo < hi) {
            int mid = lo + (hi - lo + 1) / 2;
            if (ok.ok(mid)) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    static String gb(long bytes) {
        double g = bytes / 1e9;
        return g >= 100 ? String.format(Locale.ROOT, "%,.0f GB", g) : String.format(Locale.ROOT, "%.1f GB", g);
    }

    /**
     * @return the memory an encoder run may use: {@code -Dovseg.memoryLimit} when set, else 90% of
     *     the smaller of /proc/meminfo's MemAvailable and the cgroup's remaining limit (or of the
     *     JVM's report of free physical memory); {@link Long#MAX_VALUE} when nothing says
     * @throws IllegalArgumentException when the property is not a size
     */
    public static long availableBytes() {
        String limit = System.getProperty(LIMIT_PROPERTY);
        if (limit != null) return parseSize(limit);
        long free = Long.MAX_VALUE;
        OptionalLong meminfo = memAvailable(Path.of("/proc/meminfo"));
        OptionalLong cgroup = cgroupRemaining();
        if (meminfo.isPresent() || cgroup.isPresent()) {
            free = Math.min(meminfo.orElse(Long.MAX_VALUE), cgroup.orElse(Long.MAX_VALUE));
        } else if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            free = os.getFreeMemorySize();
        }
        // A tenth stays for everything else the call allocates (Java arrays, outputs, other threads).
        return free == Long.MAX_VALUE ? free : free / 10 * 9;
    }

    /** @return MemAvailable from a meminfo file, in bytes */
    static OptionalLong memAvailable(Path meminfo) {
        try {
            for (String line : Files.readAllLines(meminfo)) {
                if (line.startsWith("MemAvailable:")) {
                    String[] f = line.substring(13).trim().split("\\s+");
                    return OptionalLong.of(Long.parseLong(f[0]) * (f.length > 1 && f[1].equalsIgnoreCase("kB") ? 1024 : 1));
                }
            }
        } catch (IOException | RuntimeException e) {
            // Not Linux, or a kernel without the field: the caller falls back.
        }
        return OptionalLong.empty();
    }

    /** @return limit − usage of this process's cgroup (v2, then v1), when it has a limit */
    private static OptionalLong cgroupRemaining() {
        List<Path[]> candidates = new java.util.ArrayList<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                if (line.startsWith("0::")) {
                    Path dir = Path.of("/sys/fs/cgroup" + line.substring(3));
                    candidates.add(new Path[] {dir.resolve("memory.max"), dir.resolve("memory.current")});
                }
            }
        } catch (IOException | RuntimeException e) {
            // no cgroup information: try the usual mount points
        }
        candidates.add(new Path[] {Path.of("/sys/fs/cgroup/memory.max"), Path.of("/sys/fs/cgroup/memory.current")});
        candidates.add(new Path[] {Path.of("/sys/fs/cgroup/memory/memory.limit_in_bytes"), Path.of("/sys/fs/cgroup/memory/memory.usage_in_bytes")});
        for (Path[] c : candidates) {
            try {
                String max = Files.readString(c[0]).trim();
                if (max.equals("max")) return OptionalLong.empty();
                long limit = Long.parseLong(max), used = Long.parseLong(Files.readString(c[1]).trim());
                // cgroup v1 writes a huge number (about 2^63) for "no limit".
                if (limit >= (1L << 60)) return OptionalLong.empty();
                return OptionalLong.of(Math.max(0, limit - used));
            } catch (IOException | RuntimeException e) {
                // this layout is not there; try the next
            }
        }
        return OptionalLong.empty();
    }

    /**
     * @param s bytes, optionally with a k, m, g or t suffix (powers of 1024), e.g. "8g"
     * @throws IllegalArgumentException naming the property when {@code s} is not a positive size
     */
    static long parseSize(String s) {
        String v = s.trim().toLowerCase(Locale.ROOT);
        if (v.endsWith("b")) v = v.substring(0, v.length() - 1);
        int shift = 0;
        if (!v.isEmpty()) {
            switch (v.charAt(v.length() - 1)) {
                case 'k': shift = 10; break;
                case 'm': shift = 20; break;
                case 'g': shift = 30; break;
                case 't': shift = 40; break;
                default: break;
            }
        }
        if (shift > 0) v = v.substring(0, v.length() - 1).trim();
        try {
            double n = Double.parseDouble(v);
            if (!(n > 0) || n * Math.pow(2, shift) >= Long.MAX_VALUE) throw new NumberFormatException();
            return (long) (n * Math.pow(2, shift));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + LIMIT_PROPERTY + "=" + s + " is not a memory size (e.g. 8g, 512m, 2000000000)");
        }
    }
}

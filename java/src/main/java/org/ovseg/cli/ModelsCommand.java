package org.ovseg.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import org.ovseg.bundle.BundleLoader;
import org.ovseg.bundle.BundleManifest;
import org.ovseg.bundle.ModelBundle;
import org.ovseg.bundle.builtin.BuiltinBundles;

/** {@code ovseg models [DIR|builtin:NAME ...]}: lists built-in models, or validates and describes bundles. */
final class ModelsCommand implements Main.Command {
    @Override
    public String summary() {
        return "list built-in models, or validate and describe model bundles";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        if (Main.wantsHelp(argv)) {
            out.println("usage: ovseg models [--cache-dir DIR] [BUNDLE_DIR|builtin:NAME ...]");
            return 0;
        }
        Args a = Args.parse(argv, 1, Set.of("cache-dir"), Set.of());
        Path cache = a.get("cache-dir", null) == null ? null : Path.of(a.get("cache-dir", null));
        if (a.positional().isEmpty()) {
            for (String n : new java.util.TreeSet<>(BuiltinBundles.NAMES)) {
                out.println("builtin:" + n + "  (" + BuiltinBundles.description(n) + "; generated on first use)");
            }
            out.println("Real models: export a checkpoint with tools/export/export_clip.py (MaskCLIP), export_car.py (CaR), "
                    + "export_odise.py, export_ovsegmentor.py or export_xdecoder.py and pass its directory.");
            out.println("Pipelines (--pipeline NAME; a bundle names its own):");
            for (String name : org.ovseg.pipeline.PipelineRegistry.names()) {
                var f = org.ovseg.pipeline.PipelineRegistry.get(name);
                java.util.List<String> caps = f.capabilities().stream().map(c -> c.description()).sorted().toList();
                java.util.List<String> opts = f.options().stream().map(Object::toString).sorted().toList();
                out.printf("  %-11s demo %s; can: %s; options: %s%s%n", name, f.demoModel(), caps.isEmpty() ? "semantic only" : String.join(", ", caps),
                        String.join(" ", opts), f.presets().isEmpty() ? "" : "; presets: " + String.join(", ", new java.util.TreeSet<>(f.presets())));
            }
            return 0;
        }
        for (String m : a.positional()) {
            Path dir = m.startsWith("builtin:") ? BuiltinBundles.resolve(m, cache) : Path.of(m);
            ModelBundle b = BundleLoader.load(dir);
            BundleManifest man = b.manifest();
            out.printf("%s: %s bundle, family %s, embed dim %d, bundle sha256 %s%n", m, man.pipeline(), man.family(), man.embedDim(),
                    b.manifestSha256().substring(0, 16));
            for (BundleManifest.Network n : man.networks().values()) {
                // a graph past 2 GiB shows its external data file; the size counts both files
                out.printf("  network %-8s %s%s (%s, %s%s)%n", n.role(), n.file(), n.data() == null ? "" : " + " + n.data().file(),
                        n.precision(), megabytes(b.networkBytes(n.role())),
                        n.variants().isEmpty() ? "" : ", variants " + String.join(", ", n.variants().keySet()));
            }
            for (String arr : b.arrays().keySet()) out.printf("  array   %s %s%n", arr, java.util.Arrays.toString(b.array(arr).shape()));
            long total = 0;
            for (String f : b.files()) total += sizeOf(b.dir().resolve(f));
            out.printf("  files   %d, %s in all%n", b.files().size(), megabytes(total));
            var p = man.preprocessing();
            out.printf("  input: %s %d (long side <= %d), patch %d, mean %s, std %s%n", p.sizePolicy(), p.size(), p.maxLongSide(),
                    p.patchSize(), p.mean(), p.std());
        }
        return 0;
    }

    private static long sizeOf(Path p) {
        try {
            return java.nio.file.Files.size(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String megabytes(long bytes) {
        return String.format(java.util.Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}

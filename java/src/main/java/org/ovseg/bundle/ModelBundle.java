package org.ovseg.bundle;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A bundle that passed every check of {@link BundleLoader#load(Path)}: its manifest, its
 * directory and the hash that identifies it (for caches keyed by bundle).
 *
 * @param dir bundle directory (absolute, normalised)
 * @param manifest the validated manifest
 * @param manifestSha256 SHA-256 of bundle.json; it pins every network hash, so it identifies the bundle
 * @param arrays the manifest's parameter arrays, read and checked against their declared shapes
 */
public record ModelBundle(Path dir, BundleManifest manifest, String manifestSha256, Map<String, Npy.FloatArray> arrays) {

    /** Checks non-null parts. */
    public ModelBundle {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(manifest, "manifest");
        Objects.requireNonNull(manifestSha256, "manifestSha256");
        arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
    }

    /** @return whether the bundle has a parameter array of this name */
    public boolean hasArray(String name) {
        return arrays.containsKey(name);
    }

    /**
     * @return the parameter array of this name
     * @throws BundleException when the bundle has none
     */
    public Npy.FloatArray array(String name) {
        Npy.FloatArray a = arrays.get(name);
        if (a == null) {
            throw new BundleException(dir.resolve(BundleLoader.MANIFEST), "arrays",
                    "no array '" + name + "' (arrays: " + (arrays.isEmpty() ? "none" : String.join(", ", arrays.keySet())) + ")");
        }
        return a;
    }

    /**
     * @return the network of this role
     * @throws BundleException when the bundle has none (naming the roles it has)
     */
    public BundleManifest.Network network(String role) {
        BundleManifest.Network n = manifest.networks().get(role);
        if (n == null) {
            throw new BundleException(dir.resolve(BundleLoader.MANIFEST), "networks",
                    "no network with role '" + role + "' (roles: " + String.join(", ", manifest.networks().keySet()) + ")");
        }
        return n;
    }

    /** @return the main ONNX file of a role */
    public Path networkFile(String role) {
        return dir.resolve(network(role).file());
    }

    /**
     * @return every file of the bundle, relative to {@link #dir()}: bundle.json, each network's ONNX file, its
     *     external data file, each variant's and its data file, each array; what copying or packing a bundle must
     *     take (a graph past 2 GiB is useless without its data file)
     */
    public java.util.List<String> files() {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        out.add(BundleLoader.MANIFEST);
        for (BundleManifest.Network n : manifest.networks().values()) {
            out.add(n.file());
            if (n.data() != null) out.add(n.data().file());
            for (BundleManifest.Variant v : n.variants().values()) {
                out.add(v.file());
                if (v.data() != null) out.add(v.data().file());
            }
        }
        for (BundleManifest.ArrayRef a : manifest.arrays().values()) out.add(a.file());
        return java.util.List.copyOf(out);
    }

    /**
     * @return bytes on disk of a role's main graph: its ONNX file plus its external data file, if any
     * @throws java.io.UncheckedIOException when a file cannot be read
     */
    public long networkBytes(String role) {
        BundleManifest.Network n = network(role);
        try {
            long size = java.nio.file.Files.size(dir.resolve(n.file()));
            if (n.data() != null) size += java.nio.file.Files.size(dir.resolve(n.data().file()));
            return size;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * @return precision label → ONNX file for a role, the main file first; the form
     *     {@code Engines.open(Map, EngineOptions)} takes
     */
    public Map<String, Path> variantFiles(String role) {
        BundleManifest.Network n = network(role);
        Map<String, Path> m = new LinkedHashMap<>();
        m.put(n.precision(), dir.resolve(n.file()));
        for (Map.Entry<String, BundleManifest.Variant> e : n.variants().entrySet()) {
            m.put(e.getKey(), dir.resolve(e.getValue().file()));
        }
        return Collections.unmodifiableMap(m);
    }
}

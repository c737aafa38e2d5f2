package org.ovseg.kernel;

import java.lang.System.Logger.Level;
import java.util.Locale;
import java.util.Optional;

/**
 * Backend choice in one probe: the system property {@value #PROPERTY} first ({@code cpu} hides
 * any GPU, {@code cuda} or {@code auto} probe for one), then a CUDA device with a driver, then the
 * CPU. The probe runs once, never throws, and logs why a backend was rejected. Asking for the GPU
 * on a machine without one is a value ({@link Optional#empty()} plus a reason), not a crash.
 */
public final class Device {
    /** System property forcing the backend: {@code auto} (default), {@code cpu} or {@code cuda}. */
    public static final String PROPERTY = "ovseg.device";

    private static final System.Logger LOG = org.ovseg.Logging.logger(Device.class);

    private Device() {}

    private static final class Holder {
        static final DeviceProbe PROBE = probeNow();
    }

    /** @return the probe result (computed on first use) */
    public static DeviceProbe probe() {
        return Holder.PROBE;
    }

    /** @return the CUDA device ovseg will use, or empty (see {@link #cudaUnavailableReason()}) */
    public static Optional<CudaDevice> cuda() {
        return probe().cuda();
    }

    /** @return one line saying why no CUDA device is used, or "" when one is */
    public static String cudaUnavailableReason() {
        return probe().cudaUnavailableReason();
    }

    /** @return true when the CPU kernel library loaded */
    public static boolean cpuAvailable() {
        return probe().cpuIsa() != null;
    }

    private static DeviceProbe probeNow() {
        String isa = null, cpuReason = "";
        try {
            isa = NativeCpu.ovseg_cpu_isa();
            if (isa == null) {
                cpuReason = NativeCpu.ovseg_cpu_isa_error();
                LOG.log(Level.WARNING, "ovseg CPU kernels unusable: " + cpuReason);
            }
        } catch (LinkageError | RuntimeException e) {
            cpuReason = "CPU kernel library failed to load: " + rootMessage(e);
            LOG.log(Level.WARNING, "ovseg " + cpuReason);
        }
        String forced = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        String reason;
        Optional<CudaDevice> cuda = Optional.empty();
        if (forced.equals("cpu")) {
            reason = "CUDA not probed: -D" + PROPERTY + "=cpu";
        } else if (!forced.equals("auto") && !forced.equals("cuda")) {
            reason = "CUDA not probed: unknown -D" + PROPERTY + "=" + forced + " (expected auto, cpu or cuda)";
        } else {
            String[] why = new String[1];
            cuda = probeCuda(why);
            reason = cuda.isPresent() ? "" : why[0];
        }
        if (cuda.isPresent()) {
            LOG.log(Level.INFO, "ovseg: using CUDA device " + cuda.get().name());
        } else {
            LOG.log(Level.DEBUG, "ovseg: CUDA rejected: " + reason);
        }
        return new DeviceProbe(isa, cuda, reason, cpuReason);
    }

    private static Optional<CudaDevice> probeCuda(String[] why) {
        try {
            if (NativeCuda.ovseg_cuda_compiled() == 0) {
                why[0] = "ovseg was built without CUDA (nvcc not found at build time)";
                return Optional.empty();
            }
            int[] count = new int[1];
            int rc = NativeCuda.ovseg_cuda_device_count(count);
            if (rc != 0 || count[0] <= 0) {
                why[0] = "no usable CUDA device: " + NativeCuda.ovseg_cuda_last_error();
                return Optional.empty();
            }
            byte[] name = new byte[256];
            int[] major = new int[1], minor = new int[1], runtime = new int[1], driver = new int[1];
            long[] memory = new long[1];
            rc = NativeCuda.ovseg_cuda_device_info(0, name, name.length, major, minor, memory);
            if (rc != 0) {
                why[0] = "CUDA device 0 could not be queried: " + NativeCuda.ovseg_cuda_last_error();
                return Optional.empty();
            }
            NativeCuda.ovseg_cuda_runtime_version(runtime);
            NativeCuda.ovseg_cuda_driver_version(driver);
            int len = 0;
            while (len < name.length && name[len] != 0) len++;
            return Optional.of(new CudaDevice(0, new String(name, 0, len, java.nio.charset.StandardCharsets.UTF_8),
                    major[0], minor[0], memory[0], runtime[0], driver[0]));
        } catch (LinkageError | RuntimeException e) {
            why[0] = "ovseg CUDA library failed to load: " + rootMessage(e);
            return Optional.empty();
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) t = t.getCause();
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }
}

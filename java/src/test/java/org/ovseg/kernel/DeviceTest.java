package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class DeviceTest {
    @Test
    void probeNeverThrowsAndExplainsAMissingGpu() {
        DeviceProbe probe = assertDoesNotThrow(Device::probe);
        assertTrue(Device.cpuAvailable(), "CPU kernels must load everywhere");
        if (probe.cuda().isEmpty()) {
            assertFalse(probe.cudaUnavailableReason().isBlank(), "a missing GPU needs a reason");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> DeviceBuffer.allocate(16));
            assertTrue(e.getMessage().startsWith("CUDA is not available: "), e.getMessage());
            // the CaR kernels refuse before touching any buffer
            assertThrows(IllegalStateException.class,
                    () -> CudaKernels.denseCrf(null, null, 1, 1, 1, DenseCrf.Params.CAR, null, null));
            assertThrows(IllegalStateException.class,
                    () -> CudaKernels.visualPrompt(null, null, 1, 1, 0.5f, java.util.Set.of(), null, null));
        } else {
            assertEquals("", probe.cudaUnavailableReason());
        }
    }

    /**
     * The CPU path must load on a machine with no CUDA toolkit or driver: run a child JVM with
     * every CUDA path scrubbed from its environment and check the packaged libraries declare no
     * CUDA dependency at all.
     */
    @Test
    void cpuPathLoadsWithCudaHiddenFromTheLoader() throws Exception {
        String javaBin = Paths.get(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(javaBin, "-cp", System.getProperty("java.class.path"),
                "-Dovseg.device=auto", CpuOnlyMain.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("CUDA_HOME");
        pb.environment().remove("CUDA_PATH");
        pb.environment().put("LD_LIBRARY_PATH", "");
        pb.environment().put("PATH", "/usr/bin:/bin");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM timed out");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("cpu ok"), out);

        Path libs = Paths.get("target", "classes", "org", "ovseg", "kernel", "linux-x86_64");
        for (String lib : List.of("libovseg_cpu.so", "libjniNativeCpu.so", "libovseg_cuda.so", "libjniNativeCuda.so")) {
            Path f = libs.resolve(lib);
            assertTrue(Files.exists(f), f + " missing");
            String needed = ElfNeeded.read(f).toString();
            assertFalse(needed.contains("libcuda") || needed.contains("libcudart") || needed.contains("cublas")
                    || needed.contains("nvinfer") || needed.contains("libgomp"),
                    lib + " depends on " + needed);
        }
    }

    /** Child-process entry point for the test above. */
    public static final class CpuOnlyMain {
        public static void main(String[] args) throws IOException {
            java.nio.FloatBuffer out = Bufs.floats(1);
            CpuKernels.maskPool(Bufs.direct(new float[] {2, 4}), Bufs.direct(new float[] {1, 1}), 1, 1, 1, 2,
                    MaskMode.HARD, false, out);
            System.out.println("isa=" + CpuKernels.isa() + " cuda=" + Device.cuda().isPresent() + " reason=" + Device.cudaUnavailableReason());
            System.out.println(out.get(0) == 3f ? "cpu ok" : "cpu wrong " + out.get(0));
        }
    }
}

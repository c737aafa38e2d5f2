package org.ovseg.cli;

import java.io.PrintStream;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.kernel.Device;
import org.ovseg.kernel.DeviceProbe;

/** {@code ovseg info}: what the backend probe found, and why a GPU was or was not taken. */
final class InfoCommand implements Main.Command {
    @Override
    public String summary() {
        return "show the backend probe: CPU kernel ISA, threads, CUDA device or why none";
    }

    @Override
    public int run(String[] argv, PrintStream out, PrintStream err) {
        if (Main.wantsHelp(argv)) {
            out.println("usage: ovseg info   (-Dovseg.device=cpu|cuda|auto via OVSEG_JAVA_OPTS forces the probe)");
            return 0;
        }
        Args.parse(argv, 1, java.util.Set.of(), java.util.Set.of());
        DeviceProbe p = Device.probe();
        out.println("ovseg " + Version.get());
        out.println("cpu kernels: " + (p.cpuIsa() == null ? "unusable: " + p.cpuUnavailableReason()
                : p.cpuIsa() + ", " + CpuKernels.threads() + " threads"));
        if (p.cuda().isPresent()) {
            var d = p.cuda().get();
            out.printf("cuda: %s (sm_%d%d, %.1f GiB), runtime %d, driver %d%n", d.name(), d.smMajor(), d.smMinor(),
                    d.totalMemoryBytes() / (1024.0 * 1024 * 1024), d.runtimeVersion(), d.driverVersion());
        } else {
            out.println("cuda: not used: " + p.cudaUnavailableReason());
        }
        return 0;
    }
}

package org.ovseg.kernel;

import java.util.Optional;

/**
 * What the one-time backend probe found.
 *
 * @param cpuIsa vector ISA of the CPU kernels ("avx512", "avx2", "generic"), or null when the
 *     CPU library could not load or OVSEG_CPU_ISA forces a table this CPU lacks
 * @param cuda the first usable CUDA device, if any
 * @param cudaUnavailableReason why there is none (empty when there is one)
 * @param cpuUnavailableReason why cpuIsa is null (empty when it is not)
 */
public record DeviceProbe(String cpuIsa, Optional<CudaDevice> cuda, String cudaUnavailableReason,
        String cpuUnavailableReason) {}

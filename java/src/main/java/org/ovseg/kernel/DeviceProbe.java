package org.ovseg.kernel;

import java.util.Optional;

/**
 * What the one-time backend probe found.
 *
 * @param cpuIsa vector ISA of the CPU kernels ("avx512", "avx2", "generic"), or null when the
 *     CPU library itself could not load
 * @param cuda the first usable CUDA device, if any
 * @param cudaUnavailableReason why there is none (empty when there is one)
 */
public record DeviceProbe(String cpuIsa, Optional<CudaDevice> cuda, String cudaUnavailableReason) {}

package org.ovseg.kernel;

/**
 * A usable CUDA device as the probe found it.
 *
 * @param index CUDA ordinal
 * @param name marketing name, e.g. "NVIDIA H100 80GB HBM3"
 * @param smMajor compute capability, major
 * @param smMinor compute capability, minor
 * @param totalMemoryBytes device memory
 * @param runtimeVersion cudart version ovseg was built with (e.g. 13000)
 * @param driverVersion CUDA version of the installed driver
 */
public record CudaDevice(int index, String name, int smMajor, int smMinor, long totalMemoryBytes,
        int runtimeVersion, int driverVersion) {}

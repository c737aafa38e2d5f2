package org.ovseg.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * With OVSEG_CPU_ISA naming a table the CPU cannot run, the kernels refuse with the reason
 * rather than fall back to another table. Runs in the Surefire execution {@code isa-refused}
 * (java/pom.xml), which sets a name no CPU has, so it is exercised on every machine.
 */
class CpuIsaRefusalTest {
    @Test
    void kernelsRefuseWithTheReason() {
        String forced = System.getenv("OVSEG_CPU_ISA");
        Assumptions.assumeTrue(forced != null && CpuKernels.isaUnavailableReason().isPresent(),
                "runs only where OVSEG_CPU_ISA cannot be honoured (Surefire execution isa-refused)");
        String reason = CpuKernels.isaUnavailableReason().get();
        assertTrue(reason.contains("OVSEG_CPU_ISA"), reason);
        IllegalStateException e = assertThrows(IllegalStateException.class, CpuKernels::isa);
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        KernelException k = assertThrows(KernelException.class, () -> CpuKernels.maskPool(Bufs.floats(4), Bufs.floats(2), 1, 2, 1, 2,
                MaskMode.SOFT, false, Bufs.floats(2)));
        assertEquals(Checks.ERR_ISA, k.status());
        assertTrue(k.getMessage().contains(reason), k.getMessage());
        k = assertThrows(KernelException.class, () -> CpuKernels.matmul(Bufs.floats(4), Bufs.floats(4), 2, 2, 2, false, Bufs.floats(4)));
        assertEquals(Checks.ERR_ISA, k.status());
        assertEquals(reason, Device.probe().cpuUnavailableReason());
        assertEquals(null, Device.probe().cpuIsa());
    }
}

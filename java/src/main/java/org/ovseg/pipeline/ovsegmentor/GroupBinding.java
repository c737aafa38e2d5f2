package org.ovseg.pipeline.ovsegmentor;

import java.nio.FloatBuffer;
import org.ovseg.kernel.CpuKernels;
import org.ovseg.tensor.ElementType;
import org.ovseg.tensor.HostTensor;

/**
 * The grouping block's assignment, between the two image graphs, on the slot attention kernel:
 * logits = q·k / √C over the G groups (queries) and P patches (keys). The binding uses the hard
 * assignment (one-hot argmax over groups, GroupViT's inference mode): bound[g] = Σ a·v / (Σ a + 1)
 * — GroupViT's assign_eps = 1, the kernel's eps. The pixel→group map uses the soft assignment
 * (softmax over groups), as the official seg wrapper reads attn_dict['soft'].
 *
 * <p>The CPU twin runs it on every backend: the graphs' outputs come back to host memory anyway
 * (ONNX Runtime's Java API has no device binding), and the step is ~G·P·C multiply-adds.
 */
final class GroupBinding {
    /** GroupViT's AssignAttention default, assign_eps = 1. */
    static final float ASSIGN_EPS = 1f;

    private GroupBinding() {}

    /**
     * One crop's binding.
     *
     * @param bound [1, G, C] input of stage 2 (the caller closes it)
     * @param hard per patch, the group it is bound to
     * @param soft [G, P]: per group, its softmax weight at every patch (planes for resizing)
     */
    record Result(HostTensor bound, int[] hard, float[] soft) {}

    static Result bind(HostTensor q, HostTensor k, HostTensor v, int G, int P, int C) {
        HostTensor bound = HostTensor.zeros(ElementType.FLOAT32, 1, G, C);
        try (HostTensor assign = HostTensor.zeros(ElementType.FLOAT32, 1, P, G);
                HostTensor scratch = HostTensor.zeros(ElementType.FLOAT32, 1, G, C)) {
            FloatBuffer a = assign.floatBuffer();
            CpuKernels.slotAttention(q.floatBuffer(), k.floatBuffer(), v.floatBuffer(), 1, G, P, C, C, 0f, ASSIGN_EPS, true,
                    bound.floatBuffer(), a);
            int[] hard = new int[P];
            for (int p = 0; p < P; p++) {
                for (int g = 0; g < G; g++) if (a.get(p * G + g) > 0.5f) hard[p] = g;
            }
            CpuKernels.slotAttention(q.floatBuffer(), k.floatBuffer(), v.floatBuffer(), 1, G, P, C, C, 0f, ASSIGN_EPS, false,
                    scratch.floatBuffer(), a);
            float[] soft = new float[G * P];
            for (int p = 0; p < P; p++) for (int g = 0; g < G; g++) soft[g * P + p] = a.get(p * G + g);
            return new Result(bound, hard, soft);
        } catch (RuntimeException e) {
            bound.close();
            throw e;
        }
    }
}

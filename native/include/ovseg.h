/*
 * ovseg native interface: a flat C API over the CPU twins (libovseg_cpu) and the CUDA kernels
 * (libovseg_cuda). Every function returns an ovseg_status code; nothing throws across this
 * boundary. Exceptions live on the Java side only.
 *
 * Conventions shared by every kernel
 *   - Row-major, contiguous, batch outermost. Shapes are given in the comment of each function.
 *   - fp32 on the CPU. The CUDA entry points take a dtype for the activation tensors named in
 *     their comment (fp32, fp16 or bf16, accumulated in fp32); parameters and outputs are fp32.
 *   - Sizes are int64_t; a size of 0 is legal wherever the result is well defined (an empty
 *     output), negative sizes are OVSEG_ERR_INVALID_ARGUMENT.
 *   - Outputs never alias inputs.
 *   - L2 normalisation is x / max(||x||, 1e-12), as torch.nn.functional.normalize does.
 */
#ifndef OVSEG_H
#define OVSEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ovseg_status {
    OVSEG_OK = 0,
    OVSEG_ERR_INVALID_ARGUMENT = 1, /* null pointer, negative size, unknown mode or dtype */
    OVSEG_ERR_OUT_OF_MEMORY = 2,    /* host or device allocation failed */
    OVSEG_ERR_NO_CUDA_BUILD = 3,    /* libovseg_cuda was built without nvcc */
    OVSEG_ERR_NO_DEVICE = 4,        /* no usable GPU or driver; ovseg_cuda_last_error says why */
    OVSEG_ERR_CUDA = 5,             /* a CUDA call failed; ovseg_cuda_last_error says which */
    OVSEG_ERR_UNSUPPORTED = 6,      /* valid request this build cannot serve (e.g. S > 64 on GPU) */
    OVSEG_ERR_ISA = 7               /* OVSEG_CPU_ISA forces a kernel table this CPU cannot run;
                                       ovseg_cpu_isa_error says why */
} ovseg_status;

typedef enum ovseg_dtype {
    OVSEG_F32 = 0,
    OVSEG_F16 = 1,
    OVSEG_BF16 = 2
} ovseg_dtype;

typedef enum ovseg_mask_mode {
    OVSEG_MASK_HARD = 0, /* m = (M > 0), i.e. sigmoid(M) > 0.5; M == 0 counts as outside */
    OVSEG_MASK_SOFT = 1  /* m = sigmoid(M) */
} ovseg_mask_mode;

/* A static, human-readable name for a status code. Never NULL. */
const char *ovseg_status_string(int status);

/* ------------------------------------------------------------------------------------------ */
/* CPU library (libovseg_cpu)                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* The kernel table the CPU kernels use: "avx512", "avx2" or "generic" — the widest the running
 * CPU supports, chosen at load time from cpuid (the library itself is built for baseline
 * x86-64), or the one the environment variable OVSEG_CPU_ISA=generic|avx2|avx512 names. NULL when
 * OVSEG_CPU_ISA names a table this CPU lacks (or an unknown one): there is no silent fallback;
 * every kernel that uses the tables then returns OVSEG_ERR_ISA, and ovseg_cpu_isa_error says why. */
const char *ovseg_cpu_isa(void);

/* One line saying why OVSEG_CPU_ISA cannot be honoured, or NULL when ovseg_cpu_isa is not NULL. */
const char *ovseg_cpu_isa_error(void);

/* Worker threads used by the CPU kernels (default: hardware concurrency). n <= 0 restores the
 * default. The pool is owned by the library and shared by callers; kernels may be called from
 * several threads at once and run concurrently: each call computes on its calling thread and
 * borrows the pool workers idle at that moment (results do not depend on how many it gets).
 * OVSEG_CPU_POOL=serial (read at load) runs one call at a time instead, for comparisons. */
int ovseg_cpu_set_threads(int n);
int ovseg_cpu_get_threads(void);

/* Fold CLIP's attention-pool value and output projections into one affine map.
 *   V[Dv,D], bv[Dv] (value projection), C[E,Dv], bc[E] (output projection):
 *   W[E,D] = C . V,   b[E] = C . bv + bc.   bv and bc may be NULL (treated as zero).
 * Done once at load time; the result feeds ovseg_*_dense_projection. */
int ovseg_fold_projection(const float *C, const float *bc, const float *V, const float *bv,
                          int64_t E, int64_t Dv, int64_t D, float *W, float *b);

/* Dense projection (MaskCLIP).
 *   F[B,P,D] features, W[E,D], bias[E] (may be NULL), T[K,E] text embeddings (L2-normalised by
 *   the caller), tau the logit scale.
 *   z_p = W f_p + bias;  zhat_p = normalize(z_p);  logit[b,k,p] = tau * <T_k, zhat_p>.
 * Outputs (each may be NULL, not all three):
 *   logits[B,K,P]            full logits, class-major so each class map is contiguous;
 *   labels[B,P] (int32)      argmax_k logit (first maximum on ties), -1 when K == 0;
 *   scores[B,P]              max_k logit (-inf when K == 0).
 * With logits == NULL the [K,P] tensor is never materialised. */
int ovseg_cpu_dense_projection(const float *F, int64_t B, int64_t P, int64_t D,
                               const float *W, const float *bias, int64_t E,
                               const float *T, int64_t K, float tau,
                               float *logits, int32_t *labels, float *scores);

/* A dense head prepared once per model: W[E,D] packed for the CPU's kernels and bias[E] (may be
 * NULL) copied, so ovseg_cpu_dense_head_project packs only T per call. Same semantics and
 * outputs as ovseg_cpu_dense_projection with that W and bias; D must equal the head's. The head
 * is immutable: several threads may project with it at once. Free it with
 * ovseg_cpu_dense_head_free (NULL is a no-op). On failure *out is NULL. */
typedef struct ovseg_dense_head ovseg_dense_head;
int ovseg_cpu_dense_head_create(const float *W, const float *bias, int64_t E, int64_t D,
                                ovseg_dense_head **out);
int ovseg_cpu_dense_head_project(const ovseg_dense_head *head, const float *F, int64_t B,
                                 int64_t P, int64_t D, const float *T, int64_t K, float tau,
                                 float *logits, int32_t *labels, float *scores);
void ovseg_cpu_dense_head_free(ovseg_dense_head *head);

/* Mask pooling (ODISE, X-Decoder).
 *   F[B,C,HW] features, M[B,Q,HW] mask logits at the same resolution.
 *   hard: m = (M > 0);  soft: m = sigmoid(M).
 *   out[b,q,c] = sum_p m[q,p] F[c,p] / (sum_p m[q,p] + 1e-8), then, if normalize != 0,
 *   out[b,q,:] = normalize(out[b,q,:]).   out is [B,Q,C].
 * The hard mode costs in proportion to the pixels inside the masks, not to Q*HW*C. */
int ovseg_cpu_mask_pool(const float *F, const float *M, int64_t B, int64_t C, int64_t Q,
                        int64_t HW, int mode, int normalize, float *out);

/* Slot attention, one binding step (OVSegmentor's grouping block).
 *   q[B,S,d] slot queries, k[B,N,d] token keys, v[B,N,dv] token values.
 *   l[n,s] = scale * <q_s, k_n>       (scale <= 0 means 1/sqrt(d))
 *   a[n,:] = softmax_s(l[n,:])         (across slots, not tokens)
 *   hard != 0: a[n,:] = onehot(argmax_s l[n,s]) (first maximum on ties)
 *   w[n,s] = a[n,s] / (sum_n a[n,s] + eps)   (w = 0 for a slot whose sum_n a + eps is 0)
 *   updates[b,s,:] = sum_n w[n,s] v_n          -> updates[B,S,dv]
 *   assign[b,n,s] = a[n,s]                     -> assign[B,N,S] (may be NULL)
 * Iterations are the caller's loop. */
int ovseg_cpu_slot_attention(const float *q, const float *k, const float *v,
                             int64_t B, int64_t S, int64_t N, int64_t d, int64_t dv,
                             float scale, float eps, int hard,
                             float *updates, float *assign);

/* Fully connected CRF, mean-field inference (CLIP-as-RNN's post-processing; the semantics of
 * pydensecrf's DenseCRF2D with addPairwiseGaussian, addPairwiseBilateral and inference).
 *   unary[L,H,W] energies (-log prob, finite), rgb[H,W,3] uint8 interleaved (channel order as
 *   given), q_out[L,H,W] the marginals. Pixel p = (x = column, y = row); features
 *   Gaussian   f = (x, y) / gauss_sxy                                        weight gauss_compat
 *   bilateral  f = (x/bilat_sxy, y/bilat_sxy, r/bilat_srgb, g/bilat_srgb, b/bilat_srgb)  bilat_compat
 *   kernel K(i,j) ~ exp(-|f_i - f_j|^2 / 2), self term included, applied approximately with a
 *   permutohedral lattice; normalised symmetrically: Kn = D^-1/2 K D^-1/2, D = diag(K 1).
 *   Q = softmax_l(-unary); `iterations` times:
 *     Q = softmax_l(-unary + gauss_compat * Kn_g Q + bilat_compat * Kn_b Q)   (Potts).
 * iterations == 0 (or both compats 0) gives softmax(-unary) exactly. A kernel whose compat is 0
 * is skipped and its std devs are not checked; otherwise they must be positive and finite.
 * All pointers may be NULL only when L*H*W == 0. */
int ovseg_cpu_dense_crf(const float *unary, const uint8_t *rgb, int64_t L, int64_t H, int64_t W,
                        float gauss_sxy, float gauss_compat, float bilat_sxy, float bilat_srgb,
                        float bilat_compat, int iterations, float *q_out);

/* CLIP-as-RNN visual prompts (clip_as_rnn utils.apply_visual_prompts), 8-bit RGB.
 *   rgb[H,W,3], cam[H,W]; out[H,W,3] (out == rgb is allowed). flags: OVSEG_VP_* bits, applied
 *   in the fixed order blur, gray, black, circle, rectangle, contour.
 *   sum(cam) <= 1: out = rgb (no prompt). Otherwise mask = cam > mask_threshold, and
 *   blur:  cv2.GaussianBlur 15x15, sigma 2.6, BORDER_REFLECT_101, OpenCV's 8-bit fixed-point
 *          rounding; taken outside the mask only.
 *   gray:  outside, R=G=B=(R*3735 + G*19235 + B*9798 + 16384) >> 15 (BGR2GRAY on RGB, QUIRK).
 *   black: outside set to 0.
 *   circle/rectangle: red (255,0,0), 1 px, centred on int(mean row/col) of the mask with
 *          half-extents (bw/2, bh/2) of its bounding box; contour: red boundary of the
 *          hole-filled mask. An empty mask makes every pixel "outside" and draws no shape.
 * Unknown flag bits are OVSEG_ERR_INVALID_ARGUMENT. Details in src/visual_prompt.cpp. */
enum {
    OVSEG_VP_BLUR = 1,
    OVSEG_VP_GRAY = 2,
    OVSEG_VP_BLACK = 4,
    OVSEG_VP_CIRCLE = 8,
    OVSEG_VP_RECTANGLE = 16,
    OVSEG_VP_CONTOUR = 32
};
int ovseg_cpu_visual_prompt(const uint8_t *rgb, const float *cam, int64_t H, int64_t W,
                            float mask_threshold, int flags, uint8_t *out);

/* Deletes a TensorRT interface object (IRuntime, ICudaEngine, IExecutionContext, IBuilder,
 * IBuilderConfig, INetworkDefinition, IHostMemory, ITimingCache: every class derived from
 * nvinfer1::INoCopy) exactly as `delete obj;` in C++ would: through its virtual deleting
 * destructor, so TensorRT's own operator delete frees it. The JavaCPP preset has no working
 * delete for these objects and TensorRT 10+ dropped destroy(). NULL is a no-op. Not for
 * nvonnxparser::IParser, whose destructor is not its first virtual function. */
void ovseg_trt_delete(void *obj);

/* Pixel-adaptive mask refinement (PAMR, as NACLIP and SCLIP use it), in place on mask[K,H,W]
 * guided by image[C,H,W]: for each dilation d the 8 neighbours at offsets d*(dy,dx) (replicate
 * border); affinity a_j = mean_c(-|x_c(p) - x_c(n_j)| / (1e-8 + 0.1 std_c(p))), std_c the
 * unbiased std over the 9 * n_dil neighbourhood values; w = softmax_j(a); then `iterations`
 * times m_k(p) = sum_j w_j(p) m_k(n_j(p)). Details in src/pamr.cpp. */
int ovseg_cpu_pamr(const float *image, int64_t C, int64_t H, int64_t W, float *mask, int64_t K,
                   const int32_t *dilations, int64_t n_dil, int iterations);

/* ------------------------------------------------------------------------------------------ */
/* CUDA library (libovseg_cuda). Built as an error-returning stub when nvcc was not found.     */
/* Device pointers are plain void*; streams are cudaStream_t passed as void* (NULL = legacy    */
/* default stream). Kernels are asynchronous on the given stream.                             */
/* ------------------------------------------------------------------------------------------ */

/* 1 when this library was compiled with nvcc, 0 for the stub. */
int ovseg_cuda_compiled(void);

/* The message of the last failed call on this thread ("" when none). Never NULL. */
const char *ovseg_cuda_last_error(void);

/* cudart version this library was built against, e.g. 13000. */
int ovseg_cuda_runtime_version(int *version);
/* Installed driver's CUDA version, 0 when no driver is present. */
int ovseg_cuda_driver_version(int *version);
/* Number of usable devices; OVSEG_ERR_NO_DEVICE with a reason when there are none. */
int ovseg_cuda_device_count(int *count);
/* Name (NUL-terminated, truncated to len) and compute capability of a device. */
int ovseg_cuda_device_info(int device, char *name, int len, int *sm_major, int *sm_minor,
                           int64_t *total_memory);
int ovseg_cuda_set_device(int device);

int ovseg_cuda_malloc(void **ptr, size_t bytes);
int ovseg_cuda_free(void *ptr);
int ovseg_cuda_memcpy_h2d(void *dst, const void *src, size_t bytes, void *stream);
int ovseg_cuda_memcpy_d2h(void *dst, const void *src, size_t bytes, void *stream);
int ovseg_cuda_memset(void *ptr, int value, size_t bytes, void *stream);
int ovseg_cuda_stream_create(void **stream);
int ovseg_cuda_stream_destroy(void *stream);
int ovseg_cuda_stream_synchronize(void *stream);

/* Same semantics as the CPU twins. dtype applies to F (dense projection), F and M (mask
 * pooling), q, k and v (slot attention); everything else is fp32. */
int ovseg_cuda_dense_projection(int dtype, const void *F, int64_t B, int64_t P, int64_t D,
                                const float *W, const float *bias, int64_t E,
                                const float *T, int64_t K, float tau,
                                float *logits, int32_t *labels, float *scores, void *stream);
int ovseg_cuda_mask_pool(int dtype, const void *F, const void *M, int64_t B, int64_t C,
                         int64_t Q, int64_t HW, int mode, int normalize, float *out,
                         void *stream);
/* S <= 64 (one pass over the tokens, slots held on chip); larger S is OVSEG_ERR_UNSUPPORTED. */
int ovseg_cuda_slot_attention(int dtype, const void *q, const void *k, const void *v,
                              int64_t B, int64_t S, int64_t N, int64_t d, int64_t dv,
                              float scale, float eps, int hard,
                              float *updates, float *assign, void *stream);
/* Dense CRF; unary[L,H,W] fp32, rgb[H,W,3] uint8 and q_out[L,H,W] in device memory; same
 * arguments and checks as ovseg_cpu_dense_crf. The permutohedral lattice is built on the host
 * with the CPU twin's code: with the bilateral term on, rgb is copied back and the stream
 * synchronised once before the mean-field iterations are queued. Same lattice and summation
 * order as the CPU twin, so the marginals differ only by expf rounding (bound checked: 1e-4).
 * More than (2^31 - 2) / 6 pixels (/ 3 without the bilateral term) is OVSEG_ERR_UNSUPPORTED. */
int ovseg_cuda_dense_crf(const float *unary, const uint8_t *rgb, int64_t L, int64_t H, int64_t W,
                         float gauss_sxy, float gauss_compat, float bilat_sxy, float bilat_srgb,
                         float bilat_compat, int iterations, float *q_out, void *stream);
/* Visual prompts; rgb[H,W,3], cam[H,W] and out[H,W,3] (out == rgb allowed) in device memory;
 * bit-identical to ovseg_cpu_visual_prompt. cam is copied back and the stream synchronised once
 * (the sum(cam) <= 1 test and the shapes are computed on the host; blur, gray and black run on
 * the device, the shapes' pixels are painted there). */
int ovseg_cuda_visual_prompt(const uint8_t *rgb, const float *cam, int64_t H, int64_t W,
                             float mask_threshold, int flags, uint8_t *out, void *stream);
/* PAMR; image[C,H,W] and mask[K,H,W] in device memory, dilations[n_dil] on the HOST (at most 8,
 * else OVSEG_ERR_UNSUPPORTED); same arguments and checks as ovseg_cpu_pamr, statistics in double
 * as there, so the twins differ by float rounding only. Scratch: (8 n_dil + K) H W floats. */
int ovseg_cuda_pamr(const float *image, int64_t C, int64_t H, int64_t W, float *mask, int64_t K,
                    const int32_t *dilations, int64_t n_dil, int iterations, void *stream);

/* PIL's bicubic resize, bit-identical to Pillow's Image.resize((outW, outH), Image.BICUBIC)
 * (libImaging/Resample.c) on an 8-bit image: Keys cubic a = -0.5, the kernel stretched by the
 * scale when shrinking (antialiasing), weights normalised per output sample in double and
 * rounded to 22-bit fixed point; a horizontal then a vertical pass, each rounded to 8 bits
 * ((2^21 + sum) >> 22, saturated); a pass whose axis keeps its size is skipped. This is how
 * CLIP's own preprocessing (torchvision Resize on a PIL image) resizes, so CaR's classifier
 * input matches the official code byte for byte.
 * src[H,W,C] and dst[outH,outW,C] interleaved, C in 1..4 (channels independent). A zero output
 * size writes nothing (OVSEG_OK); a zero input size with a non-zero output is
 * OVSEG_ERR_INVALID_ARGUMENT; a side above 2^30 is OVSEG_ERR_UNSUPPORTED. */
int ovseg_cpu_pil_bicubic(const uint8_t *src, int64_t H, int64_t W, int64_t C, int64_t outH,
                          int64_t outW, uint8_t *dst);
/* The same in device memory (src, dst), bit-identical to ovseg_cpu_pil_bicubic: the
 * coefficients are computed on the host with the CPU twin's code and uploaded, the passes run on
 * the device in integers. Scratch: outW * rows * C bytes + the taps. */
int ovseg_cuda_pil_bicubic(const uint8_t *src, int64_t H, int64_t W, int64_t C, int64_t outH,
                           int64_t outW, uint8_t *dst, void *stream);

/* Plain matrix product (ODISE's semantic sum; any caller that needs A . B without a head).
 *   b_transposed == 0: A[M,K], B[K,N], C[M,N] = A . B
 *   b_transposed == 1: A[M,K], B[N,K], C[M,N] = A . B^T
 * C is overwritten (K == 0 writes zeros). Runs on the pool, same packed kernels as the dense
 * projection; B is packed once per call. b_transposed other than 0 or 1, or an element count
 * M*K, K*N or M*N past INT64_MAX, is OVSEG_ERR_INVALID_ARGUMENT. */
int ovseg_cpu_matmul(const float *A, const float *B, int64_t M, int64_t N, int64_t K,
                     int b_transposed, float *C);

#ifdef __cplusplus
}
#endif

#endif /* OVSEG_H */

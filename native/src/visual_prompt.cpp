// CLIP-as-RNN's visual prompts (google-research clip_as_rnn, utils.apply_visual_prompts), CPU.
//
// Effects run in the fixed order blur -> gray -> black -> circle -> rectangle -> contour, each on
// the result of the previous one. No prompt (a plain copy) when sum(cam) <= 1; mask = cam > thr.
//
// blur  cv2.GaussianBlur(img, (15, 15), 0) composited outside the mask. Reproduces OpenCV's
//       8-bit fixed-point path (GaussianBlurFixedPoint, the default for uint8 non-submatrix
//       input): the 1-D kernel (sigma = 0.3*((15-1)/2 - 1) + 0.8 = 2.6) is normalised to sum 1
//       in double and quantised to Q8 (ufixedpoint16) with OpenCV's error diffusion
//       (getGaussianKernelFixedPoint_ED: taps sum to exactly 256); the row pass is exact (u8 * Q8 summed in Q8), the
//       column pass sums Q8 * Q8 in Q16 and rounds once: (acc + 2^15) >> 16, saturated to 255.
//       Border BORDER_REFLECT_101 (OpenCV's borderInterpolate, repeated for tiny images). The
//       whole image is blurred (inside pixels feed their outside neighbours), then only the
//       outside pixels take the blurred value, as np.where(mask, img, blurred) does.
// gray  cv2.cvtColor(img, COLOR_BGR2GRAY) on RGB data (QUIRK: swapped luma weights):
//       Y = (R*3735 + G*19235 + B*9798 + 16384) >> 15, written to all three channels outside.
//       These are the 15-bit constants of current OpenCV (RGB2Gray<uchar>), checked equal to
//       cv2 4.14.0 and 5.0.0 on all 2^24 colours; the older 14-bit form
//       (R*1868 + G*9617 + B*4899 + 8192) >> 14 differs by 1 on 43864 of them.
// black zero outside the mask.
// circle    red (255,0,0) ellipse outline, thickness 1, centred on (int(mean col), int(mean row))
//           of the mask pixels with semi-axes (bw/2, bh/2), bw/bh = bbox extents (max-min+1),
//           integer-halved. Rasterised by sampling the parametric curve at a step below one
//           pixel and rounding each sample to the nearest pixel (8-connected, every pixel within
//           0.5 px of the analytic curve). cv2.ellipse instead draws a polygon through
//           ellipse2Poly vertices (every 5..90 degrees) with Bresenham lines, so its pixels can
//           sit up to ~1 px inside the curve on large ellipses; the two differ by a few pixels.
//           Zero axes degenerate to a line segment (or a single pixel), as in OpenCV.
// rectangle red outline of [cx - bw/2, cx + bw/2] x [cy - bh/2, cy + bh/2], clipped to the image.
// contour   red 1-px boundary of the hole-filled mask (scipy binary_fill_holes, 4-connected
//           background): a filled-mask pixel with a 4-neighbour outside the filled mask or
//           outside the image. cv2.findContours + drawContours traces the same boundary.
// An empty mask (sum(cam) > 1 but no pixel above thr) makes the whole image "outside": blur,
// gray and black apply everywhere; the geometric effects draw nothing.
#include <cmath>
#include <vector>

#include "common.h"
#include "visual_prompt_impl.h"

namespace {

using ovseg::vp::kKsize;
using ovseg::vp::reflect101;

void blur_outside(uint8_t *img, const uint8_t *mask, int64_t H, int64_t W) {
    int32_t k[kKsize];
    ovseg::vp::gaussian_q8(k);
    const int r = kKsize / 2;
    // Row pass: exact Q8 values (<= 255 * sum(k), saturated to 16 bits as ufixedpoint16 is).
    std::vector<uint32_t> rows(size_t(H * W * 3));
    std::vector<int64_t> xmap(size_t(W + 2 * r));
    for (int64_t x = -r; x < W + r; ++x) xmap[size_t(x + r)] = reflect101(x, W);
    for (int64_t y = 0; y < H; ++y) {
        const uint8_t *src = img + y * W * 3;
        uint32_t *dst = rows.data() + y * W * 3;
        for (int64_t x = 0; x < W; ++x) {
            uint32_t acc[3] = {0, 0, 0};
            for (int t = 0; t < kKsize; ++t) {
                const uint8_t *p = src + xmap[size_t(x + t)] * 3;
                acc[0] += uint32_t(k[t]) * p[0];
                acc[1] += uint32_t(k[t]) * p[1];
                acc[2] += uint32_t(k[t]) * p[2];
            }
            for (int c = 0; c < 3; ++c) dst[x * 3 + c] = acc[c] > 65535u ? 65535u : acc[c];
        }
    }
    // Column pass in Q16, one rounding; only outside pixels are written.
    std::vector<int64_t> ymap(size_t(H + 2 * r));
    for (int64_t y = -r; y < H + r; ++y) ymap[size_t(y + r)] = reflect101(y, H);
    for (int64_t y = 0; y < H; ++y) {
        for (int64_t x = 0; x < W; ++x) {
            if (mask[y * W + x]) continue;
            uint64_t acc[3] = {0, 0, 0};
            for (int t = 0; t < kKsize; ++t) {
                const uint32_t *p = rows.data() + (ymap[size_t(y + t)] * W + x) * 3;
                acc[0] += uint64_t(k[t]) * p[0];
                acc[1] += uint64_t(k[t]) * p[1];
                acc[2] += uint64_t(k[t]) * p[2];
            }
            for (int c = 0; c < 3; ++c) {
                uint64_t v = (acc[c] + 32768u) >> 16;
                img[(y * W + x) * 3 + c] = uint8_t(v > 255 ? 255 : v);
            }
        }
    }
}

// Paints red into img; the shapes call it with possibly out-of-image coordinates.
struct PutRed {
    uint8_t *img;
    int64_t H, W;
    void operator()(int64_t x, int64_t y) const {
        if (x < 0 || y < 0 || x >= W || y >= H) return;
        uint8_t *p = img + (y * W + x) * 3;
        p[0] = 255;
        p[1] = 0;
        p[2] = 0;
    }
};

}  // namespace

OVSEG_API int ovseg_cpu_visual_prompt(const uint8_t *rgb, const float *cam, int64_t H, int64_t W,
                                      float mask_threshold, int flags, uint8_t *out) {
    using namespace ovseg;
    if (any_negative({H, W}) || (flags & ~vp::kAllFlags) != 0) return OVSEG_ERR_INVALID_ARGUMENT;
    if (mul_overflows(H, W) || mul_overflows(H * W, 3)) return OVSEG_ERR_INVALID_ARGUMENT;
    const int64_t HW = H * W;
    if (HW == 0) return OVSEG_OK;
    if (!rgb || !cam || !out) return OVSEG_ERR_INVALID_ARGUMENT;
    try {
        // Work in place on out (so out == rgb is harmless too).
        if (out != rgb) std::memmove(out, rgb, size_t(HW * 3));
        if (flags == 0 || vp::cam_total(cam, HW) <= 1.0) return OVSEG_OK;

        std::vector<uint8_t> mask(static_cast<size_t>(HW));
        const vp::MaskStats stats = vp::mask_of(cam, H, W, mask_threshold, mask.data());

        if (flags & OVSEG_VP_BLUR) blur_outside(out, mask.data(), H, W);
        if (flags & OVSEG_VP_GRAY) {
            for (int64_t i = 0; i < HW; ++i) {
                if (mask[size_t(i)]) continue;
                uint8_t *p = out + i * 3;
                p[0] = p[1] = p[2] = vp::gray_of(p[0], p[1], p[2]);
            }
        }
        if (flags & OVSEG_VP_BLACK) {
            for (int64_t i = 0; i < HW; ++i)
                if (!mask[size_t(i)]) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = 0;
        }
        if (stats.count > 0) vp::draw_shapes(PutRed{out, H, W}, flags, stats, mask.data(), H, W);
        return OVSEG_OK;
    } catch (const std::bad_alloc &) {
        return OVSEG_ERR_OUT_OF_MEMORY;
    }
}

package org.ovseg.pipeline.car;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import org.ovseg.image.RgbImage;
import org.ovseg.pipeline.sam.SamAutomaticMasks;
import org.ovseg.pipeline.sam.SamMask;

/**
 * CaR's optional SAM merge as a {@link CarLoop.MaskRefiner} (the official
 * {@code inference_pipeline.get_sam_masks}): SAM's automatic masks of the image, then, for each
 * non-empty post-CRF mask, {@link SamMerge} with the official thresholds — intersection over minimum
 * &gt; {@value #IOM_THRESHOLD} (configs/*.yaml car.iom_thres), min_pred_threshold {@value #MIN_PRED},
 * replacement when IoU(union, mask) &gt; {@value #REPLACE_IOU} (matching_thresh).
 *
 * <p>The automatic masks are computed once per image: the stuff pass and the referring sentences of
 * one call reuse them. One image is remembered — the object, weakly, and a CRC-32C of its pixels,
 * so a buffer reused for the next frame is not mistaken for the last one — with its masks
 * bit-packed. Thread-safe. Does not own the generator.
 */
public final class SamRefiner implements CarLoop.MaskRefiner {
    /** The voc config's iom_thres (other presets: {@link CarSettings#samThresholds}). */
    public static final double IOM_THRESHOLD = 0.6;
    /** The voc config's sam.min_pred_threshold (other presets: {@link CarSettings#samThresholds}). */
    public static final double MIN_PRED = 0.05;
    /** The official matching threshold (IoU of the SAM union with the CaR mask). */
    public static final double REPLACE_IOU = 0.9;

    private final SamAutomaticMasks sam;
    private final double iomThreshold, minPred, replaceIoU;
    private Last last; // guarded by this

    private record Last(WeakReference<RgbImage> image, long crc, List<SamMask> masks) {}

    /** With the voc config's thresholds. */
    public SamRefiner(SamAutomaticMasks sam) {
        this(sam, IOM_THRESHOLD, MIN_PRED, REPLACE_IOU);
    }

    /** With other thresholds. */
    public SamRefiner(SamAutomaticMasks sam, double iomThreshold, double minPred, double replaceIoU) {
        this.sam = sam;
        this.iomThreshold = iomThreshold;
        this.minPred = minPred;
        this.replaceIoU = replaceIoU;
    }

    /** @return SAM's automatic masks of the image (computed on first use) */
    public List<boolean[]> samMasks(RgbImage image) {
        List<SamMask> masks = packed(image);
        List<boolean[]> out = new ArrayList<>(masks.size());
        for (SamMask s : masks) out.add(s.toBooleans());
        return out;
    }

    private List<SamMask> packed(RgbImage image) {
        CRC32C crc = new CRC32C();
        crc.update(image.rgb());
        long sum = crc.getValue();
        List<SamMask> masks = null;
        synchronized (this) {
            if (last != null && last.image().get() == image && last.crc() == sum) masks = last.masks();
        }
        if (masks == null) {
            masks = List.copyOf(sam.generate(image)); // outside the lock: other images need not wait
            synchronized (this) {
                last = new Last(new WeakReference<>(image), sum, masks);
            }
        }
        return masks;
    }

    @Override
    public void prepare(RgbImage image) {
        packed(image);
    }

    @Override
    public List<boolean[]> refine(RgbImage image, List<boolean[]> masks) {
        return SamMerge.merge(masks, samMasks(image), iomThreshold, minPred, replaceIoU);
    }
}

package org.ovseg.pipeline.car;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
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
 * <p>The automatic masks are computed once per image (the stuff pass and the referring sentences
 * of one call reuse them; the image object is the key, weakly held). Thread-safe. Does not own the
 * generator.
 */
public final class SamRefiner implements CarLoop.MaskRefiner {
    /** The official iom_thres (voc, context, coco configs). */
    public static final double IOM_THRESHOLD = 0.6;
    /** The official sam.min_pred_threshold. */
    public static final double MIN_PRED = 0.05;
    /** The official matching threshold (IoU of the SAM union with the CaR mask). */
    public static final double REPLACE_IOU = 0.9;

    private final SamAutomaticMasks sam;
    private final double iomThreshold, minPred, replaceIoU;
    private final Map<RgbImage, List<boolean[]>> cache = Collections.synchronizedMap(new WeakHashMap<>());

    /** With the official thresholds. */
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
        List<boolean[]> m = cache.get(image);
        if (m != null) return m;
        List<boolean[]> masks = new ArrayList<>();
        for (SamMask s : sam.generate(image)) masks.add(s.toBooleans());
        masks = List.copyOf(masks);
        cache.put(image, masks);
        return masks;
    }

    @Override
    public void prepare(RgbImage image) {
        samMasks(image);
    }

    @Override
    public List<boolean[]> refine(RgbImage image, List<boolean[]> masks) {
        return SamMerge.merge(masks, samMasks(image), iomThreshold, minPred, replaceIoU);
    }
}

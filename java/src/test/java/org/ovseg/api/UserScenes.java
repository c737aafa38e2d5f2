package org.ovseg.api;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.ovseg.image.RgbImage;

/**
 * Scenes as a new user of the colour demos would draw them: k of the 6 colours, a grey or
 * coloured background, 1–2 rectangles or ellipses per remaining colour, each 72 px up to half the
 * image's short side, placed anywhere whose centre the classifier's centre crop sees (a region
 * outside the crop cannot be confirmed by any CLIP-style classifier). Shapes may overlap and
 * touch, but a placement that would leave an earlier shape less than 60% visible is tried
 * elsewhere (unchecked, one was cut to a 6 px sliver, no longer a 72 px shape); a shape that
 * finds no place in 200 tries is retried at 72 px, then left out (the truth records which
 * colours remain).
 */
final class UserScenes {
    static final List<String> COLOURS = List.of("red", "green", "blue", "yellow", "cyan", "magenta");
    static final int[] RGB = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF};
    static final int GREY = 6;
    static final int MIN_SHAPE = 72;

    private UserScenes() {}

    /**
     * @param truth class per pixel: a colour index, or GREY
     * @param classes the classes present in the truth
     */
    record Scene(RgbImage image, int[] truth, TreeSet<Integer> classes) {
        int width() {
            return image.width();
        }

        int height() {
            return image.height();
        }

        /** @return the present colours' names */
        TreeSet<String> presentColours() {
            TreeSet<String> s = new TreeSet<>();
            for (int c : classes) if (c != GREY) s.add(COLOURS.get(c));
            return s;
        }
    }

    /** @param k colours drawn (2–6), of which one may be the background */
    static Scene generate(long seed, int k) {
        SplittableRandom r = new SplittableRandom(seed);
        int W = 300 + r.nextInt(341), H = 300 + r.nextInt(341);
        if (Math.max(W, H) > 1.34 * Math.min(W, H)) H = W; // photo-like aspect ratios
        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3, 4, 5));
        Collections.shuffle(order, new java.util.Random(seed));
        List<Integer> chosen = order.subList(0, k);
        boolean greyBackground = r.nextBoolean();
        int background = greyBackground ? GREY : chosen.get(0);
        int[] truth = new int[W * H];
        java.util.Arrays.fill(truth, background);
        int crop = Math.min(W, H), cx0 = (W - crop) / 2, cy0 = (H - crop) / 2;
        int maxShape = Math.min(W, H) / 2;
        int[] owner = new int[W * H]; // which shape shows at each pixel (0 = background)
        List<Integer> areas = new ArrayList<>(List.of(0));
        for (int c : greyBackground ? chosen : chosen.subList(1, k)) {
            int n = 1 + r.nextInt(2);
            for (int i = 0; i < n; i++) {
                int w = MIN_SHAPE + r.nextInt(maxShape - MIN_SHAPE + 1), h = MIN_SHAPE + r.nextInt(maxShape - MIN_SHAPE + 1);
                boolean ellipse = r.nextBoolean();
                for (int attempt = 0; attempt < 400; attempt++) {
                    if (attempt == 200) w = h = MIN_SHAPE;
                    int cx = cx0 + r.nextInt(crop), cy = cy0 + r.nextInt(crop);
                    int sx = Math.max(0, Math.min(W - w, cx - w / 2)), sy = Math.max(0, Math.min(H - h, cy - h / 2));
                    int[] covered = new int[areas.size()], visible = new int[areas.size()];
                    List<Integer> pixels = new ArrayList<>();
                    for (int y = sy; y < sy + h; y++) {
                        for (int x = sx; x < sx + w; x++) {
                            double dx = (x + 0.5 - sx - w / 2.0) / (w / 2.0), dy = (y + 0.5 - sy - h / 2.0) / (h / 2.0);
                            if (!ellipse || dx * dx + dy * dy <= 1) {
                                pixels.add(y * W + x);
                                covered[owner[y * W + x]]++;
                            }
                        }
                    }
                    for (int o : owner) visible[o]++;
                    boolean hides = false;
                    for (int s = 1; s < areas.size(); s++) hides |= visible[s] - covered[s] < 0.6 * areas.get(s);
                    if (hides) continue;
                    areas.add(pixels.size());
                    for (int p : pixels) {
                        owner[p] = areas.size() - 1;
                        truth[p] = c;
                    }
                    break;
                }
            }
        }
        byte[] rgb = new byte[W * H * 3];
        TreeSet<Integer> classes = new TreeSet<>();
        for (int p = 0; p < W * H; p++) {
            int c = truth[p] == GREY ? 0x808080 : RGB[truth[p]];
            rgb[3 * p] = (byte) (c >> 16);
            rgb[3 * p + 1] = (byte) (c >> 8);
            rgb[3 * p + 2] = (byte) c;
            classes.add(truth[p]);
        }
        return new Scene(new RgbImage(W, H, rgb), truth, classes);
    }

    /**
     * mIoU over the truth's classes (grey ↔ unassigned), each label's IoU with its class.
     *
     * @param labels the query list the result indexes
     * @return {mIoU, min IoU}
     */
    static double[] miou(Scene s, SegmentationResult r, List<String> labels, StringBuilder report) {
        return miou(s.truth(), s.width(), s.height(), s.classes(), r, labels, report);
    }

    /** The same for any scene given as its truth map (colour index per pixel, {@link #GREY} = background) and its classes. */
    static double[] miou(int[] truth, int width, int height, java.util.Collection<Integer> classes, SegmentationResult r, List<String> labels,
            StringBuilder report) {
        double sum = 0, min = 1;
        for (int truthClass : classes) {
            int label = truthClass == GREY ? SegmentationResult.UNASSIGNED : labels.indexOf(COLOURS.get(truthClass));
            long inter = 0, union = 0;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    boolean t = truth[y * width + x] == truthClass, p = r.labelAt(x, y) == label;
                    if (t && p) inter++;
                    if (t || p) union++;
                }
            }
            double iou = (double) inter / union;
            if (report != null) report.append(truthClass == GREY ? "grey" : COLOURS.get(truthClass)).append(String.format(" %.3f ", iou));
            sum += iou;
            min = Math.min(min, iou);
        }
        return new double[] {sum / classes.size(), min};
    }
}

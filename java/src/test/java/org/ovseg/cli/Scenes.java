package org.ovseg.cli;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;

/**
 * Generated test scenes: rectangles and ellipses of pure colours on a coloured background, with
 * the ground-truth colour index of every pixel.
 */
final class Scenes {
    static final String[] NAMES = {"red", "green", "blue", "yellow", "cyan", "magenta", "white", "black"};
    static final int[] RGB = {0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0xFFFFFF, 0x000000};

    /** A scene and its truth (colour index per pixel). */
    record Scene(int width, int height, int[] truth, List<Integer> present) {
        void write(Path file) throws Exception {
            BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            for (int y = 0; y < height; y++) for (int x = 0; x < width; x++) img.setRGB(x, y, RGB[truth[y * width + x]]);
            ImageIO.write(img, "png", file.toFile());
        }
    }

    private Scenes() {}

    /**
     * @param colours which colours may appear (the first is the background)
     * @param shapes number of shapes; each is a rectangle or an ellipse of a random colour
     */
    static Scene generate(long seed, int width, int height, int[] colours, int shapes) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] truth = new int[width * height];
        java.util.Arrays.fill(truth, colours[0]);
        int min = Math.min(width, height);
        for (int s = 0; s < shapes; s++) {
            int c = colours[1 + r.nextInt(colours.length - 1)];
            int w = min / 5 + r.nextInt(min / 3), h = min / 5 + r.nextInt(min / 3);
            int x0 = r.nextInt(Math.max(1, width - w)), y0 = r.nextInt(Math.max(1, height - h));
            boolean ellipse = r.nextBoolean();
            for (int y = y0; y < y0 + h && y < height; y++) {
                for (int x = x0; x < x0 + w && x < width; x++) {
                    double dx = (x + 0.5 - x0 - w / 2.0) / (w / 2.0), dy = (y + 0.5 - y0 - h / 2.0) / (h / 2.0);
                    if (!ellipse || dx * dx + dy * dy <= 1) truth[y * width + x] = c;
                }
            }
        }
        List<Integer> present = new ArrayList<>();
        boolean[] seen = new boolean[NAMES.length];
        for (int t : truth) seen[t] = true;
        for (int i = 0; i < seen.length; i++) if (seen[i]) present.add(i);
        return new Scene(width, height, truth, present);
    }
}

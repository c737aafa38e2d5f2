package org.ovseg.pipeline.car;

import java.util.ArrayList;
import java.util.List;
import org.ovseg.image.RgbImage;
import org.ovseg.kernel.DenseCrf;
import org.ovseg.kernel.VisualPrompt;

/**
 * CLIP-as-RNN's recurrence (Sun et al., CVPR 2024), as the official inference runs it:
 * <pre>
 * queries ← all labels
 * repeat
 *     proposals ← Grad-CAM of each query against [queries; background]   (ProposalGenerator)
 *     images    ← one visual-prompted copy of the image per proposal
 *     S         ← classifier scores, S[i][j] = score of image i for query j
 *     queries   ← { i : S[i][i] > confidence }   (the best one if none)
 * until no query was dropped in this step
 * labels ← dense CRF over [background = (1 − max CAM)^bg; proposals], painted by rising score
 * </pre>
 * The networks sit behind two small interfaces so the loop reads like the algorithm and can be
 * tested with known answers. Not thread-safe per instance (stateless between calls).
 */
public final class CarLoop {
    /** Grad-CAM proposals: one map per query, at image resolution, values in [0, 1]. */
    public interface ProposalGenerator {
        /**
         * @param queries the CAM texts of the current queries
         * @param background background texts competing in the softmax
         * @return [queries.size()][H·W]
         */
        float[][] propose(RgbImage image, List<String> queries, List<String> background);
    }

    /** The mask classifier: S[i][j] for prompted image i and query j (rows sum to 1). */
    public interface PromptClassifier {
        float[][] score(List<RgbImage> promptedImages, List<String> queries);

        /**
         * The official forward_clip on texts given in full: per group g, P_g = softmax over the
         * group's texts; S = P of the single group when {@code flat} (a plain list of texts), else
         * softmax(Σ_g P_g) (a list of lists). This default treats {@link #score} as one group's
         * softmax (enough for stand-ins in tests); the CLIP classifier embeds the texts as given.
         *
         * @param groups all of the same length (the number of queries)
         */
        default float[][] scoreGroups(List<RgbImage> promptedImages, List<List<String>> groups, boolean flat) {
            int n = promptedImages.size(), q = groups.get(0).size();
            double[][] sum = new double[n][q];
            for (List<String> g : groups) {
                float[][] p = score(promptedImages, g);
                for (int i = 0; i < n; i++) for (int j = 0; j < q; j++) sum[i][j] += p[i][j];
            }
            float[][] s = new float[n][q];
            for (int i = 0; i < n; i++) {
                double z = 0;
                for (int j = 0; j < q; j++) z += flat ? 0 : Math.exp(sum[i][j]);
                for (int j = 0; j < q; j++) s[i][j] = (float) (flat ? sum[i][j] : Math.exp(sum[i][j]) / z);
            }
            return s;
        }
    }

    /**
     * A refinement of the per-query masks after the CRF, before painting: CaR's optional SAM merge
     * ({@link SamRefiner}). Implementations must be thread-safe when the loop is shared.
     */
    public interface MaskRefiner {
        /** Runs once per recurrence before the CRF (e.g. SAM on the image; timed as "sam"). */
        default void prepare(RgbImage image) {}

        /**
         * @param masks per surviving query (last step's order), boolean[H·W] each; not modified
         * @return the refined masks, same count and order
         */
        List<boolean[]> refine(RgbImage image, List<boolean[]> masks);
    }

    /**
     * One recurrence step, for the JSON report: which queries went in, their scores, which stayed.
     *
     * @param queries the step's input queries (label names)
     * @param scores their diagonal classifier scores
     * @param kept the names that survived
     */
    public record Step(List<String> queries, float[] scores, List<String> kept) {}

    /**
     * The outcome.
     *
     * @param labels per pixel: index into the input labels, or −1 (background)
     * @param scores per input label: final classifier score, 0 when pruned
     * @param steps the recurrence, step by step
     * @param timingsMs stage (proposals, visual prompts, classifier, crf) → milliseconds, summed over steps
     * @param proposals the final proposal maps (the CRF's input, before the CRF): [Q][h·w] at
     *     {@link CarLoop#workingSize} (the image's size up to {@link CarLoop#MAX_WORKING_PIXELS}), one
     *     per surviving query, in the order of the last step's queries (things then stuff for the two-pass run)
     */
    public record Result(int[] labels, float[] scores, List<Step> steps, java.util.Map<String, Double> timingsMs, float[][] proposals) {
        /** A result without proposal maps. */
        public Result(int[] labels, float[] scores, List<Step> steps, java.util.Map<String, Double> timingsMs) {
            this(labels, scores, steps, timingsMs, new float[0][]);
        }
    }

    private final ProposalGenerator proposals;
    private final PromptClassifier classifier;
    private final CarSettings settings;
    private final DenseCrf.Params crf;
    private final DenseCrf.Target crfTarget;
    private final CrfImage crfImage;
    private final long maxWorkingPixels;
    private volatile MaskRefiner refiner;

    /**
     * The most pixels the recurrence and the CRF run at (2048²): larger images are reduced by
     * area averaging and the labels brought back by nearest neighbour ({@link WorkingSize};
     * DEVIATION: the official code runs at the image's size). At this size the CRF's lattice
     * takes ~0.7 GB plus ~150 MB per label (its native and Java [L, H, W] arrays), and each
     * proposal map 16 MB.
     */
    public static final long MAX_WORKING_PIXELS = 2048L * 2048;

    /** @param crf dense-CRF parameters (CaR's: {@link DenseCrf.Params#CAR}), run on the CPU */
    public CarLoop(ProposalGenerator proposals, PromptClassifier classifier, CarSettings settings, DenseCrf.Params crf) {
        this(proposals, classifier, settings, crf, DenseCrf.Target.CPU);
    }

    /** @param crfTarget where the CRF runs (CUDA when the networks run on the GPU) */
    public CarLoop(ProposalGenerator proposals, PromptClassifier classifier, CarSettings settings, DenseCrf.Params crf,
            DenseCrf.Target crfTarget) {
        this(proposals, classifier, settings, crf, crfTarget, CrfImage.OFFICIAL);
    }

    /** @param crfImage the colours the CRF's bilateral kernel compares (the bundle's choice) */
    public CarLoop(ProposalGenerator proposals, PromptClassifier classifier, CarSettings settings, DenseCrf.Params crf,
            DenseCrf.Target crfTarget, CrfImage crfImage) {
        this(proposals, classifier, settings, crf, crfTarget, crfImage, MAX_WORKING_PIXELS);
    }

    /** @param maxWorkingPixels the working-size bound (tests use a small one to stay fast) */
    CarLoop(ProposalGenerator proposals, PromptClassifier classifier, CarSettings settings, DenseCrf.Params crf,
            DenseCrf.Target crfTarget, CrfImage crfImage, long maxWorkingPixels) {
        this.maxWorkingPixels = maxWorkingPixels;
        this.proposals = proposals;
        this.classifier = classifier;
        this.settings = settings;
        this.crf = crf;
        this.crfTarget = crfTarget;
        this.crfImage = java.util.Objects.requireNonNull(crfImage, "crfImage");
    }

    /** @return the colours the CRF compares */
    public CrfImage crfImageMode() {
        return crfImage;
    }

    /**
     * @return the size the recurrence runs at for a width × height image; {@link Result#proposals}
     *     are at this size
     */
    public static WorkingSize workingSize(int width, int height) {
        return WorkingSize.of(width, height, MAX_WORKING_PIXELS);
    }

    /** Sets (or, with null, removes) the post-CRF mask refinement; set it before sharing the loop. */
    public void setMaskRefiner(MaskRefiner refiner) {
        this.refiner = refiner;
    }

    /** @return the post-CRF mask refinement, or null */
    public MaskRefiner maskRefiner() {
        return refiner;
    }

    /**
     * Runs the recurrence to its fixed point, then the CRF, at {@link #workingSize}; the labels are
     * at the image's size, the proposals at the working size.
     */
    public Result segment(RgbImage image, List<String> labels) {
        WorkingSize size = WorkingSize.of(image.width(), image.height(), maxWorkingPixels);
        if (size.isIdentity()) return segmentAtSize(image, labels);
        long t0 = System.nanoTime();
        RgbImage small = size.downscale(image);
        double downMs = (System.nanoTime() - t0) / 1e6;
        Result r = segmentAtSize(small, labels);
        t0 = System.nanoTime();
        int[] full = size.upsampleLabels(r.labels());
        java.util.Map<String, Double> timings = new java.util.LinkedHashMap<>();
        timings.put("resize", downMs + (System.nanoTime() - t0) / 1e6);
        timings.putAll(r.timingsMs());
        return new Result(full, r.scores(), r.steps(), timings, r.proposals());
    }

    private Result segmentAtSize(RgbImage image, List<String> labels) {
        int H = image.height(), W = image.width();
        List<Integer> alive = new ArrayList<>();
        for (int i = 0; i < labels.size(); i++) alive.add(i);
        List<Step> steps = new ArrayList<>();
        float[][] maps = null, previous = null;
        float[] finalScores = new float[labels.size()];
        int lastPositive = 0;
        org.ovseg.pipeline.common.StageTimer timer = new org.ovseg.pipeline.common.StageTimer();
        for (int step = 0; ; step++) {
            List<String> names = alive.stream().map(labels::get).toList();
            // QUIRK kept from the official code: from the second step on the CAM text is the
            // origami-prompted name, as the filtered CLIP texts are reused.
            List<String> camTexts = step == 0 ? names : names.stream().map(n -> "a clean origami " + n + ".").toList();
            timer.start("proposals");
            maps = proposals.propose(image, camTexts, settings.backgroundQueries());
            timer.start("visual prompts");
            List<RgbImage> prompted = new ArrayList<>();
            for (float[] cam : maps) {
                prompted.add(new RgbImage(W, H, VisualPrompt.apply(image.rgb(), cam, H, W, settings.maskThreshold(), settings.prompts())));
            }
            timer.start("classifier");
            float[][] s = classifier.score(prompted, names);
            timer.stop();
            float[] diag = new float[names.size()];
            List<Integer> keep = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                diag[i] = s[i][i];
                if (diag[i] > settings.confidenceThreshold()) keep.add(i);
            }
            if (keep.isEmpty()) {
                int best = 0;
                for (int i = 1; i < diag.length; i++) if (diag[i] > diag[best]) best = i;
                keep.add(best);
            }
            java.util.Arrays.fill(finalScores, 0f);
            for (int i : keep) finalScores[alive.get(i)] = diag[i];
            steps.add(new Step(names, diag, keep.stream().map(names::get).toList()));
            // QUIRK kept from the official code (car.py, _forward_car): an all-zero stage is scored
            // on the unprompted images first, and only then are its proposals replaced by the
            // previous stage's full list — not just the kept queries' maps, so the list may be longer
            // than the queries and misaligned with them (paint() takes the first ones, as the
            // official zip does). The first stage has no predecessor (officially None; kept here).
            if (step > 0 && allZero(maps)) maps = previous;
            previous = maps;
            boolean fixedPoint = keep.size() == lastPositive;
            lastPositive = keep.size();
            if (fixedPoint) break;
            List<Integer> next = new ArrayList<>();
            for (int k : keep) next.add(alive.get(k));
            alive = next;
        }
        if (refiner != null) {
            timer.start("sam");
            refiner.prepare(image);
        }
        timer.start("crf");
        int[] painted = paint(image, maps, alive, finalScores, timer);
        return new Result(painted, finalScores, steps, timer.millis(), maps);
    }

    /**
     * The official two-pass labelling for datasets with "stuff" (PASCAL Context, ADE20K): the
     * things run first; then the stuff classes run a recurrence of their own in which the thing
     * names are the Grad-CAM background texts and the visual prompts are the stuff ones; the
     * label map is painted stuff first, things on top.
     *
     * @return labels indexing things (0..T−1) then stuff (T..T+S−1), −1 = none
     */
    public Result segmentWithStuff(RgbImage image, List<String> things, List<String> stuff, java.util.Set<VisualPrompt.Effect> stuffPrompts) {
        Result t = segment(image, things);
        CarLoop stuffLoop = new CarLoop(proposals, classifier, settings.withPrompts(stuffPrompts).withBackground(things), crf, crfTarget,
                crfImage, maxWorkingPixels);
        stuffLoop.setMaskRefiner(refiner);
        Result s = stuffLoop.segment(image, stuff);
        int[] labels = new int[t.labels().length];
        for (int p = 0; p < labels.length; p++) {
            labels[p] = t.labels()[p] >= 0 ? t.labels()[p] : s.labels()[p] >= 0 ? things.size() + s.labels()[p] : -1;
        }
        float[] scores = new float[things.size() + stuff.size()];
        System.arraycopy(t.scores(), 0, scores, 0, things.size());
        System.arraycopy(s.scores(), 0, scores, things.size(), stuff.size());
        List<Step> steps = new ArrayList<>(t.steps());
        steps.addAll(s.steps());
        java.util.Map<String, Double> timings = new java.util.LinkedHashMap<>();
        t.timingsMs().forEach((k, v) -> timings.put("things " + k, v));
        s.timingsMs().forEach((k, v) -> timings.put("stuff " + k, v));
        float[][] proposals = new float[t.proposals().length + s.proposals().length][];
        System.arraycopy(t.proposals(), 0, proposals, 0, t.proposals().length);
        System.arraycopy(s.proposals(), 0, proposals, t.proposals().length, s.proposals().length);
        return new Result(labels, scores, steps, timings, proposals);
    }

    /**
     * The referring outcome: one mask per sentence and the scores the merge weighs them by.
     *
     * @param mask the merged object mask, row-major
     * @param sentenceMasks per input sentence (empty when dropped or shifted away)
     * @param scores per input sentence: its last-stage classifier score, 0 when dropped
     * @param steps the joint recurrence
     */
    public record Referral(boolean[] mask, List<boolean[]> sentenceMasks, float[] scores, List<Step> steps) {}

    /**
     * Referring segmentation as the official refer mode runs it (car.py, seg_mode "refer"): all
     * sentences of one object go through one recurrence — one Grad-CAM per sentence (alone against
     * the background texts), the classifier scores all sentences' prompted images against all
     * sentences at once, sentences scoring ≤ confidence are dropped (the best one kept if none
     * passes), until the number kept stops changing. Then a two-label CRF per surviving proposal,
     * and the merge Σ score·mask / Σ score ≥ 0.5 (the union when that covers at most 5% of the image).
     * <p>Classifier texts: with {@link CarSettings#templated} the 15 templates (double softmax),
     * else "a clean origami {sentence}." in one softmax. QUIRKS kept: (1) from the second stage the
     * official text filter indexes into the templated strings themselves when they are a flat list,
     * so the texts become single characters of "a clean origami …" (the character at each kept
     * stage-1 position), summed over one copy per stage-1 sentence and softmaxed; (2) the CAM text
     * from the second stage is the templated sentence; (3) a sentence whose CRF is all background
     * yields no mask (F.one_hot without a class count), so the later masks shift to earlier sentences
     * while the scores stay in place; (4) the all-zero-proposal replacement of {@link #segment}.
     */
    public Referral referJoint(RgbImage image, List<String> sentences) {
        if (sentences.isEmpty()) throw new IllegalArgumentException("no referring expression given");
        int H = image.height(), W = image.width(), N = H * W, S = sentences.size();
        List<String> initClip = sentences.stream().map(t -> "a clean origami " + t + ".").toList();
        List<String> camTexts = sentences, clipTexts = initClip;
        List<List<String>> groups = new ArrayList<>();
        if (settings.templated()) {
            for (String t : ClipPromptClassifier.TEMPLATES) groups.add(sentences.stream().map(x -> t.replace("{}", x)).toList());
        } else {
            groups.add(initClip);
        }
        boolean flat = !settings.templated();
        List<Step> steps = new ArrayList<>();
        float[][] maps = null, previous = null;
        float[] stageScores = null;
        int lastPositive = 0;
        for (int step = 0; ; step++) {
            maps = new float[camTexts.size()][];
            for (int k = 0; k < camTexts.size(); k++) maps[k] = proposals.propose(image, List.of(camTexts.get(k)), settings.backgroundQueries())[0];
            List<RgbImage> prompted = new ArrayList<>();
            for (float[] cam : maps) prompted.add(new RgbImage(W, H, VisualPrompt.apply(image.rgb(), cam, H, W, settings.maskThreshold(), settings.prompts())));
            float[][] sc = classifier.scoreGroups(prompted, groups, flat);
            float[] diag = new float[camTexts.size()];
            List<Integer> keep = new ArrayList<>();
            for (int i = 0; i < diag.length; i++) {
                diag[i] = sc[i][i];
                if (diag[i] > settings.confidenceThreshold()) keep.add(i);
            }
            if (keep.isEmpty()) {
                int best = 0;
                for (int i = 1; i < diag.length; i++) if (diag[i] > diag[best]) best = i;
                keep.add(best);
            }
            List<String> names = new ArrayList<>();
            for (String c : clipTexts) names.add(sentences.get(initClip.indexOf(c)));
            steps.add(new Step(names, diag, keep.stream().map(names::get).toList()));
            stageScores = new float[diag.length];
            for (int i : keep) stageScores[i] = diag[i];
            List<String> filtered = keep.stream().map(clipTexts::get).toList();
            List<List<String>> nextGroups = new ArrayList<>();
            for (List<String> g : groups) {
                if (flat) { // QUIRK (1): each string of the flat list is indexed character-wise
                    for (String str : g) {
                        List<String> chars = new ArrayList<>();
                        for (int i : keep) {
                            if (i >= str.length()) throw new org.ovseg.OvsegException("CaR referring: more sentences than the official "
                                    + "text filter can index (" + S + "); at most " + str.length());
                            chars.add(String.valueOf(str.charAt(i)));
                        }
                        nextGroups.add(chars);
                    }
                } else {
                    nextGroups.add(keep.stream().map(g::get).toList());
                }
            }
            groups = nextGroups;
            flat = false;
            camTexts = filtered;
            clipTexts = filtered;
            if (step > 0 && allZero(maps)) maps = previous;
            previous = maps;
            boolean fixedPoint = keep.size() == lastPositive;
            lastPositive = keep.size();
            if (fixedPoint) break;
        }
        // QUIRK (3): empty CRF masks drop out of the list, shifting the later ones.
        List<boolean[]> crfMasks = new ArrayList<>();
        for (float[] cam : maps) {
            float[] unary = new float[2 * N];
            for (int p = 0; p < N; p++) {
                unary[p] = energy((float) Math.pow(1f - cam[p], settings.backgroundFactor()));
                unary[N + p] = energy(cam[p]);
            }
            int[] l = DenseCrf.labels(unary, crfImage.bytes(image), 2, H, W, crf, crfTarget);
            boolean[] m = new boolean[N];
            boolean any = false;
            for (int p = 0; p < N; p++) any |= m[p] = l[p] == 1;
            if (any) crfMasks.add(m);
        }
        MaskRefiner r = refiner;
        if (r != null && !crfMasks.isEmpty()) {
            r.prepare(image);
            crfMasks = r.refine(image, crfMasks);
        }
        List<boolean[]> perSentence = new ArrayList<>();
        for (int i = 0; i < S; i++) perSentence.add(new boolean[N]);
        float[] scores = new float[S];
        for (int j = 0; j < Math.min(clipTexts.size(), Math.min(crfMasks.size(), stageScores.length)); j++) {
            int idx = initClip.indexOf(clipTexts.get(j));
            perSentence.set(idx, crfMasks.get(j));
            scores[idx] = stageScores[j];
        }
        double[] weighted = new double[N];
        boolean[] union = new boolean[N];
        double total = 0;
        for (int i = 0; i < S; i++) {
            total += scores[i];
            boolean[] m = perSentence.get(i);
            for (int p = 0; p < N; p++) {
                if (m[p]) {
                    weighted[p] += scores[i];
                    union[p] = true;
                }
            }
        }
        boolean[] mask = new boolean[N];
        int area = 0;
        for (int p = 0; p < N; p++) {
            mask[p] = total > 0 && weighted[p] / total >= 0.5;
            if (mask[p]) area++;
        }
        return new Referral(area <= 0.05 * N ? union : mask, perSentence, scores, steps);
    }

    /**
     * Referring segmentation ({@link #referJoint}) at the working size; the mask at the image's size.
     *
     * @return the object's mask, row-major
     */
    public boolean[] refer(RgbImage image, List<String> sentences) {
        return referral(image, sentences).mask();
    }

    /**
     * {@link #referJoint} at the working size, its merged mask brought to the image's size
     * ({@link Referral#sentenceMasks} stay at the working size).
     */
    public Referral referral(RgbImage image, List<String> sentences) {
        WorkingSize size = WorkingSize.of(image.width(), image.height(), maxWorkingPixels);
        if (size.isIdentity()) return referJoint(image, sentences);
        Referral r = referJoint(size.downscale(image), sentences);
        boolean[] small = r.mask();
        int[] l = new int[small.length];
        for (int p = 0; p < l.length; p++) l[p] = small[p] ? 0 : -1;
        int[] full = size.upsampleLabels(l);
        boolean[] out = new boolean[full.length];
        for (int p = 0; p < out.length; p++) out[p] = full[p] == 0;
        return new Referral(out, r.sentenceMasks(), r.scores(), r.steps());
    }

    private static boolean allZero(float[][] maps) {
        for (float[] m : maps) for (float v : m) if (v != 0f) return false;
        return true;
    }

    /** CRF over [background; proposals], then each query's mask painted in rising score order. */
    private int[] paint(RgbImage image, float[][] maps, List<Integer> alive, float[] scores, org.ovseg.pipeline.common.StageTimer timer) {
        int H = image.height(), W = image.width(), N = H * W, L = maps.length + 1;
        if ((long) L * N > Integer.MAX_VALUE - 8) { // N ≤ MAX_WORKING_PIXELS: only with hundreds of surviving labels
            throw new org.ovseg.OvsegException("CaR's CRF: " + maps.length + " surviving labels at " + W + "x" + H + " need " + (long) L * N
                    + " unary values, more than a Java array holds (at most " + (Integer.MAX_VALUE - 8) / N + " labels at this size)");
        }
        float[] unary = new float[L * N];
        for (int p = 0; p < N; p++) {
            float mx = 0f;
            for (float[] m : maps) mx = Math.max(mx, m[p]);
            unary[p] = energy((float) Math.pow(1f - mx, settings.backgroundFactor()));
            for (int l = 1; l < L; l++) unary[l * N + p] = energy(maps[l - 1][p]);
        }
        int[] crfLabels = DenseCrf.labels(unary, crfImage.bytes(image), L, H, W, crf, crfTarget);
        MaskRefiner r = refiner;
        if (r != null) timer.start("sam");
        // Normally one map per query; after the all-zero quirk there may be more maps than queries
        // (all compete in the CRF, the first alive.size() are painted, as the official zip does).
        int painted = Math.min(maps.length, alive.size());
        List<boolean[]> refined = r == null ? null : r.refine(image, queryMasks(crfLabels, painted));
        int[] out = new int[N];
        java.util.Arrays.fill(out, -1);
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < painted; i++) order.add(i);
        order.sort((a, b) -> Float.compare(scores[alive.get(a)], scores[alive.get(b)]));
        for (int i : order) {
            if (scores[alive.get(i)] <= 0) continue;
            if (refined != null) {
                boolean[] m = refined.get(i);
                for (int p = 0; p < N; p++) if (m[p]) out[p] = alive.get(i);
                continue;
            }
            for (int p = 0; p < N; p++) if (crfLabels[p] == i + 1) out[p] = alive.get(i);
        }
        return out;
    }

    /** The CRF's per-query masks: mask i = pixels labelled i + 1 (0 is the background). */
    static List<boolean[]> queryMasks(int[] crfLabels, int queries) {
        List<boolean[]> masks = new ArrayList<>();
        for (int i = 0; i < queries; i++) {
            boolean[] m = new boolean[crfLabels.length];
            for (int p = 0; p < m.length; p++) m[p] = crfLabels[p] == i + 1;
            masks.add(m);
        }
        return masks;
    }

    /**
     * pydensecrf's unary_from_softmax: −log(clip(p, 1e-5, 1)); public for the stage benchmarks.
     *
     * @param p a probability
     * @return its CRF unary energy
     */
    public static float energy(float p) {
        return (float) -Math.log(Math.min(1f, Math.max(1e-5f, p)));
    }

    /**
     * The image CaR's CRF compares colours in: BGR minus (104.008, 116.669, 122.675), cast to
     * uint8 so negative values wrap (QUIRK of the official code, kept). Public for the stage benchmarks.
     *
     * @param image the input image
     * @return [H,W,3] bytes for {@link DenseCrf}
     */
    public static byte[] crfImage(RgbImage image) {
        return CrfImage.OFFICIAL.bytes(image);
    }
}

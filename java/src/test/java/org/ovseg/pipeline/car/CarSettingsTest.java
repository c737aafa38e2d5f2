package org.ovseg.pipeline.car;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.ovseg.api.Labels;

/** The shipped official class lists: usable as one request's labels, in the datasets' index order. */
class CarSettingsTest {
    @Test
    void officialClassListsAreValidRequestsInDatasetOrder() {
        List<String> voc = CarSettings.classes("voc").orElseThrow();
        List<String> coco = CarSettings.classes("COCO-Object").orElseThrow();
        assertEquals(20, Labels.of(voc).size());
        assertEquals(80, Labels.of(coco).size());
        // Spot checks against the datasets' own orders (VOC 1..20, COCO's contiguous 80).
        assertEquals(List.of("aeroplane", "person with clothes,people,human", "tvmonitor screen"), List.of(voc.get(0), voc.get(14), voc.get(19)));
        assertEquals(List.of("person with clothes,people,human", "truck", "hairdrier,blowdrier", "toothbrush"),
                List.of(coco.get(0), coco.get(7), coco.get(78), coco.get(79)));
        assertFalse(CarSettings.stuffClasses("voc").isPresent());
        assertFalse(CarSettings.classes("refcoco").isPresent());
        // context and ade: things (first pass) and stuff (second pass), the official lists in their order
        // (data/context.py PASCAL_CONTEXT_{THING,STUFF}_CLASS, data/ade.py ADE_{THING,STUFF}_CLASS)
        List<String> ctxThings = CarSettings.classes("context").orElseThrow(), ctxStuff = CarSettings.stuffClasses("context").orElseThrow();
        List<String> adeThings = CarSettings.classes("ADE").orElseThrow(), adeStuff = CarSettings.stuffClasses("ade").orElseThrow();
        assertEquals(List.of(38, 21, 125, 25), List.of(ctxThings.size(), ctxStuff.size(), adeThings.size(), adeStuff.size()));
        assertEquals(59, Labels.of(concat(ctxThings, ctxStuff)).size(), "PASCAL Context's 59 classes, none in both passes");
        assertEquals(150, Labels.of(concat(adeThings, adeStuff)).size(), "ADE20K's 150 classes, none in both passes");
        assertEquals(List.of("airplane", "person", "monitor"), List.of(ctxThings.get(0), ctxThings.get(25), ctxThings.get(37)));
        assertEquals(List.of("bedclothes", "wood", "door", "rock"), List.of(ctxStuff.get(0), ctxStuff.get(17), ctxStuff.get(18), ctxStuff.get(20)));
        assertEquals(List.of("building, edifice", "person, individual, someone, somebody, mortal, soul", "flag"),
                List.of(adeThings.get(0), adeThings.get(5), adeThings.get(124)));
        assertEquals(List.of("wall", "land, ground, soil", "waterfall, falls"), List.of(adeStuff.get(0), adeStuff.get(20), adeStuff.get(24)));
        assertEquals(ctxStuff, new CarMethod().presetStuff("context").orElseThrow());
        assertTrue(CarSettings.PRESETS.contains("refcoco"));
        assertFalse(CarSettings.preset("refcoco").templated());
        assertTrue(CarSettings.preset("voc").templated());
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new java.util.ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}

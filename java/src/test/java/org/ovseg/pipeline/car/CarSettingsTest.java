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
        assertFalse(CarSettings.classes("context").isPresent());
        assertTrue(CarSettings.PRESETS.contains("refcoco"));
        assertFalse(CarSettings.preset("refcoco").templated());
        assertTrue(CarSettings.preset("voc").templated());
    }
}

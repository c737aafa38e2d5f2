package org.ovseg.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LabelsTest {
    @Test
    void parsesAndTrims() {
        Labels l = Labels.parse(" cat, sofa ,Bugatti,  sky ");
        assertEquals(List.of("cat", "sofa", "Bugatti", "sky"), l.names());
        assertEquals(List.of("猫", "café", "🚗 car"), Labels.parse("猫,café,🚗 car").names());
    }

    @Test
    void messagesEchoControlCharactersEscaped() {
        // Found by fuzzing: the offending label was echoed raw, so a newline split the message.
        assertEquals("label 'sky\\u000A\\u0000x' contains a control character (U+000A)",
                assertThrows(InvalidLabelsException.class, () -> Labels.parse("cat, sky\n\u0000x")).getMessage());
        assertEquals("label 2 of 'a,\\u000A,b' is empty (stray comma?)",
                assertThrows(InvalidLabelsException.class, () -> Labels.parse("a,\n,b")).getMessage());
    }

    @Test
    void rejectsUnusableLists() {
        assertTrue(assertThrows(InvalidLabelsException.class, () -> Labels.parse("")).getMessage().contains("no labels"));
        assertTrue(assertThrows(InvalidLabelsException.class, () -> Labels.parse("a,,b")).getMessage().contains("empty"));
        assertTrue(assertThrows(InvalidLabelsException.class, () -> Labels.parse("Cat,dog, cat")).getMessage().contains("duplicate"));
        assertTrue(assertThrows(InvalidLabelsException.class, () -> Labels.parse("a\tb,c")).getMessage().contains("control"));
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 4097; i++) many.add("w" + i);
        assertEquals("too many labels: 4097 (at most 4096 per request)", assertThrows(InvalidLabelsException.class, () -> Labels.of(many)).getMessage());
        assertEquals(4096, Labels.of(many.subList(0, 4096)).size());
        // NFC: a decomposed é equals the precomposed one.
        assertThrows(InvalidLabelsException.class, () -> Labels.of(List.of("caf\u00e9", "cafe\u0301")));
    }
}

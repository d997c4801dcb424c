package dev.pullhook.report;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The words of a status: durations and descriptions as the commit page shows them. */
class StatusReporterTest {
    @Test
    void durationsReadNaturally() {
        assertEquals("42 ms", StatusReporter.duration(42));
        assertEquals("1.2 s", StatusReporter.duration(1234));
        assertEquals("59.9 s", StatusReporter.duration(59_949));
        assertEquals("3 min 5 s", StatusReporter.duration(185_400));
    }

    @Test
    void aDescriptionIsOneLineCutToTheHostsLimit() {
        assertEquals("failed: a b", HostApi.cut("failed: a\n\tb\r\n", 140));
        String cut = HostApi.cut("failed: " + "x".repeat(300), 140);
        assertEquals(140, cut.length());
        assertEquals("...", cut.substring(137));
    }
}

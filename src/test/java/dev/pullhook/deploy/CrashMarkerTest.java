package dev.pullhook.deploy;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The crash marker's line, as earlier versions wrote it too, and what a damaged one still says. */
class CrashMarkerTest {
    @Test
    void aMarkerNamesTheDeployAndThePhaseItDiedIn() {
        String line = CrashMarker.line(12, Trigger.WEBHOOK, Phase.LOCAL_CHANGES, 4711, Instant.parse("2026-12-01T10:00:00Z"));
        assertEquals("deploy=12 trigger=webhook phase=local-changes pid=4711 at=2026-12-01T10:00:00Z", line);
        CrashMarker m = CrashMarker.parse(line);
        assertEquals(12, m.deployId());
        assertEquals(Phase.LOCAL_CHANGES, m.phase());
        assertFalse(m.halfReset(), "the edits may be the user's");
        assertTrue(CrashMarker.parse("deploy=3 trigger=manual phase=command pid=1 at=x").halfReset());
        assertTrue(CrashMarker.parse("deploy=3 trigger=manual phase=reset pid=1 at=x").halfReset());
    }

    @Test
    void aDamagedMarkerStillSaysADeployWasInterrupted() {
        CrashMarker unreadable = CrashMarker.parse("unreadable marker /srv/site/.git/pullhook/deploy.running");
        assertEquals(0, unreadable.deployId());
        assertNull(unreadable.phase());
        assertFalse(unreadable.halfReset());
        CrashMarker odd = CrashMarker.parse("deploy=99999999999999999999 phase=teleport");
        assertEquals(0, odd.deployId());
        assertNull(odd.phase());
    }
}

package dev.pullhook.deploy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The crash marker: each phase overwrites the last in place, and what is read back is the last phase only. */
class StateDirTest {
    @TempDir
    Path dir;

    @Test
    void theMarkerHoldsTheLastPhaseAndIsGoneWhenCleared() throws Exception {
        try (StateDir state = StateDir.open(dir)) {
            assertNull(state.interruptedDeploy());
            state.markRunning(7, Trigger.WEBHOOK, Phase.LOCAL_CHANGES);
            state.markRunning(7, Trigger.WEBHOOK, Phase.RESET);
            String marker = state.interruptedDeploy().text();
            assertTrue(marker.startsWith("deploy=7 trigger=webhook phase=reset pid="), marker);
            assertFalse(marker.contains("local-changes"), marker);
            assertEquals(1, Files.readString(dir.resolve("deploy.running")).lines().count());
            state.clearRunning();
            assertNull(state.interruptedDeploy());
        }
    }

    @Test
    void aLongerMarkerLeftBehindIsReplacedWhole() throws Exception {
        Files.writeString(dir.resolve("deploy.running"), "deploy=1 trigger=webhook phase=command " + "x".repeat(400) + "\n");
        try (StateDir state = StateDir.open(dir)) {
            state.markRunning(2, Trigger.MANUAL, Phase.LOCK);
            String marker = state.interruptedDeploy().text();
            assertTrue(marker.startsWith("deploy=2 trigger=manual phase=lock pid="), marker);
            assertFalse(marker.contains("xxx"), marker);
        }
    }
}

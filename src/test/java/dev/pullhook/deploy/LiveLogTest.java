package dev.pullhook.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bounds of the live logs, which the end-to-end tests (DeployLogIT) would need hundreds of deploys to reach. */
class LiveLogTest {
    private static Deployment deployed(long id) {
        return new Deployment(id, Trigger.MANUAL, List.of(), Instant.now(), 5, "a".repeat(40), "b".repeat(40),
                Deployment.Outcome.DEPLOYED, null, null, new CommandResult(0, false, 3, List.of("x")));
    }

    /** One whole deploy: queued, run with {@code lines} lines of output, ended. */
    private static void run(LiveLog live, long id, int lines, String line) {
        live.queued(id);
        live.begin(id);
        live.phase(Phase.COMMAND);
        Consumer<String> out = live.output();
        for (int i = 0; i < lines; i++) {
            out.accept(line);
        }
        live.end(deployed(id));
    }

    /**
     * The events' data, as {@code GET /deploys/<id>/log} sends it: a phase's name and a line of output as plain
     * text, the outcome as the history's JSON (DeploymentViewTest) without the output already streamed.
     */
    @Test
    void phasesAndOutputArePlainTextAndTheEndIsTheDeploysJsonWithoutItsOutput() throws Exception {
        LiveLog live = new LiveLog();
        live.queued(4);
        live.begin(4);
        live.phase(Phase.LOCAL_CHANGES);
        live.output().accept("built {\"ok\": true}");
        live.end(new Deployment(4, Trigger.WEBHOOK, List.of("d-1"), Instant.parse("2026-11-30T10:01:00Z"), 35,
                null, "b".repeat(40), Deployment.Outcome.DEPLOYED, null, null,
                new CommandResult(0, false, 3, List.of("built {\"ok\": true}"))));
        List<DeployLog.Event> events = live.get(4).orElseThrow().read(0, 10, 0).events();
        assertEquals(List.of(
                new DeployLog.Event(0, DeployLog.Kind.PHASE, "queued"),
                new DeployLog.Event(1, DeployLog.Kind.PHASE, "local-changes"),
                new DeployLog.Event(2, DeployLog.Kind.OUTPUT, "built {\"ok\": true}"),
                new DeployLog.Event(3, DeployLog.Kind.END, "{\"id\":4,\"trigger\":\"webhook\",\"deliveries\":[\"d-1\"],"
                        + "\"started\":\"2026-11-30T10:01:00Z\",\"ms\":35,\"from\":null,\"to\":\"" + "b".repeat(40) + "\","
                        + "\"outcome\":\"deployed\",\"error\":null,\"saved\":null,"
                        + "\"command\":{\"exit\":0,\"timedOut\":false,\"ms\":3}}")), events);
        assertEquals(List.of("phase", "output", "end"),
                List.of(DeployLog.Kind.PHASE.word(), DeployLog.Kind.OUTPUT.word(), DeployLog.Kind.END.word()));
    }

    @Test
    void theLogsOfTheLastTwentyFinishedDeploysAreKept() {
        LiveLog live = new LiveLog();
        for (long id = 1; id <= 25; id++) {
            run(live, id, 3, "line");
        }
        for (long id = 1; id <= 5; id++) {
            assertTrue(live.get(id).isEmpty(), "deploy " + id + " is one too many ago");
        }
        for (long id = 6; id <= 25; id++) {
            assertTrue(live.get(id).isPresent(), "deploy " + id);
        }
    }

    @Test
    void oneDeployKeepsItsNewestLinesWithinBothBoundsAndItsEnd() throws Exception {
        LiveLog live = new LiveLog();
        run(live, 1, 5_000, "short line");
        DeployLog.Batch all = live.get(1).orElseThrow().read(0, 10_000, 0);
        assertEquals(DeployLog.MAX_LINES, all.events().size());
        assertEquals(5_000 + 2 + 1 - DeployLog.MAX_LINES, all.missed(), "the oldest went: queued, command, lines");
        assertTrue(all.finished());
        DeployLog.Event end = all.events().get(all.events().size() - 1);
        assertEquals(DeployLog.Kind.END, end.kind());
        assertEquals("deployed", new ObjectMapper().readTree(end.data()).path("outcome").asText());
        assertFalse(end.data().contains("\"output\""), "the end does not repeat the output: " + end.data());

        run(live, 2, 2_000, "x".repeat(499));
        DeployLog.Batch wide = live.get(2).orElseThrow().read(0, 10_000, 0);
        long bytes = wide.events().stream().mapToLong(e -> e.data().length() + 1).sum();
        assertTrue(bytes <= DeployLog.MAX_BYTES, bytes + " bytes");
        assertTrue(wide.events().size() < 600, wide.events().size() + " events");
        assertEquals(DeployLog.Kind.END, wide.events().get(wide.events().size() - 1).kind());
    }

    @Test
    void finishedLogsTogetherStayWithinTheSitesBudgetAndTheRunningOneIsNeverDropped() {
        LiveLog live = new LiveLog();
        for (long id = 1; id <= 12; id++) {
            run(live, id, 1_000, "y".repeat(499));  // each at its 256 KiB bound
        }
        live.queued(13);
        live.begin(13);
        long kept = 0;
        long bytes = 0;
        for (long id = 1; id <= 12; id++) {
            if (live.get(id).isPresent()) {
                kept++;
                bytes += live.get(id).get().bytes();
            }
        }
        assertTrue(bytes <= LiveLog.MAX_BYTES, bytes + " bytes in " + kept + " logs");
        assertEquals(LiveLog.MAX_BYTES / DeployLog.MAX_BYTES, kept, "the newest that fit");
        assertTrue(live.get(12).isPresent() && live.get(13).isPresent());
        assertEquals(13, live.active().orElseThrow().id());
    }

    @Test
    void outputLeftBehindByAnEarlierDeploysProcessNeverReachesALaterLog() throws Exception {
        LiveLog live = new LiveLog();
        live.queued(1);
        live.begin(1);
        Consumer<String> first = live.output();
        live.end(deployed(1));
        live.queued(2);
        live.begin(2);
        first.accept("a background process of deploy 1 still prints");
        live.output().accept("deploy 2's own line");
        List<String> lines = live.get(2).orElseThrow().read(0, 100, 0).events().stream()
                .filter(e -> e.kind() == DeployLog.Kind.OUTPUT).map(DeployLog.Event::data).toList();
        assertEquals(List.of("deploy 2's own line"), lines);
    }

    @Test
    void aCheckThatFoundNothingLeavesNoLogAndItsReadersStop() throws Exception {
        LiveLog live = new LiveLog();
        live.begin(4);
        DeployLog log = live.get(4).orElseThrow();
        live.phase(Phase.LOCK);
        live.discard(4);
        assertTrue(live.get(4).isEmpty());
        DeployLog.Batch rest = log.read(1, 100, 10_000);
        assertTrue(rest.finished() && rest.events().isEmpty(), "the reader returns at once: " + rest);
        assertEquals("not a deploy: nothing to do", log.closedBecause());
    }
}

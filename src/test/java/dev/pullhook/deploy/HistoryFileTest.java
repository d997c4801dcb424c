package dev.pullhook.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A history file written by an earlier pullhook still reads, and each entry is shown exactly as it was
 * written: every trigger and outcome there has been, with and without a command, nulls included.
 */
class HistoryFileTest {
    private static final String A = "1111111111111111111111111111111111111111";
    private static final String B = "2222222222222222222222222222222222222222";
    /** Lines as pullhook 0.1.0 (main at a407b78) writes them, oldest first. */
    static final List<String> WRITTEN = List.of(
            "{\"id\":1,\"trigger\":\"start\",\"deliveries\":[],\"started\":\"2026-11-30T10:00:00Z\",\"ms\":120,"
                    + "\"from\":null,\"to\":\"" + A + "\",\"outcome\":\"deployed\",\"error\":null,\"saved\":null,\"command\":null}",
            "{\"id\":2,\"trigger\":\"webhook\",\"deliveries\":[\"d-1\",\"d-2\"],\"started\":\"2026-11-30T10:01:00.123456Z\","
                    + "\"ms\":35,\"from\":\"" + A + "\",\"to\":\"" + B + "\",\"outcome\":\"deployed\",\"error\":null,"
                    + "\"saved\":\"stash " + A + "\",\"command\":{\"exit\":0,\"timedOut\":false,\"ms\":12,\"output\":[\"built\"]}}",
            "{\"id\":3,\"trigger\":\"manual\",\"deliveries\":[],\"started\":\"2026-11-30T10:02:00Z\",\"ms\":40,\"from\":\"" + B
                    + "\",\"to\":null,\"outcome\":\"failed\",\"error\":\"fetch from origin failed: timeout\",\"saved\":null,"
                    + "\"command\":{\"exit\":-1,\"timedOut\":true,\"ms\":300000,\"output\":[]}}",
            "{\"id\":4,\"trigger\":\"rollback\",\"deliveries\":[],\"started\":\"2026-11-30T10:03:00Z\",\"ms\":20,\"from\":\"" + B
                    + "\",\"to\":\"" + A + "\",\"outcome\":\"deployed\",\"error\":null,\"saved\":null,\"command\":null}",
            "{\"id\":5,\"trigger\":\"poll\",\"deliveries\":[],\"started\":\"2026-11-30T10:04:00Z\",\"ms\":0,\"from\":null,"
                    + "\"to\":null,\"outcome\":\"cancelled\",\"error\":\"the daemon is shutting down\",\"saved\":null,\"command\":null}",
            "{\"id\":6,\"trigger\":\"recovery\",\"deliveries\":[],\"started\":\"2026-11-30T10:05:00Z\",\"ms\":80,\"from\":\"" + A
                    + "\",\"to\":\"" + B + "\",\"outcome\":\"deployed\",\"error\":null,\"saved\":null,\"command\":null}");

    @TempDir
    Path dir;

    @Test
    void anEarlierHistoryFileReadsBackToTheSameJson() throws Exception {
        Files.writeString(dir.resolve("history.jsonl"), String.join("\n", WRITTEN) + "\n", StandardCharsets.UTF_8);
        try (StateDir state = StateDir.open(dir)) {
            List<Deployment> newestFirst = state.loadHistory(50);
            List<String> shown = new ArrayList<>();
            for (int i = newestFirst.size() - 1; i >= 0; i--) {
                shown.add(new ObjectMapper().writeValueAsString(newestFirst.get(i).toMap()));
            }
            assertEquals(WRITTEN, shown);
        }
    }

    @Test
    void anAppendedDeployIsWrittenInTheSameShape() throws Exception {
        try (StateDir state = StateDir.open(dir)) {
            for (String line : WRITTEN) {
                state.append(fromLine(line), 50);
            }
        }
        assertEquals(WRITTEN, Files.readAllLines(dir.resolve("history.jsonl"), StandardCharsets.UTF_8));
    }

    @Test
    void aFailedHealthCheckKeepsWhichCheckFailedAndWhatWasRestored() throws Exception {
        String line = "{\"id\":7,\"trigger\":\"webhook\",\"deliveries\":[],\"started\":\"2026-12-07T10:00:00Z\",\"ms\":650,"
                + "\"from\":\"" + A + "\",\"to\":\"" + B + "\",\"outcome\":\"failed\",\"error\":\"health check failed: "
                + "deploy.check.url answered 500, expected 200; restored 1111111\",\"saved\":null,\"command\":null,"
                + "\"check\":\"url\",\"restored\":\"" + A + "\"}";
        try (StateDir state = StateDir.open(dir)) {
            state.append(fromLine(line), 50);
        }
        assertEquals(List.of(line), Files.readAllLines(dir.resolve("history.jsonl"), StandardCharsets.UTF_8));
        try (StateDir state = StateDir.open(dir)) {
            Deployment d = state.loadHistory(1).get(0);
            assertEquals("url", d.check());
            assertEquals(A, d.restored());
        }
    }

    private Deployment fromLine(String line) throws Exception {
        Path other = Files.createTempDirectory(dir, "one");
        Files.writeString(other.resolve("history.jsonl"), line + "\n", StandardCharsets.UTF_8);
        try (StateDir state = StateDir.open(other)) {
            return state.loadHistory(1).get(0);
        }
    }
}

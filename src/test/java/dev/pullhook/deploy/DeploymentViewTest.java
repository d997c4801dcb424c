package dev.pullhook.deploy;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The contract of a deploy's JSON, one model for the history file, {@code /status} and the live log's end
 * event: every field, in this order, nulls included; the end event leaves out only the command's output.
 * (HistoryFileTest pins that earlier history files read back unchanged.)
 */
class DeploymentViewTest {
    private static final String A = "1111111111111111111111111111111111111111";
    private static final String B = "2222222222222222222222222222222222222222";
    private static final Deployment WITH_COMMAND = new Deployment(7, Trigger.WEBHOOK, List.of("d-1"),
            Instant.parse("2026-11-30T10:01:00.5Z"), 35, A, B, Deployment.Outcome.DEPLOYED, null, "stash " + A,
            new CommandResult(0, false, 12, List.of("built")));
    private static final String WITH_COMMAND_JSON = "{\"id\":7,\"trigger\":\"webhook\",\"deliveries\":[\"d-1\"],"
            + "\"started\":\"2026-11-30T10:01:00.500Z\",\"ms\":35,\"from\":\"" + A + "\",\"to\":\"" + B + "\","
            + "\"outcome\":\"deployed\",\"error\":null,\"saved\":\"stash " + A + "\","
            + "\"command\":{\"exit\":0,\"timedOut\":false,\"ms\":12,\"output\":[\"built\"]}}";

    @Test
    void aDeployIsWrittenWithEveryFieldInItsOrder() throws Exception {
        assertEquals(WITH_COMMAND_JSON, new ObjectMapper().writeValueAsString(WITH_COMMAND.view()));
        Deployment failed = new Deployment(8, Trigger.MANUAL, List.of(), Instant.parse("2026-11-30T10:02:00Z"), 40, null,
                null, Deployment.Outcome.FAILED, "fetch failed", null, null);
        assertEquals("{\"id\":8,\"trigger\":\"manual\",\"deliveries\":[],\"started\":\"2026-11-30T10:02:00Z\",\"ms\":40,"
                        + "\"from\":null,\"to\":null,\"outcome\":\"failed\",\"error\":\"fetch failed\",\"saved\":null,"
                        + "\"command\":null}",
                new ObjectMapper().writeValueAsString(failed.view()));
    }

    @Test
    void whatIsWrittenReadsBackToTheSameDeploy() throws Exception {
        DeploymentView read = new ObjectMapper().readValue(WITH_COMMAND_JSON, DeploymentView.class);
        assertEquals(WITH_COMMAND, read.toDeployment());
        assertEquals(Deployment.Outcome.DEPLOYED, read.outcomeValue());
    }

    @Test
    void theLiveLogsEndEventIsTheSameWithoutTheOutputItStreamedAlready() {
        assertEquals(WITH_COMMAND_JSON.replace(",\"output\":[\"built\"]", ""), LiveLog.outcome(WITH_COMMAND));
    }
}

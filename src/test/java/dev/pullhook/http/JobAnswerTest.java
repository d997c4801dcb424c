package dev.pullhook.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.deploy.Deployment;
import dev.pullhook.deploy.Trigger;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The contract of a job's answer ({@code ?wait=true}, or 202): each case's fields in order, read back by status. */
class JobAnswerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String A = "1111111111111111111111111111111111111111";

    private static Deployment ended(Deployment.Outcome outcome, String from, String error, String saved) {
        return new Deployment(3, Trigger.MANUAL, List.of(), Instant.EPOCH, 40, from,
                outcome == Deployment.Outcome.DEPLOYED ? A : null, outcome, error, saved, null);
    }

    @Test
    void eachCaseIsWrittenWithItsFieldsInOrderAndReadsBack() throws Exception {
        List<String> written = List.of(
                "{\"status\":\"queued\",\"id\":3}",
                "{\"status\":\"deployed\",\"id\":3,\"from\":null,\"to\":\"" + A + "\",\"ms\":40}",
                "{\"status\":\"deployed\",\"id\":3,\"from\":\"" + A + "\",\"to\":\"" + A + "\",\"ms\":40,\"saved\":\"stash x\"}",
                "{\"status\":\"failed\",\"id\":3,\"error\":\"fetch failed\"}",
                "{\"status\":\"failed\",\"id\":3,\"error\":\"fetch failed\",\"saved\":\"stash x\"}",
                "{\"status\":\"cancelled\",\"id\":3,\"error\":\"the daemon is shutting down\"}");
        List<JobAnswer> answers = List.of(new JobAnswer.Queued(3),
                JobAnswer.of(ended(Deployment.Outcome.DEPLOYED, null, null, null)),
                JobAnswer.of(ended(Deployment.Outcome.DEPLOYED, A, null, "stash x")),
                JobAnswer.of(ended(Deployment.Outcome.FAILED, null, "fetch failed", null)),
                JobAnswer.of(ended(Deployment.Outcome.FAILED, null, "fetch failed", "stash x")),
                JobAnswer.of(ended(Deployment.Outcome.CANCELLED, null, "the daemon is shutting down", null)));
        for (int i = 0; i < written.size(); i++) {
            assertEquals(written.get(i), JSON.writeValueAsString(answers.get(i)));
            assertEquals(answers.get(i), JSON.readValue(written.get(i), JobAnswer.class));
        }
    }

    @Test
    void anyOtherAnswerDoesNotReadAsAJob() {
        assertThrows(Exception.class, () -> JSON.readValue("{\"status\":\"ignored\",\"reason\":\"x\"}", JobAnswer.class));
        assertThrows(Exception.class, () -> JSON.readValue("{\"error\":\"forbidden\"}", JobAnswer.class));
    }
}

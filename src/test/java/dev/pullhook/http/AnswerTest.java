package dev.pullhook.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.json.JavalinJackson;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The contract of the short answers (status first, then at most one field), as the routes' JSON mapper
 * writes them; the gate's 403, written once by hand for speed, is the same bytes; and a live log's
 * {@code cut} event.
 */
class AnswerTest {
    private static final String A = "1111111111111111111111111111111111111111";
    private static final JavalinJackson ROUTES = new JavalinJackson();

    private static String routes(Answer answer) {
        return ROUTES.toJsonString(answer, answer.getClass());
    }

    @Test
    void eachAnswerIsWrittenWithStatusFirst() {
        List<Answer> answers = List.of(Answer.OK, Answer.PONG,
                new Answer.Ignored("branch dev is not main"),
                new Answer.Duplicate("2026-11-30T10:00:59Z"),
                new Answer.UpToDate(A),
                Answer.error(404, "no deploy 9"),
                Answer.error(403, "client address not allowed"),
                Answer.error(503, "shutting down"));
        List<String> written = List.of("{\"status\":\"ok\"}", "{\"status\":\"pong\"}",
                "{\"status\":\"ignored\",\"reason\":\"branch dev is not main\"}",
                "{\"status\":\"duplicate\",\"first\":\"2026-11-30T10:00:59Z\"}",
                "{\"status\":\"up-to-date\",\"head\":\"" + A + "\"}",
                "{\"status\":\"not found\",\"error\":\"no deploy 9\"}",
                "{\"status\":\"forbidden\",\"error\":\"client address not allowed\"}",
                "{\"status\":\"unavailable\",\"error\":\"shutting down\"}");
        for (int i = 0; i < answers.size(); i++) {
            assertEquals(written.get(i), routes(answers.get(i)));
        }
    }

    @Test
    void anErrorWithoutAMessageSaysItsStatusWordTwice() {
        assertEquals("{\"status\":\"error\",\"error\":\"error\"}", routes(Answer.error(500, null)));
        assertEquals("{\"status\":\"too long\",\"error\":\"too long\"}", routes(Answer.error(431, " ")));
        assertEquals("{\"status\":\"method not allowed\",\"error\":\"method not allowed\"}", routes(Answer.error(405, "")));
    }

    @Test
    void theGatesForbiddenIsTheErrorAnswerOf403() throws Exception {
        assertEquals(new ObjectMapper().writeValueAsString(Answer.error(403, "missing or invalid signature")),
                new String(WebhookGate.FORBIDDEN, StandardCharsets.UTF_8));
    }

    @Test
    void aCutEventSaysWhy() {
        assertEquals("{\"reason\":\"the daemon is stopping\"}", DeployLogRoute.cut("the daemon is stopping"));
        assertEquals("{\"reason\":\"a \\\"quoted\\\" reason\"}", DeployLogRoute.cut("a \"quoted\" reason"));
    }
}

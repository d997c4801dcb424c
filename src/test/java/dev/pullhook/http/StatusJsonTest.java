package dev.pullhook.http;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.deploy.DeploymentView;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The contract of a site in {@code /status}: every field in its order, nulls included, deploys as the history
 * writes them (DeploymentViewTest); and {@code pullhook status} reads back what the daemon wrote.
 */
class StatusJsonTest {
    private static final String A = "1111111111111111111111111111111111111111";
    private static final SiteStatus SITE = new SiteStatus("blog", "/pull-repo/blog", "main", "origin", A, "idle",
            List.of(new DeploymentView(2, "webhook", List.of("d-1"), "2026-11-30T10:01:00Z", 35, null, A, "deployed",
                    null, null, null, null, null)),
            List.of(new SiteStatus.Delivery("d-1", "github", "push", "2026-11-30T10:00:59Z", "queued", 2L),
                    new SiteStatus.Delivery("d-0", "gitlab", "Push Hook", "2026-11-30T10:00:00Z", "ignored", null)));
    private static final String SITE_JSON = "{\"name\":\"blog\",\"path\":\"/pull-repo/blog\",\"branch\":\"main\","
            + "\"remote\":\"origin\",\"head\":\"" + A + "\",\"state\":\"idle\",\"deploys\":[{\"id\":2,\"trigger\":\"webhook\","
            + "\"deliveries\":[\"d-1\"],\"started\":\"2026-11-30T10:01:00Z\",\"ms\":35,\"from\":null,\"to\":\"" + A + "\","
            + "\"outcome\":\"deployed\",\"error\":null,\"saved\":null,\"command\":null}],\"deliveries\":["
            + "{\"delivery\":\"d-1\",\"host\":\"github\",\"event\":\"push\",\"at\":\"2026-11-30T10:00:59Z\","
            + "\"outcome\":\"queued\",\"deploy\":2},"
            + "{\"delivery\":\"d-0\",\"host\":\"gitlab\",\"event\":\"Push Hook\",\"at\":\"2026-11-30T10:00:00Z\","
            + "\"outcome\":\"ignored\",\"deploy\":null}]}";

    @Test
    void aSiteIsWrittenWithEveryFieldInItsOrder() throws Exception {
        assertEquals(SITE_JSON, new ObjectMapper().writeValueAsString(SITE));
    }

    @Test
    void theCommandLineReadsTheWholeStatusBack() throws Exception {
        String status = "{\"path\":\"/pull-repo/blog\",\"future\":1,\"sites\":[" + SITE_JSON + "]}";
        assertEquals(new SiteStatus.All(List.of(SITE)), new ObjectMapper().readValue(status, SiteStatus.All.class));
    }
}

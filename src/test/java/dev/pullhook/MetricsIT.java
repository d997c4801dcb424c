package dev.pullhook;

import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /metrics} of a real daemon after a known sequence of real requests and deploys: the scrape is
 * parsed as Prometheus parses the text format, and every counter must have exactly the value the sequence
 * implies.
 */
class MetricsIT {
    private static final String SITE = "default";

    @TempDir
    Path dir;
    private TestRepos repos;

    @BeforeEach
    void createRepositories() {
        repos = TestRepos.create(dir.resolve("repos"));
    }

    @AfterEach
    void closeRepositories() {
        repos.close();
    }

    private static PrometheusText scrape(TestDaemon d) {
        HttpResponse<String> r = d.get("/metrics");
        assertEquals(200, r.statusCode(), r::body);
        String type = r.headers().firstValue("Content-Type").orElse("");
        assertTrue(type.startsWith("text/plain; version=0.0.4"), type);
        return PrometheusText.parse(r.body());
    }

    private static double webhooks(PrometheusText m, String outcome) {
        Double v = m.value("pullhook_webhook_requests_total", "site", SITE, "outcome", outcome);
        assertNotNull(v, () -> "no series for outcome " + outcome + " in " + m);
        return v;
    }

    /** A GitHub delivery: its event and delivery headers, signed with {@code secret}. */
    private static HttpResponse<String> github(TestDaemon d, String query, String secret, String event, String delivery,
                                               String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return d.post("/pull-repo" + query, bytes, "Content-Type", "application/json", "X-GitHub-Event", event,
                "X-GitHub-Delivery", delivery, "X-Hub-Signature-256", Signatures.sha256(secret, bytes));
    }

    private static String push(String branch, ObjectId after) {
        return "{\"ref\":\"refs/heads/" + branch + "\",\"after\":\"" + after.name()
                + "\",\"repository\":{\"full_name\":\"octo/site\"}}";
    }

    private static void assertStatus(int expected, HttpResponse<String> r) {
        assertEquals(expected, r.statusCode(), r::body);
    }

    @Test
    void countsEveryWebhookOutcomeAndEveryDeployOfAKnownSequence() {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                "webhook.max.body.bytes", "1024"))) {
            PrometheusText before = scrape(d);
            for (String outcome : new String[]{"accepted", "ignored", "duplicate", "forbidden", "bad_request", "pong",
                    "up_to_date", "unavailable", "too_large"}) {
                assertEquals(0.0, webhooks(before, outcome), outcome);
            }
            assertNull(before.value("pullhook_deploy_last_success_timestamp_seconds", "site", SITE),
                    "no successful deploy yet");
            assertEquals(1.0, before.value("pullhook_deploy_queue", "site", SITE, "state", "idle"));

            // forbidden: no credentials, then a wrong secret
            assertStatus(403, d.post("/pull-repo", new byte[0]));
            assertStatus(403, github(d, "", "not the secret", "push", UUID.randomUUID().toString(), "{}"));
            // pong
            assertStatus(200, github(d, "", SECRET, "ping", UUID.randomUUID().toString(), "{\"zen\":\"hi\",\"hook_id\":1}"));
            // ignored: another branch
            ObjectId pushed = repos.pushNewCommit();
            assertStatus(200, github(d, "", SECRET, "push", UUID.randomUUID().toString(), push("feature-x", pushed)));
            // bad request: verified, not JSON
            assertStatus(400, github(d, "", SECRET, "push", UUID.randomUUID().toString(), "{not json"));
            // too large (over webhook.max.body.bytes)
            assertStatus(413, github(d, "", SECRET, "push", UUID.randomUUID().toString(), "x".repeat(2000)));
            // accepted and deployed, then the same delivery again: duplicate
            String delivery = UUID.randomUUID().toString();
            double t0 = System.currentTimeMillis() / 1000.0;
            assertStatus(200, github(d, "?wait=true", SECRET, "push", delivery, push("main", pushed)));
            double t1 = System.currentTimeMillis() / 1000.0;
            assertEquals(pushed, repos.siteHead());
            assertStatus(200, github(d, "", SECRET, "push", delivery, push("main", pushed)));
            // up to date: a new delivery naming the commit already checked out
            assertStatus(200, github(d, "", SECRET, "push", UUID.randomUUID().toString(), push("main", pushed)));
            // accepted, and the deploy fails: the remote is gone
            repos.setSiteRemoteUrl(dir.resolve("no-such-origin.git").toUri().toString());
            repos.pushNewCommit();
            assertStatus(500, d.postSigned("/pull-repo?wait=true", ""));
            // not webhook requests: not counted
            assertStatus(404, d.postSigned("/pull-repo/nosuch", ""));
            assertStatus(200, d.get("/status"));

            PrometheusText m = scrape(d);
            assertEquals(2.0, webhooks(m, "forbidden"), m::toString);
            assertEquals(1.0, webhooks(m, "pong"));
            assertEquals(1.0, webhooks(m, "ignored"));
            assertEquals(1.0, webhooks(m, "bad_request"));
            assertEquals(1.0, webhooks(m, "too_large"));
            assertEquals(2.0, webhooks(m, "accepted"));
            assertEquals(1.0, webhooks(m, "duplicate"));
            assertEquals(1.0, webhooks(m, "up_to_date"));
            assertEquals(0.0, webhooks(m, "unavailable"));
            assertEquals("counter", m.type("pullhook_webhook_requests_total"));

            assertEquals(1.0, m.value("pullhook_deploys_total", "site", SITE, "outcome", "deployed"), m::toString);
            assertEquals(1.0, m.value("pullhook_deploys_total", "site", SITE, "outcome", "failed"));
            assertEquals(0.0, m.value("pullhook_deploys_total", "site", SITE, "outcome", "cancelled"));

            assertEquals("histogram", m.type("pullhook_deploy_duration_seconds"));
            assertEquals(2.0, m.value("pullhook_deploy_duration_seconds_count", "site", SITE));
            assertEquals(2.0, m.value("pullhook_deploy_duration_seconds_bucket", "site", SITE, "le", "+Inf"));
            assertEquals(2.0, m.value("pullhook_deploy_duration_seconds_bucket", "site", SITE, "le", "600.0"));
            assertTrue(m.value("pullhook_deploy_duration_seconds_sum", "site", SITE) >= 0);

            double last = m.value("pullhook_deploy_last_success_timestamp_seconds", "site", SITE);
            assertTrue(last >= t0 - 1 && last <= t1 + 1, () -> last + " not within [" + t0 + ", " + t1 + "]");

            assertEquals(1.0, m.value("pullhook_deploy_queue", "site", SITE, "state", "idle"));
            assertEquals(0.0, m.value("pullhook_deploy_queue", "site", SITE, "state", "running"));
            assertEquals(0.0, m.value("pullhook_deploy_queue", "site", SITE, "state", "queued"));
            assertTrue(Arrays.stream(d.get("/metrics").body().split("\n")).noneMatch(l -> l.contains(SECRET)));
        }
    }

    @Test
    void eachDaemonHasItsOwnRegistryAndARestartKnowsTheLastSuccessfulDeploy() {
        double last;
        try (TestDaemon first = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            repos.pushNewCommit();
            assertStatus(200, first.postSigned("/pull-repo?wait=true", ""));
            TestRepos otherRepos = TestRepos.create(dir.resolve("other"));
            try (TestDaemon other = TestDaemon.start(otherRepos, Map.of("deploy.on.start", "false"))) {
                PrometheusText m = scrape(other);
                assertEquals(0.0, m.value("pullhook_webhook_requests_total", "site", SITE, "outcome", "accepted"),
                        "a second daemon in the same JVM starts from zero");
                assertEquals(0.0, m.value("pullhook_deploys_total", "site", SITE, "outcome", "deployed"));
            } finally {
                otherRepos.close();
            }
            PrometheusText m = scrape(first);
            assertEquals(1.0, m.value("pullhook_webhook_requests_total", "site", SITE, "outcome", "accepted"));
            last = m.value("pullhook_deploy_last_success_timestamp_seconds", "site", SITE);
        }
        try (TestDaemon restarted = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            PrometheusText m = scrape(restarted);
            assertEquals(0.0, m.value("pullhook_deploys_total", "site", SITE, "outcome", "deployed"),
                    "counters start again at zero");
            assertEquals(last, m.value("pullhook_deploy_last_success_timestamp_seconds", "site", SITE), 0.001,
                    "the last success is read from the history");
        }
    }

    @Test
    void metricsAnswersOnlyGet() {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            HttpResponse<String> r = d.post("/metrics", new byte[0]);
            assertEquals(405, r.statusCode(), r::body);
            assertEquals("GET, HEAD", r.headers().firstValue("Allow").orElse(""));
        }
    }

    @Test
    void countsRollbackRequestsByOutcome() {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                "webhook.max.body.bytes", "1024"))) {
            for (String outcome : new String[]{"accepted", "forbidden", "too_large", "unavailable"}) {
                assertEquals(0.0, rollbacks(scrape(d), outcome), outcome);
            }
            assertStatus(200, d.postSigned("/pull-repo?wait=true", ""));
            repos.pushNewCommit();
            assertStatus(200, d.postSigned("/pull-repo?wait=true", ""));

            assertStatus(403, d.post("/rollback", new byte[0], "X-Hub-Signature-256", "sha256=" + "0".repeat(64)));
            assertStatus(403, d.post("/rollback", new byte[0]));
            assertStatus(413, d.postSigned("/rollback", "x".repeat(2000)));
            assertStatus(200, d.postSigned("/rollback?wait=true", ""));

            PrometheusText m = scrape(d);
            assertEquals(2.0, rollbacks(m, "forbidden"), m::toString);
            assertEquals(1.0, rollbacks(m, "too_large"));
            assertEquals(1.0, rollbacks(m, "accepted"));
            assertEquals(0.0, rollbacks(m, "unavailable"));
            assertEquals(0.0, webhooks(m, "forbidden"), "a rollback request is no webhook request");
            assertEquals(3.0, m.value("pullhook_deploys_total", "site", SITE, "outcome", "deployed"),
                    "two deploys and the rollback");
        }
    }

    private static double rollbacks(PrometheusText m, String outcome) {
        Double v = m.value("pullhook_rollback_requests_total", "site", SITE, "outcome", outcome);
        assertNotNull(v, () -> "no rollback series for outcome " + outcome + " in " + m);
        return v;
    }
}

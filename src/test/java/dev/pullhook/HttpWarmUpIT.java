package dev.pullhook;

import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Once it listens, the daemon sends itself one signed ping, so that the first real webhook does not pay for
 * the first run of its request path. It leaves no trace a user would mistake for a client: one INFO line
 * says it was answered, and there is no request line, no "webhook ping" line, no count in /metrics and no
 * deploy. Its delivery id cannot be borrowed: a ping from outside with a look-alike id is a ping like any
 * other.
 */
class HttpWarmUpIT {
    private static final String ANSWERED = "http warm-up answered \"HTTP/1.1 200\"";

    @TempDir
    Path dir;
    private TestRepos repos;
    private LogCapture log;

    @BeforeEach
    void setUp() {
        log = new LogCapture();
        repos = TestRepos.create(dir.resolve("repos"));
    }

    @AfterEach
    void tearDown() {
        repos.close();
        log.close();
    }

    private static double pongs(TestDaemon d) {
        PrometheusText m = PrometheusText.parse(d.get("/metrics").body());
        Double v = m.value("pullhook_webhook_requests_total", "site", "default", "outcome", "pong");
        return v == null ? 0 : v;
    }

    private static HttpResponse<String> ping(TestDaemon d, String delivery) {
        return d.postSigned("/pull-repo", "{\"zen\":\"hi\",\"hook_id\":1}", "Content-Type", "application/json",
                "X-GitHub-Event", "ping", "X-GitHub-Delivery", delivery);
    }

    @Test
    void theDaemonPingsItselfOnceWithoutARequestLineACountOrADeploy() {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            Poll.until("the warm-up ping is answered", () -> !log.linesWith(ANSWERED).isEmpty());

            assertEquals(1, log.linesWith(ANSWERED).size(), log::text);
            assertTrue(log.linesWith("webhook ping").isEmpty(), log::text);
            assertTrue(log.linesWith("http method=POST").isEmpty(), log::text);
            assertEquals(0.0, pongs(d));
            assertTrue(d.get("/status").body().contains("\"deploys\":[]"), () -> d.get("/status").body());

            // a look-alike delivery id from outside is an ordinary ping: answered, logged and counted
            HttpResponse<String> r = ping(d, "pullhook-warm-up-0123456789abcdef01234567");
            assertEquals(200, r.statusCode(), r::body);
            assertEquals("{\"status\":\"pong\"}", r.body());
            assertEquals(1, log.linesWith("webhook ping", "delivery=pullhook-warm-up-0123456789abcdef01234567").size(),
                    log::text);
            assertEquals(1.0, pongs(d));
        }
    }

    @Test
    void noPingWhenTheDaemonsOwnAddressIsNotAllowed() {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                "webhook.allow.from", "192.0.2.0/24", "server.warmup", "true"))) {
            Poll.until("the start-up warm-up is done", () -> !log.linesWith("warm-up done").isEmpty()
                    || !log.linesWith("warm-up incomplete").isEmpty());

            assertTrue(log.linesWith("http warm-up").isEmpty(), log::text);
            assertTrue(log.linesWith("rejected").isEmpty(), log::text);
        }
    }
}

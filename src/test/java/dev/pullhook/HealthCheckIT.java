package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end, {@code deploy.check.url} and {@code deploy.check.command} after an in-place deploy: a passing check
 * deploys, a failing one fails the deploy and says which check failed in the answer, {@code /status} and the
 * metrics; with {@code deploy.rollback.on.failure} the commit deployed before is back, its command re-run.
 * The URL is a real HTTP server on 127.0.0.1 whose answers each test scripts.
 */
class HealthCheckIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;
    private TestRepos repos;
    private HttpServer app;
    /** The statuses the "application" answers, one per request; 200 once they run out. */
    private final ConcurrentLinkedQueue<Integer> answers = new ConcurrentLinkedQueue<>();
    private final AtomicInteger requests = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        repos = TestRepos.create(dir.resolve("repos"));
        app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        app.createContext("/health", exchange -> {
            try (exchange) {
                requests.incrementAndGet();
                Integer status = answers.poll();
                exchange.sendResponseHeaders(status == null ? 200 : status, -1);
            }
        });
        app.start();
    }

    @AfterEach
    void stop() {
        app.stop(0);
        repos.close();
    }

    private String healthUrl() {
        return "http://127.0.0.1:" + app.getAddress().getPort() + "/health";
    }

    /** A daemon whose deploy.command appends PULLHOOK_TO to a file outside the working copy. */
    private TestDaemon startDaemon(String... keys) {
        Map<String, String> values = new HashMap<>();
        values.put("deploy.on.start", "false");
        values.put("deploy.command", "echo \"$PULLHOOK_TO\" >> " + commandRuns());
        for (int i = 0; i + 1 < keys.length; i += 2) {
            values.put(keys[i], keys[i + 1]);
        }
        return TestDaemon.start(repos, values);
    }

    private Path commandRuns() {
        return dir.resolve("command-runs.txt");
    }

    private List<String> commandRunsSeen() throws IOException {
        return Files.exists(commandRuns()) ? Files.readAllLines(commandRuns(), StandardCharsets.UTF_8) : List.of();
    }

    private static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }

    private static HttpResponse<String> deploy(TestDaemon d) {
        return d.postSigned("/pull-repo?wait=true", "{}");
    }

    private static JsonNode newestDeploy(TestDaemon d) throws IOException {
        return json(d.get("/status")).get("deploys").get(0);
    }

    private static double checkFailures(TestDaemon d, String check, String result) {
        Double v = PrometheusText.parse(d.get("/metrics").body()).value("pullhook_deploy_check_failures_total",
                "site", "default", "check", check, "result", result);
        assertNotNull(v, "no series for check=" + check + " result=" + result);
        return v;
    }

    @Test
    void passingUrlCheckDeploysAfterRetryingAnApplicationThatIsStillStarting() throws IOException {
        try (TestDaemon d = startDaemon("deploy.check.url", healthUrl(), "deploy.check.retries", "3")) {
            answers.add(503);
            answers.add(502);
            ObjectId a = repos.pushNewCommit();
            HttpResponse<String> r = deploy(d);
            assertEquals(200, r.statusCode(), r::body);
            assertEquals(a, repos.siteHead());
            assertEquals(3, requests.get(), "two failed tries, then one that passed");
            assertEquals(0.0, checkFailures(d, "url", "kept"));
        }
    }

    @Test
    void failingUrlCheckRestoresThePreviousCommitAndReRunsItsCommand() throws IOException {
        try (TestDaemon d = startDaemon("deploy.check.url", healthUrl(), "deploy.check.retries", "1",
                "deploy.rollback.on.failure", "true")) {
            ObjectId a = repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            ObjectId b = repos.pushNewCommit();
            answers.add(500);
            answers.add(500);
            HttpResponse<String> r = deploy(d);

            assertEquals(500, r.statusCode(), r::body);
            JsonNode body = json(r);
            assertEquals("url", body.get("check").asText(), r::body);
            assertEquals(a.name(), body.get("restored").asText(), r::body);
            assertTrue(body.get("error").asText().contains("deploy.check.url answered 500, expected 200"), r::body);
            assertEquals(a, repos.siteHead(), "the commit deployed before is back");
            assertNull(repos.siteFile("change-2.txt"), "B's file is gone");
            assertEquals(List.of(a.name(), b.name(), a.name()), commandRunsSeen(),
                    "deploy.command ran for A, for B, then again for A once restored");

            JsonNode newest = newestDeploy(d);
            assertEquals("failed", newest.get("outcome").asText());
            assertEquals("url", newest.get("check").asText());
            assertEquals(a.name(), newest.get("restored").asText());
            assertEquals(b.name(), newest.get("to").asText());
            assertEquals(a.name(), json(d.get("/status")).get("head").asText());
            assertEquals(1.0, checkFailures(d, "url", "restored"));

            // the application is healthy again: the next push deploys normally
            ObjectId c = repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            assertEquals(c, repos.siteHead());
        }
    }

    @Test
    void failingCheckCommandWithoutRollbackKeepsTheNewCommitAndSaysSo() throws IOException {
        try (TestDaemon d = startDaemon("deploy.check.command", "test -f must-exist.txt || { echo missing; exit 3; }",
                "deploy.check.retries", "0")) {
            ObjectId a = repos.pushNewCommit();
            HttpResponse<String> r = deploy(d);
            assertEquals(500, r.statusCode(), r::body);
            JsonNode body = json(r);
            assertEquals("command", body.get("check").asText(), r::body);
            assertFalse(body.hasNonNull("restored"), r::body);  // nothing restored: no field
            assertTrue(body.get("error").asText().contains("deploy.check.command exited with status 3: missing"),
                    r::body);
            assertTrue(body.get("error").asText().contains("deploy.rollback.on.failure=false"), r::body);
            assertEquals(a, repos.siteHead(), "without deploy.rollback.on.failure the new commit stays");
            assertEquals(1.0, checkFailures(d, "command", "kept"));

            repos.commitAndPush("must-exist.txt", "here\n", "add the file the check wants");
            assertEquals(200, deploy(d).statusCode(), "the check runs in the working copy and now passes");
        }
    }

    @Test
    void checkCommandSeesTheDeployFactsButNotTheDaemonsSecret() throws IOException {
        Path seen = dir.resolve("check-env.txt");
        try (TestDaemon d = startDaemon("deploy.check.command", "env > " + seen)) {
            ObjectId a = repos.pushNewCommit();
            assertEquals(200, deploy(d).statusCode());
            String env = Files.readString(seen);
            assertTrue(env.contains("PULLHOOK_TO=" + a.name()), env);
            assertTrue(!env.contains(TestDaemon.SECRET), "the webhook secret never reaches the check");
        }
    }
}

package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.StatusHost;
import dev.pullhook.testing.StatusHost.Request;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.StoredConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Deploys reported on the git host as commit statuses ({@code report.*}), end to end: a real daemon deploys
 * real repositories, and a local HTTP server standing in for each host's API checks every request against
 * that host's documentation (method, path, headers, JSON body, the words for each state). Then what a host
 * that is down, silent or failing does to a deploy: nothing, but a retry, a WARN line and a count.
 */
class CommitStatusIT {
    /** Looks like a real token; it must reach the host's header and nothing else. */
    private static final String TOKEN = "glpat-Zx81Jq0mTokenNeverLogged7c4";
    private static final String LINK = "https://deploy.example.com/deploys/{deploy}";
    private static final String DESCRIPTION_DONE = "deployed in \\d+ ms|deployed in \\d+\\.\\d s";

    @TempDir
    Path dir;
    private TestRepos repos;
    private StatusHost host;
    private Path tokenFile;

    @BeforeEach
    void setUp() throws IOException {
        repos = TestRepos.create(dir.resolve("repos"));
        host = StatusHost.start();
        tokenFile = dir.resolve("report-token");
        Files.writeString(tokenFile, TOKEN + "\n");
        Files.setPosixFilePermissions(tokenFile, PosixFilePermissions.fromString("rw-------"));
    }

    @AfterEach
    void tearDown() {
        host.close();
        repos.close();
    }

    private Map<String, String> keys(String hostKey, String apiPath, String repo) {
        Map<String, String> k = new HashMap<>();
        k.put("deploy.on.start", "false");
        k.put("report.host", hostKey);
        k.put("report.url", host.url(apiPath));
        if (repo != null) {
            k.put("report.repo", repo);
        }
        k.put("report.token.file", tokenFile.toString());
        k.put("report.link.url", LINK);
        return k;
    }

    /** What each host's documentation says a status request looks like, for this test's repository. */
    private record Expected(String apiPath, String repo, String path, Map<String, String> headers, Set<String> fields,
                            String stateField, String pending, String success, String failure, String nameField,
                            String linkField) {
    }

    private static Expected expected(String hostKey) {
        return switch (hostKey) {
            // developer.atlassian.com/cloud/bitbucket/rest/api-group-commit-statuses: POST .../statuses/build
            case "bitbucket-cloud" -> new Expected("", "team/site", "/2.0/repositories/team/site/commit/%s/statuses/build",
                    Map.of("authorization", "Bearer " + TOKEN), Set.of("key", "state", "name", "url", "description"),
                    "state", "INPROGRESS", "SUCCESSFUL", "FAILED", "key", "url");
            // Bitbucket Data Center "Updating build status for commits": POST .../commits/{commitId}/builds
            case "bitbucket-dc" -> new Expected("/bitbucket", "WEB/site",
                    "/bitbucket/rest/api/latest/projects/WEB/repos/site/commits/%s/builds",
                    Map.of("authorization", "Bearer " + TOKEN), Set.of("key", "state", "name", "url", "description"),
                    "state", "INPROGRESS", "SUCCESSFUL", "FAILED", "key", "url");
            // docs.github.com "Create a commit status"
            case "github" -> new Expected("", "octo/site", "/repos/octo/site/statuses/%s",
                    Map.of("authorization", "Bearer " + TOKEN, "accept", "application/vnd.github+json",
                            "x-github-api-version", "2022-11-28"),
                    Set.of("state", "target_url", "description", "context"),
                    "state", "pending", "success", "failure", "context", "target_url");
            // docs.gitlab.com/api/commits "Set the pipeline status of a commit"; a project path is URL-encoded
            case "gitlab" -> new Expected("/gitlab", "group/sub/site",
                    "/gitlab/api/v4/projects/group%%2Fsub%%2Fsite/statuses/%s",
                    Map.of("private-token", TOKEN), Set.of("state", "ref", "name", "target_url", "description"),
                    "state", "running", "success", "failed", "name", "target_url");
            // Gitea/Forgejo swagger: POST /repos/{owner}/{repo}/statuses/{sha}, CreateStatusOption
            case "gitea" -> new Expected("", "octo/site", "/api/v1/repos/octo/site/statuses/%s",
                    Map.of("authorization", "token " + TOKEN), Set.of("state", "target_url", "description", "context"),
                    "state", "pending", "success", "failure", "context", "target_url");
            default -> throw new IllegalArgumentException(hostKey);
        };
    }

    private static void assertRequest(Expected e, String commit, Request r, String state, String descriptionRegex) {
        String what = r.method() + " " + r.rawPath() + " " + r.bodyText();
        assertEquals("POST", r.method(), what);
        assertEquals(String.format(e.path(), commit), r.rawPath(), what);
        e.headers().forEach((name, value) -> assertEquals(value, r.header(name), name + " of " + what));
        if (!e.headers().containsKey("authorization")) {
            assertNull(r.header("authorization"), "the token goes in its own header only: " + what);
        }
        assertTrue(r.header("content-type").startsWith("application/json"), r.header("content-type"));
        JsonNode body = r.json();
        Set<String> fields = new TreeSet<>();
        for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
            fields.add(it.next());
        }
        assertEquals(new TreeSet<>(e.fields()), fields, what);
        assertEquals(state, body.get(e.stateField()).asText(), what);
        assertEquals("pullhook/default", body.get(e.nameField()).asText(), what);
        assertTrue(body.get(e.linkField()).asText().matches("https://deploy\\.example\\.com/deploys/\\d+"), what);
        assertTrue(body.get("description").asText().matches(descriptionRegex), what);
        if (fields.contains("ref")) {
            assertEquals("main", body.get("ref").asText(), what);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"bitbucket-cloud", "bitbucket-dc", "github", "gitlab", "gitea"})
    void aDeployPostsPendingThenSuccessOnItsCommitAsTheHostDocuments(String hostKey) {
        Expected e = expected(hostKey);
        try (TestDaemon d = TestDaemon.start(repos, keys(hostKey, e.apiPath(), e.repo()))) {
            ObjectId pushed = repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            assertEquals(pushed, repos.siteHead());
            List<Request> requests = host.awaitRequests(2);
            assertEquals(2, requests.size(), host.summary());
            assertRequest(e, pushed.name(), requests.get(0), e.pending(), "deploying \\(deploy \\d+\\)");
            assertRequest(e, pushed.name(), requests.get(1), e.success(), DESCRIPTION_DONE);
            // the status page's link names the deploy
            String link = requests.get(1).json().get(e.linkField()).asText();
            assertEquals("https://deploy.example.com/deploys/" + lastDeployId(d), link);
        }
    }

    @Test
    void aFailedDeployIsReportedAsAFailureWithItsReason() {
        Map<String, String> k = keys("github", "", "octo/site");
        k.put("deploy.command", "echo it broke; exit 3");
        try (TestDaemon d = TestDaemon.start(repos, k)) {
            ObjectId pushed = repos.pushNewCommit();
            assertEquals(500, d.postSigned("/pull-repo?wait=true", "").statusCode());
            List<Request> requests = host.awaitRequests(2);
            assertRequest(expected("github"), pushed.name(), requests.get(0), "pending", "deploying \\(deploy \\d+\\)");
            assertRequest(expected("github"), pushed.name(), requests.get(1), "failure",
                    "failed: deploy\\.command exited with status 3: it broke");
        }
    }

    @Test
    void aFetchThatFailsIsReportedOnTheCommitThePushNamed() {
        try (TestDaemon d = TestDaemon.start(repos, keys("github", "", "octo/site"))) {
            ObjectId pushed = repos.pushNewCommit();
            repos.setSiteRemoteUrl(dir.resolve("no-such-origin.git").toUri().toString());
            byte[] body = ("{\"ref\":\"refs/heads/main\",\"after\":\"" + pushed.name()
                    + "\",\"repository\":{\"full_name\":\"octo/site\"}}").getBytes(StandardCharsets.UTF_8);
            HttpResponse<String> r = d.post("/pull-repo?wait=true", body, "Content-Type", "application/json",
                    "X-GitHub-Event", "push", "X-GitHub-Delivery", UUID.randomUUID().toString(),
                    "X-Hub-Signature-256", Signatures.sha256(TestDaemon.SECRET, body));
            assertEquals(500, r.statusCode(), r.body());
            List<Request> requests = host.awaitRequests(2);
            Request last = requests.get(requests.size() - 1);
            assertRequest(expected("github"), pushed.name(), last, "failure", "failed: fetch .*");
            assertTrue(requests.stream().noneMatch(q -> q.json().get("state").asText().equals("success")), host.summary());
        }
    }

    @Test
    void withoutReportRepoTheRepositoryIsTheOneTheRemoteUrlNames() throws Exception {
        // the site fetches "from GitHub": git rewrites that URL to the local origin, as insteadOf does
        try (Git git = Git.open(repos.site.toFile())) {
            StoredConfig config = git.getRepository().getConfig();
            config.setString("remote", "origin", "url", "git@github.com:octo/derived.git");
            config.setString("url", repos.origin.toUri().toString(), "insteadOf", "git@github.com:octo/derived.git");
            config.save();
        }
        try (TestDaemon d = TestDaemon.start(repos, keys("github", "", null))) {
            ObjectId pushed = repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            List<Request> requests = host.awaitRequests(2);
            assertEquals("/repos/octo/derived/statuses/" + pushed.name(), requests.get(1).rawPath());
        }
    }

    @Test
    void aHostThatDoesNotAnswerHoldsUpNoDeploy() {
        host.hold();
        try (TestDaemon d = TestDaemon.start(repos, keys("github", "", "octo/site"))) {
            ObjectId first = repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            ObjectId second = repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            assertEquals(second, repos.siteHead());
            // both deploys are done while the host still sits on the very first status
            host.awaitRequests(1);
            assertEquals(1, host.requests().size(), host.summary());
            assertEquals(first.name(), host.requests().get(0).rawPath().replaceAll(".*/", ""));
            host.release();
            List<Request> requests = host.awaitRequests(4);
            assertEquals(List.of("pending", "success", "pending", "success"),
                    requests.stream().map(q -> q.json().get("state").asText()).toList());
        }
    }

    /**
     * Also the one test of StatusReporter's log lines, which docs/hosts.md and docs/configuration.md quote: the
     * start line naming where statuses go, and one {@code report failed} line per status, not per try.
     */
    @Test
    void aFailingHostIsTriedThreeTimesLoggedOnceAndCountedWhileTheDeploySucceeds() {
        AtomicInteger calls = new AtomicInteger();
        // the pending fails three times (500), the success goes through
        host.answer(r -> calls.incrementAndGet() <= 3 ? new StatusHost.Answer(500, "{\"message\":\"Server Error\"}")
                : new StatusHost.Answer(201, "{}"));
        try (LogCapture log = new LogCapture();
             TestDaemon d = TestDaemon.start(repos, keys("github", "", "octo/site"))) {
            ObjectId pushed = repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            assertEquals(pushed, repos.siteHead());
            List<Request> requests = host.awaitRequests(4);
            Poll.until("the success counted", () -> reports(d, "sent") == 1);
            assertEquals(1, reports(d, "failed"));
            assertEquals(0, reports(d, "dropped"));
            assertEquals(List.of("pending", "pending", "pending", "success"),
                    requests.stream().map(q -> q.json().get("state").asText()).toList());
            assertEquals(1, log.linesWith("[INFO] StatusReporter - reporting deploys to host=github repo=octo/site as "
                    + host.url("") + "/repos/octo/site/statuses/<commit>").size(), log::text);
            List<String> warned = log.linesWith("[WARN] StatusReporter - report failed host=github state=pending commit="
                    + pushed.abbreviate(7).name() + " deploy=");
            assertEquals(1, warned.size(), log::text);
            assertTrue(warned.get(0).contains(" tries=3 url=" + host.url("") + "/repos/octo/site/statuses/" + pushed.name()
                    + " error=\"HTTP 500: {\"message\":\"Server Error\"}\""), warned.get(0));
        }
    }

    @Test
    void aHostThatIsDownCostsTheDeployNothing() throws Exception {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        Map<String, String> k = keys("gitea", "", "octo/site");
        k.put("report.url", "http://127.0.0.1:" + closedPort);
        try (TestDaemon d = TestDaemon.start(repos, k)) {
            ObjectId pushed = repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            assertEquals(pushed, repos.siteHead());
            Poll.until("the pending counted as failed", () -> reports(d, "failed", "gitea") >= 1);
            assertEquals(0, reports(d, "sent", "gitea"));
            // the host comes back: the success, queued behind the pending's tries, goes out at its next try,
            // so the stop has nothing left to wait for (else its 5 s for queued statuses)
            try (HostBack back = HostBack.on(closedPort)) {
                back.awaitRequest();
                Poll.until("the success sent", () -> reports(d, "sent", "gitea") == 1);
            }
        }
    }

    /** A host's API back on the port it was down on: it answers every request 201. */
    private record HostBack(HttpServer server, CountDownLatch requested) implements AutoCloseable {
        static HostBack on(int port) throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
            CountDownLatch requested = new CountDownLatch(1);
            server.createContext("/", exchange -> {
                exchange.getRequestBody().readAllBytes();
                exchange.sendResponseHeaders(201, -1);
                exchange.close();
                requested.countDown();
            });
            server.start();
            return new HostBack(server, requested);
        }

        void awaitRequest() throws InterruptedException {
            assertTrue(requested.await(30, TimeUnit.SECONDS), "no status came once the host was back");
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    @Test
    void theTokenIsNeverLoggedNorShownEvenWhenTheHostEchoesIt() {
        // a host that answers 401 and quotes the request's own header back
        host.answer(r -> new StatusHost.Answer(401, "{\"error\":\"bad credentials: " + r.header("authorization") + "\"}"));
        try (LogCapture log = new LogCapture();
             TestDaemon d = TestDaemon.start(repos, keys("bitbucket-cloud", "", "team/site"))) {
            repos.pushNewCommit();
            assertEquals(200, d.postSigned("/pull-repo?wait=true", "").statusCode());
            host.awaitRequests(2);
            Poll.until("both statuses counted as failed", () -> reports(d, "failed", "bitbucket-cloud") == 2);
            // a 401 is not worth another try: one request per status
            assertEquals(2, host.requests().size(), host.summary());
            List<String> warned = log.linesWith("report failed", "HTTP 401");
            assertEquals(2, warned.size(), log.text());
            assertTrue(warned.get(0).contains("Bearer ****"), warned.get(0));
            assertTrue(d.daemon.config().toString().contains("report.token=**** (file " + tokenFile),
                    "the config line names the file");
            assertFalse(d.daemon.config().toString().contains(TOKEN));
            assertFalse(log.text().contains(TOKEN), "the token is in the log");
            assertFalse(d.get("/status").body().contains(TOKEN));
            assertFalse(d.get("/metrics").body().contains(TOKEN));
        }
    }

    private static long lastDeployId(TestDaemon d) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(d.get("/status").body())
                    .path("sites").get(0).path("deploys").get(0).path("id").asLong();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double reports(TestDaemon d, String outcome) {
        return reports(d, outcome, "github");
    }

    private static double reports(TestDaemon d, String outcome, String hostKey) {
        Double v = PrometheusText.parse(d.get("/metrics").body()).value("pullhook_report_requests_total",
                "site", "default", "host", hostKey, "outcome", outcome);
        return v == null ? -1 : v;
    }
}

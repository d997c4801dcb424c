package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.GatedGitServer;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end: a real daemon on an ephemeral port deploying real repositories on disk, driven by real signed
 * HTTP requests. One daemon serves the whole class (each start costs about a second); every test works
 * from whatever the previous one left, waits until the daemon is idle first, and puts back any remote URL
 * or lock file it changed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PullRepoIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_BODY_BYTES = 2048;

    @TempDir
    static Path root;
    private TestRepos repos;
    private TestDaemon daemon;
    private int files;

    @BeforeAll
    void startDaemon() {
        repos = TestRepos.create(root.resolve("shared"));
        daemon = TestDaemon.start(repos, Map.of(
                "webhook.max.body.bytes", Integer.toString(MAX_BODY_BYTES),
                "deploy.lock.wait.seconds", "0"));
    }

    @AfterAll
    void stopDaemon() {
        if (daemon != null) {
            daemon.close();
        }
        if (repos != null) {
            repos.close();
        }
    }

    @BeforeEach
    void waitUntilIdle() {
        awaitIdle(daemon);
    }

    // ---- helpers --------------------------------------------------------------------------------------

    /** Asserts a 500 "failed" answer and returns its body. */
    private static JsonNode assertFailed(HttpResponse<String> response) {
        assertEquals(500, response.statusCode(), response::body);
        JsonNode body = json(response);
        assertEquals("failed", body.get("status").asText(), response::body);
        return body;
    }

    private static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + response.body(), e);
        }
    }

    /** {@code reported} names {@code expected}: its full id, or an abbreviation of at least 7 digits. */
    private static void assertSameCommit(ObjectId expected, String reported) {
        assertTrue(reported != null && reported.length() >= 7 && expected.name().startsWith(reported),
                () -> "expected commit " + expected.name() + ", got " + reported);
    }

    private static void assertSameCommit(ObjectId expected, JsonNode reported) {
        assertSameCommit(expected, reported == null || reported.isNull() ? null : reported.asText());
    }

    /** A trimmed GitHub push payload for {@code after}. */
    private static byte[] payload(ObjectId after) {
        return ("{\"ref\":\"refs/heads/main\",\"after\":\"" + after.name() + "\",\"repository\":{\"full_name\":\"octo/site\"}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Commits and pushes a new file with a name not used before; returns the commit. */
    private ObjectId pushFile(String prefix) {
        files++;
        return repos.commitAndPush(prefix + "-" + files + ".txt", prefix + " " + files + "\n", prefix + " " + files);
    }

    private String lastPushedFile(String prefix) {
        return prefix + "-" + files + ".txt";
    }

    private HttpResponse<String> deployAndWait() {
        return daemon.postSigned("/pull-repo?wait=true", "{\"ref\":\"refs/heads/main\"}");
    }

    private static JsonNode status(TestDaemon d) {
        HttpResponse<String> response = d.get("/status");
        assertEquals(200, response.statusCode(), response::body);
        return json(response);
    }

    private static void awaitIdle(TestDaemon d) {
        Poll.until("the daemon to be idle", () -> status(d).get("state").asText().equals("idle"));
    }

    private long lastDeployId() {
        JsonNode deploys = status(daemon).get("deploys");
        return deploys.isEmpty() ? 0 : deploys.get(0).get("id").asLong();
    }

    /** Deploys recorded after {@code lastId}, newest first. */
    private List<JsonNode> deploysAfter(long lastId) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode d : status(daemon).get("deploys")) {
            if (d.get("id").asLong() > lastId) {
                out.add(d);
            }
        }
        return out;
    }

    private void assertDeployed(HttpResponse<String> response, ObjectId to) {
        assertEquals(200, response.statusCode(), response::body);
        JsonNode body = json(response);
        assertEquals("deployed", body.get("status").asText(), response::body);
        assertSameCommit(to, body.get("to"));
        assertEquals(to, repos.siteHead());
    }

    private String originUrl() {
        return repos.origin.toUri().toString();
    }

    // ---- deploying -----------------------------------------------------------------------------------

    @Test
    void signedPushIsQueuedAtOnceAndDeployedInTheBackground() {
        ObjectId pushed = pushFile("queued");
        String file = lastPushedFile("queued");
        HttpResponse<String> response = daemon.postSigned("/pull-repo", new String(payload(pushed), StandardCharsets.UTF_8),
                "X-GitHub-Event", "push", "X-GitHub-Delivery", "queued-delivery");

        assertEquals(202, response.statusCode(), response::body);
        JsonNode body = json(response);
        assertEquals("queued", body.get("status").asText());
        assertTrue(body.get("id").isIntegralNumber(), response::body);

        Poll.until("the pushed file in the working copy", () -> repos.siteFile(file) != null);
        Poll.until("the working copy at the pushed commit", () -> pushed.equals(repos.siteHead()));
    }

    @Test
    void waitTrueAnswersWithTheFinishedDeploy() {
        deployAndWait();
        ObjectId before = repos.siteHead();
        ObjectId pushed = pushFile("waited");

        HttpResponse<String> response = daemon.postSigned("/pull-repo?wait=true", "{}");

        assertDeployed(response, pushed);
        JsonNode body = json(response);
        assertSameCommit(before, body.get("from"));
        assertTrue(body.get("ms").asLong() >= 0, response::body);
        assertTrue(body.get("id").isIntegralNumber(), response::body);
        assertNotNull(repos.siteFile(lastPushedFile("waited")));
    }

    @Test
    void deployWithNothingNewLeavesTheWorkingCopyWhereItIs() {
        deployAndWait();
        ObjectId head = repos.siteHead();
        HttpResponse<String> response = deployAndWait();
        assertDeployed(response, head);
        assertSameCommit(head, json(response).get("from"));
    }

    @Test
    void followsABranchForcePushedBackwards() {
        ObjectId old = pushFile("before-force");
        ObjectId newer = pushFile("rewritten");
        String newerFile = lastPushedFile("rewritten");
        assertDeployed(deployAndWait(), newer);
        assertNotNull(repos.siteFile(newerFile));

        repos.forcePushTo(old);
        assertEquals(old, repos.originTip());
        HttpResponse<String> response = deployAndWait();

        assertDeployed(response, old);
        assertSameCommit(newer, json(response).get("from"));
        assertNull(repos.siteFile(newerFile), "the file only the discarded commit had is gone");
    }

    @Test
    void overwritesLocalEditsToTrackedFilesAndKeepsUntrackedFiles() throws Exception {
        deployAndWait();
        Path readme = repos.site.resolve("README.md");
        Path notes = repos.site.resolve("untracked-notes.txt");
        Files.writeString(readme, "edited on the server\n");
        Files.writeString(notes, "keep me\n");
        try {
            ObjectId pushed = pushFile("after-edit");
            assertDeployed(deployAndWait(), pushed);
            assertEquals(Files.readString(repos.dev.resolve("README.md")), Files.readString(readme));
            assertEquals("keep me\n", Files.readString(notes));
        } finally {
            Files.deleteIfExists(notes);
        }
    }

    /**
     * Signature formats only (a ping, so the body is not read): with a host's event header each verifies;
     * without one the request is a manual trigger, which none of them proves.
     */
    @Test
    void acceptsEveryHostsSignatureFormatOverHttp() {
        byte[] body = "{\"any\":\"thing\"}".getBytes(StandardCharsets.UTF_8);
        String hex = Signatures.hmacHex("HmacSHA256", SECRET, body);
        Map<String, String[]> forms = new java.util.LinkedHashMap<>();
        forms.put("GitHub", new String[]{"X-Hub-Signature-256", "sha256=" + hex});
        forms.put("Bitbucket", new String[]{"X-Hub-Signature", "sha256=" + hex});
        forms.put("GitHub legacy", new String[]{"X-Hub-Signature", Signatures.sha1(SECRET, body)});
        forms.put("Gitea", new String[]{"X-Gitea-Signature", hex, "X-Hub-Signature-256", "sha256=" + hex,
                "X-Hub-Signature", Signatures.sha1(SECRET, body)});
        forms.put("Forgejo", new String[]{"X-Forgejo-Signature", hex, "X-Gitea-Signature", hex});
        forms.put("Gogs", new String[]{"X-Gogs-Signature", hex});
        forms.put("GitLab", new String[]{"X-Gitlab-Token", SECRET});
        forms.put("tutorial", new String[]{"X-Hub-Signature", SECRET});
        forms.forEach((host, headers) -> {
            String[] asDelivery = java.util.stream.Stream.concat(java.util.Arrays.stream(headers),
                    java.util.stream.Stream.of("X-GitHub-Event", "ping")).toArray(String[]::new);
            HttpResponse<String> response = daemon.post("/pull-repo", body, asDelivery);
            assertEquals(200, response.statusCode(), () -> host + ": " + response.body());
            assertEquals("{\"status\":\"pong\"}", response.body(), host);
            HttpResponse<String> manual = daemon.post("/pull-repo", body, headers);
            assertEquals(403, manual.statusCode(), () -> host + " without an event header: " + manual.body());
        });
    }

    @Test
    void emptySignedBodyIsAccepted() {
        HttpResponse<String> response = daemon.post("/pull-repo", new byte[0],
                "X-Pullhook-Auth", Signatures.manual(SECRET, "/pull-repo", new byte[0]));
        assertEquals(202, response.statusCode(), response::body);
    }

    // ---- refusing -------------------------------------------------------------------------------------

    @Test
    void rejectsWrongSecretWithJsonReasonAndLeavesTheWorkingCopyUntouched() {
        deployAndWait();
        ObjectId before = repos.siteHead();
        long lastId = lastDeployId();
        ObjectId pushed = pushFile("forged");
        byte[] body = payload(pushed);

        List<HttpResponse<String>> responses = List.of(
                daemon.post("/pull-repo?wait=true", body, "X-Hub-Signature-256", Signatures.sha256("not the secret", body)),
                daemon.post("/pull-repo?wait=true", body),
                daemon.post("/pull-repo?wait=true", body, "X-Hub-Signature-256", ""),
                daemon.post("/pull-repo?wait=true", body, "X-Gitlab-Token", "wrong-token-value"),
                daemon.post("/pull-repo?wait=true", body, "X-Hub-Signature-256", "sha512=" + "ab".repeat(64)),
                daemon.post("/pull-repo?wait=true", body, "X-Hub-Signature-256", Signatures.sha256(SECRET, body),
                        "X-Gitea-Signature", "0".repeat(64)));

        for (HttpResponse<String> response : responses) {
            assertEquals(403, response.statusCode(), response::body);
            JsonNode json = json(response);
            assertEquals("forbidden", json.get("status").asText());
            assertFalse(json.get("error").asText().isBlank(), response::body);
            assertFalse(response.body().contains(SECRET), response::body);
        }
        assertEquals(lastId, lastDeployId(), "no deploy was started");
        assertEquals(before, repos.siteHead());
        assertNull(repos.siteFile(lastPushedFile("forged")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET", "PUT", "DELETE", "PATCH"})
    void onlyPostIsAllowedOnPullRepo(String method) {
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(daemon.uri("/pull-repo"))
                .timeout(Duration.ofSeconds(30))
                .header("X-Hub-Signature-256", Signatures.sha256(SECRET, body))
                .method(method, method.equals("GET") || method.equals("DELETE")
                        ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        long lastId = lastDeployId();
        HttpResponse<String> response = daemon.send(request);
        assertEquals(405, response.statusCode(), response::body);
        assertEquals("method not allowed", json(response).get("status").asText(), response::body);
        assertEquals(lastId, lastDeployId());
    }

    @Test
    void methodNotAllowedAnswerNamesPostInAllow() {
        HttpResponse<String> response = daemon.get("/pull-repo");
        assertEquals(405, response.statusCode());
        assertTrue(response.headers().firstValue("Allow").orElse("").contains("POST"), response.headers()::toString);
    }

    @Test
    void unknownPathIsNotFoundAsJson() {
        HttpResponse<String> response = daemon.get("/no-such-thing");
        assertEquals(404, response.statusCode());
        assertEquals("not found", json(response).get("status").asText());
    }

    @Test
    void bodyOverTheLimitIsRefusedWith413() {
        byte[] big = new byte[MAX_BODY_BYTES * 2];
        java.util.Arrays.fill(big, (byte) 'x');
        long lastId = lastDeployId();
        HttpResponse<String> response = daemon.post("/pull-repo", big, "X-Hub-Signature-256", Signatures.sha256(SECRET, big));
        assertEquals(413, response.statusCode(), response::body);
        JsonNode json = json(response);
        assertEquals("too large", json.get("status").asText());
        assertTrue(json.get("error").asText().contains("webhook.max.body.bytes"), response::body);
        assertEquals(lastId, lastDeployId());
    }

    @Test
    void bodyOverTheLimitIsRefusedEvenWithoutContentLength() {
        byte[] big = new byte[MAX_BODY_BYTES * 4];
        java.util.Arrays.fill(big, (byte) 'y');
        HttpRequest chunked = HttpRequest.newBuilder(daemon.uri("/pull-repo"))
                .timeout(Duration.ofSeconds(30))
                .header("X-Hub-Signature-256", Signatures.sha256(SECRET, big))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
                .build();
        long lastId = lastDeployId();
        HttpResponse<String> response = daemon.send(chunked);
        assertEquals(413, response.statusCode(), response::body);
        assertEquals(lastId, lastDeployId());
    }

    @Test
    void bodyExactlyAtTheLimitIsAccepted() {
        byte[] body = new byte[MAX_BODY_BYTES];
        java.util.Arrays.fill(body, (byte) ' ');
        HttpResponse<String> response = daemon.post("/pull-repo", body, "X-Pullhook-Auth",
                Signatures.manual(SECRET, "/pull-repo", body));
        assertEquals(202, response.statusCode(), response::body);
    }

    /** Its own daemon with a 1 s wait, and a remote that holds the fetch: the deploy surely outlasts the wait. */
    @Test
    void waitTrueAnswers202QueuedWhenTheDeployOutlastsTheWaitTimeout(@TempDir Path dir) throws Exception {
        try (TestRepos own = TestRepos.create(dir);
             GatedGitServer git = GatedGitServer.serve(own.origin)) {
            own.setSiteRemoteUrl(git.url());
            try (TestDaemon d = TestDaemon.start(own, Map.of("webhook.wait.timeout.seconds", "1"))) {
                ObjectId pushed = own.pushNewCommit();
                git.hold();
                HttpResponse<String> response = d.postSigned("/pull-repo?wait=true", "{}");
                assertEquals(202, response.statusCode(), response::body);
                assertEquals("queued", json(response).get("status").asText());
                assertTrue(git.awaitHeldFetch());
                git.release();
                Poll.until("the deploy to finish after the answer", () -> pushed.equals(own.siteHead()));
                awaitIdle(d);
            } finally {
                git.release();
            }
        }
    }

    // ---- failures and recovery -------------------------------------------------------------------------

    @Test
    void unreachableRemoteFailsTheDeployAndTheNextOneWorksOnceRestored() {
        deployAndWait();
        ObjectId before = repos.siteHead();
        ObjectId pushed = pushFile("after-outage");
        repos.setSiteRemoteUrl(root.resolve("no-such-origin.git").toUri().toString());
        try {
            JsonNode body = assertFailed(deployAndWait());
            String error = body.get("error").asText();
            assertTrue(error.contains("fetch"), error);

            JsonNode last = status(daemon).get("deploys").get(0);
            assertEquals(body.get("id").asLong(), last.get("id").asLong());
            assertEquals("failed", last.get("outcome").asText());
            assertEquals(error, last.get("error").asText());
            assertTrue(last.get("to").isNull(), last::toString);
            assertEquals(before, repos.siteHead());
        } finally {
            repos.setSiteRemoteUrl(originUrl());
        }

        assertDeployed(deployAndWait(), pushed);
        JsonNode last = status(daemon).get("deploys").get(0);
        assertEquals("deployed", last.get("outcome").asText());
        assertTrue(last.get("error").isNull(), last::toString);
    }

    /**
     * A lock younger than deploy.lock.stale.seconds means another git process is working: the deploy waits
     * (here deploy.lock.wait.seconds=0) and fails, touching nothing. It is the case a crashed git leaves too,
     * until the lock is old enough to be called stale.
     */
    @Test
    void heldIndexLockFailsTheDeployWithAReasonNamingTheLockAndTheNextOneWorksOnceRemoved() throws Exception {
        deployAndWait();
        ObjectId before = repos.siteHead();
        ObjectId pushed = pushFile("after-lock");
        String file = lastPushedFile("after-lock");
        Path lock = repos.site.resolve(".git").resolve("index.lock");
        Files.createFile(lock);
        try {
            String error = assertFailed(deployAndWait()).get("error").asText();
            assertTrue(error.contains("lock"), error);
            assertTrue(error.contains("index.lock"), error);
            assertNull(repos.siteFile(file), "the working tree did not change");
            assertEquals(before, repos.siteHead(), "HEAD did not move");
            assertTrue(Files.exists(lock), "a lock that may be live is not broken");
        } finally {
            Files.deleteIfExists(lock);
        }
        assertDeployed(deployAndWait(), pushed);
        assertNotNull(repos.siteFile(file));
    }

    @Test
    void indexLockOlderThanTheStaleLimitIsRemovedAndTheDeployGoesOn() throws Exception {
        deployAndWait();
        ObjectId pushed = pushFile("stale-lock");
        Path lock = repos.site.resolve(".git").resolve("index.lock");
        Files.createFile(lock);
        try {
            Files.setLastModifiedTime(lock, FileTime.from(Instant.now().minus(Duration.ofHours(1))));
            assertDeployed(deployAndWait(), pushed);
            assertFalse(Files.exists(lock), "the stale lock was removed");
            assertNotNull(repos.siteFile(lastPushedFile("stale-lock")));
        } finally {
            Files.deleteIfExists(lock);
        }
    }

    /** A failed deploy must not make the host's retry of the same push look already deployed. */
    @Test
    void redeliveryAfterALockIsRemovedDeploysThePush() throws Exception {
        deployAndWait();
        ObjectId pushed = pushFile("lock-retry");
        String file = lastPushedFile("lock-retry");
        String body = new String(payload(pushed), StandardCharsets.UTF_8);
        Path lock = repos.site.resolve(".git").resolve("index.lock");
        Files.createFile(lock);
        try {
            HttpResponse<String> failed = daemon.postSigned("/pull-repo?wait=true", body,
                    "X-GitHub-Event", "push", "X-GitHub-Delivery", "lock-retry-delivery");
            assertEquals(500, failed.statusCode(), failed::body);
        } finally {
            Files.deleteIfExists(lock);
        }
        // GitHub keeps the delivery id on redelivery; a failed delivery may be retried
        HttpResponse<String> retried = daemon.postSigned("/pull-repo?wait=true", body,
                "X-GitHub-Event", "push", "X-GitHub-Delivery", "lock-retry-delivery");
        assertDeployed(retried, pushed);
        assertNotNull(repos.siteFile(file), "the pushed file is deployed");
    }

    /**
     * JGit's reset moves the branch before it locks the index. A lock that appears after the lock check
     * (here: while the fetch is held) makes that reset fail: HEAD must then stay on the old commit, or the
     * host's retry of the push would be answered "up-to-date" with the old files on disk.
     */
    @Test
    void resetFailingOnALockTakenDuringTheFetchLeavesHeadOnTheOldCommit(@TempDir Path dir) throws Exception {
        try (TestRepos own = TestRepos.create(dir);
             GatedGitServer git = GatedGitServer.serve(own.origin)) {
            own.setSiteRemoteUrl(git.url());
            try (TestDaemon d = TestDaemon.start(own, Map.of("deploy.local.changes", "discard",
                    "deploy.lock.wait.seconds", "0", "deploy.on.start", "false"))) {
                ObjectId before = own.siteHead();
                ObjectId pushed = own.pushNewCommit();
                // a local edit keeps the deploy off the changed-paths fast path, on JGit's own reset
                Files.writeString(own.site.resolve("README.md"), "edited on the server\n");
                String body = new String(payload(pushed), StandardCharsets.UTF_8);
                git.hold();
                CompletableFuture<HttpResponse<String>> answer = CompletableFuture.supplyAsync(() -> d.postSigned(
                        "/pull-repo?wait=true", body, "X-GitHub-Event", "push", "X-GitHub-Delivery", "lock-race-1"));
                assertTrue(git.awaitHeldFetch());
                Path lock = own.site.resolve(".git").resolve("index.lock");
                Files.createFile(lock);
                try {
                    git.release();
                    HttpResponse<String> failed = answer.get(60, TimeUnit.SECONDS);
                    assertEquals(500, failed.statusCode(), failed::body);
                    assertTrue(json(failed).get("error").asText().contains("index.lock"), failed::body);
                    assertEquals(before, own.siteHead(), "HEAD did not move without its files");
                } finally {
                    Files.deleteIfExists(lock);
                }
                HttpResponse<String> retried = d.postSigned("/pull-repo?wait=true", body,
                        "X-GitHub-Event", "push", "X-GitHub-Delivery", "lock-race-1");
                assertEquals(200, retried.statusCode(), retried::body);
                assertEquals(pushed, own.siteHead());
            } finally {
                git.release();
            }
        }
    }

    // ---- health and status ----------------------------------------------------------------------------

    @Test
    void healthAnswersOk() {
        HttpResponse<String> response = daemon.get("/health");
        assertEquals(200, response.statusCode());
        assertEquals("ok", json(response).get("status").asText());
        assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("application/json"));
    }

    @Test
    void statusDescribesBranchHeadStateAndRecentDeploys() {
        deployAndWait();
        ObjectId from = repos.siteHead();
        ObjectId pushed = pushFile("status");
        HttpResponse<String> deployed = daemon.postSigned("/pull-repo?wait=true",
                new String(payload(pushed), StandardCharsets.UTF_8),
                "X-GitHub-Event", "push", "X-GitHub-Delivery", "status-delivery-1");
        assertDeployed(deployed, pushed);
        long id = json(deployed).get("id").asLong();

        JsonNode status = status(daemon);
        assertEquals("main", status.get("branch").asText());
        assertEquals("origin", status.get("remote").asText());
        String head = status.get("head").asText();
        assertTrue(head.length() >= 7 && pushed.name().startsWith(head), "head " + head + " is " + pushed.name());
        assertEquals("idle", status.get("state").asText());

        JsonNode last = status.get("deploys").get(0);
        assertEquals(id, last.get("id").asLong());
        assertEquals("webhook", last.get("trigger").asText());
        assertEquals("status-delivery-1", last.get("deliveries").get(0).asText());
        Instant started = Instant.parse(last.get("started").asText());
        assertFalse(started.isAfter(Instant.now()));
        assertTrue(last.get("ms").asLong() >= 0);
        assertSameCommit(from, last.get("from"));
        assertSameCommit(pushed, last.get("to"));
        assertEquals("deployed", last.get("outcome").asText());
        assertTrue(last.has("error") && last.get("error").isNull(), last::toString);
    }

    // ---- bursts ---------------------------------------------------------------------------------------

    /**
     * The remote holds the first deploy's fetch until all 20 answers are in, so every request arrives while
     * a deploy runs, whatever the machine's speed: the test cannot pass or fail by timing.
     */
    @Test
    void burstOfTwentySignedPostsRunsAtMostTwoDeploysAndEndsAtThePushedCommit() throws Exception {
        deployAndWait();
        long lastId = lastDeployId();
        ObjectId pushed = pushFile("burst");
        byte[] body = payload(pushed);
        String signature = Signatures.sha256(SECRET, body);

        try (GatedGitServer git = GatedGitServer.serve(repos.origin)) {
            repos.setSiteRemoteUrl(git.url());
            try {
                git.hold();
                List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    HttpRequest request = HttpRequest.newBuilder(daemon.uri("/pull-repo"))
                            .timeout(Duration.ofSeconds(60))
                            .header("X-Hub-Signature-256", signature)
                            .header("X-GitHub-Event", "push")
                            .header("X-GitHub-Delivery", "burst-" + i)
                            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                            .build();
                    answers.add(daemon.http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
                }
                CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
                assertTrue(git.awaitHeldFetch(), "the first deploy reached the remote");
                git.release();

                Set<Long> answeredIds = new HashSet<>();
                for (CompletableFuture<HttpResponse<String>> answer : answers) {
                    HttpResponse<String> response = answer.get();
                    assertEquals(202, response.statusCode(), response::body);
                    answeredIds.add(json(response).get("id").asLong());
                }

                awaitIdle(daemon);
                assertEquals(pushed, repos.siteHead());
                assertNotNull(repos.siteFile(lastPushedFile("burst")));
                List<JsonNode> deploys = deploysAfter(lastId);
                assertTrue(deploys.size() >= 1 && deploys.size() <= 2, () -> "deploys: " + deploys);
                Set<Long> ran = new HashSet<>();
                Set<String> deliveries = new HashSet<>();
                for (JsonNode d : deploys) {
                    assertEquals("deployed", d.get("outcome").asText(), d::toString);
                    ran.add(d.get("id").asLong());
                    d.get("deliveries").forEach(x -> deliveries.add(x.asText()));
                }
                assertEquals(ran, answeredIds, "every answer names a deploy that ran");
                assertEquals(20, deliveries.size(), () -> "every delivery is covered: " + deliveries);
                assertSameCommit(pushed, deploys.get(0).get("to"));
            } finally {
                git.release();
                repos.setSiteRemoteUrl(originUrl());
            }
        }
    }
}

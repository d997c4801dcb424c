package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.GatedGitServer;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@link Daemon#stop()} (SIGTERM) does to a deploy in progress. The deploy's fetch is held at a real
 * git server ({@link GatedGitServer}) for as long as the test needs, so "a deploy is running" is a fact the
 * test controls, not a race it hopes to win.
 */
class ShutdownIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static JsonNode json(HttpResponse<String> response) {
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + response.body(), e);
        }
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(TestDaemon d, String pathAndQuery) {
        byte[] body = "{}".getBytes(StandardCharsets.UTF_8);
        HttpRequest request = HttpRequest.newBuilder(d.uri(pathAndQuery))
                .timeout(Duration.ofSeconds(60))
                .header("X-Pullhook-Auth", Signatures.manual(SECRET, d.uri(pathAndQuery).getPath(), body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        return d.http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    /** The live deploy worker threads of every daemon in this JVM. */
    private static Set<Thread> deployThreads() {
        Set<Thread> found = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("deploy") && t.isAlive()) {
                found.add(t);
            }
        }
        return found;
    }

    private static String state(TestDaemon d) {
        return json(d.get("/status")).get("state").asText();
    }

    /** {@code health} was made while the daemon ran: a stopped server no longer knows its port. */
    private static void assertCannotConnect(URI health) {
        HttpClient fresh = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest request = HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(10)).GET().build();
        assertThrows(ConnectException.class, () -> fresh.send(request, HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void stopLetsTheRunningDeployFinishAnswersItsWaiterCancelsTheQueuedOneAndThenRefusesConnections()
            throws Exception {
        try (TestRepos repos = TestRepos.create(dir);
             GatedGitServer git = GatedGitServer.serve(repos.origin)) {
            repos.setSiteRemoteUrl(git.url());
            TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"));
            URI health = d.uri("/health");
            try {
                ObjectId pushed = repos.pushNewCommit();
                git.hold();
                CompletableFuture<HttpResponse<String>> running = postAsync(d, "/pull-repo?wait=true");
                assertTrue(git.awaitHeldFetch(), "the deploy reached the remote");
                CompletableFuture<HttpResponse<String>> queued = postAsync(d, "/pull-repo?wait=true");
                Poll.until("a second deploy queued behind the running one", () -> state(d).equals("queued"));

                Thread stopper = new Thread(d::close, "test-stop");
                stopper.start();

                HttpResponse<String> cancelled = queued.get(30, TimeUnit.SECONDS);
                assertEquals(503, cancelled.statusCode(), cancelled::body);
                assertEquals("cancelled", json(cancelled).get("status").asText());

                // the fetch is still held, so the deploy cannot have ended and stop() must still be waiting
                assertTrue(stopper.isAlive(), "stop() waits for the running deploy");
                assertFalse(running.isDone(), "the waiting request has no answer yet");
                HttpResponse<String> late = d.postSigned("/pull-repo", "{}");
                assertEquals(503, late.statusCode(), late::body);

                git.release();
                HttpResponse<String> finished = running.get(30, TimeUnit.SECONDS);
                assertEquals(200, finished.statusCode(), finished::body);
                assertEquals("deployed", json(finished).get("status").asText());
                String to = json(finished).get("to").asText();
                assertTrue(to.length() >= 7 && pushed.name().startsWith(to), to);

                stopper.join(Poll.PATIENCE.toMillis());
                assertFalse(stopper.isAlive(), "stop() returned");
                assertEquals(pushed, repos.siteHead());
                assertCannotConnect(health);
            } finally {
                git.release();
                d.close();
            }
        }
    }

    @Test
    void stopGivesUpWaitingForAStuckDeployAfterTheDrainTimeout() throws Exception {
        try (TestRepos repos = TestRepos.create(dir);
             GatedGitServer git = GatedGitServer.serve(repos.origin)) {
            repos.setSiteRemoteUrl(git.url());
            Set<Thread> otherWorkers = deployThreads();
            TestDaemon d = TestDaemon.start(repos, Map.of("shutdown.drain.seconds", "0", "deploy.on.start", "false"));
            URI health = d.uri("/health");
            try {
                ObjectId pushed = repos.pushNewCommit();
                git.hold();
                assertEquals(202, postAsync(d, "/pull-repo").get(30, TimeUnit.SECONDS).statusCode());
                assertTrue(git.awaitHeldFetch(), "the deploy reached the remote");

                Thread stopper = new Thread(d::close, "test-stop");
                stopper.start();
                stopper.join(Poll.PATIENCE.toMillis());

                assertFalse(stopper.isAlive(), "stop() returned although the deploy was still held");
                assertCannotConnect(health);

                // let the abandoned deploy end before the temporary folder is deleted under it
                git.release();
                Poll.until("the abandoned deploy to end", () -> {
                    Set<Thread> ours = deployThreads();
                    ours.removeAll(otherWorkers);
                    return ours.isEmpty() && pushed.equals(repos.siteHead());
                });
            } finally {
                git.release();
                d.close();
            }
        }
    }

    /**
     * A waiter of a deploy that is stuck past the drain timeout keeps its request open; Jetty gives it 5 s,
     * then stops anyway and throws (a WARN). The daemon must still release what it holds (the state folder's
     * lock), or a restart in the same process fails.
     */
    @Test
    void stopWithARequestStillOpenStillReleasesTheStateFolder() throws Exception {
        try (TestRepos repos = TestRepos.create(dir);
             GatedGitServer git = GatedGitServer.serve(repos.origin)) {
            repos.setSiteRemoteUrl(git.url());
            Map<String, String> keys = Map.of("shutdown.drain.seconds", "0", "deploy.on.start", "false");
            TestDaemon d = TestDaemon.start(repos, keys);
            try {
                repos.pushNewCommit();
                git.hold();
                CompletableFuture<HttpResponse<String>> waiter = postAsync(d, "/pull-repo?wait=true");
                assertTrue(git.awaitHeldFetch(), "the deploy reached the remote");

                d.close();

                waiter.handle((r, e) -> null).get(30, TimeUnit.SECONDS);
                git.release();
                repos.setSiteRemoteUrl(repos.origin.toUri().toString());
                try (TestDaemon again = TestDaemon.start(repos, keys)) {
                    assertEquals(200, again.get("/health").statusCode(), "a new daemon takes the state folder");
                }
            } finally {
                git.release();
                d.close();
            }
        }
    }

    @Test
    void stopWhenIdleReturnsIsRepeatableAndLaterRequestsCannotConnect() {
        try (TestRepos repos = TestRepos.create(dir)) {
            TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"));
            URI health = d.uri("/health");
            assertEquals(200, d.get("/health").statusCode());
            d.close();
            d.close();
            assertCannotConnect(health);
        }
    }
}

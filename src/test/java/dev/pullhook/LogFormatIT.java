package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.pullhook.testing.TestDaemon.SECRET;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The log lines operators grep for, pinned in one place: every other test asserts on outcomes (status codes,
 * answers, {@code /status}, the history, metrics, files) and may reword a message freely; here a reworded
 * or reordered line fails, and with it the examples docs/operations.md and docs/hosts.md quote (DocsTest
 * checks only that a quoted message still exists in the source, not that it is still logged, nor its keys).
 *
 * <p>Pinned here, each in its own test, from one daemon: the start-up lines (listening, warm-up, the start
 * check), the request line ({@code HttpApi - http}), each webhook decision ({@code WebhookReceiver - webhook
 * accepted|ignored|ping|duplicate|up-to-date|rejected|invalid}), {@code deploy done} and {@code deploy failed}
 * with their keys, the command's exit and output, what was saved of local work, the health check's lines,
 * {@code rollback accepted|rejected}, the stop lines; and that no secret, signature or token is ever logged.
 * The few formats of one feature are pinned beside the feature's scenario, because only that test runs it:
 * {@code report failed} (CommitStatusIT), {@code keeping the old release} (AtomicDeployIT), {@code state
 * permissions tightened} (SecretHygieneIT), {@code tree watch off} (WatchedLocalChangesTest), the rejection
 * budget (RejectionLogIT), {@code http warm-up answered} (HttpWarmUpIT), the JDK-replaced warning
 * (JavaRuntimeWatchTest), and {@code reset=changed-paths|full}, the only outward sign of which reset ran
 * (ChangedPathsResetIT). See docs/architecture.md, "Tests and log lines".
 *
 * <p>The tests share the daemon and run in order: the first ones count lines, so nothing may come before them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LogFormatIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Main's order of a request line's keys; the number of them is asserted per test. */
    private static final String REQUEST_LINE = "\\[INFO\\] HttpApi - http method=POST path=/pull-repo status=";
    private static final String INSTANT = "\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z";

    private Path dir;
    private TestRepos repos;
    private TestDaemon daemon;
    private LogCapture log;

    @BeforeAll
    void start(@TempDir Path tmp) {
        dir = tmp;
        log = new LogCapture();
        repos = TestRepos.create(tmp.resolve("repos"));
        // a command and a health check on every deploy, so that their lines are there to pin; the check fails
        // while health.txt says "broken", and a failed check restores the commit deployed before
        daemon = TestDaemon.start(repos, Map.of(
                "deploy.command", "echo built $PULLHOOK_TO",
                "deploy.check.command", "! grep -q broken health.txt 2>/dev/null",
                "deploy.check.retries", "0",
                "deploy.rollback.on.failure", "true",
                "server.warmup", "true"));  // its warm-up line is one of those pinned
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (repos != null) {
            repos.close();
        }
        if (log != null) {
            log.close();
        }
    }

    @BeforeEach
    void idle() {
        Poll.until("the daemon to be idle", () -> "idle".equals(status().path("state").asText()));
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private JsonNode status() {
        try {
            return JSON.readTree(daemon.get("/status").body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode json(HttpResponse<String> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + r.body(), e);
        }
    }

    private static String abbrev(ObjectId commit) {
        return commit.abbreviate(7).name();
    }

    private List<String> matching(String regex) {
        Pattern p = Pattern.compile(regex);
        return log.lines().stream().filter(l -> p.matcher(l).find()).toList();
    }

    /**
     * The one line matching {@code regex} (found anywhere in the line: its start is the time stamp, the
     * thread and the level); waits for it, since a request line may be written after the answer went out.
     */
    private String theLine(String regex) {
        Poll.until(Duration.ofSeconds(10), "a log line matching " + regex, () -> !matching(regex).isEmpty());
        List<String> found = matching(regex);
        assertEquals(1, found.size(), () -> "one line matching " + regex + ": " + found);
        return found.get(0);
    }

    /** A trimmed GitHub push payload for {@code after} on {@code ref}. */
    private static byte[] payload(String ref, ObjectId after) {
        return ("{\"ref\":\"" + ref + "\",\"after\":\"" + after.name() + "\",\"repository\":{\"full_name\":\"octo/site\"}}")
                .getBytes(StandardCharsets.UTF_8);
    }

    /** A GitHub delivery of {@code body}, signed. */
    private HttpResponse<String> github(String query, String event, String delivery, byte[] body) {
        return daemon.post("/pull-repo" + query, body, "Content-Type", "application/json", "X-GitHub-Event", event,
                "X-GitHub-Delivery", delivery, "X-Hub-Signature-256", Signatures.sha256(SECRET, body));
    }

    private HttpResponse<String> manual(String path, String proof) {
        return daemon.post(path + "?wait=true", new byte[0], "X-Pullhook-Auth", proof);
    }

    // ---- start -------------------------------------------------------------------------------------

    /** docs/operations.md, "A start and a stop"; install.md quotes the listening line and the start check. */
    @Test
    @Order(1)
    void startUpSaysWhereItListensThatItWarmedUpAndWhatTheStartCheckFound() {
        // the start check waits behind the warm-up on the deploy worker, and was queued before start returned
        theLine("\\[INFO\\] Daemon - pullhook listening on http://127\\.0\\.0\\.1:" + daemon.daemon.port()
                + "/pull-repo repo=" + Pattern.quote(repos.site.toString()) + " branch=main$");
        theLine("\\[deploy\\] \\[INFO\\] DeployService - warm-up done ms=\\d+$");
        theLine("\\[deploy\\] \\[INFO\\] Deployer - deploy check trigger=start up-to-date head="
                + abbrev(repos.siteHead()) + "$");
    }

    // ---- one line per request, never a secret -----------------------------------------------------

    private static final Pattern DEPLOY_DONE =
            Pattern.compile("deploy done id=\\d+ .*from=[0-9a-f]{7,40} to=[0-9a-f]{7,40} ms=\\d+");

    /** The first to send requests: its counts are of every request line since the daemon started. */
    @Test
    @Order(2)
    void oneLinePerRequestAndNeverTheSecretSignaturesOrTokens() throws Exception {
        List<String> neverLogged = new ArrayList<>(List.of(SECRET));
        int posts = 0;
        int rejected = 0;
        ObjectId pushed = repos.pushNewCommit();
        byte[] body = payload("refs/heads/main", pushed);
        String hex = Signatures.hmacHex("HmacSHA256", SECRET, body);
        String sha1 = Signatures.sha1(SECRET, body);
        neverLogged.add(hex);
        neverLogged.add(sha1.substring("sha1=".length()));

        // accepted: GitHub signature, GitLab token, GitHub's legacy SHA-1, a manual proof
        assertEquals(200, daemon.post("/pull-repo?wait=true", body, "X-Hub-Signature-256", "sha256=" + hex,
                "X-GitHub-Event", "push", "X-GitHub-Delivery", "log-accepted").statusCode());
        assertEquals(200, daemon.post("/pull-repo?wait=true", body, "X-Gitlab-Token", SECRET,
                "X-GitHub-Event", "push").statusCode());
        assertEquals(200, daemon.post("/pull-repo?wait=true", body, "X-Hub-Signature", sha1,
                "X-GitHub-Event", "push").statusCode());
        String proof = Signatures.manual(SECRET, "/pull-repo", body);
        neverLogged.add(proof.substring(proof.indexOf("v1=") + 3));
        assertEquals(200, daemon.post("/pull-repo?wait=true", body, "X-Pullhook-Auth", proof).statusCode());
        posts += 4;

        // rejected: wrong secret, wrong token, an attacker's guess next to a valid header
        String forged = Signatures.hmacHex("HmacSHA256", "guessed secret", body);
        String wrongToken = "wrong-token-7f3a9c";
        neverLogged.add(forged);
        neverLogged.add(wrongToken);
        assertEquals(403, daemon.post("/pull-repo", body, "X-Hub-Signature-256", "sha256=" + forged).statusCode());
        assertEquals(403, daemon.post("/pull-repo", body, "X-Gitlab-Token", wrongToken).statusCode());
        assertEquals(403, daemon.post("/pull-repo", body, "X-Hub-Signature-256", "sha256=" + hex,
                "X-Gitea-Signature", forged).statusCode());
        posts += 3;
        rejected += 3;

        // failed deploy
        repos.setSiteRemoteUrl(dir.resolve("gone.git").toUri().toString());
        try {
            assertEquals(500, daemon.post("/pull-repo?wait=true", body, "X-Pullhook-Auth",
                    Signatures.manual(SECRET, "/pull-repo", body)).statusCode());
        } finally {
            repos.setSiteRemoteUrl(repos.origin.toUri().toString());
        }
        posts += 1;

        // burst
        ObjectId burstTip = repos.pushNewCommit();
        byte[] burstBody = payload("refs/heads/main", burstTip);
        String burstHex = Signatures.hmacHex("HmacSHA256", SECRET, burstBody);
        neverLogged.add(burstHex);
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            answers.add(daemon.http.sendAsync(HttpRequest.newBuilder(daemon.uri("/pull-repo"))
                    .timeout(Duration.ofSeconds(60))
                    .header("X-Hub-Signature-256", "sha256=" + burstHex)
                    .header("X-GitHub-Event", "push")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(burstBody)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> answer : answers) {
            // a request that arrives after the burst's deploy finished is answered up-to-date
            HttpResponse<String> r = answer.get(60, TimeUnit.SECONDS);
            assertTrue(r.statusCode() == 202 || (r.statusCode() == 200 && r.body().contains("\"up-to-date\"")),
                    () -> r.statusCode() + " " + r.body());
        }
        posts += 10;
        idle();
        Poll.until("the burst deployed", () -> burstTip.equals(repos.siteHead()));

        int expectedPosts = posts;
        Poll.until(expectedPosts + " request lines", () ->
                log.linesWith("http method=POST path=/pull-repo status=").size() >= expectedPosts);
        daemon.get("/health");
        Poll.until("the health request line", () -> !log.linesWith("http method=GET path=/health").isEmpty());

        List<String> requestLines = log.linesWith("http method=POST path=/pull-repo status=");
        assertEquals(posts, requestLines.size(), () -> String.join("\n", requestLines));
        assertEquals(rejected, log.linesWith("http method=POST path=/pull-repo status=403").size());
        assertEquals(rejected, log.linesWith("webhook rejected").size());
        assertEquals(1, log.linesWith("http method=POST path=/pull-repo status=500").size());
        assertEquals(1, log.linesWith("http method=POST path=/pull-repo status=", "delivery=log-accepted").size());

        List<String> done = log.linesWith("deploy done");
        assertTrue(done.size() >= 2, () -> "deploy done lines: " + done);
        for (String line : done) {
            assertTrue(DEPLOY_DONE.matcher(line).find(), line);
        }
        theLine("\\[deploy\\] \\[WARN\\] Deployer - deploy failed id=\\d+ trigger=manual deliveries=\\[\\] phase=fetch"
                + " from=[0-9a-f]{7} ms=\\d+ error=\"fetch from origin failed: .*\"$");

        String text = log.text();
        for (String secret : neverLogged) {
            assertFalse(text.contains(secret), "the log shows a secret, signature or token: " + secret);
        }
    }

    // ---- webhooks ----------------------------------------------------------------------------------

    /**
     * Each decision is one line carrying the client, the host's delivery id, the host and the event; the
     * delivery id is on the request line and in the {@code deploy done} line of the deploy it joined, so one
     * grep finds a delivery's whole story (docs/hosts.md, "Reading the host's delivery log against
     * pullhook's log").
     */
    @Test
    @Order(3)
    void eachWebhookDecisionIsOneLineWithTheDeliveryIdOnEveryLineOfItsStory() {
        ObjectId pushed = repos.pushNewCommit();
        ObjectId from = repos.siteHead();
        byte[] push = payload("refs/heads/main", pushed);
        HttpResponse<String> r = github("?wait=true", "push", "story-1", push);
        assertEquals(200, r.statusCode(), r::body);
        long id = json(r).path("id").asLong();

        String client = "client=127\\.0\\.0\\.1 delivery=story-1 host=github event=\"push\"";
        theLine("\\[http-\\d+\\] \\[INFO\\] WebhookReceiver - webhook accepted " + client
                + " header=X-Hub-Signature-256 deploy=" + id + " queued$");
        theLine(REQUEST_LINE + "200 ms=\\d+ client=127\\.0\\.0\\.1 delivery=story-1$");
        theLine("\\[deploy\\] \\[INFO\\] Deployer - deploy done id=" + id + " trigger=webhook deliveries=\\[story-1\\]"
                + " from=" + abbrev(from) + " to=" + abbrev(pushed) + " ms=\\d+ fetch_ms=\\d+ check_ms=\\d+"
                + " reset_ms=\\d+ reset=changed-paths git_ms=\\d+$");
        theLine("\\[deploy\\] \\[INFO\\] Deployer - deploy id=" + id + " command exit=0 ms=\\d+$");
        theLine("\\[deploy\\] \\[INFO\\] Deployer - deploy id=" + id + " command output: built " + pushed.name() + "$");

        assertEquals(200, github("", "push", "story-1", push).statusCode());
        theLine("\\[INFO\\] WebhookReceiver - webhook duplicate " + client + " first=" + INSTANT + " outcome=deployed$");

        assertEquals(200, github("", "push", "story-2", push).statusCode());
        theLine("\\[INFO\\] WebhookReceiver - webhook up-to-date client=127\\.0\\.0\\.1 delivery=story-2 host=github"
                + " event=\"push\" commit=" + abbrev(pushed) + "$");

        assertEquals(200, github("", "push", "story-3", payload("refs/heads/feature-x", pushed)).statusCode());
        theLine("\\[INFO\\] WebhookReceiver - webhook ignored client=127\\.0\\.0\\.1 delivery=story-3 host=github"
                + " event=\"push\" reason=\"a push to another branch \\(feature-x\\), not main\"$");

        assertEquals(200, github("", "ping", "story-4", "{\"zen\":\"hi\",\"hook_id\":1}".getBytes(StandardCharsets.UTF_8))
                .statusCode());
        theLine("\\[INFO\\] WebhookReceiver - webhook ping client=127\\.0\\.0\\.1 delivery=story-4 host=github"
                + " event=\"ping\"$");

        assertEquals(400, github("", "push", "story-5", "{\"ref\": ".getBytes(StandardCharsets.UTF_8)).statusCode());
        theLine("\\[WARN\\] WebhookReceiver - webhook invalid client=127\\.0\\.0\\.1 delivery=story-5 host=github"
                + " event=\"push\" reason=\"body is not valid JSON .*\"$");
        theLine(REQUEST_LINE + "400 ms=\\d+ client=127\\.0\\.0\\.1 delivery=story-5$");
    }

    /**
     * A rejected request says why in its line (the answer never does), whether the gate answers it (bodies
     * up to 64 KiB) or the routes do: signature mismatch, no credential header (and a replayed manual proof,
     * in the next test, which has one).
     */
    @Test
    @Order(4)
    void aRejectedRequestIsOneLineThatSaysWhyWhicheverPathAnsweredIt() {
        byte[] push = payload("refs/heads/main", repos.siteHead());
        assertEquals(403, daemon.post("/pull-repo", push, "X-GitHub-Event", "push", "X-GitHub-Delivery", "reject-1",
                "X-Hub-Signature-256", "sha256=" + "0".repeat(64)).statusCode());
        theLine("\\[WARN\\] WebhookReceiver - webhook rejected client=127\\.0\\.0\\.1 delivery=reject-1"
                + " header=X-Hub-Signature-256 reason=\"signature does not match the body \\(wrong secret, or the"
                + " body was changed\\)\"$");
        theLine(REQUEST_LINE + "403 ms=\\d+ client=127\\.0\\.0\\.1 delivery=reject-1$");

        assertEquals(403, daemon.post("/pull-repo", push, "X-GitHub-Event", "push", "X-GitHub-Delivery", "reject-2")
                .statusCode());
        theLine("\\[WARN\\] WebhookReceiver - webhook rejected client=127\\.0\\.0\\.1 delivery=reject-2 header=none"
                + " reason=\"no signature or token header \\(expected one of X-Hub-Signature-256, X-Hub-Signature,"
                + " X-Gitea-Signature, X-Forgejo-Signature, X-Gogs-Signature, X-Gitlab-Token\\)\"$");

        // over the 64 KiB the gate reads itself: the routes answer, with the same two lines
        byte[] large = ("{\"padding\":\"" + "x".repeat(100 * 1024) + "\"}").getBytes(StandardCharsets.UTF_8);
        assertEquals(403, daemon.post("/pull-repo", large, "X-GitHub-Event", "push", "X-GitHub-Delivery", "reject-3",
                "X-Hub-Signature-256", "sha256=" + "0".repeat(64)).statusCode());
        theLine("\\[WARN\\] WebhookReceiver - webhook rejected client=127\\.0\\.0\\.1 delivery=reject-3"
                + " header=X-Hub-Signature-256 reason=\"signature does not match");
        theLine(REQUEST_LINE + "403 ms=\\d+ client=127\\.0\\.0\\.1 delivery=reject-3$");
    }

    // ---- deploys -----------------------------------------------------------------------------------

    /**
     * What pullhook did with local work is a WARN each, and the deploy's line says what it saved and why the
     * reset was a full one (docs/deploys.md, "Keep local work safe, then reset"). A manual request's lines
     * too: accepted, and replayed (docs/hosts.md, "A deploy by hand: the manual proof").
     */
    @Test
    @Order(5)
    void savedLocalWorkIsAWarnEachAndTheDeployLineSaysWhatWasSavedAndWhyTheResetWasFull() throws Exception {
        ObjectId from = repos.siteHead();
        Files.writeString(repos.site.resolve("README.md"), "edited on the server\n");
        Files.writeString(repos.site.resolve("in-the-way.txt"), "an upload\n");
        ObjectId pushed = repos.commitAndPush("in-the-way.txt", "from the repository\n", "a file the site has too");
        String proof = Signatures.manual(SECRET, "/pull-repo", new byte[0]);
        HttpResponse<String> r = manual("/pull-repo", proof);
        assertEquals(200, r.statusCode(), r::body);
        long id = json(r).path("id").asLong();
        theLine("\\[INFO\\] WebhookReceiver - webhook accepted client=127\\.0\\.0\\.1 delivery=- host=manual event=\"-\""
                + " header=X-Pullhook-Auth deploy=" + id + " queued$");
        ObjectId stash;
        try (Git git = Git.open(repos.site.toFile())) {
            stash = git.stashList().call().iterator().next().getId();
        }

        theLine("\\[deploy\\] \\[WARN\\] Deployer - deploy id=" + id + " saved local changes in \\[README\\.md\\] to stash "
                + abbrev(stash) + " \\(see git stash list\\)$");
        String way = theLine("\\[deploy\\] \\[WARN\\] Deployer - deploy id=" + id + " saved untracked files in the way of "
                + abbrev(pushed) + " on (refs/pullhook/saved/\\S+) \\(git show --stat refs/pullhook/saved/\\S+\\)$");
        Matcher ref = Pattern.compile("on (refs/pullhook/saved/\\S+) ").matcher(way);
        assertTrue(ref.find(), way);
        theLine("\\[deploy\\] \\[INFO\\] Deployer - deploy done id=" + id + " trigger=manual deliveries=\\[\\] from="
                + abbrev(from) + " to=" + abbrev(pushed) + " ms=\\d+ fetch_ms=\\d+ check_ms=\\d+ reset_ms=\\d+"
                + " reset=full git_ms=\\d+ saved=\"stash " + stash.name() + ", untracked files on "
                + Pattern.quote(ref.group(1)) + "\" full_because=\"local changes were found\"$");

        assertEquals(403, manual("/pull-repo", proof).statusCode());
        theLine("\\[WARN\\] WebhookReceiver - webhook rejected client=127\\.0\\.0\\.1 delivery=- header=X-Pullhook-Auth"
                + " reason=\"replayed: this request was accepted at " + INSTANT + " already\"$");
    }

    /** docs/operations.md, "Rolling back": accepted with the deploy it queued, and that deploy's line. */
    @Test
    @Order(6)
    void aRollbackIsAcceptedOrRejectedOnOneLineAndItsDeployIsARollback() {
        ObjectId current = repos.siteHead();
        String proof = Signatures.manual(SECRET, "/rollback", new byte[0]);
        HttpResponse<String> r = manual("/rollback", proof);
        assertEquals(200, r.statusCode(), r::body);
        long id = json(r).path("id").asLong();
        ObjectId back = repos.siteHead();

        theLine("\\[INFO\\] WebhookReceiver - rollback accepted client=127\\.0\\.0\\.1 header=X-Pullhook-Auth deploy="
                + id + " queued$");
        theLine("\\[deploy\\] \\[INFO\\] Deployer - deploy done id=" + id + " trigger=rollback deliveries=\\[\\] from="
                + abbrev(current) + " to=" + abbrev(back) + " ms=\\d+ ");

        assertEquals(403, manual("/rollback", proof).statusCode());
        theLine("\\[WARN\\] WebhookReceiver - rollback rejected client=127\\.0\\.0\\.1 header=X-Pullhook-Auth"
                + " reason=\"replayed: this request was accepted at " + INSTANT + " already\"$");
    }

    /**
     * docs/deploys.md, "Health check": each failed try, the restore, and the deploy's failed line. Last of the
     * deploys: origin's tip fails the check from now on.
     */
    @Test
    @Order(7)
    void aFailedHealthCheckLogsEachTryTheRestoreAndTheFailedDeploy() {
        ObjectId good = repos.siteHead();
        ObjectId bad = repos.commitAndPush("health.txt", "broken\n", "a commit the check refuses");
        HttpResponse<String> r = manual("/pull-repo", Signatures.manual(SECRET, "/pull-repo", new byte[0]));
        assertEquals(500, r.statusCode(), r::body);
        long id = json(r).path("id").asLong();

        theLine("\\[deploy\\] \\[WARN\\] Deployer - deploy id=" + id + " health check try 1 of 1 failed:"
                + " exited with status 1$");
        theLine("\\[deploy\\] \\[WARN\\] Deployer - deploy id=" + id + " restoring " + abbrev(good)
                + " after the failed health check of " + abbrev(bad) + " \\(deploy\\.rollback\\.on\\.failure\\)$");
        assertEquals(2, matching("Deployer - deploy id=" + id + " command exit=0 ms=\\d+$").size(),
                "the command ran for the new commit and again for the restored one");
        theLine("\\[deploy\\] \\[WARN\\] Deployer - deploy failed id=" + id + " trigger=manual deliveries=\\[\\]"
                + " phase=health-check from=" + abbrev(good) + " ms=\\d+ error=\"health check failed:"
                + " deploy\\.check\\.command exited with status 1; restored " + abbrev(good) + "\"$");
    }

    // ---- stop --------------------------------------------------------------------------------------

    /** Last: stops the daemon. No test of the class logged the secret. */
    @Test
    @Order(99)
    void stopSaysItWaitsForRunningDeploysThenThatItStopped() {
        daemon.close();
        theLine("\\[INFO\\] Daemon - stopping: waiting up to 30 s for running deploys$");
        theLine("\\[INFO\\] Daemon - stopped$");
        assertFalse(log.text().contains(SECRET), "the secret is in the log");
    }
}

package dev.pullhook;

import dev.pullhook.testing.Fixtures;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each git host's real payload shapes (src/test/resources/payloads), sent with that host's headers and a
 * real signature to a real daemon: only pushes to the configured branch deploy; everything deliberately
 * ignored is answered 200; pings get pong; redeliveries are duplicates.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ProviderIT {
    private static final String SECRET = TestDaemon.SECRET;
    private static final Pattern DEPLOY_ID = Pattern.compile("\"id\":(\\d+)");

    private Path tmp;
    private TestRepos repos;
    private TestDaemon daemon;
    private LogCapture log;

    @BeforeAll
    void start(@TempDir Path dir) {
        tmp = dir;
        log = new LogCapture();
        repos = TestRepos.create(tmp);
        daemon = TestDaemon.start(repos);
    }

    @AfterAll
    void stop() {
        daemon.close();
        repos.close();
        log.close();
    }
    /** The headers a real delivery of {@code host} carries, signed over {@code body} the way that host signs. */
    static String[] headersFor(String host, String event, String delivery, byte[] body) {
        String hex = Signatures.hmacHex("HmacSHA256", SECRET, body);
        List<String> h = new ArrayList<>(List.of("Content-Type", "application/json"));
        switch (host) {
            case "bitbucket-cloud" -> h.addAll(List.of("X-Event-Key", event, "X-Request-UUID", delivery,
                    "X-Hook-UUID", "8b9b0a3e-0000-4000-8000-000000000001", "X-Attempt-Number", "1",
                    "X-Hub-Signature", "sha256=" + hex, "User-Agent", "Bitbucket-Webhooks/2.0"));
            case "bitbucket-dc" -> h.addAll(List.of("X-Event-Key", event, "X-Request-Id", delivery,
                    "X-Hub-Signature", "sha256=" + hex));
            case "github" -> h.addAll(List.of("X-GitHub-Event", event, "X-GitHub-Delivery", delivery,
                    "X-GitHub-Hook-ID", "292430182", "X-Hub-Signature-256", "sha256=" + hex,
                    "X-Hub-Signature", Signatures.sha1(SECRET, body), "User-Agent", "GitHub-Hookshot/044aadd"));
            case "gitlab" -> h.addAll(List.of("X-Gitlab-Event", event, "Idempotency-Key", delivery,
                    "X-Gitlab-Event-UUID", UUID.randomUUID().toString(), "X-Gitlab-Token", SECRET,
                    "X-Gitlab-Instance", "https://gitlab.example.com"));
            case "gitea" -> h.addAll(List.of("X-Gitea-Event", event, "X-Gitea-Event-Type", event,
                    "X-Gitea-Delivery", delivery, "X-Gitea-Signature", hex, "X-GitHub-Event", event,
                    "X-GitHub-Delivery", delivery, "X-Gogs-Event", event, "X-Gogs-Delivery", delivery,
                    "X-Gogs-Signature", hex, "X-Hub-Signature-256", "sha256=" + hex,
                    "X-Hub-Signature", Signatures.sha1(SECRET, body)));
            case "forgejo" -> h.addAll(List.of("X-Forgejo-Event", event, "X-Forgejo-Delivery", delivery,
                    "X-Forgejo-Signature", hex, "X-Gitea-Event", event, "X-Gitea-Delivery", delivery,
                    "X-Gitea-Signature", hex, "X-GitHub-Event", event, "X-GitHub-Delivery", delivery,
                    "X-Hub-Signature-256", "sha256=" + hex));
            case "gogs" -> h.addAll(List.of("X-Gogs-Event", event, "X-Gogs-Delivery", delivery,
                    "X-Gogs-Signature", hex, "X-Github-Event", event, "X-Github-Delivery", delivery));
            default -> throw new IllegalArgumentException(host);
        }
        return h.toArray(String[]::new);
    }

    private HttpResponse<String> deliver(String host, String event, String file, String query) {
        byte[] body = Fixtures.payload(file);
        return daemon.post("/pull-repo" + query, body, headersFor(host, event, UUID.randomUUID().toString(), body));
    }

    /** The id of the newest deploy (0 if none): it grows by one with every deploy that ran. */
    private long deployCount() {
        try {
            var deploys = new ObjectMapper().readTree(daemon.get("/status").body()).path("deploys");
            return deploys.isEmpty() ? 0 : deploys.get(0).path("id").asLong();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @ParameterizedTest(name = "{0} {2} is deployed")
    @CsvSource({
            "bitbucket-cloud, repo:push, bitbucket-cloud/push.json",
            "bitbucket-cloud, repo:push, bitbucket-cloud/push-several-changes.json",
            "bitbucket-dc, repo:refs_changed, bitbucket-dc/push.json",
            "github, push, github/push.json",
            "gitlab, Push Hook, gitlab/push.json",
            "gitea, push, gitea/push.json",
            "forgejo, push, forgejo/push.json",
            "gogs, push, gogs/push.json",
    })
    void pushToTheBranchDeploysTheRemoteTip(String host, String event, String file) {
        ObjectId pushed = repos.pushNewCommit();
        HttpResponse<String> r = deliver(host, event, file, "?wait=true");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"status\":\"deployed\""), r.body());
        // the payload names a made-up commit; pullhook deploys what the remote branch really holds
        assertEquals(pushed, repos.siteHead());
    }

    @ParameterizedTest(name = "{0} {2}: {3}")
    @CsvSource(delimiter = '|', value = {
            "bitbucket-cloud | repo:push | bitbucket-cloud/push-other-branch.json | a push to another branch (feature-x), not main",
            "bitbucket-cloud | repo:push | bitbucket-cloud/push-several-other.json | a push to other branches (feature-x, feature-y), not main",
            "bitbucket-cloud | repo:push | bitbucket-cloud/delete.json | branch main was deleted",
            "bitbucket-cloud | repo:push | bitbucket-cloud/push-tag.json | a tag push (v1.2.0)",
            "bitbucket-cloud | pullrequest:created | bitbucket-cloud/push.json | not a push event (pullrequest:created)",
            "bitbucket-dc | repo:refs_changed | bitbucket-dc/push-other-branch.json | a push to another branch (feature-x), not main",
            "bitbucket-dc | repo:refs_changed | bitbucket-dc/delete.json | branch main was deleted",
            "github | push | github/push-other-branch.json | a push to another branch (feature-x), not main",
            "github | push | github/delete.json | branch main was deleted",
            "github | push | github/push-tag.json | a tag push (v1.2.0)",
            "github | issues | github/push.json | not a push event (issues)",
            "gitlab | Push Hook | gitlab/push-other-branch.json | a push to another branch (feature-x), not main",
            "gitlab | Push Hook | gitlab/delete.json | branch main was deleted",
            "gitlab | Tag Push Hook | gitlab/tag-push.json | a tag push (v1.2.0)",
            "gitea | push | gitea/push-other-branch.json | a push to another branch (feature-x), not main",
            "gitea | push | gitea/delete-push.json | branch main was deleted",
            "gitea | delete | gitea/delete.json | not a push event (delete)",
            "gitea | create | gitea/create.json | not a push event (create)",
    })
    void otherRefsDeletionsAndOtherEventsAreIgnoredWith200(String host, String event, String file, String reason) {
        repos.pushNewCommit();
        ObjectId before = repos.siteHead();
        long deploys = deployCount();
        HttpResponse<String> r = deliver(host, event, file, "");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"status\":\"ignored\""), r.body());
        assertTrue(r.body().contains(reason), r.body() + " should say " + reason);
        assertEquals(deploys, deployCount(), "no deploy ran");
        assertEquals(before, repos.siteHead(), "working copy untouched");
    }

    @ParameterizedTest(name = "{0} {1} gets pong")
    @CsvSource({"github, ping, github/ping.json", "bitbucket-dc, diagnostics:ping, bitbucket-dc/ping.json"})
    void pingsArePonged(String host, String event, String file) {
        long deploys = deployCount();
        HttpResponse<String> r = deliver(host, event, file, "");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("{\"status\":\"pong\"}", r.body());
        assertEquals(deploys, deployCount());
    }

    @Test
    void githubFormEncodedDeliveryIsVerifiedOverTheRawFormBody() {
        ObjectId pushed = repos.pushNewCommit();
        String form = "payload=" + URLEncoder.encode(new String(Fixtures.payload("github/push.json"), StandardCharsets.UTF_8),
                StandardCharsets.UTF_8);
        byte[] body = form.getBytes(StandardCharsets.US_ASCII);
        String[] headers = headersFor("github", "push", UUID.randomUUID().toString(), body);
        headers[1] = "application/x-www-form-urlencoded";
        HttpResponse<String> r = daemon.post("/pull-repo?wait=true", body, headers);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(pushed, repos.siteHead());
    }

    @Test
    void githubFormBodyWithoutPayloadFieldIs400() {
        byte[] body = "other=1".getBytes(StandardCharsets.US_ASCII);
        String[] headers = headersFor("github", "push", UUID.randomUUID().toString(), body);
        headers[1] = "application/x-www-form-urlencoded";
        HttpResponse<String> r = daemon.post("/pull-repo", body, headers);
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("no payload field"), r.body());
    }

    @Test
    void verifiedBodyThatIsNotJsonIs400AndDeploysNothing() {
        long deploys = deployCount();
        byte[] body = "{\"ref\": \"refs/heads/main\", ".getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = daemon.post("/pull-repo", body, headersFor("github", "push", "bad-json-1", body));
        assertEquals(400, r.statusCode(), r.body());
        assertTrue(r.body().contains("not valid JSON"), r.body());
        assertEquals(deploys, deployCount());
    }

    @Test
    void authenticationIsCheckedBeforeTheBodyIsParsed() {
        byte[] body = "not json at all".getBytes(StandardCharsets.UTF_8);
        String[] headers = headersFor("github", "push", "bad-sig-1", "other body".getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = daemon.post("/pull-repo", body, headers);
        // parsed first, a body that is no JSON at all would have been answered 400
        assertEquals(403, r.statusCode(), r.body());
    }

    @Test
    void pushWhoseCommitIsAlreadyCheckedOutIsUpToDate() {
        repos.pushNewCommit();
        daemon.postSigned("/pull-repo?wait=true", "");
        String head = repos.siteHead().name();
        long deploys = deployCount();
        byte[] body = ("{\"ref\":\"refs/heads/main\",\"before\":\"" + "1".repeat(40) + "\",\"after\":\"" + head
                + "\",\"deleted\":false}").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> r = daemon.post("/pull-repo", body, headersFor("github", "push", UUID.randomUUID().toString(), body));
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.body().contains("\"status\":\"up-to-date\""), r.body());
        assertEquals(deploys, deployCount());
    }

    @Test
    void redeliveredIdIsAnsweredDuplicateWithoutASecondDeploy() {
        repos.pushNewCommit();
        byte[] body = Fixtures.payload("bitbucket-cloud/push.json");
        String id = "{" + UUID.randomUUID() + "}";
        String[] headers = headersFor("bitbucket-cloud", "repo:push", id, body);
        HttpResponse<String> first = daemon.post("/pull-repo?wait=true", body, headers);
        assertEquals(200, first.statusCode(), first.body());
        long deploys = deployCount();
        ObjectId newer = repos.pushNewCommit();
        HttpResponse<String> again = daemon.post("/pull-repo?wait=true", body, headers);
        assertEquals(200, again.statusCode(), again.body());
        assertTrue(again.body().contains("\"status\":\"duplicate\""), again.body());
        assertEquals(deploys, deployCount());
        assertNotEquals(newer, repos.siteHead(), "a duplicate deploys nothing");
    }

    @Test
    void redeliveryOfAFailedDeployIsTriedAgain() {
        ObjectId pushed = repos.pushNewCommit();
        String goodUrl = repos.origin.toUri().toString();
        repos.setSiteRemoteUrl(tmp.resolve("no-such-origin.git").toUri().toString());
        byte[] body = Fixtures.payload("github/push.json");
        String[] headers = headersFor("github", "push", UUID.randomUUID().toString(), body);
        try {
            HttpResponse<String> failed = daemon.post("/pull-repo?wait=true", body, headers);
            assertEquals(500, failed.statusCode(), failed.body());
        } finally {
            repos.setSiteRemoteUrl(goodUrl);
        }
        HttpResponse<String> retried = daemon.post("/pull-repo?wait=true", body, headers);
        assertEquals(200, retried.statusCode(), retried.body());
        assertTrue(retried.body().contains("\"status\":\"deployed\""), retried.body());
        assertEquals(pushed, repos.siteHead());
    }

    /** The delivery id is also on every log line of the delivery: LogFormatIT pins that. */
    @Test
    void deliveryIdIsInStatusWithTheDeployItJoined() {
        repos.pushNewCommit();
        byte[] body = Fixtures.payload("gitea/push.json");
        String id = "f6266f16-1bf3-46a5-9ea4-" + System.nanoTime();
        HttpResponse<String> r = daemon.post("/pull-repo?wait=true", body, headersFor("gitea", "push", id, body));
        assertEquals(200, r.statusCode(), r.body());
        Matcher m = DEPLOY_ID.matcher(r.body());
        assertTrue(m.find());
        long deploy = Long.parseLong(m.group(1));
        JsonNode status = status();
        JsonNode delivery = delivery(status, "gitea/" + id);
        assertEquals("deployed", delivery.path("outcome").asText(), delivery::toString);
        assertEquals(deploy, delivery.path("deploy").asLong(), delivery::toString);
        List<String> covered = new ArrayList<>();
        for (JsonNode d : status.path("deploys")) {
            if (d.path("id").asLong() == deploy) {
                d.path("deliveries").forEach(x -> covered.add(x.asText()));
            }
        }
        assertEquals(List.of(id), covered, () -> "the deploy lists the deliveries it covered: " + status);
    }

    private JsonNode status() {
        try {
            return new ObjectMapper().readTree(daemon.get("/status").body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The delivery {@code key} ({@code host/id}) of /status, failing when it is not there. */
    private static JsonNode delivery(JsonNode status, String key) {
        for (JsonNode d : status.path("deliveries")) {
            if (key.equals(d.path("delivery").asText())) {
                return d;
            }
        }
        throw new AssertionError("no delivery " + key + " in /status: " + status);
    }

    @Test
    void deliveryIdHeaderOfEachHostIsRead() {
        String[][] cases = {
                {"bitbucket-cloud", "repo:push", "{3f1c0000-0000-4000-8000-00000000000a}"},
                {"bitbucket-dc", "repo:refs_changed", "0f5d0000-0000-4000-8000-00000000000b"},
                {"github", "push", "72d3162e-cc78-11e3-81ab-00000000000c"},
                {"gitlab", "Push Hook", "f5e5f430-f57b-4e6e-9fac-00000000000d"},
                {"forgejo", "push", "f6266f16-1bf3-46a5-9ea4-00000000000e"},
                {"gogs", "push", "f6266f16-1bf3-46a5-9ea4-00000000000f"},
        };
        for (String[] c : cases) {
            byte[] body = Fixtures.payload(c[0] + "/push.json");
            HttpResponse<String> r = daemon.post("/pull-repo", body, headersFor(c[0], c[1], c[2], body));
            assertTrue(r.statusCode() == 200 || r.statusCode() == 202, () -> c[0] + ": " + r.statusCode() + " " + r.body());
            assertEquals(c[0], delivery(status(), c[0] + "/" + c[2]).path("host").asText());
        }
    }

    @Test
    void secretNeverAppearsInTheLog() {
        deliver("gitlab", "Push Hook", "gitlab/push.json", "");
        assertFalse(log.text().contains(SECRET));
    }
}

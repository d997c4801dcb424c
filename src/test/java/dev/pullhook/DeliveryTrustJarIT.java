package dev.pullhook;

import dev.pullhook.testing.Fixtures;
import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.Ports;
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
import org.junit.jupiter.params.provider.ValueSource;

import java.net.URLEncoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What a request must prove, against the shipped jar: a captured delivery can never roll back or stand in
 * for a manual deploy, a manual request needs a fresh {@code X-Pullhook-Auth} proof that works once,
 * delivery ids survive a restart, GitLab's signing token (Standard Webhooks) is verified, Gitea / Forgejo /
 * Gogs form deliveries are verified over the JSON they signed, and every host's situations get the same
 * words. The daemon logs to a file, shown in an assertion's message only when it fails.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DeliveryTrustJarIT {
    private static final String SECRET = TestDaemon.SECRET;
    private static final String SIGNING_TOKEN = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private static final byte[] SIGNING_KEY = Base64.getDecoder().decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");

    private Path tmp;
    private TestRepos repos;
    private Path config;
    private int port;
    private ChildDaemon daemon;
    private int starts;

    @BeforeAll
    void start(@TempDir Path dir) throws Exception {
        tmp = dir;
        repos = TestRepos.create(tmp.resolve("repos"));
        Path secret = Files.writeString(tmp.resolve("secret"), SECRET + "\n");
        Path signingKey = Files.writeString(tmp.resolve("signing-key"), SIGNING_TOKEN + "\n");
        for (Path p : List.of(secret, signingKey)) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
        }
        port = Ports.free();
        config = Files.writeString(tmp.resolve("config.properties"), "repo.path=" + repos.site
                + "\nwebhook.secret.file=" + secret + "\nwebhook.signing.key.file=" + signingKey
                + "\nserver.port=" + port + "\nserver.log.rejections.per.minute=1000000\n");
        daemon = startDaemon();
    }

    private ChildDaemon startDaemon() throws Exception {
        return ChildDaemon.startJar(config, port, tmp.resolve("daemon-" + (++starts) + ".log"));
    }

    @AfterAll
    void stop() throws Exception {
        daemon.close();
        repos.close();
    }

    private String log() {
        return daemon.logText();
    }

    private HttpResponse<String> github(String event, String delivery, byte[] body, String query) {
        return daemon.post("/pull-repo" + query, body, ProviderIT.headersFor("github", event, delivery, body));
    }

    private HttpResponse<String> manual(String path, String proof) {
        return daemon.post(path, new byte[0], "X-Pullhook-Auth", proof);
    }

    private static String freshProof(String path) {
        return Signatures.manual(SECRET, path, new byte[0]);
    }

    private static long now() {
        return System.currentTimeMillis() / 1000;
    }

    // --- replays to the manual endpoints ----------------------------------------------------------------

    @Test
    void noCapturedDeliveryRollsBackOnlyAFreshProofDoesAndOnlyOnce() throws Exception {
        repos.pushNewCommit();
        byte[] push = Fixtures.payload("github/push.json");
        String first = UUID.randomUUID().toString();
        assertEquals(200, github("push", first, push, "?wait=true").statusCode(), log());
        ObjectId older = repos.siteHead();
        ObjectId newer = repos.pushNewCommit();
        String second = UUID.randomUUID().toString();
        String[] captured = ProviderIT.headersFor("github", "push", second, push);
        assertEquals(200, daemon.post("/pull-repo?wait=true", push, captured).statusCode(), log());
        assertEquals(newer, repos.siteHead());

        // every captured delivery, exactly as the host sent it, and as a bare signature
        byte[] ping = Fixtures.payload("github/ping.json");
        List<HttpResponse<String>> replays = List.of(
                daemon.post("/rollback?wait=true", push, captured),
                daemon.post("/rollback?wait=true", ping, ProviderIT.headersFor("github", "ping", "p-1", ping)),
                daemon.post("/rollback?wait=true", new byte[0], "X-Hub-Signature-256", Signatures.sha256(SECRET, new byte[0])),
                daemon.post("/rollback?wait=true", new byte[0], "X-Gitlab-Token", SECRET),
                daemon.post("/rollback?wait=true", new byte[0], "X-Hub-Signature", SECRET));
        for (HttpResponse<String> r : replays) {
            assertEquals(403, r.statusCode(), r.body());
            assertFalse(r.body().contains(SECRET));
        }
        assertEquals(newer, repos.siteHead(), "no replay rolled the site back");
        assertFalse(daemon.get("/status").contains("\"trigger\":\"rollback\""), daemon.get("/status"));

        // a proof made for /pull-repo does not open /rollback
        assertEquals(403, manual("/rollback?wait=true", freshProof("/pull-repo")).statusCode());
        assertEquals(newer, repos.siteHead());

        String proof = freshProof("/rollback");
        HttpResponse<String> rollback = manual("/rollback?wait=true", proof);
        assertEquals(200, rollback.statusCode(), rollback.body() + "\n" + log());
        assertEquals(older, repos.siteHead(), "a fresh proof rolls back");
        HttpResponse<String> again = manual("/rollback?wait=true", proof);
        assertEquals(403, again.statusCode(), again.body());
        assertEquals(older, repos.siteHead(), "a replayed proof rolls back no further");
    }

    @Test
    void aCapturedDeliveryWithoutItsEventHeaderIsNotAManualDeploy() {
        repos.pushNewCommit();
        byte[] push = Fixtures.payload("github/push.json");
        String id = UUID.randomUUID().toString();
        String[] captured = ProviderIT.headersFor("github", "push", id, push);
        assertEquals(200, daemon.post("/pull-repo?wait=true", push, captured).statusCode(), log());
        ObjectId deployed = repos.siteHead();
        ObjectId newer = repos.pushNewCommit();

        List<String> stripped = new ArrayList<>();
        for (int i = 0; i + 1 < captured.length; i += 2) {
            if (!Signatures.EVENT_HEADERS.stream().anyMatch(captured[i]::equalsIgnoreCase)) {
                stripped.add(captured[i]);
                stripped.add(captured[i + 1]);
            }
        }
        HttpResponse<String> asManual = daemon.post("/pull-repo?wait=true", push, stripped.toArray(String[]::new));
        assertEquals(403, asManual.statusCode(), asManual.body());
        HttpResponse<String> asIs = daemon.post("/pull-repo?wait=true", push, captured);
        assertEquals(200, asIs.statusCode(), asIs.body());
        assertTrue(asIs.body().contains("\"status\":\"duplicate\""), asIs.body());
        assertEquals(deployed, repos.siteHead(), "neither replay deployed the newer push");
        assertNotEquals(newer, repos.siteHead());
    }

    @Test
    void aManualProofMustBeFreshForThisPathAndBodyAndIsAcceptedOnce() {
        ObjectId before = repos.siteHead();
        repos.pushNewCommit();
        String path = "/pull-repo";
        byte[] none = new byte[0];
        String[] refused = {
                Signatures.manual(SECRET, "POST", path, none, now() - 400, Signatures.freshNonce()),
                Signatures.manual(SECRET, "POST", path, none, now() + 400, Signatures.freshNonce()),
                Signatures.manual(SECRET, "POST", "/rollback", none, now(), Signatures.freshNonce()),
                Signatures.manual(SECRET, "POST", path, "{}".getBytes(StandardCharsets.UTF_8), now(), Signatures.freshNonce()),
                Signatures.manual(SECRET + "x", "POST", path, none, now(), Signatures.freshNonce()),
                Signatures.manual(SECRET, "POST", path, none, now(), "short"),
                "t=" + now() + ", n=" + Signatures.freshNonce() + ", v1=" + "0".repeat(64),
                SECRET,
        };
        for (String proof : refused) {
            HttpResponse<String> r = manual(path + "?wait=true", proof);
            assertEquals(403, r.statusCode(), proof + " -> " + r.body());
            assertFalse(r.body().contains(SECRET), r.body());
        }
        assertEquals(before, repos.siteHead(), "no refused request deployed");
        assertFalse(log().contains(SECRET), "the secret is never logged");

        String proof = freshProof(path);
        HttpResponse<String> ok = manual(path + "?wait=true", proof);
        assertEquals(200, ok.statusCode(), ok.body() + "\n" + log());
        assertEquals(repos.originTip(), repos.siteHead());
        assertEquals(403, manual(path + "?wait=true", proof).statusCode(), "the same proof twice");
    }

    @Test
    void deliveryIdsAndNoncesSurviveARestart() throws Exception {
        repos.pushNewCommit();
        byte[] push = Fixtures.payload("bitbucket-cloud/push.json");
        String id = "{" + UUID.randomUUID() + "}";
        String[] headers = ProviderIT.headersFor("bitbucket-cloud", "repo:push", id, push);
        assertEquals(200, daemon.post("/pull-repo?wait=true", push, headers).statusCode(), log());
        String proof = freshProof("/pull-repo");
        assertEquals(200, manual("/pull-repo?wait=true", proof).statusCode(), log());
        ObjectId deployed = repos.siteHead();

        daemon.close();
        daemon = startDaemon();
        ObjectId newer = repos.pushNewCommit();
        HttpResponse<String> redelivered = daemon.post("/pull-repo?wait=true", push, headers);
        assertEquals(200, redelivered.statusCode(), redelivered.body());
        assertTrue(redelivered.body().contains("\"status\":\"duplicate\""), redelivered.body() + "\n" + log());
        assertEquals(403, manual("/pull-repo?wait=true", proof).statusCode(), "a used nonce stays used");
        assertEquals(deployed, repos.siteHead());
        assertNotEquals(newer, repos.siteHead());

        Path journal = repos.site.resolve(".git/pullhook/deliveries");
        assertTrue(Files.isRegularFile(journal), "the journal lives in state.dir");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(journal)));
        assertFalse(Files.readString(journal).contains(SECRET));
    }

    // --- GitLab's signing token (Standard Webhooks) ---------------------------------------------------

    /** A GitLab delivery with the secret token and a Standard Webhooks signature ({@code signatures}). */
    private static String[] gitlabSigned(String event, byte[] body, String id, long time, String signatures) {
        List<String> h = new ArrayList<>(List.of(ProviderIT.headersFor("gitlab", event, id, body)));
        h.addAll(List.of("webhook-id", id, "webhook-timestamp", Long.toString(time), "webhook-signature", signatures));
        return h.toArray(String[]::new);
    }

    /** A GitLab delivery as GitLab sends it with a signing token set: signed now. */
    private static String[] gitlabSigned(String event, byte[] body) {
        String id = "msg_" + UUID.randomUUID();
        long t = now();
        return gitlabSigned(event, body, id, t, standardSignature(id, t, body));
    }

    private static String standardSignature(String id, long time, byte[] body) {
        byte[] prefix = (id + "." + time + ".").getBytes(StandardCharsets.UTF_8);
        byte[] signed = new byte[prefix.length + body.length];
        System.arraycopy(prefix, 0, signed, 0, prefix.length);
        System.arraycopy(body, 0, signed, prefix.length, body.length);
        try {
            javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
            mac.init(new javax.crypto.spec.SecretKeySpec(SIGNING_KEY, "HmacSHA256"));
            return "v1," + Base64.getEncoder().encodeToString(mac.doFinal(signed));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void gitlabSigningTokenIsVerifiedAndTheTokenAloneIsNotEnough() {
        byte[] body = Fixtures.payload("gitlab/push.json");
        ObjectId before = repos.siteHead();
        repos.pushNewCommit();

        HttpResponse<String> tokenOnly = daemon.post("/pull-repo?wait=true", body,
                ProviderIT.headersFor("gitlab", "Push Hook", UUID.randomUUID().toString(), body));
        assertEquals(403, tokenOnly.statusCode(), tokenOnly.body());
        String stale = "msg_" + UUID.randomUUID();
        HttpResponse<String> old = daemon.post("/pull-repo?wait=true", body,
                gitlabSigned("Push Hook", body, stale, now() - 600, standardSignature(stale, now() - 600, body)));
        assertEquals(403, old.statusCode(), old.body());
        String forged = "msg_" + UUID.randomUUID();
        HttpResponse<String> wrong = daemon.post("/pull-repo?wait=true", body,
                gitlabSigned("Push Hook", body, forged, now(), standardSignature(forged + "x", now(), body)));
        assertEquals(403, wrong.statusCode(), wrong.body());
        assertEquals(before, repos.siteHead());

        // during a key rotation GitLab sends several: one that matches is enough
        String id = "msg_" + UUID.randomUUID();
        long t = now();
        String rotated = "v1," + Base64.getEncoder().encodeToString(new byte[32]) + " " + standardSignature(id, t, body);
        HttpResponse<String> ok = daemon.post("/pull-repo?wait=true", body, gitlabSigned("Push Hook", body, id, t, rotated));
        assertEquals(200, ok.statusCode(), ok.body() + "\n" + log());
        assertTrue(ok.body().contains("\"status\":\"deployed\""), ok.body());
        assertEquals(repos.originTip(), repos.siteHead());
        assertFalse(log().contains(SIGNING_TOKEN) || log().contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
                "the signing key is never logged");
    }

    // --- form deliveries ---------------------------------------------------------------------------

    @ParameterizedTest(name = "{0} form delivery is deployed")
    @ValueSource(strings = {"gitea", "forgejo", "gogs"})
    void giteaForgejoAndGogsFormDeliveriesAreVerifiedOverTheirJson(String host) {
        byte[] json = Fixtures.payload(host + "/push.json");
        byte[] form = ("payload=" + URLEncoder.encode(new String(json, StandardCharsets.UTF_8), StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.US_ASCII);
        ObjectId pushed = repos.pushNewCommit();
        String[] signedOverJson = ProviderIT.headersFor(host, "push", UUID.randomUUID().toString(), json);
        signedOverJson[1] = "application/x-www-form-urlencoded";
        String[] signedOverForm = ProviderIT.headersFor(host, "push", UUID.randomUUID().toString(), form);
        signedOverForm[1] = "application/x-www-form-urlencoded";

        HttpResponse<String> overForm = daemon.post("/pull-repo?wait=true", form, signedOverForm);
        assertEquals(403, overForm.statusCode(), "the hosts sign the JSON, not the form: " + overForm.body());
        HttpResponse<String> r = daemon.post("/pull-repo?wait=true", form, signedOverJson);
        assertEquals(200, r.statusCode(), r.body() + "\n" + log());
        assertTrue(r.body().contains("\"status\":\"deployed\"") || r.body().contains("\"status\":\"up-to-date\""), r.body());
        assertEquals(pushed, repos.siteHead());
    }

    // --- one vocabulary ----------------------------------------------------------------------------

    @ParameterizedTest(name = "GitLab system hook {0}: {1}")
    @CsvSource(delimiter = '|', value = {
            "gitlab/system-repository-update.json | not a push event (repository_update)",
            "gitlab/system-project-create.json | not a push event (project_create)",
    })
    void gitlabSystemHookEventsThatAreNotPushesAreIgnored(String file, String reason) {
        byte[] body = Fixtures.payload(file);
        HttpResponse<String> r = daemon.post("/pull-repo", body, gitlabSigned("System Hook", body));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("{\"status\":\"ignored\",\"reason\":\"" + reason + "\"}", r.body());
    }

    @Test
    void gitlabSystemHookPushIsDeployed() {
        ObjectId pushed = repos.pushNewCommit();
        byte[] body = Fixtures.payload("gitlab/push.json");
        HttpResponse<String> r = daemon.post("/pull-repo?wait=true", body, gitlabSigned("System Hook", body));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(pushed, repos.siteHead());
    }

    @Test
    void aTestDeliveryOnAnEmptyRepositoryIsNotCalledADeletion() {
        byte[] body = Fixtures.payload("gitea/test-empty-repository.json");
        HttpResponse<String> r = daemon.post("/pull-repo", body,
                ProviderIT.headersFor("gitea", "push", UUID.randomUUID().toString(), body));
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("{\"status\":\"ignored\",\"reason\":\"the push names no commit (a test delivery on an empty"
                + " repository?)\"}", r.body());
    }

    /** The same situation, sent by each host in its own shape, gets the same words. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "another branch | a push to another branch (feature-x), not main | bitbucket-cloud>repo:push>bitbucket-cloud/push-other-branch.json; bitbucket-dc>repo:refs_changed>bitbucket-dc/push-other-branch.json; github>push>github/push-other-branch.json; gitlab>Push Hook>gitlab/push-other-branch.json; gitea>push>gitea/push-other-branch.json",
            "branch deleted | branch main was deleted | bitbucket-cloud>repo:push>bitbucket-cloud/delete.json; bitbucket-dc>repo:refs_changed>bitbucket-dc/delete.json; github>push>github/delete.json; gitlab>Push Hook>gitlab/delete.json; gitea>push>gitea/delete-push.json",
            "tag push | a tag push (v1.2.0) | bitbucket-cloud>repo:push>bitbucket-cloud/push-tag.json; github>push>github/push-tag.json; gitlab>Tag Push Hook>gitlab/tag-push.json",
    })
    void everyHostGetsTheSameWordsForTheSameSituation(String situation, String reason, String deliveries) {
        for (String d : deliveries.split(";")) {
            String[] p = d.strip().split(">");
            String host = p[0];
            byte[] body = Fixtures.payload(p[2]);
            String[] headers = host.equals("gitlab") ? gitlabSigned(p[1], body)
                    : ProviderIT.headersFor(host, p[1], UUID.randomUUID().toString(), body);
            HttpResponse<String> r = daemon.post("/pull-repo", body, headers);
            assertEquals(200, r.statusCode(), d + ": " + r.body());
            assertEquals("{\"status\":\"ignored\",\"reason\":\"" + reason + "\"}", r.body(), d + " (" + situation + ")");
        }
    }
}

package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.Config;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.testing.GatedGitServer;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Several sites in one real daemon, each with its own real repositories: they deploy in parallel while each
 * one's deploys stay serial, each has its own secret, unknown sites get 404, and a configuration without
 * any {@code site.} key behaves exactly as a one-site pullhook always has.
 */
class SitesIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET_A = "secret of site a, 0123456789abcdef";
    private static final String SECRET_B = "secret of site b, fedcba9876543210";

    @TempDir
    Path dir;
    private TestRepos a;
    private TestRepos b;
    private Daemon daemon;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeEach
    void createRepositories() {
        a = TestRepos.create(dir.resolve("a"));
        b = TestRepos.create(dir.resolve("b"));
    }

    @AfterEach
    void stop() {
        if (daemon != null) {
            daemon.stop();
        }
        a.close();
        b.close();
    }

    /** A daemon with sites a and b (secrets from the environment, as PULLHOOK_SITE_<NAME>_SECRET) plus {@code keys}. */
    private Daemon startTwoSites(String... keys) throws ConfigException {
        Map<String, String> values = new HashMap<>(Map.of("server.port", "0", "deploy.on.start", "false",
                "sites", "a, b", "site.a.repo.path", a.site.toString(), "site.b.repo.path", b.site.toString()));
        for (int i = 0; i + 1 < keys.length; i += 2) {
            values.put(keys[i], keys[i + 1]);
        }
        Config config = new ConfigLoader(Map.of("PULLHOOK_SITE_A_SECRET", SECRET_A, "PULLHOOK_SITE_B_SECRET", SECRET_B),
                w -> { }).fromMap(values);
        daemon = Daemon.start(config);
        return daemon;
    }

    private HttpResponse<String> post(String pathAndQuery, String secret) {
        byte[] body = new byte[0];
        return send(HttpRequest.newBuilder(uri(pathAndQuery)).timeout(Duration.ofSeconds(60))
                .header("X-Pullhook-Auth", Signatures.manual(secret, URI.create(pathAndQuery).getPath(), body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    private HttpResponse<String> get(String path) {
        return send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build());
    }

    private URI uri(String pathAndQuery) {
        return URI.create("http://127.0.0.1:" + daemon.port() + pathAndQuery);
    }

    private HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode json(HttpResponse<String> r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new UncheckedIOException("not JSON: " + r.body(), e);
        }
    }

    private JsonNode siteStatus(String name) {
        for (JsonNode site : json(get("/status")).get("sites")) {
            if (site.get("name").asText().equals(name)) {
                return site;
            }
        }
        throw new AssertionError("no site " + name + " in /status");
    }

    private static void assertStatus(int expected, HttpResponse<String> r) {
        assertEquals(expected, r.statusCode(), r::body);
    }

    @Test
    void twoSitesDeployInParallelWhileEachStaysSerial() throws Exception {
        try (GatedGitServer gitA = GatedGitServer.serve(a.origin)) {
            a.setSiteRemoteUrl(gitA.url());
            startTwoSites();
            ObjectId a1 = a.pushNewCommit();
            ObjectId aBefore = a.siteHead();
            gitA.hold();
            assertStatus(202, post("/pull-repo/a", SECRET_A));
            assertTrue(gitA.awaitHeldFetch(), "site a's deploy is fetching, and held there");

            // a burst on a while its deploy is held: every request joins the one deploy queued behind it
            for (int i = 0; i < 10; i++) {
                HttpResponse<String> r = post("/pull-repo/a", SECRET_A);
                assertStatus(202, r);
                assertEquals(2, json(r).get("id").asLong(), r::body);
            }
            ObjectId a2 = a.pushNewCommit();

            // site b deploys from start to end while a's deploy is still held
            ObjectId b1 = b.pushNewCommit();
            HttpResponse<String> rb = post("/pull-repo/b?wait=true", SECRET_B);
            assertStatus(200, rb);
            assertEquals("deployed", json(rb).get("status").asText());
            assertEquals(b1, b.siteHead());
            assertEquals(aBefore, a.siteHead(), "a's deploy is still held");
            assertEquals("queued", siteStatus("a").get("state").asText());
            assertEquals("idle", siteStatus("b").get("state").asText());

            gitA.release();
            Poll.until("site a deployed the newest push and went idle",
                    () -> a2.equals(a.siteHead()) && siteStatus("a").get("state").asText().equals("idle"));
            assertNotEquals(a1, a2);

            JsonNode deploys = siteStatus("a").get("deploys");
            assertEquals(2, deploys.size(), () -> "a burst of 11 costs at most 2 deploys: " + deploys);
            JsonNode second = deploys.get(0);
            JsonNode first = deploys.get(1);
            assertEquals("deployed", first.get("outcome").asText(), first::toString);
            assertEquals("deployed", second.get("outcome").asText(), second::toString);
            Instant firstEnd = Instant.parse(first.get("started").asText()).plusMillis(first.get("ms").asLong());
            // Instant.now() and the nanosecond clock that measures ms may differ by a few ms
            assertTrue(!Instant.parse(second.get("started").asText()).isBefore(firstEnd.minusMillis(20)),
                    () -> "a's deploys overlap: " + deploys);
            assertEquals(1, siteStatus("b").get("deploys").size());

            PrometheusText m = PrometheusText.parse(get("/metrics").body());
            assertEquals(2.0, m.value("pullhook_deploys_total", "site", "a", "outcome", "deployed"), m::toString);
            assertEquals(1.0, m.value("pullhook_deploys_total", "site", "b", "outcome", "deployed"));
            assertEquals(11.0, m.value("pullhook_webhook_requests_total", "site", "a", "outcome", "accepted"));
            assertEquals(1.0, m.value("pullhook_webhook_requests_total", "site", "b", "outcome", "accepted"));
        }
    }

    @Test
    void eachSiteOpensOnlyWithItsOwnSecret() throws Exception {
        startTwoSites();
        ObjectId pushed = b.pushNewCommit();
        assertStatus(403, post("/pull-repo/b?wait=true", SECRET_A));
        assertStatus(403, post("/rollback/b?wait=true", SECRET_A));
        assertStatus(403, post("/pull-repo/a?wait=true", SECRET_B));
        assertNotEquals(pushed, b.siteHead(), "nothing deployed with the other site's secret");

        assertStatus(200, post("/pull-repo/b?wait=true", SECRET_B));
        assertEquals(pushed, b.siteHead());
        assertStatus(200, post("/pull-repo/a?wait=true", SECRET_A));
    }

    @Test
    void unknownSiteGets404() throws Exception {
        startTwoSites();
        assertStatus(404, post("/pull-repo/nosuch", SECRET_A));
        assertStatus(404, post("/rollback/nosuch", SECRET_A));
        HttpResponse<String> unnamed = post("/pull-repo", SECRET_A);
        assertStatus(404, unnamed);
        assertTrue(unnamed.body().contains("a, b"), unnamed::body);
    }

    @Test
    void siteNameThatIsNotASimpleWordIsAConfigErrorNamingSites() {
        ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader(Map.of(), w -> { }).fromMap(Map.of(
                "sites", "blog, Shop, ../etc, a-b", "site.blog.repo.path", a.site.toString())));
        for (String bad : List.of("Shop", "../etc", "a-b")) {
            assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("sites: ") && p.contains("\"" + bad + "\"")),
                    () -> bad + " not named in " + e.problems());
        }
    }

    /** The config file of a one-site install, with no site key at all: everything answers as it always has. */
    @Test
    void oneSiteConfigWithoutSiteKeysWorksAsBefore() throws Exception {
        Path secret = Files.writeString(dir.resolve("secret"), SECRET_A + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Path file = Files.writeString(dir.resolve("config.properties"), "repo.path = " + a.site + "\n"
                + "webhook.secret.file = " + secret + "\nserver.port = 0\ndeploy.on.start = false\n",
                StandardCharsets.UTF_8);
        daemon = Daemon.start(new ConfigLoader(Map.of(), w -> { }).load(file));

        ObjectId pushed = a.pushNewCommit();
        HttpResponse<String> r = post("/pull-repo?wait=true", SECRET_A);
        assertStatus(200, r);
        assertEquals("deployed", json(r).get("status").asText());
        assertEquals(pushed.name(), json(r).get("to").asText());
        assertEquals(pushed, a.siteHead());

        JsonNode status = json(get("/status"));
        for (String field : List.of("path", "branch", "remote", "head", "state", "deploys", "deliveries", "sites")) {
            assertTrue(status.has(field), () -> field + " missing from " + status);
        }
        assertTrue(!status.has("name"), status::toString);
        assertEquals("/pull-repo", status.get("path").asText());
        assertEquals("main", status.get("branch").asText());
        assertEquals("origin", status.get("remote").asText());
        assertEquals(pushed.name(), status.get("head").asText());
        assertEquals("idle", status.get("state").asText());
        assertEquals(1, status.get("deploys").size());
        assertEquals(1, status.get("sites").size());
        assertEquals("", status.get("sites").get(0).get("name").asText());

        assertStatus(404, post("/pull-repo/a", SECRET_A));
        assertStatus(200, post("/rollback?wait=true", SECRET_A));
        PrometheusText m = PrometheusText.parse(get("/metrics").body());
        assertEquals(1.0, m.value("pullhook_webhook_requests_total", "site", "default", "outcome", "accepted"),
                m::toString);
    }
}

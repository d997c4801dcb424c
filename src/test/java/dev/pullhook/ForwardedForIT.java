package dev.pullhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The client address behind a trusted proxy: X-Forwarded-For read right to left, trusted hops skipped,
 * and anything that is not an address literal never believed (nor looked up in DNS). Seen where it decides
 * something: {@code webhook.allow.from} checks that address before anything else, and says so in its answer
 * (the same address is the {@code client=} of every log line; LogFormatIT pins that field).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ForwardedForIT {
    private static final String NOT_ALLOWED = "client address not allowed";
    private static final String NOT_SIGNED = "missing or invalid signature";

    @TempDir
    Path tmp;
    private TestRepos repos;
    /** Behind trusted proxies (this test, and 10.0.0.0/8), allowing the peer and two made-up clients. */
    private TestDaemon daemon;

    @BeforeAll
    void start(@TempDir Path dir) {
        repos = TestRepos.create(dir.resolve("shared"));
        daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                "server.trusted.proxies", "127.0.0.1, 10.0.0.0/8",
                "webhook.allow.from", "127.0.0.1, 203.0.113.9, 2001:db8::7"));
    }

    @AfterAll
    void stop() {
        if (daemon != null) {
            daemon.close();
        }
        if (repos != null) {
            repos.close();
        }
    }

    /** The reason of the 403 an unsigned request gets: the allow list's, or (past it) the signature check's. */
    private static String refusal(TestDaemon daemon, String forwardedFor) {
        HttpResponse<String> r = daemon.post("/pull-repo", new byte[0], "X-Forwarded-For", forwardedFor,
                "X-GitHub-Event", "push");
        assertEquals(403, r.statusCode(), r::body);
        assertTrue(r.body().contains(NOT_ALLOWED) || r.body().contains(NOT_SIGNED), r::body);
        return r.body().contains(NOT_ALLOWED) ? NOT_ALLOWED : NOT_SIGNED;
    }

    private double webhooks(String outcome) {
        Double v = PrometheusText.parse(daemon.get("/metrics").body()).value("pullhook_webhook_requests_total",
                "site", "default", "outcome", outcome);
        return v == null ? 0 : v;
    }

    private long newestDeployId() {
        try {
            return new ObjectMapper().readTree(daemon.get("/status").body()).path("deploys").path(0).path("id").asLong(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void clientAddressComesFromTheRightMostUntrustedHop() {
        String[][] cases = {
                // header value, whether the client it names is allowed (the peer, 127.0.0.1, is)
                {"203.0.113.9", NOT_SIGNED},
                {"198.51.100.1", NOT_ALLOWED},                      // the header is read at all
                {"198.51.100.1, 203.0.113.9", NOT_SIGNED},          // the left-most is whatever the client wrote
                {"203.0.113.9, 198.51.100.1", NOT_ALLOWED},         // ... and is never believed
                {"203.0.113.9, 10.1.2.3", NOT_SIGNED},              // a trusted proxy hop is skipped
                {"198.51.100.1, 10.1.2.3", NOT_ALLOWED},            // ... to the hop before it
                {"999.999.999.999", NOT_SIGNED},                   // not an address: the peer, no DNS lookup
                {"evil.example.com", NOT_SIGNED},
                {"198.51.100.1, evil.example.com", NOT_SIGNED},     // garbage: the peer, not a guess past it
                {"2001:db8::7", NOT_SIGNED},
                {"2001:db8::8", NOT_ALLOWED},
        };
        for (String[] c : cases) {
            assertEquals(c[1], refusal(daemon, c[0]), "X-Forwarded-For: " + c[0]);
        }
    }

    @Test
    void clientsOutsideTheAllowListGet403BeforeAnythingElse() {
        ObjectId before = repos.siteHead();
        repos.pushNewCommit();
        double forbidden = webhooks("forbidden");
        double accepted = webhooks("accepted");
        long newest = newestDeployId();
        HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "", "X-Forwarded-For", "198.51.100.1");
        assertEquals(403, r.statusCode());
        assertTrue(r.body().contains(NOT_ALLOWED), r.body());
        // nothing else was done: counted as forbidden, not accepted, no deploy
        assertEquals(forbidden + 1, webhooks("forbidden"));
        assertEquals(accepted, webhooks("accepted"));
        assertEquals(before, repos.siteHead());
        assertEquals(newest, newestDeployId());
        // the same credentials from an allowed client deploy
        HttpResponse<String> allowed = daemon.post("/pull-repo?wait=true", new byte[0],
                "X-Forwarded-For", "203.0.113.9", "X-Pullhook-Auth",
                Signatures.manual(TestDaemon.SECRET, "/pull-repo", new byte[0]));
        assertEquals(200, allowed.statusCode(), allowed.body());
        assertNotEquals(before, repos.siteHead());
    }

    /** Its own daemon: here the peer, 127.0.0.1, is no trusted proxy. */
    @Test
    void untrustedPeerCannotSetTheClientAddress() {
        try (TestRepos own = TestRepos.create(tmp.resolve("own"));
             TestDaemon direct = TestDaemon.start(own, Map.of("deploy.on.start", "false",
                     "server.trusted.proxies", "10.9.9.9", "webhook.allow.from", "203.0.113.9"))) {
            HttpResponse<String> r = direct.postSigned("/pull-repo?wait=true", "", "X-Forwarded-For", "203.0.113.9");
            assertEquals(403, r.statusCode(), r::body);
            assertTrue(r.body().contains(NOT_ALLOWED), "the peer 127.0.0.1 is the client: " + r.body());
        }
    }
}

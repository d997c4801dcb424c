package dev.pullhook;

import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The client address behind a trusted proxy: X-Forwarded-For read right to left, trusted hops skipped,
 * and anything that is not an address literal never believed (nor looked up in DNS).
 */
class ForwardedForIT {
    @TempDir
    Path tmp;

    private static String clientOf(LogCapture log, String marker) {
        return log.linesWith("webhook rejected", "delivery=" + marker).get(0).replaceAll(".* client=(\\S+) .*", "$1");
    }

    @Test
    void clientAddressComesFromTheRightMostUntrustedHop() {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture();
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "server.trusted.proxies", "127.0.0.1, 10.0.0.0/8"))) {
            String[][] cases = {
                    // header value, expected client
                    {"203.0.113.9", "203.0.113.9"},
                    {"198.51.100.1, 203.0.113.9", "203.0.113.9"},       // the left-most is whatever the client wrote
                    {"203.0.113.9, 10.1.2.3", "203.0.113.9"},          // a trusted proxy hop is skipped
                    {"999.999.999.999", "127.0.0.1"},                  // not an address: the peer, no DNS lookup
                    {"evil.example.com", "127.0.0.1"},
                    {"2001:db8::7", "2001:db8::7"},
            };
            for (int i = 0; i < cases.length; i++) {
                String marker = "xff-" + i;
                HttpResponse<String> r = daemon.post("/pull-repo", new byte[0], "X-Forwarded-For", cases[i][0],
                        "X-GitHub-Delivery", marker, "X-GitHub-Event", "push");
                assertEquals(403, r.statusCode());
                assertEquals(cases[i][1], clientOf(log, marker), "X-Forwarded-For: " + cases[i][0]);
            }
        }
    }

    @Test
    void untrustedPeerCannotSetTheClientAddress() {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture();
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "server.trusted.proxies", "10.9.9.9"))) {
            daemon.post("/pull-repo", new byte[0], "X-Forwarded-For", "203.0.113.9", "X-GitHub-Delivery", "xff-u",
                    "X-GitHub-Event", "push");
            assertEquals("127.0.0.1", clientOf(log, "xff-u"));
            assertFalse(log.text().contains("client=203.0.113.9"));
        }
    }

    @Test
    void clientsOutsideTheAllowListGet403BeforeAnythingElse() {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture();
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "webhook.allow.from", "10.0.0.0/8, 192.0.2.1"))) {
            HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
            assertEquals(403, r.statusCode());
            assertEquals(true, r.body().contains("client address not allowed"), r.body());
            assertFalse(log.linesWith("client refused client=127.0.0.1", "webhook.allow.from").isEmpty());
            assertEquals(true, log.linesWith("webhook accepted").isEmpty(), "nothing else was done");
            // behind a trusted proxy, the forwarded address is the one checked
            HttpResponse<String> viaProxy = daemon.post("/pull-repo?wait=true", new byte[0],
                    "X-Forwarded-For", "192.0.2.1", "X-Pullhook-Auth",
                    dev.pullhook.testing.Signatures.manual(TestDaemon.SECRET, "/pull-repo", new byte[0]));
            assertEquals(200, viaProxy.statusCode(), viaProxy.body());
        }
    }
}

package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.RawHttp;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Webhook bodies read before the routes see them (forged ones are answered there, the rest handed on): a body
 * that arrives in pieces is answered exactly as one that arrives at once, forged or signed, and a client that
 * stops sending in the middle of a body holds no server thread while it waits.
 */
class WebhookGateIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static String head(int port, String target, int contentLength, String... headerLines) {
        StringBuilder b = new StringBuilder("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n");
        for (String h : headerLines) {
            b.append(h).append("\r\n");
        }
        return b.append("Content-Length: ").append(contentLength).append("\r\nConnection: close\r\n\r\n").toString();
    }

    /**
     * Sends {@code body} in three pieces, each once the server has read all that came before, so that it has
     * to wait for the rest.
     */
    private static RawHttp.Response sendInPieces(RawHttp c, int port, String head, byte[] body) {
        c.send(head);
        int third = body.length / 3;
        for (int[] piece : new int[][]{{0, third}, {third, 2 * third}, {2 * third, body.length}}) {
            Poll.until("the server has read the request so far", () -> Ports.allRead(port));
            c.send(Arrays.copyOfRange(body, piece[0], piece[1]));
        }
        return c.read(false);
    }

    private static JsonNode json(RawHttp.Response r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r, e);
        }
    }

    /** Its log lines, written by the gate as the routes would write them, are pinned in LogFormatIT. */
    @Test
    void forgedBodyThatArrivesInPiecesIsRefusedAndCounted() throws Exception {
        byte[] body = "{\"ref\":\"refs/heads/main\",\"after\":\"0123456789abcdef0123456789abcdef01234567\"}"
                .getBytes(StandardCharsets.UTF_8);
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            int port = daemon.daemon.port();
            RawHttp.Response r;
            try (RawHttp c = RawHttp.connect(port)) {
                r = sendInPieces(c, port, head(port, "/pull-repo", body.length, "Content-Type: application/json",
                        "X-GitHub-Event: push", "X-GitHub-Delivery: gate-forged-1",
                        "X-Hub-Signature-256: sha256=" + "0".repeat(64)), body);
            }
            assertEquals(403, r.status(), r::toString);
            assertEquals("forbidden", json(r).path("status").asText());
            assertEquals("missing or invalid signature", json(r).path("error").asText());
            assertTrue(r.header("Content-Type").startsWith("application/json"), r::toString);
            PrometheusText m = PrometheusText.parse(daemon.get("/metrics").body());
            assertEquals(1.0, m.value("pullhook_webhook_requests_total", "site", "default", "outcome", "forbidden"));
            assertEquals(0.0, m.value("pullhook_webhook_requests_total", "site", "default", "outcome", "bad_request"));
        }
    }

    @Test
    void signedBodyThatArrivesInPiecesDeploys() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId pushed = repos.pushNewCommit();
            byte[] body = ("{\"ref\":\"refs/heads/main\",\"after\":\"" + pushed.name()
                    + "\",\"repository\":{\"full_name\":\"octo/site\"}}").getBytes(StandardCharsets.UTF_8);
            int port = daemon.daemon.port();
            RawHttp.Response r;
            try (RawHttp c = RawHttp.connect(port)) {
                r = sendInPieces(c, port, head(port, "/pull-repo?wait=true", body.length, "Content-Type: application/json",
                        "X-GitHub-Event: push", "X-GitHub-Delivery: gate-signed-1",
                        "X-Hub-Signature-256: " + Signatures.sha256(TestDaemon.SECRET, body)), body);
            }
            assertEquals(200, r.status(), r::toString);
            assertEquals("deployed", json(r).path("status").asText(), r::toString);
            assertEquals(pushed, repos.siteHead());
        }
    }

    @Test
    void forgedRollbackThatArrivesInPiecesIsRefused() throws Exception {
        byte[] body = "{}".repeat(30).getBytes(StandardCharsets.UTF_8);
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            int port = daemon.daemon.port();
            try (RawHttp c = RawHttp.connect(port)) {
                RawHttp.Response r = sendInPieces(c, port, head(port, "/rollback", body.length,
                        "X-Hub-Signature-256: sha256=" + "1".repeat(64)), body);
                assertEquals(403, r.status(), r::toString);
                assertEquals("missing or invalid signature", json(r).path("error").asText());
            }
            assertEquals(1.0, forbidden(daemon, "pullhook_rollback_requests_total"), "counted as a forbidden rollback");
            assertEquals(0.0, forbidden(daemon, "pullhook_webhook_requests_total"), "not as a webhook");
        }
    }

    private static double forbidden(TestDaemon daemon, String counter) {
        Double v = PrometheusText.parse(daemon.get("/metrics").body()).value(counter, "site", "default",
                "outcome", "forbidden");
        return v == null ? -1 : v;
    }

    /** A push payload for {@code commit}, padded with a JSON field to {@code size} bytes. */
    private static byte[] paddedPush(ObjectId commit, int size) {
        String head = "{\"ref\":\"refs/heads/main\",\"after\":\"" + commit.name()
                + "\",\"repository\":{\"full_name\":\"octo/site\"},\"padding\":\"";
        return (head + "x".repeat(size - head.length() - 2) + "\"}").getBytes(StandardCharsets.UTF_8);
    }

    /** {@code body} in HTTP/1.1 chunked framing, {@code piece} bytes a chunk. */
    private static byte[] chunked(byte[] body, int piece) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (int i = 0; i < body.length; i += piece) {
            int n = Math.min(piece, body.length - i);
            out.writeBytes(RawHttp.latin1(Integer.toHexString(n) + "\r\n"));
            out.write(body, i, n);
            out.writeBytes(RawHttp.latin1("\r\n"));
        }
        out.writeBytes(RawHttp.latin1("0\r\n\r\n"));
        return out.toByteArray();
    }

    /** Bodies over the 64 KiB the gate reads itself go on to the routes, which answer them as before. */
    @Test
    void bodiesLargerThanTheGateReadsAreAnsweredByTheRoutes() {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            int port = daemon.daemon.port();
            ObjectId pushed = repos.pushNewCommit();
            byte[] body = paddedPush(pushed, 100 * 1024);
            String forged = "X-Hub-Signature-256: sha256=" + "0".repeat(64);
            String signed = "X-Hub-Signature-256: " + Signatures.sha256(TestDaemon.SECRET, body);
            String[] github = {"Content-Type: application/json", "X-GitHub-Event: push"};

            // forged, with a Content-Length: 403 from the route
            RawHttp.Response r = RawHttp.exchange(port, concat(RawHttp.latin1(head(port, "/pull-repo", body.length,
                    github[0], github[1], "X-GitHub-Delivery: gate-large-1", forged)), body), false);
            assertEquals(403, r.status(), r::toString);
            assertEquals("missing or invalid signature", json(r).path("error").asText());
            // forged and chunked: the gate reads 64 KiB, then hands what it read and the rest to the route
            r = RawHttp.exchange(port, concat(RawHttp.latin1(chunkedHead(port, "/pull-repo", github[0], github[1],
                    "X-GitHub-Delivery: gate-large-2", forged)), chunked(body, 10_000)), false);
            assertEquals(403, r.status(), r::toString);
            assertEquals(2.0, forbidden(daemon, "pullhook_webhook_requests_total"), "both counted as forbidden");
            assertNotEquals(pushed, repos.siteHead(), "nothing deployed");

            // signed and chunked: the route gets every byte in order, so the HMAC verifies and it deploys
            r = RawHttp.exchange(port, concat(RawHttp.latin1(chunkedHead(port, "/pull-repo?wait=true", github[0], github[1],
                    "X-GitHub-Delivery: gate-large-3", signed)), chunked(body, 10_000)), false);
            assertEquals(200, r.status(), r::toString);
            assertEquals("deployed", json(r).path("status").asText(), r::toString);
            assertEquals(pushed, repos.siteHead());
        }
    }

    private static String chunkedHead(int port, String target, String... headerLines) {
        StringBuilder b = new StringBuilder("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n");
        for (String h : headerLines) {
            b.append(h).append("\r\n");
        }
        return b.append("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").toString();
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    /**
     * The gate holds at most 4 MiB of bodies at once. 80 clients each send 60 KiB of a 62 KiB forged body and
     * wait (4.7 MiB, more than it holds); then each sends the rest. Those past its budget went on to the
     * routes with the bytes read so far: every one is answered 403 all the same.
     */
    @Test
    void bodiesPastTheGatesMemoryBudgetAreAnsweredByTheRoutes() throws InterruptedException {
        int clients = 80;
        byte[] body = new byte[62 * 1024];
        Arrays.fill(body, (byte) ' ');
        int first = 60 * 1024;
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            int port = daemon.daemon.port();
            List<RawHttp> waiting = new ArrayList<>();
            try {
                for (int i = 0; i < clients; i++) {
                    RawHttp c = RawHttp.connect(port);
                    waiting.add(c);
                    c.send(head(port, "/pull-repo", body.length, "X-GitHub-Delivery: gate-held-" + i,
                            "X-Hub-Signature-256: sha256=" + "0".repeat(64)));
                    c.send(Arrays.copyOf(body, first));
                }
                Poll.until("the server has read what the 80 clients sent", () -> Ports.allRead(port));
                for (RawHttp c : waiting) {
                    c.send(Arrays.copyOfRange(body, first, body.length));
                }
                for (RawHttp c : waiting) {
                    RawHttp.Response r = c.read(false);
                    assertEquals(403, r.status(), r::toString);
                    assertEquals("missing or invalid signature", json(r).path("error").asText());
                }
            } finally {
                waiting.forEach(RawHttp::close);
            }
            // every client has its answer: each was counted before it was sent
            assertEquals((double) clients, forbidden(daemon, "pullhook_webhook_requests_total"));
        }
    }

    /**
     * More clients than the server has threads (64) stop in the middle of a body. Were a thread blocked in
     * each read, {@code /health} and a real delivery would wait for the 10 s idle timeout to free one; here
     * they are answered while every stalled connection is still open.
     */
    @Test
    void stalledWebhookBodiesHoldNoServerThread() {
        int stalledCount = 100;
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            int port = daemon.daemon.port();
            List<RawHttp> stalled = new ArrayList<>();
            try {
                // from 127.0.0.1, a trusted proxy by default, so server.connections.per.client does not cut them
                for (int i = 0; i < stalledCount; i++) {
                    RawHttp c = RawHttp.connect(port);
                    stalled.add(c);
                    c.send(head(port, "/pull-repo", 1000, "X-Hub-Signature-256: sha256=" + "0".repeat(64)) + "{");
                }
                // well below the idle timeout that would otherwise free threads
                try (RawHttp probe = RawHttp.connect(port, Duration.ofSeconds(5))) {
                    probe.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
                    assertEquals(200, probe.read(false).status());
                } catch (UncheckedIOException e) {
                    fail("/health was not answered within 5 s while " + stalledCount + " bodies were stalled: "
                            + e.getCause());
                }
                ObjectId pushed = repos.pushNewCommit();
                assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                assertEquals(pushed, repos.siteHead());
            } finally {
                stalled.forEach(RawHttp::close);
            }
        }
    }
}

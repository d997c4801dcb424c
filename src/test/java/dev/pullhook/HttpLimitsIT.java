package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.Fixtures;
import dev.pullhook.testing.LogFile;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.RawHttp;
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
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The server's own limits ({@code server.*}), against a real daemon on a free port, straight (no NGINX in
 * front): the body budget makes a large body wait and then answers 503 without reading it, while small
 * verified webhooks still pass; large bodies that stall hold no thread; a body or a request head that
 * trickles in is cut off by the minimum rate or the header timeout, and idle keep-alive ends with the
 * latter; past {@code server.connections.max} an idle connection makes room for the new one. Each daemon gets
 * small limits where the defaults would make a test slow. The daemons' log is in
 * {@code target/test-logs/HttpLimitsIT.log}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpLimitsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String BAD_SIGNATURE = "X-Hub-Signature-256: sha256=" + "0".repeat(64);

    @TempDir
    Path tmp;
    private LogFile log;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @BeforeAll
    void captureTheLog() {
        log = new LogFile("HttpLimitsIT");
    }

    @AfterAll
    void stop() {
        pool.shutdownNow();
        repos.forEach(TestRepos::close);
        log.close();
    }

    private final List<TestRepos> repos = new ArrayList<>();

    /** A daemon with {@code keys} for the repositories {@link #repos(String)} made under {@code name}. */
    private TestDaemon start(String name, Map<String, String> keys) {
        Map<String, String> all = new HashMap<>(keys);
        all.put("deploy.on.start", "false");
        // the daemon's own warm-up request may still be open: only the connection cap counts it, and that
        // test allows no webhook from 127.0.0.1, so there is none
        return TestDaemon.start(repos(name), all);
    }

    private TestRepos repos(String name) {
        for (TestRepos r : repos) {
            if (r.site.startsWith(tmp.resolve(name))) {
                return r;
            }
        }
        TestRepos made = TestRepos.create(tmp.resolve(name));
        repos.add(made);
        return made;
    }

    private static String head(int port, String target, long contentLength, String... headerLines) {
        StringBuilder b = new StringBuilder("POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n");
        for (String h : headerLines) {
            b.append(h).append("\r\n");
        }
        return b.append("Content-Length: ").append(contentLength).append("\r\n\r\n").toString();
    }

    private static JsonNode json(RawHttp.Response r) {
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + r.body(), e);
        }
    }

    private static void healthAnswersWithin(int port, Duration patience) {
        try (RawHttp probe = RawHttp.connect(port, patience)) {
            probe.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
            assertEquals(200, probe.read(false).status());
        } catch (UncheckedIOException e) {
            fail("/health was not answered within " + patience.toSeconds() + " s: " + e.getCause());
        }
    }

    /** Sends one byte every {@code everyMs} until the server closes the connection (at most {@code max} bytes). */
    private CompletableFuture<Integer> trickle(RawHttp c, long everyMs, int max) {
        return CompletableFuture.supplyAsync(() -> {
            int sent = 0;
            while (sent < max && c.trySend(new byte[]{' '})) {
                sent++;
                try {
                    Thread.sleep(everyMs);  // the trickle's pace, not a wait for a result
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            return sent;
        }, pool);
    }

    // ---- the body budget --------------------------------------------------------------------------

    @Test
    void aBodyThatDoesNotFitTheBudgetWaitsThenGets503WhileSmallVerifiedWebhooksPass() throws Exception {
        // room for one 300 kB body; the rate check is off, so a stalled body keeps its room
        try (TestDaemon daemon = start("budget", Map.of("webhook.max.body.bytes", "300000",
                "server.body.budget.bytes", "400000", "server.body.min.bytes.per.second", "0",
                "server.idle.timeout.seconds", "60"))) {
            int port = daemon.daemon.port();
            List<RawHttp> clients = new ArrayList<>();
            List<CompletableFuture<RawHttp.Response>> answers = new ArrayList<>();
            try {
                for (int i = 0; i < 2; i++) {
                    RawHttp c = RawHttp.connect(port, Duration.ofSeconds(20));
                    clients.add(c);
                    c.send(head(port, "/pull-repo", 300_000, BAD_SIGNATURE) + "{");  // and then nothing
                    answers.add(CompletableFuture.supplyAsync(() -> c.read(false), pool));
                }
                // one of them holds the room, the other waits (5 s) and is answered without being read
                CompletableFuture.anyOf(answers.toArray(CompletableFuture[]::new)).get(15, TimeUnit.SECONDS);
                RawHttp.Response busy = answers.stream().filter(CompletableFuture::isDone).findFirst().orElseThrow().join();
                assertEquals(503, busy.status(), busy::toString);
                assertEquals("unavailable", json(busy).path("status").asText());
                assertTrue(json(busy).path("error").asText().contains("server.body.budget.bytes"), busy::body);
                assertEquals("5", busy.header("Retry-After"), busy::head);
                assertEquals(1, answers.stream().filter(CompletableFuture::isDone).count(), "the other still holds its room");

                // a small signed webhook fits next to it and is answered at once
                byte[] ping = Fixtures.payload("github/ping.json");
                var pong = daemon.post("/pull-repo", ping, "Content-Type", "application/json", "X-GitHub-Event", "ping",
                        "X-Hub-Signature-256", Signatures.sha256(TestDaemon.SECRET, ping));
                assertEquals(200, pong.statusCode(), pong.body());
                healthAnswersWithin(port, Duration.ofSeconds(5));
            } finally {
                clients.forEach(RawHttp::close);
            }
            PrometheusText m = PrometheusText.parse(daemon.get("/metrics").body());
            assertEquals(1.0, m.value("pullhook_webhook_requests_total", "site", "default", "outcome", "unavailable"));
        }
    }

    /**
     * More stalled large bodies (over the gate's 64 KiB, so read for the routes) than the server has threads:
     * they are read without a thread, so {@code /health} and a real deploy are served while all are open.
     */
    @Test
    void stalledLargeBodiesHoldNoServerThread() {
        try (TestDaemon daemon = start("stalled", Map.of("server.body.min.bytes.per.second", "0",
                "server.idle.timeout.seconds", "60"))) {
            int port = daemon.daemon.port();
            List<RawHttp> stalled = new ArrayList<>();
            try {
                for (int i = 0; i < 100; i++) {  // 100 x 100 kB: within the 16 MiB budget, so all are being read
                    RawHttp c = RawHttp.connect(port);
                    stalled.add(c);
                    c.send(head(port, "/pull-repo", 100_000, BAD_SIGNATURE) + "{");
                }
                healthAnswersWithin(port, Duration.ofSeconds(5));
                ObjectId pushed = repos("stalled").pushNewCommit();
                assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                assertEquals(pushed, repos("stalled").siteHead());
            } finally {
                stalled.forEach(RawHttp::close);
            }
        }
    }

    // ---- slow clients ------------------------------------------------------------------------------

    /** 1,000 bytes go through the gate, 1 MB through the body budget: either way the trickle is cut off. */
    @ParameterizedTest
    @ValueSource(ints = {1_000, 1_000_000})
    void aBodyTricklingInIsCutOffByTheMinimumRate(int length) throws Exception {
        try (TestDaemon daemon = start("rate-" + length, Map.of())) {
            int port = daemon.daemon.port();
            long t0 = System.nanoTime();
            try (RawHttp c = RawHttp.connect(port)) {
                c.send(head(port, "/pull-repo", length, BAD_SIGNATURE));
                CompletableFuture<Integer> sent = trickle(c, 100, length);  // 10 bytes/s
                assertTrue(c.closedByServer(Duration.ofSeconds(20)), "the slow body was not cut off");
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                // after the 3 s of grace, and long before the 10 s idle timeout (which bytes every 100 ms never trip)
                assertTrue(ms >= 2_900 && ms < 9_000, "cut off after " + ms + " ms");
                assertTrue(sent.get(10, TimeUnit.SECONDS) < 100, "sent " + sent.join());
            }
            healthAnswersWithin(port, Duration.ofSeconds(5));
        }
    }

    @Test
    void aRequestHeadTricklingInIsCutOffByTheHeaderTimeout() throws Exception {
        try (TestDaemon daemon = start("head", Map.of("server.header.timeout.seconds", "2"))) {
            int port = daemon.daemon.port();
            long t0 = System.nanoTime();
            try (RawHttp c = RawHttp.connect(port)) {
                c.send("POST /pull-repo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
                trickle(c, 100, 1_000);
                assertTrue(c.closedByServer(Duration.ofSeconds(15)), "the slow head was not cut off");
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(ms >= 1_900 && ms < 8_000, "cut off after " + ms + " ms");
            }
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAfterTheHeaderTimeoutWithoutAWarning() {
        try (TestDaemon daemon = start("keepalive", Map.of("server.header.timeout.seconds", "2"))) {
            int port = daemon.daemon.port();
            int warnings = log.linesWith("[WARN] ConnectionGuard").size();
            try (RawHttp c = RawHttp.connect(port)) {
                c.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
                assertEquals(200, c.read(false).status());
                long t0 = System.nanoTime();
                assertTrue(c.closedByServer(Duration.ofSeconds(15)), "the idle connection stayed open");
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(ms >= 1_900, "closed after " + ms + " ms");
            }
            // the one log check here: the warnings of the cases above must not cry wolf at an ordinary client
            assertEquals(warnings, log.linesWith("[WARN] ConnectionGuard").size(), "an idle client is not abuse");
        }
    }

    // ---- the connection cap ------------------------------------------------------------------------

    @Test
    void pastTheConnectionCapAnIdleConnectionMakesRoomForTheNewOne() {
        // no webhook may come from 127.0.0.1, so the daemon sends itself no warm-up request: only these count
        try (TestDaemon daemon = start("cap", Map.of("server.connections.max", "16",
                "server.header.timeout.seconds", "60", "webhook.allow.from", "192.0.2.1"))) {
            int port = daemon.daemon.port();
            List<RawHttp> open = new ArrayList<>();
            try {
                for (int i = 0; i < 16; i++) {
                    open.add(RawHttp.connect(port));  // connected, nothing sent: waiting for a request head
                }
                healthAnswersWithin(port, Duration.ofSeconds(5));  // the 17th
                // the one closed to make room was closed before the 17th was read: its end is there already
                long closed = open.stream().filter(c -> c.closedByServer(Duration.ofMillis(50))).count();
                assertEquals(1, closed, "connections closed to make room for one");
            } finally {
                open.forEach(RawHttp::close);
            }
        }
    }
}

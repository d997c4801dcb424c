package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Replay: a captured valid delivery is a duplicate while remembered, and once forgotten it can only cause a
 * deploy of the remote branch's current tip, never of the commit its payload names. Load: a thousand and more
 * bad requests at full speed while real pushes arrive lose no push, and leave no threads or heap behind.
 */
class ReplayAndLoadIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static byte[] githubPush(ObjectId after) {
        return ("{\"ref\":\"refs/heads/main\",\"before\":\"" + "0".repeat(39) + "1\",\"after\":\"" + after.name()
                + "\",\"repository\":{\"full_name\":\"octo/site\"}}").getBytes(StandardCharsets.UTF_8);
    }

    private static HttpResponse<String> deliver(TestDaemon daemon, byte[] body, String delivery) {
        return daemon.post("/pull-repo?wait=true", body, "Content-Type", "application/json",
                "X-GitHub-Event", "push", "X-GitHub-Delivery", delivery,
                "X-Hub-Signature-256", Signatures.sha256(TestDaemon.SECRET, body));
    }

    @Test
    void replayedDeliveryIsDuplicateAcrossARestartAndUnderAnUnknownIdDeploysOnlyTheCurrentTip() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp)) {
            ObjectId first = repos.siteHead();
            ObjectId x = repos.pushNewCommit();
            byte[] captured = githubPush(x);
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
                assertEquals(200, deliver(daemon, captured, "captured-1").statusCode());
                assertEquals(x, repos.siteHead());
                HttpResponse<String> replay = deliver(daemon, captured, "captured-1");
                assertEquals(200, replay.statusCode());
                assertEquals("duplicate", JSON.readTree(replay.body()).path("status").asText());
                ObjectId y = repos.pushNewCommit();
                assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                assertEquals(y, repos.siteHead());
            }
            // the branch is moved back behind X; a restart remembers the delivery ids (state.dir/deliveries)
            repos.forcePushTo(first);
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
                HttpResponse<String> again = deliver(daemon, captured, "captured-1");
                assertEquals(200, again.statusCode(), again.body());
                assertEquals("duplicate", JSON.readTree(again.body()).path("status").asText());
                assertNotEquals(first, repos.siteHead(), "a duplicate deploys nothing, after a restart too");
                // the same payload under an id it does not know (forgotten, or made up)
                HttpResponse<String> replay = deliver(daemon, captured, "captured-1-unknown-id");
                assertEquals(200, replay.statusCode(), replay.body());
                assertEquals("deployed", JSON.readTree(replay.body()).path("status").asText());
                assertEquals(first, repos.siteHead(), "the remote's current tip, not the payload's commit");
                assertNotEquals(x, repos.siteHead());
            }
        }
    }

    /** Pushes sent during the flood: enough for an order, and for each to meet the flood on its own. */
    private static final int PUSHES = 5;
    /** Connections of the flood: each keeps one server thread busy; two keep both cores of a small server busy. */
    private static final int FLOODERS = 2;
    /** Forged requests at least, in all and after the last push (the flood outlasts the pushes). */
    private static final long FLOOD_MIN = 1000;
    private static final long FLOOD_AFTER = 200;

    /**
     * A few pushes, one after the other, each sent once the one before is deployed, while two connections send
     * forged webhooks as fast as the server answers (a thousand and more). Every push is deployed, in order;
     * then the daemon's threads go back to their idle level and the heap keeps no trace of the flood. What
     * the flood's size shows is that it runs through every push; a leak per request would show with far fewer.
     */
    @Test
    void aFloodOfBadRequestsLosesNoPushAndLeavesNothingBehind() throws Exception {
        // the rejections logged at the real rate (the flood's lines would fill the log), nothing else asserted on them
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "server.log.rejections.per.minute", "20"))) {
            // warm up; the idle level of the daemon's threads and the heap, once the warm-ups are done
            for (int i = 0; i < 3; i++) {
                daemon.postSigned("/pull-repo?wait=true", "");
            }
            Poll.until("the warm-up request's thread gone", () -> Thread.getAllStackTraces().keySet().stream()
                    .noneMatch(t -> t.getName().equals("http-warm-up")));
            int idleThreads = daemonThreads();
            long idleHeap = usedHeapAfterGc();

            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong sent = new AtomicLong();
            int port = daemon.daemon.port();
            List<Thread> flood = new ArrayList<>();
            for (int t = 0; t < FLOODERS; t++) {
                Thread th = new Thread(() -> floodBadRequests(port, stop, sent), "flood-" + t);
                th.start();
                flood.add(th);
            }
            List<ObjectId> pushed = new ArrayList<>();
            long t0 = System.nanoTime();
            int peakThreads = 0;
            try {
                Poll.until("the flood under way", () -> sent.get() > 200);
                for (int i = 0; i < PUSHES; i++) {
                    ObjectId tip = repos.pushNewCommit();
                    pushed.add(tip);
                    HttpResponse<String> r = daemon.postSigned("/pull-repo", "");
                    assertEquals(202, r.statusCode(), r.body());
                    // the next push only once this one is deployed: each must show in the history on its own
                    Poll.until("push " + i + " deployed under the flood", () -> tip.equals(siteHead(repos)));
                    peakThreads = Math.max(peakThreads, daemonThreads());
                }
                long atLeast = Math.max(sent.get() + FLOOD_AFTER, FLOOD_MIN);  // and goes on past the last push
                Poll.until(atLeast + " forged requests", () -> sent.get() > atLeast);
            } finally {
                stop.set(true);
                for (Thread th : flood) {
                    th.join(30_000);
                }
            }
            long floodMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(sent.get() > FLOOD_MIN, "the flood sent " + sent.get() + " requests");
            Poll.until("idle", () -> daemon.get("/status").body().contains("\"state\":\"idle\""));
            assertEquals(pushed.get(PUSHES - 1), repos.siteHead(), "the last push is deployed");

            // every push deployed, in the order of the tips
            JsonNode deploys = JSON.readTree(daemon.get("/status").body()).path("deploys");
            List<String> deployedTips = new ArrayList<>();
            for (int i = deploys.size() - 1; i >= 0; i--) {
                assertEquals("deployed", deploys.get(i).path("outcome").asText(), deploys.get(i).toString());
                deployedTips.add(deploys.get(i).path("to").asText());
            }
            int at = -1;
            for (ObjectId p : pushed) {
                int found = deployedTips.indexOf(p.name());
                assertTrue(found > at, "push " + p.name() + " deployed after the previous one: " + deployedTips);
                at = found;
            }

            // threads back to their idle level (Jetty's pool retires one idle thread per 5 s), heap too
            int afterLoad = daemonThreads();
            Poll.until(Duration.ofSeconds(90), () -> "threads back to the idle level: " + daemonThreads()
                    + " after the load (" + afterLoad + " right after), idle " + idleThreads,
                    () -> daemonThreads() <= idleThreads + 1);
            long heap = usedHeapAfterGc();
            assertTrue(heap < idleHeap + 32L * 1024 * 1024,
                    "heap after the flood " + heap / 1024 / 1024 + " MiB, idle " + idleHeap / 1024 / 1024 + " MiB");
            System.out.printf("load: %d bad requests in %d ms (%.0f/s) with " + PUSHES + " pushes; threads idle=%d peak=%d"
                            + " after=%d; heap idle=%d MiB after=%d MiB%n", sent.get(), floodMs,
                    sent.get() * 1000.0 / floodMs, idleThreads, peakThreads, daemonThreads(), idleHeap >> 20, heap >> 20);
        }
    }

    private static ObjectId siteHead(TestRepos repos) {
        try {
            return repos.siteHead();
        } catch (Exception e) {
            return null;  // read while the deploy moves HEAD
        }
    }

    /** Wrong-signature POSTs over keep-alive connections, as fast as the server answers. */
    private static void floodBadRequests(int port, AtomicBoolean stop, AtomicLong sent) {
        byte[] request = ("POST /pull-repo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "X-Hub-Signature-256: sha256=" + "0".repeat(64) + "\r\nContent-Length: 2\r\n\r\n{}")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] buffer = new byte[8192];
        while (!stop.get()) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
                s.setSoTimeout(10_000);
                OutputStream out = s.getOutputStream();
                InputStream in = s.getInputStream();
                for (int i = 0; i < 1000 && !stop.get(); i++) {
                    out.write(request);
                    out.flush();
                    if (!readResponse(in, buffer)) {
                        break;
                    }
                    sent.incrementAndGet();
                }
            } catch (IOException e) {
                // the server may close a kept-alive connection: open another
            }
        }
    }

    /** Reads one response with a Content-Length body; false when the connection ended. */
    private static boolean readResponse(InputStream in, byte[] buffer) throws IOException {
        StringBuilder head = new StringBuilder();
        int b;
        while ((b = in.read()) >= 0) {
            head.append((char) b);
            if (head.length() >= 4 && head.substring(head.length() - 4).equals("\r\n\r\n")) {
                break;
            }
        }
        if (b < 0) {
            return false;
        }
        String h = head.toString().toLowerCase(java.util.Locale.ROOT);
        int at = h.indexOf("content-length:");
        int length = at < 0 ? 0 : Integer.parseInt(h.substring(at + 15, h.indexOf('\r', at)).strip());
        while (length > 0) {
            int n = in.read(buffer, 0, Math.min(buffer.length, length));
            if (n < 0) {
                return false;
            }
            length -= n;
        }
        return !h.contains("connection: close");
    }

    /** The daemon's own threads: the HTTP pool, deploy workers, pollers. */
    private static int daemonThreads() {
        int n = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            String name = t.getName();
            if (name.startsWith("http") || name.startsWith("deploy") || name.startsWith("poll")) {
                n++;
            }
        }
        return n;
    }

    /** Used heap after full collections (System.gc() returns once the serial or G1 full collection is done). */
    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}

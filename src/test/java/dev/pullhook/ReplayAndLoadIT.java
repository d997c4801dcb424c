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
 * deploy of the remote branch's current tip, never of the commit its payload names. Load: a minute of bad
 * requests at full speed while ten real pushes arrive loses no push, and leaves no threads or heap behind.
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

    @Test
    void aMinuteOfBadRequestsLosesNoPushAndLeavesNothingBehind() throws Exception {
        // no LogCapture here: it would keep every log line of the flood in this JVM's heap
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            // warm up, then the idle level of the daemon's threads and the heap
            for (int i = 0; i < 3; i++) {
                daemon.postSigned("/pull-repo?wait=true", "");
            }
            Thread.sleep(12_000);  // let the HTTP pool shrink back to idle (5 s idle timeout)
            int idleThreads = daemonThreads();
            long idleHeap = usedHeapAfterGc();

            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong sent = new AtomicLong();
            int port = daemon.daemon.port();
            List<Thread> flood = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Thread th = new Thread(() -> floodBadRequests(port, stop, sent), "flood-" + t);
                th.start();
                flood.add(th);
            }
            List<ObjectId> pushed = new ArrayList<>();
            long end = System.nanoTime() + 60_000_000_000L;
            try {
                for (int i = 0; i < 10; i++) {
                    pushed.add(repos.pushNewCommit());
                    HttpResponse<String> r = daemon.postSigned("/pull-repo", "");
                    assertEquals(202, r.statusCode(), r.body());
                    Thread.sleep(5_000);
                }
                while (System.nanoTime() < end) {
                    Thread.sleep(200);
                }
            } finally {
                stop.set(true);
                for (Thread th : flood) {
                    th.join(30_000);
                }
            }
            assertTrue(sent.get() > 1000, "the flood sent " + sent.get() + " requests");
            Poll.until("idle", () -> daemon.get("/status").body().contains("\"state\":\"idle\""));
            assertEquals(pushed.get(9), repos.siteHead(), "the last push is deployed");

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

            // threads and heap back to their idle level (Jetty's pool retires one idle thread per 5 s)
            int afterLoad = daemonThreads();
            System.out.printf("threads: idle=%d right after the load=%d%n", idleThreads, afterLoad);
            long until = System.nanoTime() + 90_000_000_000L;
            while (daemonThreads() > idleThreads + 1 && System.nanoTime() < until) {
                Thread.sleep(500);
            }
            assertTrue(daemonThreads() <= idleThreads + 1, "threads " + daemonThreads() + " after the load ("
                    + afterLoad + " right after), idle " + idleThreads);
            long heap = usedHeapAfterGc();
            assertTrue(heap < idleHeap + 32L * 1024 * 1024,
                    "heap after the flood " + heap / 1024 / 1024 + " MiB, idle " + idleHeap / 1024 / 1024 + " MiB");
            System.out.printf("load: %d bad requests in 60 s (%.0f/s) with 10 pushes; threads idle=%d after=%d;"
                            + " heap idle=%d MiB after=%d MiB%n", sent.get(), sent.get() / 60.0, idleThreads,
                    daemonThreads(), idleHeap >> 20, heap >> 20);
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

    private static long usedHeapAfterGc() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(200);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}

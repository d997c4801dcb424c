package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.EventStream;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /deploys/<id>/log} on a real daemon deploying real repositories with a {@code deploy.command}
 * that prints slowly or waits for the test: the lines arrive while the deploy runs, in order, then the
 * outcome; a finished deploy's log stays readable, its secrets masked; unknown ids are 404; no credentials,
 * as for {@code /status}; quiet deploys are kept alive past the idle timeout; readers are bounded, and one
 * that cannot keep up is cut while the deploy goes on.
 */
class DeployLogIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static TestDaemon start(TestRepos repos, String command, String... keys) {
        Map<String, String> config = new HashMap<>(Map.of("deploy.on.start", "false", "deploy.command", command));
        for (int i = 0; i + 1 < keys.length; i += 2) {
            config.put(keys[i], keys[i + 1]);
        }
        return TestDaemon.start(repos, config);
    }

    /** A manual deploy, queued without waiting; returns its id from the 202 answer. */
    private static long queueDeploy(TestDaemon d) throws Exception {
        HttpResponse<String> r = d.postSigned("/pull-repo", "");
        assertEquals(202, r.statusCode(), r.body());
        JsonNode body = JSON.readTree(r.body());
        assertEquals("queued", body.path("status").asText(), r.body());
        return body.path("id").asLong();
    }

    private static String state(TestDaemon d) throws Exception {
        return JSON.readTree(d.get("/status").body()).path("state").asText();
    }

    private static HttpResponse<String> getText(TestDaemon d, String path) {
        return d.send(HttpRequest.newBuilder(d.uri(path)).timeout(Duration.ofSeconds(60)).GET().build());
    }

    @Test
    void eachLineArrivesWhileTheDeployStillRunsAndTheEndCarriesTheOutcome() throws Exception {
        Path gate = dir.resolve("gate");
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = start(repos, "echo line 1; while [ ! -e '" + gate + "' ] && [ -d '" + gate.getParent() + "' ]; do sleep 0.05; done; echo line 2")) {
            ObjectId from = repos.siteHead();
            ObjectId to = repos.pushNewCommit();
            long id = queueDeploy(d);
            try (EventStream log = EventStream.open(d.uri("/deploys/" + id + "/log"))) {
                assertEquals(200, log.status());
                log.await("output", "line 1"::equals);
                // the command is waiting for the gate: the deploy cannot have ended
                assertEquals("running", state(d));
                assertTrue(log.events().stream().noneMatch(e -> e.name().equals("end")), log.events()::toString);
                Files.createFile(gate);
                EventStream.Event end = log.await("end", x -> true);
                log.awaitClosed();

                List<String> seen = new ArrayList<>();
                for (EventStream.Event e : log.events()) {
                    seen.add(e.name() + " " + (e.name().equals("end") ? "" : e.data()));
                }
                assertEquals(List.of("phase queued", "phase lock", "phase fetch", "phase local-changes", "phase reset",
                        "phase command", "output line 1", "output line 2", "end "), seen);
                JsonNode outcome = JSON.readTree(end.data());
                assertEquals(id, outcome.path("id").asLong());
                assertEquals("deployed", outcome.path("outcome").asText(), end.data());
                assertEquals(from.name(), outcome.path("from").asText());
                assertEquals(to.name(), outcome.path("to").asText());
                assertEquals(0, outcome.path("command").path("exit").asInt(), end.data());
                assertEquals(to, repos.siteHead());
            }
        }
    }

    @Test
    void slowLinesArriveOneByOneBeforeTheDeployEnds() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = start(repos, "for i in 1 2 3; do echo line $i; sleep 0.3; done")) {
            repos.pushNewCommit();
            long id = queueDeploy(d);
            try (EventStream log = EventStream.open(d.uri("/deploys/" + id + "/log"))) {
                EventStream.Event end = log.await("end", x -> true);
                Instant endedAt = Instant.now();
                long[] arrived = new long[3];
                for (int i = 1; i <= 3; i++) {
                    String line = "line " + i;
                    arrived[i - 1] = log.await("output", line::equals).arrivedNanos();
                }
                assertTrue(arrived[0] < arrived[1] && arrived[1] < arrived[2] && arrived[2] < end.arrivedNanos(),
                        "in order, each as it came: " + log.events());
                // the command sleeps 0.3 s after each line: the first came well before the end, not with it
                assertTrue(end.arrivedNanos() - arrived[0] >= Duration.ofMillis(400).toNanos(),
                        "line 1 arrived " + (end.arrivedNanos() - arrived[0]) / 1_000_000 + " ms before the end");
                JsonNode outcome = JSON.readTree(end.data());
                Instant deployEnd = Instant.parse(outcome.path("started").asText()).plusMillis(outcome.path("ms").asLong());
                long lineOneAt = System.currentTimeMillis() - (System.nanoTime() - arrived[0]) / 1_000_000;
                assertTrue(lineOneAt < deployEnd.toEpochMilli(), "line 1 arrived before the deploy ended ("
                        + Instant.ofEpochMilli(lineOneAt) + " < " + deployEnd + ", stream end seen " + endedAt + ")");
            }
        }
    }

    @Test
    void aFinishedDeploysLogStaysReadableAsTextWithItsSecretsMasked() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = start(repos, "echo \"token: " + TestDaemon.SECRET + "\"; echo https://bot:hunter2@git.example/x.git")) {
            repos.pushNewCommit();
            HttpResponse<String> deployed = d.postSigned("/pull-repo?wait=true", "");
            assertEquals(200, deployed.statusCode(), deployed::body);
            long id = JSON.readTree(deployed.body()).path("id").asLong();

            HttpResponse<String> text = getText(d, "/deploys/" + id + "/log");
            assertEquals(200, text.statusCode(), text::body);
            assertTrue(text.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), text.headers()::toString);
            String body = text.body();
            assertFalse(body.contains(TestDaemon.SECRET), body);
            assertFalse(body.contains("hunter2"), body);
            assertTrue(body.contains("output token: ****\n"), body);
            assertTrue(body.contains("output https://****@git.example/x.git\n"), body);
            assertTrue(body.startsWith("phase queued\nphase lock\n"), body);
            String last = body.strip().substring(body.strip().lastIndexOf('\n') + 1);
            assertTrue(last.startsWith("end {"), body);
            assertEquals("deployed", JSON.readTree(last.substring(4)).path("outcome").asText(), last);

            // the same as events, read again from the start by a second reader
            try (EventStream log = EventStream.open(d.uri("/deploys/" + id + "/log"))) {
                assertEquals("token: ****", log.await("output", l -> l.startsWith("token")).data());
                log.await("end", x -> true);
            }
        }
    }

    @Test
    void unknownDeploysAndSitesAre404AndOnlyGetIsAllowed() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = start(repos, "true")) {
            for (String path : List.of("/deploys/1/log", "/deploys/999999/log", "/deploys/abc/log", "/deploys/0/log",
                    "/deploys/nosuch/1/log", "/deploys/99999999999999999999999/log")) {
                HttpResponse<String> r = getText(d, path);
                assertEquals(404, r.statusCode(), path + " " + r.body());
                assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), path);
                assertEquals("not found", JSON.readTree(r.body()).path("status").asText(), r.body());
            }
            assertEquals("no deploy 999999", JSON.readTree(getText(d, "/deploys/999999/log").body()).path("error").asText());
            assertTrue(getText(d, "/deploys/nosuch/1/log").body().contains("unknown site (sites: default)"));

            HttpResponse<String> post = d.postSigned("/deploys/1/log", "");
            assertEquals(405, post.statusCode(), post.body());
            assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
        }
    }

    @Test
    void theLogAsksForNoCredentialsLikeStatusAndTheAllowListIsTheWebhooksOnly() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"))) {
            ObjectId to = repos.pushNewCommit();
            // 127.0.0.1 may not send webhooks; the start-up check deploys the new commit as deploy 1
            try (TestDaemon d = start(repos, "echo built", "deploy.on.start", "true", "webhook.allow.from", "192.0.2.0/24")) {
                Poll.until("the start-up deploy", () -> to.equals(repos.siteHead()) && d.get("/status").body().contains("\"outcome\""));
                assertEquals(403, d.postSigned("/pull-repo", "").statusCode());
                assertEquals(200, d.get("/status").statusCode());
                HttpResponse<String> log = getText(d, "/deploys/1/log");
                assertEquals(200, log.statusCode(), log.body());
                assertTrue(log.body().contains("output built\n"), log.body());
            }
        }
    }

    @Test
    void aQuietDeployIsKeptAlivePastTheIdleTimeout() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = start(repos, "echo before; sleep 2; echo after", "server.idle.timeout.seconds", "1")) {
            repos.pushNewCommit();
            long id = queueDeploy(d);
            try (EventStream log = EventStream.open(d.uri("/deploys/" + id + "/log"))) {
                log.await("output", "after"::equals);
                log.await("end", x -> true);
                assertTrue(log.comments() >= 2, "keep-alive comments while the command was quiet: " + log.comments());
            }
            // plain text has no comments, but the stream is not cut either
            repos.pushNewCommit();
            long next = queueDeploy(d);
            HttpResponse<String> text = getText(d, "/deploys/" + next + "/log");
            assertTrue(text.body().contains("output after\nend {"), text.body());
        }
    }

    @Test
    void readersAreBoundedAndOneThatCannotKeepUpIsCutWhileTheDeployGoesOn() throws Exception {
        Path gate = dir.resolve("gate");
        // 20,000 lines of 400 characters: 8 MB of events, twice what the largest socket buffers could hold (4 MiB,
        // tcp_wmem's maximum) and 30 times what the deploy's log keeps (256 KiB)
        String command = "while [ ! -e '" + gate + "' ] && [ -d '" + gate.getParent() + "' ]; do sleep 0.05; done; yes \"$(printf '%0400d' 0)\" | head -n 20000;"
                + " echo last";
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = start(repos, command, "server.deploy.log.followers.max", "2",
                     "server.idle.timeout.seconds", "120")) {
            repos.pushNewCommit();
            long id = queueDeploy(d);
            String path = "/deploys/" + id + "/log";
            try (Socket stalled = new Socket(); EventStream second = EventStream.open(d.uri(path))) {
                stalled.setReceiveBufferSize(4096);
                stalled.connect(new InetSocketAddress("127.0.0.1", d.daemon.port()), 5_000);
                stalled.setSoTimeout(30_000);
                stalled.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        + "Accept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                InputStream in = stalled.getInputStream();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                readUntil(in, got, "data: queued");
                assertEquals(200, second.status());
                second.await("phase", "queued"::equals);

                HttpResponse<String> third = getText(d, path);
                assertEquals(503, third.statusCode(), third.body());
                assertTrue(third.body().contains("server.deploy.log.followers.max"), third.body());

                // the stalled reader reads nothing more while the command prints 8 MB: the deploy still ends
                Files.createFile(gate);
                Poll.until("the deploy's end in /status", () -> d.get("/status").body().contains("\"outcome\":\"deployed\""));

                // once it reads again, it learns that it was cut: the lines it missed are gone
                String rest = readUntil(in, got, "events were no longer kept\"}");
                assertTrue(rest.contains("event: cut\ndata: {\"reason\":\"this reader fell behind: "),
                        rest.substring(Math.max(0, rest.length() - 300)));
                assertFalse(rest.contains("event: end"), "a cut reader gets no end");
            }
            // the slots are free again; the log of the finished deploy ends with its last line and the outcome
            Poll.until("a free reader slot", () -> getText(d, path).statusCode() == 200);
            String text = getText(d, path).body();
            assertTrue(text.startsWith("skipped "), "what no longer fits is said: " + text.substring(0, 40));
            assertTrue(text.contains("output last\nend {"), text.substring(Math.max(0, text.length() - 300)));
            assertTrue(text.lines().count() <= 2_001, "bounded: " + text.lines().count() + " lines");
            assertTrue(text.length() <= 2 * 256 * 1024, "bounded: " + text.length() + " characters");
        }
    }

    /** Reads until what was read contains {@code marker} (or the end); returns all of it. */
    private static String readUntil(InputStream in, ByteArrayOutputStream got, String marker) throws Exception {
        byte[] buf = new byte[64 * 1024];
        byte[] wanted = marker.getBytes(StandardCharsets.US_ASCII);
        int searchedTo = 0;
        while (true) {
            byte[] all = got.toByteArray();
            for (int i = Math.max(0, searchedTo - wanted.length); i + wanted.length <= all.length; i++) {
                if (java.util.Arrays.equals(all, i, i + wanted.length, wanted, 0, wanted.length)) {
                    return new String(all, StandardCharsets.UTF_8);
                }
            }
            searchedTo = all.length;
            int n = in.read(buf);
            if (n < 0) {
                return new String(all, StandardCharsets.UTF_8);
            }
            got.write(buf, 0, n);
        }
    }
}

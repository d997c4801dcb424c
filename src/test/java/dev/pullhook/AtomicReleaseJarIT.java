package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped jar in {@code deploy.mode=atomic} with a {@code deploy.check.url} that a test server answers:
 * a healthy deploy switches {@code current} to a new release built by {@code deploy.command}; an unhealthy one
 * is never switched in and says so in its answer, {@code /status} and {@code /metrics}; a rollback points
 * {@code current} back at the earlier release folder. And in place, with {@code deploy.rollback.on.failure}: an
 * unhealthy commit is replaced by the one deployed before, whose command runs again.
 */
class AtomicReleaseJarIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void healthyReleasesGoLiveAnUnhealthyOneNeverDoesAndRollbackSwitchesBack() throws Exception {
        Path secret = secretFile();
        AtomicInteger status = new AtomicInteger(200);
        HttpServer app = healthServer(status);
        int port = Ports.free();
        Path www = Files.createDirectories(dir.resolve("www"));
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"))) {
            try (Git g = Git.cloneRepository().setURI(repos.origin.toUri().toString()).setBare(true)
                    .setDirectory(www.resolve("repo.git").toFile()).call()) {
                g.getRepository();
            }
            Path config = Files.writeString(dir.resolve("config.properties"), String.join("\n",
                    "repo.path = " + www, "server.port = " + port, "deploy.on.start = false",
                    "webhook.secret.file = " + secret, "deploy.mode = atomic", "deploy.keep.releases = 3",
                    "deploy.command = echo \"$PULLHOOK_TO\" > built.txt",
                    "deploy.check.url = http://127.0.0.1:" + app.getAddress().getPort() + "/health",
                    "deploy.check.retries = 1") + "\n");
            try (ChildDaemon daemon = ChildDaemon.startJar(config, port, dir.resolve("daemon.log"))) {
                ObjectId a = repos.pushNewCommit();
                HttpResponse<String> first = daemon.postSigned(TestDaemon.SECRET, "/pull-repo?wait=true", "{}");
                assertEquals(200, first.statusCode(), first::body);
                Path releaseA = www.resolve(Files.readSymbolicLink(www.resolve("current")));
                assertEquals(a.name() + "\n", Files.readString(www.resolve("current/built.txt")));

                status.set(503);
                repos.pushNewCommit();
                HttpResponse<String> bad = daemon.postSigned(TestDaemon.SECRET, "/pull-repo?wait=true", "{}");
                assertEquals(500, bad.statusCode(), bad::body);
                JsonNode answer = JSON.readTree(bad.body());
                assertEquals("url", answer.get("check").asText(), bad::body);
                assertTrue(answer.get("error").asText().contains("answered 503, expected 200"), bad::body);
                assertEquals(releaseA, www.resolve(Files.readSymbolicLink(www.resolve("current"))),
                        "the unhealthy release was never switched in");
                assertEquals(a.name() + "\n", Files.readString(www.resolve("current/built.txt")));
                JsonNode newest = JSON.readTree(daemon.get("/status")).get("deploys").get(0);
                assertEquals("url", newest.get("check").asText());
                assertEquals(1.0, PrometheusText.parse(daemon.get("/metrics")).value(
                        "pullhook_deploy_check_failures_total", "site", "default", "check", "url",
                        "result", "not_switched"));

                status.set(200);
                ObjectId c = repos.pushNewCommit();
                HttpResponse<String> good = daemon.postSigned(TestDaemon.SECRET, "/pull-repo?wait=true", "{}");
                assertEquals(200, good.statusCode(), good::body);
                assertEquals(c.name() + "\n", Files.readString(www.resolve("current/built.txt")));

                HttpResponse<String> back = daemon.postSigned(TestDaemon.SECRET, "/rollback?wait=true", "");
                assertEquals(200, back.statusCode(), back::body);
                assertEquals(releaseA, www.resolve(Files.readSymbolicLink(www.resolve("current"))),
                        "rollback points current at A's release again");
                assertEquals(a.name(), JSON.readTree(daemon.get("/status")).get("head").asText());
            }
        } finally {
            app.stop(0);
        }
    }

    @Test
    void inPlaceAnUnhealthyCommitIsRolledBackAndItsCommandRunsAgain() throws Exception {
        Path secret = secretFile();
        AtomicInteger status = new AtomicInteger(200);
        HttpServer app = healthServer(status);
        int port = Ports.free();
        Path built = dir.resolve("built.log");
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"))) {
            Path config = Files.writeString(dir.resolve("config.properties"), String.join("\n",
                    "repo.path = " + repos.site, "server.port = " + port, "deploy.on.start = false",
                    "webhook.secret.file = " + secret, "deploy.rollback.on.failure = true",
                    "deploy.command = echo \"$PULLHOOK_TO\" >> " + built,
                    "deploy.check.url = http://127.0.0.1:" + app.getAddress().getPort() + "/health",
                    "deploy.check.retries = 1") + "\n");
            try (ChildDaemon daemon = ChildDaemon.startJar(config, port, dir.resolve("daemon.log"))) {
                ObjectId a = repos.pushNewCommit();
                HttpResponse<String> first = daemon.postSigned(TestDaemon.SECRET, "/pull-repo?wait=true", "{}");
                assertEquals(200, first.statusCode(), first::body);
                assertEquals(a, repos.siteHead());

                status.set(500);
                ObjectId b = repos.pushNewCommit();
                HttpResponse<String> bad = daemon.postSigned(TestDaemon.SECRET, "/pull-repo?wait=true", "{}");
                assertEquals(500, bad.statusCode(), bad::body);
                JsonNode answer = JSON.readTree(bad.body());
                assertEquals("url", answer.get("check").asText(), bad::body);
                assertEquals(a.name(), answer.get("restored").asText(), bad::body);
                assertEquals(a, repos.siteHead(), "the working copy is back on the healthy commit");
                assertEquals(a.name() + "\n" + b.name() + "\n" + a.name() + "\n", Files.readString(built),
                        "deploy.command ran for A, for B, then again for A once restored");
                JsonNode newest = JSON.readTree(daemon.get("/status")).get("deploys").get(0);
                assertEquals(a.name(), newest.get("restored").asText());
                assertEquals(1.0, PrometheusText.parse(daemon.get("/metrics")).value(
                        "pullhook_deploy_check_failures_total", "site", "default", "check", "url",
                        "result", "restored"));
            }
        } finally {
            app.stop(0);
        }
    }

    /** The webhook secret in a file only its owner reads, in a folder only its owner enters. */
    private Path secretFile() throws java.io.IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path secret = Files.writeString(dir.resolve("secret"), TestDaemon.SECRET + "\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        return secret;
    }

    /** The site's health URL, {@code /health}, answering whatever status {@code status} holds at the time. */
    private static HttpServer healthServer(AtomicInteger status) throws java.io.IOException {
        HttpServer app = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        app.createContext("/health", exchange -> {
            try (exchange) {
                exchange.sendResponseHeaders(status.get(), -1);
            }
        });
        app.start();
        return app;
    }
}

package dev.pullhook;

import dev.pullhook.testing.ChildDaemon;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Ports;
import dev.pullhook.testing.PrometheusText;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.StatusHost;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The shipped jar reports a webhook's deploy to the git host: a GitHub push to a real repository, deployed
 * by {@code java -jar target/pullhook.jar}, shows on the pushed commit as pending, then success, posted to a
 * local stand-in for GitHub's API with the token in the header only (never in the daemon's log).
 */
class CommitStatusJarIT {
    private static final String TOKEN = "github_pat_11JarITtokenNeverInTheLog0042";

    @TempDir
    Path dir;

    private static double sent(ChildDaemon daemon) {
        try {
            Double v = PrometheusText.parse(daemon.get("/metrics")).value("pullhook_report_requests_total",
                    "site", "default", "host", "github", "outcome", "sent");
            return v == null ? -1 : v;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aPushIsShownOnItsCommitAsPendingThenSuccess() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos")); StatusHost github = StatusHost.start()) {
            Path secret = Files.writeString(dir.resolve("secret"), TestDaemon.SECRET + "\n");
            Path token = Files.writeString(dir.resolve("report-token"), TOKEN + "\n");
            for (Path p : List.of(secret, token)) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
            }
            int port = Ports.free();
            Path config = Files.writeString(dir.resolve("config.properties"), String.join("\n",
                    "repo.path = " + repos.site, "server.port = " + port, "deploy.on.start = false",
                    "webhook.secret.file = " + secret, "report.host = github", "report.url = " + github.url(""),
                    "report.repo = octo/site", "report.token.file = " + token,
                    "report.link.url = https://deploy.example.com/status") + "\n");
            ObjectId pushed = repos.pushNewCommit();
            byte[] body = ("{\"ref\":\"refs/heads/main\",\"after\":\"" + pushed.name()
                    + "\",\"repository\":{\"full_name\":\"octo/site\"}}").getBytes(StandardCharsets.UTF_8);
            try (ChildDaemon daemon = ChildDaemon.startJar(config, port, dir.resolve("daemon.log"))) {
                HttpResponse<String> r = daemon.post("/pull-repo?wait=true", body, "Content-Type", "application/json",
                        "X-GitHub-Event", "push", "X-GitHub-Delivery", UUID.randomUUID().toString(),
                        "X-Hub-Signature-256", Signatures.sha256(TestDaemon.SECRET, body));
                assertEquals(200, r.statusCode(), r.body() + daemon.logText());
                assertEquals(pushed, repos.siteHead());

                List<StatusHost.Request> requests = github.awaitRequests(2);
                assertEquals(2, requests.size(), github.summary());
                for (StatusHost.Request q : requests) {
                    assertEquals("POST /repos/octo/site/statuses/" + pushed.name(), q.method() + " " + q.rawPath());
                    assertEquals("Bearer " + TOKEN, q.header("Authorization"));
                    assertEquals("application/vnd.github+json", q.header("Accept"));
                    assertEquals("2022-11-28", q.header("X-GitHub-Api-Version"));
                    assertEquals("pullhook/default", q.json().get("context").asText());
                    assertEquals("https://deploy.example.com/status", q.json().get("target_url").asText());
                }
                assertEquals("pending", requests.get(0).json().get("state").asText());
                assertEquals("success", requests.get(1).json().get("state").asText());
                assertTrue(requests.get(1).json().get("description").asText().startsWith("deployed in "),
                        requests.get(1).bodyText());

                Poll.until("both statuses counted as sent", () -> sent(daemon) == 2.0);
                assertFalse(daemon.logText().contains(TOKEN), "the token is in the daemon's log");
                assertFalse(daemon.get("/status").contains(TOKEN));
            }
        }
    }
}

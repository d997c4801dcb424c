package dev.pullhook;

import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.transport.RefSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.pullhook.testing.EventStream;
import dev.pullhook.testing.Poll;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.Base64;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /status} for a browser: a real daemon whose branch name and command output carry markup, as
 * a hostile push could; the page shows them as text and runs nothing but its own script, which its policy
 * names by hash. While a deploy runs, the page points that script at the deploy's live log. JSON stays the
 * default.
 */
class StatusPageIT {
    /** A valid git branch name that is also markup. */
    private static final String BRANCH = "x<b>&'y'";
    private static final String BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

    @TempDir
    Path dir;

    private static HttpResponse<String> get(TestDaemon d, String accept) {
        HttpRequest.Builder b = HttpRequest.newBuilder(d.uri("/status")).timeout(Duration.ofSeconds(30)).GET();
        if (accept != null) {
            b.header("Accept", accept);
        }
        return d.send(b.build());
    }

    @Test
    void browserGetsAnEscapedPageWhoseOnlyScriptIsItsOwnAndEveryoneElseGetsJson() throws Exception {
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"))) {
            try (Git site = Git.open(repos.site.toFile())) {
                site.checkout().setCreateBranch(true).setName(BRANCH).call();
                site.push().setRemote("origin").setRefSpecs(new RefSpec("refs/heads/" + BRANCH + ":refs/heads/" + BRANCH))
                        .call();
            }
            try (TestDaemon d = TestDaemon.start(repos, Map.of("repo.branch", BRANCH, "deploy.on.start", "false",
                    "deploy.command", "printf '%s\\n' 'built <script>alert(1)</script> & \"done\"'; printf '\\033[31mred\\n'"))) {
                HttpResponse<String> deployed = d.postSigned("/pull-repo?wait=true", "");
                assertEquals(200, deployed.statusCode(), deployed::body);

                HttpResponse<String> page = get(d, BROWSER);
                assertEquals(200, page.statusCode());
                assertTrue(page.headers().firstValue("Content-Type").orElse("").startsWith("text/html"));
                String policy = page.headers().firstValue("Content-Security-Policy").orElse("");
                assertTrue(policy.contains("default-src 'none'"), policy);
                String html = page.body();
                assertEquals(1, html.split("<script", -1).length - 1, "one script, the page's own: " + html);
                String script = html.substring(html.indexOf("<script>") + 8, html.indexOf("</script>"));
                String hash = Base64.getEncoder().encodeToString(
                        MessageDigest.getInstance("SHA-256").digest(script.getBytes(StandardCharsets.UTF_8)));
                assertTrue(policy.contains("script-src 'sha256-" + hash + "';"), "the policy allows exactly it: " + policy);
                assertTrue(policy.contains("connect-src 'self'"), policy);
                assertFalse(html.toLowerCase().contains("javascript:"), html);
                assertFalse(html.contains("x<b>"), "the branch name is text, not markup");
                assertTrue(html.contains("x&lt;b&gt;&amp;&#39;y&#39;"), html);
                assertTrue(html.contains("built &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;done&quot;"), html);
                assertFalse(html.contains("\u001b"), "no terminal escape reaches the page");
                assertTrue(html.contains(repos.siteHead().name()), "HEAD is shown");
                assertTrue(html.contains("class=\"deployed\">deployed<"), "the deploy's outcome is shown");
                assertTrue(html.contains(" ms<"), "and its duration");
                assertTrue(html.contains("exit 0"), "and the command's exit status");

                for (String accept : new String[]{null, "*/*", "application/json", "application/json, text/html;q=0.5"}) {
                    HttpResponse<String> json = get(d, accept);
                    assertTrue(json.headers().firstValue("Content-Type").orElse("").startsWith("application/json"),
                            () -> "Accept: " + accept);
                    assertTrue(json.body().startsWith("{"), json::body);
                }
            }
        }
    }

    @Test
    void whileADeployRunsThePageFollowsItsLiveLog() throws Exception {
        Path gate = dir.resolve("gate");
        try (TestRepos repos = TestRepos.create(dir.resolve("repos"));
             TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                     "deploy.command", "echo building; while [ ! -e '" + gate + "' ] && [ -d '" + gate.getParent() + "' ]; do sleep 0.05; done"))) {
            repos.pushNewCommit();
            HttpResponse<String> queued = d.postSigned("/pull-repo", "");
            assertEquals(202, queued.statusCode(), queued.body());
            String html = get(d, BROWSER).body();
            assertTrue(html.contains("<section data-state=\"running\" data-last=\"\">")
                    || html.contains("<section data-state=\"queued\" data-last=\"\">"), html);
            assertTrue(html.contains("<h3>Deploy 1 now</h3>\n<pre class=\"live\" data-log=\"deploys/1/log\"></pre>"), html);
            // what the script opens: the data-log URL, relative to the page
            try (EventStream live = EventStream.open(d.uri("/status").resolve(URI.create("deploys/1/log")))) {
                live.await("output", "building"::equals);
                Files.createFile(gate);
                live.await("end", x -> true);
            }
            // the end is told just before the queue goes idle
            Poll.until("the page of an idle queue", () -> get(d, BROWSER).body()
                    .contains("<section data-state=\"idle\" data-last=\"1\">"));
            String after = get(d, BROWSER).body();
            assertFalse(after.contains("data-log="), "nothing runs: nothing to follow");
        }
    }
}

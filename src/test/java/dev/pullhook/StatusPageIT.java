package dev.pullhook;

import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.transport.RefSpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code GET /status} for a browser: a real daemon whose branch name and command output carry markup, as
 * a hostile push could; the page shows them as text and runs nothing. JSON stays the default.
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
    void browserGetsAnEscapedPageWithoutScriptAndEveryoneElseGetsJson() throws Exception {
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
                assertTrue(page.headers().firstValue("Content-Security-Policy").orElse("").contains("default-src 'none'"));
                String html = page.body();
                assertFalse(html.contains("<script"), html);
                assertFalse(html.toLowerCase().contains("javascript"), html);
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
}

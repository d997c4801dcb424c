package dev.pullhook;

import dev.pullhook.testing.HeadlessBrowser;
import dev.pullhook.testing.Poll;
import dev.pullhook.testing.Signatures;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The HTML status page in a real headless Chromium ({@link HeadlessBrowser}), kept open while a signed push
 * webhook deploys a new commit of real repositories: without a reload, the page shows the deploy start, the
 * command's output while it still runs, then the outcome, the new HEAD and the command's last output, and
 * reports no error (no script blocked by its policy, no exception, no failed request). And the browser enforces
 * the page's policy: markup slipped into the page runs nothing. One browser and one daemon for the class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StatusPageBrowserIT {
    private Path gate;
    private TestRepos repos;
    private TestDaemon daemon;
    private HeadlessBrowser browser;

    @BeforeAll
    void start(@TempDir Path dir) {
        browser = HeadlessBrowser.start(dir);  // first: without Chromium, the class is skipped at once
        gate = dir.resolve("gate");
        repos = TestRepos.create(dir.resolve("repos"));
        daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                // two lines, then the build waits for the test, which has seen them on the page
                "deploy.command", "echo 'compiling assets'; echo 'bundling 3 files';"
                        + " while [ ! -e '" + gate + "' ] && [ -d '" + dir + "' ]; do sleep 0.05; done; echo 'assets built'"));
    }

    @AfterAll
    void stop() throws Exception {
        if (browser != null) {
            browser.close();
        }
        if (daemon != null) {
            if (!Files.exists(gate)) {
                Files.createFile(gate);  // a test that failed midway: the deploy need not run until the stop's timeout
            }
            daemon.close();
        }
        if (repos != null) {
            repos.close();
        }
    }

    /** What a user reads on the page. */
    private static String seen(HeadlessBrowser.Page page) {
        return page.text("document.body ? document.body.innerText : ''");
    }

    @Test
    void anOpenPageShowsAPushedDeployLiveAndThenItsOutcomeWithoutAReload() throws Exception {
        String before = repos.siteHead().name();
        try (HeadlessBrowser.Page page = browser.open(daemon.uri("/status"))) {
            String idle = seen(page);
            assertTrue(idle.contains(before) && idle.contains("none yet"), idle);
            page.evaluate("window.__noReload = 1");

            ObjectId pushed = repos.pushNewCommit();
            byte[] body = ("{\"ref\":\"refs/heads/main\",\"after\":\"" + pushed.name()
                    + "\",\"repository\":{\"full_name\":\"acme/site\"}}").getBytes(StandardCharsets.UTF_8);
            HttpResponse<String> queued = daemon.post("/pull-repo", body, "Content-Type", "application/json",
                    "X-GitHub-Event", "push", "X-GitHub-Delivery", UUID.randomUUID().toString(),
                    "X-Hub-Signature-256", Signatures.sha256(TestDaemon.SECRET, body));
            assertEquals(202, queued.statusCode(), queued.body());

            // the page asks /status every few seconds, sees the deploy run, and follows its log
            Poll.until(Poll.PATIENCE, () -> "the running deploy's output on the page: " + seen(page), () -> {
                String now = seen(page);
                return now.contains("Deploy 1 now") && now.contains("compiling assets\nbundling 3 files");
            });
            assertFalse(seen(page).contains("assets built"), "the deploy still runs: its first lines came live");

            Files.createFile(gate);
            Poll.until(Poll.PATIENCE, () -> "the outcome on the page: " + seen(page), () -> {
                String now = seen(page);
                return !now.contains("Deploy 1 now") && now.contains("deployed") && now.contains(pushed.name())
                        && now.contains("assets built");
            });
            String done = seen(page);
            assertTrue(done.contains("webhook\tdeployed"), "deploy 1, from the webhook, deployed: " + done);
            assertTrue(done.contains(before.substring(0, 7) + "\t" + pushed.name().substring(0, 7)),
                    "from, to: " + done);
            assertTrue(done.contains("deploy 1: exit 0"), done);
            assertEquals(pushed, repos.siteHead());

            assertEquals("1", page.text("String(window.__noReload)"),
                    "the mark set on the page survived: it was never reloaded");
            assertEquals(List.of(), page.errors(), "the page reported no error");
        }
    }

    @Test
    void markupSlippedIntoThePageDoesNotRun() {
        try (HeadlessBrowser.Page page = browser.open(daemon.uri("/status"))) {
            assertEquals(List.of(), page.errors(), "the page's own script runs, unreported");
            page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.__ran = 1\">');"
                    + " var s = document.createElement('script'); s.textContent = 'window.__ran = 2';"
                    + " document.body.appendChild(s);");
            Poll.until(Poll.PATIENCE, () -> "the browser to refuse both by the page's policy: " + page.errors(), () -> {
                String errors = String.join("\n", page.errors());
                return errors.contains("inline event handler violates the following Content Security Policy")
                        && errors.contains("inline script violates the following Content Security Policy");
            });
            assertEquals("undefined", page.text("typeof window.__ran"), "neither ran");
        }
    }
}

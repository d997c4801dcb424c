package dev.pullhook;

import dev.pullhook.testing.LogCapture;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * A flood of forged requests costs a few log lines a minute per client, not two per request: the first
 * ones are logged in full, the rest counted, and the count is logged.
 */
class RejectionLogIT {
    @TempDir
    Path tmp;

    @Test
    void rejectedRequestsPastTheBudgetAreCountedNotLogged() {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture()) {
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                    "server.log.rejections.per.minute", "5"))) {
                for (int i = 0; i < 30; i++) {
                    assertEquals(403, daemon.post("/pull-repo", new byte[0],
                            "X-Hub-Signature-256", "sha256=" + "0".repeat(64)).statusCode());
                }
                assertEquals(5, log.linesWith("webhook rejected client=127.0.0.1").size(), log.text());
                assertEquals(5, log.linesWith("http method=POST", "status=403").size());
                assertEquals(1, log.linesWith("rejections client=127.0.0.1 more than 5").size());
                // a real delivery is logged whatever the budget
                assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                assertFalse(log.linesWith("webhook accepted client=127.0.0.1").isEmpty());
                assertFalse(log.linesWith("http method=POST", "status=200").isEmpty());
            }
            // stopping reports the minute that was cut short
            assertEquals(1, log.linesWith("rejections client=127.0.0.1 not_logged=25").size(), log.text());
        }
    }

    /** Clients outside webhook.allow.from spend the same budget: a refused flood is counted, not logged. */
    @Test
    void refusedClientsPastTheBudgetAreCountedNotLogged() {
        try (TestRepos repos = TestRepos.create(tmp); LogCapture log = new LogCapture()) {
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false",
                    "server.log.rejections.per.minute", "5", "webhook.allow.from", "192.0.2.0/24"))) {
                for (int i = 0; i < 30; i++) {
                    assertEquals(403, daemon.postSigned("/pull-repo", "").statusCode());
                }
                assertEquals(5, log.linesWith("client refused client=127.0.0.1").size(), log.text());
                assertEquals(5, log.linesWith("http method=POST", "status=403").size());
                assertEquals(1, log.linesWith("rejections client=127.0.0.1 more than 5").size());
            }
            assertEquals(1, log.linesWith("rejections client=127.0.0.1 not_logged=25").size(), log.text());
        }
    }
}

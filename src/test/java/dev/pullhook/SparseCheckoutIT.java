package dev.pullhook;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.config.ConfigException;
import dev.pullhook.config.ConfigLoader;
import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A sparse checkout leaves files out on purpose; pullhook does not implement it, and writing every file
 * would silently differ from git. So it is refused clearly: at start (a config problem naming repo.path),
 * and at deploy time when it was turned on under a running daemon, before anything changes.
 */
class SparseCheckoutIT {
    @TempDir
    Path tmp;

    @Test
    void aSparseWorkingCopyIsAConfigProblemAtStart() {
        try (TestRepos repos = TestRepos.create(tmp)) {
            GitCli.run(repos.site, "config", "core.sparseCheckout", "true");
            ConfigException e = assertThrows(ConfigException.class, () -> new ConfigLoader(
                    Map.of("PULLHOOK_SECRET", TestDaemon.SECRET), w -> { }).fromMap(Map.of("repo.path", repos.site.toString())));
            assertTrue(e.getMessage().contains("repo.path") && e.getMessage().contains("sparse checkout"), e.getMessage());
        }
    }

    @Test
    void sparseCheckoutTurnedOnUnderARunningDaemonFailsTheDeployBeforeAnyChange() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp); TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId before = repos.siteHead();
            GitCli.run(repos.site, "config", "core.sparseCheckout", "true");
            repos.commitAndPush("left-out.txt", "?\n", "a file a sparse pattern might leave out");

            HttpResponse<String> r = d.postSigned("/pull-repo?wait=true", "{}");

            assertEquals(500, r.statusCode(), r::body);
            String error = new ObjectMapper().readTree(r.body()).get("error").asText();
            assertTrue(error.contains("sparse checkout"), error);
            assertEquals(before, repos.siteHead());
            assertNull(repos.siteFile("left-out.txt"));
        }
    }
}

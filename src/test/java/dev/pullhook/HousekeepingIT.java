package dev.pullhook;

import dev.pullhook.testing.Poll;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.StoredConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every fetch adds a pack file; past gc.autoPackLimit they are repacked after a deploy, as git gc --auto does. */
class HousekeepingIT {
    @TempDir
    Path tmp;

    private static long packs(Path site) {
        try (Stream<Path> files = Files.list(site.resolve(".git/objects/pack"))) {
            return files.filter(f -> f.toString().endsWith(".pack")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void packFilesAreRepackedOncePastTheAutoPackLimit() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp)) {
            try (Git git = Git.open(repos.site.toFile())) {
                StoredConfig config = git.getRepository().getConfig();
                config.setInt("gc", null, "autopacklimit", 3);
                config.save();
            }
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
                for (int i = 0; i < 5; i++) {
                    repos.pushNewCommit();
                    assertEquals(200, daemon.postSigned("/pull-repo?wait=true", "").statusCode());
                }
                // without a repack, one pack per fetch: 6 and more; housekeeping runs after a deploy's answer
                Poll.until("a repack down to gc.autoPackLimit", () -> packs(repos.site) <= 3);
                Poll.until("idle", () -> daemon.get("/status").body().contains("\"state\":\"idle\""));
                assertEquals(repos.originTip(), repos.siteHead());
                try (Git git = Git.open(repos.site.toFile())) {
                    assertTrue(git.status().call().isClean());
                }
            }
        }
    }
}

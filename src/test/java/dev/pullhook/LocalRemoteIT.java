package dev.pullhook;

import dev.pullhook.testing.GitCli;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A remote that is a repository on the same machine is fetched from a handle the daemon keeps open
 * between deploys. What happens to that repository meanwhile (git gc replacing its packs, a push, the
 * remote's URL pointing elsewhere) must be seen by the next deploy, as a fresh open would see it. (The
 * polls of SafeDeployIT go through the kept handle too.)
 */
class LocalRemoteIT {
    @TempDir
    Path dir;
    private TestRepos repos;

    @BeforeEach
    void createRepositories() {
        repos = TestRepos.create(dir.resolve("repos"));
    }

    @AfterEach
    void closeRepositories() {
        repos.close();
    }

    private static void assertDeployedTo(HttpResponse<String> response, ObjectId commit) {
        assertEquals(200, response.statusCode(), response::body);
        assertTrue(response.body().contains("\"to\":\"" + commit.name() + "\""), response::body);
    }

    private static HttpResponse<String> deploy(TestDaemon d) {
        return d.postSigned("/pull-repo?wait=true", "{}");
    }

    @Test
    void remoteRepackedAndPrunedByGitGcBetweenDeploysIsStillFetched() throws Exception {
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            for (int i = 0; i < 3; i++) {
                repos.pushNewCommit();
            }
            assertDeployedTo(deploy(d), repos.originTip());  // the kept handle has read origin's objects

            GitCli.run(repos.origin, "gc", "-q", "--prune=now");  // every pack and loose object replaced
            ObjectId pushed = repos.commitAndPush("after-gc.txt", "after gc\n", "after gc");
            GitCli.run(repos.origin, "repack", "-a", "-d", "-q");

            assertDeployedTo(deploy(d), pushed);
            assertEquals("after gc\n", repos.siteFile("after-gc.txt"));
            assertEquals(pushed, repos.siteHead());
        }
    }

    @Test
    void remoteUrlChangedToAnotherRepositoryIsFollowed() throws Exception {
        Path mirror = dir.resolve("mirror.git");
        try (TestDaemon d = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId first = repos.pushNewCommit();
            assertDeployedTo(deploy(d), first);

            Git.cloneRepository().setBare(true).setURI(repos.origin.toUri().toString())
                    .setDirectory(mirror.toFile()).call().close();
            ObjectId onOrigin = repos.pushNewCommit();  // only on origin, not on the mirror
            repos.setSiteRemoteUrl(mirror.toUri().toString());

            HttpResponse<String> response = deploy(d);

            assertEquals(200, response.statusCode(), response::body);
            assertEquals(first, repos.siteHead(), "the mirror's tip, not origin's: " + response.body());
            repos.setSiteRemoteUrl(repos.origin.toUri().toString());
            assertDeployedTo(deploy(d), onOrigin);
        }
    }
}

package dev.pullhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pullhook.testing.TestDaemon;
import dev.pullhook.testing.TestRepos;
import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.RefUpdate;
import org.eclipse.jgit.lib.Repository;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults of the world around the daemon: the remote gone, the branch deleted, the working copy removed or
 * corrupted under a running daemon, the disk full during a fetch. Each gives a clear error, no crash, an
 * untouched and consistent working copy, and a normal deploy once the fault is gone.
 */
class FaultIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    private static JsonNode json(HttpResponse<String> r) throws IOException {
        return JSON.readTree(r.body());
    }

    /** Deploys and asserts it failed with an error containing {@code words}, the daemon still healthy. */
    private static void assertDeployFails(TestDaemon daemon, String... words) throws IOException {
        HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
        assertEquals(500, r.statusCode(), r.body());
        String error = json(r).path("error").asText();
        for (String w : words) {
            assertTrue(error.contains(w), "error \"" + error + "\" should mention " + w);
        }
        assertEquals(200, daemon.get("/health").statusCode(), "the daemon keeps serving");
    }

    private static void assertDeploys(TestDaemon daemon, TestRepos repos, ObjectId expected) {
        HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(expected, repos.siteHead());
    }

    private static boolean clean(Path site) throws Exception {
        try (Git git = Git.open(site.toFile())) {
            return git.status().call().getUncommittedChanges().isEmpty();
        }
    }

    @Test
    void remoteOnAClosedPortFailsClearlyAndRecovers() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId before = repos.siteHead();
            ObjectId pushed = repos.pushNewCommit();
            int closed;
            try (ServerSocket s = new ServerSocket(0)) {
                closed = s.getLocalPort();
            }
            repos.setSiteRemoteUrl("http://127.0.0.1:" + closed + "/origin.git");
            long t0 = System.nanoTime();
            assertDeployFails(daemon, "fetch", "127.0.0.1:" + closed);
            assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0) < 30, "fails fast on a refused connection");
            assertEquals(before, repos.siteHead(), "working copy untouched");
            repos.setSiteRemoteUrl(repos.origin.toUri().toString());
            assertDeploys(daemon, repos, pushed);
        }
    }

    @Test
    void branchDeletedOnTheRemoteFailsClearlyAndRecoversWhenItIsBack() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId tip = repos.originTip();
            try (Repository origin = Git.open(repos.origin.toFile()).getRepository()) {
                RefUpdate delete = origin.updateRef("refs/heads/main");
                delete.setForceUpdate(true);
                assertEquals(RefUpdate.Result.FORCED, delete.delete());
            }
            assertDeployFails(daemon, "refs/heads/main");
            assertEquals(tip, repos.siteHead(), "the working copy keeps the last deployed commit");
            assertTrue(clean(repos.site));
            try (Repository origin = Git.open(repos.origin.toFile()).getRepository()) {
                RefUpdate create = origin.updateRef("refs/heads/main");
                create.setNewObjectId(tip);
                assertEquals(RefUpdate.Result.NEW, create.update());
            }
            ObjectId pushed = repos.pushNewCommit();
            assertDeploys(daemon, repos, pushed);
        }
    }

    @Test
    void workingCopyRemovedWhileTheDaemonRunsFailsClearlyAndRecoversWhenItIsBack() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId pushed = repos.pushNewCommit();
            Path away = tmp.resolve("site-away");
            Files.move(repos.site, away);
            try {
                assertDeployFails(daemon, repos.site.toString());
                assertTrue(Files.notExists(repos.site), "nothing was created in its place");
            } finally {
                Files.move(away, repos.site);
            }
            assertDeploys(daemon, repos, pushed);
        }
    }

    @Test
    void corruptedRepositoryFailsClearlyAndRecoversWhenRepaired() throws Exception {
        try (TestRepos repos = TestRepos.create(tmp);
             TestDaemon daemon = TestDaemon.start(repos, Map.of("deploy.on.start", "false"))) {
            ObjectId pushed = repos.pushNewCommit();
            Path head = repos.site.resolve(".git/HEAD");
            byte[] good = Files.readAllBytes(head);
            Files.writeString(head, "this is not a ref\n");
            try {
                assertDeployFails(daemon, "HEAD cannot be read");
            } finally {
                Files.write(head, good);
            }
            assertDeploys(daemon, repos, pushed);
        }
    }

    /**
     * The working copy on a small file system (a tmpfs the test mounts; needs root, as CI has) and a push
     * bigger than its free space: the fetch fails with the reason, HEAD and files stay as they were, and
     * with room again the next deploy works.
     */
    @Test
    void diskFullDuringTheFetchLeavesTheWorkingCopyConsistent() throws Exception {
        Path mount = tmp.resolve("small");
        Files.createDirectories(mount);
        Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.toString()) == 0,
                "cannot mount a small tmpfs here (needs root): disk-full case not run");
        try (TestRepos repos = TestRepos.create(tmp.resolve("repos"))) {
            Path site = mount.resolve("site");
            Git.cloneRepository().setURI(repos.origin.toUri().toString()).setDirectory(site.toFile())
                    .setBranch("main").call().close();
            ObjectId before;
            try (Git git = Git.open(site.toFile())) {
                before = git.getRepository().resolve("HEAD");
            }
            byte[] big = new byte[2 * 1024 * 1024];  // twice the file system
            new Random(42).nextBytes(big);  // incompressible: the pack is as big as the file
            Files.write(repos.dev.resolve("big.bin"), big);
            try (Git dev = Git.open(repos.dev.toFile())) {
                dev.add().addFilepattern("big.bin").call();
            }
            ObjectId pushed = repos.commitAndPush("note.txt", "big push\n", "a push bigger than the disk");
            try (TestDaemon daemon = TestDaemon.start(repos, Map.of("repo.path", site.toString(),
                    "deploy.on.start", "false"))) {
                HttpResponse<String> r = daemon.postSigned("/pull-repo?wait=true", "");
                assertEquals(500, r.statusCode(), r.body());
                String error = json(r).path("error").asText().toLowerCase(java.util.Locale.ROOT);
                assertTrue(error.contains("space") || error.contains("fetch"), error);
                try (Git git = Git.open(site.toFile())) {
                    assertEquals(before, git.getRepository().resolve("HEAD"), "HEAD unchanged");
                    assertTrue(git.status().call().getUncommittedChanges().isEmpty(), "files consistent with HEAD");
                }
                assertEquals(0, run("mount", "-o", "remount,size=64m", mount.toString()));
                r = daemon.postSigned("/pull-repo?wait=true", "");
                assertEquals(200, r.statusCode(), r.body());
                try (Git git = Git.open(site.toFile())) {
                    assertEquals(pushed, git.getRepository().resolve("HEAD"));
                }
            }
        } finally {
            run("umount", "-l", mount.toString());
        }
    }

    private static int run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
    }
}
